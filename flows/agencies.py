"""Many agencies in one run (issue 13): one `semester_appraisal` (or `backfill`) per agency, each
validated, scored and published on its own exactly as in a single-agency run.

The agencies run in this process one after the other, each flow a subflow of the caller
(executor `local`), or in parallel on a Dask cluster through prefect-dask's `DaskTaskRunner`
(executor `dask`: a `LocalCluster` sized to the machine, or the running cluster at
`dask_address`), each agency one task `agency-run` whose subflow is the agency's flow. One
agency's failure does not stop the others; the flow ends with every agency's outcome.

What crosses to a Dask worker is the task and its parameters (agency code, period, paths, run
kind) and Prefect's settings (the API URL): never the warehouse URL, which may carry a password.
A worker reads it from its own environment or `kinerja.toml` (README "Many agencies on Dask").
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE
from prefect.states import State

from flows import observe
from flows.backfill import backfill
from flows.semester import semester_appraisal
from kinerja import identifiers
from kinerja.config import EXECUTORS
from kinerja.memory import release_memory
from kinerja.redact import install_log_masking, one_line
from schemas.parsing import forget_cached_values
from tasks.second_process import prefect_api_for_children
from tasks.warehouse.run_ledger import RUN_KINDS

FLOWS = ("semester", "backfill")
WORKER_PRELOAD = "flows.dask_worker"


class AgencyFailed(RuntimeError):
    """One agency's run failed; `reason` is one line with passwords masked."""

    def __init__(self, agency_code: str, reason: str) -> None:
        self.agency_code = agency_code
        self.reason = reason
        super().__init__(f"{agency_code}: {reason}")

    def __reduce__(self) -> tuple[Any, ...]:
        # Sent back from a Dask worker by pickle: keep the attributes.
        return (type(self), (self.agency_code, self.reason))


class AgenciesFailed(RuntimeError):
    """One or more agencies failed; the others ran to the end. `outcomes` holds every agency's
    outcome (see `outcome_of`), for the command's table."""

    def __init__(self, label: str, outcomes: list[dict[str, Any]]) -> None:
        self.label = label
        self.outcomes = list(outcomes)
        failed = [o for o in self.outcomes if o["status"] == "failed"]
        super().__init__(
            f"{label}: {len(failed)} of {len(self.outcomes)} agencies failed: "
            + "; ".join(f"{o['agency_code']}: {o['reason']}" for o in failed))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.label, self.outcomes))


def semester_job(period_id: str, kind: str = "manual", landing: str | None = None,
                 reports: str | None = None, policy: str | None = None) -> dict[str, Any]:
    """What each agency runs: `semester_appraisal` of one period."""
    return {"flow": "semester", "period_id": identifiers.period_id(period_id), "kind": kind,
            "landing": landing, "reports": reports, "policy": policy}


def backfill_job(from_period: str, to_period: str | None = None, landing: str | None = None,
                 reports: str | None = None, policy: str | None = None) -> dict[str, Any]:
    """What each agency runs: `backfill` from `from_period` to `to_period`."""
    return {"flow": "backfill", "from_period": identifiers.period_id(from_period),
            "to_period": identifiers.period_id(to_period) if to_period else None,
            "kind": "backfill", "landing": landing, "reports": reports, "policy": policy}


def _checked_job(job: dict[str, Any]) -> dict[str, Any]:
    # A deployment run takes the job as a parameter: checked before anything reaches a path.
    if job.get("flow") not in FLOWS:
        raise ValueError(f"job flow must be one of {', '.join(FLOWS)}")
    if job.get("kind") not in RUN_KINDS:
        raise ValueError(f"job kind must be one of {', '.join(RUN_KINDS)}")
    if job["flow"] == "semester":
        return semester_job(job.get("period_id"), job["kind"], job.get("landing"),
                            job.get("reports"), job.get("policy"))
    return backfill_job(job.get("from_period"), job.get("to_period"), job.get("landing"),
                        job.get("reports"), job.get("policy"))


def _job_label(job: dict[str, Any]) -> str:
    if job["flow"] == "semester":
        return job["period_id"]
    return f"backfill from {job['from_period']}" + (f" to {job['to_period']}"
                                                     if job["to_period"] else "")


