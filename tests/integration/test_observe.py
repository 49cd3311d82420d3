"""What a data engineer sees in Prefect (issue 15), on the session's real Prefect server.

`kinerja notify setup` points the automations at a small HTTP server on 127.0.0.1; then one run
of the scheduled deployment, served by a worker, appraises three agencies: 1111 has no landing
folder (its run fails, so the deployment run fails), 3372 publishes but its quality check fails
(a SQLite trigger corrupts its published scores, as a broken database would), 3374 publishes
cleanly. The webhook must receive exactly one notification for the failed deployment run and
one for 3372's quality check, each naming agency, period and reason; the artifacts of 3374's
run must hold the warehouse's numbers; every run must carry its name and tags.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from flows.scheduled import closed_period
from kinerja.synthetic import generate_landing
from tasks.warehouse import ensure_schema, make_engine
from tests.prefect_server import REPO, run_worker_once

DEPLOYMENT = "scheduled_semester_appraisal/semester-schedule"
FAILING, BROKEN, CLEAN = "1111", "3372", "3374"
EMPLOYEES = 25
KINERJA = str(Path(sys.executable).with_name("kinerja"))
# How long the automations get to call the webhook after the run has ended, and how long we
# then wait for a notification that should not come.
NOTIFY_TIMEOUT_S = 60
QUIET_S = 3


class Webhook:
    """An HTTP server on 127.0.0.1 that keeps every POSTed body (the gateway's stand-in)."""

    def __init__(self) -> None:
        received: list[dict[str, Any]] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received.append({"path": self.path,
                                 "content_type": self.headers.get("Content-Type"),
                                 "body": json.loads(body)})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/kinerja-hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, count: int, timeout: float) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(QUIET_S)  # a duplicate would arrive within seconds of the first
        return list(self.received)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Observed:
    env: dict[str, str]
    period: str
    warehouse_url: str
    parent: Any  # the scheduled deployment run (prefect FlowRun)
    notifications: list[dict[str, Any]]
    worker_log: str


def _break_quality_of(warehouse_url: str, agency: str) -> None:
    """Every score published for `agency` becomes 500: the suite's score bounds must fail,
    while the run itself publishes (a trigger acts after the run's own validation)."""
    engine = make_engine(warehouse_url)
    try:
        ensure_schema(engine)
        with engine.begin() as conn:
            conn.execute(sa.text(
                "CREATE TRIGGER break_quality AFTER INSERT ON fact_appraisal "
                f"WHEN NEW.agency_code = '{agency}' AND NEW.final_score IS NOT NULL "
                "BEGIN UPDATE fact_appraisal SET final_score = 500 WHERE rowid = NEW.rowid; END"))
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def observed(prefect_server_env, tmp_path_factory) -> Iterator[Observed]:
    from prefect.client.orchestration import SyncPrefectClient

    env = prefect_server_env
    root = tmp_path_factory.mktemp("observe")
    period = closed_period(datetime.now(UTC)).id
    landing = root / "landing"
    generate_landing(landing, BROKEN, EMPLOYEES, [period], seed=5)
    generate_landing(landing, CLEAN, EMPLOYEES, [period], seed=6, bad_rows=0.02)
    warehouse_url = f"sqlite:///{root / 'warehouse.db'}"
    _break_quality_of(warehouse_url, BROKEN)
    config = root / "kinerja.toml"
    config.write_text(
        f'landing = "{landing}"\nwarehouse_url = "{warehouse_url}"\n'
        f'reports = "{root / "reports"}"\nwork = "{root / "work"}"\n\n'
        f'[agencies.{FAILING}]\nname = "Kabupaten Tanpa Data"\n'
        f'[agencies.{BROKEN}]\nname = "Kabupaten Boyolali"\n'
        f'[agencies.{CLEAN}]\nname = "Kota Semarang"\n',
        encoding="utf-8",
    )
    webhook = Webhook()
    try:
        # The one-time set-up a data engineer runs, with the address in the environment.
        setup = subprocess.run([KINERJA, "notify", "setup"], cwd=REPO, capture_output=True,
                               text=True, timeout=120,
                               env={**env, "KINERJA_NOTIFY_URL": webhook.url})
        assert setup.returncode == 0, setup.stderr
        assert "kinerja-run-failed" in setup.stdout and "kinerja-quality-failed" in setup.stdout
        assert webhook.url not in setup.stdout  # the address may carry a token

        with SyncPrefectClient(env["PREFECT_API_URL"]) as client:
            deployment = client.read_deployment_by_name(DEPLOYMENT)
            triggered = client.create_flow_run_from_deployment(deployment.id)
            log = run_worker_once(env, config, root, root / "worker.log")
            parent = client.read_flow_run(triggered.id)
        notifications = webhook.wait_for(2, NOTIFY_TIMEOUT_S)
        yield Observed(env, period, warehouse_url, parent, notifications, log)
    finally:
        webhook.close()
        with SyncPrefectClient(env["PREFECT_API_URL"]) as client:
            for automation in client.read_automations():
                client.delete_automation(automation.id)


