"""`generate_landing`: the synthetic landing zone behind `kinerja generate`."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np

from kinerja.period import Period
from kinerja.synthetic.attendance import PeriodDays, terminal_count, write_attendance
from kinerja.synthetic.budget import write_budget
from kinerja.synthetic.common import (
    GenerationSummary,
    PeriodSummary,
    Progress,
    Seeds,
    Stream,
    agency_key,
)
from kinerja.synthetic.ekinerja import write_ratings, write_skp, write_unit_iku
from kinerja.synthetic.master import write_calendar, write_employees, write_units
from kinerja.synthetic.organisation import Organisation, build_organisation
from kinerja.synthetic.population import build_people, build_roster

MIN_EMPLOYEES = 5
MAX_BAD_RATE = 0.5
DATASETS = ("units", "employees", "calendar", "attendance", "skp", "ratings", "unit_iku",
            "budget")
_AGENCY_RE = re.compile(r"^[A-Za-z0-9_-]+$")
# Files this writer owns in a period folder; they are replaced, nothing else is touched.
_OWNED = ("units.csv", "employees.csv", "calendar.csv", "skp.csv", "ratings.csv", "unit_iku.csv",
          "budget.xlsx", "budget.csv")


def _unit_terminals(seeds: Seeds, org: Organisation, employees: int) -> np.ndarray:
    """The fingerprint terminal each unit's staff taps at (sub-units share a few terminals)."""
    terminals = terminal_count(employees)
    rng = seeds.rng(Stream.ORGANISATION, 1)
    return rng.permutation(len(org.units)) % terminals


def _clear(folder: Path) -> None:
    for name in _OWNED:
        (folder / name).unlink(missing_ok=True)
    attendance = folder / "attendance"
    if attendance.is_dir():
        for path in attendance.glob("*.csv"):
            path.unlink()


def generate_landing(out_dir: Path, agency_code: str, employees: int, periods: list[str],
                     seed: int = 0, bad_rows: float = 0.0,
                     progress: Progress | None = None) -> GenerationSummary:
    """Write `<out_dir>/<agency_code>/<period_id>/` for every period: units, employees, calendar,
    attendance/*.csv, skp, ratings, unit_iku and budget (XLSX for S1, CSV for S2).

    The same arguments write the same bytes. `bad_rows` is the share of each dataset's rows
    written broken (extra rows, see `kinerja.synthetic.badrows`); the summary counts them per
    period, dataset and kind. Existing files of those names in the period folders are replaced
    (every `attendance/*.csv` included); other files are left alone.
    """
    if not _AGENCY_RE.match(agency_code or ""):
        raise ValueError(f"invalid agency code {agency_code!r}: letters and digits only")
    if employees < MIN_EMPLOYEES:
        raise ValueError(f"employees must be at least {MIN_EMPLOYEES}, got {employees}")
    if not 0.0 <= bad_rows <= MAX_BAD_RATE:
        raise ValueError(f"bad_rows must be between 0 and {MAX_BAD_RATE}, got {bad_rows}")
    if seed < 0:
        raise ValueError(f"seed must not be negative, got {seed}")
    parsed = sorted({Period.parse(p) for p in periods})
    if not parsed:
        raise ValueError("no period given")

    started = time.perf_counter()
    out_dir = Path(out_dir)
    seeds = Seeds(seed, agency_key(agency_code))
    say = progress or (lambda _: None)
    org = build_organisation(seeds, employees)
    people = build_people(seeds, org, parsed[-1])
    terminals = _unit_terminals(seeds, org, employees)
    summary = GenerationSummary(out_dir, agency_code, employees, seed, bad_rows)
    for period in parsed:
        label = f"{agency_code} {period.id}"
        folder = out_dir / agency_code / period.id
        folder.mkdir(parents=True, exist_ok=True)
        _clear(folder)
        roster = build_roster(seeds, org, people, period)
        result = PeriodSummary(period.id, folder)
        summary.periods[period.id] = result
        sets = result.datasets
        sets["units"] = write_units(folder / "units.csv", seeds, org, period, bad_rows)
        sets["employees"] = write_employees(folder / "employees.csv", seeds, org, people, roster,
                                            bad_rows)
        sets["calendar"], holidays = write_calendar(folder / "calendar.csv", seeds, period,
                                                    bad_rows)
        say(f"{label}: {len(org.units)} units, {len(roster)} employees")
        days = PeriodDays.build(period, holidays)
        sets["attendance"] = write_attendance(folder / "attendance", seeds, roster, people,
                                              terminals, days, bad_rows, progress, label)
        sets["skp"] = write_skp(folder / "skp.csv", seeds, org, people, roster, bad_rows)
        sets["ratings"] = write_ratings(folder / "ratings.csv", seeds, people, roster, bad_rows)
        sets["unit_iku"] = write_unit_iku(folder / "unit_iku.csv", seeds, org, period, bad_rows)
        sets["budget"] = write_budget(folder, seeds, org, period, bad_rows)
        say(f"{label}: {result.rows:,} rows written, {result.bad_rows:,} of them bad")
    summary.elapsed_seconds = time.perf_counter() - started
    return summary
