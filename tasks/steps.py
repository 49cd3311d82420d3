"""Thin Prefect tasks around the pure steps.

Prefect keeps every task result in memory until the flow ends, so tasks hand each other paths in
the run's work folder and small summaries, never frames. Engines are made inside each task from
the URL (an engine is neither serialisable nor cacheable).
"""

from __future__ import annotations

import pickle
import shutil
import threading
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from prefect import get_run_logger, task
from prefect.cache_policies import NONE

from kinerja import faults, timings
from kinerja.config import InputLimits, SqlSource, load_settings
from kinerja.memory import imported_for_good, release_memory
from kinerja.period import Period
from kinerja.policy import Policy
from kinerja.redact import one_line
from schemas.outputs import FACT_TABLES
from schemas.sources import DATASETS, REFERENCE_DATASETS, ValidationContext
from tasks import second_process as parallel
from tasks.attendance_share import FigureParts, gathered, score_partitions, second_share
from tasks.score import ScoringInputs, score_period
from tasks.sources.extract import DatasetError, survey_dataset
from tasks.sources.partition import (
    PARTITIONED_DATASETS,
    PartitionedFrames,
    SecondHalf,
    SecondProcess,
    SplitPlan,
    validate_partitioned,
    validate_second_half,
)
from tasks.sources.sql_source import extract_raw
from tasks.sources.validate import (
    QUARANTINE_COLUMNS,
    check_file_counts,
    validate_dataset,
    with_references,
)
from tasks.transient import resilient, task_timeout
from tasks.warehouse import database as warehouse
from tasks.warehouse import publish as publisher
from tasks.warehouse import run_ledger
from tasks.warehouse.change_log import preview_changes
from tasks.warehouse.preview import SHOWN_CHANGE_ROWS, overlay_prior, quarantine_preview

if TYPE_CHECKING:
    from tasks.reporting.report import ReportData

# Work folders of dry runs (`flows.semester.dry_run_appraisal`, a dry backfill's shared one) start
# with this; a run's is its run id.
DRY_RUN_PREFIX = "dry-"


