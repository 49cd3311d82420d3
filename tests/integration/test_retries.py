"""Prefect task retries in the real flow: a transient fault is retried and the run publishes; a
data error fails at once, after one attempt."""

from __future__ import annotations

import errno
import sqlite3

import pytest
import sqlalchemy as sa
from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

from flows.semester import semester_appraisal
from kinerja.synthetic import generate_landing
from tasks import steps
from tasks.warehouse import publish as publisher
from tasks.warehouse.database import make_engine

AGENCY = "3374"
PERIOD = "2025-S1"


@pytest.fixture(scope="module")
def landing(tmp_path_factory):
    root = tmp_path_factory.mktemp("landing")
    generate_landing(root, AGENCY, 40, [PERIOD], seed=5, bad_rows=0.01)
    return root


@pytest.fixture
def fast_retries(monkeypatch):
    """The production tasks with their retry condition and count, but sub-second delays."""
    for name in ("publish", "validate_source"):
        monkeypatch.setattr(steps, name, getattr(steps, name).with_options(
            retry_delay_seconds=[0.05, 0.1, 0.2]))


@pytest.fixture
def run(prefect_harness, landing, tmp_path, monkeypatch, fast_retries):
    monkeypatch.setenv("KINERJA_WORK", str(tmp_path / "work"))
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"

    def _run():
        return semester_appraisal(agency_code=AGENCY, period_id=PERIOD, landing=str(landing),
                                  warehouse_url=url, reports=str(tmp_path / "reports"))

    return _run, url


def _pipeline_run(url: str) -> sa.Row:
    engine = make_engine(url)
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT run_id, flow_run_id, status, message FROM pipeline_run")).one()
    engine.dispose()
    return row


def _task_run_counts(flow_run_id: str) -> dict[str, int]:
    """How many times Prefect ran each task of the flow run (attempts, retries included)."""
    with get_client(sync_client=True) as client:
        task_runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    return {t.name: t.run_count for t in task_runs}


def _fail_first_calls(monkeypatch, target, name, error: BaseException, times: int = 1):
    calls = {"n": 0}
    original = getattr(target, name)

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] <= times:
            raise error
        return original(*args, **kwargs)

    monkeypatch.setattr(target, name, flaky)
    return calls


def test_a_dropped_connection_during_publish_is_retried(run, monkeypatch):
    flow, url = run
    dropped = sa.exc.OperationalError(
        "INSERT INTO fact_appraisal ...", {}, sqlite3.OperationalError("database is locked"))
    calls = _fail_first_calls(monkeypatch, publisher, "publish_period", dropped)

    summary = flow()

    assert calls["n"] == 2
    row = _pipeline_run(url)
    assert (row.run_id, row.status) == (summary["run_id"], "published")
    counts = _task_run_counts(row.flow_run_id)
    assert [c for name, c in counts.items() if name.startswith("publish")] == [2]


def test_a_locked_landing_file_is_retried(run, monkeypatch):
    flow, url = run
    busy = BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable", "skp.csv")
    original = steps.extract_raw
    calls: dict[str, int] = {}

    def locked_once(dataset, *args, **kwargs):
        calls[dataset] = calls.get(dataset, 0) + 1
        if dataset == "skp" and calls[dataset] == 1:
            raise busy
        return original(dataset, *args, **kwargs)

    monkeypatch.setattr(steps, "extract_raw", locked_once)
    flow()
    assert calls["skp"] == 2 and calls["units"] == 1
    row = _pipeline_run(url)
    assert row.status == "published"
    assert _task_run_counts(row.flow_run_id)["validate-skp"] == 2


def test_a_data_error_is_not_retried(run, monkeypatch):
    flow, url = run
    calls = _fail_first_calls(monkeypatch, publisher, "publish_period",
                              ValueError("fact_appraisal: rows with agency_code ['9999']"),
                              times=99)

    with pytest.raises(ValueError, match="agency_code"):
        flow()

    assert calls["n"] == 1
    row = _pipeline_run(url)
    assert row.status == "failed"
    assert "agency_code" in row.message
    counts = _task_run_counts(row.flow_run_id)
    assert [c for name, c in counts.items() if name.startswith("publish")] == [1]
