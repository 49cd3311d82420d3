"""The semester flow end to end on generated data, on SQLite and on the real PostgreSQL server."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from flows.semester import semester_appraisal
from kinerja.synthetic import generate_landing
from schemas.outputs import FACT_TABLES
from tasks.warehouse import loader
from tasks.warehouse.database import make_engine

AGENCY = "3374"
PERIODS = ["2025-S1", "2025-S2"]
FACT_KEYS = {
    "fact_attendance": ["nip"],
    "fact_skp": ["nip", "indicator_id"],
    "fact_unit_performance": ["unit_code"],
    "fact_appraisal": ["nip"],
    "fact_predikat_distribution": ["unit_code", "predikat"],
    "fact_distribution_check": ["unit_code", "rule"],
    "fact_followup": ["nip"],
}


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> tuple[Path, object]:
    root = tmp_path_factory.mktemp("landing")
    summary = generate_landing(root, AGENCY, 300, PERIODS, seed=7, bad_rows=0.02)
    return root, summary


@pytest.fixture
def run(prefect_harness, landing, tmp_path, monkeypatch, warehouse_url):
    monkeypatch.setenv("KINERJA_WORK", str(tmp_path / "work"))
    root, _ = landing

    def _run(period_id: str, landing_root: Path = root, **kwargs):
        return semester_appraisal(agency_code=AGENCY, period_id=period_id,
                                  landing=str(landing_root), warehouse_url=warehouse_url,
                                  reports=str(tmp_path / "reports"), **kwargs)

    return _run


def facts(url: str, period_id: str) -> dict[str, pd.DataFrame]:
    engine = make_engine(url)
    out = {}
    with engine.connect() as conn:
        for table in FACT_TABLES:
            frame = pd.read_sql(
                sa.text(f"SELECT * FROM {table} WHERE agency_code = :a AND period_id = :p"),
                conn, params={"a": AGENCY, "p": period_id})
            out[table] = frame.sort_values(FACT_KEYS[table]).reset_index(drop=True)
    engine.dispose()
    return out


def query(url: str, sql: str, **params) -> pd.DataFrame:
    engine = make_engine(url)
    with engine.connect() as conn:
        frame = pd.read_sql(sa.text(sql), conn, params=params)
    engine.dispose()
    return frame


def test_row_accounting_and_every_quarantined_row_is_findable(run, landing, warehouse_url):
    root, generated = landing
    summary = run("2025-S1")

    runs = query(warehouse_url, "SELECT * FROM pipeline_run WHERE run_id = :r", r=summary["run_id"])
    record = runs.iloc[0]
    assert record["status"] == "published"
    assert record["rows_read"] == record["rows_accepted"] + record["rows_quarantined"]
    assert record["rows_quarantined"] > 0
    assert record["policy_name"] == "permenpanrb-6-2022"

    files = query(warehouse_url, "SELECT * FROM source_file WHERE run_id = :r", r=summary["run_id"])
    assert set(files["dataset"]) == {"units", "employees", "calendar", "attendance", "skp",
                                     "ratings", "unit_iku", "budget"}
    assert (files["rows_read"] == files["rows_accepted"] + files["rows_quarantined"]).all()
    assert files["rows_read"].sum() == record["rows_read"]
    assert (files["sha256"].str.len() == 64).all()

    quarantine = query(warehouse_url, "SELECT * FROM quarantine WHERE run_id = :r",
                       r=summary["run_id"])
    assert len(quarantine) == record["rows_quarantined"]
    per_dataset = quarantine.groupby("dataset").size()
    for dataset, bad in generated_bad_rows(generated, "2025-S1").items():
        # every deliberately broken row is caught (cascades may add more)
        assert per_dataset.get(dataset, 0) >= bad, dataset

    # Every quarantined row is where record_ref says, and its payload is that line.
    folder = root / AGENCY / "2025-S1"
    lines_cache: dict[str, list[list[str]]] = {}
    for ref, payload, reasons in quarantine[["record_ref", "payload", "reasons"]].itertuples(
            index=False):
        assert reasons
        path, line = ref.rsplit(":", 1)
        if path.endswith(".xlsx"):
            continue  # the workbook's rows are checked in test_extract
        if path not in lines_cache:
            with (folder / path).open(encoding="utf-8-sig", newline="") as handle:
                lines_cache[path] = list(csv.reader(handle))
        rows = lines_cache[path]
        header = [h.strip().lower() for h in rows[0]]
        values = {k: v for k, v in zip(header, rows[int(line) - 1], strict=False) if v != ""}
        assert json.loads(payload) == values, ref

    published = facts(warehouse_url, "2025-S1")
    employees_accepted = files.loc[files["dataset"] == "employees", "rows_accepted"].sum()
    for table in ("fact_attendance", "fact_appraisal", "fact_followup"):
        assert len(published[table]) == employees_accepted, table
    assert (published["fact_appraisal"]["run_id"] == summary["run_id"]).all()
    assert Path(summary["report"]).is_file()


def generated_bad_rows(generated, period_id: str) -> dict[str, int]:
    """What the generator says it broke, per dataset, for one period."""
    return {name: d.bad_rows for name, d in generated.periods[period_id].datasets.items()}


def test_same_period_twice_gives_identical_facts(run, warehouse_url):
    first = run("2025-S1")
    before = facts(warehouse_url, "2025-S1")
    second = run("2025-S1")
    after = facts(warehouse_url, "2025-S1")
    assert first["run_id"] != second["run_id"]
    for table in FACT_TABLES:
        assert (after[table]["run_id"] == second["run_id"]).all()
        pd.testing.assert_frame_equal(before[table].drop(columns="run_id"),
                                      after[table].drop(columns="run_id"), check_exact=True)


def test_s2_reads_s1_absences(run, warehouse_url):
    run("2025-S1")
    run("2025-S2")
    s1 = facts(warehouse_url, "2025-S1")["fact_attendance"].set_index("nip")["absent_days"]
    s2 = facts(warehouse_url, "2025-S2")
    ytd = s2["fact_followup"].set_index("nip")["absent_days_ytd"]
    own = s2["fact_attendance"].set_index("nip")["absent_days"]
    expected = own + s1.reindex(own.index).fillna(0).astype(int)
    pd.testing.assert_series_equal(ytd.sort_index(), expected.sort_index(), check_names=False,
                                   check_dtype=False)
    assert (ytd > own).any()


def test_failure_mid_publication_keeps_previous_publication(run, warehouse_url, monkeypatch):
    run("2025-S1")
    before = facts(warehouse_url, "2025-S1")

    real_load = loader.load_frame
    calls = {"n": 0}

    def failing_load(conn, table, frame, *args, **kwargs):
        if table.startswith("fact_"):
            calls["n"] += 1
            if calls["n"] == 3:
                raise RuntimeError("disk full while loading")
        return real_load(conn, table, frame, *args, **kwargs)

    monkeypatch.setattr(loader, "load_frame", failing_load)
    with pytest.raises(RuntimeError, match="disk full"):
        run("2025-S1")
    assert calls["n"] == 3

    after = facts(warehouse_url, "2025-S1")
    for table in FACT_TABLES:
        pd.testing.assert_frame_equal(before[table], after[table])
    runs = query(warehouse_url, "SELECT status, message FROM pipeline_run "
                 "WHERE agency_code = :a AND period_id = :p ORDER BY started_at",
                 a=AGENCY, p="2025-S1")
    assert runs["status"].tolist()[-2:] == ["published", "failed"]
    assert "disk full while loading" in runs["message"].iloc[-1]


def test_unusable_dataset_fails_before_publishing(run, landing, warehouse_url, tmp_path):
    run("2025-S1")
    before = facts(warehouse_url, "2025-S1")
    root, _ = landing
    broken = tmp_path / "broken"
    source = root / AGENCY / "2025-S1"
    target = broken / AGENCY / "2025-S1"
    for path in source.rglob("*"):
        if path.is_file() and path.name != "skp.csv":
            (target / path.relative_to(source)).parent.mkdir(parents=True, exist_ok=True)
            (target / path.relative_to(source)).write_bytes(path.read_bytes())
    from tasks.sources.extract import DatasetError

    with pytest.raises(DatasetError, match="skp.csv: required file missing"):
        run("2025-S1", landing_root=broken)
    after = facts(warehouse_url, "2025-S1")
    for table in FACT_TABLES:
        pd.testing.assert_frame_equal(before[table], after[table])
    last = query(warehouse_url, "SELECT status, message FROM pipeline_run "
                 "ORDER BY started_at DESC LIMIT 1").iloc[0]
    assert last["status"] == "failed"
    assert "skp.csv: required file missing" in last["message"]