class WorkFolder:
    """Where one run stages its intermediate frames as parquet."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, kind: str, name: str) -> Path:
        path = self.root / kind / f"{name}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def write(self, kind: str, name: str, frame: pd.DataFrame) -> None:
        frame.to_parquet(self.path(kind, name), index=False)

    def read(self, kind: str, name: str) -> pd.DataFrame:
        return pd.read_parquet(self.path(kind, name))

    def has(self, kind: str, name: str) -> bool:
        return (self.root / kind / f"{name}.parquet").is_file()

    def partitions(self, kind: str, name: str) -> PartitionedFrames:
        """A partitioned dataset's folder (tasks/sources/partition.py):
        `<kind>/<name>/part-*.parquet`."""
        return PartitionedFrames(self.root / kind / name)


def _context(work: WorkFolder, period: Period, limits: InputLimits) -> ValidationContext:
    """The validation context of the next dataset: the reference datasets staged so far."""
    ctx = ValidationContext(period).with_limits(limits)
    for name in REFERENCE_DATASETS:
        if work.has("accepted", name):
            ctx = with_references(ctx, name, work.read("accepted", name),
                                  pd.Index(work.read("keys", name)["key"]))
    return ctx


@task(name="prepare-warehouse", cache_policy=NONE, **resilient("prepare-warehouse"))
def prepare_warehouse(warehouse_url: str) -> None:
    with warehouse.connected(warehouse_url) as engine:
        warehouse.ensure_schema(engine)


@task(name="open-run", cache_policy=NONE, **resilient("open-run"))
def open_run(warehouse_url: str, work_dir: str | None = None, abandon: bool = False,
             retention_days: float | None = None, **run: Any) -> list[str]:
    """Record the run (`run_ledger.start_run`). With `abandon` (the run holds its run lock), also
    mark failed ("abandoned") the agency-period's other runs still on record as running, which
    are necessarily dead, and returns their ids; their work folders under `work_dir` go, as do
    those that published runs killed before removing them left behind, and, with
    `retention_days`, those of runs that failed (or dry runs killed) longer ago than that."""
    with warehouse.connected(warehouse_url) as engine:
        run_ledger.start_run(engine, **run)
        if not abandon:
            return []
        abandoned = run_ledger.abandon_runs(engine, run["agency_code"], run["period_id"],
                                           by_run_id=run["run_id"])
        folders = ({p.name: p for p in Path(work_dir).iterdir() if p.is_dir()}
                   if work_dir and Path(work_dir).is_dir() else {})
        leftover = run_ledger.finished_runs(engine, run["agency_code"], run["period_id"],
                                           sorted(folders))
        if retention_days is not None:
            before = warehouse.utcnow() - timedelta(days=retention_days)
            leftover += run_ledger.expired_failed_runs(engine, sorted(folders), before)
            leftover += [name for name, path in folders.items()
                         if name.startswith(DRY_RUN_PREFIX) and _modified_before(path, before)]
    for run_id in abandoned:
        get_run_logger().warning("run %s of %s %s was still on record as running without its "
                                 "lock: marked failed (abandoned)", run_id, run["agency_code"],
                                 run["period_id"])
    for run_id in dict.fromkeys(leftover):
        shutil.rmtree(folders[run_id], ignore_errors=True)
    return abandoned


def _modified_before(path: Path, before: datetime) -> bool:
    try:
        modified = datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(tzinfo=None)
    except OSError:
        return False
    return modified < before


@task(name="validate", task_run_name="validate-{dataset}", cache_policy=NONE,
      **resilient("validate"))
@timings.timed("extract+validate", key="dataset")
def validate_source(dataset: str, folder: str, period_id: str, work_root: str,
                    source: SqlSource | None = None, agency_code: str = "",
                    limits: InputLimits | None = None,
                    partition_rows: int | None = None) -> dict[str, Any]:
    """Extract one dataset (from its SQL source when the agency configures one, else from the
    landing zone), validate it, stage accepted and quarantined rows. `limits` default to the
    settings' (`[limits]` of kinerja.toml and their environment variables). Attendance is
    validated in partitions of about `partition_rows` rows (default: the setting
    `attendance_partition_rows`) and staged as `accepted/attendance/part-*.parquet`.
    Returns the row accounting per file (or query)."""
    work = WorkFolder(work_root)
    period = Period.parse(period_id)
    partitioned = dataset in PARTITIONED_DATASETS
    if limits is None or (partitioned and not partition_rows):
        settings = load_settings()
        limits = limits or settings.limits
        partition_rows = partition_rows or settings.attendance_partition_rows
    ctx = _context(work, period, limits)
    if partitioned:
        # The employees are validated before attendance: their number sizes the agency. A SQL
        # source is read whole, in this process.
        with parallel.second_process(len(ctx.accepted_nips) if source is None else 0) as runner:
            validated, source_files = validate_partitioned(
                dataset, Path(folder), source, agency_code, period, limits, ctx, work.root,
                partition_rows, None if runner is None else _second_half(runner, limits, ctx))
    else:
        raw = extract_raw(dataset, folder, source, agency_code, period, limits)
        validated = validate_dataset(raw, ctx)
        source_files = raw.files
        del raw
        work.write("accepted", dataset, validated.accepted)
    work.write("quarantine", dataset, validated.quarantine)
    if dataset in ("units", "employees"):
        work.write("keys", dataset, pd.DataFrame({"key": validated.keys_in_file.astype(str)}))
    rows_accepted = int(validated.file_counts["rows_accepted"].sum())
    logger = get_run_logger()
    for warning in validated.warnings:
        logger.warning(warning)
    logger.info("%s: read %d, accepted %d, quarantined %d", dataset, validated.rows_read,
                rows_accepted, validated.rows_quarantined)
    counts = validated.file_counts.set_index("path")
    files = [
        {**asdict(f), "rows_accepted": int(counts.at[f.path, "rows_accepted"]),
         "rows_quarantined": int(counts.at[f.path, "rows_quarantined"])}
        for f in source_files
    ]
    return {
        "dataset": dataset,
        "rows_read": validated.rows_read,
        "rows_accepted": rows_accepted,
        "rows_quarantined": validated.rows_quarantined,
        "files": files,
    }


def employees_expected(folder: str, source: SqlSource | None = None,
                       limits: InputLimits | None = None) -> int:
    """About how many employees the landing zone's employees files hold (their data lines),
    told before anything is validated, so that a large agency's second process can start while
    the units and employees are validated; 0 when it cannot be told cheaply (a SQL source, a
    workbook, a file that validation will refuse)."""
    if source is not None:
        return 0
    try:
        survey = survey_dataset(Path(folder), "employees", limits or load_settings().limits)
    except (DatasetError, OSError):
        return 0
    if not survey.paths or any(not path.lower().endswith(".csv") for path in survey.paths):
        return 0
    return survey.records_estimate


@task(name="start-second-process", cache_policy=NONE)
def second_process_started() -> None:
    """Nothing but the start: submitted as a large agency's run begins, so that the second
    process has started and imported the pipeline by the time attendance is validated."""


# No retries: its blocks are claimed once (tasks/sources/partition.py), a retry would find
# them taken; the whole dataset is retried with `validate_source` instead.
@task(name="validate-second-half", task_run_name="validate-{plan.name}-second-half",
      cache_policy=NONE, timeout_seconds=task_timeout("validate"))
def validate_in_second_process(plan: SplitPlan, limits: InputLimits,
                               ctx: ValidationContext) -> SecondHalf:
    """The second process's part of a dataset's files (`validate_second_half`): run there by
    `validate_source`, its inputs by value, its rows written into the run's work folder. The
    process then hands back what it freed: it goes on to scoring and the check
    (tasks/second_process.py)."""
    try:
        return validate_second_half(plan, limits, ctx,
                                    after_block=lambda: faults.point("validate.second_block"))
    finally:
        release_memory()


class _Running:
    """`validate_in_second_process` submitted: `Pending` for tasks/sources/partition.py."""

    def __init__(self, future: Any) -> None:
        self._future, self._done = future, threading.Event()
        future.add_done_callback(lambda _: self._done.set())

    def done(self) -> bool:
        return self._done.is_set()

    def result(self) -> SecondHalf:
        return self._future.result()


def _second_half(runner: Any, limits: InputLimits, ctx: ValidationContext) -> SecondProcess:
    """Starts `validate_in_second_process` of a plan on `second_process`'s runner."""

    def submit(plan: SplitPlan) -> _Running:
        return _Running(runner.submit(validate_in_second_process,
                                      {"plan": plan, "limits": limits, "ctx": ctx}))

    return submit


