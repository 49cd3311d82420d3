"""Preload for the Dask workers that run agencies (issue 13): `dask worker ... --preload
flows.dask_worker`, and every LocalCluster kinerja starts (`flows.agencies.local_cluster_kwargs`).

A worker imports what an agency's run needs when the worker starts, instead of inside its first
agency: the pipeline, and the libraries the run only imports in its later steps (Great
Expectations for the check, the report's and workbook's modules). Measured on 5,000 employees
(bench/README.md, "Session 4"): about 6 CPU-seconds and 130 MiB per worker process, paid once
for its life either way; preloaded, they are paid before the worker takes work (on a cluster
started ahead of the runs, outside every run), and a worker's first agency runs as fast as its
later ones.

It also puts Arrow on the C library's malloc (`arrow_on_system_malloc`), and takes what the
imports created out of Python's cyclic garbage collector (`imported_for_good`). Importing and
those are all it does: no connection, no configuration read, nothing of an agency.
"""

from __future__ import annotations

import importlib
import logging
import time
from typing import Any

from kinerja.memory import imported_for_good

log = logging.getLogger(__name__)


# What a run imports only once it reaches the step that needs it (seen in `sys.modules` after
# one agency, bench/README.md "Sessions 4 and 5"): imported here, the first agency runs like the
# others, and, frozen with the rest (`imported_for_good`), they are no longer 232 modules' worth
# of objects (fastapi's pydantic models, hypothesis) the first agency leaves on the worker's heap.
LAZY_IMPORTS = (
    "great_expectations",  # the check step; the largest import of a run
    "great_expectations.core",
    "great_expectations.data_context.types.base",
    "great_expectations.validator.v1_validator",
    "great_expectations.validator.validator",
    "pandera.backends.pandas.register",  # pandera's validation backends, loaded on first use
    "pandera.backends.pandas.container",
    "pandera.backends.pandas.components",
    "pandera.strategies",
    "pyarrow.parquet",
    "pyarrow.dataset",
    "openpyxl",
    "jinja2.ext",
    "prefect.task_engine",
    "prefect.flow_engine",  # the agency's subflow
    "prefect.utilities.visualization",  # Flow.__call__; imports graphviz
    "fastapi.encoders",  # Flow.serialize_parameters; imports fastapi, starlette
    "prefect.artifacts",
    "prefect.concurrency.v1.context",
    "prefect_dask",  # the task's wrapper on the worker
    "pandera.strategies.pandas_strategies",  # imports hypothesis
    "pandera.accessors.pandas_accessor",
    "pandera.backends.pandas.builtin_checks",
    "pandera.backends.pandas.builtin_hypotheses",
    "pandas.core.methods.to_dict",
    "pandas.core.reshape.reshape",
    "pandas.core.arrays.arrow.extension_types",
    "great_expectations.render.renderer.site_builder",  # the check's Data Docs
    "flows.agencies",  # the semester flow, the backfill and every step
    "tasks.reporting.check",
    "tasks.reporting.expectations",
    "tasks.reporting.report",
    "tasks.reporting.report_sections",
    "tasks.reporting.report_charts",
    "tasks.reporting.workbook",
    "tasks.explain.sources",
)


def preload() -> float:
    """Import the pipeline and the libraries its later steps import lazily; the seconds taken.
    A module a library no longer has is left out (logged), never a worker that fails to start."""
    started = time.monotonic()
    for name in LAZY_IMPORTS:
        try:
            importlib.import_module(name)
        except ImportError as error:
            log.warning("kinerja preload: %s not imported: %s", name, error)
    return time.monotonic() - started


def arrow_on_system_malloc() -> None:
    """Arrow's allocations through the C library's malloc instead of Arrow's bundled mimalloc.

    A worker runs agency after agency: mimalloc keeps the segments an agency freed (about 110
    MiB after a 5,000-employee agency, `release_unused` notwithstanding), and the next agency's
    peak comes on top of them. glibc's malloc gives them back (`release_memory`'s malloc_trim),
    so every agency starts from the same floor (bench/README.md, "Session 4")."""
    import pyarrow as pa

    pa.set_memory_pool(pa.system_memory_pool())


def dask_setup(worker: Any) -> None:
    """Called by Dask once per worker process as the worker starts, before its first task."""
    arrow_on_system_malloc()
    with imported_for_good():
        seconds = preload()
    log.info("kinerja preloaded on %s in %.1f s", getattr(worker, "name", "a Dask worker"),
             seconds)