def _client(observed: Observed) -> Any:
    from prefect.client.orchestration import SyncPrefectClient

    return SyncPrefectClient(observed.env["PREFECT_API_URL"])


def _subflows(observed: Observed) -> dict[str, Any]:
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId

    with _client(observed) as client:
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(
            parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[observed.parent.id])))
    return {run.name: run for run in runs}


@pytest.mark.prefect_server
def test_failed_deployment_run_and_failed_quality_check_notify_once_each(observed):
    assert observed.parent.state.is_failed(), observed.worker_log[-3000:]
    by_event: dict[str, list[dict[str, Any]]] = {}
    for n in observed.notifications:
        assert n["path"] == "/kinerja-hook"
        assert n["content_type"] == "application/json"
        by_event.setdefault(n["body"]["event"], []).append(n["body"])
    assert sorted(by_event) == ["kinerja.quality.failed", "kinerja.run.failed"], (
        observed.notifications)
    assert [len(v) for v in by_event.values()] == [1, 1], observed.notifications

    [failed] = by_event["kinerja.run.failed"]
    # The deployment run failed because agency 1111's run did; its subflow, which failed too,
    # is not notified separately.
    assert failed["state"] == "Failed"
    assert failed["flow_run"] == f"scheduled-{observed.period}"
    assert failed["flow_run_id"] == str(observed.parent.id)
    assert failed["agency"].split(",") == [FAILING, BROKEN, CLEAN]
    assert failed["period"] == observed.period
    assert failed["kind"] == "scheduled"
    assert failed["reason"].startswith(
        f"ScheduledRunFailed: {observed.period}: 1 of 3 agencies failed: {FAILING}: ")
    assert "no such period folder" in failed["reason"]
    assert failed["subject"] == f"[kinerja] GAGAL: scheduled-{observed.period} (Failed)"
    assert f"Alasan: {failed['reason']}" in failed["text"]

    [quality] = by_event["kinerja.quality.failed"]
    assert (quality["agency"], quality["agency_name"], quality["period"], quality["kind"]) == (
        BROKEN, "Kabupaten Boyolali", observed.period, "scheduled")
    assert quality["flow_run"] == f"{BROKEN}-{observed.period}"
    assert quality["reason"].startswith("mutu data gagal: ")
    assert "fact_appraisal.final_score" in quality["reason"]
    engine = make_engine(observed.warehouse_url)
    with engine.connect() as conn:
        recorded = conn.execute(sa.text(
            "SELECT run_id, quality_status, quality_summary FROM pipeline_run "
            "WHERE agency_code = :a"), {"a": BROKEN}).one()
    engine.dispose()
    summary = json.loads(recorded.quality_summary)
    assert recorded.quality_status == "failed"
    assert quality["run_id"] == recorded.run_id
    assert quality["reason"].startswith(
        f"mutu data gagal: {summary['failed']} dari {summary['evaluated']} ekspektasi gagal")


