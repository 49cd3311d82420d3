"""Real `semester_appraisal` runs in their own processes, without paying the imports for each.

`python -m tests.reliability._forked_runs` imports the pipeline once (about 8 s on a small
machine) and then forks one child per run: each child is a separate process that can be
SIGKILLed, paused at a failpoint or signalled, at the cost of the run alone. The parent only
imports (no Prefect client, no thread has started), so forking it is safe; each child talks to
the Prefect API named by PREFECT_API_URL in the parent's environment (the test session's harness).

A child runs either the whole flow (`semester_appraisal(**kwargs)`) or, much faster, only its
publishing step as the flow does it: the run lock, the run's row, then `steps.publish` on the
work folder a run staged (`publish_only`), for failpoints inside the publishing transaction.

Protocol on stdin / stdout, one JSON object per line:
    {"op": "start", "target": "flow" | "publish", "kwargs": {...}, "env": {...}, "log": path}
        -> {"pid": n}
    {"op": "wait", "pid": n} -> {"status": s}   (s < 0: killed by signal -s, as subprocess says)
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import traceback
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[2]


class ForkedRuns:
    """The test side: start the parent, then start and wait for runs."""

    def __init__(self, env: dict[str, str], startup_timeout: float = 120) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.reliability._forked_runs"], cwd=ROOT, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert self._reply(startup_timeout) == {"ready": True}

    def _reply(self, timeout: float) -> dict[str, Any]:
        stdout: IO[str] = self.process.stdout  # type: ignore[assignment]
        ready, _, _ = select.select([stdout], [], [], timeout)
        if not ready:
            raise TimeoutError(f"no answer from the forking parent within {timeout} s")
        line = stdout.readline()
        if not line:
            raise RuntimeError(f"the forking parent exited ({self.process.wait()})")
        return json.loads(line)

    def _send(self, message: dict[str, Any]) -> None:
        stdin: IO[str] = self.process.stdin  # type: ignore[assignment]
        stdin.write(json.dumps(message) + "\n")
        stdin.flush()

    def start(self, log: Path, env: dict[str, str] | None = None, target: str = "flow",
              **kwargs: Any) -> int:
        """Start `semester_appraisal(**kwargs)` (or `publish_only(**kwargs)`) in a new process
        with `env` added to the environment; its output goes to `log`. Returns its pid."""
        self._send({"op": "start", "target": target, "kwargs": kwargs, "env": env or {},
                    "log": str(log)})
        return int(self._reply(30)["pid"])

    def wait(self, pid: int, timeout: float = 180) -> int:
        """The run's exit status: 0 published, 1 failed, -9 killed by SIGKILL."""
        self._send({"op": "wait", "pid": pid})
        return int(self._reply(timeout)["status"])

    def run(self, log: Path, env: dict[str, str] | None = None, timeout: float = 180,
            target: str = "flow", **kwargs: Any) -> int:
        return self.wait(self.start(log, env, target, **kwargs), timeout)

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


_SHARED: ForkedRuns | None = None


def shared() -> ForkedRuns:
    """One forking parent for the test session (it ends when the session's process does), on
    the session's Prefect harness: call it with the `prefect_harness` fixture active."""
    global _SHARED
    if _SHARED is None or _SHARED.process.poll() is not None:
        from prefect.settings import PREFECT_API_URL

        env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "DO_NOT_TRACK": "1",
               "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "KINERJA_RUN_LOCK_WAIT": "0"}
        for name in list(env):
            if name.startswith("KINERJA_FAULT"):
                del env[name]
        _SHARED = ForkedRuns(env)
    return _SHARED


def publish_only(warehouse_url: str, run_id: str, agency_code: str, period_id: str,
                 work_root: str) -> None:
    """The flow's publishing step alone, on a work folder another run staged: take the run lock,
    record the run as running, publish with the lock's token, release."""
    from tasks import steps
    from tasks.warehouse import run_ledger
    from tasks.warehouse.database import make_engine
    from tasks.warehouse.run_lock import RunLock

    # A run killed just before may leave its lock for a moment, until the database has noticed.
    lock = RunLock(warehouse_url, agency_code, period_id, run_id=run_id, wait_seconds=30,
                   poll_seconds=0.1)
    lock.acquire()
    engine = make_engine(warehouse_url)
    run_ledger.start_run(engine, run_id=run_id, agency_code=agency_code, period_id=period_id,
                      flow_run_id=None, kind="manual", policy_name=None, policy_hash=None,
                      code_version=None)
    engine.dispose()
    counts = {"rows_read": 0, "rows_accepted": 0, "rows_quarantined": 0}
    steps.publish.fn(warehouse_url, run_id, agency_code, None, period_id, work_root, counts,
                     lock.token())
    lock.release()


def _child(target: str, kwargs: dict[str, Any], env: dict[str, str], log: str) -> None:
    code = 1
    try:
        out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.environ.update(env)
        if target == "publish":
            publish_only(**kwargs)
        else:
            from flows.semester import semester_appraisal

            semester_appraisal(**kwargs)
        code = 0
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def main() -> None:
    # Everything a run imports, before any fork.
    import flows.semester  # noqa: F401
    import tasks.reporting.check  # noqa: F401
    import tasks.reporting.report  # noqa: F401

    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        message = json.loads(line)
        if message["op"] == "start":
            pid = os.fork()
            if pid == 0:
                _child(message.get("target", "flow"), message["kwargs"], message["env"],
                       message["log"])
            print(json.dumps({"pid": pid}), flush=True)
        elif message["op"] == "wait":
            _, status = os.waitpid(message["pid"], 0)
            print(json.dumps({"status": os.waitstatus_to_exitcode(status)}), flush=True)


if __name__ == "__main__":
    main()
