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
from flows.semester import semester_appraisal
from kinerja import identifiers
from kinerja.config import load_settings
from kinerja.period import Period
from kinerja.redact import one_line

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
    """Appraise the semester that just closed for every agency of the configuration, one
    `semester_appraisal` subflow (kind `scheduled`) per agency, one agency at a time.

    The schedule passes no parameters; `period_id` and `agencies` only serve a data engineer
    who re-triggers a missed scheduled run by hand. One agency's failure does not stop the
    others; the flow fails at the end, naming every agency that failed.
    """
    logger = get_run_logger()
    scheduled_at = flow_run.scheduled_start_time
    period = (Period.parse(identifiers.period_id(period_id)) if period_id
              else closed_period(scheduled_at))
    settings = load_settings()
    codes = identifiers.agency_codes(agencies) if agencies else sorted(settings.agencies)
    if not codes:
        raise ValueError("no agency configured: add [agencies.<code>] to kinerja.toml "
                         "(or the file named by KINERJA_CONFIG)")
    observe.label_run(codes, [period.id], "scheduled")
    logger.info("scheduled for %s: %s for %s", scheduled_at.astimezone(TIMEZONE).isoformat(),
                period.id, ", ".join(codes))

    results: dict[str, Any] = {}
    failures: dict[str, str] = {}
    for code in codes:
        # Agencies run one after the other: a province's agencies must share one machine's
        # memory (domain.md "Scale").
        state = semester_appraisal(agency_code=code, period_id=period.id, kind="scheduled",
                                   return_state=True)
        if state.is_completed():
            summary = state.result()
            results[code] = {"run_id": summary["run_id"], "rows_read": summary["rows_read"],
                             "rows_quarantined": summary["rows_quarantined"]}
        else:
            try:
                state.result()
                reason = state.message or state.name or "failed"
            except BaseException as error:  # the subflow's own exception
                reason = one_line(error)
            failures[code] = reason
            logger.error("%s %s failed: %s", code, period.id, reason)
    if failures:
        raise ScheduledRunFailed(
            f"{period.id}: {len(failures)} of {len(codes)} agencies failed: "
            + "; ".join(f"{code}: {reason}" for code, reason in failures.items())
        )
    return {"period_id": period.id, "agencies": results}
