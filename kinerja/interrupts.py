"""How a run ends when it is told to stop (Ctrl-C, SIGTERM from systemd, Docker or a scheduler).

`guard()` wraps every CLI command that runs flows:

- SIGINT and SIGTERM raise `Interrupted` in the main thread, where the flow runs, so the flow
  stops where it is: a publication in progress rolls back, and `semester_appraisal` records the
  run as failed with the message "interrupted (SIGINT)" / "interrupted (SIGTERM)" and releases
  its lock. (During a flow run Prefect turns SIGTERM into its own `TerminationSignal` first; the
  flow treats both alike, see `interrupted_by`.) A SIGINT ignored by the parent (a background
  job of a shell) stays ignored, as Python itself does.
- The CLI then prints one line, `kinerja: interrupted (SIGINT)`, and exits with 128 + the
  signal's number (130, 143), without a traceback.
- Cleanup is bounded: if it has not finished `KINERJA_INTERRUPT_GRACE_SECONDS` (default 30)
  after the signal, or when a second signal arrives, the CLI stops the Prefect server and exits
  at once; the run's row then stays `running` until the next run of the agency-period marks it
  `failed` ("abandoned").
- Prefect's temporary server (started when no PREFECT_API_URL is configured) is started here,
  from the main thread, in its own session (a terminal's Ctrl-C reaches the CLI only, which
  still needs the server to record the interruption) and tied to the CLI's life
  (kinerja/tether.py): it is stopped when the command ends however it ends, and on Linux the
  kernel kills it if the CLI is SIGKILLed. Elsewhere a watcher in the server notices within a
  second that its parent is gone. `run`, `backfill` and `demo` start it early
  (`start_server_early`, before they import Prefect and their flows), so its start overlaps
  those imports; `guard` then waits until it answers.
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from types import FrameType
from typing import Any

GRACE_ENV = "KINERJA_INTERRUPT_GRACE_SECONDS"
DEFAULT_GRACE_S = 30.0
_SIGNALS = tuple(s for s in (signal.SIGINT, getattr(signal, "SIGTERM", None)) if s is not None)


class Interrupted(KeyboardInterrupt):
    """The process received SIGINT or SIGTERM (`signum`) while a CLI command was running."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def interrupted_by(error: BaseException) -> int | None:
    """The signal that `error` stands for, or None when it is an ordinary failure."""
    if isinstance(error, Interrupted):
        return error.signum
    if isinstance(error, KeyboardInterrupt):
        return int(signal.SIGINT)
    from prefect.exceptions import TerminationSignal

    if isinstance(error, TerminationSignal):
        return int(error.signal)
    return None


def describe(signum: int) -> str:
    """The run's failure message for an interruption: `interrupted (SIGTERM)`."""
    return f"interrupted ({signal.Signals(signum).name})"


def note(signum: int) -> None:
    """Tell the CLI's guard, if any, that the run is handling an interruption: the grace
    period starts now even when the signal reached Prefect's handler instead of ours."""
    guard_ = _active
    if guard_ is not None:
        guard_.begin(signum)