@task(name="record-validation", cache_policy=NONE, **resilient("record-validation"))
def record_validation(warehouse_url: str, run_id: str, agency_code: str, period_id: str,
                      work_root: str, summaries: list[dict[str, Any]]) -> None:
    """Lineage and quarantine go on record even when the run then fails on a quarantine limit."""
    work = WorkFolder(work_root)
    files = pd.DataFrame([f for s in summaries for f in s["files"]])
    files = files[["dataset", "path", "sha256", "bytes", "rows_read", "rows_accepted",
                   "rows_quarantined"]]
    quarantine = pd.concat(
        [work.read("quarantine", s["dataset"]) for s in summaries], ignore_index=True
    ).reindex(columns=QUARANTINE_COLUMNS)
    quarantine.insert(0, "period_id", period_id)
    quarantine.insert(0, "agency_code", agency_code)
    with warehouse.connected(warehouse_url) as engine:
        publisher.record_validation(engine, run_id, files, quarantine)


def enforce_quarantine_limits(summaries: list[dict[str, Any]], limit: float) -> None:
    """Fails the run on the first dataset whose quarantined share is over `limit`, from the
    row accounting per file that `validate_source` returned."""
    for summary in summaries:
        check_file_counts(summary["dataset"], pd.DataFrame(summary["files"]), limit)


