"""A run SIGKILLed at every failpoint of kinerja.faults, inside and outside the publishing
transaction: the warehouse always holds one whole publication (the one before the run, or the
run's own once it committed), and the next run marks the killed runs failed ("abandoned"),
removes their work folders and publishes.

Consecutive runs alternate between two landing zones whose every fact table differs, so that a
mix of the two publications cannot go unnoticed, and each chain starts with a run killed right
after its commit: its publication is the one every later killed run must leave in place. Every
run is its own process (tests/reliability/_forked_runs.py) on the session's Prefect harness:

- points inside the publishing transaction and right after its commit, on SQLite and
  PostgreSQL: the flow's publishing step alone (run lock, run row, `steps.publish` on a staged
  work folder), which is all the flow does there, in a fraction of a whole run's time;
- points outside it (SQLite; they write nothing but the run's own rows, alike on both) and the
  clean run that ends each chain: the whole `semester_appraisal` flow.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from kinerja import faults
from kinerja.synthetic import generate_landing
from schemas.outputs import FACT_TABLES
from tasks.warehouse.database import ensure_schema, make_engine
from tests.reliability import _forked_runs
from tests.reliability._forked_runs import ForkedRuns

AGENCY = "3374"
PERIOD = "2025-S1"
# Once the publishing transaction has committed, the run's publication is the live one.
AFTER_COMMIT = ("publish.committed", "run.reported")
IN_TRANSACTION = tuple(p for p in faults.POINTS
                       if p.startswith("publish.") and p not in AFTER_COMMIT)
OUTSIDE = tuple(p for p in faults.POINTS if p.startswith("run."))
# (point, what runs): the chain of killed runs per warehouse.
CHAINS = {
    "sqlite": (("publish.committed", "publish"), *((p, "publish") for p in IN_TRANSACTION),
               *((p, "flow") for p in OUTSIDE)),
    "postgresql": (("publish.committed", "publish"),
                   *((p, "publish") for p in IN_TRANSACTION)),
}


def test_the_chains_cover_every_failpoint() -> None:
    assert {p for p, _ in CHAINS["sqlite"]} == set(faults.POINTS)
    assert {p for p, _ in CHAINS["postgresql"]} == {"publish.committed", *IN_TRANSACTION}
    assert len(faults.POINTS) == 11


def test_a_failpoint_acts_only_where_it_is_named(monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    marker = tmp_path / "faults.log"
    monkeypatch.setenv(faults.MARKER_ENV, str(marker))
    monkeypatch.delenv(faults.ENV, raising=False)
    faults.point("publish.begun")  # unset: nothing happens
    monkeypatch.setenv(faults.ENV, "publish.facts, publish.begun:raise")
    faults.point("publish.dimensions")  # not named: nothing happens
    assert not marker.exists()
    with pytest.raises(faults.FaultInjected, match="publish.begun"):
        faults.point("publish.begun")
    assert marker.read_text().split() == ["publish.begun", str(os.getpid())]


@pytest.fixture(scope="module")
def landings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two landing zones of the same agency and period that share no fact row."""
    roots = {}
    for version, seed in (("v1", 11), ("v2", 12)):
        root = tmp_path_factory.mktemp(f"landing_{version}")
        generate_landing(root, AGENCY, 30, [PERIOD], seed=seed, bad_rows=0.0)
        roots[version] = root
    return roots


@pytest.fixture(scope="module")
def forked(prefect_harness: None) -> ForkedRuns:
    return _forked_runs.shared()


def read_facts(url: str) -> dict[str, pd.DataFrame]:
    engine = make_engine(url)
    out = {}
    try:
        with engine.connect() as conn:
            for table in FACT_TABLES:
                frame = pd.read_sql(sa.text(f"SELECT * FROM {table}"), conn)
                columns = sorted(c for c in frame.columns if c != "run_id")
                out[table] = frame.sort_values(columns)[["run_id", *columns]].reset_index(
                    drop=True)
    finally:
        engine.dispose()
    return out


def pipeline_runs(url: str) -> pd.DataFrame:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return pd.read_sql(sa.text(
                "SELECT run_id, status, message FROM pipeline_run ORDER BY started_at"), conn
            ).set_index("run_id")
    finally:
        engine.dispose()


def assert_publication(url: str, expected: dict[str, pd.DataFrame], version: str) -> None:
    """The fact tables hold exactly one run's publication of `version`, and that run is the
    agency-period's last published run."""
    published = read_facts(url)
    for table in FACT_TABLES:
        pd.testing.assert_frame_equal(
            published[table].drop(columns="run_id"),
            expected[table].drop(columns="run_id"),
            check_dtype=False, obj=f"{table} (expected the {version} publication)")
    runs = pipeline_runs(url)
    last_published = runs.index[runs["status"] == "published"][-1]
    for table in FACT_TABLES:
        assert set(published[table]["run_id"]) == {last_published}, table


