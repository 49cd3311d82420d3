"""The check's fast path (tasks/reporting/expectations.py) gives Great Expectations' own results.

Every expectation of the suite is validated by GX on the published rows and on rows broken in
every way the suite looks for; the fast path must never pass what GX fails, and what it passes
must carry exactly GX's result. On the clean publication it must pass everything (else the check
would quietly fall back to GX and be slow again), and a whole check through the fast path must
record the same summary and write the same Data Docs pages as GX's.
"""

from __future__ import annotations

import json

import great_expectations as gx
import numpy as np
import pandas as pd
import pytest

from kinerja.policy import codes_of
from schemas.quality import QUALITY_TABLES, build_suites, quality_frames
from tasks.reporting import check
from tasks.reporting.check import _escaped_for_docs, data_docs_dir, read_quality_tables, run_suite
from tasks.reporting.expectations import passing_result
from tasks.reporting.report import snapshot
from tasks.warehouse.database import make_engine
from tests.reporting import AGENCY, PERIOD, Published, published


@pytest.fixture(scope="module")
def run(prefect_harness, tmp_path_factory) -> Published:
    return published(tmp_path_factory)


@pytest.fixture(scope="module")
def tables(run) -> dict[str, pd.DataFrame]:
    engine = make_engine(run.url)
    with snapshot(engine) as conn:
        out = read_quality_tables(conn, AGENCY, PERIOD)
    engine.dispose()
    return out


def parameters_of(run: Published, tables: dict[str, pd.DataFrame]) -> dict:
    return {"run_id": [run.summary["run_id"]],
            "employees_accepted": len(tables["fact_appraisal"]),
            "units_accepted": len(tables["fact_unit_performance"])}


def gx_results(frames: dict[str, pd.DataFrame], parameters: dict) -> dict[str, list]:
    """Every table validated by GX alone: its per-expectation results."""
    context = gx.get_context(mode="ephemeral")
    source = context.data_sources.add_pandas("reference")
    suites = build_suites(codes_of())
    out = {}
    for table in QUALITY_TABLES:
        suite = context.suites.add(gx.ExpectationSuite(name=f"ref.{table}",
                                                       expectations=suites[table]))
        batch = source.add_dataframe_asset(table).add_batch_definition_whole_dataframe("b")
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"ref.{table}", data=batch, suite=suite))
        # GX sees the text escaped for the Data Docs, as the check always gave it; the fast
        # path sees the published text.
        escaped = _escaped_for_docs(frames[table])
        out[table] = (frames[table], definition.run(batch_parameters={"dataframe": escaped},
                                                    expectation_parameters=parameters,
                                                    result_format="SUMMARY").results)
    return out


def broken(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The publication broken in every way the suite checks."""
    t = {name: frame.copy() for name, frame in tables.items()}
    appraisal = t["fact_appraisal"]
    appraisal.loc[0, "final_score"] = 500.0
    appraisal.loc[1, "predikat"] = "LUAR_BIASA"
    appraisal.loc[2, "rank_in_unit"] = 0
    appraisal.loc[3, "results_score"] = np.nan  # missing, not out of range
    attendance = t["fact_attendance"]
    attendance.loc[0, "present_days"] = attendance.loc[0, "present_days"] + 1  # day balance
    attendance.loc[1, "nip"] = None
    attendance = pd.concat([attendance, attendance.iloc[[2]]], ignore_index=True)  # duplicate
    t["fact_attendance"] = attendance
    skp = t["fact_skp"]
    skp.loc[0, "target"] = 0.0  # strictly above 0
    skp.loc[1, "polarity"] = "max"
    t["dim_employee"].loc[0, "nip"] = "12345"  # regex
    t["dim_employee"].loc[1, "gender"] = None  # in set: a missing value is not unexpected
    t["dim_employee"].loc[2, "name"] = "<img src=x onerror=alert(1)>"  # markup passes
    followup = t["fact_followup"]
    followup.loc[0, "training_needs"] = "loyal,akuntabel"
    followup.loc[1, "run_id"] = "another-run"
    checks = t["fact_distribution_check"]
    checks.loc[0, "breach"] = not checks.loc[0, "breach"]
    distribution = t["fact_predikat_distribution"]
    distribution.loc[0, "share"] = distribution.loc[0, "share"] + 0.25
    t["dim_unit"] = t["dim_unit"].iloc[1:]  # orphans in every fact naming the first unit
    t["dim_agency"].loc[0, "agency_name"] = None
    return t


def assert_fast_path_agrees(frames: dict[str, pd.DataFrame], parameters: dict, *,
                            must_pass: bool) -> int:
    """Per expectation: GX fails -> the fast path gives None; the fast path passes -> GX's
    result exactly. Returns how many GX failures there were."""
    failures = 0
    for table, (frame, results) in gx_results(frames, parameters).items():
        for result in results:
            mine = passing_result(result.expectation_config, frame)
            where = (table, result.expectation_config.type, dict(result.expectation_config.kwargs))
            if not result.success:
                failures += 1
                assert mine is None, where
            elif mine is not None or must_pass:
                assert mine is not None, where
                assert mine["success"] is True and mine["result"] == result.result, where
    return failures


def test_the_fast_path_passes_a_clean_publication_as_gx_does(run, tables):
    failed = assert_fast_path_agrees(quality_frames(tables), parameters_of(run, tables),
                                     must_pass=True)
    assert failed == 0


def test_the_fast_path_never_passes_what_gx_fails(run, tables):
    failed = assert_fast_path_agrees(quality_frames(broken(tables)), parameters_of(run, tables),
                                     must_pass=False)
    assert failed >= 15  # the breakages above were seen


def test_a_check_through_the_fast_path_records_what_gx_records(run, tables, tmp_path,
                                                               monkeypatch):
    frames = quality_frames(tables)
    parameters = parameters_of(run, tables)
    fast = run_suite(frames, codes_of(), parameters,
                     data_docs_dir(tmp_path / "fast", AGENCY, PERIOD), run_name="same")

    def gx_only(definition, frame, parameters, run_id):
        return definition.run(batch_parameters={"dataframe": _escaped_for_docs(frame)},
                              expectation_parameters=dict(parameters),
                              result_format="SUMMARY", run_id=run_id)

    monkeypatch.setattr(check, "_validate", gx_only)
    slow = run_suite(frames, codes_of(), parameters,
                     data_docs_dir(tmp_path / "slow", AGENCY, PERIOD), run_name="same")
    assert fast["status"] == slow["status"] == "passed"
    for key in ("evaluated", "successful", "failed", "tables", "failures", "expectations"):
        assert json.dumps(fast[key]) == json.dumps(slow[key]), key
    pages = {}
    for name in ("fast", "slow"):
        docs = data_docs_dir(tmp_path / name, AGENCY, PERIOD)
        pages[name] = sorted(p.relative_to(docs).parts[:-2] + (p.name,)
                             for p in docs.glob("validations/**/*.html"))
        # The validation pages hold the same expectations and verdicts (ids and times differ).
        texts = [p.read_text(encoding="utf-8") for p in sorted(docs.glob("validations/**/*.html"))]
        pages[name + "-rows"] = [t.count("<tr") for t in texts]
    assert len(pages["fast"]) == len(pages["slow"]) == len(QUALITY_TABLES)
    assert pages["fast-rows"] == pages["slow-rows"]