@task(name="load-earlier-periods", cache_policy=NONE, **resilient("load-earlier-periods"))
def load_earlier_periods(warehouse_url: str, agency_code: str, period_id: str,
                         work_root: str, dry_run: bool = False,
                         preview_root: str | None = None) -> None:
    """What scoring reads of earlier publications (`warehouse.load_prior`). A dry run only
    reads, from a warehouse that may not exist yet; a dry backfill's earlier periods
    (`preview_root`, see `preview`) stand in for their publications."""
    work = WorkFolder(work_root)
    period = Period.parse(period_id)
    with (warehouse.read_only(warehouse_url) if dry_run
          else warehouse.connected(warehouse_url)) as engine:
        if engine is not None:
            prior_absent, prior_predikat = warehouse.load_prior(engine, agency_code, period)
    if engine is None:  # nothing published yet: the empty frames, typed as the schema says
        with warehouse.connected("sqlite://") as empty:
            warehouse.ensure_schema(empty)
            prior_absent, prior_predikat = warehouse.load_prior(empty, agency_code, period)
    if preview_root:
        prior_absent, prior_predikat = overlay_prior(
            prior_absent, prior_predikat, period, _previewed_periods(Path(preview_root)))
    work.write("prior", "absent_days", prior_absent)
    work.write("prior", "predikat", prior_predikat)


def _previewed_periods(root: Path) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    if not root.is_dir():  # the first period of a dry backfill
        return {}
    return {
        folder.name: (pd.read_parquet(folder / "absent_days.parquet"),
                      pd.read_parquet(folder / "predikat.parquet"))
        for folder in sorted(root.iterdir()) if (folder / "predikat.parquet").is_file()
    }


@task(name="preview", cache_policy=NONE, **resilient("preview"))
def preview(warehouse_url: str, agency_code: str, period_id: str, work_root: str,
            summaries: list[dict[str, Any]], preview_root: str | None = None) -> dict[str, Any]:
    """A dry run's outcome instead of a publication: what publishing the scored frames would
    change against the current publication (the change summary and its first rows) and what
    it would quarantine. Writes nothing to the warehouse. With `preview_root` (a dry backfill)
    the period's results are kept there for the periods after it."""
    work = WorkFolder(work_root)
    facts = {name: work.read("facts", name) for name in ("fact_appraisal", "fact_followup")}
    files = pd.DataFrame([f for s in summaries for f in s["files"]],
                         columns=["dataset", "path", "sha256"])
    with warehouse.read_only(warehouse_url) as engine:
        found = preview_changes(engine, agency_code, period_id, facts,
                                work.read("accepted", "employees"),
                                work.read("accepted", "units"), files)
        name = warehouse.agency_name(engine, agency_code) if engine is not None else None
    if preview_root:
        kept = Path(preview_root) / Period.parse(period_id).id
        kept.mkdir(parents=True, exist_ok=True)
        work.read("facts", "fact_attendance")[["nip", "absent_days"]].to_parquet(
            kept / "absent_days.parquet", index=False)
        facts["fact_appraisal"][["nip", "period_id", "predikat"]].to_parquet(
            kept / "predikat.parquet", index=False)
    quarantine = pd.concat([work.read("quarantine", s["dataset"]) for s in summaries],
                           ignore_index=True)
    return {
        **found.summary(),
        "first_rows": found.log.head(SHOWN_CHANGE_ROWS).to_dict(orient="records"),
        "quarantine": quarantine_preview(quarantine),
        "agency_name": name,  # as the warehouse has it: a run without a name keeps it
    }


FIGURES = ("scored", "attendance_figures")  # in the work folder: `score_attendance`'s output


