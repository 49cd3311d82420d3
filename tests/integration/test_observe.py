"""What a data engineer sees in Prefect (issue 15): notifications, run names and tags,
artifacts.

On the session's real Prefect server (its trigger and action services evaluate automations),
`kinerja notify setup` points the automations at a small HTTP server on 127.0.0.1; then one run
of the scheduled deployment, served by a worker, appraises two agencies: 1111 has no landing
folder (its run fails, so the deployment run fails), 3372 publishes but its quality check fails
(a SQLite trigger corrupts its published scores, as a broken database would). The webhook must
receive exactly one notification for the failed deployment run and one for 3372's quality
check, each naming agency, period and reason.

On the session's Prefect test harness, `kinerja run` then `kinerja backfill` of agency 3399: the
artifacts of the run hold the warehouse's numbers; command-line, backfill and subflow runs carry
their names and tags (the deployment's runs are checked on the server).
"""

from __future__ import annotations

import json
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
from typer.testing import CliRunner

from flows.scheduled import closed_period
from kinerja.cli import app
from kinerja.synthetic import generate_landing
from tasks.warehouse.database import ensure_schema, make_engine
from tests.prefect_server import run_worker_once

DEPLOYMENT = "scheduled_semester_appraisal/semester-schedule"
FAILING, BROKEN = "1111", "3372"
CLI_AGENCY, CLI_PERIOD = "3399", "2025-S1"
EMPLOYEES = 15
# How long the automations get to call the webhook after the run has ended, and how long we
# then wait for a notification that should not come.
NOTIFY_TIMEOUT_S = 60
QUIET_S = 3

runner = CliRunner()


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
    from prefect.settings import PREFECT_API_URL, temporary_settings

    env = prefect_server_env
    root = tmp_path_factory.mktemp("observe")
    period = closed_period(datetime.now(UTC)).id
    landing = root / "landing"
    generate_landing(landing, BROKEN, EMPLOYEES, [period], seed=5)
    warehouse_url = f"sqlite:///{root / 'warehouse.db'}"
    _break_quality_of(warehouse_url, BROKEN)
    config = root / "kinerja.toml"
    config.write_text(
        f'landing = "{landing}"\nwarehouse_url = "{warehouse_url}"\n'
        f'reports = "{root / "reports"}"\nwork = "{root / "work"}"\n\n'
        f'[agencies.{FAILING}]\nname = "Kabupaten Tanpa Data"\n'
        f'[agencies.{BROKEN}]\nname = "Kabupaten Boyolali"\n',
        encoding="utf-8",
    )
    webhook = Webhook()
    try:
        # The one-time set-up a data engineer runs, with the address in the environment
        # (in this process, which saves starting the command: the server is the same).
        with temporary_settings(updates={PREFECT_API_URL: env["PREFECT_API_URL"]}), \
                pytest.MonkeyPatch.context() as patch:
            patch.setenv("KINERJA_NOTIFY_URL", webhook.url)
            setup = runner.invoke(app, ["notify", "setup"])
        assert setup.exit_code == 0, setup.output
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


def _client(observed: Observed | None = None) -> Any:
    """A client of the session's server (`observed`) or of its test harness (None)."""
    from prefect.client.orchestration import SyncPrefectClient, get_client

    if observed is None:
        return get_client(sync_client=True)
    return SyncPrefectClient(observed.env["PREFECT_API_URL"])


def _subflows(observed: Observed) -> dict[str, Any]:
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId

    with _client(observed) as client:
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(
            parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[observed.parent.id])))
    return {run.name: run for run in runs}


def _artifacts(flow_run_id: Any, observed: Observed | None = None) -> dict[str, Any]:
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with _client(observed) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
    # Without a key: Prefect's own record of a failed run's persisted exception.
    return {a.key: a for a in found if a.key}


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
    # The deployment run failed because agency 1111's run did; that subflow, which failed
    # too, is not notified on its own.
    assert failed["state"] == "Failed"
    assert failed["flow_run"] == f"scheduled-{observed.period}"
    assert failed["flow_run_id"] == str(observed.parent.id)
    assert failed["agency"].split(",") == [FAILING, BROKEN]
    assert failed["period"] == observed.period
    assert failed["kind"] == "scheduled"
    assert failed["reason"].startswith(
        f"ScheduledRunFailed: {observed.period}: 1 of 2 agencies failed: {FAILING}: ")
    assert "no such period folder" in failed["reason"]
    assert failed["subject"] == f"[kinerja] GAGAL: scheduled-{observed.period} (Failed)"
    assert f"\nAlasan: {failed['reason']}\n" in failed["text"]

    [quality] = by_event["kinerja.quality.failed"]
    assert (quality["agency"], quality["agency_name"], quality["period"], quality["kind"]) == (
        BROKEN, "Kabupaten Boyolali", observed.period, "scheduled")
    assert quality["flow_run"] == f"{BROKEN}-{observed.period}"
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
        f"mutu data gagal: {summary['failed']} dari {summary['evaluated']} ekspektasi gagal "
        "(fact_appraisal.final_score")
    assert f"\nAlasan: {quality['reason']}\n" in quality["text"]


