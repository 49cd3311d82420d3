"""One small published agency-period, shared by the report, workbook, quality and view tests.

The semester flow runs once per test session on a generated agency (about 200 employees in a
dozen units, a few deliberately broken rows) into SQLite; tests that change the warehouse work on
a copy (`copy_warehouse`).
"""

from __future__ import annotations

import re
import sqlite3
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

AGENCY = "3374"
AGENCY_NAME = "Kota Semarang"
PERIOD = "2025-S1"
EMPLOYEES = 200
SEED = 11


@dataclass(frozen=True)
class Published:
    landing: Path
    database: Path
    reports: Path
    summary: dict[str, Any]

    @property
    def url(self) -> str:
        return f"sqlite:///{self.database}"


# Session-wide, across test modules (pytest's session fixtures would need tests/conftest.py).
_LANDING: dict[str, Path] = {}
_CACHE: dict[str, Published] = {}


def generated_landing(factory: pytest.TempPathFactory) -> Path:
    if "landing" not in _LANDING:
        from kinerja.synthetic import generate_landing

        root = factory.mktemp("report-landing")
        generate_landing(root, AGENCY, EMPLOYEES, [PERIOD], seed=SEED, bad_rows=0.02)
        _LANDING["landing"] = root
    return _LANDING["landing"]


def run_flow(landing: Path, warehouse_url: str, reports: Path, work: Path) -> dict[str, Any]:
    """The semester flow, as `kinerja run` calls it."""
    from flows.semester import semester_appraisal

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KINERJA_WORK", str(work))
        return semester_appraisal(agency_code=AGENCY, period_id=PERIOD, landing=str(landing),
                                  warehouse_url=warehouse_url, reports=str(reports),
                                  agency_name=AGENCY_NAME)


def published(factory: pytest.TempPathFactory) -> Published:
    """The session's published SQLite warehouse (the flow runs on first use)."""
    if "sqlite" not in _CACHE:
        landing = generated_landing(factory)
        root = factory.mktemp("report-run")
        database = root / "warehouse.db"
        summary = run_flow(landing, f"sqlite:///{database}", root / "reports", root / "work")
        _CACHE["sqlite"] = Published(landing, database, root / "reports", summary)
    return _CACHE["sqlite"]


def copy_warehouse(source: Published, target_dir: Path) -> Published:
    """A copy of a published SQLite warehouse (through SQLite's backup, so the WAL comes along),
    with its own reports folder."""
    target_dir.mkdir(parents=True, exist_ok=True)
    database = target_dir / "warehouse.db"
    with sqlite3.connect(source.database) as src, sqlite3.connect(database) as dst:
        src.backup(dst)
    return Published(source.landing, database, target_dir / "reports", source.summary)


def query(url: str, sql: str, **params: Any) -> pd.DataFrame:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return pd.read_sql(sa.text(sql), conn, params=params)
    finally:
        engine.dispose()


