"""Many agencies in one run on a real Dask cluster (issue 13).

Three small generated agencies, one broken (its employees.csv lost its columns), run once one
after the other in this process and once through prefect-dask's DaskTaskRunner: the warehouse
of the two good agencies is the same row for row (run ids aside), and the broken one fails
clearly without stopping them. The second test starts `dask scheduler` and `dask worker` as
processes on 127.0.0.1 and runs two agencies against that address; the workers get the
warehouse from their own environment, never from the run's parameters.

Skipped without prefect-dask; failed under CI=true instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from kinerja.synthetic import generate_landing
from schemas.outputs import FACT_TABLES
from tasks.warehouse.database import make_engine

PERIOD = "2025-S1"
GOOD = ("3301", "3302")
BROKEN = "3303"
EMPLOYEES = 40
BIN = Path(sys.executable).parent


def _require_dask() -> None:
    try:
        import distributed  # noqa: F401
        import prefect_dask  # noqa: F401
    except ImportError as error:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"prefect-dask is not installed: {error} (CI=true: the Dask tests "
                        "must not be skipped)")
        pytest.skip(f"prefect-dask is not installed: {error}")


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _require_dask()
    root = tmp_path_factory.mktemp("agencies") / "landing"
    for seed, code in enumerate((*GOOD, BROKEN), start=1):
        generate_landing(root, code, EMPLOYEES, [PERIOD], seed=seed)
    # A source system exported the wrong file: the run of 3303 must fail, and only it.
    (root / BROKEN / PERIOD / "employees.csv").write_text("nomor,nama\n1,Budi\n",
                                                          encoding="utf-8")
    return root


def _config(folder: Path, landing: Path) -> Path:
    """A kinerja.toml without a warehouse: that comes from the environment of each process."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "kinerja.toml"
    path.write_text(f'landing = "{landing}"\nreports = "{folder / "reports"}"\n'
                    f'work = "{folder / "work"}"\n', encoding="utf-8")
    return path


def facts(url: str) -> dict[str, pd.DataFrame]:
    """Every fact table's rows without run ids, in a stable order."""
    engine = make_engine(url)
    out = {}
    try:
        with engine.connect() as conn:
            for table in FACT_TABLES:
                frame = pd.read_sql(sa.text(f"SELECT * FROM {table}"), conn)
                columns = sorted(c for c in frame.columns if c != "run_id")
                out[table] = frame[columns].sort_values(columns).reset_index(drop=True)
    finally:
        engine.dispose()
    return out


def runs(url: str) -> pd.DataFrame:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return pd.read_sql(sa.text(
                "SELECT agency_code, kind, status, message FROM pipeline_run "
                "ORDER BY agency_code, started_at"), conn)
    finally:
        engine.dispose()


def kinerja(*args: str, env: dict[str, str], cwd: Path,
            timeout: float = 400) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "kinerja"), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def _cli_env(config: Path) -> dict[str, str]:
    from prefect.settings import PREFECT_API_URL

    env = {k: v for k, v in os.environ.items() if not k.startswith("KINERJA_")}
    return {**env, "PREFECT_API_URL": PREFECT_API_URL.value(), "KINERJA_CONFIG": str(config),
            "COLUMNS": "250"}


def _assert_same_facts(sequential: dict[str, pd.DataFrame],
                       parallel: dict[str, pd.DataFrame]) -> None:
    for table in FACT_TABLES:
        assert set(sequential[table]["agency_code"]) == set(GOOD), table
        pd.testing.assert_frame_equal(parallel[table], sequential[table], obj=table)


