"""One small published agency-period, shared by the report, workbook, quality and view tests.

The semester flow runs once per test session on a generated agency (about 200 employees in a
dozen units, a few deliberately broken rows) into SQLite; tests that change the warehouse work on
a copy (`copy_warehouse`).
"""

from __future__ import annotations

import sqlite3
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
