"""The `semester_appraisal` flow: one agency, one period, from landing zone to warehouse."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from contextlib import ExitStack
from importlib.metadata import version
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from flows import observe
from kinerja import faults, identifiers, interrupts, timings
from kinerja.config import load_settings
from kinerja.memory import release_memory
from kinerja.period import Period
from kinerja.policy import Policy, load_policy
from kinerja.preflight import check_landing
from kinerja.redact import install_log_masking, mask_secrets, one_line
from schemas.sources import REFERENCE_DATASETS, VALIDATION_ORDER
from tasks import second_process as parallel
from tasks import steps
from tasks.sources.extract import DatasetError, period_dir
from tasks.warehouse.database import redact_url
from tasks.warehouse.run_ledger import RUN_KINDS
from tasks.warehouse.run_lock import RunLock


def code_version() -> str:
    """The package version, and the git commit when running from a checkout."""
    release = version("kinerja")
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).parent,
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return release
    return f"{release}+{commit}" if commit else release


class RunFailed(RuntimeError):
    """A run's failure whose original message had to be masked before Prefect stores it."""


@flow(name="semester_appraisal", log_prints=True,
      flow_run_name=observe.semester_run_name)
def semester_appraisal(
    agency_code: str,
    period_id: str,
    landing: str | None = None,
    warehouse_url: str | None = None,
    reports: str | None = None,
    policy: str | None = None,
    kind: str = "manual",
    agency_name: str | None = None,
    dry_run: bool = False,
    preview_root: str | None = None,
) -> dict[str, Any]:
    """Extract, validate, score, publish and report one semester of one agency.

    Returns the run's summary: row accounting per dataset, predikat counts, where things are.
    With `dry_run`, stops after scoring and returns what publishing would quarantine and change
    instead (`dry_run_appraisal`): nothing is written to the warehouse or the reports.
    """
    install_log_masking()
    clock = timings.RunClock()  # wall time and peak memory per step, recorded on the run
    # Parameters may come from a deployment run, not only the command line: checked here too.
    agency_code = identifiers.agency_code(agency_code)
    period = Period.parse(identifiers.period_id(period_id))
    if kind not in RUN_KINDS:
        raise ValueError(f"kind must be one of {', '.join(RUN_KINDS)}")
    observe.label_run([agency_code], [period.id], kind, dry_run)  # tags agency:, period:, kind:
    settings = load_settings()
    landing_root = Path(landing) if landing else settings.agency_landing(agency_code)
    url = warehouse_url or settings.warehouse_url
    reports_dir = str(reports or settings.reports)
    policy_ref = policy or settings.agency_policy(agency_code)
    loaded_policy = load_policy(policy_ref)
    # None when not configured: the publication keeps the name the warehouse has.
    name = agency_name or settings.agency(agency_code).name
    run_id = uuid.uuid4().hex
    # A dry run's folder is named apart: it has no pipeline_run row to say whose it is.
    work_root = str(settings.work / (f"{steps.DRY_RUN_PREFIX}{run_id}" if dry_run else run_id))
    logger = get_run_logger()
    logger.info("%s %s: %s %s into %s", "dry run" if dry_run else "run", run_id, agency_code,
                period.id, redact_url(url))

    sources = settings.agency(agency_code).sources  # datasets read from SQL, not files
    # Before a run is on record: a wrong agency or period leaves no failed run behind.
    try:
        check_landing(landing_root, agency_code, period.id, sources)
    except Exception as error:
        observe.record_failure(agency_code, period.id, run_id, kind, error, name)  # never raises
        raise
    if dry_run:
        if preview_root is not None:
            # A parameter a deployment may set: the dry run writes there, so only inside `work`.
            preview_root = str(identifiers.inside(settings.work, preview_root))
        return dry_run_appraisal(url, agency_code, period.id, landing_root, loaded_policy,
                                 work_root, preview_root, name)
    steps.prepare_warehouse(url)
    record = {
        "run_id": run_id, "agency_code": agency_code, "period_id": period.id,
        "flow_run_id": str(flow_run.id) if flow_run.id else None, "kind": kind,
        "policy_name": loaded_policy.name, "policy_hash": loaded_policy.hash,
        "code_version": code_version(),
    }
    # One run per agency-period at a time, held until this run has finished (run_lock.py).
    # The run goes on record as `running` only once it holds the lock, so any other running row
    # of the agency-period is a dead run's, which open_run marks abandoned.
    lock = RunLock(url, agency_code, period.id, run_id=run_id,
                   wait_seconds=settings.run_lock_wait_seconds)
    # A large agency's steps share a second process (tasks/second_process.py).
    processes = ExitStack()
    try:
        lock.acquire()
        processes.enter_context(parallel.for_the_run())
        steps.open_run(url, str(settings.work), abandon=lock.held,
                       retention_days=settings.work_retention_days, **record)
        faults.point("run.locked")
        clock.lap("start")
        folder = period_dir(landing_root, agency_code, period)
        # A large agency's second process starts now, while units and employees are validated.
        parallel.prepare(steps.employees_expected(str(folder), sources.get("employees")),
                         steps.second_process_started)
        summaries = _validate_all(str(folder), period.id, work_root, sources, agency_code)
        clock.lap("extract+validate", [s.get("timing") for s in summaries])
        steps.record_validation(url, run_id, agency_code, period.id, work_root, summaries)
        steps.enforce_quarantine_limits(summaries, settings.max_quarantine_share)
        faults.point("run.validated")

        counts = {
            "rows_read": sum(s["rows_read"] for s in summaries),
            "rows_accepted": sum(s["rows_accepted"] for s in summaries),
            "rows_quarantined": sum(s["rows_quarantined"] for s in summaries),
        }
        clock.lap("record-validation")
        employees = next(s["rows_accepted"] for s in summaries if s["dataset"] == "employees")
        attendance = steps.score_attendance(period.id, loaded_policy, work_root, employees)
        # Great Expectations imported in the second process while this one scores and publishes.
        parallel.prepare(employees, steps.prepare_quality_check)
        steps.load_earlier_periods(url, agency_code, period.id, work_root)
        predikat_counts = steps.score(agency_code, period.id, loaded_policy, work_root)
        clock.lap("score", [attendance["timing"]])
        faults.point("run.scored")
        name = steps.publish(url, run_id, agency_code, name, period.id, work_root, counts,
                             lock.token())
        clock.lap("publish")
        # What validation and scoring freed is handed back before the check: a large agency's
        # check runs in the second process, whose peak then adds to this one's.
        release_memory()
        # Published and committed: a failure from here on is recorded on the run, which stays
        # published (fail_run); a failed expectation is a finding for the report, not a failure.
        outputs = steps.check_quality(url, agency_code, period.id, reports_dir, loaded_policy,
                                      employees, work_root)
        clock.lap("check", [outputs.pop("timing", None)])
        # The check's second process ends: it holds Great Expectations (about 200 MB), which
        # the report does not need. The report's, started during the check, takes its place.
        parallel.retire()
        # What validation, scoring and the check freed is still held by pyarrow's pool and
        # malloc: handed back first, the report's own memory does not stack on it (at 100,000
        # employees the report was the run's peak by that much).
        release_memory()
        reports = steps.write_reports(url, agency_code, period.id, reports_dir, work_root,
                                      loaded_policy, employees)
        processes.close()
        clock.lap("report", [reports.pop("timing", None)])
        outputs.update(reports)
        faults.point("run.reported")
    except BaseException as error:
        # Ctrl-C, SIGTERM (Prefect's TerminationSignal) or a failure: the run ends on record
        # either way, and a run that did not get its lock is recorded as failed too.
        signum = interrupts.interrupted_by(error)
        if signum is not None:
            interrupts.note(signum)
        reason = one_line(error) if signum is None else interrupts.describe(signum)
        observe.record_failure(agency_code, period.id, run_id, kind, error, name)  # never raises
        steps.close_failed_run(url, run_id, reason, record)
        if signum is None:
            logger.error("run %s failed: %s (work folder kept: %s)", run_id, reason, work_root)
        else:
            # Nothing to diagnose in an interrupted run's intermediate files.
            shutil.rmtree(work_root, ignore_errors=True)
            logger.error("run %s %s", run_id, reason)
        if isinstance(error, Exception) and mask_secrets(str(error)) != str(error):
            # Prefect stores the flow's exception in its state and events: never a password.
            raise RunFailed(one_line(error)) from None
        raise
    finally:
        processes.close()
        lock.release()

    summary = {
        "run_id": run_id,
        "agency_code": agency_code,
        "agency_name": name,
        "period_id": period.id,
        "policy_name": loaded_policy.name,
        "warehouse": redact_url(url),
        **counts,
        "datasets": [{k: s[k] for k in ("dataset", "rows_read", "rows_accepted",
                                         "rows_quarantined")} for s in summaries],
        "predikat_counts": predikat_counts,
    }
    summary.update(outputs)  # report, workbook, data_docs, quality_status
    shutil.rmtree(work_root, ignore_errors=True)
    # What this run changed against the publication it replaced (issue 11), for the log, the
    # command line and the artifacts.
    details = observe.run_details(url, run_id)
    summary["changes"] = details.get("changes")
    if summary["changes"]:
        logger.info("%s", summary["changes"]["description"])
    observe.record_run(url, summary, kind, details)  # artifacts; event of a failed check
    clock.lap("finish")
    summary["timings"] = steps.record_timings(url, run_id, clock.steps())
    logger.info("run %s published: read %d, accepted %d, quarantined %d", run_id,
                counts["rows_read"], counts["rows_accepted"], counts["rows_quarantined"])
    return summary