@task(name="score-attendance", cache_policy=NONE, **resilient("score-attendance"))
def score_attendance(period_id: str, policy: Policy, work_root: str,
                     employees: int = 0) -> dict[str, Any]:
    """Attendance's figures (`tasks.score.attendance_figures`), one partition at a time, each
    against the employees of its partition (every employee's rows are in his own partition:
    tasks/sources/partition.py), staged for `score`. A large agency's partitions are shared
    with the run's second process (tasks/attendance_share.py). Returns the number of
    partitions, those the second process scored (`elsewhere`) and its wall time and peak
    memory (`timing`, None without a second process)."""
    work = WorkFolder(work_root)
    period = Period.parse(period_id)
    staff = work.read("accepted", "employees")
    calendar = work.read("accepted", "calendar")
    attendance = work.partitions("accepted", "attendance")
    parts = FigureParts(work.root / "figures")
    shared: dict[str, Any] = {"elsewhere": [], "timing": None}
    with parallel.second_process(employees) as runner:
        if runner is None:
            own = dict(score_partitions(attendance, staff, calendar, period, policy,
                                        take=lambda _: True))
        else:
            parts.start()
            elsewhere = _attendance_elsewhere(runner, period_id, policy, work_root, parts,
                                              attendance.count)
            try:
                own = dict(score_partitions(attendance, staff, calendar, period, policy,
                                            take=parts.claims.take))
            finally:
                # On a failure here, the second process stops after its current partition.
                parts.claims.take_all(attendance.count)
                shared = _share_ended(elsewhere)
    figures = gathered(attendance, staff, calendar, period, policy, own,
                       None if runner is None else parts)
    work.write(*FIGURES, figures)
    shutil.rmtree(parts.folder, ignore_errors=True)
    return {"partitions": attendance.count, **shared}


def _attendance_elsewhere(runner: Any, period_id: str, policy: Policy, work_root: str,
                          parts: FigureParts, partitions: int) -> Any:
    """`score_attendance_elsewhere` submitted to the second process (`parts` and `partitions`
    are for tests/two_processes.py, which waits here for its first partition)."""
    return runner.submit(score_attendance_elsewhere, {
        "period_id": period_id, "policy": policy, "work_root": work_root})


def _share_ended(future: Any) -> dict[str, Any]:
    """Waits for the second process's share of attendance: the partitions it scored and its
    timing. If it failed, a warning and none: they are scored here (`gathered`)."""
    try:
        result = future.result()
    except Exception as error:
        get_run_logger().warning("the second process could not score its share of attendance "
                                 "(%s); this process scores it", one_line(error))
        return {"elsewhere": [], "timing": None}
    return {"elsewhere": result["partitions"], "timing": result["timing"]}


@task(name="score-attendance-share", cache_policy=NONE)
def score_attendance_elsewhere(period_id: str, policy: Policy,
                               work_root: str) -> dict[str, Any]:
    """The second process's share of `score_attendance`: partitions from the last back, each
    written to the work folder as it is scored (`attendance_share.second_share`)."""
    work = WorkFolder(work_root)
    with timings.measure() as figures:
        done = second_share(work.partitions("accepted", "attendance"),
                            work.read("accepted", "employees"), work.read("accepted", "calendar"),
                            Period.parse(period_id), policy, FigureParts(work.root / "figures"),
                            after_each=lambda: faults.point("score.second_partition"))
    release_memory()  # the process goes on to the check
    return {"partitions": done, "timing": {"step": "score attendance, second process",
                                           **figures}}


@task(name="score", cache_policy=NONE, **resilient("score"))
def score(agency_code: str, period_id: str, policy: Policy, work_root: str) -> dict[str, int]:
    """The run's policy (loaded once by the flow) over the staged frames and the attendance
    figures of `score_attendance`; returns the predikat counts."""
    work = WorkFolder(work_root)
    period = Period.parse(period_id)
    frames = {name: work.read("accepted", name) for name in DATASETS
              if name not in PARTITIONED_DATASETS}
    inputs = ScoringInputs(
        agency_code=agency_code,
        period=period,
        **frames,
        attendance=pd.DataFrame(),
        attendance_figures=work.read(*FIGURES),
        prior_absent_days=work.read("prior", "absent_days"),
        prior_predikat=work.read("prior", "predikat"),
    )
    facts = score_period(inputs, policy)
    for table, frame in facts.items():
        work.write("facts", table, frame)
    appraisal = facts["fact_appraisal"]
    counts = appraisal["predikat"].fillna(appraisal["status"]).value_counts()
    return {str(k): int(v) for k, v in counts.items()}