def test_three_agencies_one_broken_on_a_local_cluster(prefect_harness, landing, tmp_path,
                                                      monkeypatch):
    """Sequential reference in this process, then `kinerja run --agency A,B,C --executor dask`
    (a LocalCluster of worker processes): the same facts, one clear failure, exit 1. Then
    `kinerja backfill` over the three."""
    from flows.agencies import AgenciesFailed, appraise_agencies, semester_job

    started = time.monotonic()
    reference_url = f"sqlite:///{tmp_path / 'sequential.db'}"
    monkeypatch.setenv("KINERJA_CONFIG", str(_config(tmp_path / "sequential", landing)))
    monkeypatch.setenv("KINERJA_WAREHOUSE_URL", reference_url)
    with pytest.raises(AgenciesFailed) as failed:
        appraise_agencies(agency_codes=[*GOOD, BROKEN], job=semester_job(PERIOD),
                          executor="local")
    sequential = {o["agency_code"]: o for o in failed.value.outcomes}
    assert [sequential[c]["status"] for c in (*GOOD, BROKEN)] == [
        "published", "published", "failed"]
    sequential_seconds = time.monotonic() - started

    dask_url = f"sqlite:///{tmp_path / 'dask.db'}"
    config = _config(tmp_path / "dask", landing)
    started = time.monotonic()
    done = kinerja("run", "--agency", ",".join((*GOOD, BROKEN)), "--period", PERIOD,
                   "--warehouse", dask_url, "--executor", "dask", env=_cli_env(config),
                   cwd=tmp_path)
    dask_seconds = time.monotonic() - started
    print(f"sequential {sequential_seconds:.1f} s, dask (CLI) {dask_seconds:.1f} s")

    assert done.returncode == 1, done.stdout + done.stderr
    # The outcome table: one row per agency, in the order asked.
    rows = [line for line in done.stdout.splitlines() if line.startswith("│")]
    assert [r.split("│")[1].strip() for r in rows] == [*GOOD, BROKEN], done.stdout
    assert [r.split("│")[2].strip() for r in rows] == ["published", "published", "failed"]
    assert "employees.csv" in rows[2] and "missing" in rows[2].lower(), rows[2]
    assert "2 of 3 agencies published, 1 failed" in done.stdout
    assert f"warehouse: {dask_url}" in done.stdout
    [error] = [line for line in done.stderr.splitlines() if line.startswith("kinerja: error:")]
    assert error.startswith(f"kinerja: error: {PERIOD}: 1 of 3 agencies failed: {BROKEN}: ")
    assert "LocalCluster" in done.stderr  # it really ran on Dask
    assert "temporary server" not in done.stderr  # PREFECT_API_URL names a server here

    _assert_same_facts(facts(reference_url), facts(dask_url))
    # --warehouse reached the workers through the environment: no flow run has it as a
    # parameter (Prefect stores and shows parameters; a URL may carry a password).
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        flow_runs = client.read_flow_runs()
    multi = [r for r in flow_runs if r.name == f"agencies-{PERIOD}"
             and r.parameters.get("executor") == "dask"]
    assert len(multi) == 1
    assert not [r.name for r in flow_runs if dask_url in json.dumps(r.parameters, default=str)]
    for url in (reference_url, dask_url):
        recorded = runs(url)
        assert recorded[["agency_code", "kind", "status"]].values.tolist() == [
            [GOOD[0], "manual", "published"], [GOOD[1], "manual", "published"],
            [BROKEN, "manual", "failed"]]
        assert "employees.csv" in recorded["message"].iloc[2]

    # `kinerja backfill` over the same agencies (locally): the two published ones are re-run
    # as backfills and publish the same facts again; 3303 has nothing published to backfill.
    monkeypatch.delenv("KINERJA_WAREHOUSE_URL")
    done = kinerja("backfill", "--agency", ",".join((*GOOD, BROKEN)), "--from", PERIOD,
                   "--warehouse", reference_url, "--executor", "local",
                   env=_cli_env(tmp_path / "sequential" / "kinerja.toml"), cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    rows = [line.split("│") for line in done.stdout.splitlines() if line.startswith("│")]
    assert [(r[1].strip(), r[2].strip(), r[3].strip()) for r in rows] == [
        (GOOD[0], "published", PERIOD), (GOOD[1], "published", PERIOD), (BROKEN, "failed", "-")]
    assert "no published period" in rows[2][5]
    assert f"backfill from {PERIOD}: 3 agencies (local)" in done.stdout
    _assert_same_facts(facts(dask_url), facts(reference_url))
    assert runs(reference_url)[["agency_code", "kind", "status"]].values.tolist() == [
        [GOOD[0], "manual", "published"], [GOOD[0], "backfill", "published"],
        [GOOD[1], "manual", "published"], [GOOD[1], "backfill", "published"],
        [BROKEN, "manual", "failed"]]


def _start(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen([str(BIN / "dask"), *args], stdout=out,
                                stderr=subprocess.STDOUT, env=env, start_new_session=True)


def _wait_for(log: Path, text: str, process: subprocess.Popen[bytes], seconds: float) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        content = log.read_text(errors="replace")
        if text in content:
            return content
        if process.poll() is not None:
            raise AssertionError(f"{process.args} exited: {content}")
        time.sleep(0.3)
    raise AssertionError(f"no {text!r} within {seconds} s: {log.read_text(errors='replace')}")


def test_two_agencies_on_a_dask_scheduler_and_worker(prefect_harness, landing, tmp_path):
    """`dask scheduler` and `dask worker` processes on 127.0.0.1; the CLI runs two agencies on
    that address. The warehouse URL reaches the worker through its environment only."""
    from tests.prefect_server import free_port, stop

    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    config = _config(tmp_path / "cluster", landing)
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    base = {k: v for k, v in os.environ.items() if not k.startswith("KINERJA_")}
    worker_env = {**base, "KINERJA_CONFIG": str(config), "KINERJA_WAREHOUSE_URL": url}
    scheduler = _start(["scheduler", "--host", "127.0.0.1", "--port", str(port),
                        "--dashboard-address", ":0", "--no-show"],
                       tmp_path / "scheduler.log", base)
    worker = None
    try:
        _wait_for(tmp_path / "scheduler.log", "Scheduler at", scheduler, 60)
        worker = _start(["worker", address, "--nworkers", "2", "--nthreads", "1",
                         "--host", "127.0.0.1", "--dashboard-address", ":0"],
                        tmp_path / "worker.log", worker_env)
        _wait_for(tmp_path / "worker.log", "Registered to", worker, 90)

        done = kinerja("run", "--agency", ",".join(GOOD), "--period", PERIOD,
                       "--warehouse", url, "--executor", "dask", "--dask-address", address,
                       env=_cli_env(config), cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"Connecting to an existing Dask cluster at {address}" in done.stderr
        assert "2 of 2 agencies published, 0 failed" in done.stdout
        # The worker ran them: its process logged both agencies' runs.
        worker_log = (tmp_path / "worker.log").read_text(errors="replace")
        for code in GOOD:
            assert f"{code} {PERIOD} into {url}" in worker_log, worker_log[-3000:]
    finally:
        if worker is not None:
            stop(worker)
        stop(scheduler)
    recorded = runs(url)
    assert recorded[["agency_code", "status"]].values.tolist() == [
        [GOOD[0], "published"], [GOOD[1], "published"]]
    assert all(set(frame["agency_code"]) == set(GOOD) for frame in facts(url).values())


def test_agencies_on_a_local_cluster_with_no_prefect_server_configured(landing, tmp_path):
    """The first command a data engineer tries: no PREFECT_API_URL, no cluster. The command
    starts Prefect's temporary server and a LocalCluster; its workers report to that server
    (its address travels with each task) and both agencies publish; the log says once that
    the temporary server's SQLite database makes agencies running at once wait now and then."""
    from flows.agencies import TEMPORARY_SERVER_NOTE

    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    config = _config(tmp_path / "default", landing)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("KINERJA_", "PREFECT_"))}
    # Prefect's own folder for its temporary server's database, not the user's ~/.prefect.
    env.update(KINERJA_CONFIG=str(config), PREFECT_HOME=str(tmp_path / "prefect-home"),
               COLUMNS="250")
    done = kinerja("run", "--agency", ",".join(GOOD), "--period", PERIOD, "--warehouse", url,
                   "--executor", "dask", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 of 2 agencies published, 0 failed" in done.stdout
    assert "LocalCluster" in done.stderr
    assert done.stderr.count(TEMPORARY_SERVER_NOTE) == 1, done.stderr[-3000:]
    assert runs(url)[["agency_code", "status"]].values.tolist() == [
        [GOOD[0], "published"], [GOOD[1], "published"]]


def test_sqlite_publishers_in_two_processes_queue(tmp_path):
    """Agencies published by two worker processes into one SQLite file: the second writer
    waits for the first (BEGIN IMMEDIATE, busy timeout) instead of failing halfway."""
    from tasks.warehouse.database import write_transaction

    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    engine = make_engine(url)
    with write_transaction(engine) as conn:
        conn.exec_driver_sql("CREATE TABLE published (agency_code TEXT)")
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\n"
         "from tasks.warehouse.database import make_engine, write_transaction\n"
         f"engine = make_engine({url!r})\n"
         "with write_transaction(engine) as conn:\n"
         "    conn.exec_driver_sql(\"INSERT INTO published VALUES ('3301')\")\n"
         "    print('holding', flush=True)\n"
         "    time.sleep(2)\n"],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2])
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        started = time.monotonic()
        with write_transaction(engine) as conn:
            waited = time.monotonic() - started
            conn.exec_driver_sql("INSERT INTO published VALUES ('3302')")
        assert holder.wait(timeout=30) == 0
    finally:
        if holder.poll() is None:
            holder.kill()
    with engine.connect() as conn:
        rows = [r[0] for r in conn.exec_driver_sql("SELECT agency_code FROM published "
                                                   "ORDER BY rowid")]
    engine.dispose()
    assert waited > 1.0, waited  # it queued behind the holder's transaction
    assert rows == ["3301", "3302"]