def run_agency(agency_code: str, job: dict[str, Any]) -> dict[str, Any]:
    """One agency's flow run, as a subflow of the caller (the multi-agency flow, or the
    `agency-run` task on a Dask worker). Its warehouse URL is the process's own
    (`warehouse_url=None`): a password is never a parameter.

    Returns the agency's outcome; raises `AgencyFailed` with one masked line.
    """
    agency_code = identifiers.agency_code(agency_code)
    try:
        return _run_agency(agency_code, job)
    finally:
        forget_cached_values()
        release_memory()


def _run_agency(agency_code: str, job: dict[str, Any]) -> dict[str, Any]:
    try:
        if job["flow"] == "backfill":
            result = backfill(agency_code=agency_code, from_period=job["from_period"],
                              to_period=job["to_period"], landing=job["landing"],
                              warehouse_url=None, reports=job["reports"], policy=job["policy"])
            runs = result["runs"]
            return _outcome(agency_code, "published", periods=result["periods"],
                            run_id=runs[-1]["run_id"] if runs else None)
        summary = semester_appraisal(agency_code=agency_code, period_id=job["period_id"],
                                     landing=job["landing"], warehouse_url=None,
                                     reports=job["reports"], policy=job["policy"],
                                     kind=job["kind"])
    except Exception as error:
        raise AgencyFailed(agency_code, one_line(error)) from None
    return _outcome(agency_code, "published", periods=[summary["period_id"]],
                    run_id=summary["run_id"],
                    **{k: summary.get(k) for k in ("rows_read", "rows_accepted",
                                                   "rows_quarantined", "quality_status",
                                                   "warehouse")})


def _outcome(agency_code: str, status: str, **values: Any) -> dict[str, Any]:
    return {"agency_code": agency_code, "status": status, "periods": [], "run_id": None,
            "rows_read": None, "rows_accepted": None, "rows_quarantined": None,
            "quality_status": None, "warehouse": None, "reason": None, **values}


@task(name="agency-run", cache_policy=NONE, task_run_name="agency-{agency_code}")
def agency_run(agency_code: str, job: dict[str, Any]) -> dict[str, Any]:
    """`run_agency` on a Dask worker. No retries of its own: each step of the agency's run has
    its own (tasks/transient.py); a whole agency re-run is the next run's job."""
    install_log_masking()
    return run_agency(agency_code, job)


def outcome_of(agency_code: str, state: State) -> dict[str, Any]:
    """An agency's outcome from the final state of its `agency-run` task."""
    if state.is_completed():
        return state.result()
    try:
        error: Any = state.result(raise_on_failure=False)
    except BaseException as raised:  # a crashed task (lost worker) has no result to read
        error = raised
    if isinstance(error, AgencyFailed):
        reason = error.reason
    elif isinstance(error, BaseException):
        reason = one_line(error)
    else:
        reason = state.message or state.name or "failed"
    return _outcome(agency_code, "failed", reason=reason)


def _dask_outcome(agency_code: str, future: Any) -> dict[str, Any]:
    """The outcome of an `agency-run` on Dask. A task whose worker died (killed, out of memory)
    never reports a final state to Prefect: Dask's own error says what happened (after Dask
    retried it on other workers, `distributed.scheduler.allowed-failures` times)."""
    wrapped = future.wrapped_future
    if wrapped.status in ("error", "cancelled", "lost"):
        try:
            error = wrapped.exception(timeout=5)
        except BaseException as raised:  # cancelled: there is no exception to read
            error = raised
        return _outcome(agency_code, "failed", reason=f"on Dask: {one_line(error)}")
    return outcome_of(agency_code, future.state)


def local_cluster_kwargs(agencies: int) -> dict[str, Any]:
    """A LocalCluster sized to the machine: one single-threaded worker process per core (at
    most one per agency), each with an equal share of the memory (Dask's `auto`). One thread:
    a worker runs one agency at a time, so its peak is one agency's peak."""
    workers = max(1, min(agencies, os.cpu_count() or 1))
    # Each worker imports the pipeline as it starts (flows/dask_worker.py), not in its first
    # agency: `dask worker --preload flows.dask_worker` does the same on a cluster of its own.
    return {"n_workers": workers, "threads_per_worker": 1, "processes": True,
            "memory_limit": "auto", "dashboard_address": ":0", "preload": [WORKER_PRELOAD]}


