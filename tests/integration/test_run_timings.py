"""A run records its own timings on its pipeline_run row (migration 0004), on SQLite and
PostgreSQL: every step, the datasets of extract+validate, and the whole run."""

from __future__ import annotations

from flows.semester import semester_appraisal
from kinerja.synthetic import generate_landing
from tasks.warehouse.database import make_engine
from tasks.warehouse.run_ledger import recorded_timings

STEPS = ["start", "extract+validate", "record-validation", "score", "publish", "check",
         "report", "finish", "run"]


def test_a_run_records_its_steps_timings(prefect_harness, warehouse_url, tmp_path,
                                         monkeypatch):
    monkeypatch.setenv("KINERJA_WORK", str(tmp_path / "work"))
    generate_landing(tmp_path / "landing", "3374", 40, ["2025-S1"], seed=3)
    summary = semester_appraisal(agency_code="3374", period_id="2025-S1",
                                 landing=str(tmp_path / "landing"), warehouse_url=warehouse_url,
                                 reports=str(tmp_path / "reports"))
    engine = make_engine(warehouse_url)
    try:
        steps = recorded_timings(engine, summary["run_id"])
    finally:
        engine.dispose()
    assert steps == summary["timings"]
    assert [s["step"] for s in steps] == STEPS
    parts = steps[1]["parts"]
    assert sorted(p["step"] for p in parts) == sorted(
        f"extract+validate {d}" for d in ("units", "employees", "calendar", "attendance", "skp",
                                          "ratings", "unit_iku", "budget"))
    for step in [*steps, *parts]:
        assert step["seconds"] >= 0 and step["peak_rss_mb"] > 0, step
    run = steps[-1]
    assert run["seconds"] >= sum(s["seconds"] for s in steps[:-1]) * 0.99
    assert run["peak_rss_mb"] == max(s["peak_rss_mb"] for s in steps)