class _Guard:
    def __init__(self) -> None:
        self.signum: int | None = None
        self.delivered = False
        self.server: Any = None
        self.previous: dict[int, Any] = {}
        self.timer: threading.Timer | None = None
        self.lock = threading.Lock()

    def install(self) -> None:
        for signum in _SIGNALS:
            current = signal.getsignal(signum)
            if signum == signal.SIGINT and current == signal.SIG_IGN:
                continue
            self.previous[signum] = current
            signal.signal(signum, self._handle)

    def restore(self) -> None:
        for signum, handler in self.previous.items():
            with suppress(ValueError, TypeError):
                signal.signal(signum, handler)
        self.previous.clear()
        if self.timer is not None:
            self.timer.cancel()

    def begin(self, signum: int) -> None:
        with self.lock:
            if self.signum is None:
                self.signum = signum
            if self.timer is None:
                grace = float(os.environ.get(GRACE_ENV, DEFAULT_GRACE_S))
                self.timer = threading.Timer(grace, self.force_exit)
                self.timer.daemon = True
                self.timer.start()

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.delivered:
            self.force_exit()  # a second signal: the user does not want to wait
        self.delivered = True
        self.begin(signum)
        raise Interrupted(signum)

    def force_exit(self) -> None:
        signum = self.signum or int(signal.SIGINT)
        _say(f"kinerja: {describe(signum)}; exiting without waiting for the run's clean-up "
             "(the next run of the agency-period marks it failed)")
        self.stop_server(drain=False)
        os._exit(128 + signum)

    def stop_server(self, drain: bool) -> None:
        server, self.server = self.server, None
        if server is None:
            return
        if drain:
            _drain_prefect_workers()
        server.stop()


_active: _Guard | None = None


@contextmanager
def guard() -> Iterator[None]:
    """Run a CLI command's flows so that SIGINT / SIGTERM end them cleanly (see the module)."""
    global _active
    if _active is not None or threading.current_thread() is not threading.main_thread():
        yield  # nested, or not where signals arrive: the outer guard (or nobody) handles them
        return
    state = _Guard()
    state.install()
    _active = state
    try:
        state.server = _start_temporary_server()
        yield
    except BaseException as error:
        signum = state.signum or interrupted_by(error)
        if signum is None:
            raise
        state.stop_server(drain=True)
        _say(f"kinerja: {describe(signum)}")
        raise SystemExit(128 + signum) from None
    finally:
        _active = None
        state.restore()
        state.stop_server(drain=True)


def _say(line: str) -> None:
    with suppress(OSError, ValueError):
        print(line, file=sys.stderr, flush=True)


def _drain_prefect_workers() -> None:
    """Send Prefect's queued logs and events before the server goes (as its test harness does),
    so that they are not retried against a stopped server at exit."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        with suppress(Exception):
            worker.drain_all(timeout=5)


# Prefect's temporary server ------------------------------------------------------------------


class _EarlyServer:
    """Prefect's temporary server, started before this process imports Prefect: the same command
    and ephemeral settings as Prefect's `SubprocessASGIServer`, tethered likewise, and announced
    to Prefect through `PREFECT_API_URL`, which Prefect reads when it is first imported. The
    server's start (about 5 CPU-seconds in its own process) then overlaps the command's imports
    of the pipeline, and this process never imports Prefect's server code (about 2 s)."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[Any] | None = None
        self.port = 0
        self._spawn()
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        os.environ["PREFECT_API_URL"] = self.api_url

    def _spawn(self) -> None:
        import importlib.util
        import socket

        with socket.socket() as probe:  # a free port now; uvicorn exits with 3 if it is taken
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        spec = importlib.util.find_spec("prefect")
        assert spec is not None and spec.origin is not None
        env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
               "PREFECT__SERVER_FINAL": "1"}
        env.pop("PREFECT_API_URL", None)
        command = [
            sys.executable, "-m", "kinerja.tether", str(os.getpid()),
            "-m", "uvicorn", "--app-dir", os.path.dirname(os.path.dirname(spec.origin)),
            "--factory", "prefect.server.api.server:create_app",
            "--host", "127.0.0.1", "--port", str(self.port),
            "--log-level", "error", "--lifespan", "on",
        ]
        self.process = subprocess.Popen(command, env=env, start_new_session=os.name != "nt")

    def wait_ready(self) -> None:
        """Return once the server answers its health check (as Prefect waits for its own)."""
        import urllib.error
        import urllib.request

        limit = max(60.0, float(os.environ.get(
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "20")))
        started = time.monotonic()
        while time.monotonic() - started < limit:
            assert self.process is not None
            code = self.process.poll()
            if code == 3:  # the port was taken meanwhile: another one, as Prefect does
                self._spawn()
                self.api_url = f"http://127.0.0.1:{self.port}/api"
                os.environ["PREFECT_API_URL"] = self.api_url
                continue
            if code is not None:
                raise RuntimeError(f"Prefect's temporary server exited with code {code}")
            try:
                with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"Prefect's temporary server did not answer within {limit:.0f} s")

    def stop(self) -> None:
        process, self.process = self.process, None
        if os.environ.get("PREFECT_API_URL") == self.api_url:
            del os.environ["PREFECT_API_URL"]
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


