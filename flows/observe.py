"""What a data engineer watches from Prefect (issue 15): run names, tags, artifacts and the
event of a failed quality check. The flows call this module in a few lines; the payloads are the
pure functions of `flows/artifacts.py`, the automations that turn events into notifications are
`flows/notify.py`.

- **Names**: `semester_appraisal` runs are `3374-2025-S1`, the scheduled run `scheduled-2025-S1`,
  a backfill `backfill-3374-2025-S1` (its first period). Set by the flows' `flow_run_name`
  callables, which Prefect evaluates when the run starts, whoever started it (command line,
  deployment, parent flow).
- **Tags**: `kinerja`, `agency:<code>`, `period:<period>`, `kind:scheduled|backfill|manual`, added
  by the run itself through the Prefect client (`label_run`), so a deployment run whose agency is
  a parameter is tagged like one started from the command line. A scheduled run is tagged with
  every agency it appraises, a backfill with every period it re-runs.
- **Artifacts** (`record_run`, `record_failure`): see `flows/artifacts.py`.
- **Event** `kinerja.quality.failed` when a run published but its quality check failed; the run
  itself completes (a failed expectation is a finding, not a failure), so only this event can
  tell the automation.

None of this may fail a run: a run that published stays published when Prefect cannot take an
artifact or a tag; the failure is logged as a warning.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NONE

from flows import artifacts
from kinerja import identifiers
from kinerja.redact import one_line
from tasks.transient import resilient

TAG = "kinerja"
AGENCY_TAG = "agency:"
PERIOD_TAG = "period:"
KIND_TAG = "kind:"
QUALITY_FAILED_EVENT = "kinerja.quality.failed"
# The labels of the event's resource (strings, as Prefect event labels must be).
AGENCY_LABEL = "kinerja.agency"
AGENCY_NAME_LABEL = "kinerja.agency-name"
PERIOD_LABEL = "kinerja.period"
KIND_LABEL = "kinerja.kind"
RUN_LABEL = "kinerja.run-id"
# Failed expectations named in the event's reason; the artifact and Data Docs list them all.
MAX_NAMED_FAILURES = 10
INVALID_NAME = "invalid-parameters"


# Names ------------------------------------------------------------------------------------------


def semester_name(agency_code: object, period_id: object) -> str:
    """`3374-2025-S1`; a parameter that is not a valid code never reaches the name (the flow
    then fails on it with its own message)."""
    try:
        return f"{identifiers.agency_code(agency_code)}-{identifiers.period_id(period_id)}"
    except identifiers.InvalidIdentifier:
        return INVALID_NAME


def scheduled_name(period_id: str) -> str:
    return f"scheduled-{identifiers.period_id(period_id)}"


def backfill_name(agency_code: object, from_period: object) -> str:
    name = semester_name(agency_code, from_period)
    return name if name == INVALID_NAME else f"backfill-{name}"


def _parameters() -> dict[str, Any]:
    from prefect.runtime import flow_run

    return dict(flow_run.parameters or {})


def semester_run_name() -> str:
    """`flow_run_name` of `semester_appraisal`."""
    parameters = _parameters()
    name = semester_name(parameters.get("agency_code"), parameters.get("period_id"))
    return f"{name}-dry-run" if parameters.get("dry_run") and name != INVALID_NAME else name


def scheduled_run_name() -> str:
    """`flow_run_name` of the scheduled flow: the period given, or the one that closed before
    the scheduled time (as the flow computes it)."""
    from prefect.runtime import flow_run

    from flows.scheduled import closed_period

    period_id = _parameters().get("period_id")
    try:
        return scheduled_name(period_id if period_id else
                              closed_period(flow_run.scheduled_start_time).id)
    except identifiers.InvalidIdentifier:
        return INVALID_NAME


def backfill_run_name() -> str:
    """`flow_run_name` of the backfill flow."""
    parameters = _parameters()
    name = backfill_name(parameters.get("agency_code"), parameters.get("from_period"))
    return f"{name}-dry-run" if parameters.get("dry_run") and name != INVALID_NAME else name


# Tags -------------------------------------------------------------------------------------------


DRY_RUN_TAG = "dry-run"


def run_tags(agency_codes: Iterable[str], period_ids: Iterable[str], kind: str) -> list[str]:
    """The tags of a run over these agencies and periods: `kinerja`, `agency:3374`,
    `period:2025-S1`, `kind:manual`."""
    return [TAG, *(f"{AGENCY_TAG}{identifiers.agency_code(a)}" for a in agency_codes),
            *(f"{PERIOD_TAG}{identifiers.period_id(p)}" for p in period_ids), f"{KIND_TAG}{kind}"]


def merged_tags(existing: Iterable[str], new: Sequence[str]) -> list[str]:
    """`existing` (a deployment's tags, say) without any agency/period/kind tag, then `new`: a
    run carries only its own agency, period and kind."""
    ours = (AGENCY_TAG, PERIOD_TAG, KIND_TAG)
    kept = [t for t in existing if not t.startswith(ours)]
    return list(dict.fromkeys([*kept, *new]))


def label_run(agency_codes: Iterable[str], period_ids: Iterable[str], kind: str,
              dry_run: bool = False) -> None:
    """Tag the current flow run with its agencies, periods and kind (see `run_tags`), and
    `dry-run` when it publishes nothing."""
    from prefect.client.orchestration import get_client
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return
    tags = merged_tags(context.flow_run.tags or [],
                       [*run_tags(agency_codes, period_ids, kind), *([DRY_RUN_TAG] * dry_run)])
    try:
        with get_client(sync_client=True) as client:
            client.update_flow_run(context.flow_run.id, tags=tags)
    except Exception as error:  # observability must not fail the run
        get_run_logger().warning("flow run not tagged: %s", one_line(error))
        return
    # Events the run emits from now on carry the tags too (Prefect reads them from here).
    context.flow_run.tags = tags


# Artifacts and events ---------------------------------------------------------------------------


@task(name="read-run-details", cache_policy=NONE, **resilient("read-run-details"))
def read_run_details(warehouse_url: str, run_id: str) -> dict[str, Any]:
    """The quality summary recorded on the run and what it changed against the run it
    replaced (both from the warehouse)."""
    from tasks.warehouse import database as warehouse
    from tasks.warehouse.change_log import run_changes
    from tasks.warehouse.run_ledger import recorded_quality

    with warehouse.connected(warehouse_url) as engine:
        return {"quality": recorded_quality(engine, run_id),
                "changes": run_changes(engine, run_id).summary()}


def quality_reason(summary: Mapping[str, Any], quality: Mapping[str, Any] | None) -> str:
    """`mutu data gagal: 2 dari 311 ekspektasi gagal (fact_appraisal.final_score, ...)`."""
    named = []
    for f in (quality or {}).get("failures") or []:
        name = f"{f['table']}.{f.get('column') or f['expectation']}"
        if name not in named:
            named.append(name)
    listed = ", ".join(named[:MAX_NAMED_FAILURES]) + (", …" if len(named) > MAX_NAMED_FAILURES
                                                      else "")
    return (f"mutu data gagal: {int(summary.get('quality_failed', 0))} dari "
            f"{int(summary.get('quality_evaluated', 0))} ekspektasi gagal"
            + (f" ({listed})" if listed else ""))


def quality_failed_event(summary: Mapping[str, Any], kind: str,
                         quality: Mapping[str, Any] | None,
                         deployment_id: str | None) -> dict[str, Any]:
    """The keyword arguments of `emit_event` for a run whose quality check failed. The run's
    deployment (of the parent run, for a subflow) is a related resource: the automation
    notifies for runs that a deployment started, not for command-line runs."""
    agency, period = summary["agency_code"], summary["period_id"]
    related = []
    if deployment_id:
        related.append({"prefect.resource.id": f"prefect.deployment.{deployment_id}",
                        "prefect.resource.role": "deployment"})
    return {
        "event": QUALITY_FAILED_EVENT,
        "resource": {
            "prefect.resource.id": f"kinerja.appraisal.{agency}.{period}",
            "prefect.resource.name": semester_name(agency, period),
            AGENCY_LABEL: agency,
            AGENCY_NAME_LABEL: str(summary.get("agency_name") or agency),
            PERIOD_LABEL: period,
            KIND_LABEL: kind,
            RUN_LABEL: summary["run_id"],
        },
        "related": related,
        "payload": {
            "reason": quality_reason(summary, quality),
            "failed": int(summary.get("quality_failed", 0)),
            "evaluated": int(summary.get("quality_evaluated", 0)),
            "data_docs": summary.get("data_docs"),
            "report": summary.get("report"),
        },
    }


def _deployment_id() -> str | None:
    from prefect.runtime import deployment

    return deployment.id


def run_details(warehouse_url: str, run_id: str) -> dict[str, Any]:
    """`read_run_details`, or {} (with a warning) when the warehouse cannot say: what a run
    changed is reported, never a reason for the run to fail after it published."""
    try:
        return read_run_details(warehouse_url, run_id)
    except Exception as error:
        get_run_logger().warning("run %s: quality and changes not read: %s", run_id,
                                 one_line(error))
        return {}


def record_run(warehouse_url: str, summary: Mapping[str, Any], kind: str,
               details: Mapping[str, Any] | None = None) -> list[str]:
    """After a run published: the event of a failed quality check, then the run's three
    artifacts. Returns the artifact keys written."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact
    from prefect.events import emit_event

    logger = get_run_logger()
    if details is None:
        details = run_details(warehouse_url, summary["run_id"])
    if summary.get("quality_status") == "failed":
        try:
            emit_event(**quality_failed_event(summary, kind, details.get("quality"),
                                              _deployment_id()))
        except Exception as error:
            logger.warning("event %s not emitted: %s", QUALITY_FAILED_EVENT, one_line(error))
    agency, period = summary["agency_code"], summary["period_id"]
    written = []
    try:
        key = artifacts.artifact_key(agency, period, artifacts.ROWS_PART)
        create_table_artifact(artifacts.rows_table(summary), key=key, description=(
            artifacts.description(summary, "Baris sumber per dataset")))
        written.append(key)
        key = artifacts.artifact_key(agency, period, artifacts.PREDIKAT_PART)
        create_table_artifact(artifacts.predikat_table(summary["predikat_counts"]), key=key,
                              description=artifacts.description(summary, "Pegawai per predikat"))
        written.append(key)
        key = artifacts.artifact_key(agency, period)
        create_markdown_artifact(
            artifacts.summary_markdown(summary, kind, details.get("quality"),
                                       details.get("changes")),
            key=key, description=artifacts.description(summary, "Ringkasan run"))
        written.append(key)
    except Exception as error:
        logger.warning("run %s: artifacts not written: %s", summary["run_id"], one_line(error))
    return written


def record_failure(agency_code: str, period_id: str, run_id: str, kind: str,
                   error: BaseException, agency_name: str | None = None) -> None:
    """The markdown artifact of a failed run, under the agency-period's summary key. Only for
    an exception: an interrupted run (a signal) must stop at once."""
    if not isinstance(error, Exception):
        return
    from prefect.artifacts import create_markdown_artifact

    try:
        create_markdown_artifact(
            artifacts.failure_markdown(agency_code, period_id, run_id, kind,
                                       one_line(error), agency_name),
            key=artifacts.artifact_key(agency_code, period_id),
            description=f"Run gagal — {agency_code}, periode {period_id}, run `{run_id}`")
    except Exception as failure:
        get_run_logger().warning("run %s: failure artifact not written: %s", run_id,
                                 one_line(failure))
