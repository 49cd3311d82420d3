"""The scheduled semester run: twice a year, after each semester closes, for every configured
agency (interface.md "Flows and schedules"; deployed by `prefect.yaml`).

The flow takes no parameters: the period is the one that closed last before the run's
*scheduled* time in Asia/Jakarta, so a run that starts late (a worker was down over the weekend)
still appraises the period it was scheduled for.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from flows import observe
from flows.agencies import appraise_each, semester_job
from kinerja import identifiers
from kinerja.agencies import resolve_agencies
from kinerja.config import load_settings
from kinerja.period import Period

TIMEZONE = ZoneInfo("Asia/Jakarta")


def closed_period(scheduled_time: datetime) -> Period:
    """The latest semester that had ended by `scheduled_time`, a local date in Asia/Jakarta.

    15 January closes the previous year's S2; 15 July closes the same year's S1 (and so does
    any other day of its half-year). A naive time is taken as UTC, as Prefect reports times.
    """
    if scheduled_time.tzinfo is None:
        scheduled_time = scheduled_time.replace(tzinfo=UTC)
    local = scheduled_time.astimezone(TIMEZONE)
    return Period(local.year - 1, 2) if local.month <= 6 else Period(local.year, 1)


class ScheduledRunFailed(RuntimeError):
    """One or more agencies' runs failed; the others published."""


@flow(name="scheduled_semester_appraisal", log_prints=True,
      flow_run_name=observe.scheduled_run_name)
def scheduled_semester_appraisal(
    period_id: str | None = None, agencies: list[str] | None = None
) -> dict[str, Any]:
    """Appraise the semester that just closed for every agency of the configuration (or, when
    none is configured, every agency folder of the landing zone), one `semester_appraisal` run
    (kind `scheduled`) per agency: one at a time in this process, or in parallel on Dask with
    the setting `executor = "dask"` (flows/agencies.py).

    The schedule passes no parameters; `period_id` and `agencies` only serve a data engineer
    who re-triggers a missed scheduled run by hand. One agency's failure does not stop the
    others; the flow fails at the end, naming every agency that failed.
    """
    logger = get_run_logger()
    scheduled_at = flow_run.scheduled_start_time
    period = (Period.parse(identifiers.period_id(period_id)) if period_id
              else closed_period(scheduled_at))
    settings = load_settings()
    codes = (identifiers.agency_codes(agencies) if agencies
             else resolve_agencies("all", settings))
    observe.label_run(codes, [period.id], "scheduled")
    logger.info("scheduled for %s: %s for %s (executor %s)",
                scheduled_at.astimezone(TIMEZONE).isoformat(), period.id, ", ".join(codes),
                settings.executor)

    outcomes = appraise_each(codes, semester_job(period.id, kind="scheduled"), settings.executor,
                             settings.dask_address)
    failures = {o["agency_code"]: o["reason"] for o in outcomes if o["status"] == "failed"}
    if failures:
        raise ScheduledRunFailed(
            f"{period.id}: {len(failures)} of {len(codes)} agencies failed: "
            + "; ".join(f"{code}: {reason}" for code, reason in failures.items())
        )
    results = {o["agency_code"]: {k: o[k] for k in ("run_id", "rows_read", "rows_quarantined")}
               for o in outcomes}
    return {"period_id": period.id, "agencies": results}
