"""A second process for the heavy half of a step (issue 8): one agency's run on a machine with a
core to spare.

A run is one Python process, and its heaviest steps (attendance validation, the reports) are
Python work that holds the GIL: threads do not use a second core, processes do. A step that can
split its work in two submits one half, as a Prefect task, to a one-process
`ProcessPoolTaskRunner` opened here, and does the other half itself. The half that runs there is
a task run of its own (its logs and state are Prefect's, as any task's), and gets its inputs by
value or by path: nothing is shared but the work folder and the reports folder.

The flow opens `for_the_run()` around its steps: every step that asks shares one process
there, started on first use, so that the start and the imports are paid once, and the flow has
Great Expectations imported there ahead of the check (`prepare`) while it scores and publishes.
The report needs no Great Expectations and its 200 MB: the check starts the report's process
(`prepare_next`) once this one has nothing left to do but wait for the check, and the flow
ends the check's (`retire`) after it. A step called outside such a block (`kinerja check`'s
report, a dry run) opens a process of its own.

A second process that dies (killed, out of memory) leaves its task runs Running in Prefect, as
nobody is left to report them: when its runner closes, they are set Crashed with a sentence
saying the run did their work itself (`mark_crashed`).

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
import logging
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
from kinerja.redact import install_log_masking, one_line

log = logging.getLogger(__name__)


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
        submitted: list[Any] = []
        submit = runner.submit

        def tracked(*args: Any, **kwargs: Any) -> Any:
            future = submit(*args, **kwargs)
            submitted.append(future)
            return future

        runner.submit = tracked
        try:
            yield runner
        finally:
            if _broken(runner):
                mark_crashed(submitted)


CRASHED_MESSAGE = ("the run's second process ended abruptly (killed, out of memory?); the run "
                   "did this task's work itself")


def mark_crashed(futures: list[Any]) -> None:
    """The task runs of a second process that died, still Running (or Pending) in Prefect, set
    Crashed: nobody else reports them, so the UI would show them running for ever beside a
    finished flow run. Best effort: a task run Prefect never heard of, or an API that does not
    answer, is left as it is."""
    from prefect.client.orchestration import get_client
    from prefect.states import Crashed

    ids = [f.task_run_id for f in futures if getattr(f, "task_run_id", None) is not None]
    if not ids:
        return
    try:
        with get_client(sync_client=True) as client:
            for task_run_id in ids:
                try:
                    state = client.read_task_run(task_run_id).state
                except Exception:  # never created: the process died before it reported
                    continue
                if state is None or not state.is_final():
                    client.set_task_run_state(task_run_id, Crashed(message=CRASHED_MESSAGE),
                                              force=True)
    except Exception as error:  # the run has its result; Prefect's view is secondary
        log.warning("could not mark the second process's task runs crashed: %s",
                    one_line(error))


class _Shared:
    """The run's second process, started on first use (from any of the run's threads), and the
    next one, started ahead (`start_next`) to take its place when it ends (`retire`)."""

    def __init__(self) -> None:
        self._stack = ExitStack()
        self._lock = threading.Lock()
        self._runner: Any | None = None
        self._next: tuple[ExitStack, Any] | None = None
        # Per runner (kept, so that its id is not another's), the tasks submitted through
        # `started`.
        self._started: dict[int, tuple[Any, set[str]]] = {}

    def started(self, runner: Any, task: Any, parameters: dict[str, Any]) -> bool:
        """Submit `task` to `runner`, unless it was submitted there through here already;
        whether it was (False: submitted now)."""
        with self._lock:
            _, names = self._started.setdefault(id(runner), (runner, set()))
            if task.name in names:
                return True
            names.add(task.name)
        runner.submit(task, parameters)
        return False

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

    def start_next(self) -> Any:
        """The next process's runner, started now if it is not yet."""
        with self._lock:
            if self._next is None:
                stack = ExitStack()
                self._next = (stack, stack.enter_context(_runner()))
            runner = self._next[1]
            runner._cached_context = None  # as in `runner`
            return runner

    def retire(self) -> None:
        """The current process ends; the next one, if started, is the run's from now on."""
        with self._lock:
            self._stack.close()
            self._stack, self._runner = ExitStack(), None
            if self._next is not None:
                self._stack, self._runner = self._next
                self._next = None

    def close(self) -> None:
        with self._lock:
            try:
                self._stack.close()
            finally:
                self._runner = None
                if self._next is not None:
                    stack, self._next = self._next[0], None
                    stack.close()


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


def prepare_next(employees: int, task: Any, parameters: dict[str, Any] | None = None) -> bool:
    """Start the run's next second process now, and `task` in it, while the current one is
    still busy (say, the report's imports while the check runs): it becomes the run's at
    `retire`. Whether it was started: not outside `for_the_run`, nor where the run would not
    use a second process."""
    shared = _SHARED.get()
    if shared is None or not wanted(employees):
        return False
    shared.started(shared.start_next(), task, parameters or {})
    return True


def submit_once(runner: Any, task: Any, parameters: dict[str, Any] | None = None) -> None:
    """`runner.submit(task, parameters)`, unless the run started `task` on that runner ahead
    (`prepare`, `prepare_next`): a step that prepares its own process when it runs alone (the
    report of `kinerja check`) does not prepare it twice in a run."""
    shared = _SHARED.get()
    if shared is None:
        runner.submit(task, parameters or {})
    else:
        shared.started(runner, task, parameters or {})


def retire() -> None:
    """End the run's current second process (say, the check's, which holds Great Expectations)
    and use the next one, if `prepare_next` started it, from now on."""
    shared = _SHARED.get()
    if shared is not None:
        shared.retire()


def prepare(employees: int, task: Any, parameters: dict[str, Any] | None = None) -> None:
    """Start `task` in the run's second process without waiting for it (say, importing what
    the next step needs there, while this process works on something else). Nothing happens
    outside `for_the_run`, or where the run would not use a second process."""
    shared = _SHARED.get()
    if shared is None:
        return
    with second_process(employees) as runner:
        if runner is not None:
            shared.started(runner, task, parameters or {})