@pytest.mark.prefect_server
def test_deployment_runs_are_named_and_tagged(observed):
    period = observed.period
    assert observed.parent.name == f"scheduled-{period}"
    # The deployment's tags and the run's own.
    assert sorted(observed.parent.tags) == sorted([
        "kinerja", "scheduled", f"agency:{FAILING}", f"agency:{BROKEN}", f"period:{period}",
        "kind:scheduled"])
    subflows = _subflows(observed)
    assert sorted(subflows) == [f"{FAILING}-{period}", f"{BROKEN}-{period}"]
    for code in (FAILING, BROKEN):
        assert sorted(subflows[f"{code}-{period}"].tags) == sorted([
            "kinerja", f"agency:{code}", f"period:{period}", "kind:scheduled"])
    assert subflows[f"{FAILING}-{period}"].state.is_failed()
    assert subflows[f"{BROKEN}-{period}"].state.is_completed()


@pytest.mark.prefect_server
def test_failed_quality_and_failed_run_show_in_their_artifacts(observed):
    period = observed.period
    subflows = _subflows(observed)
    broken = _artifacts(subflows[f"{BROKEN}-{period}"].id, observed)
    key = f"kinerja-{BROKEN}-{period.lower()}"
    assert sorted(broken) == [key, f"{key}-baris", f"{key}-predikat"]
    markdown = broken[key].data
    assert markdown.startswith(f"# Kabupaten Boyolali ({BROKEN}) — periode {period}\n")
    assert "## Mutu data: **GAGAL**" in markdown
    assert ("| fact\\_appraisal | final\\_score | expect\\_column\\_values\\_to\\_be\\_between |"
            in markdown)

    failed = _artifacts(subflows[f"{FAILING}-{period}"].id, observed)
    assert sorted(failed) == [f"kinerja-{FAILING}-{period.lower()}"]
    text = failed[f"kinerja-{FAILING}-{period.lower()}"].data
    assert "· jenis terjadwal · **GAGAL**" in text
    assert "Alasan: PreflightError: " in text and "no such period folder" in text
    assert "sqlite" not in text and "sqlite" not in markdown  # no warehouse URL in artifacts


@dataclass
class CommandLineRuns:
    warehouse_url: str
    reports: Path
    runs: list[Any]  # Prefect flow runs tagged with the agency, in start order


