"""A whole run whose attendance two processes read (tasks/second_process.py, from
`parallel_from_employees`) publishes the warehouse a run in one process publishes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from flows.semester import semester_appraisal
from kinerja.synthetic import generate_landing
from tasks.warehouse.database import make_engine
from tests.two_processes import second_process_takes_blocks

AGENCY = "3374"
PERIOD = "2025-S1"
# What differs between two runs of the same data: their ids, clocks and timings.
RUN_SPECIFIC = {"run_id", "flow_run_id", "started_at", "finished_at", "quality_checked_at",
                "timings", "applied_at", "created_at"}


def warehouse(url: str) -> dict[str, pd.DataFrame]:
    """Every table, without what is particular to a run, in a stable row order."""
    engine = make_engine(url)
    tables = {}
    with engine.connect() as conn:
        for name in sorted(sa.inspect(conn).get_table_names()):
            frame = pd.read_sql(sa.text(f"SELECT * FROM {name}"), conn)
            frame = frame.drop(columns=[c for c in frame.columns if c in RUN_SPECIFIC])
            if "quality_summary" in frame.columns:  # the check's findings, less its run and clock
                frame["quality_summary"] = [
                    json.dumps({k: v for k, v in json.loads(text).items()
                                if k not in ("run_id", "checked_at")}, sort_keys=True)
                    for text in frame["quality_summary"]]
            tables[name] = frame.sort_values(list(frame.columns), kind="stable",
                                             ignore_index=True) if len(frame.columns) else frame
    engine.dispose()
    return tables


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("landing")
    generate_landing(root, AGENCY, 300, [PERIOD], seed=7, bad_rows=0.02)
    return root


def test_two_processes_publish_what_one_publishes(prefect_harness, landing, tmp_path,
                                                  monkeypatch):
    def run(name: str) -> tuple[dict, str]:
        monkeypatch.setenv("KINERJA_WORK", str(tmp_path / name / "work"))
        (tmp_path / name).mkdir()
        url = f"sqlite:///{tmp_path / name / 'warehouse.db'}"
        # One reports folder: the run records where its data docs are.
        summary = semester_appraisal(agency_code=AGENCY, period_id=PERIOD, landing=str(landing),
                                     warehouse_url=url, reports=str(tmp_path / "reports"))
        return summary, url

    one, one_url = run("one")  # 300 employees: under the setting's 40,000, one process
    plans = second_process_takes_blocks(monkeypatch)
    two, two_url = run("two")
    assert [p.name for p in plans] == ["attendance"]

    def accounting(summary: dict) -> dict:
        return {k: summary[k] for k in ("rows_read", "rows_accepted", "rows_quarantined",
                                        "datasets", "predikat_counts")}

    assert accounting(two) == accounting(one)
    assert one["rows_quarantined"] > 0
    published_one, published_two = warehouse(one_url), warehouse(two_url)
    assert published_two.keys() == published_one.keys()
    for table, frame in published_one.items():
        pd.testing.assert_frame_equal(published_two[table], frame, check_exact=True,
                                      obj=table)
    assert len(published_one["fact_attendance"]) > 250
    assert len(published_one["quarantine"]) == one["rows_quarantined"]