def _validate_all(folder: str, period_id: str, work_root: str, sources: dict[str, Any],
                  agency_code: str) -> list[dict[str, Any]]:
    """Every dataset validated and staged; units and employees first, since the others'
    references are checked against them, then the rest concurrently."""
    summaries = [steps.validate_source(d, folder, period_id, work_root, sources.get(d),
                                       agency_code) for d in REFERENCE_DATASETS]
    futures = [steps.validate_source.submit(d, folder, period_id, work_root, sources.get(d),
                                            agency_code) for d in VALIDATION_ORDER
               if d not in REFERENCE_DATASETS]
    return summaries + [f.result() for f in futures]


def dry_run_appraisal(url: str, agency_code: str, period_id: str, landing_root: Path,
                      policy: Policy, work_root: str,
                      preview_root: str | None, agency_name: str | None) -> dict[str, Any]:
    """The dry run (`kinerja run --dry-run`): extract, validate and score as a run would, then
    compare with the current publication. No run lock, no pipeline_run row, no publication, no
    report: the warehouse is only read (`warehouse.existing_engine`), and the work folder goes.
    A quarantine over the limit, which would fail the real run, is returned as `would_fail`."""
    logger = get_run_logger()
    settings = load_settings()
    period = Period.parse(period_id)
    sources = settings.agency(agency_code).sources
    folder = str(period_dir(landing_root, agency_code, period))
    try:
        summaries = _validate_all(folder, period.id, work_root, sources, agency_code)
        would_fail = None
        try:
            steps.enforce_quarantine_limits(summaries, settings.max_quarantine_share)
        except DatasetError as error:
            would_fail = one_line(error)
            logger.warning("dry run: a real run would fail here: %s", would_fail)
        counts = {key: sum(s[key] for s in summaries)
                  for key in ("rows_read", "rows_accepted", "rows_quarantined")}
        steps.load_earlier_periods(url, agency_code, period.id, work_root, dry_run=True,
                                   preview_root=preview_root)
        # Given no count of employees, a dry run scores alone (unless the setting
        # parallel_from_employees is 0): a process started for that alone would cost more.
        steps.score_attendance(period.id, policy, work_root)
        predikat_counts = steps.score(agency_code, period.id, policy, work_root)
        preview = steps.preview(url, agency_code, period.id, work_root, summaries, preview_root)
    except Exception as error:
        if mask_secrets(str(error)) != str(error):
            # As for a run: Prefect stores the flow's exception, never a password.
            raise RunFailed(one_line(error)) from None
        raise
    finally:
        shutil.rmtree(work_root, ignore_errors=True)
    logger.info("%s", preview["description"])
    return {
        "run_id": None,
        "dry_run": True,
        "agency_code": agency_code,
        "agency_name": agency_name or preview["agency_name"] or agency_code,
        "period_id": period.id,
        "policy_name": policy.name,
        "warehouse": redact_url(url),
        **counts,
        "datasets": [{k: s[k] for k in ("dataset", "rows_read", "rows_accepted",
                                         "rows_quarantined")} for s in summaries],
        "predikat_counts": predikat_counts,
        "changes": {k: v for k, v in preview.items()
                    if k not in ("first_rows", "quarantine", "agency_name")},
        "first_changes": preview["first_rows"],
        "quarantine": preview["quarantine"],
        "would_fail": would_fail,
    }
