"""How runs end: interrupted by SIGINT / SIGTERM, killed, or left behind with a lost lock.

- `kinerja run` stopped by Ctrl-C (SIGINT to its process group, as a terminal sends it) inside
  the publishing transaction, and by SIGTERM before publishing: exit 130 / 143 with one line and
  no traceback, the run `failed` "interrupted (...)", nothing published, its work folder gone,
  and its temporary Prefect server (tethered to the CLI, in its own session) stopped.
- The tether: a server whose CLI is SIGKILLed dies with it.
- A run still on record as `running` whose process is gone is marked `failed` ("abandoned") by
  the next run, which removes its work folder, and is never named as the run holding the lock.
- A run whose PostgreSQL lock connection was terminated fails in its publishing transaction
  instead of publishing, while the run that took the lock meanwhile publishes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from flows.semester import semester_appraisal
from kinerja import faults, interrupts
from kinerja.synthetic import generate_landing
from schemas.outputs import FACT_TABLES
from tasks.warehouse import run_ledger
from tasks.warehouse.database import ensure_schema, make_engine
from tasks.warehouse.run_lock import RunInProgressError, RunLock, RunLockLost, check_held, lock_key
from tests.reliability import _forked_runs

AGENCY = "3374"
PERIOD = "2025-S1"
KINERJA = str(Path(sys.executable).parent / "kinerja")
# Undoes an inherited "ignore SIGINT" (a background job of a non-interactive shell, which is how
# test suites are often started) before the CLI starts, as a terminal's foreground job has it.
SIGINT_DEFAULT = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                  "os.execv(sys.argv[1], sys.argv[1:])")


@pytest.fixture(scope="module")
def landings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    roots = {}
    for version, seed in (("v1", 21), ("v2", 22)):
        root = tmp_path_factory.mktemp(f"landing_{version}")
        generate_landing(root, AGENCY, 20, [PERIOD], seed=seed, bad_rows=0.0)
        roots[version] = root
    return roots


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def reached(marker: Path, point: str) -> bool:
    return marker.is_file() and any(line.split()[0] == point
                                    for line in marker.read_text().splitlines())


def alive(pid: int) -> bool:
    """Whether the process exists and is not a zombie (dead, waiting for its parent to reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def tethered_children(parent: int) -> list[int]:
    """Processes started through kinerja.tether by `parent`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"kinerja.tether" in argv and argv[argv.index(b"kinerja.tether") + 1] == \
                str(parent).encode():
            found.append(int(entry.name))
    return found


def table_rows(url: str, sql: str) -> pd.DataFrame:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return pd.read_sql(sa.text(sql), conn)
    finally:
        engine.dispose()


def fact_rows(url: str) -> dict[str, int]:
    return {t: int(table_rows(url, f"SELECT count(*) AS n FROM {t}")["n"].iloc[0])
            for t in FACT_TABLES}


# Interrupting the CLI ------------------------------------------------------------------------


def prefect_home_like_the_harness(home: Path) -> Path:
    """A PREFECT_HOME whose database is a copy of the session harness's, already migrated: a
    temporary server on a new database spends most of its start creating the schema."""
    import sqlite3

    from prefect.settings import PREFECT_SERVER_DATABASE_CONNECTION_URL

    source = sa.make_url(PREFECT_SERVER_DATABASE_CONNECTION_URL.value()).database
    home.mkdir(parents=True)
    with sqlite3.connect(source) as original, sqlite3.connect(home / "prefect.db") as copy:
        original.backup(copy)
    return home


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigint_and_sigterm_stop_a_cli_run_cleanly(prefect_harness: None,
                                                   landings: dict[str, Path],
                                                   tmp_path: Path) -> None:
    """Both CLIs run at once (each starts its own temporary Prefect server, the slow part)."""
    cases = {
        # Ctrl-C in the middle of the publishing transaction; SIGTERM just before publishing.
        signal.SIGINT: "publish.facts",
        signal.SIGTERM: "run.scored",
    }
    started: dict[signal.Signals, dict[str, Any]] = {}
    for signum, point in cases.items():
        folder = tmp_path / signum.name
        folder.mkdir()
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PREFECT_API", "KINERJA_"))}
        env.update({
            # Its own temporary server's database (nobody else's server writes to it).
            "PREFECT_HOME": str(prefect_home_like_the_harness(folder / "prefect")),
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
            "KINERJA_WORK": "work", "KINERJA_RUN_LOCK_WAIT": "0",
            faults.ENV: f"{point}:pause", faults.MARKER_ENV: str(folder / "faults.log"),
        })
        with (folder / "out.txt").open("w") as out, (folder / "err.txt").open("w") as err:
            process = subprocess.Popen(
                [sys.executable, "-c", SIGINT_DEFAULT, KINERJA, "run", "--agency", AGENCY,
                 "--period", PERIOD, "--landing", str(landings["v1"])],
                cwd=folder, env=env, stdout=out, stderr=err, start_new_session=True)
        started[signum] = {"process": process, "folder": folder, "point": point}
    try:
        for signum, case in started.items():
            process, folder, point = case["process"], case["folder"], case["point"]

            def at_point(process: subprocess.Popen = process, folder: Path = folder,
                         point: str = point) -> bool:
                return reached(folder / "faults.log", point) or process.poll() is not None

            wait_for(at_point, 300, f"the {signum.name} run to reach {point}")
            assert process.poll() is None, (folder / "err.txt").read_text()[-3000:]
            (server,) = tethered_children(process.pid)
            case["server"] = server
            # Its own session: a terminal's Ctrl-C reaches the CLI, not the server it still needs.
            assert os.getsid(server) != os.getsid(process.pid)
            if signum == signal.SIGINT:
                os.killpg(process.pid, signum)  # the whole foreground group, as a terminal does
            else:
                process.send_signal(signum)
            case["signalled"] = time.monotonic()
        for signum, case in started.items():
            process, folder = case["process"], case["folder"]
            process.wait(timeout=120)
            elapsed = time.monotonic() - case["signalled"]
            out, err = ((folder / name).read_text() for name in ("out.txt", "err.txt"))

            assert process.returncode == 128 + signum, (process.returncode, err[-3000:])
            assert elapsed < 60, elapsed  # promptly: no retrying a server that is gone
            assert err.strip().splitlines()[-1] == f"kinerja: interrupted ({signum.name})"
            assert "Traceback" not in out + err
            assert not alive(case["server"]), "the temporary Prefect server outlived the CLI"
            assert tethered_children(process.pid) == []

            url = f"sqlite:///{folder / 'warehouse.db'}"
            runs = table_rows(url, "SELECT run_id, status, message FROM pipeline_run")
            assert runs[["status", "message"]].values.tolist() == [
                ["failed", f"interrupted ({signum.name})"]]
            assert fact_rows(url) == dict.fromkeys(FACT_TABLES, 0)  # nothing published
            assert not (folder / "work" / runs["run_id"].iloc[0]).exists()
    finally:
        for case in started.values():
            if case["process"].poll() is None:
                case["process"].kill()
                case["process"].wait()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_tethered_process_dies_with_its_sigkilled_parent(tmp_path: Path) -> None:
    """What keeps the CLI's temporary Prefect server from outliving a SIGKILLed CLI."""
    parent_code = (
        "import os, subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-m', 'kinerja.tether', str(os.getpid()),"
        " '-m', 'http.server', '0'], start_new_session=True, stdout=subprocess.DEVNULL,"
        " stderr=subprocess.DEVNULL)\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", parent_code], stdout=subprocess.PIPE,
                              text=True, cwd=tmp_path)
    child = int(parent.stdout.readline())  # type: ignore[union-attr]
    wait_for(lambda: tethered_children(parent.pid) == [child], 30, "the tethered child")
    time.sleep(0.5)  # running, not just started
    assert alive(child)
    parent.kill()
    parent.wait()
    wait_for(lambda: not alive(child), 5, "the child to die with its parent")


