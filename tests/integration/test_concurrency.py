"""Two runs of one agency and period at once: they never overlap, both end, and the warehouse
holds one complete publication (SQLite file and PostgreSQL)."""

from __future__ import annotations

import threading
import time

import pandas as pd
import pytest
import sqlalchemy as sa

from flows.semester import semester_appraisal
from kinerja.synthetic import generate_landing
from schemas.outputs import FACT_TABLES
from tasks.warehouse import run_lock
from tasks.warehouse.database import make_engine
from tasks.warehouse.run_lock import RunInProgressError, RunLock

AGENCY = "3374"
PERIOD = "2025-S1"


@pytest.fixture(scope="module")
def landing(tmp_path_factory):
    root = tmp_path_factory.mktemp("landing")
    generate_landing(root, AGENCY, 40, [PERIOD], seed=9, bad_rows=0.01)
    return root


@pytest.fixture
def warehouse_url(request, tmp_path) -> str:
    if getattr(request, "param", "sqlite") == "sqlite":
        return f"sqlite:///{tmp_path / 'warehouse.db'}"
    return request.getfixturevalue("postgres_url")


def _semester(landing, url: str, folder) -> dict:
    return semester_appraisal(agency_code=AGENCY, period_id=PERIOD, landing=str(landing),
                              warehouse_url=url, reports=str(folder / "reports"))


@pytest.fixture
def run(prefect_harness, landing, tmp_path, monkeypatch, warehouse_url):
    monkeypatch.setenv("KINERJA_WORK", str(tmp_path / "work"))
    return lambda: _semester(landing, warehouse_url, tmp_path)


@pytest.fixture(scope="module")
def solo_facts(prefect_harness, landing, tmp_path_factory) -> dict[str, pd.DataFrame]:
    """The facts of one run alone, the publication two runs at once must leave."""
    folder = tmp_path_factory.mktemp("solo")
    url = f"sqlite:///{folder / 'warehouse.db'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KINERJA_WORK", str(folder / "work"))
        _semester(landing, url, folder)
    return facts(url)


def assert_same_facts(published: dict[str, pd.DataFrame],
                      expected: dict[str, pd.DataFrame]) -> None:
    for table in FACT_TABLES:
        pd.testing.assert_frame_equal(
            published[table].drop(columns="run_id"), expected[table].drop(columns="run_id"),
            check_dtype=False, obj=table)


def facts(url: str) -> dict[str, pd.DataFrame]:
    engine = make_engine(url)
    out = {}
    with engine.connect() as conn:
        for table in FACT_TABLES:
            frame = pd.read_sql(sa.text(f"SELECT * FROM {table}"), conn)
            columns = [c for c in frame.columns if c != "run_id"]
            out[table] = frame.sort_values(columns).reset_index(drop=True)
    engine.dispose()
    return out


def pipeline_runs(url: str) -> pd.DataFrame:
    engine = make_engine(url)
    with engine.connect() as conn:
        frame = pd.read_sql(sa.text(
            "SELECT run_id, status, message, finished_at FROM pipeline_run ORDER BY finished_at"),
            conn)
    engine.dispose()
    return frame


@pytest.fixture
def held(monkeypatch) -> list[tuple[str, float, float]]:
    """(run_id, acquired, released) of every run lock a flow run held: the real lock, watched."""
    spans: list[tuple[str, float, float]] = []
    acquired: dict[str, float] = {}
    acquire, release = RunLock.acquire, RunLock.release

    def recording_acquire(self):
        acquire(self)
        acquired[self.run_id] = time.monotonic()

    def recording_release(self):
        if self.held and self.run_id:
            spans.append((self.run_id, acquired[self.run_id], time.monotonic()))
        release(self)

    monkeypatch.setattr(RunLock, "acquire", recording_acquire)
    monkeypatch.setattr(RunLock, "release", recording_release)
    monkeypatch.setattr(run_lock, "POLL_SECONDS", 0.2)
    return spans


@pytest.mark.parametrize("warehouse_url", ["sqlite", "postgres"], indirect=True)
def test_two_runs_at_once_publish_one_after_the_other(run, warehouse_url, held, solo_facts):

    results: dict[int, object] = {}
    start = threading.Barrier(2)

    def worker(index: int) -> None:
        start.wait()
        try:
            results[index] = run()
        except BaseException as error:  # reported by the assertion below
            results[index] = error

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not any(t.is_alive() for t in threads), "a run did not end"
    assert all(isinstance(r, dict) for r in results.values()), results

    # Both ran to the end, one after the other.
    assert len(held) == 2
    (_, first_start, first_end), (_, second_start, _) = sorted(held, key=lambda h: h[1])
    assert second_start >= first_end
    runs = pipeline_runs(warehouse_url)
    assert runs["status"].tolist() == ["published", "published"]
    last = runs["run_id"].iloc[-1]

    # One complete publication: every fact row is the last run's, and equal to a solo run's.
    together = facts(warehouse_url)
    for table, frame in together.items():
        assert set(frame["run_id"]) == {last}, table
    assert_same_facts(together, solo_facts)


def test_a_run_that_may_not_wait_fails_clearly(run, warehouse_url, monkeypatch):
    monkeypatch.setenv("KINERJA_RUN_LOCK_WAIT", "0")
    # Another run holds the agency-period.
    with (RunLock(warehouse_url, AGENCY, PERIOD),
          pytest.raises(RunInProgressError, match=f"of {AGENCY} {PERIOD}.* in progress")):
        run()
    runs = pipeline_runs(warehouse_url)
    assert runs["status"].tolist() == ["failed"]
    assert "RunInProgressError" in runs["message"].iloc[-1]
    assert all(frame.empty for frame in facts(warehouse_url).values())  # nothing published