def largest_first(codes: list[str], job: dict[str, Any]) -> list[str]:
    """The agencies in the order to hand them to Dask: the most landing data first, so that the
    longest runs start first and the last to finish is a short one (two workers given a big
    agency last would leave one core idle while the other finishes it). Agencies read from SQL,
    or whose folder is missing, count as empty; ties keep their order."""
    from kinerja.config import load_settings

    settings = load_settings()

    def size(code: str) -> int:
        root = Path(job["landing"]) if job.get("landing") else settings.agency_landing(code)
        total = 0
        with suppress(OSError):
            for folder, _, files in os.walk(root / code):
                for name in files:
                    with suppress(OSError):
                        total += os.stat(os.path.join(folder, name)).st_size
        return total

    sizes = {code: size(code) for code in codes}
    return sorted(codes, key=lambda code: -sizes[code])


# glibc and Arrow read these when a process starts: Dask's nanny sets them before it spawns a
# worker (`distributed.nanny.pre-spawn-environ`). One malloc arena per worker: each thread that
# validates a dataset otherwise gets an arena of its own, and memory left in them stays with the
# worker for its next agency (bench/README.md, "Session 4"). Arrow's C++ default pool on the C
# library's malloc too: `pa.set_memory_pool` (flows/dask_worker.py) only moves what pyarrow's
# Python layer allocates, and the CSV and Parquet readers kept allocating in Arrow's bundled
# mimalloc, which kept 50-65 MiB of an agency's freed memory for the worker's life
# (bench/README.md, "Session 5").
WORKER_ENVIRON = {"MALLOC_ARENA_MAX": "1", "ARROW_DEFAULT_MEMORY_POOL": "system"}

# Dask settings a nanny hands to the worker process it starts. Dask's statistical profiler (the
# dashboard's "Profile" page) samples the thread running a task every 10 ms and folds each
# sample's whole stack (an agency's run is 60-100 frames deep: Prefect's engines, the flow,
# pandas) on the worker's event loop, holding the GIL the agency needs: about 4 s per worker
# over 4 agencies of 5,000 employees (py-spy, bench/README.md "Session 5"). Where an agency's
# time goes is in Prefect (each task run) and in its run's timings (`pipeline_run.timings`).
WORKER_CONFIG = {"distributed.worker.profile.enabled": False}


def dask_task_runner(dask_address: str | None, agencies: int) -> Any:
    """prefect-dask's DaskTaskRunner on the cluster at `dask_address`, or on a new LocalCluster
    sized to the machine (torn down when the run ends)."""
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError as error:  # pragma: no cover - a declared dependency
        raise RuntimeError("executor dask needs prefect-dask (pip install prefect-dask)") from error
    if dask_address:
        return DaskTaskRunner(address=dask_address)
    return DaskTaskRunner(cluster_kwargs=local_cluster_kwargs(agencies))


@contextmanager
def worker_environ() -> Iterator[None]:
    """`WORKER_ENVIRON` and `WORKER_CONFIG` for the workers of a LocalCluster started here (a
    running cluster's workers get them where they are started: README "Many agencies on
    Dask")."""
    import dask

    with dask.config.set({**{f"distributed.nanny.pre-spawn-environ.{k}": v
                             for k, v in WORKER_ENVIRON.items()}, **WORKER_CONFIG}):
        yield


@contextmanager
def agency_scheduling() -> Iterator[None]:
    """How a LocalCluster's scheduler (started in this process) hands out agencies: one to each
    worker with a free thread, the rest queued on the scheduler (worker saturation 1.0), and no
    work stealing. An agency is one long task; with Dask's defaults a worker also takes a
    second one to wait behind its first, and one benchmark run of 8 agencies on 2 workers ended
    5 and 3. A running cluster's scheduler takes these settings where it starts (README "Many
    agencies on Dask")."""
    import dask

    with dask.config.set({"distributed.scheduler.worker-saturation": 1.0,
                          "distributed.scheduler.work-stealing": False}):
        yield


TEMPORARY_SERVER_NOTE = (
    "no PREFECT_API_URL: the agencies report to Prefect's temporary server, whose database is "
    "SQLite; with agencies running at once it now and then answers busy, and each time an "
    "agency waits about 2 s (then 4, 8) before Prefect asks again. A cluster wants a Prefect "
    "server on PostgreSQL (README, \"Many agencies on Dask\")")


