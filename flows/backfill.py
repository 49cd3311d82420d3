"""The `backfill` flow: re-run an agency's periods in order after a correction of its sources.

Later periods read earlier ones as currently published (S2 absences year to date, promotion over
four semesters, scoring.md section 8), so a correction of one period is carried forward by
re-running it and every period after it, one `semester_appraisal` subflow each (kind
`backfill`). Each period publishes atomically on its own: the backfill stops at the first period
that fails, the periods before it stay re-published, the ones from it on stay as they were.
"""

from __future__ import annotations

import shutil
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE

from flows import observe
from flows.semester import semester_appraisal
from kinerja import identifiers
from kinerja.config import load_settings
from kinerja.period import Period, periods_between
from kinerja.redact import install_log_masking, one_line
from tasks import steps
from tasks.warehouse import database as warehouse
from tasks.warehouse import run_ledger
from tasks.warehouse.change_log import run_changes


class BackfillFailed(RuntimeError):
    """A backfill stopped at `period_id` because its run failed with `reason`.

    `completed` holds the change summaries of the periods re-published before it, `not_run` the
    periods from `period_id` on, which keep their previous publication.
    """

    def __init__(self, agency_code: str, period_id: str, reason: str,
                 completed: list[dict[str, Any]] | None = None,
                 not_run: list[str] | None = None, published: bool = False,
                 dry_run: bool = False) -> None:
        self.agency_code = agency_code
        self.period_id = period_id
        self.reason = reason
        self.completed = list(completed or [])
        self.not_run = list(not_run or [])
        # True when the failing run had already published its period (a step after the
        # publication failed): that period is then re-published, not left as it was.
        self.published = published
        self.dry_run = dry_run
        done = [c["period_id"] for c in self.completed] + ([period_id] if published else [])
        failed = "failed after publishing" if published else "failed"
        if dry_run:
            super().__init__(
                f"dry run of the backfill of {agency_code} stopped at {period_id} (failed): "
                f"{reason} (previewed: {', '.join(done) or 'none'}; nothing published)")
            return
        super().__init__(
            f"backfill of {agency_code} stopped at {period_id} ({failed}): {reason} "
            f"(re-published: {', '.join(done) or 'none'}; "
            f"not re-run: {', '.join(self.not_run) or 'none'})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # Prefect may persist a failed flow's exception; keep every attribute across pickling.
        return (type(self), (self.agency_code, self.period_id, self.reason, self.completed,
                             self.not_run, self.published, self.dry_run))


@task(name="plan-backfill", cache_policy=NONE)
def plan_backfill(warehouse_url: str, agency_code: str, from_period: str,
                  to_period: str | None, dry_run: bool = False) -> list[str]:
    """The periods to re-run, in order; `to_period` defaults to the latest published one. A dry
    run only reads the warehouse, which may not exist yet."""
    first = Period.parse(from_period)
    with (warehouse.read_only(warehouse_url) if dry_run
          else warehouse.connected(warehouse_url)) as engine:
        latest = run_ledger.latest_published_period(engine, agency_code) if engine else None
    if to_period is None:
        if latest is None:
            raise ValueError(f"agency {agency_code} has no published period: nothing to backfill "
                             "(use kinerja run for a first publication)")
        last = Period.parse(latest)
    else:
        last = Period.parse(to_period)
    if last < first:
        raise ValueError(f"--to {last.id} is before --from {first.id}")
    if latest is not None and last.id < latest:
        # scoring.md: a correction must flow into every later published period.
        get_run_logger().warning(
            "%s: published periods after %s (up to %s) are not re-run and may still read the "
            "uncorrected values", agency_code, last.id, latest)
    return [p.id for p in periods_between(first, last)]


@task(name="summarise-changes", cache_policy=NONE)
def summarise_changes(warehouse_url: str, run_id: str) -> dict[str, Any]:
    """What the run changed against the publication it replaced (counts and short lists)."""
    with warehouse.connected(warehouse_url) as engine:
        return run_changes(engine, run_id).summary()


def _published_since(warehouse_url: str, agency_code: str, period_id: str,
                     since: datetime) -> bool:
    """Whether a backfill run of the agency-period that started at or after `since` published."""
    with warehouse.connected(warehouse_url) as engine:
        return run_ledger.published_since(engine, agency_code, period_id, since, "backfill")


@flow(name="backfill", log_prints=True, flow_run_name=observe.backfill_run_name)
def backfill(
    agency_code: str,
    from_period: str,
    to_period: str | None = None,
    landing: str | None = None,
    warehouse_url: str | None = None,
    reports: str | None = None,
    policy: str | None = None,
    agency_name: str | None = None,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Re-run `from_period` through `to_period` (default: the agency's latest published period)
    in order, each as a `semester_appraisal` run of kind `backfill`.

    With `dry_run`, each period is a dry run (nothing published) whose results the later
    periods read in place of the publication it would have replaced, so each period's change
    summary is the one the real backfill would record.

    Returns the agency, the periods and, per period, the change summary of its run (change rows,
    employees changed, predikat changes, files changed against the replaced run). Raises
    `BackfillFailed` at the first period that fails.
    """
    install_log_masking()
    # A deployment run takes these as parameters: checked before anything touches a path.
    agency_code = identifiers.agency_code(agency_code)
    from_period = identifiers.period_id(from_period)
    to_period = identifiers.period_id(to_period) if to_period is not None else None
    settings = load_settings()
    url = warehouse_url or settings.warehouse_url
    logger = get_run_logger()
    if not dry_run:
        steps.prepare_warehouse(url)
    periods = plan_backfill(url, agency_code, from_period, to_period, dry_run)
    observe.label_run([agency_code], periods, "backfill", dry_run)
    logger.info("%sbackfill of %s: %s", "dry run of a " if dry_run else "", agency_code,
                ", ".join(periods))
    if dry_run:
        return _dry_backfill(agency_code, periods, landing, warehouse_url, reports, policy,
                             agency_name, settings.work)
    completed: list[dict[str, Any]] = []
    for index, period_id in enumerate(periods):
        started = warehouse.utcnow()
        try:
            summary = semester_appraisal(
                agency_code=agency_code, period_id=period_id, landing=landing,
                # The caller's value, not the resolved URL: a password must not become a
                # Prefect parameter of every subflow.
                warehouse_url=warehouse_url, reports=reports, policy=policy, kind="backfill",
                agency_name=agency_name,
            )
        except Exception as error:
            try:
                published = _published_since(url, agency_code, period_id, started)
            except Exception:  # the warehouse itself may be what failed: keep the first reason
                published = False
            failure = BackfillFailed(agency_code, period_id, one_line(error), completed,
                                     periods[index + 1 if published else index:], published)
            logger.error("%s", failure)
            raise failure from error
        changes = summarise_changes(url, summary["run_id"])
        completed.append(changes)
        # A first publication says so, instead of "0 file(s) differ from run None".
        logger.info("%s", changes["description"])
    return {"agency_code": agency_code, "periods": periods, "runs": completed}


def _dry_backfill(agency_code: str, periods: list[str], landing: str | None,
                  warehouse_url: str | None, reports: str | None, policy: str | None,
                  agency_name: str | None, work: Path) -> dict[str, Any]:
    """Each period as a dry run, in order, the earlier ones' results kept in one folder for
    the later ones to read (`steps.preview`); the folder goes at the end."""
    preview_root = work / f"{steps.DRY_RUN_PREFIX}{uuid.uuid4().hex}"
    completed: list[dict[str, Any]] = []
    try:
        for index, period_id in enumerate(periods):
            try:
                summary = semester_appraisal(
                    agency_code=agency_code, period_id=period_id, landing=landing,
                    warehouse_url=warehouse_url, reports=reports, policy=policy,
                    kind="backfill", agency_name=agency_name, dry_run=True,
                    preview_root=str(preview_root),
                )
            except Exception as error:
                failure = BackfillFailed(agency_code, period_id, one_line(error), completed,
                                         periods[index:], dry_run=True)
                get_run_logger().error("%s", failure)
                raise failure from error
            completed.append({**summary["changes"], "would_fail": summary["would_fail"],
                              "first_changes": summary["first_changes"],
                              "quarantine": summary["quarantine"]})
    finally:
        shutil.rmtree(preview_root, ignore_errors=True)
    return {"agency_code": agency_code, "periods": periods, "runs": completed, "dry_run": True}
