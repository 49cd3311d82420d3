"""Notifications of runs nobody watches (issue 15): Prefect automations that call a webhook.

`kinerja notify setup` (once per Prefect server; again to change the address) saves a Prefect
`Webhook` block named `kinerja-notify` from the URL in the environment variable
`KINERJA_NOTIFY_URL` (the block keeps it as a secret; no address lives in the repository), then
creates or replaces two automations that the Prefect server evaluates and acts on by itself:

- `kinerja-run-failed`: a flow run of a deployment tagged `kinerja` (both in `prefect.yaml`)
  ends Failed, Crashed or TimedOut. Only runs a deployment started: a subflow's failure is
  reported once, by its parent's (a scheduled run fails naming every agency that failed), and a
  command-line run fails on the terminal of the person who started it.
- `kinerja-quality-failed`: the event `kinerja.quality.failed` (flows/observe.py) of a run that
  a deployment started; such a run publishes and completes, so no state tells of it.

The webhook receives one JSON object per notification (`PAYLOAD`): `subject` and `text` in
Indonesian for a chat or an e-mail gateway, and `agency`, `period`, `kind`, `reason`, `state`,
`flow_run` for a machine. `--payload FILE` replaces that object by the gateway's own format: a
Jinja template that may use the same variables (README "Scheduled runs").
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flows import observe

BLOCK_NAME = "kinerja-notify"
URL_ENV = "KINERJA_NOTIFY_URL"
RUN_FAILED_AUTOMATION = "kinerja-run-failed"
QUALITY_FAILED_AUTOMATION = "kinerja-quality-failed"
# Prefect's flow-run state events are `prefect.flow-run.<state name>`; TimedOut is a Failed
# state of its own name.
FAILED_STATE_EVENTS = ("prefect.flow-run.Failed", "prefect.flow-run.Crashed",
                       "prefect.flow-run.TimedOut")
RUN_FAILED_EVENT = "kinerja.run.failed"  # the `event` field of the payload; no Prefect event

# Prefect renders these with Jinja on the server when the automation fires. `flow_run` is read
# from the API at that moment (its tags, set by the run itself, are current); `event` is the
# triggering event. Each preamble sets the variables the payload template may use.
RUN_FAILED_PREAMBLE = """\
{%- set ns = namespace(agencies=[], periods=[], kind="") -%}
{%- for tag in flow_run.tags -%}
{%- if tag.startswith("agency:") -%}{%- set ns.agencies = ns.agencies + [tag[7:]] -%}
{%- elif tag.startswith("period:") -%}{%- set ns.periods = ns.periods + [tag[7:]] -%}
{%- elif tag.startswith("kind:") -%}{%- set ns.kind = tag[5:] -%}{%- endif -%}
{%- endfor -%}
{%- set event_name = "kinerja.run.failed" -%}
{%- set agency = ns.agencies | join(",") -%}
{%- set agency_name = "" -%}
{%- set period = ns.periods | join(",") -%}
{%- set kind = ns.kind -%}
{%- set state = event.resource["prefect.state-name"] -%}
{%- set reason = event.resource["prefect.state-message"]
      | replace("Flow run encountered an exception: ", "") -%}
{%- set flow_run_name = flow_run.name -%}
{%- set flow_run_id = flow_run.id | string -%}
{%- set run_id = "" -%}
{%- set subject = "[kinerja] GAGAL: " ~ flow_run_name ~ " (" ~ state ~ ")" -%}
{%- set text = subject ~ "\\nInstansi: " ~ (agency or "-") ~ "\\nPeriode: " ~ (period or "-")
      ~ "\\nJenis run: " ~ (kind or "-") ~ "\\nAlasan: " ~ reason
      ~ "\\nFlow run: " ~ flow_run_name ~ " (" ~ flow_run_id ~ ")" -%}
"""

QUALITY_FAILED_PREAMBLE = """\
{%- set event_name = event.event -%}
{%- set agency = event.resource["kinerja.agency"] -%}
{%- set agency_name = event.resource["kinerja.agency-name"] -%}
{%- set period = event.resource["kinerja.period"] -%}
{%- set kind = event.resource["kinerja.kind"] -%}
{%- set state = "Completed" -%}
{%- set reason = event.payload.reason -%}
{%- set flow_run_name = flow_run.name or event.resource["prefect.resource.name"] -%}
{%- set flow_run_id = flow_run.id | string -%}
{%- set run_id = event.resource["kinerja.run-id"] -%}
{%- set subject = "[kinerja] MUTU DATA GAGAL: " ~ agency_name ~ " (" ~ agency ~ ") " ~ period -%}
{%- set text = subject ~ "\\nInstansi: " ~ agency_name ~ " (" ~ agency ~ ")\\nPeriode: " ~ period
      ~ "\\nJenis run: " ~ kind ~ "\\nAlasan: " ~ reason
      ~ "\\nHasil tetap terbit; periksa Data Docs: " ~ (event.payload.data_docs or "-")
      ~ "\\nRun: " ~ run_id ~ ", flow run " ~ flow_run_name ~ " (" ~ flow_run_id ~ ")" -%}
