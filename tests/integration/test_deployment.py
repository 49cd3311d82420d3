"""prefect.yaml on a real Prefect server: deploy, check the schedule, run it with a worker.

On the session's Prefect server (`prefect_server_env` in tests/conftest.py: its own PREFECT_HOME,
the `process` work pool, `prefect deploy --all` from the project folder), reads the runs the
server's scheduler created, triggers a run and serves it with `prefect worker start --run-once`;
the run must publish the period that just closed for every configured agency, as kind
`scheduled`.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import sqlalchemy as sa

from flows.scheduled import ScheduledRunFailed, closed_period, scheduled_semester_appraisal
from kinerja.synthetic import generate_landing
from tasks.warehouse.database import make_engine
from tests.prefect_server import run_worker_once

WIB = ZoneInfo("Asia/Jakarta")
AGENCY = "3374"
DEPLOYMENT = "scheduled_semester_appraisal/semester-schedule"


def scheduled_runs(client, deployment_id, wait_for: int, timeout: float = 60) -> list:
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    deadline = time.monotonic() + timeout
    while True:
        runs = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(
                type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))),
            sort=FlowRunSort.EXPECTED_START_TIME_ASC,
        )
        if len(runs) >= wait_for or time.monotonic() > deadline:
            return runs
        time.sleep(1)


@pytest.mark.prefect_server
def test_deploy_schedule_and_run_with_a_worker(prefect_server_env, tmp_path):
    from prefect.client.orchestration import SyncPrefectClient

    env = prefect_server_env  # the work pool created and `prefect deploy --all` done (conftest)
    period = closed_period(datetime.now(UTC))
    landing = tmp_path / "landing"
    generate_landing(landing, AGENCY, 40, [period.id], seed=11, bad_rows=0.01)
    warehouse_url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    config = tmp_path / "kinerja.toml"
    config.write_text(
        f'landing = "{landing}"\nwarehouse_url = "{warehouse_url}"\n'
        f'reports = "{tmp_path / "reports"}"\nwork = "{tmp_path / "work"}"\n\n'
        f'[agencies.{AGENCY}]\nname = "Kota Semarang"\n',
        encoding="utf-8",
    )

    with SyncPrefectClient(env["PREFECT_API_URL"]) as client:
        deployment = client.read_deployment_by_name(DEPLOYMENT)
        assert deployment.parameters == {}
        [schedule] = deployment.schedules
        assert schedule.active
        assert schedule.schedule.timezone == "Asia/Jakarta"

        # The server's scheduler plans the next two runs: 15 January and 15 July, 02:00 WIB.
        planned = scheduled_runs(client, deployment.id, wait_for=2)[:2]
        assert len(planned) == 2, "the scheduler did not create the next two runs"
        local = [r.expected_start_time.astimezone(WIB) for r in planned]
        assert sorted((t.month, t.day, t.hour, t.minute) for t in local) == [
            (1, 15, 2, 0), (7, 15, 2, 0)]
        for when in local:
            expected = f"{when.year - 1}-S2" if when.month == 1 else f"{when.year}-S1"
            assert closed_period(when).id == expected

        backfill = client.read_deployment_by_name("backfill/backfill")
        assert not backfill.schedules

        # Triggered now, as `prefect deployment run` does, and served by one worker run.
        triggered = client.create_flow_run_from_deployment(deployment.id)
        logs = run_worker_once(env, config, tmp_path, tmp_path / "worker.log")
        run = client.read_flow_run(triggered.id)
        assert run.state is not None and run.state.is_completed(), (
            f"flow run ended {run.state}:\n{logs[-4000:]}")

    engine = make_engine(warehouse_url)
    with engine.connect() as conn:
        runs = pd.read_sql(sa.text("SELECT * FROM pipeline_run"), conn)
        appraisals = conn.execute(sa.text(
            "SELECT COUNT(*) FROM fact_appraisal WHERE agency_code = :a AND period_id = :p"),
            {"a": AGENCY, "p": period.id}).scalar_one()
        agency_name = conn.execute(sa.text(
            "SELECT agency_name FROM dim_agency WHERE agency_code = :a"), {"a": AGENCY}
        ).scalar_one()
    engine.dispose()
    assert runs[["agency_code", "period_id", "kind", "status"]].values.tolist() == [
        [AGENCY, period.id, "scheduled", "published"]]
    assert runs.loc[0, "flow_run_id"]  # the semester_appraisal subflow's Prefect id
    assert appraisals > 0
    assert agency_name == "Kota Semarang"


def test_one_agency_failing_does_not_stop_the_others(prefect_harness, tmp_path, monkeypatch):
    """The scheduled flow itself (no server): every configured agency gets its subflow, in code
    order; agency 1111 has no landing folder and fails, 3374 still publishes."""
    period = closed_period(datetime.now(UTC))
    landing = tmp_path / "landing"
    generate_landing(landing, AGENCY, 30, [period.id], seed=12)
    warehouse_url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    config = tmp_path / "kinerja.toml"
    config.write_text(
        f'landing = "{landing}"\nwarehouse_url = "{warehouse_url}"\n'
        f'reports = "{tmp_path / "reports"}"\nwork = "{tmp_path / "work"}"\n\n'
        f'[agencies.1111]\nname = "Kabupaten Tanpa Data"\n[agencies.{AGENCY}]\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("KINERJA_CONFIG", str(config))

    with pytest.raises(ScheduledRunFailed, match=f"{period.id}: 1 of 2 agencies failed: "
                                                 "1111: .*no such period folder"):
        scheduled_semester_appraisal()

    engine = make_engine(warehouse_url)
    with engine.connect() as conn:
        runs = pd.read_sql(sa.text(
            "SELECT agency_code, period_id, kind, status FROM pipeline_run ORDER BY agency_code"),
            conn)
    engine.dispose()
    # 1111 failed before it was put on record (no landing folder: kinerja/preflight.py).
    assert runs.values.tolist() == [[AGENCY, period.id, "scheduled", "published"]]
