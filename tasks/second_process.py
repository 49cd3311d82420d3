"""A second process for the heavy half of a step (issue 8): one agency's run on a machine with a
core to spare.

A run is one Python process, and its heaviest steps (attendance validation, the reports) are
Python work that holds the GIL: threads do not use a second core, processes do. A step that can
split its work in two submits one half, as a Prefect task, to a one-process
`ProcessPoolTaskRunner` opened here, and does the other half itself. The half that runs there is
a task run of its own (its logs and state are Prefect's, as any task's), and gets its inputs by
value or by path: nothing is shared but the work folder and the reports folder.

The flow opens `for_the_run()` around its steps up to the quality check: every step that asks
shares one process there, started on first use, so that the start and the imports are paid
once, and the flow has Great Expectations imported there ahead of the check (`prepare`) while
it scores and publishes. A step called outside such a block (the report, which needs no Great
Expectations and its 200 MB) opens a process of its own.

Not used (`second_process` yields None, and the step does both halves itself) when:
- the agency is smaller than `parallel_from_employees` (setting; KINERJA_PARALLEL_FROM_EMPLOYEES):
  starting a process and importing the pipeline there costs about 2-3 s, more than the half of
  a small agency's step it would take;
- the machine has one core;
- the run is itself on a Dask worker or any daemonic process (agencies in parallel already use
  the cores there, and a daemonic process may not have children).
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from typing import Any

from kinerja.config import load_settings
from kinerja.memory import imported_for_good
from kinerja.redact import install_log_masking


def wanted(employees: int) -> bool:
    """Whether a step of an agency of `employees` employees should split its work in two."""
    if employees < load_settings().parallel_from_employees:
        return False
    if (os.cpu_count() or 1) < 2 or multiprocessing.current_process().daemon:
        return False
    return not _on_dask_worker()


def _on_dask_worker() -> bool:
    if "distributed" not in sys.modules:  # a Dask worker has it imported; importing costs 1 s
        return False
    from distributed import get_worker

    try:
        get_worker()
    except ValueError:
        return False
    return True


def _prepare_child() -> None:
    """Run once in the second process as it starts: its log lines are masked as the run's are,
    and the pipeline it runs is imported out of the garbage collector's walks (as in the run's
    own process: kinerja/memory.py `imported_for_good`)."""
    install_log_masking()
    with imported_for_good():
        importlib.import_module("tasks.steps")


@contextmanager
def prefect_api_for_children() -> Iterator[None]:
    """Prefect's settings travel with each task to its process: make sure they name the API this
    run uses. Without PREFECT_API_URL the run talks to Prefect's temporary server, which only
    this process knows: name it, or every child would start a server of its own."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    if PREFECT_API_URL.value():
        yield
        return
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()  # the running one (the CLI's tethered server), or a new one
    server.start()
    with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
        yield


@contextmanager
def _runner() -> Iterator[Any]:
    from prefect.task_runners import ProcessPoolTaskRunner

    with prefect_api_for_children(), ProcessPoolTaskRunner(
            max_workers=1, initializer=_prepare_child) as runner:
        yield runner


class _Shared:
    """The run's second process, started on first use (from any of the run's threads)."""

    def __init__(self) -> None:
        self._stack = ExitStack()
        self._lock = threading.Lock()
        self._runner: Any | None = None

    def runner(self) -> Any:
        with self._lock:
            if self._runner is not None and _broken(self._runner):
                # Killed under an earlier step (which did its part itself): a new one for the
                # next, rather than failing every later step of the run.
                self._stack.close()
                self._stack, self._runner = ExitStack(), None
            if self._runner is None:
                self._runner = self._stack.enter_context(_runner())
            # Prefect's runner keeps the context of its first submission for the next ones (a
            # runner usually serves one caller): each step of the run submits from its own task
            # run, so each gets its own (a private attribute of the pinned Prefect version,
            # checked by tests/integration/test_second_process.py).
            self._runner._cached_context = None
            return self._runner

    def close(self) -> None:
        with self._lock:
            self._stack.close()
            self._runner = None


def _broken(runner: Any) -> bool:
    """Whether the runner's process pool lost its process (Python's ProcessPoolExecutor then
    refuses every submission; `_broken` is its own flag, reached through Prefect's runner)."""
    return bool(getattr(getattr(runner, "_executor", None), "_broken", False))


_SHARED: ContextVar[_Shared | None] = ContextVar("kinerja_second_process", default=None)


@contextmanager
def for_the_run() -> Iterator[None]:
    """Around a run's steps: the steps that ask for a second process share one, which ends
    with the block (a task still running there is cancelled when the block ends by an error)."""
    shared = _Shared()
    token = _SHARED.set(shared)
    try:
        # The API is named here, in the flow's own context: the process is started and ended
        # from the steps' threads, which see this context's settings.
        with prefect_api_for_children():
            try:
                yield
            finally:
                shared.close()
    finally:
        _SHARED.reset(token)


@contextmanager
def second_process(employees: int) -> Iterator[Any | None]:
    """A started one-process `ProcessPoolTaskRunner` for a step of an agency of `employees`
    employees (submit a task with `runner.submit(task, parameters)`), or None when the step
    should do all its work itself (see the module's docstring). Inside `for_the_run` it is the
    run's, kept after the block; otherwise the process ends with the block, and a task still
    running there is waited for."""
    if not wanted(employees):
        yield None
        return
    shared = _SHARED.get()
    if shared is not None:
        yield shared.runner()
        return
    with _runner() as runner:
        yield runner


def prepare(employees: int, task: Any, parameters: dict[str, Any] | None = None) -> None:
    """Start `task` in the run's second process without waiting for it (say, importing what
    the next step needs there, while this process works on something else). Nothing happens
    outside `for_the_run`, or where the run would not use a second process."""
    if _SHARED.get() is None:
        return
    with second_process(employees) as runner:
        if runner is not None:
            runner.submit(task, parameters or {})
