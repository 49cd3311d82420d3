"""Failpoints: named places in a run where a test can kill or pause the process.

`point("publish.after_facts")` does nothing unless the environment variable `KINERJA_FAULT_POINT`
names that point (one environment lookup: free in production). The value is a comma-separated
list of `name` or `name:action`:

- `kill` (the default): the process SIGKILLs itself there, as a power cut or the OOM killer
  would, so nothing of Python's clean-up runs;
- `pause`: the process sleeps there (up to `KINERJA_FAULT_PAUSE_SECONDS`, default 600, or
  until the file named by `KINERJA_FAULT_RESUME` exists) so that a test can signal it, or act
  on the database behind its back, at a known point;
- `raise`: raises `FaultInjected`, an ordinary failure.

When `KINERJA_FAULT_MARKER` names a file, a point that acts first appends its name and the
process id to it, so that a test knows the process got there (a kill at a misspelt point would
otherwise look like a run that was never killed). `POINTS` lists every point in the product; the
fault-injection tests go through all of them.
"""

from __future__ import annotations

import os
import signal
import time

ENV = "KINERJA_FAULT_POINT"
MARKER_ENV = "KINERJA_FAULT_MARKER"
PAUSE_ENV = "KINERJA_FAULT_PAUSE_SECONDS"
RESUME_ENV = "KINERJA_FAULT_RESUME"

POINTS = (
    # semester_appraisal, outside the publishing transaction
    "run.locked",            # run lock held, run row open, nothing validated
    "run.validated",         # lineage and quarantine recorded
    "run.scored",            # facts staged in the work folder, nothing published
    # tasks/warehouse/publish.py::publish_period, inside the publishing transaction
    "publish.begun",         # the agency's publication lock taken
    "publish.dimensions",    # dimensions upserted
    "publish.history",       # the replaced publication copied to history, change log written
    "publish.first_fact",    # the first fact table replaced, the others not yet
    "publish.facts",         # every fact table replaced
    "publish.before_commit",  # run marked published, COMMIT not yet sent
    # after the publishing transaction
    "publish.committed",     # committed, the publish task not yet returned
    "run.reported",          # quality check and reports written, work folder not yet removed
)
# Points in a run's second process (tasks/second_process.py), not in the run's own process,
# which is where the fault-injection tests go through `POINTS`.
SECOND_PROCESS_POINTS = (
    "validate.second_block",  # the second process has written its first block of attendance
    "score.second_partition",  # the second process has written a partition's attendance figures
    "report.opd_workbooks",   # the report's second process, before its OPD workbooks
)


class FaultInjected(RuntimeError):
    """The failure a `raise` failpoint injects."""


def point(name: str) -> None:
    """Act at failpoint `name` if `KINERJA_FAULT_POINT` names it; otherwise do nothing."""
    spec = os.environ.get(ENV)
    if not spec:
        return
    for entry in spec.split(","):
        target, _, action = entry.strip().partition(":")
        if target == name:
            _act(name, action or "kill")
            return


def _act(name: str, action: str) -> None:
    marker = os.environ.get(MARKER_ENV)
    if marker:
        with open(marker, "a", encoding="utf-8") as file:
            file.write(f"{name} {os.getpid()}\n")
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(60)  # the signal is delivered before this returns
    elif action == "pause":
        deadline = time.monotonic() + float(os.environ.get(PAUSE_ENV, "600"))
        resume = os.environ.get(RESUME_ENV)
        while time.monotonic() < deadline and not (resume and os.path.exists(resume)):
            time.sleep(0.05)
    elif action == "raise":
        raise FaultInjected(f"fault injected at {name}")
    else:
        raise ValueError(f"{ENV}: unknown action {action!r} at {name} (kill, pause, raise)")
