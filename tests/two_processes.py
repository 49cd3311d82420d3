"""Attendance read and scored by two processes (tasks/sources/partition.py,
tasks/attendance_share.py, tasks/second_process.py) in a test: on data this small this
process would be done before the second one had imported the pipeline, and the second would
take nothing."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from tasks import steps
from tasks.sources.partition import SplitPlan

STARTING_S = 300  # the second process's start (spawn and imports) on a busy machine


def second_process_takes_blocks(monkeypatch: pytest.MonkeyPatch) -> list[SplitPlan]:
    """Split from 0 employees, and hold this process until the real second process has taken
    its first block (the last one): both then read a part, wherever they meet. Returns the
    plans split so far (one per dataset read by two processes)."""
    monkeypatch.setenv("KINERJA_PARALLEL_FROM_EMPLOYEES", "0")
    submit_for = steps._second_half
    plans: list[SplitPlan] = []

    def waiting(runner: Any, limits: Any, ctx: Any) -> Callable[[SplitPlan], Any]:
        submit = submit_for(runner, limits, ctx)

        def started(plan: SplitPlan) -> Any:
            plans.append(plan)
            running = submit(plan)
            deadline = time.monotonic() + STARTING_S
            while not (plan.taken(len(plan.blocks) - 1) or running.done()):
                assert time.monotonic() < deadline, "the second process did not start"
                time.sleep(0.01)
            return running

        return started

    monkeypatch.setattr(steps, "_second_half", waiting)
    return plans


def second_process_takes_partitions(monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    """As `second_process_takes_blocks`, for attendance's figures (tasks/attendance_share.py):
    this process waits until the second one has taken its first partition (the last one).
    Returns the partitions the second process scored, per `score_attendance`."""
    monkeypatch.setenv("KINERJA_PARALLEL_FROM_EMPLOYEES", "0")
    submit = steps._attendance_elsewhere
    scored: list[list[int]] = []

    def started(runner: Any, *args: Any) -> Any:
        parts, partitions = args[-2], args[-1]
        running = submit(runner, *args)
        ended = threading.Event()
        running.add_done_callback(lambda _: ended.set())
        deadline = time.monotonic() + STARTING_S
        while not (parts.claims.path(partitions - 1).exists() or ended.is_set()):
            assert time.monotonic() < deadline, "the second process did not start"
            time.sleep(0.01)
        return running

    ended = steps._share_ended

    def recorded(future: Any) -> dict[str, Any]:
        shared = ended(future)
        scored.append(shared["elsewhere"])
        return shared

    monkeypatch.setattr(steps, "_attendance_elsewhere", started)
    monkeypatch.setattr(steps, "_share_ended", recorded)
    return scored