@pytest.mark.prefect_server
def test_deployment_runs_are_named_and_tagged(observed):
    period = observed.period
    assert observed.parent.name == f"scheduled-{period}"
    # The deployment's tags and the run's own.
    assert sorted(observed.parent.tags) == sorted([
        "kinerja", "scheduled", f"agency:{FAILING}", f"agency:{BROKEN}", f"agency:{CLEAN}",
        f"period:{period}", "kind:scheduled"])
    subflows = _subflows(observed)
    assert sorted(subflows) == [f"{code}-{period}" for code in (FAILING, BROKEN, CLEAN)]
    for code in (FAILING, BROKEN, CLEAN):
        run = subflows[f"{code}-{period}"]
        assert sorted(run.tags) == sorted(["kinerja", f"agency:{code}", f"period:{period}",
                                           "kind:scheduled"])
    assert subflows[f"{FAILING}-{period}"].state.is_failed()
    assert subflows[f"{BROKEN}-{period}"].state.is_completed()
    assert subflows[f"{CLEAN}-{period}"].state.is_completed()


def _artifacts(observed: Observed, flow_run_id: Any) -> dict[str, Any]:
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with _client(observed) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
    return {a.key: a for a in found}


def _table(artifact: Any) -> pd.DataFrame:
    assert artifact.type == "table"
    data = json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data
    return pd.DataFrame(data)


@pytest.mark.prefect_server
def test_artifacts_of_a_successful_run_hold_the_warehouse_numbers(observed):
    from tasks.report import DATASET_LABELS, PREDIKAT_LABELS, STATUS_LABELS

    period = observed.period
    engine = make_engine(observed.warehouse_url)
    with engine.connect() as conn:
        run = conn.execute(sa.text(
            "SELECT run_id, flow_run_id, rows_read, rows_accepted, rows_quarantined "
            "FROM pipeline_run WHERE agency_code = :a"), {"a": CLEAN}).one()
        files = pd.read_sql(sa.text(
            "SELECT dataset, SUM(rows_read) AS read, SUM(rows_accepted) AS accepted, "
            "SUM(rows_quarantined) AS quarantined FROM source_file WHERE run_id = :r "
            "GROUP BY dataset"), conn, params={"r": run.run_id}).set_index("dataset")
        quarantined = pd.read_sql(sa.text(
            "SELECT dataset, COUNT(*) AS n FROM quarantine WHERE agency_code = :a "
            "AND period_id = :p GROUP BY dataset"), conn,
            params={"a": CLEAN, "p": period}).set_index("dataset")["n"]
        predikat = pd.read_sql(sa.text(
            "SELECT COALESCE(predikat, status) AS code, COUNT(*) AS n FROM fact_appraisal "
            "WHERE agency_code = :a AND period_id = :p GROUP BY COALESCE(predikat, status)"),
            conn, params={"a": CLEAN, "p": period}).set_index("code")["n"]
    engine.dispose()
    key = f"kinerja-{CLEAN}-{period.lower()}"
    found = _artifacts(observed, run.flow_run_id)  # the semester run that published
    assert sorted(found) == [key, f"{key}-baris", f"{key}-predikat"]

    rows = _table(found[f"{key}-baris"])
    labels = {label: code for code, label in DATASET_LABELS.items()}
    datasets = rows[rows["Dataset"] != "Jumlah"].assign(
        dataset=lambda f: f["Dataset"].map(labels)).set_index("dataset")
    assert sorted(datasets.index) == sorted(files.index)
    assert datasets["Baris dibaca"].to_dict() == files["read"].to_dict()
    assert datasets["Diterima"].to_dict() == files["accepted"].to_dict()
    assert datasets["Dikarantina"].to_dict() == files["quarantined"].to_dict()
    assert datasets["Dikarantina"][datasets["Dikarantina"] > 0].to_dict() == quarantined.to_dict()
    assert quarantined.sum() > 0  # the landing has bad rows: the numbers are not all zero
    total = rows[rows["Dataset"] == "Jumlah"].iloc[0]
    assert (total["Baris dibaca"], total["Diterima"], total["Dikarantina"]) == (
        run.rows_read, run.rows_accepted, run.rows_quarantined)

    table = _table(found[f"{key}-predikat"]).set_index("Kode")
    counts = table.drop(index="")["Jumlah pegawai"]
    assert counts[counts > 0].to_dict() == predikat.to_dict()
    assert table.loc["", "Jumlah pegawai"] == predikat.sum() == EMPLOYEES
    for code, label in table["Predikat"].drop(index="").items():
        assert label == PREDIKAT_LABELS.get(code, STATUS_LABELS.get(code))

    summary = found[key]
    assert summary.type == "markdown"
    assert f"Run `{run.run_id}`" in summary.data
    assert "## Mutu data: **LULUS**" in summary.data
    assert "Publikasi pertama periode ini" in summary.data
    reports = Path(observed.warehouse_url.removeprefix("sqlite:///")).parent / "reports"
    for path in (reports / f"{CLEAN}_{period}_laporan.html",
                 reports / f"{CLEAN}_{period}_hasil.xlsx",
                 reports / "datadocs" / f"{CLEAN}_{period}" / "index.html"):
        assert f"`{path}`" in summary.data and path.is_file()
    assert "sqlite" not in summary.data  # the warehouse URL is never in an artifact