@task(name="publish", cache_policy=NONE, **resilient("publish"))
def publish(warehouse_url: str, run_id: str, agency_code: str, agency_name: str | None,
            period_id: str, work_root: str, counts: dict[str, int],
            run_lock: dict[str, Any] | None = None) -> str:
    """Publish the run's frames; returns the agency name as published. `run_lock` is the run
    lock's token, checked in the publishing transaction (tasks/warehouse/run_lock.py)."""
    work = WorkFolder(work_root)
    with warehouse.connected(warehouse_url) as engine:
        return publisher.publish_period(
            engine,
            run_id=run_id,
            agency_code=agency_code,
            agency_name=agency_name,
            period=Period.parse(period_id),
            units=work.read("accepted", "units"),
            employees=work.read("accepted", "employees"),
            facts={table: work.read("facts", table) for table in FACT_TABLES},
            counts=counts,
            run_lock=run_lock,
        )


@task(name="close-failed-run", cache_policy=NONE, **resilient("close-failed-run"))
def close_failed_run(warehouse_url: str, run_id: str, message: str,
                     record: dict[str, Any] | None = None) -> None:
    """Record the run's failure; `record` (start_run's fields) records a run that failed before
    it was opened."""
    with warehouse.connected(warehouse_url) as engine:
        run_ledger.fail_run(engine, run_id, message, record=record)


def quality_check(warehouse_url: str, agency_code: str, period_id: str, reports_dir: str,
                  policy: Policy | str | None = None) -> dict[str, Any]:
    """The data-quality suite over the agency-period's publication, recorded on its run, with
    its Data Docs under `reports_dir`: the suite's whole summary. The flow's `check` step and
    `kinerja check` both come here. `policy`: the run's (the flow), a name or path (`--policy`),
    or None for the policy named on the run."""
    # Great Expectations takes seconds to import: only runs that got this far pay for it.
    from tasks.reporting.check import check_publication

    with warehouse.connected(warehouse_url) as engine:
        return check_publication(engine, agency_code, period_id, reports_dir, policy)


@task(name="check", cache_policy=NONE, **resilient("check"))
def check_quality(warehouse_url: str, agency_code: str, period_id: str, reports_dir: str,
                  policy: Policy | None = None, employees: int = 0,
                  work_root: str | None = None) -> dict[str, Any]:
    """`quality_check` as a step of the flow: a failed expectation is returned, not raised. A
    large agency's check runs in the run's second process, where `prepare_quality_check` had
    Great Expectations imported while this one published (tasks/second_process.py); its wall
    time and peak memory there are returned under `timing`. Meanwhile this process reads what
    the report needs into the run's work folder (`read_report_ahead`), then starts the
    report's process (`second_process.prepare_next`)."""
    timing = None
    with parallel.second_process(employees) as runner:
        if runner is None:
            result = quality_check(warehouse_url, agency_code, period_id, reports_dir, policy)
        else:
            checked = runner.submit(quality_check_elsewhere, {
                "warehouse_url": warehouse_url, "agency_code": agency_code,
                "period_id": period_id, "reports_dir": reports_dir, "policy": policy})
            if work_root is not None and policy is not None:
                read_report_ahead(warehouse_url, agency_code, period_id, work_root, policy)
                # The report's process starts now, on the core this one would leave idle; what
                # the reading freed is handed back first, as three processes now share memory.
                release_memory()
                try:
                    parallel.prepare_next(employees, prepare_report_share)
                except Exception as error:  # the report step starts one itself
                    get_run_logger().warning("the report's process could not be started "
                                             "during the check (%s)", one_line(error))
            result = checked.result()
            timing = result.pop("timing")
    return {"quality_status": result["status"], "quality_failed": result["failed"],
            "quality_evaluated": result["evaluated"], "data_docs": result["data_docs"],
            "timing": timing}


