"""A real Prefect server for the tests that need its services (scheduler, triggers, actions):
`prefect server start` on a free local port with its own PREFECT_HOME, and the `prefect` command
line talking to it. tests/conftest.py starts one per session (`prefect_server_env`), shared by the
deployment and the observability tests.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PREFECT = str(Path(sys.executable).with_name("prefect"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a process this test started, and its children (it leads its own session)."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


RETRYABLE_LOGGED = "Encountered retryable exception in request"


@contextmanager
def prefect_server(home: Path, database_url: str | None = None) -> Iterator[dict[str, str]]:
    """A Prefect server on a free local port; yields the environment that talks to it.

    Its database is SQLite in `home` (Prefect's default), or the PostgreSQL database at
    `database_url` (`postgresql+asyncpg://...`). The server logs every request it answered 503
    as retryable (`retryable_answers`; on SQLite, its database locked by another writer): the
    client waits about 2 s, then 4, 8, before it asks again (bench/README.md, "Session 10")."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")},
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_UI_ENABLED": "false",
        # The default plans 100 days ahead: one run of a twice-yearly schedule. Plan a year so
        # that both of the next two runs exist.
        "PREFECT_SERVER_SERVICES_SCHEDULER_MAX_SCHEDULED_TIME": "P400D",
    }
    server_env = {**env, "PREFECT_SERVER_LOG_RETRYABLE_ERRORS": "true"}
    if database_url:
        server_env["PREFECT_API_DATABASE_CONNECTION_URL"] = database_url
    log = (home / "server.log").open("wb")
    server = subprocess.Popen(
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=server_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        import httpx

        deadline = time.monotonic() + 90
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"prefect server exited: {(home / 'server.log').read_text()}")
            try:
                if httpx.get(f"{env['PREFECT_API_URL']}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("prefect server did not answer /api/health within 90 s")
            time.sleep(0.5)
        yield env
    finally:
        stop(server)
        log.close()


def retryable_answers(home: Path) -> int:
    """How many requests the server at `home` answered 503 (retryable) so far."""
    try:
        return (home / "server.log").read_text(errors="replace").count(RETRYABLE_LOGGED)
    except OSError:
        return 0


def prefect_cli(env: dict[str, str], *args: str, timeout: float = 120,
                cwd: Path = REPO) -> str:
    done = subprocess.run([PREFECT, "--no-prompt", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"prefect {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def run_worker_once(env: dict[str, str], config: Path, cwd: Path, log_path: Path,
                    timeout: float = 150) -> str:
    """`prefect worker start --run-once` on the `kinerja` pool with KINERJA_CONFIG=`config`:
    serves the flow runs due now and returns when they have finished; returns its log."""
    worker_env = {**env, "KINERJA_CONFIG": str(config)}
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [PREFECT, "worker", "start", "--pool", "kinerja", "--type", "process",
             "--run-once"],
            env=worker_env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            worker.wait(timeout=timeout)
        finally:
            stop(worker)
    return log_path.read_text(errors="replace")