@pytest.mark.prefect_server
def test_failed_quality_and_failed_run_show_in_their_artifacts(observed):
    period = observed.period
    subflows = _subflows(observed)
    broken = _artifacts(observed, subflows[f"{BROKEN}-{period}"].id)
    markdown = broken[f"kinerja-{BROKEN}-{period.lower()}"].data
    assert "## Mutu data: **GAGAL**" in markdown
    assert "| fact\\_appraisal | final\\_score |" in markdown

    failed = _artifacts(observed, subflows[f"{FAILING}-{period}"].id)
    assert sorted(failed) == [f"kinerja-{FAILING}-{period.lower()}"]
    text = failed[f"kinerja-{FAILING}-{period.lower()}"].data
    assert "**GAGAL**" in text and "no such period folder" in text
    assert os.fspath(observed.warehouse_url) not in text


def _runs_tagged(tag: str) -> list[Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags
    from prefect.client.schemas.sorting import FlowRunSort

    with get_client(sync_client=True) as client:
        return client.read_flow_runs(
            flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[tag])),
            sort=FlowRunSort.START_TIME_ASC)


def test_command_line_and_backfill_runs_are_named_and_tagged(prefect_harness, tmp_path,
                                                            monkeypatch):
    """`kinerja run` (kind manual), then `kinerja backfill` of the same period: the backfill
    flow and its semester subflow (kind backfill). Agency 3399 is this test's own, so the
    session's Prefect database holds no other run of it."""
    from typer.testing import CliRunner

    from kinerja.cli import app

    agency, period = "3399", "2025-S1"
    generate_landing(tmp_path / "landing", agency, 15, [period], seed=8)
    monkeypatch.setenv("KINERJA_WORK", str(tmp_path / "work"))
    common = ["--agency", agency, "--landing", str(tmp_path / "landing"),
              "--warehouse", f"sqlite:///{tmp_path / 'warehouse.db'}",
              "--reports", str(tmp_path / "reports")]
    runner = CliRunner()
    result = runner.invoke(app, ["run", "--period", period, *common])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["backfill", "--from", period, *common])
    assert result.exit_code == 0, result.output

    runs = _runs_tagged(f"agency:{agency}")
    assert [r.name for r in runs] == [f"{agency}-{period}", f"backfill-{agency}-{period}",
                                      f"{agency}-{period}"]
    manual, parent, subflow = runs
    assert sorted(manual.tags) == sorted(["kinerja", f"agency:{agency}", f"period:{period}",
                                          "kind:manual"])
    assert sorted(parent.tags) == sorted(["kinerja", f"agency:{agency}", f"period:{period}",
                                          "kind:backfill"])
    assert sorted(subflow.tags) == sorted(["kinerja", f"agency:{agency}", f"period:{period}",
                                           "kind:backfill"])
    assert all(r.state.is_completed() for r in runs)
    assert subflow.parent_task_run_id is not None and manual.parent_task_run_id is None

    # The backfill's run replaced the manual one: its summary artifact says so.
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        [summary] = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[subflow.id]),
            key={"any_": [f"kinerja-{agency}-{period.lower()}"]}))
    engine = make_engine(f"sqlite:///{tmp_path / 'warehouse.db'}")
    with engine.connect() as conn:
        first, second = conn.execute(sa.text(
            "SELECT run_id, kind FROM pipeline_run ORDER BY started_at")).all()
    engine.dispose()
    assert (first.kind, second.kind) == ("manual", "backfill")
    assert f"Run `{second.run_id}` · jenis backfill (koreksi)" in summary.data
    assert f"Menggantikan run `{first.run_id}`: 0 baris perubahan untuk 0 pegawai" in (
        summary.data)
