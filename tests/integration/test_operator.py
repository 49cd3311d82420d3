"""The operator's day (issue 11): names kept, the demo's configuration, plain command options."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from kinerja.cli import _write_demo_config, app
from tests.landing import write_period

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