def test_an_interrupt_is_recorded_as_such() -> None:
    from prefect.exceptions import TerminationSignal

    assert interrupts.interrupted_by(interrupts.Interrupted(signal.SIGTERM)) == signal.SIGTERM
    assert interrupts.interrupted_by(KeyboardInterrupt()) == signal.SIGINT
    assert interrupts.interrupted_by(TerminationSignal(signal.SIGTERM)) == signal.SIGTERM
    assert interrupts.interrupted_by(RuntimeError("boom")) is None
    assert interrupts.describe(signal.SIGINT) == "interrupted (SIGINT)"


# Abandoned runs ------------------------------------------------------------------------------


def test_a_stale_running_run_is_abandoned_and_never_named_as_the_lock_holder(
    prefect_harness: None, landings: dict[str, Path], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    work = tmp_path / "work"
    engine = make_engine(url)
    ensure_schema(engine)
    # A run killed earlier: on record as running, its work folder left behind.
    run_ledger.start_run(engine, run_id="killed-earlier", agency_code=AGENCY, period_id=PERIOD,
                      flow_run_id=None, kind="manual", policy_name=None, policy_hash=None,
                      code_version=None)
    engine.dispose()
    (work / "killed-earlier" / "facts").mkdir(parents=True)

    # The next run, held at a failpoint once it has its lock and is on record.
    marker, resume = tmp_path / "faults.log", tmp_path / "resume"
    forked = _forked_runs.shared()
    holder = forked.start(tmp_path / "holder.log", {
        "KINERJA_WORK": str(work), faults.ENV: "run.locked:pause",
        faults.MARKER_ENV: str(marker), faults.RESUME_ENV: str(resume),
    }, agency_code=AGENCY, period_id=PERIOD, landing=str(landings["v1"]), warehouse_url=url,
        reports=str(tmp_path / "reports"))
    try:
        wait_for(lambda: reached(marker, "run.locked"), 120, "the holder to take the lock")
        runs = table_rows(url, "SELECT run_id, status, message FROM pipeline_run").set_index(
            "run_id")
        assert runs.at["killed-earlier", "status"] == "failed"
        assert runs.at["killed-earlier", "message"].startswith("abandoned")
        assert not (work / "killed-earlier").exists()
        (holder_run,) = runs.index[runs["status"] == "running"]

        # A third run may not wait: it names the run that holds the lock, not the dead one.
        monkeypatch.setenv("KINERJA_RUN_LOCK_WAIT", "0")
        monkeypatch.setenv("KINERJA_WORK", str(work))
        with pytest.raises(RunInProgressError) as refused:
            semester_appraisal(agency_code=AGENCY, period_id=PERIOD,
                               landing=str(landings["v1"]), warehouse_url=url,
                               reports=str(tmp_path / "reports"))
        assert f"run {holder_run} of {AGENCY} {PERIOD}" in str(refused.value)
        assert "killed-earlier" not in str(refused.value)
    finally:
        os.kill(holder, signal.SIGKILL)
        assert forked.wait(holder) == -signal.SIGKILL
    runs = table_rows(url, "SELECT run_id, status, message FROM pipeline_run")
    refused_row = runs[~runs["run_id"].isin(["killed-earlier", holder_run])]
    assert refused_row["status"].tolist() == ["failed"]
    assert refused_row["message"].iloc[0].startswith("RunInProgressError")


# A lost run lock -----------------------------------------------------------------------------


def _lock_backend(url: str) -> int:
    """The PostgreSQL backend that holds the agency-period's run lock."""
    hashed = table_rows(url, f"SELECT hashtextextended('{lock_key(AGENCY, PERIOD)}', 0) AS h")
    unsigned = int(hashed["h"].iloc[0]) & 0xFFFF_FFFF_FFFF_FFFF
    holders = table_rows(url, (
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        f"AND classid::bigint = {unsigned >> 32} AND objid::bigint = {unsigned & 0xFFFF_FFFF}"))
    (pid,) = holders["pid"]
    return int(pid)


@pytest.mark.postgres
def test_a_run_that_lost_its_postgres_lock_fails_instead_of_publishing(
    prefect_harness: None, landings: dict[str, Path], tmp_path: Path, postgres_url: str,
) -> None:
    url = postgres_url
    marker, resume = tmp_path / "faults.log", tmp_path / "resume"
    forked = _forked_runs.shared()
    env = {"KINERJA_WORK": str(tmp_path / "work"), faults.MARKER_ENV: str(marker),
           faults.RESUME_ENV: str(resume)}

    def start(name: str, version: str, point: str) -> int:
        return forked.start(tmp_path / f"{name}.log", {**env, faults.ENV: point},
                            agency_code=AGENCY, period_id=PERIOD,
                            landing=str(landings[version]), warehouse_url=url,
                            reports=str(tmp_path / "reports"))

    def waiting_to_publish() -> bool:
        return table_rows(url, (
            "SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database() "
            "AND query LIKE '%pg_advisory_xact_lock%'"))["n"].iloc[0] == 1

    # The first run, held inside its publishing transaction, its facts already replaced there.
    first = start("first", "v1", "publish.facts:pause")
    second = None
    statuses: dict[str, int] = {}
    try:
        wait_for(lambda: reached(marker, "publish.facts"), 120, "the first run to publish")
        (first_run,) = table_rows(url, "SELECT run_id FROM pipeline_run")["run_id"]

        # An administrator (or a restart, or an idle timeout) ends its lock connection...
        lock_pid = _lock_backend(url)
        assert table_rows(url, f"SELECT pg_terminate_backend({lock_pid}) AS ok")["ok"].iloc[0]

        # ...a second run takes the lock, and waits to publish behind the first's transaction
        # (it stops once committed: its quality check and reports are not what is tested).
        second = start("second", "v2", "publish.committed")
        wait_for(waiting_to_publish, 120, "the second run to wait for the first's publication")
        resume.touch()
        statuses["first"] = forked.wait(first)
        statuses["second"] = forked.wait(second)
    finally:
        for name, pid in (("first", first), ("second", second)):
            if pid is not None and name not in statuses:
                os.kill(pid, signal.SIGKILL)
                forked.wait(pid)
    assert statuses == {"first": 1, "second": -signal.SIGKILL}, \
        (tmp_path / "first.log").read_text()[-3000:]

    runs = table_rows(url, "SELECT run_id, status, message FROM pipeline_run").set_index(
        "run_id")
    assert runs.at[first_run, "status"] == "failed"
    assert runs.at[first_run, "message"].startswith("RunLockLost: run lock"), \
        runs.at[first_run, "message"]
    (second_run,) = set(runs.index) - {first_run}
    assert runs.at[second_run, "status"] == "published"
    for table in FACT_TABLES:
        published = table_rows(url, f"SELECT DISTINCT run_id FROM {table}")["run_id"].tolist()
        assert published == [second_run], table


# The lock checks themselves ------------------------------------------------------------------


def test_a_replaced_sqlite_lock_file_is_a_lost_lock(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    engine = make_engine(url)
    with RunLock(url, AGENCY, PERIOD) as lock, engine.connect() as conn:
        token = lock.token()
        assert token is not None and token["kind"] == "file"
        check_held(conn, token)
        path = Path(token["path"])
        path.unlink()  # someone tidies the lock folder; the next run would lock a new file
        path.touch()
        with pytest.raises(RunLockLost, match="removed or replaced"):
            check_held(conn, token)
    engine.dispose()


@pytest.mark.postgres
def test_a_postgres_lock_is_checked_by_backend_not_just_by_key(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    try:
        with engine.connect() as conn:
            first = RunLock(postgres_url, AGENCY, PERIOD)
            first.acquire()
            token = first.token()
            check_held(conn, token)
            first.release()
            with pytest.raises(RunLockLost, match="was lost"):
                check_held(conn, token)  # released: nobody holds it
            # Held again, by another connection: still not ours.
            with RunLock(postgres_url, AGENCY, PERIOD), pytest.raises(RunLockLost):
                check_held(conn, token)
    finally:
        engine.dispose()


@pytest.mark.mariadb
def test_a_mysql_lock_whose_connection_was_killed_is_lost(mariadb_url: str) -> None:
    engine = sa.create_engine(mariadb_url)
    try:
        with RunLock(mariadb_url, AGENCY, PERIOD) as lock, engine.connect() as conn:
            token = lock.token()
            assert token is not None and token["kind"] == "mysql"
            check_held(conn, token)
            conn.execute(sa.text(f"KILL {token['connection_id']}"))
            time.sleep(0.2)
            with pytest.raises(RunLockLost, match="was lost"):
                check_held(conn, token)
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_the_postgres_lock_connection_does_not_idle_out(postgres_url: str) -> None:
    """A server that ends idle sessions (idle_session_timeout) must not end the lock's."""
    database = sa.make_url(postgres_url).database
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'ALTER DATABASE "{database}" SET idle_session_timeout = 1000'))
    admin.dispose()
    with RunLock(postgres_url, AGENCY, PERIOD) as lock:
        token = lock.token()
        time.sleep(2.5)  # the lock connection sits idle for longer than the server allows
        engine = make_engine(postgres_url)
        with engine.connect() as conn:
            check_held(conn, token)
        engine.dispose()


EARLY_SERVER = """
import os, sys, urllib.request
from kinerja import interrupts
interrupts.start_server_early()
assert "prefect" not in sys.modules, "started before Prefect is imported"
url = os.environ["PREFECT_API_URL"]
server = interrupts._start_temporary_server()
with urllib.request.urlopen(url + "/health") as answer:
    status = answer.status
pid = server.process.pid
server.stop()
print(status, pid, "PREFECT_API_URL" in os.environ, "prefect.server.api.server" in sys.modules)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_server_started_early_answers_is_tethered_and_stops(prefect_harness: None,
                                                                tmp_path: Path) -> None:
    """`kinerja run` starts Prefect's temporary server before importing its flows: the server
    answers once `guard` waits for it, this process never imports Prefect's server code, and
    stopping it ends the process and takes back PREFECT_API_URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API", "KINERJA_"))}
    env.update({"PREFECT_HOME": str(prefect_home_like_the_harness(tmp_path / "prefect")),
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"})
    done = subprocess.run([sys.executable, "-c", EARLY_SERVER], env=env, capture_output=True,
                          text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    status, pid, api_url_left, server_imported = done.stdout.split()
    assert (status, api_url_left, server_imported) == ("200", "False", "False")
    # The python -c process has exited, so its server (stopped, then reaped) is gone.
    assert not Path(f"/proc/{pid}").exists()


@pytest.mark.parametrize("config", [
    ("prefect.toml", '[api]\nurl = "http://prefect.example:4200/api"\n'),
    ("pyproject.toml", '[tool.prefect.api]\nurl = "http://prefect.example:4200/api"\n'),
    (".env", "PREFECT_API_URL=http://prefect.example:4200/api\n"),
])
def test_no_early_server_where_prefect_is_configured_in_the_folder(tmp_path: Path,
                                                                   config: tuple[str, str]):
    """A Prefect API configured in the working folder is Prefect's to use: kinerja starts no
    temporary server of its own and leaves PREFECT_API_URL alone."""
    name, text = config
    (tmp_path / name).write_text(text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API", "KINERJA_"))}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    code = ("import os; from kinerja import interrupts; interrupts.start_server_early(); "
            "print(interrupts._early is None, 'PREFECT_API_URL' in os.environ)")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "False"]
