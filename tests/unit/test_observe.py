"""Issue 15 without a server: artifact payloads, run names and tags, and the automations'
triggers and templates evaluated by Prefect's own server-side code on synthetic events."""

from __future__ import annotations

import json
import re
import uuid
from types import SimpleNamespace
from typing import Any

import pytest

from flows import artifacts, notify, observe
from kinerja.identifiers import InvalidIdentifier

SUMMARY: dict[str, Any] = {
    "run_id": "abc123",
    "agency_code": "3374",
    "agency_name": "Kota <b>Semarang</b>",
    "period_id": "2025-S1",
    "policy_name": "permenpanrb-6-2022",
    "rows_read": 110,
    "rows_accepted": 100,
    "rows_quarantined": 10,
    "datasets": [
        {"dataset": "units", "rows_read": 10, "rows_accepted": 10, "rows_quarantined": 0},
        {"dataset": "attendance", "rows_read": 100, "rows_accepted": 90, "rows_quarantined": 10},
    ],
    "predikat_counts": {"BAIK": 7, "SANGAT_BAIK": 2, "NOT_RATED": 1, "ISTIMEWA_LOKAL": 3},
    "quality_status": "failed",
    "quality_failed": 2,
    "quality_evaluated": 131,
    "report": "/data/reports/3374_2025-S1_laporan.html",
    "workbook": "/data/reports/3374_2025-S1_hasil.xlsx",
    "data_docs": "/data/reports/datadocs/3374_2025-S1/index.html",
}
QUALITY = {"failures": [
    {"table": "fact_appraisal", "column": "final_score",
     "expectation": "expect_column_values_to_be_between", "uraian": "Nilai <i>0-100</i> | x",
     "unexpected_count": 4},
    {"table": "dim_unit", "column": None, "expectation": "expect_table_row_count_to_equal",
     "uraian": None, "unexpected_count": None},
], "failures_left_out": 0}


def test_artifact_keys_follow_prefects_rule():
    assert artifacts.artifact_key("3374", "2025-S1") == "kinerja-3374-2025-s1"
    assert artifacts.artifact_key("33", "2024-s2", "baris") == "kinerja-33-2024-s2-baris"
    for key in (artifacts.artifact_key("3374", "2025-S1", p)
                for p in (None, artifacts.ROWS_PART, artifacts.PREDIKAT_PART)):
        assert re.fullmatch(r"[a-z0-9-]+", key)
    with pytest.raises(InvalidIdentifier):
        artifacts.artifact_key("../x", "2025-S1")
    with pytest.raises(InvalidIdentifier):
        artifacts.artifact_key("3374", "2025-S3")


def test_rows_table_lists_every_dataset_and_the_total():
    assert artifacts.rows_table(SUMMARY) == [
        {"Dataset": "Unit kerja", "Baris dibaca": 10, "Diterima": 10, "Dikarantina": 0},
        {"Dataset": "Presensi", "Baris dibaca": 100, "Diterima": 90,
         "Dikarantina": 10},
        {"Dataset": "Jumlah", "Baris dibaca": 110, "Diterima": 100, "Dikarantina": 10},
    ]


def test_predikat_table_orders_best_first_with_zeros_then_statuses_and_other_codes():
    table = artifacts.predikat_table(SUMMARY["predikat_counts"])
    assert [(r["Kode"], r["Jumlah pegawai"]) for r in table] == [
        ("SANGAT_BAIK", 2), ("BAIK", 7), ("BUTUH_PERBAIKAN", 0), ("KURANG", 0),
        ("SANGAT_KURANG", 0), ("NOT_RATED", 1), ("ISTIMEWA_LOKAL", 3), ("", 13)]
    assert [r["Predikat"] for r in table][:2] == ["Sangat Baik", "Baik"]
    assert table[5]["Predikat"] == "Belum dinilai"
    assert table[6]["Predikat"] == "ISTIMEWA_LOKAL"  # a custom policy's code, as it is


