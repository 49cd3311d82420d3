"""A run's own timings: wall seconds and peak resident memory per step.

Peak memory per step on Linux is the kernel's high-water mark of the process (`VmHWM` in
/proc/self/status), reset at the start of a step by writing "5" to /proc/self/clear_refs. Where
that file cannot be written (another OS, a locked-down container) the peak is the process's
lifetime peak (`ru_maxrss`), which never goes down: `peak_kind` then says "process" instead of
"step".

Steps may overlap (the flow validates several datasets at once in threads): every open step
keeps the highest mark seen while it was open, and the mark is only reset when no other step
is open, so an overlapping step reports the peak of the whole overlap (an upper bound, flagged
`shared`), never less than its own.

Kept free of Prefect, pandas and the database: the flow and its tasks only call `step`/`lap`.
"""

from __future__ import annotations

import functools
import logging
import re
import resource
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

log = logging.getLogger(__name__)

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")
_HWM_RE = re.compile(r"^VmHWM:\s+(\d+)\s+kB", re.MULTILINE)
_MB = 1024 * 1024

F = TypeVar("F", bound=Callable[..., Any])


def _hwm_bytes() -> int | None:
    try:
        match = _HWM_RE.search(_STATUS.read_text())
    except OSError:
        return None
    return int(match.group(1)) * 1024 if match else None


def _maxrss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB on Linux


def _can_reset() -> bool:
    if _hwm_bytes() is None:
        return False
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


class _Open:
    """An open step's state: inner (a task's) or outer (a lap); the highest mark seen; whether
    another inner step ran at the same time."""

    __slots__ = ("inner", "seen", "shared")

    def __init__(self, inner: bool, seen: int) -> None:
        self.inner, self.seen, self.shared = inner, seen, False


class _Meter:
    """The process's memory high-water mark, shared by every open step."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[int, _Open] = {}
        self._next = 0
        self._resettable: bool | None = None  # decided on first use

    @property
    def kind(self) -> str:
        return "step" if self._resettable else "process"

    def _current(self) -> int:
        if self._resettable:
            return _hwm_bytes() or 0
        return _maxrss_bytes()

    def _fold(self) -> int:
        mark = self._current()
        for step in self._open.values():
            step.seen = max(step.seen, mark)
        return mark

    def open(self, inner: bool) -> int:
        """A new step's token. Inner steps (a task's) run inside an outer one (the flow's lap)
        and may overlap each other: the mark is reset only when no inner step is open."""
        with self._lock:
            if self._resettable is None:
                self._resettable = _can_reset()
            busy = [s for s in self._open.values() if s.inner]
            if not busy and self._resettable:
                self._fold()  # what the open outer steps saw so far, before it is cleared
                try:
                    _CLEAR_REFS.write_text("5")
                except OSError:
                    self._resettable = False
            step = _Open(inner, self._current())
            if inner and busy:
                for other in [*busy, step]:
                    other.shared = True
            token = self._next
            self._next += 1
            self._open[token] = step
            return token

    def close(self, token: int) -> tuple[int, bool]:
        """The highest mark seen while the step was open, in bytes; whether it was shared."""
        with self._lock:
            self._fold()
            step = self._open.pop(token)
            return step.seen, step.shared

    def note(self) -> int:
        """The current mark, folded into every open step; in bytes."""
        with self._lock:
            return self._fold()


_METER = _Meter()


@contextmanager
def measure(inner: bool = True) -> Iterator[dict[str, Any]]:
    """Wall seconds and peak resident memory of the block, filled into the yielded dict on exit:
    `seconds`, `peak_rss_mb`, `peak_kind` ("step" or "process") and `shared` (another step ran
    at the same time, the peak is theirs together)."""
    figures: dict[str, Any] = {}
    token = _METER.open(inner)
    started = time.perf_counter()
    try:
        yield figures
    finally:
        seconds = time.perf_counter() - started
        peak, shared = _METER.close(token)
        figures.update(seconds=round(seconds, 3), peak_rss_mb=round(peak / _MB, 1),
                       peak_kind=_METER.kind, shared=shared)


def timed(name: str, key: str | None = None) -> Callable[[F], F]:
    """Decorates a step returning a dict: its figures are added to that dict under `timing`
    (a task's return value reaches the flow from any process or thread). `key` names the
    argument that completes the step's name, e.g. the dataset."""

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            label = name
            if key is not None:
                import inspect

                bound = inspect.signature(fn).bind_partial(*args, **kwargs)
                if key in bound.arguments:
                    label = f"{name} {bound.arguments[key]}"
            with measure() as figures:
                result = fn(*args, **kwargs)
            if isinstance(result, dict):
                result = {**result, "timing": {"step": label, **figures}}
            return result

        return run  # type: ignore[return-value]

    return wrap


class RunClock:
    """The steps of one run as laps: `lap(name)` closes the step that ran since the previous lap
    (or since the clock started) and opens the next. `steps()` lists them with the whole run."""

    def __init__(self) -> None:
        self._steps: list[dict[str, Any]] = []
        self._started = time.perf_counter()
        self._lap: tuple[Any, dict[str, Any]] | None = self._open_lap()

    def _open_lap(self) -> tuple[Any, dict[str, Any]]:
        context = measure(inner=False)
        # A failed run drops its clock unclosed: the lap's generator, collected, closes it.
        return context, context.__enter__()

    def lap(self, name: str, parts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """Record the step just finished under `name`; `parts` are figures its tasks measured
        themselves (`timed`), listed under it."""
        if self._lap is None:
            raise RuntimeError("the clock is closed")
        context, figures = self._lap
        context.__exit__(None, None, None)
        entry = {"step": name, **figures}
        parts = [p for p in parts or () if p]
        if parts:
            entry["parts"] = parts
        self._steps.append(entry)
        self._lap = self._open_lap()
        return entry

    def steps(self) -> list[dict[str, Any]]:
        """The recorded steps and, last, the whole run so far (`run`)."""
        seconds = time.perf_counter() - self._started
        # The laps cover the run from the clock's start: its peak is theirs, or the open lap's.
        peak = max([_METER.note(), *(s["peak_rss_mb"] * _MB for s in self._steps)])
        whole = {"step": "run", "seconds": round(seconds, 3),
                 "peak_rss_mb": round(peak / _MB, 1), "peak_kind": _METER.kind,
                 "shared": False}
        return [*self._steps, whole]

    def close(self) -> None:
        """Stop measuring (the open lap); idempotent."""
        if self._lap is not None:
            self._lap[0].__exit__(None, None, None)
            self._lap = None


def describe(steps: list[dict[str, Any]]) -> str:
    """The steps as one log line each: name, seconds, peak MB."""
    lines = []
    for s in steps:
        shared = " (shared)" if s.get("shared") else ""
        lines.append(f"{s['step']:<32} {s['seconds']:8.2f} s  {s['peak_rss_mb']:8.1f} MB"
                     f"{shared}")
        for p in s.get("parts", []):
            shared = " (shared)" if p.get("shared") else ""
            lines.append(f"  {p['step']:<30} {p['seconds']:8.2f} s  {p['peak_rss_mb']:8.1f} MB"
                         f"{shared}")
    return "\n".join(lines)