@pytest.fixture(scope="module")
def command_line_runs(prefect_harness, tmp_path_factory) -> CommandLineRuns:
    """`kinerja run`, then `kinerja backfill` of the same period (the same sources: nothing
    changes). Agency 3399 is this module's own: the session's Prefect database holds no other
    run tagged with it."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags
    from prefect.client.schemas.sorting import FlowRunSort

    root = tmp_path_factory.mktemp("observe-cli")
    generate_landing(root / "landing", CLI_AGENCY, EMPLOYEES, [CLI_PERIOD], seed=8,
                     bad_rows=0.03)
    url = f"sqlite:///{root / 'warehouse.db'}"
    common = ["--agency", CLI_AGENCY, "--landing", str(root / "landing"), "--warehouse", url,
              "--reports", str(root / "reports")]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KINERJA_WORK", str(root / "work"))
        result = runner.invoke(app, ["run", "--period", CLI_PERIOD, *common])
        assert result.exit_code == 0, result.output
        result = runner.invoke(app, ["backfill", "--from", CLI_PERIOD, *common])
        assert result.exit_code == 0, result.output
    with _client() as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[f"agency:{CLI_AGENCY}"])),
            sort=FlowRunSort.START_TIME_ASC)
    return CommandLineRuns(url, root / "reports", runs)


def test_command_line_and_backfill_runs_are_named_and_tagged(command_line_runs):
    agency, period = CLI_AGENCY, CLI_PERIOD
    runs = command_line_runs.runs
    assert [r.name for r in runs] == [f"{agency}-{period}", f"backfill-{agency}-{period}",
                                      f"{agency}-{period}"]
    manual, backfill, subflow = runs
    own = ["kinerja", f"agency:{agency}", f"period:{period}"]
    assert sorted(manual.tags) == sorted([*own, "kind:manual"])
    assert sorted(backfill.tags) == sorted([*own, "kind:backfill"])
    assert sorted(subflow.tags) == sorted([*own, "kind:backfill"])
    assert all(r.state.is_completed() for r in runs)
    assert manual.parent_task_run_id is None and subflow.parent_task_run_id is not None

    # The backfill's semester run replaced the manual one: its summary says so.
    engine = make_engine(command_line_runs.warehouse_url)
    with engine.connect() as conn:
        first, second = conn.execute(sa.text(
            "SELECT run_id, kind, flow_run_id FROM pipeline_run ORDER BY started_at")).all()
    engine.dispose()
    assert (first.kind, first.flow_run_id) == ("manual", str(manual.id))
    assert (second.kind, second.flow_run_id) == ("backfill", str(subflow.id))
    summary = _artifacts(subflow.id)[f"kinerja-{agency}-{period.lower()}"].data
    assert f"Run `{second.run_id}` · jenis backfill (koreksi)" in summary
    assert f"Menggantikan run `{first.run_id}`: 0 baris perubahan untuk 0 pegawai" in summary
    assert _artifacts(backfill.id) == {}  # the backfill flow's runs carry them, not the flow


def _table(artifact: Any) -> pd.DataFrame:
    assert artifact.type == "table"
    data = json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data
    return pd.DataFrame(data)


def test_artifacts_of_a_successful_run_hold_the_warehouse_numbers(command_line_runs):
    from tasks.reporting.report import DATASET_LABELS, PREDIKAT_LABELS, STATUS_LABELS

    agency, period = CLI_AGENCY, CLI_PERIOD
    manual = command_line_runs.runs[0]
    engine = make_engine(command_line_runs.warehouse_url)
    with engine.connect() as conn:
        run = conn.execute(sa.text(
            "SELECT run_id, rows_read, rows_accepted, rows_quarantined FROM pipeline_run "
            "WHERE flow_run_id = :f"), {"f": str(manual.id)}).one()
        files = pd.read_sql(sa.text(
            "SELECT dataset, SUM(rows_read) AS read, SUM(rows_accepted) AS accepted, "
            "SUM(rows_quarantined) AS quarantined FROM source_file WHERE run_id = :r "
            "GROUP BY dataset"), conn, params={"r": run.run_id}).set_index("dataset")
        quarantined = pd.read_sql(sa.text(
            "SELECT dataset, COUNT(*) AS n FROM quarantine WHERE run_id = :r GROUP BY dataset"),
            conn, params={"r": run.run_id}).set_index("dataset")["n"]
        predikat = pd.read_sql(sa.text(
            "SELECT COALESCE(predikat, status) AS code, COUNT(*) AS n FROM fact_appraisal_history "
            "WHERE run_id = :r GROUP BY COALESCE(predikat, status)"),
            conn, params={"r": run.run_id}).set_index("code")["n"]
    engine.dispose()
    key = f"kinerja-{agency}-{period.lower()}"
    found = _artifacts(manual.id)
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
    assert quarantined.sum() > 0  # the landing has bad rows: not a table of zeros
    total = rows[rows["Dataset"] == "Jumlah"].iloc[0]
    assert (total["Baris dibaca"], total["Diterima"], total["Dikarantina"]) == (
        run.rows_read, run.rows_accepted, run.rows_quarantined)

    table = _table(found[f"{key}-predikat"]).set_index("Kode")
    counts = table.drop(index="")["Jumlah pegawai"]
    assert counts[counts > 0].to_dict() == predikat.to_dict()
    assert table.loc["", "Jumlah pegawai"] == predikat.sum()
    for code, label in table["Predikat"].drop(index="").items():
        assert label == PREDIKAT_LABELS.get(code, STATUS_LABELS.get(code))

    summary = found[key].data
    assert f"Run `{run.run_id}` · jenis manual" in summary
    assert "## Mutu data: **LULUS**" in summary
    assert "Publikasi pertama periode ini" in summary
    reports = command_line_runs.reports
    for path in (reports / f"{agency}_{period}_laporan.html",
                 reports / f"{agency}_{period}_hasil.xlsx",
                 reports / "datadocs" / f"{agency}_{period}" / "index.html"):
        assert f"`{path}`" in summary and path.is_file()
    assert "sqlite" not in summary  # the warehouse URL is never in an artifact