def test_summary_markdown_lists_failed_expectations_changes_and_files_inertly():
    changes = {"replaced_run_id": "old999", "change_rows": 5, "employees_changed": 2,
               "predikat_changed": [{"nip": "198001012005011001", "old": "BAIK",
                                     "new": "SANGAT_BAIK"}],
               "appeared": ["1"], "disappeared": [],
               "files_changed": [{"dataset": "ratings", "path": "ratings.csv",
                                  "change": "changed"}]}
    text = artifacts.summary_markdown(SUMMARY, "scheduled", QUALITY, changes)
    assert text.startswith("# Kota &lt;b&gt;Semarang&lt;/b&gt; (3374) — periode 2025-S1\n")
    assert "<b>" not in text and "<i>" not in text
    assert "Run `abc123` · jenis terjadwal · kebijakan `permenpanrb-6-2022`" in text
    assert "110 baris dibaca, 100 diterima, 10 dikarantina; 13 pegawai" in text
    assert "## Mutu data: **GAGAL**" in text
    assert "131 ekspektasi diperiksa, 2 gagal." in text
    assert ("| fact\\_appraisal | final\\_score | expect\\_column\\_values\\_to\\_be\\_between "
            "| Nilai &lt;i&gt;0-100&lt;/i&gt; \\| x | 4 |") in text
    assert "| dim\\_unit | – | expect\\_table\\_row\\_count\\_to\\_equal | – | – |" in text
    assert ("Menggantikan run `old999`: 5 baris perubahan untuk 2 pegawai; predikat berubah "
            "untuk 1 pegawai; 1 pegawai muncul, 0 pegawai hilang; 1 berkas sumber berbeda.") in text
    assert "| 198001012005011001 | Baik | Sangat Baik |" in text
    assert "| ratings | ratings.csv | berubah |" in text
    assert "- Laporan HTML: `/data/reports/3374_2025-S1_laporan.html`" in text
    assert "- Data Docs mutu data: `/data/reports/datadocs/3374_2025-S1/index.html`" in text


def test_summary_markdown_of_a_passed_first_publication_and_long_lists():
    passed = {**SUMMARY, "quality_status": "passed", "quality_failed": 0}
    text = artifacts.summary_markdown(passed, "manual", {"failures": []}, None)
    assert "## Mutu data: **LULUS**" in text and "Ekspektasi yang gagal" not in text
    assert "Publikasi pertama periode ini" in text

    many = {"failures": [dict(QUALITY["failures"][0], column=f"c{i}") for i in range(25)],
            "failures_left_out": 7}
    text = artifacts.summary_markdown(SUMMARY, "manual", many, None)
    assert text.count("| fact\\_appraisal | c") == artifacts.MAX_LISTED
    assert "… dan 12 lainnya (lihat Data Docs)." in text


def test_failure_markdown_masks_passwords():
    text = artifacts.failure_markdown(
        "3374", "2025-S1", "run1", "backfill",
        "OperationalError: connection to postgresql+psycopg://hr:s3cr3t-pw@db/kinerja refused",
        "Kota Semarang")
    assert "s3cr3t-pw" not in text
    assert "postgresql+psycopg://hr:\\*\\*\\*@db/kinerja" in text
    assert text.startswith("# Kota Semarang (3374) — periode 2025-S1\n")
    assert "Run `run1` · jenis backfill (koreksi) · **GAGAL**" in text
    assert "`kinerja changes --agency 3374 --period 2025-S1 --run run1`" in text


def test_run_names():
    assert observe.semester_name("3374", "2025-s1") == "3374-2025-S1"
    assert observe.semester_name("../etc", "2025-S1") == observe.INVALID_NAME
    assert observe.semester_name(None, None) == observe.INVALID_NAME
    assert observe.backfill_name("3374", "2024-S2") == "backfill-3374-2024-S2"
    assert observe.backfill_name("x", "2024-S2") == observe.INVALID_NAME
    assert observe.scheduled_name("2025-s2") == "scheduled-2025-S2"


def test_run_tags_replace_a_runs_agency_period_and_kind_and_keep_the_rest():
    tags = observe.run_tags(["3372", "3374"], ["2025-S1"], "scheduled")
    assert tags == ["kinerja", "agency:3372", "agency:3374", "period:2025-S1", "kind:scheduled"]
    merged = observe.merged_tags(["scheduled", "kinerja", "agency:9999", "kind:manual"],
                                 observe.run_tags(["3374"], ["2025-S1"], "backfill"))
    assert merged == ["scheduled", "kinerja", "agency:3374", "period:2025-S1", "kind:backfill"]
    with pytest.raises(InvalidIdentifier):
        observe.run_tags(["3374;rm"], ["2025-S1"], "manual")


