"""The `kinerja` command: help, generate, run, and one-line failures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner

from kinerja.cli import app

runner = CliRunner()


def test_every_command_has_help():
    for args in (["--help"], ["run", "--help"], ["generate", "--help"], ["demo", "--help"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, args
        assert "Usage" in result.output


def test_generate_writes_a_landing_zone(tmp_path):
    result = runner.invoke(app, ["generate", "--agency", "3374", "--employees", "40",
                                 "--periods", "2025-S1", "--out", str(tmp_path), "--seed", "1"])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "3374" / "2025-S1"
    assert (folder / "employees.csv").is_file()
    assert list((folder / "attendance").glob("*.csv"))
    assert "0 deliberately bad" in result.output


def test_bad_period_is_one_line(tmp_path):
    result = runner.invoke(app, ["generate", "--agency", "3374", "--employees", "40",
                                 "--periods", "2025-S3", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "kinerja: error: invalid period '2025-S3': expected YYYY-S1 or YYYY-S2")


def kinerja(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The installed command, as a user runs it, against the session's Prefect test server."""
    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "KINERJA_WORK": "work"}
    return subprocess.run([str(Path(sys.executable).parent / "kinerja"), *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=300)


def test_run_publishes_and_prints_the_accounting(prefect_harness, tmp_path):
    runner.invoke(app, ["generate", "--agency", "3374", "--employees", "60", "--periods",
                        "2025-S1", "--out", str(tmp_path / "landing"), "--bad-rows", "0.02"])
    result = kinerja("run", "--agency", "3374", "--period", "2025-S1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'warehouse.db'}")  # the default warehouse
    with engine.connect() as conn:
        status, read, quarantined = conn.execute(sa.text(
            "SELECT status, rows_read, rows_quarantined FROM pipeline_run")).one()
    engine.dispose()
    assert status == "published"
    assert quarantined > 0
    total = next(line for line in result.stdout.splitlines() if "total" in line)
    assert total.split("│")[2].strip() == str(read)
    assert total.split("│")[4].strip() == str(quarantined)
    assert "predikat:" in result.stdout
    assert (tmp_path / "reports" / "3374_2025-S1_laporan.html").is_file()


def test_failed_run_is_one_line_without_traceback(prefect_harness, tmp_path):
    result = kinerja("run", "--agency", "3374", "--period", "2025-S1", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "kinerja: error: landing/3374/2025-S1: no such period folder in the landing zone "
        "(the landing zone landing does not exist)")
    assert "Traceback" not in result.stderr + result.stdout


def test_warehouse_password_stays_out_of_prefect_and_output(prefect_harness, tmp_path,
                                                            postgres_url):
    import sqlalchemy.engine
    from prefect.client.orchestration import get_client

    # trust authentication ignores the password, so a real run can carry one
    url = sqlalchemy.engine.make_url(postgres_url).set(password="s3cret-wh-pw")
    runner.invoke(app, ["generate", "--agency", "3374", "--employees", "30", "--periods",
                        "2025-S1", "--out", str(tmp_path / "landing")])
    result = kinerja("run", "--agency", "3374", "--period", "2025-S1", "--warehouse",
                     url.render_as_string(hide_password=False), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "s3cret-wh-pw" not in result.stdout + result.stderr
    assert "***" in result.stdout

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs()
    assert runs
    assert not [r.name for r in runs if "s3cret-wh-pw" in repr(r.parameters)]


def test_warehouse_option_leaves_the_environment_as_it_was(monkeypatch):
    from kinerja.cli import _warehouse_via_environment

    monkeypatch.delenv("KINERJA_WAREHOUSE_URL", raising=False)
    with _warehouse_via_environment("sqlite:///elsewhere.db"):
        assert os.environ["KINERJA_WAREHOUSE_URL"] == "sqlite:///elsewhere.db"
    assert "KINERJA_WAREHOUSE_URL" not in os.environ
    monkeypatch.setenv("KINERJA_WAREHOUSE_URL", "sqlite:///configured.db")
    with _warehouse_via_environment("sqlite:///elsewhere.db"):
        pass
    assert os.environ["KINERJA_WAREHOUSE_URL"] == "sqlite:///configured.db"


def _fails_before_prefect(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    # A Prefect API nobody answers: a command that reached Prefect would fail another way.
    env = {**os.environ, "PREFECT_API_URL": "http://127.0.0.1:9/api", "KINERJA_WORK": "work"}
    return subprocess.run([str(Path(sys.executable).parent / "kinerja"), *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=60)


def test_mistakes_fail_before_prefect_and_leave_no_run(tmp_path):
    runner.invoke(app, ["generate", "--agency", "3374", "--employees", "20", "--periods",
                        "2025-S1", "--out", str(tmp_path / "landing")])
    cases = {
        ("run", "--agency", "3375", "--period", "2025-S1"):
            "unknown agency 3375 (agencies in landing: 3374)",
        ("run", "--agency", "3374", "--period", "2025-S2"): "(periods of 3374: 2025-S1)",
        ("run", "--agency", "3374", "--period", "2025-S3"): "invalid period '2025-S3'",
        ("run", "--agency", "3374", "--period", "2025-S1", "--policy", "nope"): "policy nope:",
        ("backfill", "--agency", "3375", "--from", "2025-S1"): "unknown agency 3375",
    }
    for args, expected in cases.items():
        result = _fails_before_prefect(list(args), tmp_path)
        assert result.returncode == 1, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("kinerja: error: "), (args, lines)
        assert expected in lines[0], (args, lines)
    # No run was put on record: the default warehouse was never even created.
    assert not (tmp_path / "warehouse.db").exists()
    assert not (tmp_path / "work").exists()