def _worker_state() -> dict:
    """Run on a worker: what its process was started with."""
    import gc

    import dask
    import pyarrow as pa

    gc.collect()
    return {"environ": {k: os.environ.get(k) for k in ("MALLOC_ARENA_MAX",
                                                       "ARROW_DEFAULT_MEMORY_POOL")},
            "arrow_pool": pa.default_memory_pool().backend_name,
            "profiler": dask.config.get("distributed.worker.profile.enabled"),
            "frozen": gc.get_freeze_count(), "collected_objects": len(gc.get_objects()),
            "preloaded": "tasks.reporting.report" in sys.modules}


def test_a_local_cluster_worker_gets_kinerjas_environment_and_settings():
    """The workers of the LocalCluster `kinerja run --executor dask` starts: one malloc arena,
    Arrow on the C library's malloc, no Dask profiler, and the preloaded pipeline out of the
    garbage collector's reach (a full collection walks only what the runs created)."""
    _require_dask()
    from distributed import Client, LocalCluster

    from flows.agencies import agency_scheduling, local_cluster_kwargs, worker_environ

    with worker_environ(), agency_scheduling(), \
            LocalCluster(**local_cluster_kwargs(1)) as cluster, Client(cluster) as client:
        (state,) = client.run(_worker_state).values()
    assert state["environ"] == {"MALLOC_ARENA_MAX": "1", "ARROW_DEFAULT_MEMORY_POOL": "system"}
    assert state["arrow_pool"] == "system"
    assert state["profiler"] is False
    assert state["preloaded"]
    # The preload leaves about 450,000 objects; frozen, a collection sees a few thousand.
    assert state["frozen"] > 300_000
    assert state["collected_objects"] < 50_000