REPORT_AHEAD = "report-publication.pickle"  # in the run's work folder, for its report step


def read_report_ahead(warehouse_url: str, agency_code: str, period_id: str, work_root: str,
                      policy: Policy) -> None:
    """The publication's tables and the rater calibration the report step needs, read into the
    run's work folder (`report.write_publication_ahead`) while the check runs in the second
    process and this one would only wait. Best effort: if it fails, the report step reads them
    itself, as it does when this file is missing."""
    from tasks.explain.sources import report_calibration
    from tasks.reporting.report import write_publication_ahead

    work = WorkFolder(work_root)
    path = work.root / REPORT_AHEAD
    try:
        if not work.has("accepted", "ratings"):
            return
        with warehouse.connected(warehouse_url) as engine:
            calibration = report_calibration(engine, agency_code, period_id,
                                             ratings=work.read("accepted", "ratings"),
                                             policy=policy)
            write_publication_ahead(engine, agency_code, period_id, path, calibration)
    except Exception as error:
        path.unlink(missing_ok=True)
        get_run_logger().warning("the report's data could not be read during the check (%s); "
                                 "the report step reads it itself", one_line(error))


@task(name="quality-check", cache_policy=NONE)
def quality_check_elsewhere(warehouse_url: str, agency_code: str, period_id: str,
                            reports_dir: str, policy: Policy | None = None) -> dict[str, Any]:
    """`quality_check` in the run's second process, which then hands back what the check
    freed, as the run's own process does between steps."""
    try:
        with timings.measure() as figures:
            result = quality_check(warehouse_url, agency_code, period_id, reports_dir, policy)
        return {**result, "timing": {"step": "check, second process", **figures}}
    finally:
        release_memory()


@task(name="prepare-check", cache_policy=NONE)
def prepare_quality_check() -> None:
    """Great Expectations imported in the run's second process (4 CPU-seconds), ahead of the
    check that runs there."""
    with imported_for_good():
        import great_expectations.validator.v1_validator  # noqa: F401

        import tasks.reporting.check  # noqa: F401


def publication_reports(warehouse_url: str, agency_code: str, period_id: str, reports_dir: str,
                        *, ratings: pd.DataFrame | None = None, policy: Policy | None = None,
                        policy_candidates: tuple[str | None, ...] = (),
                        employees: int | None = None, read_ahead: Path | None = None,
                        timings_elsewhere: list[dict[str, Any]] | None = None) -> dict[str, str]:
    """The HTML report and the HR workbook of the agency-period's publication: their paths. The
    rater calibration comes from `ratings` (the run's accepted ratings, which the flow still
    has) or else from the landing zone re-read (`kinerja check`). The flow's `report` step and
    `kinerja check` both come here. Given the agency's `employees` (the flow's step), a large
    agency's report is shared with a second process (tasks/second_process.py), which takes the
    report's jobs (`report.write_shared`: the agency workbook, the OPD workbooks, the OPD
    pages, largest first) while this one writes the index and then takes those left; its wall
    time and peak memory are added to `timings_elsewhere`. `read_ahead`: the file
    of `read_report_ahead`, used if it is there and of the current publication."""
    from tasks.explain.sources import report_calibration
    from tasks.reporting.report import load_publication_ahead, no_share
    from tasks.reporting.report import write_reports as write

    settings = load_settings()
    elsewhere: list[dict[str, Any]] = []
    with warehouse.connected(warehouse_url) as engine, ExitStack() as processes:
        runner = None if employees is None else \
            processes.enter_context(parallel.second_process(employees))
        if runner is not None:
            # Started now (unless the run's check started it), its start and imports overlap
            # this process's reading.
            parallel.submit_once(runner, prepare_report_share)
        ahead = load_publication_ahead(engine, agency_code, period_id, read_ahead) \
            if read_ahead is not None and read_ahead.exists() else None
        if ahead is not None:
            data, calibration = ahead
        else:
            data = None
            calibration = report_calibration(
                engine, agency_code, period_id, ratings=ratings, policy=policy,
                landing_root=None if ratings is not None else settings.agency_landing(
                    agency_code),
                sql_sources=settings.agency(agency_code).sources,
                policy_candidates=policy_candidates)

        def share(data: ReportData, reports: Path, scratch: Path) -> Callable[[], object]:
            if runner is None:
                return no_share(data, reports, scratch)
            # Handed over as a file, written before the pages go on: Prefect pickles a task's
            # parameters on a thread of its own, while the pages would still be adding to the
            # data's caches. The scratch folder is the report's own, and the file leaves it
            # before the folder is swapped in.
            handed = scratch / ".report-data.pickle"
            with handed.open("wb") as file:
                pickle.dump(data, file, protocol=pickle.HIGHEST_PROTOCOL)
            future = runner.submit(write_report_share, {
                "data_file": str(handed), "reports": str(reports), "scratch": str(scratch),
                "agency_workbook": True})

            def written() -> object:
                try:
                    result = future.result()
                finally:
                    handed.unlink(missing_ok=True)
                elsewhere.append(result["timing"])
                return result
            return written

        outputs = write(engine, agency_code, period_id, reports_dir, calibration, share=share,
                        data=data)
    if timings_elsewhere is not None:
        timings_elsewhere += elsewhere
    return outputs


