"""The data-quality suite: passes on a fresh publication, catches a broken one, records its
verdict on the publishing run, writes Data Docs, and never un-publishes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from kinerja.cli import app
from kinerja.policy import codes_of
from schemas.quality import QUALITY_TABLES, quality_frames, suite_name
from tasks.reporting.check import data_docs_dir, read_quality_tables, run_suite
from tasks.reporting.report import snapshot
from tasks.warehouse.database import make_engine
from tests.browser import visit
from tests.reporting import (
    AGENCY,
    PERIOD,
    Published,
    copy_warehouse,
    execute,
    generated_landing,
    published,
    query,
    run_flow,
)

runner = CliRunner()


@pytest.fixture(scope="module")
def run(prefect_harness, tmp_path_factory) -> Published:
    return published(tmp_path_factory)


def recorded(url: str, run_id: str) -> pd.Series:
    return query(url, "SELECT status, message, quality_status, quality_checked_at, "
                 "quality_summary FROM pipeline_run WHERE run_id = :r", r=run_id).iloc[0]


def test_suite_passes_on_a_fresh_publication(run):
    assert run.summary["quality_status"] == "passed"
    assert run.summary["quality_failed"] == 0
    record = recorded(run.url, run.summary["run_id"])
    assert record["status"] == "published"
    assert record["quality_status"] == "passed"
    assert record["quality_checked_at"] is not None
    summary = json.loads(record["quality_summary"])
    assert summary["run_id"] == run.summary["run_id"]
    assert [t["table"] for t in summary["tables"]] == list(QUALITY_TABLES)
    assert summary["evaluated"] == sum(t["evaluated"] for t in summary["tables"]) > 100
    assert summary["failures"] == []

    docs = Path(run.summary["data_docs"])
    assert docs == run.reports / "datadocs" / f"{AGENCY}_{PERIOD}" / "index.html"
    index = docs.read_text(encoding="utf-8")
    for table in QUALITY_TABLES:
        assert suite_name(table) in index
    assert len(list(docs.parent.glob("validations/**/*.html"))) == len(QUALITY_TABLES)


def test_broken_publication_fails_is_recorded_and_reported(run, tmp_path):
    broken = copy_warehouse(run, tmp_path / "broken")
    nip = query(broken.url, "SELECT MIN(nip) AS nip FROM fact_appraisal")["nip"].iloc[0]
    unit = query(broken.url, "SELECT unit_code FROM fact_appraisal WHERE nip = :n",
                 n=nip)["unit_code"].iloc[0]
    execute(broken.url,
            f"UPDATE fact_appraisal SET final_score = 500 WHERE nip = '{nip}'",
            f"DELETE FROM dim_unit WHERE unit_code = '{unit}'")

    result = runner.invoke(app, ["check", "--agency", AGENCY, "--period", PERIOD,
                                 "--warehouse", broken.url, "--reports", str(broken.reports)])
    assert result.exit_code == 1, result.output
    assert "data-quality suite failed" in result.stderr
    assert "fact_appraisal.final_score" in result.stderr
    assert "data quality: failed" in result.stdout

    record = recorded(broken.url, run.summary["run_id"])
    assert record["status"] == "published"  # a failed check does not un-publish
    assert record["quality_status"] == "failed"
    failures = json.loads(record["quality_summary"])["failures"]
    found = {(f["table"], f["column"]) for f in failures}
    assert ("fact_appraisal", "final_score") in found
    assert ("fact_appraisal", "qc_missing_dim_unit") in found
    assert ("fact_unit_performance", "qc_missing_dim_unit") in found
    score = next(f for f in failures if f["column"] == "final_score")
    assert score["unexpected_count"] == 1 and score["sample"] == [500.0]
    orphan = next(f for f in failures if f["column"] == "qc_missing_dim_unit")
    assert orphan["sample"] == [unit]
    assert query(broken.url, "SELECT COUNT(*) AS n FROM fact_appraisal")["n"].iloc[0] > 0

    report = (broken.reports / f"{AGENCY}_{PERIOD}_laporan.html").read_text(encoding="utf-8")
    assert '<span class="badge bad">Gagal</span>' in report[report.index('id="mutu-data"'):]
    # The failures in full on the quality page, which reads offline.
    quality = (broken.reports / f"{AGENCY}_{PERIOD}" / "mutu-data.html").read_text(
        encoding="utf-8")
    quality = quality[quality.index('id="pemeriksaan"'):]
    assert '<span class="badge bad">Gagal</span>' in quality
    assert "final_score antara 0 dan 120" in quality
    assert "500.0" in quality
    assert (broken.reports / "datadocs" / f"{AGENCY}_{PERIOD}" / "index.html").is_file()

    # Offline, in a browser: the list of validations and every failed expectation visible.
    summary = json.loads(record["quality_summary"])
    page = broken.reports / f"{AGENCY}_{PERIOD}" / "mutu-data.html"
    seen = visit(page, evaluate={
        "rows": "[...document.querySelectorAll('table.expectations tbody tr')]"
                ".filter(r => r.offsetHeight > 0).length",
        "failed": "[...document.querySelectorAll('table.expectations tr.breach')]"
                  ".filter(r => r.offsetHeight > 0).map(r => r.innerText)",
        "tables": "[...document.querySelectorAll('#per-tabel tbody tr')].length",
    })
    assert seen.console_errors == [] and seen.foreign_requests == []
    assert seen.values["rows"] == summary["evaluated"]
    assert seen.values["tables"] == len(QUALITY_TABLES)
    assert len(seen.values["failed"]) == summary["failed"] == len(summary["failures"])
    for failure in summary["failures"]:
        assert any(failure["expectation"] in text and (failure["uraian"] or "") in text
                   for text in seen.values["failed"]), failure
    assert (broken.reports / f"{AGENCY}_{PERIOD}_hasil.xlsx").is_file()

    # Repaired, the next check passes again and says so on the run.
    execute(broken.url, f"UPDATE fact_appraisal SET final_score = 90 WHERE nip = '{nip}'",
            f"INSERT INTO dim_unit (agency_code, unit_code, unit_name) "
            f"VALUES ('{AGENCY}', '{unit}', 'Unit')")
    result = runner.invoke(app, ["check", "--agency", AGENCY, "--period", PERIOD,
                                 "--warehouse", broken.url, "--reports", str(broken.reports)])
    assert result.exit_code == 0, result.output
    assert recorded(broken.url, run.summary["run_id"])["quality_status"] == "passed"


def test_suite_catches_keys_counts_codes_and_shares(run, tmp_path):
    engine = make_engine(run.url)
    with snapshot(engine) as conn:
        tables = read_quality_tables(conn, AGENCY, PERIOD)
    engine.dispose()
    followup = tables["fact_followup"]
    wrong = followup.iloc[[0]].copy()
    tables["fact_followup"] = pd.concat([followup, wrong], ignore_index=True)  # duplicate key
    tables["fact_followup"].loc[1, "discipline_sanction"] = "HUKUMAN_MATI"
    tables["fact_followup"].loc[2, "training_needs"] = "loyal,akuntabel"  # out of order
    distribution = tables["fact_predikat_distribution"]
    distribution.loc[0, "share"] = distribution.loc[0, "share"] + 0.25
    checks = tables["fact_distribution_check"]
    checks.loc[0, "breach"] = not checks.loc[0, "breach"]

    parameters = {"run_id": [run.summary["run_id"]],
                  "employees_accepted": len(followup), "units_accepted": 0}
    summary = run_suite(quality_frames(tables), codes_of(), parameters,
                        data_docs_dir(tmp_path, "3374", "2025-S1"), run_name="test")
    assert summary["status"] == "failed"
    failed = {(f["table"], f["expectation"], f["column"]) for f in summary["failures"]}
    assert ("fact_followup", "expect_compound_columns_to_be_unique",
            "period_id, agency_code, nip") in failed
    assert ("fact_followup", "expect_table_row_count_to_equal", None) in failed
    assert ("fact_followup", "expect_column_values_to_be_in_set", "discipline_sanction") in failed
    assert ("fact_followup", "expect_column_values_to_match_regex", "training_needs") in failed
    assert ("fact_predikat_distribution", "expect_column_values_to_be_between",
            "qc_unit_share_total") in failed
    assert ("fact_distribution_check", "expect_column_pair_values_to_be_equal",
            "breach, qc_expected_breach") in failed
    assert ("fact_unit_performance", "expect_table_row_count_to_equal", None) in failed
    assert not any(f["table"] == "fact_appraisal" for f in summary["failures"])
    assert (data_docs_dir(tmp_path, "3374", "2025-S1") / "index.html").is_file()


def test_a_failed_check_after_publication_keeps_the_run_published(
        prefect_harness, tmp_path_factory, tmp_path, monkeypatch):
    import tasks.reporting.check

    def exploding(*args, **kwargs):
        raise RuntimeError("the suite exploded")

    monkeypatch.setattr(tasks.reporting.check, "run_suite", exploding)
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    with pytest.raises(RuntimeError, match="the suite exploded"):
        run_flow(generated_landing(tmp_path_factory), url, tmp_path / "reports",
                 tmp_path / "work")
    runs = query(url, "SELECT run_id, status, message, quality_status FROM pipeline_run")
    assert len(runs) == 1
    assert runs["status"].iloc[0] == "published"
    assert "the suite exploded" in runs["message"].iloc[0]
    assert runs["quality_status"].iloc[0] is None
    assert query(url, "SELECT COUNT(*) AS n FROM fact_appraisal")["n"].iloc[0] > 0


def test_check_command_has_help_and_needs_a_publication(tmp_path):
    result = runner.invoke(app, ["check", "--help"])
    assert result.exit_code == 0 and "data-quality suite" in result.output
    result = runner.invoke(app, ["check", "--agency", AGENCY, "--period", PERIOD, "--warehouse",
                                 f"sqlite:///{tmp_path / 'empty.db'}",
                                 "--reports", str(tmp_path / "reports")])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"kinerja: error: nothing is published for agency {AGENCY} {PERIOD}")