"""

PAYLOAD = """\
{"event": {{ event_name | tojson }}, "subject": {{ subject | tojson }},
 "text": {{ text | tojson }}, "agency": {{ agency | tojson }},
 "agency_name": {{ agency_name | tojson }}, "period": {{ period | tojson }},
 "kind": {{ kind | tojson }}, "state": {{ state | tojson }}, "reason": {{ reason | tojson }},
 "flow_run": {{ flow_run_name | tojson }}, "flow_run_id": {{ flow_run_id | tojson }},
 "run_id": {{ run_id | tojson }}}
"""


@dataclass(frozen=True)
class NotifySetup:
    block_id: str
    automations: dict[str, str]  # name -> id
    host: str  # where notifications go, without path or query (they may carry a token)


def run_failed_trigger() -> Any:
    """A deployment run of kinerja (related deployment, tag `kinerja` of the deployment) ended
    Failed, Crashed or TimedOut; each flow run is its own bucket, each event fires once."""
    from prefect.events.schemas.automations import EventTrigger, Posture

    return EventTrigger(
        expect=set(FAILED_STATE_EVENTS),
        match={"prefect.resource.id": "prefect.flow-run.*"},
        match_related=[{"prefect.resource.role": "deployment"},
                       {"prefect.resource.role": "tag",
                        "prefect.resource.id": f"prefect.tag.{observe.TAG}"}],
        for_each={"prefect.resource.id"},
        posture=Posture.Reactive, threshold=1, within=timedelta(0),
    )


def quality_failed_trigger() -> Any:
    """A run that a deployment started published with a failed quality check; one bucket per
    agency-period."""
    from prefect.events.schemas.automations import EventTrigger, Posture

    return EventTrigger(
        expect={observe.QUALITY_FAILED_EVENT},
        match={"prefect.resource.id": "kinerja.appraisal.*"},
        match_related={"prefect.resource.role": "deployment"},
        for_each={"prefect.resource.id"},
        posture=Posture.Reactive, threshold=1, within=timedelta(0),
    )


def automations(block_id: str, payload: str = PAYLOAD) -> list[Any]:
    """The two automations, calling the webhook block `block_id` with `payload` rendered after
    each one's preamble."""
    from prefect.automations import AutomationCore, CallWebhook

    return [
        AutomationCore(
            name=RUN_FAILED_AUTOMATION,
            description="kinerja: a deployment run failed or crashed (kinerja notify setup)",
            trigger=run_failed_trigger(),
            actions=[CallWebhook(block_document_id=block_id,
                                 payload=RUN_FAILED_PREAMBLE + payload)],
        ),
        AutomationCore(
            name=QUALITY_FAILED_AUTOMATION,
            description="kinerja: a run published with a failed quality check "
                        "(kinerja notify setup)",
            trigger=quality_failed_trigger(),
            actions=[CallWebhook(block_document_id=block_id,
                                 payload=QUALITY_FAILED_PREAMBLE + payload)],
        ),
    ]


def _host(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")


def setup_notifications(url_env: str = URL_ENV, payload_file: Path | None = None) -> NotifySetup:
    """Save the webhook block from the URL in `url_env` and create (or replace) both
    automations on the Prefect server of PREFECT_API_URL."""
    from prefect.blocks.webhook import Webhook
    from prefect.client.orchestration import get_client
    from pydantic import SecretStr

    url = os.environ.get(url_env, "").strip()
    if not url:
        raise ValueError(f"{url_env} is not set: export the webhook address of the chat or "
                         "e-mail gateway in it (it is saved in Prefect, not in the repository)")
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
        raise ValueError(f"{url_env} must be an http(s) URL")
    payload = payload_file.read_text(encoding="utf-8") if payload_file else PAYLOAD
    block = Webhook(method="POST", url=SecretStr(url),
                    headers={"Content-Type": "application/json"})
    block_id = str(block.save(BLOCK_NAME, overwrite=True))
    created: dict[str, str] = {}
    with get_client(sync_client=True) as client:
        for automation in automations(block_id, payload):
            for old in client.read_automations_by_name(automation.name):
                client.delete_automation(old.id)
            created[automation.name] = str(client.create_automation(automation))
    return NotifySetup(block_id, created, _host(url))