def test_quality_event_names_agency_period_reason_and_the_deployment():
    event = observe.quality_failed_event(SUMMARY, "scheduled", QUALITY, "dep-1")
    assert event["event"] == "kinerja.quality.failed"
    assert event["resource"]["prefect.resource.id"] == "kinerja.appraisal.3374.2025-S1"
    assert event["resource"]["kinerja.agency"] == "3374"
    assert event["resource"]["kinerja.period"] == "2025-S1"
    assert event["resource"]["kinerja.kind"] == "scheduled"
    assert event["payload"]["reason"] == (
        "mutu data gagal: 2 dari 131 ekspektasi gagal (fact_appraisal.final_score, "
        "dim_unit.expect_table_row_count_to_equal)")
    assert event["related"] == [{"prefect.resource.id": "prefect.deployment.dep-1",
                                 "prefect.resource.role": "deployment"}]
    assert observe.quality_failed_event(SUMMARY, "manual", None, None)["related"] == []


# The automations, evaluated by the Prefect server's own trigger and template code -------------


def _received(event: str, resource: dict[str, str], related: list[dict[str, str]],
              payload: dict[str, Any] | None = None) -> Any:
    from prefect.server.events.schemas.events import ReceivedEvent
    from prefect.types._datetime import now

    return ReceivedEvent(occurred=now("UTC"), event=event, resource=resource, related=related,
                         payload=payload or {}, id=uuid.uuid4())


def _server_trigger(trigger: Any) -> Any:
    from prefect.server.events.schemas.automations import EventTrigger

    return EventTrigger.model_validate(trigger.model_dump(mode="json"))


DEPLOYMENT = {"prefect.resource.id": f"prefect.deployment.{uuid.uuid4()}",
              "prefect.resource.role": "deployment", "prefect.resource.name": "semester-schedule"}
KINERJA_TAG = {"prefect.resource.id": "prefect.tag.kinerja", "prefect.resource.role": "tag"}
FLOW = {"prefect.resource.id": f"prefect.flow.{uuid.uuid4()}", "prefect.resource.role": "flow",
        "prefect.resource.name": "scheduled_semester_appraisal"}


def _state_event(state: str, related: list[dict[str, str]]) -> Any:
    return _received(f"prefect.flow-run.{state}", {
        "prefect.resource.id": f"prefect.flow-run.{uuid.uuid4()}",
        "prefect.resource.name": "scheduled-2025-S1",
        "prefect.state-name": state, "prefect.state-type": state.upper(),
        "prefect.state-message": "Flow run encountered an exception: ValueError: x"}, related)


def test_run_failed_trigger_covers_only_failed_kinerja_deployment_runs():
    trigger = _server_trigger(notify.run_failed_trigger())
    deployed = [FLOW, DEPLOYMENT, KINERJA_TAG]
    for state in ("Failed", "Crashed", "TimedOut"):
        assert trigger.covers(_state_event(state, deployed)), state
    for state in ("Completed", "Running", "Cancelled"):
        assert not trigger.covers(_state_event(state, deployed)), state
    # A subflow (no deployment of its own) is reported by its parent, a command-line run by
    # its terminal; another project's deployment (no kinerja tag) is not ours.
    assert not trigger.covers(_state_event("Failed", [FLOW, KINERJA_TAG]))
    assert not trigger.covers(_state_event("Failed", [FLOW, DEPLOYMENT]))
    assert trigger.immediate


def test_quality_trigger_covers_the_flows_event_of_deployment_runs_only():
    trigger = _server_trigger(notify.quality_failed_trigger())
    event = observe.quality_failed_event(SUMMARY, "scheduled", QUALITY, "dep-1")
    assert trigger.covers(_received(event["event"], event["resource"], event["related"],
                                    event["payload"]))
    manual = observe.quality_failed_event(SUMMARY, "manual", QUALITY, None)
    assert not trigger.covers(_received(manual["event"], manual["resource"],
                                        manual["related"], manual["payload"]))
    assert not trigger.covers(_received("kinerja.quality.passed", event["resource"],
                                        event["related"]))