@task(name="prepare-report", cache_policy=NONE)
def prepare_report_share() -> None:
    """The report's modules imported in its second process, while the run reads the
    publication."""
    with imported_for_good():
        import tasks.reporting.report_sections  # noqa: F401
        import tasks.reporting.workbook  # noqa: F401


@task(name="opd-workbooks", cache_policy=NONE)
def write_report_share(data_file: str, reports: str, scratch: str,
                       agency_workbook: bool) -> dict[str, Any]:
    """The second process's share of a report (`publication_reports`), from the report's data
    pickled by the step into its own scratch folder: the report's jobs the run has not taken
    (`report.write_shared`). Returns how many it did, and the wall time and
    peak memory there (`timing`)."""
    from tasks.reporting.report import write_shared

    faults.point("report.opd_workbooks")
    with timings.measure() as figures:
        with open(data_file, "rb") as file:
            data = pickle.load(file)  # noqa: S301 - written by this run's own report step
        jobs = write_shared(data, reports, scratch, agency_workbook=agency_workbook)
    # No memory handed back: the process ends with the report step.
    return {"jobs": jobs, "timing": {"step": "report OPD workbooks, second process", **figures}}


@task(name="report", cache_policy=NONE, **resilient("report"))
def write_reports(warehouse_url: str, agency_code: str, period_id: str,
                  reports_dir: str, work_root: str | None = None,
                  policy: Policy | None = None, employees: int | None = None) -> dict[str, Any]:
    """`publication_reports` as a step of the flow, with the ratings of the run's work folder;
    the second process's wall time and peak memory, if one was used, under `timing`."""
    work = WorkFolder(work_root) if work_root else None
    ahead = work.root / REPORT_AHEAD if work else None
    ratings = work.read("accepted", "ratings") if work and work.has("accepted", "ratings") \
        else None
    elsewhere: list[dict[str, Any]] = []
    try:
        outputs: dict[str, Any] = publication_reports(
            warehouse_url, agency_code, period_id, reports_dir, ratings=ratings, policy=policy,
            employees=employees, read_ahead=ahead, timings_elsewhere=elsewhere)
    finally:
        if ahead is not None:
            ahead.unlink(missing_ok=True)
    return {**outputs, "timing": elsewhere[0] if elsewhere else None}


@task(name="record-timings", cache_policy=NONE, **resilient("record-timings"))
def record_timings(warehouse_url: str, run_id: str,
                   steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The run's timings (kinerja/timings.py) on its run row, and in its log; returns them."""
    with warehouse.connected(warehouse_url) as engine:
        run_ledger.record_timings(engine, run_id, steps)
    get_run_logger().info("run %s timings (wall, peak resident memory):\n%s", run_id,
                          timings.describe(steps))
    return steps
