"""A large agency's run uses a second process (tasks/second_process.py): the quality check runs
there and a fresh one writes the report's OPD workbooks, real child processes under Prefect,
with the same files as when the step writes them itself, and their figures in the run's
timings. Small data takes the second process here through the setting
`parallel_from_employees` (0: always)."""

from __future__ import annotations

import asyncio
import os
import time

import pandas as pd
import pytest
import sqlalchemy as sa
from prefect import flow, task

from flows.semester import semester_appraisal
from kinerja import faults
from kinerja.config import SqlSource
from kinerja.synthetic import generate_landing
from tasks import second_process, steps
from tasks.reporting import report
from tasks.warehouse.database import make_engine
from tests.reporting import page_texts, workbook_members

AGENCY = "3374"
PERIOD = "2025-S1"


async def _task_runs(flow_run_id: str, name: str) -> list:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        TaskRunFilter,
        TaskRunFilterName,
    )

    async with get_client() as client:
        return await client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
            task_run_filter=TaskRunFilter(name=TaskRunFilterName(like_=name)))


def test_opd_workbooks_in_a_second_process_equal_those_written_here(
        prefect_harness, tmp_path, monkeypatch, warehouse_url):
    landing = tmp_path / "landing"
    generate_landing(landing, AGENCY, 120, [PERIOD], seed=11, bad_rows=0.02)
    monkeypatch.setenv("KINERJA_WORK", str(tmp_path / "work"))
    monkeypatch.setenv("KINERJA_PARALLEL_FROM_EMPLOYEES", "0")
    assert second_process.wanted(1)

    state = semester_appraisal(agency_code=AGENCY, period_id=PERIOD, landing=str(landing),
                               warehouse_url=warehouse_url, reports=str(tmp_path / "there"),
                               return_state=True)
    assert state.is_completed()
    flow_run_id = str(state.state_details.flow_run_id)
    for name in ("start-second-process", "score-attendance-share", "prepare-check",
                 "quality-check", "prepare-report", "opd-workbooks"):  # the child's task runs
        runs = asyncio.run(_task_runs(flow_run_id, name))
        assert [r.state.type.value for r in runs] == ["COMPLETED"], name
    summary = state.result()
    assert summary["quality_status"] == "passed"
    parts = {step["step"]: [p["step"] for p in step.get("parts", [])]
             for step in summary["timings"]}
    assert parts["score"] == ["score attendance, second process"]
    assert parts["check"] == ["check, second process"]
    assert parts["report"] == ["report OPD workbooks, second process"]

    monkeypatch.setenv("KINERJA_PARALLEL_FROM_EMPLOYEES", "1000000")
    assert not second_process.wanted(120)
    steps.publication_reports(warehouse_url, AGENCY, PERIOD, str(tmp_path / "here"),
                              employees=120)
    # The OPD workbooks and pages (the agency's differ: the flow's calibration is from the run's
    # ratings, this call's from the configured landing zone).
    folder = f"{AGENCY}_{PERIOD}/opd"
    there, here = (workbook_members(tmp_path / side / folder) for side in ("there", "here"))
    assert len(there) > 10
    assert there.keys() == here.keys()
    for key, content in there.items():
        assert here[key] == content, key
    there, here = (page_texts(tmp_path / side / folder) for side in ("there", "here"))
    assert len(there) > 2 and there.keys() == here.keys()
    for key, content in there.items():
        assert here[key] == content, key
    assert not [p for p in (tmp_path / "there").rglob(".*")]

    # What the run reads while the check runs elsewhere is what the report step would read.
    engine = make_engine(warehouse_url)
    ahead = tmp_path / "ahead.pickle"
    report.write_publication_ahead(engine, AGENCY, PERIOD, ahead, calibration="calibration")
    read_then, calibration = report.load_publication_ahead(engine, AGENCY, PERIOD, ahead)
    read_now = report.load_report_data(engine, AGENCY, PERIOD)
    assert calibration == "calibration" and len(read_now.employees) >= 100
    for name, frame in vars(read_now).items():
        if isinstance(frame, pd.DataFrame):
            pd.testing.assert_frame_equal(getattr(read_then, name), frame, obj=name)
    assert read_then.run == read_now.run and read_then.quality == read_now.quality
    cut = tmp_path / "cut.pickle"  # cut short, as by a full disk: not used
    cut.write_bytes(ahead.read_bytes()[: ahead.stat().st_size // 2])
    assert report.load_publication_ahead(engine, AGENCY, PERIOD, cut) is None
    with engine.begin() as conn:  # another run's file, say, left behind: not used
        conn.execute(sa.text("UPDATE pipeline_run SET run_id = 'another' WHERE run_id = :r"),
                     {"r": read_now.run["run_id"]})
    assert report.load_publication_ahead(engine, AGENCY, PERIOD, ahead) is None
    engine.dispose()


@pytest.mark.parametrize("action", ["raise", "kill"])
def test_a_failure_in_the_second_process_fails_the_step(prefect_harness, tmp_path, monkeypatch,
                                                        action):
    """The child fails (an error, or killed as by the OOM killer): the report step fails with
    it, the publication stays, the run records the failure, and no half-written report folder
    is left behind."""
    warehouse_url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    landing = tmp_path / "landing"
    generate_landing(landing, AGENCY, 60, [PERIOD], seed=12)
    monkeypatch.setenv("KINERJA_WORK", str(tmp_path / "work"))
    monkeypatch.setenv("KINERJA_PARALLEL_FROM_EMPLOYEES", "0")
    monkeypatch.setenv("KINERJA_TASK_RETRIES", "0")
    marker = tmp_path / "faults.log"
    monkeypatch.setenv(faults.MARKER_ENV, str(marker))
    monkeypatch.setenv(faults.ENV, f"report.opd_workbooks:{action}")
    reports = tmp_path / "reports"
    with pytest.raises(Exception) as raised:
        semester_appraisal(agency_code=AGENCY, period_id=PERIOD, landing=str(landing),
                           warehouse_url=warehouse_url, reports=str(reports))
    if action == "raise":
        assert "report.opd_workbooks" in str(raised.value)
    point, pid = marker.read_text().split()
    assert point == "report.opd_workbooks" and int(pid) != os.getpid()  # in the child
    engine = make_engine(warehouse_url)
    with engine.connect() as conn:
        run = conn.execute(sa.text("SELECT status, message FROM pipeline_run")).one()
        published = conn.execute(sa.text(
            "SELECT COUNT(*) FROM fact_appraisal WHERE agency_code = :a"), {"a": AGENCY}).scalar()
    engine.dispose()
    # Published before the report step: the publication stays, the run says what failed.
    assert run.status == "published" and run.message
    assert published > 0
    assert not [p for p in reports.iterdir() if p.name.startswith(".")]
    assert not (reports / f"{AGENCY}_{PERIOD}").exists()


def test_the_employees_expected_before_validation(tmp_path):
    """The count that starts a large agency's second process before anything is validated: the
    employees files' data lines, or 0 where that cannot be told cheaply."""
    landing = tmp_path / "landing"
    generate_landing(landing, AGENCY, 90, [PERIOD], seed=13)
    folder = landing / AGENCY / PERIOD
    lines = (folder / "employees.csv").read_text(encoding="utf-8").count("\n") - 1
    assert lines >= 90
    assert steps.employees_expected(str(folder)) == lines
    sql = SqlSource("employees", "sqlite://", "employees.sql")
    assert steps.employees_expected(str(folder), sql) == 0
    assert steps.employees_expected(str(tmp_path / "nowhere")) == 0
    (folder / "employees.csv").rename(folder / "employees.xlsx")
    assert steps.employees_expected(str(folder)) == 0


@task(name="process-id")
def _process_id(path: str | None = None) -> int:
    """This process's id, also appended to `path` when given."""
    if path is not None:
        with open(path, "a", encoding="ascii") as file:
            file.write(f"{os.getpid()}\n")
    return os.getpid()


def test_the_next_process_starts_ahead_and_takes_over_at_retire(prefect_harness, tmp_path,
                                                                 monkeypatch):
    """The report's process is started during the check (`prepare_next`) while the check's
    still runs; `retire` ends the check's, and the run's steps then get the report's, where the
    task started ahead is not submitted again (`submit_once`)."""
    monkeypatch.setenv("KINERJA_PARALLEL_FROM_EMPLOYEES", "0")
    started = tmp_path / "started"

    @flow
    def steps_of_a_run() -> tuple[int, int, bool]:
        with second_process.for_the_run():
            with second_process.second_process(1) as runner:
                first = runner.submit(_process_id, {}).result()
            assert second_process.prepare_next(1, _process_id, {"path": str(started)})
            deadline = time.monotonic() + 300
            while not started.exists():  # the next one runs its task ...
                assert time.monotonic() < deadline
                time.sleep(0.05)
            with second_process.second_process(1) as runner:  # ... while this one is the run's
                assert runner.submit(_process_id, {}).result() == first
            second_process.retire()
            with second_process.second_process(1) as runner:
                second_process.submit_once(runner, _process_id, {"path": str(started)})
                after = runner.submit(_process_id, {}).result()
            ended = not _alive(first)
        return first, after, ended

    first, after, ended = steps_of_a_run()
    assert ended and after != first
    assert started.read_text().split() == [str(after)]  # started once, in the next process
    assert not _alive(after)  # ended with the run's block


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as file:  # a zombie is not alive
            return file.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_report_process_not_started_during_the_check_is_started_by_the_report(
        prefect_harness, tmp_path, monkeypatch, warehouse_url):
    """Starting the report's process during the check is an optimisation: if it fails, the
    check still gives its verdict and the report step starts the process itself."""
    landing = tmp_path / "landing"
    generate_landing(landing, AGENCY, 60, [PERIOD], seed=14)
    monkeypatch.setenv("KINERJA_WORK", str(tmp_path / "work"))
    monkeypatch.setenv("KINERJA_PARALLEL_FROM_EMPLOYEES", "0")

    def refused(*args, **kwargs):
        raise OSError("no process could be started")

    monkeypatch.setattr(second_process, "prepare_next", refused)
    state = semester_appraisal(agency_code=AGENCY, period_id=PERIOD, landing=str(landing),
                               warehouse_url=warehouse_url, reports=str(tmp_path / "reports"),
                               return_state=True)
    assert state.is_completed()
    summary = state.result()
    assert summary["quality_status"] == "passed"
    assert (tmp_path / "reports" / f"{AGENCY}_{PERIOD}" / "index.html").is_file()
    flow_run_id = str(state.state_details.flow_run_id)
    for name in ("prepare-report", "opd-workbooks"):  # in the process the report started
        runs = asyncio.run(_task_runs(flow_run_id, name))
        assert [r.state.type.value for r in runs] == ["COMPLETED"], name
