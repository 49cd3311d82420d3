"""Memory a finished step or agency no longer needs, handed back to the system (issues 8, 13).

A worker runs agency after agency, and a run's report comes after validation, scoring and the
check: without this, each one's peak starts from the previous one's leftovers, freed but kept
by pyarrow's pool, by malloc's arenas, or by Great Expectations' last context.
"""

from __future__ import annotations

import ctypes
import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress


def release_memory() -> None:
    """Hand back to the system what a finished agency, or a run's finished steps, freed: a
    worker (or the command, locally) runs agency after agency, and a run's report follows its
    validation, scoring and check; without this each one's peak starts from the previous
    one's leftovers (freed but kept by pyarrow's pool, malloc and GX's last context)."""
    _forget_gx_context()
    hand_back_freed()


def hand_back_freed() -> None:
    """`release_memory` without letting go of Great Expectations' last context: safe while
    another thread of the process may be running a check (a Dask worker started with more
    than one thread), for a step that frees its own frames mid-way (the check's, before its
    suite runs)."""
    gc.collect()
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    if sys.platform.startswith("linux"):
        with suppress(OSError, AttributeError):  # not glibc (musl): nothing to trim
            ctypes.CDLL("libc.so.6").malloc_trim(0)


def _forget_gx_context() -> None:
    """Great Expectations keeps its last context in a module global, and with it the tables the
    agency's check validated (about 10 MiB at 5,000 employees) until the next check replaces
    it: let them go with the agency."""
    if "great_expectations" not in sys.modules:
        return
    with suppress(Exception):  # GX's internals may move: then the next check replaces it
        from great_expectations.data_context.data_context.context_factory import (
            project_manager,
        )

        project_manager.set_project(None)


@contextmanager
def imported_for_good() -> Iterator[None]:
    """Imports during which Python's cyclic garbage collector is off, their objects then moved
    out of its reach (`gc.freeze`).

    A Dask worker's preload (flows/dask_worker.py) or a command's imports (`kinerja run`) leave
    about 450,000 objects that live as long as the process (modules, classes, functions,
    pydantic and Great Expectations' schemas). Every full collection walks all of them, and a
    run makes two (`release_memory`) besides Python's own: 0.3-0.4 s each on a quiet machine,
    over a second under load, with every thread stopped meanwhile, and a worker's preload
    itself went through eight more (bench/README.md, "Session 5"). Frozen, they are skipped;
    the objects of the runs are collected as before. What the imports left as garbage
    is collected once before freezing, so nothing unreachable is kept."""
    gc.disable()
    try:
        yield
    finally:
        gc.collect()
        gc.freeze()
        gc.enable()