_early: _EarlyServer | None = None


def start_server_early() -> None:
    """Start Prefect's temporary server now, in the background, when this process has not
    imported Prefect yet and no Prefect API is configured; `guard()` then waits for it. A
    command calls this once its arguments are checked, before importing its flows."""
    global _early
    if _early is not None or "prefect" in sys.modules or os.environ.get("PREFECT_API_URL"):
        return
    if _prefect_configured_elsewhere():
        return
    _early = _EarlyServer()
    atexit.register(_early.stop)


def _prefect_configured_elsewhere() -> bool:
    """Whether a Prefect API may be configured outside the environment: in the active profile
    (PREFECT_HOME's profiles.toml), or in the working folder's `prefect.toml`, `pyproject.toml`
    ([tool.prefect]) or `.env`, which Prefect also reads. Then Prefect's own path decides, as
    before; read without importing Prefect."""
    import tomllib
    from pathlib import Path

    home = Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect")
    path = Path(os.environ.get("PREFECT_PROFILES_PATH") or home / "profiles.toml")
    try:
        profiles = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        profiles = {}
    active = os.environ.get("PREFECT_PROFILE") or profiles.get("active", "ephemeral")
    if profiles.get("profiles", {}).get(active, {}).get("PREFECT_API_URL"):
        return True
    if Path("prefect.toml").exists():
        return True
    with suppress(OSError, ValueError):
        if "prefect" in tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8")).get(
                "tool", {}):
            return True
    with suppress(OSError, UnicodeDecodeError):
        if "PREFECT_API_URL" in Path(".env").read_text(encoding="utf-8"):
            return True
    return False


def _start_temporary_server() -> Any:
    """Start the server Prefect would start on its first API call, but tethered to this process;
    None when a Prefect API is configured (a server, Prefect Cloud, a test harness). A server
    started early (`start_server_early`) is waited for instead."""
    global _early
    if _early is not None:
        server, _early = _early, None
        try:
            server.wait_ready()
        except BaseException:
            server.stop()
            raise
        return server
    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value():
        return None
    from prefect.server.api.server import SubprocessASGIServer

    class TetheredServer(SubprocessASGIServer):
        """Prefect's temporary server (the same command and settings as
        `SubprocessASGIServer`), launched through kinerja.tether in its own session."""

        def _run_uvicorn_command(self) -> subprocess.Popen[Any]:
            import prefect
            from prefect.settings import get_current_settings

            assert self.port is not None
            env = {
                **os.environ,
                "PREFECT_UI_ENABLED": "0",
                "PREFECT__SERVER_EPHEMERAL": "1",
                "PREFECT__SERVER_FINAL": "1",
                **get_current_settings().to_environment_variables(exclude_unset=True),
            }
            command = [
                sys.executable, "-m", "kinerja.tether", str(os.getpid()),
                "-m", "uvicorn", "--app-dir", str(prefect.__module_path__.parent),
                "--factory", "prefect.server.api.server:create_app",
                "--host", "127.0.0.1", "--port", str(self.port),
                "--log-level", "error", "--lifespan", "on",
            ]
            return subprocess.Popen(command, env=env, start_new_session=os.name != "nt")

    # Prefect's own code finds the running server under the port None (as its test harness
    # arranges), so every API client of the run uses this one instead of starting another.
    server = TetheredServer()
    if not isinstance(server, TetheredServer):  # another server is already registered
        return None
    server.start()
    return server
