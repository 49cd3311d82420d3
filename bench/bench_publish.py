"""Benchmark: publish one agency-period of N employees to SQLite and to PostgreSQL.

Run by hand:

    .venv/bin/python bench/bench_publish.py [--employees 100000] [--backend both]

The frames are synthetic (numpy), shaped like scoring's output: per employee one row of
fact_attendance, fact_appraisal and fact_followup and five SKP indicators; one row per unit of
fact_unit_performance, five of fact_predikat_distribution and two of fact_distribution_check.
Each backend is timed for a first publication and for a re-publication that replaces it. The
PostgreSQL run uses a scratch database created on the server of KINERJA_BENCH_POSTGRES_URL
(default: the test server) and dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from kinerja.period import Period
from tasks.warehouse.database import ensure_schema, make_engine, redact_url
from tasks.warehouse.publish import publish_period
from tasks.warehouse.run_ledger import start_run

AGENCY = "3374"
PERIOD = Period.parse("2025-S1")
TEXT = pd.StringDtype("pyarrow")
POSTGRES_ADMIN_URL = os.environ.get(
    "KINERJA_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def synthetic(employees: int, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Units, employees and the seven fact frames of one agency-period."""
    rng = np.random.default_rng(seed)
    n = employees
    n_units = max(1, n // 200)
    unit_codes = np.array([f"U{i:04d}" for i in range(n_units)], dtype=object)
    units = pd.DataFrame(
        {
            "unit_code": pd.Series(unit_codes, dtype=TEXT),
            "unit_name": pd.Series([f"Unit {c}" for c in unit_codes], dtype=TEXT),
            "parent_unit_code": pd.Series([pd.NA] * n_units, dtype=TEXT),
        }
    )

    # Unique valid NIPs by construction: the index picks the birth date and the sequence.
    index = np.arange(n)
    birth = pd.Timestamp("1965-01-01") + pd.to_timedelta(index // 500, unit="D")
    appointed = 2000 + index % 20
    gender = 1 + index % 2
    nips = [
        f"{b:%Y%m%d}{y}{m:02d}{g}{s:03d}"
        for b, y, m, g, s in zip(birth, appointed, 1 + index % 12, gender, index % 500, strict=True)
    ]
    nip = pd.Series(nips, dtype=TEXT)
    unit = pd.Series(unit_codes[index % n_units], dtype=TEXT)
    employees_frame = pd.DataFrame(
        {
            "nip": nip,
            "name": pd.Series([f"Pegawai {i}" for i in index], dtype=TEXT),
            "employee_type": pd.Series(np.where(index % 7 == 0, "PPPK", "PNS"), dtype=TEXT),
            "unit_code": unit,
            "position_type": pd.Series(["PELAKSANA"] * n, dtype=TEXT),
            "position_name": pd.Series(["Pengadministrasi Umum"] * n, dtype=TEXT),
            "grade": pd.Series(["III/a"] * n, dtype=TEXT),
            "supervisor_nip": pd.Series([pd.NA] * n, dtype=TEXT),
            "active_from": pd.Series([pd.NaT] * n, dtype="datetime64[ns]"),
            "active_to": pd.Series([pd.NaT] * n, dtype="datetime64[ns]"),
        }
    )

    def keys(count: int) -> dict[str, pd.Series]:
        return {
            "agency_code": pd.Series([AGENCY] * count, dtype=TEXT),
            "period_id": pd.Series([PERIOD.id] * count, dtype=TEXT),
        }

    def counts(low: int, high: int, size: int = n) -> np.ndarray:
        return rng.integers(low, high, size=size, dtype=np.int64)

    def scores(size: int = n, missing: float = 0.02) -> np.ndarray:
        values = rng.uniform(40, 120, size=size)
        values[rng.random(size) < missing] = np.nan
        return values

    predikat = pd.Series(
        rng.choice(["SANGAT_BAIK", "BAIK", "BUTUH_PERBAIKAN", "KURANG", "SANGAT_KURANG"], n),
        dtype=TEXT,
    )
    rank = pd.array(rng.integers(1, 200, size=n), dtype="Int64")
    rank[rng.random(n) < 0.05] = pd.NA

    skp_per_employee = 5
    skp_rows = n * skp_per_employee
    unit_keys = {**keys(n_units), "unit_code": pd.Series(unit_codes, dtype=TEXT)}
    labels = ["SANGAT_BAIK", "BAIK", "BUTUH_PERBAIKAN", "KURANG", "SANGAT_KURANG"]
    facts = {
        "fact_attendance": pd.DataFrame(
            {
                **keys(n),
                "nip": nip,
                "unit_code": unit,
                "working_days": np.full(n, 120, dtype=np.int64),
                "present_days": counts(100, 120),
                "sick_days": counts(0, 5),
                "permit_days": counts(0, 3),
                "leave_days": counts(0, 6),
                "duty_days": counts(0, 4),
                "absent_days": counts(0, 10),
                "late_count": counts(0, 20),
                "late_minutes": counts(0, 600),
                "early_count": counts(0, 10),
                "early_minutes": counts(0, 300),
                "deduction_pct": rng.uniform(0, 40, n),
                "discipline_score": scores(),
            }
        ),
        "fact_skp": pd.DataFrame(
            {
                **keys(skp_rows),
                "nip": pd.Series(
                    np.repeat(np.array(nips, dtype=object), skp_per_employee), dtype=TEXT
                ),
                "indicator_id": pd.Series(
                    np.tile([f"IND-{k}" for k in range(skp_per_employee)], n), dtype=TEXT
                ),
                "target": rng.uniform(1, 100, skp_rows),
                "realization": scores(skp_rows, missing=0.05),
                "polarity": pd.Series(rng.choice(["MAX", "MIN"], skp_rows), dtype=TEXT),
                "weight": np.ones(skp_rows),
                "achievement": rng.uniform(0, 120, skp_rows),
            }
        ),
        "fact_unit_performance": pd.DataFrame(
            {
                **unit_keys,
                "iku_score": scores(n_units),
                "budget_pagu": rng.uniform(1e9, 5e10, n_units),
                "budget_realisasi": rng.uniform(1e9, 5e10, n_units),
                "absorption_pct": rng.uniform(50, 100, n_units),
                "efficiency_pct": scores(n_units),
                "org_predikat": pd.Series(rng.choice(labels, n_units), dtype=TEXT),
                "headcount": np.full(n_units, 200, dtype=np.int64),
                "appraised_count": np.full(n_units, 190, dtype=np.int64),
            }
        ),
        "fact_appraisal": pd.DataFrame(
            {
                **keys(n),
                "nip": nip,
                "unit_code": unit,
                "results_score": scores(),
                "behavior_score": scores(),
                "discipline_score": scores(),
                "unit_score": scores(),
                "final_score": scores(),
                "results_rating": pd.Series(["SESUAI_EKSPEKTASI"] * n, dtype=TEXT),
                "behavior_rating": pd.Series(["SESUAI_EKSPEKTASI"] * n, dtype=TEXT),
                "predikat": predikat,
                "rank_in_unit": rank,
                "status": pd.Series(["APPRAISED"] * n, dtype=TEXT),
            }
        ),
        "fact_predikat_distribution": pd.DataFrame(
            {
                **keys(n_units * 5),
                "unit_code": pd.Series(np.repeat(unit_codes, 5), dtype=TEXT),
                "predikat": pd.Series(np.tile(labels, n_units), dtype=TEXT),
                "employee_count": counts(0, 100, n_units * 5),
                "share": rng.uniform(0, 1, n_units * 5),
            }
        ),
        "fact_distribution_check": pd.DataFrame(
            {
                **keys(n_units * 2),
                "unit_code": pd.Series(np.repeat(unit_codes, 2), dtype=TEXT),
                "org_predikat": pd.Series(["BAIK"] * (n_units * 2), dtype=TEXT),
                "rule": pd.Series(np.tile(["B_MAX", "BP_K_PRESENT"], n_units), dtype=TEXT),
                "predikat_set": pd.Series(
                    np.tile(["BAIK", "BUTUH_PERBAIKAN,KURANG"], n_units), dtype=TEXT
                ),
                "employee_count": counts(0, 100, n_units * 2),
                "share": rng.uniform(0, 1, n_units * 2),
                "min_share": np.zeros(n_units * 2),
                "max_share": np.tile([0.7, 1.0], n_units),
                "min_count": np.tile([0, 1], n_units).astype(np.int64),
                "breach": rng.random(n_units * 2) < 0.3,
            }
        ),
        "fact_followup": pd.DataFrame(
            {
                **keys(n),
                "nip": nip,
                "reward_candidate": rng.random(n) < 0.05,
                "coaching_required": rng.random(n) < 0.2,
                "training_needs": pd.Series(
                    rng.choice(["", "akuntabel", "kompeten,loyal"], n), dtype=TEXT
                ),
                "absent_days_ytd": counts(0, 20),
                "discipline_sanction": pd.Series(["NONE"] * n, dtype=TEXT),
                "promotion_eligible": rng.random(n) < 0.3,
            }
        ),
    }
    return units, employees_frame, facts


@contextmanager
def postgres_scratch() -> Iterator[str]:
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"kinerja_bench_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def bench(url: str, units: pd.DataFrame, employees: pd.DataFrame, facts: dict) -> list[float]:
    engine = make_engine(url)
    ensure_schema(engine)
    timings = []
    for attempt in range(2):
        run_id = f"bench-{attempt}"
        start_run(
            engine,
            run_id=run_id,
            agency_code=AGENCY,
            period_id=PERIOD.id,
            flow_run_id=None,
            kind="manual",
            policy_name="bench",
            policy_hash=None,
            code_version=None,
        )
        started = time.perf_counter()
        publish_period(
            engine,
            run_id=run_id,
            agency_code=AGENCY,
            agency_name="Kota Semarang",
            period=PERIOD,
            units=units,
            employees=employees,
            facts=facts,
            counts={"rows_read": 0, "rows_accepted": 0, "rows_quarantined": 0},
        )
        timings.append(time.perf_counter() - started)
    engine.dispose()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()

    started = time.perf_counter()
    units, employees, facts = synthetic(args.employees)
    rows = sum(len(frame) for frame in facts.values())
    print(
        f"{args.employees:,} employees: {rows:,} fact rows, {len(employees):,} dim_employee "
        f"rows (frames built in {time.perf_counter() - started:.1f} s)"
    )
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as folder:
                url = f"sqlite:///{Path(folder) / 'warehouse.db'}"
                first, again = bench(url, units, employees, facts)
        else:
            with postgres_scratch() as url:
                first, again = bench(url, units, employees, facts)
        print(
            f"{backend:<10} first publication {first:6.1f} s   re-publication {again:6.1f} s"
            f"   ({redact_url(url)})"
        )


if __name__ == "__main__":
    main()