@pytest.fixture(scope="module")
def solo(forked: ForkedRuns, landings: dict[str, Path],
         tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Per landing zone, the publication of a run of its own and the work folder it staged
    (the run is stopped right after its commit, which keeps the folder and skips the quality
    check and reports, slower than the run itself)."""
    out = {}
    for version, root in landings.items():
        folder = tmp_path_factory.mktemp(f"solo_{version}")
        url = f"sqlite:///{folder / 'warehouse.db'}"
        status = forked.run(folder / "run.log", {"KINERJA_WORK": str(folder / "work"),
                                                 faults.ENV: "publish.committed"},
                            agency_code=AGENCY, period_id=PERIOD, landing=str(root),
                            warehouse_url=url, reports=str(folder / "reports"))
        assert status == -signal.SIGKILL, (folder / "run.log").read_text()
        (run_id,) = pipeline_runs(url).index
        out[version] = {"facts": read_facts(url), "work": folder / "work" / run_id}
    for table in FACT_TABLES:  # the two publications differ in every fact table
        assert not out["v1"]["facts"][table].drop(columns="run_id").equals(
            out["v2"]["facts"][table].drop(columns="run_id")), table
    return out


def test_a_run_killed_anywhere_leaves_one_publication_and_the_next_run_cleans_up(
    forked: ForkedRuns, landings: dict[str, Path], solo: dict[str, dict[str, Any]],
    warehouse_url: str, tmp_path: Path,
) -> None:
    work = tmp_path / "work"
    marker = tmp_path / "faults.log"
    log = tmp_path / "runs.log"
    env = {"KINERJA_WORK": str(work), faults.MARKER_ENV: str(marker)}
    engine = make_engine(warehouse_url)
    ensure_schema(engine)  # as the first run would: an empty warehouse to watch
    engine.dispose()

    def run(version: str, point: str | None, target: str = "flow") -> int:
        extra = {**env, faults.ENV: point} if point else env
        if target == "publish":
            run_id = f"direct-{point}"
            return forked.run(log, extra, target="publish", warehouse_url=warehouse_url,
                              run_id=run_id, agency_code=AGENCY, period_id=PERIOD,
                              work_root=str(solo[version]["work"]))
        return forked.run(log, extra, agency_code=AGENCY, period_id=PERIOD,
                          landing=str(landings[version]), warehouse_url=warehouse_url,
                          reports=str(tmp_path / "reports"))

    def assert_cleaned_up(killed: list[tuple[str, str]]) -> None:
        """After a whole run: every killed run before it is closed, and its folder gone."""
        runs = pipeline_runs(warehouse_url)
        for run_id, point in killed:
            if point in AFTER_COMMIT:
                assert runs.at[run_id, "status"] == "published", point
            else:
                assert runs.at[run_id, "status"] == "failed", point
                assert runs.at[run_id, "message"].startswith("abandoned"), point
            assert not (work / run_id).exists(), point

    published: str | None = None
    killed: list[tuple[str, str]] = []  # (run_id, point) of every killed run, in order
    for point, target in CHAINS[sa.make_url(warehouse_url).get_backend_name()]:
        version = "v2" if published == "v1" else "v1"
        before = set(pipeline_runs(warehouse_url).index)
        status = run(version, point, target)
        assert status == -signal.SIGKILL, f"{point}: exit status {status}\n" + \
            log.read_text()[-3000:]
        assert marker.read_text().splitlines()[-1].split()[0] == point

        if point in AFTER_COMMIT:
            published = version
        # Old or new, never a mix.
        assert published is not None, "each chain starts with a publication"
        assert_publication(warehouse_url, solo[published]["facts"], published)
        runs = pipeline_runs(warehouse_url)
        (run_id,) = set(runs.index) - before
        assert runs.at[run_id, "status"] == ("published" if point in AFTER_COMMIT else "running")
        if target == "flow":
            assert_cleaned_up(killed)
            if point != "run.locked":  # nothing staged yet at run.locked
                assert (work / run_id).is_dir(), point
        killed.append((run_id, point))

    # A clean re-run publishes and leaves nothing behind.
    version = "v2" if published == "v1" else "v1"
    assert run(version, None) == 0, log.read_text()[-3000:]
    assert_publication(warehouse_url, solo[version]["facts"], version)
    assert_cleaned_up(killed)
    runs = pipeline_runs(warehouse_url)
    assert "running" not in set(runs["status"])
    assert not work.exists() or not any(work.iterdir()), sorted(work.iterdir())
