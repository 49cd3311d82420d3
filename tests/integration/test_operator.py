"""The operator's day (issue 11): names kept, the demo's configuration, plain command options."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from kinerja.cli import _write_demo_config, app
from tests.landing import NIP_A, NIP_B, write_period

runner = CliRunner()


def _name(url: str) -> str:
    engine = sa.create_engine(url)
    try:
        return pd.read_sql("SELECT agency_name FROM dim_agency WHERE agency_code = '3374'",
                           engine)["agency_name"].item()
    finally:
        engine.dispose()


def test_a_run_without_a_configured_name_keeps_the_warehouses_name(
        prefect_harness, tmp_path, monkeypatch):
    from flows.backfill import backfill
    from flows.semester import semester_appraisal

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KINERJA_CONFIG", raising=False)
    write_period(tmp_path / "landing" / "3374" / "2025-S1")
    url = f"sqlite:///{tmp_path / 'w.db'}"
    common = {"landing": str(tmp_path / "landing"), "reports": str(tmp_path / "reports")}
    semester_appraisal(agency_code="3374", period_id="2025-S1", warehouse_url=url,
                       agency_name="Kota Semarang", **common)
    assert _name(url) == "Kota Semarang"
    # No kinerja.toml, no name: a backfill and a run keep the name (they used to write "3374").
    result = backfill(agency_code="3374", from_period="2025-S1", warehouse_url=url, **common)
    assert [r["period_id"] for r in result["runs"]] == ["2025-S1"]
    summary = semester_appraisal(agency_code="3374", period_id="2025-S1", warehouse_url=url,
                                 **common)
    assert summary["agency_name"] == "Kota Semarang"
    assert _name(url) == "Kota Semarang"
    # A configured name still renames it.
    (tmp_path / "kinerja.toml").write_text('[agencies.3374]\nname = "Pemerintah Kota Semarang"\n')
    semester_appraisal(agency_code="3374", period_id="2025-S1", warehouse_url=url, **common)
    assert _name(url) == "Pemerintah Kota Semarang"


def test_a_first_run_without_any_name_uses_the_code(prefect_harness, tmp_path, monkeypatch):
    from flows.semester import semester_appraisal

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KINERJA_CONFIG", raising=False)
    write_period(tmp_path / "landing" / "3374" / "2025-S1")
    url = f"sqlite:///{tmp_path / 'w.db'}"
    summary = semester_appraisal(agency_code="3374", period_id="2025-S1", warehouse_url=url,
                                 landing=str(tmp_path / "landing"),
                                 reports=str(tmp_path / "reports"))
    assert summary["agency_name"] == "3374" and _name(url) == "3374"


def test_the_demo_writes_the_configuration_it_runs_with(tmp_path, monkeypatch):
    from kinerja.config import load_settings

    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    path = _write_demo_config(tmp_path, url)
    monkeypatch.setenv("KINERJA_CONFIG", str(path))
    for name in ("KINERJA_LANDING", "KINERJA_WAREHOUSE_URL", "KINERJA_REPORTS", "KINERJA_WORK"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.agency_name("3374") == "Kota Semarang"
    assert settings.warehouse_url == url
    assert settings.landing == tmp_path / "landing"
    assert settings.work == tmp_path / ".kinerja" / "work"
    _write_demo_config(tmp_path, url)  # its own file: written again
    (tmp_path / "kinerja.toml").write_text('warehouse_url = "postgresql://prod/db"\n')
    with pytest.raises(ValueError, match="was not written by kinerja demo"):
        _write_demo_config(tmp_path, url)
    assert "prod" in (tmp_path / "kinerja.toml").read_text()


def test_version_short_help_and_plain_flags():
    from importlib.metadata import version

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"kinerja {version('kinerja')}"
    for args in (["-h"], ["run", "-h"], ["backfill", "-h"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0 and "Usage" in result.output, args
    text = runner.invoke(app, ["--help"]).output
    assert "<bool>" not in text and "--debug " in text
    run_help = runner.invoke(app, ["run", "--help"]).output
    assert "--agency CODE" in run_help and "--period PERIOD" in run_help


def _add_run(conn, run_id: str, status: str, started: str, finished: str | None,
             period: str = "2025-S1", message: str | None = None) -> None:
    conn.execute(sa.text(
        "INSERT INTO pipeline_run (run_id, agency_code, period_id, kind, started_at, finished_at,"
        " status, rows_read, rows_accepted, rows_quarantined, message) VALUES (:r, '3374', :p,"
        " 'manual', :s, :f, :st, 10, 9, 1, :m)"),
        {"r": run_id, "p": period, "s": pd.Timestamp(started).to_pydatetime(),
         "f": pd.Timestamp(finished).to_pydatetime() if finished else None, "st": status,
         "m": message})


def test_v_run_marks_the_current_publication_and_what_superseded_what(engine):
    from tasks.warehouse.run_ledger import run_history

    with engine.begin() as conn:
        _add_run(conn, "a", "published", "2025-07-01 01:00", "2025-07-01 01:05")
        _add_run(conn, "b", "failed", "2025-07-02 01:00", "2025-07-02 01:01", message="boom")
        _add_run(conn, "c", "published", "2025-07-03 01:00", "2025-07-03 01:05")
        _add_run(conn, "d", "published", "2025-07-04 01:00", "2025-07-04 01:05")
        _add_run(conn, "e", "published", "2025-07-04 02:00", "2025-07-04 02:05", "2025-S2")
    runs = run_history(engine, "3374", "2025-S1").set_index("run_id")
    assert runs["is_current"].to_dict() == {"a": False, "b": False, "c": False, "d": True}
    assert runs["superseded_by_run_id"].fillna("-").to_dict() == {
        "a": "c", "b": "-", "c": "d", "d": "-"}
    assert run_history(engine, "3374", "2025-S2")["is_current"].tolist() == [True]
    assert len(run_history(engine)) == 5


def test_status_prints_current_and_superseded_runs(tmp_path):
    from tasks.warehouse.database import ensure_schema, make_engine

    url = f"sqlite:///{tmp_path / 'w.db'}"
    engine = make_engine(url)
    ensure_schema(engine)
    with engine.begin() as conn:
        _add_run(conn, "run-old", "published", "2025-07-01 01:00", "2025-07-01 01:05")
        _add_run(conn, "run-new", "published", "2025-07-03 01:00", "2025-07-03 01:05")
        _add_run(conn, "run-bad", "failed", "2025-07-04 01:00", "2025-07-04 01:01",
                 message="employees.csv: required column missing: nip")
    engine.dispose()
    result = runner.invoke(app, ["status", "--agency", "3374", "--warehouse", url])
    assert result.exit_code == 0, result.output
    lines = {line.split("│")[3].strip(): line for line in result.output.splitlines()
             if line.count("│") > 10 and "run-" in line}
    assert "superseded by run-new" in lines["run-old"]
    assert "current" in lines["run-new"] and "superseded" not in lines["run-new"]
    assert "none: employees.csv: required column missing" in lines["run-bad"]
    assert "2025-07-01 08:00:00" in lines["run-old"]  # 01:00 UTC is 08:00 WIB
    empty = runner.invoke(app, ["status", "--agency", "1171", "--warehouse", url])
    assert empty.exit_code == 0 and "no run recorded for 1171" in empty.output


def _doctor_rows(output: str) -> dict[str, tuple[str, str]]:
    rows = {}
    for line in output.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) == 5 and cells[2] in ("OK", "FAIL"):
            rows[cells[1]] = (cells[2], cells[3])
    return rows


def test_doctor_reports_each_check(tmp_path, monkeypatch, postgres_url):
    import socket

    monkeypatch.chdir(tmp_path)
    for name in ("KINERJA_CONFIG", "KINERJA_LANDING", "KINERJA_WAREHOUSE_URL", "PREFECT_API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PREFECT_PROFILES_PATH", str(tmp_path / "no-profiles.toml"))
    write_period(tmp_path / "landing" / "3374" / "2025-S1")
    (tmp_path / "kinerja.toml").write_text(
        f'warehouse_url = "{postgres_url}"\n[agencies.3374]\nname = "Kota Semarang"\n')
    result = runner.invoke(app, ["doctor"], terminal_width=200)
    rows = _doctor_rows(result.output)
    assert result.exit_code == 0, result.output
    assert rows["configuration"] == ("OK", str(tmp_path / "kinerja.toml"))
    assert rows["landing zone"] == ("OK", "landing: 3374 (2025-S1)")
    from tasks.warehouse.database import migrations

    assert rows["warehouse"][0] == "OK"
    assert f"{len(migrations())} migration(s) pending" in rows["warehouse"][1]
    assert rows["warehouse"][1].startswith("postgresql+psycopg://postgres@127.0.0.1:")
    assert rows["policy permenpanrb-6-2022"] == ("OK", "loads")
    assert rows["Prefect API"][0] == "OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (tmp_path / "kinerja.toml").write_text(
        f'warehouse_url = "postgresql+psycopg://kinerja:doc-pw-77@127.0.0.1:{port}/x"\n'
        '[agencies.3374.sources]\n'
        f'skp = {{ url = "mysql+pymysql://u:src-pw-88@127.0.0.1:{port}/x", '
        'query = "ekinerja_mariadb/skp.sql" }\n')
    monkeypatch.setenv("PREFECT_API_URL", f"http://127.0.0.1:{port}/api")
    result = runner.invoke(app, ["doctor"], terminal_width=200)
    rows = _doctor_rows(result.output)
    assert result.exit_code == 1
    assert rows["warehouse"][0] == "FAIL" and "does not answer" in rows["warehouse"][1]
    assert rows["Prefect API"][0] == "FAIL"
    assert rows["source 3374.skp"][0] == "FAIL"
    assert rows["landing zone"][0] == "OK"
    assert "doc-pw-77" not in result.output and "src-pw-88" not in result.output


def test_a_terminal_gets_no_retries_unless_asked():
    from kinerja.cli import task_retries

    assert task_retries(None, interactive=True) == "0"
    assert task_retries(None, interactive=False) is None  # the environment's (default 3)
    assert task_retries(5, interactive=True) == "5"
    assert task_retries(0, interactive=False) == "0"


def test_retries_option_reaches_the_tasks(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    # The option is set before flows/ is imported, where the tasks read it.
    code = ("import os, sys; from kinerja.cli import _set_task_retries; _set_task_retries(2); "
            "from tasks.steps import publish; print(os.environ['KINERJA_TASK_RETRIES'], "
            "publish.retries)")
    env = {k: v for k, v in os.environ.items() if k != "KINERJA_TASK_RETRIES"}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=Path(__file__).parents[2],
                         capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert out.stdout.split() == ["2", "2"], out.stderr


def _run_log(url: str, run_id: str) -> str:
    """What the run logged to Prefect (its records reach the API in batches, a moment later)."""
    import uuid

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.client.schemas.sorting import LogSort

    engine = sa.create_engine(url)
    flow_run_id = pd.read_sql(sa.text("SELECT flow_run_id FROM pipeline_run WHERE run_id = :r"),
                              engine, params={"r": run_id})["flow_run_id"].item()
    engine.dispose()
    with get_client(sync_client=True) as client:
        # The newest first: a page of the API holds at most 200 records.
        logs = client.read_logs(log_filter=LogFilter(
            flow_run_id=LogFilterFlowRunId(any_=[uuid.UUID(flow_run_id)])),
            sort=LogSort.TIMESTAMP_DESC)
    return "\n".join(log.message for log in logs)


def _eventually_logged(url: str, run_id: str, text: str, seconds: float = 30) -> bool:
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if text in _run_log(url, run_id):
            return True
        time.sleep(1)
    return False


def test_every_run_says_what_it_changed_or_that_it_is_the_first(
        prefect_harness, tmp_path, monkeypatch):
    from flows.semester import semester_appraisal
    from tests.landing import NIP_B

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KINERJA_CONFIG", raising=False)
    folder = write_period(tmp_path / "landing" / "3374" / "2025-S1")
    url = f"sqlite:///{tmp_path / 'w.db'}"
    common = {"landing": str(tmp_path / "landing"), "reports": str(tmp_path / "reports"),
              "warehouse_url": url}
    first = semester_appraisal(agency_code="3374", period_id="2025-S1", **common)
    assert first["changes"]["replaced_run_id"] is None
    assert first["changes"]["description"] == (
        f"3374 2025-S1: first publication (run {first['run_id']}), nothing replaced")
    assert _eventually_logged(url, first["run_id"], first["changes"]["description"])
    # A correction: the employee's rating drops below expectation.
    ratings = (folder / "ratings.csv").read_text()
    (folder / "ratings.csv").write_text(ratings.replace("diatas ekspektasi",
                                                        "dibawah ekspektasi"))
    second = semester_appraisal(agency_code="3374", period_id="2025-S1", **common)
    changes = second["changes"]
    assert changes["replaced_run_id"] == first["run_id"]
    assert changes["fields"]["behavior_rating"] == 1
    assert [c["nip"] for c in changes["predikat_changed"]] == [NIP_B]
    assert changes["files_changed"] == [{"dataset": "ratings", "path": "ratings.csv",
                                         "change": "changed"}]
    assert changes["description"].startswith(
        f"3374 2025-S1: run {second['run_id']} against run {first['run_id']}: ")
    assert "predikat changed for 1; files differ: 1 changed" in changes["description"]
    assert _eventually_logged(url, second["run_id"], changes["description"])


# --dry-run (issue 11) ----------------------------------------------------------------------------

COMPARED = ("replaced_run_id", "change_rows", "employees_changed", "predikat_changed",
            "appeared", "disappeared", "fields", "files_changed")


def test_a_dry_run_publishes_nothing_and_previews_what_the_run_then_records(
        prefect_harness, tmp_path, monkeypatch):
    from flows.semester import semester_appraisal
    from tasks.warehouse.change_log import change_log, run_changes
    from tasks.warehouse.database import make_engine

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KINERJA_CONFIG", raising=False)
    monkeypatch.delenv("KINERJA_WORK", raising=False)
    landing, reports, db = tmp_path / "landing", tmp_path / "reports", tmp_path / "w.db"
    folder = write_period(landing / "3374" / "2025-S1")
    url = f"sqlite:///{db}"
    args = ["run", "--agency", "3374", "--period", "2025-S1", "--landing", str(landing),
            "--warehouse", url, "--reports", str(reports), "--dry-run"]

    # Nothing published yet: the dry run says so and does not even create the warehouse.
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "would be the first publication" in first.output
    assert "would quarantine no row" in first.output
    assert not db.exists() and not reports.exists()
    assert not any((tmp_path / ".kinerja" / "work").iterdir())  # beside the warehouse, emptied

    common = {"agency_code": "3374", "period_id": "2025-S1", "landing": str(landing),
              "warehouse_url": url, "reports": str(reports)}
    semester_appraisal(**common)
    # An analyst's correction: a re-rating (predikat changes), a late export with one bad row.
    ratings = (folder / "ratings.csv").read_text()
    (folder / "ratings.csv").write_text(ratings.replace(
        "Sesuai Ekspektasi,diatas ekspektasi", "Dibawah Ekspektasi,dibawah ekspektasi"))
    (folder / "attendance" / "susulan.csv").write_text(
        f"nip,date,status\n{NIP_A},2025-01-03,DL\n{NIP_B},2025-01-06,XX\n")
    reports_before = {p: p.read_bytes() for p in reports.rglob("*") if p.is_file()}
    wal = tmp_path / "w.db-wal"  # committed pages not yet checkpointed are part of the database
    before = (db.read_bytes(), wal.read_bytes() if wal.exists() else b"")

    dry = semester_appraisal(**common, dry_run=True)
    shown = runner.invoke(app, args)

    assert (db.read_bytes(), wal.read_bytes() if wal.exists() else b"") == before  # byte for byte
    assert {p: p.read_bytes() for p in reports.rglob("*") if p.is_file()} == reports_before
    assert shown.exit_code == 0, shown.output
    assert dry["run_id"] is None and dry["rows_quarantined"] == 1
    assert dry["quarantine"]["first_rows"][0]["record_ref"] == "attendance/susulan.csv:3"

    real = semester_appraisal(**common)
    engine = make_engine(url)
    try:
        recorded = run_changes(engine, real["run_id"]).summary()
        log = change_log(engine, real["run_id"])
    finally:
        engine.dispose()
    assert recorded["predikat_changed"] and recorded["files_changed"]
    assert {k: dry["changes"][k] for k in COMPARED} == {k: recorded[k] for k in COMPARED}
    assert dry["first_changes"] == log.head(len(dry["first_changes"])).astype(object).where(
        log.notna(), None).to_dict(orient="records")
    assert dry["changes"]["description"] == recorded["description"].replace(
        f"run {real['run_id']}", "dry run") + "; nothing published"
    assert (dry["rows_read"], dry["rows_quarantined"], dry["predikat_counts"]) == (
        real["rows_read"], real["rows_quarantined"], real["predikat_counts"])
    # What the command printed: the summary, the quarantined row, the first changes in labels.
    for text in (recorded["description"].split(": ", 2)[2].split(";")[0],
                 "attendance/susulan.csv:3", "Di Bawah Ekspektasi", "nothing was published"):
        assert text in " ".join(shown.output.split()), text


def test_a_dry_run_over_the_quarantine_limit_says_the_run_would_fail(
        prefect_harness, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KINERJA_CONFIG", raising=False)
    bad = "nip,date,status\n" + "".join(f"{NIP_B},2025-02-{d:02d},XX\n" for d in range(1, 20))
    write_period(tmp_path / "landing" / "3374" / "2025-S1", {"attendance/surat.csv": bad})
    db = tmp_path / "w.db"
    result = runner.invoke(app, ["run", "--agency", "3374", "--period", "2025-S1", "--landing",
                                 str(tmp_path / "landing"), "--warehouse", f"sqlite:///{db}",
                                 "--dry-run"])
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert "a real run would fail" in output and "attendance" in output
    assert "would quarantine 19 row(s)" in output
    assert not db.exists()


def test_a_dry_run_writes_its_preview_only_inside_the_work_folder(
        prefect_harness, tmp_path, monkeypatch):
    from flows.semester import semester_appraisal
    from kinerja.identifiers import InvalidIdentifier

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KINERJA_CONFIG", raising=False)
    monkeypatch.setenv("KINERJA_WORK", str(tmp_path / "work"))
    write_period(tmp_path / "landing" / "3374" / "2025-S1")
    elsewhere = tmp_path / "elsewhere"
    with pytest.raises(InvalidIdentifier, match="not inside"):
        semester_appraisal(agency_code="3374", period_id="2025-S1",
                           landing=str(tmp_path / "landing"),
                           warehouse_url=f"sqlite:///{tmp_path / 'w.db'}", dry_run=True,
                           preview_root=str(elsewhere))
    assert not elsewhere.exists()
