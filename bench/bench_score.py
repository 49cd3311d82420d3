"""Benchmark of tasks.score.score_period on a synthetic in-memory agency (run by hand).

    .venv/bin/python bench/bench_score.py                # 100,000 employees, one semester
    .venv/bin/python bench/bench_score.py -n 20000 --period 2025-S2 --repeat 2

Builds the validated frames of docs/architecture.md directly with numpy/pyarrow (no landing
files, no other pipeline module): one attendance row per employee and working day for about 97%
of the cells, 3% of extra overlapping rows, realistic status mix and check times. Prints the input
size, the elapsed seconds per scoring stage and the peak RSS of the process.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import pandas as pd
import pyarrow as pa

from kinerja.period import Period
from kinerja.policy import load_policy
from schemas.outputs import validate_facts
from schemas.parsing import RATING_LABELS
from schemas.sources import BERAKHLAK_ASPECTS as ASPECTS
from tasks.score import ScoringInputs, score_period

TEXT = pd.StringDtype("pyarrow")
RATINGS = np.array(RATING_LABELS, dtype=object)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def _status_mb(field: str) -> float | None:
    """VmRSS / VmHWM of this process from /proc (Linux), in MB."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def reset_peak_rss() -> bool:
    """Reset this process's high-water mark (Linux clear_refs 5), so that the peak measured next
    is the scoring's own and not the input builder's."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


def _text_take(values: np.ndarray, index: np.ndarray) -> pd.Series:
    """A string[pyarrow] series of values[index], built in Arrow (no Python strings per row)."""
    taken = pa.array(values, type=pa.string()).take(pa.array(index))
    return pd.Series(pd.arrays.ArrowStringArray(taken), dtype=TEXT)


def _nips(n: int, rng: np.random.Generator) -> np.ndarray:
    birth = pd.Timestamp("1965-01-01") + pd.to_timedelta(rng.integers(0, 12000, n), unit="D")
    appointed = rng.integers(1990, 2024, n) * 100 + rng.integers(1, 13, n)
    gender = rng.integers(1, 3, n)
    seq = np.arange(n) % 1000
    # unique: the sequence cycles every 1000 employees and the birth-date/appointment pair varies
    nips = [
        f"{b:%Y%m%d}{a:06d}{g}{s:03d}"
        for b, a, g, s in zip(birth, appointed, gender, seq, strict=True)
    ]
    return np.array(list(dict.fromkeys(nips)), dtype=object)


def build_inputs(n_employees: int, period: Period, seed: int = 7) -> ScoringInputs:
    rng = np.random.default_rng(seed)
    nips = _nips(int(n_employees * 1.02) + 10, rng)[:n_employees]
    n = len(nips)
    n_units = max(1, n // 200)
    unit_codes = np.array([f"U{i:04d}" for i in range(n_units)], dtype=object)
    units = pd.DataFrame(
        {
            "unit_code": pd.Series(unit_codes, dtype=TEXT),
            "unit_name": pd.Series([f"Dinas {c}" for c in unit_codes], dtype=TEXT),
            "parent_unit_code": pd.Series([None] * n_units, dtype=TEXT),
        }
    )
    unit_of = rng.integers(0, n_units, n)
    start, end = np.datetime64(period.start, "D"), np.datetime64(period.end, "D")
    all_days = np.arange(start, end + 1, dtype="datetime64[D]")
    weekday = (all_days.astype(np.int64) + 3) % 7
    weekdays = all_days[weekday < 5]
    holidays = np.sort(rng.choice(weekdays, 4, replace=False))
    work = weekdays[~np.isin(weekdays, holidays)]
    n_days = len(work)

    active_from = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    active_to = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    joiners = rng.random(n) < 0.02
    leavers = rng.random(n) < 0.02
    active_from[joiners] = work[rng.integers(0, n_days, joiners.sum())]
    active_to[leavers] = work[rng.integers(0, n_days, leavers.sum())]
    active_to = np.where(
        ~np.isnat(active_to) & ~np.isnat(active_from) & (active_to < active_from),
        active_from,
        active_to,
    )
    employees = pd.DataFrame(
        {
            "nip": pd.Series(nips, dtype=TEXT),
            "name": _text_take(np.array(["Pegawai"], dtype=object), np.zeros(n, dtype=np.int64)),
            "employee_type": _text_take(
                np.array(["PNS", "PPPK"], dtype=object), (rng.random(n) < 0.2).astype(np.int64)
            ),
            "unit_code": _text_take(unit_codes, unit_of),
            "position_type": _text_take(
                np.array(["PELAKSANA", "FUNGSIONAL"], dtype=object), rng.integers(0, 2, n)
            ),
            "position_name": pd.Series([None] * n, dtype=TEXT),
            "grade": pd.Series([None] * n, dtype=TEXT),
            "supervisor_nip": pd.Series([None] * n, dtype=TEXT),
            "active_from": active_from,
            "active_to": active_to,
        }
    )
    calendar = pd.DataFrame(
        {
            "date": holidays.astype("datetime64[ns]"),
            "description": pd.Series(["Libur"] * len(holidays), dtype=TEXT),
        }
    )

    # attendance: every employee x working day, some cells missing (no row = TK), some doubled
    cells = n * n_days
    employee = np.repeat(np.arange(n, dtype=np.int32), n_days)
    day = np.tile(np.arange(n_days, dtype=np.int32), n)
    kept = rng.random(cells) >= 0.01
    employee, day = employee[kept], day[kept]
    extra = rng.random(len(employee)) < 0.03
    employee = np.concatenate([employee, employee[extra]])
    day = np.concatenate([day, day[extra]])
    rows = len(employee)
    statuses = np.array(["H", "S", "I", "C", "DL", "TK"], dtype=object)
    status = rng.choice(6, rows, p=[0.9, 0.02, 0.02, 0.02, 0.02, 0.02]).astype(np.int64)
    present = status == 0
    check_in = np.where(present, rng.normal(7 * 3600 + 20 * 60, 900, rows).round(), np.nan)
    check_out = np.where(present, rng.normal(16 * 3600 + 15 * 60, 1200, rows).round(), np.nan)
    check_in[present & (rng.random(rows) < 0.01)] = np.nan
    check_out[present & (rng.random(rows) < 0.01)] = np.nan
    check_out = np.where(check_out < check_in, check_in, check_out)
    order = rng.permutation(rows)  # exports arrive in no particular order
    attendance = pd.DataFrame(
        {
            "nip": _text_take(nips, employee[order]),
            "date": work[day[order]].astype("datetime64[ns]"),
            "status": _text_take(statuses, status[order]),
            "check_in": check_in[order],
            "check_out": check_out[order],
        }
    )
    del employee, day, status, check_in, check_out, order, kept, extra, present

    per = 5
    skp_nip = np.repeat(np.arange(n), per)
    target = rng.integers(1, 100, n * per).astype(np.float64)
    realization = np.round(target * rng.uniform(0.5, 1.3, n * per), 2)
    realization[rng.random(n * per) < 0.03] = np.nan
    skp = pd.DataFrame(
        {
            "nip": _text_take(nips, skp_nip),
            "indicator_id": _text_take(
                np.array([f"K{i}" for i in range(per)], dtype=object), np.tile(np.arange(per), n)
            ),
            "indicator": pd.Series([None] * (n * per), dtype=TEXT),
            "target": target,
            "realization": realization,
            "unit_of_measure": pd.Series([None] * (n * per), dtype=TEXT),
            "polarity": _text_take(
                np.array(["MAX", "MIN"], dtype=object),
                (rng.random(n * per) < 0.15).astype(np.int64),
            ),
            "weight": rng.integers(1, 4, n * per).astype(np.float64),
        }
    )

    rated = rng.random(n) < 0.95
    rated_idx = np.flatnonzero(rated)
    again = rated_idx[rng.random(len(rated_idx)) < 0.1]  # some re-rated employees
    rating_nip = np.concatenate([rated_idx, again])
    m = len(rating_nip)
    rated_at = np.datetime64(period.end, "s") - rng.integers(0, 86400 * 20, m).astype(
        "timedelta64[s]"
    )
    rated_at[len(rated_idx) :] = np.datetime64(period.end, "s") + np.timedelta64(3600, "s")
    probabilities = [0.15, 0.75, 0.10]
    ratings = pd.DataFrame(
        {
            "nip": _text_take(nips, rating_nip),
            "rater_nip": pd.Series([None] * m, dtype=TEXT),
            "rated_at": rated_at.astype("datetime64[ns]"),
            "results_rating": _text_take(RATINGS, rng.choice(3, m, p=probabilities)),
            "behavior_rating": _text_take(RATINGS, rng.choice(3, m, p=probabilities)),
        }
    )
    for aspect in ASPECTS:
        values = rng.choice(4, m, p=[0.15, 0.65, 0.08, 0.12])  # 3: not rated
        ratings[aspect] = pd.Series(
            np.where(values == 3, None, RATINGS[np.minimum(values, 2)]), dtype=TEXT
        )

    iku_per = 4
    with_iku = np.arange(n_units)[rng.random(n_units) < 0.9]
    iku_unit = np.repeat(with_iku, iku_per)
    iku_target = rng.integers(10, 100, len(iku_unit)).astype(np.float64)
    unit_iku = pd.DataFrame(
        {
            "unit_code": _text_take(unit_codes, iku_unit),
            "iku_id": _text_take(
                np.array([f"IKU{i}" for i in range(iku_per)], dtype=object),
                np.tile(np.arange(iku_per), len(with_iku)),
            ),
            "indicator": pd.Series([None] * len(iku_unit), dtype=TEXT),
            "target": iku_target,
            "realization": np.round(iku_target * rng.uniform(0.4, 1.3, len(iku_unit)), 2),
            "polarity": pd.Series(["MAX"] * len(iku_unit), dtype=TEXT),
            "weight": np.ones(len(iku_unit)),
        }
    )
    activities = 10
    budget_unit = np.repeat(np.arange(n_units), activities)
    pagu = rng.integers(1, 1000, len(budget_unit)) * 1e6
    budget = pd.DataFrame(
        {
            "unit_code": _text_take(unit_codes, budget_unit),
            "program_code": pd.Series(["P01"] * len(budget_unit), dtype=TEXT),
            "activity_code": _text_take(
                np.array([f"A{i}" for i in range(activities)], dtype=object),
                np.tile(np.arange(activities), n_units),
            ),
            "activity_name": pd.Series([None] * len(budget_unit), dtype=TEXT),
            "pagu": pagu,
            "realisasi": np.round(pagu * rng.uniform(0.3, 1.0, len(pagu))),
        }
    )

    prior_absent_days = (
        pd.DataFrame({"nip": pd.Series(nips, dtype=TEXT), "absent_days": rng.integers(0, 8, n)})
        if period.half == 2
        else pd.DataFrame({"nip": pd.Series(dtype=TEXT), "absent_days": pd.Series(dtype="int64")})
    )
    previous = [period.previous(k).id for k in (1, 2, 3)]
    prior_predikat = pd.DataFrame(
        {
            "nip": _text_take(nips, np.repeat(np.arange(n), 3)),
            "period_id": _text_take(np.array(previous, dtype=object), np.tile(np.arange(3), n)),
            "predikat": _text_take(
                np.array(["SANGAT_BAIK", "BAIK", "BUTUH_PERBAIKAN", "KURANG"], dtype=object),
                rng.choice(4, 3 * n, p=[0.2, 0.7, 0.07, 0.03]),
            ),
        }
    )
    return ScoringInputs(
        agency_code="3374",
        period=period,
        units=units,
        employees=employees,
        calendar=calendar,
        attendance=attendance,
        skp=skp,
        ratings=ratings,
        unit_iku=unit_iku,
        budget=budget,
        prior_absent_days=prior_absent_days,
        prior_predikat=prior_predikat,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--employees", type=int, default=100_000)
    parser.add_argument("--period", default="2025-S1")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--validate", action="store_true", help="also check the facts against schemas/outputs.py"
    )
    args = parser.parse_args()

    period = Period.parse(args.period)
    policy = load_policy()
    started = time.perf_counter()
    inputs = build_inputs(args.employees, period, args.seed)
    built = time.perf_counter() - started
    input_mb = (
        sum(
            frame.memory_usage(deep=True).sum()
            for frame in (inputs.employees, inputs.attendance, inputs.skp, inputs.ratings)
        )
        / 2**20
    )
    print(
        f"inputs: {len(inputs.employees):,} employees, {len(inputs.attendance):,} attendance rows,"
        f" {len(inputs.skp):,} skp rows, {len(inputs.ratings):,} ratings;"
        f" {input_mb:,.0f} MB in frames; built in {built:.1f} s; peak RSS {peak_rss_mb():,.0f} MB"
    )
    for run in range(1, args.repeat + 1):
        timings: dict[str, float] = {}
        before = _status_mb("VmRSS")
        resettable = reset_peak_rss()
        started = time.perf_counter()
        facts = score_period(inputs, policy, timings=timings)
        elapsed = time.perf_counter() - started
        print(f"run {run}: score_period {elapsed:.2f} s")
        peak = _status_mb("VmHWM")
        if resettable and before is not None and peak is not None:
            print(
                f"  RSS before scoring {before:,.0f} MB, peak during scoring {peak:,.0f} MB"
                f" (+{peak - before:,.0f} MB)"
            )
        for stage, seconds in timings.items():
            print(f"  {stage:<14}{seconds:8.2f} s")
        print("  rows: " + ", ".join(f"{name} {len(frame):,}" for name, frame in facts.items()))
        appraisal = facts["fact_appraisal"]
        print(
            "  status: "
            + ", ".join(f"{k} {v:,}" for k, v in appraisal["status"].value_counts().items())
        )
    if args.validate:
        started = time.perf_counter()
        validate_facts(facts)
        print(f"schemas/outputs.py: valid ({time.perf_counter() - started:.1f} s)")
    print(f"peak RSS of the whole process (getrusage) {peak_rss_mb():,.0f} MB")


if __name__ == "__main__":
    main()