def _render(preamble: str, context: dict[str, Any], payload: str = notify.PAYLOAD) -> Any:
    from prefect.server.events.actions import CallWebhook
    from prefect.server.utilities.user_templates import render_user_template_sync

    # The server accepts the template (it validates an automation's payload on creation).
    CallWebhook(block_document_id=uuid.uuid4(), payload=preamble + payload)
    return render_user_template_sync(preamble + payload, context)


def test_run_failed_payload_names_agency_period_kind_and_reason():
    flow_run = SimpleNamespace(
        id=uuid.uuid4(), name="backfill-3374-2024-S2",
        tags=["kinerja", "backfill", "agency:3374", "period:2024-S2", "period:2025-S1",
              "kind:backfill"])
    event = _state_event("Failed", [FLOW, DEPLOYMENT, KINERJA_TAG])
    event.resource["prefect.state-message"] = (
        'Flow run encountered an exception: BackfillFailed: backfill of 3374 stopped at '
        '2025-S1 (failed): "quoted" <b>\nsecond line')
    body = json.loads(_render(notify.RUN_FAILED_PREAMBLE,
                              {"flow_run": flow_run, "event": event}))
    reason = ('BackfillFailed: backfill of 3374 stopped at 2025-S1 (failed): "quoted" <b>\n'
              "second line")
    assert body == {
        "event": "kinerja.run.failed",
        "subject": "[kinerja] GAGAL: backfill-3374-2024-S2 (Failed)",
        "text": ("[kinerja] GAGAL: backfill-3374-2024-S2 (Failed)\nInstansi: 3374\n"
                 "Periode: 2024-S2,2025-S1\nJenis run: backfill\nAlasan: " + reason
                 + f"\nFlow run: backfill-3374-2024-S2 ({flow_run.id})"),
        "agency": "3374", "agency_name": "", "period": "2024-S2,2025-S1", "kind": "backfill",
        "state": "Failed", "reason": reason, "flow_run": "backfill-3374-2024-S2",
        "flow_run_id": str(flow_run.id), "run_id": ""}


def test_quality_payload_and_a_gateways_own_format():
    event = observe.quality_failed_event({**SUMMARY, "agency_name": "Kota Semarang"},
                                         "scheduled", QUALITY, "dep-1")
    received = _received(event["event"], event["resource"], event["related"], event["payload"])
    context = {"flow_run": SimpleNamespace(id="fr-1", name="3374-2025-S1"), "event": received}
    body = json.loads(_render(notify.QUALITY_FAILED_PREAMBLE, context))
    assert (body["event"], body["agency"], body["agency_name"], body["period"], body["kind"]) == (
        "kinerja.quality.failed", "3374", "Kota Semarang", "2025-S1", "scheduled")
    assert body["reason"] == event["payload"]["reason"]
    assert body["subject"] == "[kinerja] MUTU DATA GAGAL: Kota Semarang (3374) 2025-S1"
    assert body["run_id"] == "abc123" and body["flow_run"] == "3374-2025-S1"
    # A gateway with its own format (a Telegram bot, say): the same variables.
    telegram = '{"chat_id": "-100123", "text": {{ text | tojson }}}'
    sent = json.loads(_render(notify.QUALITY_FAILED_PREAMBLE, context, telegram))
    assert sent["chat_id"] == "-100123" and sent["text"] == body["text"]


def test_setup_needs_the_url_in_the_environment(monkeypatch):
    from typer.testing import CliRunner

    from kinerja.cli import app

    monkeypatch.delenv("KINERJA_NOTIFY_URL", raising=False)
    result = CliRunner().invoke(app, ["notify", "setup"])
    assert result.exit_code == 1
    assert result.stderr.startswith("kinerja: error: KINERJA_NOTIFY_URL is not set")
    monkeypatch.setenv("KINERJA_NOTIFY_URL", "file:///etc/passwd")
    result = CliRunner().invoke(app, ["notify", "setup"])
    assert result.exit_code == 1
    assert "KINERJA_NOTIFY_URL must be an http(s) URL" in result.stderr