def temporary_server_note() -> str | None:
    """What to tell a data engineer whose agencies go to Dask with no Prefect server of their
    own: the temporary server's SQLite database makes parallel agencies wait now and then
    (bench/README.md, "Session 10"). None when PREFECT_API_URL names a server. `kinerja run`
    and `backfill` of several agencies start no temporary server early (which would set
    PREFECT_API_URL), so the setting is still unset here when the user named no server."""
    from prefect.settings import PREFECT_API_URL

    return None if PREFECT_API_URL.value() else TEMPORARY_SERVER_NOTE


def appraise_each(codes: list[str], job: dict[str, Any], executor: str = "local",
                  dask_address: str | None = None) -> list[dict[str, Any]]:
    """Run `job` for every agency inside the current flow run; every agency's outcome, in the
    order of `codes`.

    `local`: one after the other in this process, so that agencies share one machine's memory.
    `dask`: the tasks go to a DaskTaskRunner opened here, exactly as `Task.submit` hands a task
    to its flow's runner; the executor is a setting read at run time, and a flow's own task
    runner is fixed where the flow is defined (a deployment could not choose it).
    """
    logger = get_run_logger()
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {', '.join(EXECUTORS)}, not "
                         f"{identifiers.shown(executor)}")
    if executor == "local":
        outcomes = []
        for code in codes:
            # Subflows of this flow, as the scheduled flow always ran them.
            try:
                outcomes.append(run_agency(code, job))
            except AgencyFailed as failure:
                outcomes.append(_outcome(code, "failed", reason=failure.reason))
    else:
        note = temporary_server_note()
        if note:
            logger.info("%s", note)
        with prefect_api_for_children(), worker_environ(), agency_scheduling(), \
                dask_task_runner(dask_address, len(codes)) as runner:
            logger.info("%d agencies on Dask (%s)", len(codes),
                        dask_address or "LocalCluster: " + ", ".join(
                            f"{k}={v}" for k, v in local_cluster_kwargs(len(codes)).items()))
            # Dask starts tasks of equal priority in the order they came.
            futures = {code: runner.submit(agency_run, {"agency_code": code, "job": job})
                       for code in largest_first(codes, job)}
            for future in futures.values():
                future.wait()
            outcomes = [_dask_outcome(code, futures[code]) for code in codes]
    for o in outcomes:
        if o["status"] == "failed":
            logger.error("%s %s failed: %s", o["agency_code"], _job_label(job), o["reason"])
    return outcomes


def agencies_run_name() -> str:
    """`flow_run_name` of the multi-agency flow: `agencies-2025-S1`, `agencies-backfill-2025-S1`."""
    from prefect.runtime import flow_run

    job = flow_run.parameters.get("job") or {}
    try:
        if job.get("flow") == "backfill":
            return f"agencies-backfill-{identifiers.period_id(job.get('from_period'))}"
        return f"agencies-{identifiers.period_id(job.get('period_id'))}"
    except identifiers.InvalidIdentifier:
        return observe.INVALID_NAME


@flow(name="agencies", log_prints=True, flow_run_name=agencies_run_name)
def appraise_agencies(agency_codes: list[str], job: dict[str, Any], executor: str = "local",
                      dask_address: str | None = None) -> dict[str, Any]:
    """Every agency's run of `job` (see `semester_job`, `backfill_job`) on the executor.

    Returns `{"outcomes": [...]}`, one per agency; raises `AgenciesFailed` (carrying every
    outcome) when any agency failed, after all of them ran.
    """
    install_log_masking()
    # An agency named twice (a deployment's raw parameters) runs once.
    codes = list(dict.fromkeys(identifiers.agency_codes(agency_codes)))
    job = _checked_job(job)
    periods = [job["period_id"]] if job["flow"] == "semester" else [job["from_period"]]
    observe.label_run(codes, periods, job["kind"])
    get_run_logger().info("%s for %d agencies (%s): %s", _job_label(job), len(codes), executor,
                          ", ".join(codes))
    outcomes = appraise_each(codes, job, executor, dask_address)
    if any(o["status"] == "failed" for o in outcomes):
        raise AgenciesFailed(_job_label(job), outcomes)
    return {"outcomes": outcomes}
