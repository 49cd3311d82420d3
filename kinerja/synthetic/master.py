"""HR master data of a period: units.csv, employees.csv and calendar.csv."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np

from kinerja.period import Period
from kinerja.synthetic import badrows as bad
from kinerja.synthetic.common import (
    DatasetSummary,
    Seeds,
    Stream,
    draw_style,
    insertion_order,
    period_key,
    plan_bad,
    write_csv,
)
from kinerja.synthetic.holidays import holidays
from kinerja.synthetic.organisation import Organisation
from kinerja.synthetic.population import People, Roster, position_name

Columns = dict[str, list[str]]

_PHANTOM_UNITS = ("UPTD Pengelolaan Parkir", "UPTD Laboratorium Lingkungan",
                  "UPTD Pengelolaan Sampah", "UPTD Balai Latihan Kerja", "Unit Layanan Pengadaan")


def with_bad_rows(good: Columns, bad_rows: list[dict[str, str]], rng: np.random.Generator
                  ) -> Columns:
    """`good` with `bad_rows` dropped in at random places (missing columns are empty)."""
    n = len(next(iter(good.values())))
    order = insertion_order(n, len(bad_rows), rng)
    out: Columns = {}
    for column, values in good.items():
        merged = values + [row.get(column, "") for row in bad_rows]
        out[column] = [merged[i] for i in order]
    return out


def _iso(value: np.datetime64) -> str:
    return "" if np.isnat(value) else str(value.astype("datetime64[D]"))


# --- units ---------------------------------------------------------------------------------------


def write_units(path: Path, seeds: Seeds, org: Organisation, period: Period,
                rate: float) -> DatasetSummary:
    key = period_key(period)
    good: Columns = {
        "unit_code": [u.code for u in org.units],
        "unit_name": [u.name for u in org.units],
        "parent_unit_code": [org.units[u.parent].code if u.parent >= 0 else "" for u in org.units],
    }
    summary = DatasetSummary()
    rng = seeds.rng(Stream.BAD, key, 1)
    rows: list[dict[str, str]] = []
    fresh = iter(range(1, 10_000))
    for kind, count in plan_bad(len(org.units), rate, bad.KINDS["units"], rng).items():
        for _ in range(count):
            code = f"9.01.0.00.0.00.{next(fresh):02d}.0000"
            name = _PHANTOM_UNITS[int(rng.random() * len(_PHANTOM_UNITS))]
            parent = org.units[0].code
            if kind == bad.EMPTY_REQUIRED:
                rows.append({"unit_code": "", "unit_name": name, "parent_unit_code": parent}
                            if rng.random() < 0.5 else {"unit_code": code, "unit_name": "",
                                                        "parent_unit_code": parent})
            elif kind == bad.PARENT_UNKNOWN:
                rows.append({"unit_code": code, "unit_name": name,
                             "parent_unit_code": "4.01.0.00.0.00.99.0000"})
            elif kind == bad.DUPLICATE_KEY:
                rows += [{"unit_code": code, "unit_name": name, "parent_unit_code": parent},
                         {"unit_code": code, "unit_name": name + " (lama)",
                          "parent_unit_code": ""}]
        summary.add_bad(kind, count * (2 if kind == bad.DUPLICATE_KEY else 1))
    columns = with_bad_rows(good, rows, rng)
    style = draw_style(seeds.rng(Stream.STYLE, key, 2))
    summary.rows = write_csv(path, columns, style)
    summary.paths = [path]
    return summary


# --- employees -----------------------------------------------------------------------------------


def _code_spelling(values: list[str], rng: np.random.Generator, share: float = 0.02) -> list[str]:
    """Codes as HR clerks type them now and then: lower or title case, stray spaces."""
    u = rng.random((len(values), 2))
    out = []
    for value, (a, b) in zip(values, u, strict=True):
        if a < share:
            value = value.lower() if b < 0.4 else value.title() if b < 0.7 else f" {value} "
        out.append(value)
    return out


def employee_columns(seeds: Seeds, org: Organisation, people: People, roster: Roster) -> Columns:
    rng = seeds.rng(Stream.STYLE, period_key(roster.period), 3)
    units = org.units
    person = roster.person
    return {
        "nip": roster.nip.tolist(),
        "name": people.name[person].tolist(),
        "employee_type": _code_spelling(
            ["PPPK" if p else "PNS" for p in people.pppk[person]], rng),
        "unit_code": [units[u].code for u in roster.unit],
        "position_type": _code_spelling(
            [org.positions[p].position_type for p in roster.position], rng),
        "position_name": [position_name(org, people, p) for p in person],
        "grade": people.grade[person].tolist(),
        "supervisor_nip": roster.supervisor_nip.tolist(),
        "active_from": [_iso(v) for v in roster.active_from],
        "active_to": [_iso(v) for v in roster.active_to],
        "jenis_kelamin": ["P" if nip[14] == "2" else "L" for nip in roster.nip],
    }


def _bad_employees(good: Columns, period: Period, rate: float, rng: np.random.Generator,
                   summary: DatasetSummary) -> list[dict[str, str]]:
    """Phantom employees: copies of real rows under a fresh NIP that nothing else references,
    each broken one way, so quarantining them cascades nowhere."""
    plan = plan_bad(len(good["nip"]), rate, bad.KINDS["employees"], rng)
    total = sum(plan.values())
    phantom = iter(bad.reserved_nips(rng, total, bad.PHANTOM_SEQ))
    unknown = iter(bad.reserved_nips(rng, total, bad.UNKNOWN_SEQ))
    rows: list[dict[str, str]] = []
    for kind, count in plan.items():
        for _ in range(count):
            base = int(rng.integers(len(good["nip"])))
            row = {c: values[base] for c, values in good.items()}
            row.update(nip=next(phantom), active_from="", active_to="")
            u = rng.random()
            if kind in bad.NIP_KINDS:
                row["nip"] = bad.corrupt_nip(row["nip"], kind, u)
            elif kind == bad.EMPTY_REQUIRED:
                row[("name", "employee_type", "unit_code", "position_type")[int(u * 4)]] = ""
            elif kind == bad.EMPLOYEE_TYPE_UNKNOWN:
                row["employee_type"] = bad.UNKNOWN_EMPLOYEE_TYPES[int(u * 5)]
            elif kind == bad.POSITION_TYPE_UNKNOWN:
                row["position_type"] = bad.UNKNOWN_POSITION_TYPES[int(u * 5)]
            elif kind == bad.UNIT_UNKNOWN:
                row["unit_code"] = bad.UNKNOWN_UNIT_CODES[int(u * len(bad.UNKNOWN_UNIT_CODES))]
            elif kind == bad.SUPERVISOR_SELF:
                row["supervisor_nip"] = row["nip"]
            elif kind == bad.SUPERVISOR_UNKNOWN:
                row["supervisor_nip"] = next(unknown)
            elif kind == bad.ACTIVE_TO_BEFORE_FROM:
                start = period.start + timedelta(days=40 + int(u * 60))
                row["active_from"] = start.isoformat()
                row["active_to"] = (start - timedelta(days=1 + int(u * 30))).isoformat()
            elif kind == bad.DATE_UNPARSEABLE:
                day = period.start + timedelta(days=int(u * 150))
                row["active_from"] = bad.bad_date(rng.random(), day.isoformat())
            elif kind == bad.DUPLICATE_KEY:
                rows.append(dict(row))
                row["position_name"] = row["position_name"] + " (data ganda)"
            rows.append(row)
        summary.add_bad(kind, count * (2 if kind == bad.DUPLICATE_KEY else 1))
    return rows


def write_employees(path: Path, seeds: Seeds, org: Organisation, people: People, roster: Roster,
                    rate: float) -> DatasetSummary:
    key = period_key(roster.period)
    good = employee_columns(seeds, org, people, roster)
    summary = DatasetSummary()
    rng = seeds.rng(Stream.BAD, key, 2)
    columns = with_bad_rows(good, _bad_employees(good, roster.period, rate, rng, summary), rng)
    style = draw_style(seeds.rng(Stream.STYLE, key, 4), shuffle=0.1)
    summary.rows = write_csv(path, columns, style)
    summary.paths = [path]
    return summary


# --- calendar ------------------------------------------------------------------------------------


def write_calendar(path: Path, seeds: Seeds, period: Period, rate: float) -> tuple[
        DatasetSummary, set[np.datetime64]]:
    """calendar.csv and the holidays it lists (the good rows), which make the working days."""
    key = period_key(period)
    days = holidays(period.start, period.end)
    good: Columns = {"date": [d.isoformat() for d, _ in days],
                     "description": [text for _, text in days]}
    summary = DatasetSummary()
    rng = seeds.rng(Stream.BAD, key, 3)
    listed = {d for d, _ in days}
    rows: list[dict[str, str]] = []
    for kind, count in plan_bad(len(days), rate, bad.KINDS["calendar"], rng).items():
        for i in range(count):
            u = rng.random()
            if kind == bad.DATE_OUTSIDE_PERIOD:
                outside = period.end + timedelta(days=1 + i) if u < 0.5 else \
                    period.start - timedelta(days=1 + i)
                rows.append({"date": outside.isoformat(), "description": "Libur Nasional"})
            elif kind == bad.DATE_UNPARSEABLE:
                rows.append({"date": bad.bad_date(u, days[int(u * len(days))][0].isoformat()),
                             "description": days[int(u * len(days))][1]})
            elif kind == bad.EMPTY_REQUIRED:
                rows.append({"date": "", "description": "Cuti Bersama"})
            elif kind == bad.DUPLICATE_KEY:
                # A weekday that is no holiday, listed twice: both rows are quarantined, so the
                # day stays a working day, as the attendance was generated.
                day = period.start + timedelta(days=int(u * 150))
                while day in listed or day.weekday() >= 5:
                    day += timedelta(days=1)
                listed.add(day)
                rows += [{"date": day.isoformat(), "description": "Hari Jadi Kota"},
                         {"date": day.isoformat(), "description": "Libur Daerah"}]
        summary.add_bad(kind, count * (2 if kind == bad.DUPLICATE_KEY else 1))
    columns = with_bad_rows(good, rows, rng)
    style = draw_style(seeds.rng(Stream.STYLE, key, 5))
    summary.rows = write_csv(path, columns, style)
    summary.paths = [path]
    return summary, {np.datetime64(d, "D") for d, _ in days}