def execute(url: str, *statements: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(sa.text(statement))
    finally:
        engine.dispose()


def synthetic_publication(employees: int, seed: int = 7) -> dict[str, Any]:
    """What `tasks.reporting.report.read_publication` returns, for an agency of `employees` without
    running the pipeline: the generator's organisation and roster (kinerja.synthetic, as
    `generate_landing` builds them), random ratings and scores, and the policy's own
    distribution and curve checks. For size and speed tests of the reports at city scale,
    where generating and scoring 2.4 million attendance rows would cost minutes."""
    import numpy as np

    from kinerja.period import Period
    from kinerja.policy import load_policy
    from kinerja.synthetic.common import Seeds, agency_key
    from kinerja.synthetic.organisation import build_organisation
    from kinerja.synthetic.population import build_people, build_roster, position_name
    from tasks.score.appraisal import predikat_of
    from tasks.score.distribution import distribution_checks, predikat_distribution
    from tasks.score.rules import ScoringRules
    from tasks.score.units import org_predikat_of

    period = Period.parse(PERIOD)
    rules = ScoringRules.from_policy(load_policy())
    seeds = Seeds(seed, agency_key(AGENCY))
    org = build_organisation(seeds, employees)
    people = build_people(seeds, org, period)
    roster = build_roster(seeds, org, people, period)
    rng = np.random.default_rng(seed)
    n = len(roster.nip)
    codes = [u.code for u in org.units]
    unit = pd.Series(np.array(codes, dtype=object)[roster.unit])
    ratings = np.array(["DIATAS_EKSPEKTASI", "SESUAI_EKSPEKTASI", "DIBAWAH_EKSPEKTASI"],
                       dtype=object)
    results = pd.Series(ratings[rng.choice(3, n, p=[0.15, 0.78, 0.07])])
    behavior = pd.Series(ratings[rng.choice(3, n, p=[0.15, 0.8, 0.05])])
    status = np.where(rng.random(n) < 0.05, "NOT_RATED", "APPRAISED").astype(object)
    rated = status == "APPRAISED"
    predikat = predikat_of(results, behavior, rules).astype(object).where(rated, None)
    final = pd.Series(np.clip(rng.normal(92, 7, n), 40, 119))
    frame = pd.DataFrame({"unit_code": unit, "final": final.where(rated)})
    rank = frame.groupby("unit_code")["final"].rank(ascending=False, method="first")
    appraisal = pd.DataFrame({
        "period_id": PERIOD, "agency_code": AGENCY, "nip": roster.nip.astype(object),
        "unit_code": unit, "results_score": np.clip(rng.normal(95, 10, n), 0, 120),
        "behavior_score": np.clip(rng.normal(100, 8, n), 60, 120),
        "discipline_score": np.clip(rng.normal(97, 2, n), 0, 100),
        "unit_score": np.clip(rng.normal(95, 10, n), 0, 120), "final_score": final,
        "results_rating": results.where(rated, None), "behavior_rating":
        behavior.where(rated, None), "predikat": predikat, "status": status,
        "rank_in_unit": rank.astype("Int64"),
    })
    absent = rng.poisson(0.8, n)
    aspects = ("loyal", "adaptif", "kolaboratif")
    followup = pd.DataFrame({
        "nip": appraisal["nip"],
        "reward_candidate": (predikat == "SANGAT_BAIK") & (rank <= 3),
        "coaching_required": predikat.isin(["BUTUH_PERBAIKAN", "KURANG", "SANGAT_KURANG"]),
        "training_needs": [aspects[i % 3] if r else "" for i, r in
                           enumerate(rng.random(n) < 0.06)],
        "absent_days_ytd": absent,
        "discipline_sanction": np.where(absent >= 3, "TEGURAN_LISAN", "NONE").astype(object),
        "promotion_eligible": np.zeros(n, dtype=bool),
    })
    working = np.full(n, 120)
    attendance = pd.DataFrame({
        "nip": appraisal["nip"], "working_days": working, "present_days": working - absent - 3,
        "sick_days": 1, "permit_days": 1, "leave_days": 1, "duty_days": 0,
        "absent_days": absent, "late_count": rng.poisson(6, n), "late_minutes": 60,
        "early_count": rng.poisson(2, n), "early_minutes": 20, "deduction_pct": 4.0,
    })
    staff = pd.DataFrame({
        "nip": appraisal["nip"],
        "name": people.name[roster.person].astype(object),
        "employee_type": np.where(people.pppk[roster.person], "PPPK", "PNS").astype(object),
        "position_type": [org.positions[p].position_type for p in roster.position],
        "position_name": [position_name(org, people, p) for p in roster.person],
        "grade": people.grade[roster.person].astype(object),
    })
    iku = pd.Series(np.where(rng.random(len(codes)) < 0.3, np.nan,
                             np.clip(rng.normal(92, 15, len(codes)), 10, 120)))
    pagu = rng.uniform(1e8, 5e10, len(codes))
    spent = pagu * rng.uniform(0.5, 0.99, len(codes))
    headcount = unit.value_counts()
    appraised_count = unit[rated].value_counts()
    units = pd.DataFrame({
        "period_id": PERIOD, "agency_code": AGENCY, "unit_code": codes, "iku_score": iku,
        "budget_pagu": pagu, "budget_realisasi": spent, "absorption_pct": 100 * spent / pagu,
        "efficiency_pct": iku / (100 * spent / pagu) * 100,
        "org_predikat": org_predikat_of(iku, rules).astype(object),
        "headcount": [int(headcount.get(c, 0)) for c in codes],
        "appraised_count": [int(appraised_count.get(c, 0)) for c in codes],
    })
    distribution = predikat_distribution(appraisal, units, rules)
    checks = distribution_checks(distribution, units, rules)
    for table in (distribution, checks):
        table.insert(0, "period_id", PERIOD)
        table.insert(1, "agency_code", AGENCY)
    dim_unit = pd.DataFrame({
        "agency_code": AGENCY, "unit_code": codes, "unit_name": [u.name for u in org.units],
        "parent_unit_code": [codes[u.parent] if u.parent >= 0 else None for u in org.units]})
    datasets = ("units", "employees", "calendar", "attendance", "skp", "ratings", "unit_iku",
                "budget")
    source_files = pd.DataFrame({
        "run_id": "r1", "dataset": datasets, "path": [f"{d}.csv" for d in datasets],
        "bytes": 1000, "sha256": "0" * 64, "rows_read": n, "rows_accepted": n - 10,
        "rows_quarantined": 10})
    quarantine = pd.DataFrame({
        "run_id": "r1", "dataset": ["employees"] * 10,
        "record_ref": [f"employees.csv:{i + 2}" for i in range(10)],
        "reasons": ["nip: not a valid NIP ('123')"] * 10, "payload": ['{"nip": "123"}'] * 10})
    run = {"run_id": "r1", "flow_run_id": None, "kind": "manual", "status": "published",
           "started_at": pd.Timestamp("2025-07-01 01:00"),
           "finished_at": pd.Timestamp("2025-07-01 01:05"), "policy_name": "permenpanrb-6-2022",
           "policy_hash": "0" * 64, "code_version": "test", "source_fingerprint": "0" * 64,
           "rows_read": n, "rows_accepted": n, "rows_quarantined": 0, "message": None,
           "quality_summary": None}
    return {"agency_code": AGENCY, "period": period, "run": run,
            "agency": pd.DataFrame({"agency_code": [AGENCY], "agency_name": [AGENCY_NAME]}),
            "dim_unit": dim_unit, "appraisal": appraisal, "followup": followup,
            "attendance": attendance, "people": staff, "units": units,
            "distribution": distribution, "checks": checks, "quarantine": quarantine,
            "source_files": source_files}


def page_texts(folder: Path) -> dict[str, str]:
    """Every HTML page under `folder`, by path, without the time each was written (the footer's
    "Dibuat ...", to the minute)."""
    return {str(path.relative_to(folder)): re.sub(r"Dibuat \d+ \S+ \d{4} \d\d:\d\d WIB", "Dibuat",
                                                  path.read_text(encoding="utf-8"))
            for path in sorted(folder.rglob("*.html"))}


def workbook_members(folder: Path) -> dict[str, bytes]:
    """Every member of every workbook under `folder`, by `<workbook path>:<member>`, without
    the time each was written (so that two writes of the same workbooks compare equal)."""
    out = {}
    for path in sorted(folder.rglob("*.xlsx")):
        with zipfile.ZipFile(path) as book:
            for name in book.namelist():
                content = book.read(name)
                if name == "docProps/core.xml":  # the time it was written
                    content = re.sub(rb"<dcterms:created[^<]*<", b"", content)
                # The "Dibuat" row of the notes sheet: two writes a minute apart differ there.
                content = re.sub(rb"(>Dibuat</t></is></c><c [^>]*><is><t[^>]*>)[^<]*", rb"\1",
                                 content)
                out[f"{path.relative_to(folder)}:{name}"] = content
    return out
