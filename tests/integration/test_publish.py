"""Publication to a real warehouse: SQLite (a temporary file) and PostgreSQL (`postgres_url`).

The fact frames are small and hand-made, with the columns of warehouse.md, so that every value
read back can be checked against what was published.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from kinerja.period import Period
from tasks.warehouse import loader
from tasks.warehouse.database import (
    ensure_schema,
    load_prior,
    make_engine,
    migrations,
    read_table,
    redact_url,
)
from tasks.warehouse.publish import (
    DIMENSION_TABLES,
    FACT_TABLES,
    publish_period,
    record_validation,
)
from tasks.warehouse.run_ledger import fail_run, latest_published_period, start_run

A, B = "3374", "1174"
# Every migration of sql/migrations/, in order: a fresh warehouse gets all of them at once.
MIGRATION_VERSIONS = [m.version for m in migrations()]
NIPS = ["199001012015031001", "198505152010122002", "199212302019031003"]
UNITS = ["DINKES", "DISDIK"]


# Fixtures and builders ------------------------------------------------------------------------


def units_frame(names: dict[str, str] | None = None) -> pd.DataFrame:
    names = names or {"DINKES": "Dinas Kesehatan", "DISDIK": "Dinas Pendidikan"}
    return pd.DataFrame(
        {
            "unit_code": list(names),
            "unit_name": list(names.values()),
            "parent_unit_code": [None] * len(names),
        }
    )


def employees_frame(nips: list[str] = NIPS, name_suffix: str = "") -> pd.DataFrame:
    n = len(nips)
    return pd.DataFrame(
        {
            "nip": nips,
            "name": [f"Pegawai {nip[-3:]}{name_suffix}" for nip in nips],
            "employee_type": ["PNS"] * n,
            "unit_code": [UNITS[i % 2] for i in range(n)],
            "position_type": ["PELAKSANA"] * n,
            "position_name": ["Analis"] * n,
            "grade": ["III/a"] * n,
            "supervisor_nip": [None] + [nips[0]] * (n - 1),
            "active_from": pd.to_datetime([None] * (n - 1) + ["2025-03-03"]),
            "active_to": pd.Series([pd.NaT] * n, dtype="datetime64[ns]"),
        }
    )


def make_facts(
    agency: str, period_id: str, shift: float = 0.0, nips: list[str] = NIPS
) -> dict[str, pd.DataFrame]:
    """The seven fact frames as scoring returns them; `shift` changes every score."""
    n = len(nips)
    unit = [UNITS[i % 2] for i in range(n)]
    keys = {"agency_code": [agency] * n, "period_id": [period_id] * n, "nip": list(nips)}
    unit_keys = {"agency_code": [agency] * 2, "period_id": [period_id] * 2, "unit_code": UNITS}
    cycle = [i % 3 for i in range(n)]
    return {
        "fact_attendance": pd.DataFrame(
            {
                **keys,
                "unit_code": unit,
                "working_days": [120] * n,
                "present_days": [[115, 110, 0][c] for c in cycle],
                "sick_days": [[2, 0, 0][c] for c in cycle],
                "permit_days": [1] * n,
                "leave_days": [0] * n,
                "duty_days": [2] * n,
                "absent_days": [[0, 7, 120][c] for c in cycle],
                "late_count": [3] * n,
                "late_minutes": [45] * n,
                "early_count": [1] * n,
                "early_minutes": [10] * n,
                "deduction_pct": [2.5 + shift] * n,
                "discipline_score": [[97.5 + shift, 80.25 + shift, math.nan][c] for c in cycle],
            }
        ),
        "fact_skp": pd.DataFrame(
            {
                "agency_code": [agency] * 2,
                "period_id": [period_id] * 2,
                "nip": [nips[0], nips[0]],
                "indicator_id": ["IND-1", "IND-2"],
                "target": [10.0, 5.0],
                "realization": [12.0 + shift, math.nan],
                "polarity": ["MAX", "MIN"],
                "weight": [1.0, 2.0],
                "achievement": [120.0, 0.0],
            }
        ),
        "fact_unit_performance": pd.DataFrame(
            {
                **unit_keys,
                "iku_score": [95.5 + shift, math.nan],
                "budget_pagu": [1_000_000_000.0, 0.0],
                "budget_realisasi": [870_500_000.25, 0.0],
                "absorption_pct": [87.050000025, math.nan],
                "efficiency_pct": [109.70706493 + shift, math.nan],
                "org_predikat": ["BAIK", None],
                "headcount": [2, 1],
                "appraised_count": [2, 0],
            }
        ),
        "fact_appraisal": pd.DataFrame(
            {
                **keys,
                "unit_code": unit,
                "results_score": [[110.0 + shift, 95.0 + shift, math.nan][c] for c in cycle],
                "behavior_score": [[120.0, 100.0, math.nan][c] for c in cycle],
                "discipline_score": [[97.5 + shift, 80.25 + shift, math.nan][c] for c in cycle],
                "unit_score": [95.5 + shift] * n,
                "final_score": [[1 / 3 + 100 + shift, 94.7 + shift, math.nan][c] for c in cycle],
                "results_rating": [
                    ["DIATAS_EKSPEKTASI", "SESUAI_EKSPEKTASI", None][c] for c in cycle
                ],
                "behavior_rating": [
                    ["DIATAS_EKSPEKTASI", "SESUAI_EKSPEKTASI", None][c] for c in cycle
                ],
                "predikat": [["SANGAT_BAIK", "BAIK", None][c] for c in cycle],
                "rank_in_unit": pd.array([[1, 1, None][c] for c in cycle], dtype="Int64"),
                "status": [["APPRAISED", "APPRAISED", "INACTIVE"][c] for c in cycle],
            }
        ),
        "fact_predikat_distribution": pd.DataFrame(
            {
                "agency_code": [agency] * 5,
                "period_id": [period_id] * 5,
                "unit_code": ["DINKES"] * 5,
                "predikat": ["SANGAT_BAIK", "BAIK", "BUTUH_PERBAIKAN", "KURANG", "SANGAT_KURANG"],
                "employee_count": [1, 1, 0, 0, 0],
                "share": [0.5, 0.5, 0.0, 0.0, 0.0],
            }
        ),
        "fact_distribution_check": pd.DataFrame(
            {
                "agency_code": [agency] * 2,
                "period_id": [period_id] * 2,
                "unit_code": ["DINKES"] * 2,
                "org_predikat": ["BAIK", "BAIK"],
                "rule": ["B_MAX", "BP_K_PRESENT"],
                "predikat_set": ["BAIK", "BUTUH_PERBAIKAN,KURANG"],
                "employee_count": [1, 0],
                "share": [0.5, 0.0],
                "min_share": [0.0, 0.0],
                "max_share": [0.7, 1.0],
                "min_count": [0, 1],
                "breach": [False, True],
            }
        ),
        "fact_followup": pd.DataFrame(
            {
                **keys,
                "reward_candidate": [c == 0 for c in cycle],
                "coaching_required": [False] * n,
                "training_needs": [["", "akuntabel,loyal", ""][c] for c in cycle],
                "absent_days_ytd": [[0, 7, 120][c] for c in cycle],
                "discipline_sanction": [
                    ["NONE", "PERNYATAAN_TIDAK_PUAS", "PEMBERHENTIAN"][c] for c in cycle
                ],
                "promotion_eligible": [c == 0 for c in cycle],
            }
        ),
    }


def run(
    engine: sa.Engine,
    run_id: str,
    agency: str,
    period_id: str,
    *,
    shift: float = 0.0,
    facts: dict[str, pd.DataFrame] | None = None,
    units: pd.DataFrame | None = None,
    employees: pd.DataFrame | None = None,
    agency_name: str | None = None,
) -> None:
    """One run from start to publication."""
    start_run(
        engine,
        run_id=run_id,
        agency_code=agency,
        period_id=period_id,
        flow_run_id=f"flow-{run_id}",
        kind="manual",
        policy_name="permenpanrb-6-2022",
        policy_hash="abc123",
        code_version="0.1.0",
    )
    publish_period(
        engine,
        run_id=run_id,
        agency_code=agency,
        agency_name=agency_name,
        period=Period.parse(period_id),
        units=units_frame() if units is None else units,
        employees=employees_frame() if employees is None else employees,
        facts=make_facts(agency, period_id, shift) if facts is None else facts,
        counts={"rows_read": 100, "rows_accepted": 97, "rows_quarantined": 3},
    )


def snapshot(engine: sa.Engine, tables: tuple[str, ...] = FACT_TABLES + DIMENSION_TABLES) -> dict:
    return {name: read_table(engine, name) for name in tables}


def partition(frame: pd.DataFrame, agency: str, period_id: str) -> pd.DataFrame:
    rows = frame[(frame["agency_code"] == agency) & (frame["period_id"] == period_id)]
    return rows.reset_index(drop=True)


def plain(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain Python values (missing = None), for comparing published with read back."""
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return [
        {k: (v.item() if hasattr(v, "item") else v) for k, v in record.items()}
        for record in records
    ]


def assert_published_as(engine: sa.Engine, facts: dict[str, pd.DataFrame], run_id: str) -> None:
    for name, frame in facts.items():
        agency, period_id = frame["agency_code"].iloc[0], frame["period_id"].iloc[0]
        stored = read_table(engine, name, agency, period_id)
        assert (stored["run_id"] == run_id).all(), name
        columns = list(frame.columns)
        expected = frame.sort_values(columns).reset_index(drop=True)
        got = stored[columns].sort_values(columns).reset_index(drop=True)
        assert plain(got) == plain(expected), name


def statuses(engine: sa.Engine) -> dict[str, str]:
    runs = read_table(engine, "pipeline_run")
    return dict(zip(runs["run_id"], runs["status"], strict=True))


# Schema and URLs ------------------------------------------------------------------------------


def test_ensure_schema_twice_is_a_no_op(warehouse_url: str) -> None:
    engine = make_engine(warehouse_url)
    try:
        assert ensure_schema(engine) == MIGRATION_VERSIONS
        before = snapshot(engine)
        assert ensure_schema(engine) == []
        with engine.connect() as conn:
            versions = conn.execute(sa.text("SELECT version FROM schema_migrations")).all()
        assert sorted(v for (v,) in versions) == MIGRATION_VERSIONS
        tables = set(sa.inspect(engine).get_table_names())
        assert set(FACT_TABLES + DIMENSION_TABLES) <= tables
        assert {"pipeline_run", "source_file", "quarantine"} <= tables
        assert {"fact_appraisal_history", "appraisal_change", "schema_migrations"} <= tables
        after = snapshot(engine)
        assert all(after[name].empty and before[name].empty for name in after)
    finally:
        engine.dispose()


def test_ensure_schema_from_two_processes_at_once(warehouse_url: str) -> None:
    engines = [make_engine(warehouse_url) for _ in range(4)]
    barrier = threading.Barrier(len(engines))
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def migrate(engine: sa.Engine) -> None:
        barrier.wait()
        try:
            results.append(ensure_schema(engine))
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=migrate, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for engine in engines:
        engine.dispose()
    assert errors == []
    assert sorted(results) == [[], [], [], MIGRATION_VERSIONS]


def test_fact_tables_have_the_columns_scoring_produces(engine: sa.Engine) -> None:
    from schemas.outputs import FACT_COLUMNS

    for name in FACT_TABLES:
        columns = list(read_table(engine, name).columns)
        assert columns == [*FACT_COLUMNS[name], "run_id"], name


def test_redact_url_hides_the_password() -> None:
    redacted = redact_url("postgresql+psycopg://kinerja:s3cr3t@db.example:5432/warehouse")
    assert "s3cr3t" not in redacted
    assert redacted == "postgresql+psycopg://kinerja:***@db.example:5432/warehouse"
    assert redact_url("sqlite:///warehouse.db") == "sqlite:///warehouse.db"
    assert "s3cr3t" not in redact_url("not a url://u:s3cr3t@host")
    assert str(make_engine("postgresql://u:s3cr3t@h/db").url.drivername) == "postgresql+psycopg"


# Publication ----------------------------------------------------------------------------------


def test_republication_replaces_only_its_agency_period(engine: sa.Engine) -> None:
    run(engine, "a-p1", A, "2025-S1")
    run(engine, "a-p2", A, "2025-S2", shift=1.0)
    run(engine, "b-p1", B, "2025-S1", shift=2.0)
    before = snapshot(engine, FACT_TABLES)

    run(engine, "a-p1-again", A, "2025-S1", shift=5.0)

    after = snapshot(engine, FACT_TABLES)
    assert_published_as(engine, make_facts(A, "2025-S1", 5.0), "a-p1-again")
    assert_published_as(engine, make_facts(A, "2025-S2", 1.0), "a-p2")
    assert_published_as(engine, make_facts(B, "2025-S1", 2.0), "b-p1")
    for name in FACT_TABLES:
        for agency, period_id in ((A, "2025-S2"), (B, "2025-S1")):
            pd.testing.assert_frame_equal(
                partition(after[name], agency, period_id),
                partition(before[name], agency, period_id),
            )
        assert len(after[name]) == len(before[name])
    assert statuses(engine) == {
        "a-p1": "published",
        "a-p2": "published",
        "b-p1": "published",
        "a-p1-again": "published",
    }
    runs = read_table(engine, "pipeline_run").set_index("run_id")
    latest = runs.loc["a-p1-again"]
    assert (latest["rows_read"], latest["rows_accepted"], latest["rows_quarantined"]) == (
        100,
        97,
        3,
    )
    assert latest["finished_at"] >= latest["started_at"]
    assert latest["policy_name"] == "permenpanrb-6-2022"
    assert latest["flow_run_id"] == "flow-a-p1-again"
    assert latest_published_period(engine, A) == "2025-S2"
    assert latest_published_period(engine, B) == "2025-S1"
    assert latest_published_period(engine, "9999") is None


def test_same_frames_twice_give_identical_rows(engine: sa.Engine) -> None:
    run(engine, "first", A, "2025-S1")
    first = snapshot(engine)
    run(engine, "second", A, "2025-S1")
    second = snapshot(engine)

    for name in FACT_TABLES:
        assert set(second[name]["run_id"]) == {"second"}
        pd.testing.assert_frame_equal(
            first[name].drop(columns="run_id"), second[name].drop(columns="run_id")
        )
    for name in DIMENSION_TABLES:
        pd.testing.assert_frame_equal(first[name], second[name])


def test_failure_mid_publication_leaves_the_previous_one(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(engine, "good", A, "2025-S1")
    run(engine, "other", B, "2025-S1", shift=2.0)
    before = snapshot(engine)
    seen_meanwhile: dict[str, pd.DataFrame] = {}
    loaded: list[str] = []
    load_frame = loader.load_frame

    def crash_on_third_fact_table(conn: Any, table_name: str, frame: Any, **kw: Any) -> int:
        if table_name.startswith("fact_"):
            loaded.append(table_name)
            if len(loaded) == 3:
                # Two fact tables are already replaced inside the transaction: a reader must
                # still see the old publication.
                seen_meanwhile.update(snapshot(engine))
                raise RuntimeError("connection lost while loading")
        return load_frame(conn, table_name, frame, **kw)

    monkeypatch.setattr(loader, "load_frame", crash_on_third_fact_table)
    units = units_frame({"DINKES": "Dinas Kesehatan Kota", "DISDIK": "Dinas Pendidikan"})
    with pytest.raises(RuntimeError, match="connection lost"):
        run(
            engine,
            "crashing",
            A,
            "2025-S1",
            shift=9.0,
            units=units,
            employees=employees_frame(name_suffix=" (baru)"),
        )
    fail_run(engine, "crashing", "publish: connection lost while loading")

    assert loaded == list(FACT_TABLES[:3])
    after = snapshot(engine)
    for name in FACT_TABLES + DIMENSION_TABLES:
        pd.testing.assert_frame_equal(after[name], before[name], obj=name)
        pd.testing.assert_frame_equal(seen_meanwhile[name], before[name], obj=name)
    runs = read_table(engine, "pipeline_run").set_index("run_id")
    assert runs.loc["crashing", "status"] == "failed"
    assert runs.loc["crashing", "message"] == "publish: connection lost while loading"
    assert pd.notna(runs.loc["crashing", "finished_at"])
    assert runs.loc["good", "status"] == "published"

    monkeypatch.setattr(loader, "load_frame", load_frame)
    with pytest.raises(ValueError, match="failed, not running"):
        publish_period(
            engine,
            run_id="crashing",
            agency_code=A,
            agency_name=None,
            period=Period.parse("2025-S1"),
            units=units_frame(),
            employees=employees_frame(),
            facts=make_facts(A, "2025-S1"),
            counts={},
        )


def test_concurrent_publications_of_one_period_do_not_mix(warehouse_url: str) -> None:
    engines = [make_engine(warehouse_url) for _ in range(2)]
    ensure_schema(engines[0])
    run(engines[0], "earlier", A, "2025-S1")
    for run_id in ("x", "y"):
        start_run(
            engines[0],
            run_id=run_id,
            agency_code=A,
            period_id="2025-S1",
            flow_run_id=None,
            kind="manual",
            policy_name=None,
            policy_hash=None,
            code_version=None,
        )
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []
    shifts = {"x": 10.0, "y": 20.0}

    def publish_one(engine: sa.Engine, run_id: str) -> None:
        barrier.wait()
        try:
            publish_period(
                engine,
                run_id=run_id,
                agency_code=A,
                agency_name=None,
                period=Period.parse("2025-S1"),
                units=units_frame(),
                employees=employees_frame(),
                facts=make_facts(A, "2025-S1", shifts[run_id]),
                counts={},
            )
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [
        threading.Thread(target=publish_one, args=(engine, run_id))
        for engine, run_id in zip(engines, shifts, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    winner = read_table(engines[0], "fact_appraisal")["run_id"].iloc[0]
    assert winner in shifts
    assert_published_as(engines[0], make_facts(A, "2025-S1", shifts[winner]), winner)
    assert statuses(engines[0]) == {"earlier": "published", "x": "published", "y": "published"}
    for engine in engines:
        engine.dispose()


def test_frames_of_another_agency_or_period_are_refused(engine: sa.Engine) -> None:
    run(engine, "b", B, "2025-S1")
    before = snapshot(engine)
    facts = make_facts(A, "2025-S1")
    facts["fact_followup"] = make_facts(B, "2025-S1")["fact_followup"]
    with pytest.raises(ValueError, match="fact_followup: rows with agency_code"):
        run(engine, "a", A, "2025-S1", facts=facts)
    facts = make_facts(A, "2025-S1")
    facts["fact_skp"] = facts["fact_skp"].drop(columns="achievement")
    with pytest.raises(ValueError, match="fact_skp: columns missing"):
        publish_period(
            engine,
            run_id="a",
            agency_code=A,
            agency_name=None,
            period=Period.parse("2025-S1"),
            units=units_frame(),
            employees=employees_frame(),
            facts=facts,
            counts={},
        )
    after = snapshot(engine)
    for name in after:
        pd.testing.assert_frame_equal(after[name], before[name], obj=name)
    assert statuses(engine)["a"] == "running"


def test_run_ids_are_checked(engine: sa.Engine) -> None:
    run(engine, "r1", A, "2025-S1")
    with pytest.raises(ValueError, match="already exists"):
        start_run(
            engine,
            run_id="r1",
            agency_code=B,
            period_id="2025-S1",
            flow_run_id=None,
            kind="manual",
            policy_name=None,
            policy_hash=None,
            code_version=None,
        )
    with pytest.raises(ValueError, match="run kind"):
        start_run(
            engine,
            run_id="r2",
            agency_code=A,
            period_id="2025-S1",
            flow_run_id=None,
            kind="nightly",
            policy_name=None,
            policy_hash=None,
            code_version=None,
        )
    # A retried publication of a run that already published changes nothing.
    before = snapshot(engine)
    publish_period(
        engine,
        run_id="r1",
        agency_code=A,
        agency_name="other name",
        period=Period.parse("2025-S1"),
        units=units_frame(),
        employees=employees_frame(),
        facts=make_facts(A, "2025-S1", shift=3.0),
        counts={},
    )
    after = snapshot(engine)
    for name in after:
        pd.testing.assert_frame_equal(after[name], before[name], obj=name)
    # A published run stays published when a later step fails; the message is kept.
    fail_run(engine, "r1", "report: disk full")
    runs = read_table(engine, "pipeline_run").set_index("run_id")
    assert runs.loc["r1", "status"] == "published"
    assert runs.loc["r1", "message"] == "report: disk full"


# Dimensions -----------------------------------------------------------------------------------


def test_dimensions_follow_the_latest_period(engine: sa.Engine) -> None:
    old_nip, new_nip = "197807172005011004", "199805052023022005"
    run(
        engine,
        "s1",
        A,
        "2025-S1",
        agency_name="Kota Semarang (lama)",
        units=units_frame({"DINKES": "Dinas Kesehatan", "DISDIK": "Dinas Pendidikan"}),
        employees=employees_frame([*NIPS, old_nip]),
    )
    # The newer period renames a unit and an employee, adds an employee, drops another.
    run(
        engine,
        "s2",
        A,
        "2025-S2",
        agency_name="Kota Semarang",
        units=units_frame({"DINKES": "Dinas Kesehatan Kota", "DISDIK": "Dinas Pendidikan"}),
        employees=employees_frame([*NIPS, new_nip], name_suffix=" S.Kom"),
    )
    employees = read_table(engine, "dim_employee").set_index("nip")
    assert employees.loc[NIPS[0], "name"] == "Pegawai 001 S.Kom"
    assert employees.loc[new_nip, "name"] == "Pegawai 005 S.Kom"
    assert employees.loc[old_nip, "name"] == "Pegawai 004"  # never deleted
    units = read_table(engine, "dim_unit").set_index("unit_code")
    assert units.loc["DINKES", "unit_name"] == "Dinas Kesehatan Kota"
    agency = read_table(engine, "dim_agency").set_index("agency_code")
    assert agency.loc[A, "agency_name"] == "Kota Semarang"

    # A backfill of the older period inserts what is missing and overwrites nothing.
    before = snapshot(engine, DIMENSION_TABLES)
    run(
        engine,
        "s1-backfill",
        A,
        "2025-S1",
        agency_name="Kota Semarang (lama)",
        units=units_frame({"DINKES": "Dinas Kesehatan", "DISDIK": "Dinas Pendidikan", "X": "X"}),
        employees=employees_frame([*NIPS, old_nip, "196512121990031006"]),
    )
    after = snapshot(engine, DIMENSION_TABLES)
    for name in DIMENSION_TABLES:
        merged = after[name].merge(before[name], how="left", indicator=True)
        added = after[name][(merged["_merge"] == "left_only").to_numpy()]
        assert len(after[name]) == len(before[name]) + len(added), name
    employees = after["dim_employee"].set_index("nip")
    assert employees.loc[NIPS[0], "name"] == "Pegawai 001 S.Kom"
    assert employees.loc["196512121990031006", "name"] == "Pegawai 006"
    assert after["dim_unit"].set_index("unit_code").loc["DINKES", "unit_name"] == (
        "Dinas Kesehatan Kota"
    )
    assert after["dim_unit"].set_index("unit_code").loc["X", "unit_name"] == "X"
    assert after["dim_agency"].set_index("agency_code").loc[A, "agency_name"] == "Kota Semarang"

    # Re-publishing the latest period updates again.
    run(
        engine,
        "s2-again",
        A,
        "2025-S2",
        agency_name=None,
        employees=employees_frame([*NIPS, new_nip], name_suffix=" M.Kom"),
    )
    assert read_table(engine, "dim_employee").set_index("nip").loc[NIPS[0], "name"] == (
        "Pegawai 001 M.Kom"
    )
    # No name given: the agency keeps the name it has (issue 11), it is not renamed to its code.
    assert read_table(engine, "dim_agency").set_index("agency_code").loc[A, "agency_name"] == (
        "Kota Semarang")
    periods = read_table(engine, "dim_period")
    assert plain(periods) == [
        {
            "period_id": "2025-S1",
            "start_date": pd.Timestamp("2025-01-01"),
            "end_date": pd.Timestamp("2025-06-30"),
        },
        {
            "period_id": "2025-S2",
            "start_date": pd.Timestamp("2025-07-01"),
            "end_date": pd.Timestamp("2025-12-31"),
        },
    ]


def test_employee_derived_columns_are_stored(engine: sa.Engine) -> None:
    run(engine, "r", A, "2025-S1")
    employees = read_table(engine, "dim_employee").set_index("nip")
    first = employees.loc["199001012015031001"]
    assert (first["gender"], first["birth_date"], first["appointed_month"]) == (
        "L",
        pd.Timestamp("1990-01-01"),
        "2015-03",
    )
    assert employees.loc["198505152010122002", "gender"] == "P"
    assert employees.loc["199212302019031003", "active_from"] == pd.Timestamp("2025-03-03")
    assert pd.isna(first["active_to"])
    assert employees["agency_code"].eq(A).all()


def test_employee_moved_from_an_agency_with_a_later_period_keeps_the_newer_row(
    engine: sa.Engine,
) -> None:
    run(engine, "b-s2", B, "2025-S2", employees=employees_frame(NIPS[:1], " (B)"))
    run(engine, "a-s1", A, "2025-S1", employees=employees_frame(NIPS, " (A)"))
    employees = read_table(engine, "dim_employee").set_index("nip")
    assert (employees.loc[NIPS[0], "agency_code"], employees.loc[NIPS[0], "name"]) == (
        B,
        "Pegawai 001 (B)",
    )
    assert employees.loc[NIPS[1], "agency_code"] == A


# Values ---------------------------------------------------------------------------------------


def test_missing_values_and_booleans_round_trip(engine: sa.Engine) -> None:
    facts = make_facts(A, "2025-S1")
    run(engine, "r", A, "2025-S1", facts=facts)

    assert_published_as(engine, facts, "r")
    appraisal = read_table(engine, "fact_appraisal", A, "2025-S1").set_index("nip")
    assert str(appraisal["rank_in_unit"].dtype) == "Int64"
    assert appraisal.loc[NIPS[0], "final_score"] == 1 / 3 + 100  # stored unrounded
    followup = read_table(engine, "fact_followup", A, "2025-S1").set_index("nip")
    assert followup["reward_candidate"].dtype == bool
    assert followup.loc[NIPS, "reward_candidate"].tolist() == [True, False, False]
    assert followup.loc[NIPS, "training_needs"].tolist() == ["", "akuntabel,loyal", ""]
    check = read_table(engine, "fact_distribution_check", A, "2025-S1")
    assert check.set_index("rule")["breach"].to_dict() == {"B_MAX": False, "BP_K_PRESENT": True}

    with engine.connect() as conn:
        nulls = conn.execute(
            sa.text(
                "SELECT count(*) FROM fact_appraisal "
                "WHERE final_score IS NULL AND predikat IS NULL AND rank_in_unit IS NULL"
            )
        ).scalar_one()
        empty_needs = conn.execute(
            sa.text("SELECT count(*) FROM fact_followup WHERE training_needs = ''")
        ).scalar_one()
        raw_breach = (
            conn.execute(
                sa.text("SELECT breach FROM fact_distribution_check ORDER BY employee_count")
            )
            .scalars()
            .all()
        )
    assert nulls == 1
    assert empty_needs == 2
    # Through a plain text() query SQLite gives 0/1, PostgreSQL gives booleans; both compare
    # equal to False/True.
    assert raw_breach == [True, False]


def test_awkward_text_round_trips(engine: sa.Engine) -> None:
    awkward = {
        "DINKES": "Dinas\tKesehatan\nKota \\ Semarang",
        "DISDIK": "\\N",  # COPY's NULL marker, as text
    }
    facts = make_facts(A, "2025-S1")
    facts["fact_followup"]["training_needs"] = ["", "\\N", "kompeten\r\nloyal"]
    run(engine, "r", A, "2025-S1", units=units_frame(awkward), facts=facts)

    units = read_table(engine, "dim_unit").set_index("unit_code")["unit_name"].to_dict()
    assert units == awkward
    assert_published_as(engine, facts, "r")


def test_record_validation_writes_lineage_and_bulk_quarantine(engine: sa.Engine) -> None:
    run(engine, "other", B, "2025-S1")
    start_run(
        engine,
        run_id="v",
        agency_code=A,
        period_id="2025-S1",
        flow_run_id=None,
        kind="scheduled",
        policy_name=None,
        policy_hash=None,
        code_version=None,
    )
    files = pd.DataFrame(
        {
            "dataset": ["employees", "attendance"],
            "path": ["employees.csv", "attendance/jan.csv"],
            "sha256": ["a" * 64, "b" * 64],
            "bytes": [1234, 56_789_012_345],
            "rows_read": [3, 25_000],
            "rows_accepted": [3, 5_000],
            "rows_quarantined": [0, 20_000],
        }
    )
    n = 20_000
    quarantine = pd.DataFrame(
        {
            "dataset": ["attendance"] * n,
            "record_ref": [f"attendance/jan.csv:{i + 2}" for i in range(n)],
            "reasons": ["nip: not in employees.csv; status: unknown 'X'"] * n,
            "payload": [{"nip": "123", "date": "2025-01-02", "status": "X"}] * (n - 1) + [None],
        }
    )
    record_validation(engine, "v", files, quarantine)
    record_validation(engine, "v", files, quarantine)  # a retried task replaces, not duplicates

    stored_files = read_table(engine, "source_file")
    assert plain(stored_files.drop(columns="run_id")) == plain(files.sort_values(["dataset"]))
    stored = read_table(engine, "quarantine")
    assert len(stored) == n
    assert set(stored["run_id"]) == {"v"}
    assert set(stored["agency_code"]) == {A}
    assert set(stored["period_id"]) == {"2025-S1"}
    first = stored.set_index("record_ref").loc["attendance/jan.csv:2"]
    assert first["payload"] == '{"nip": "123", "date": "2025-01-02", "status": "X"}'
    assert stored["payload"].isna().sum() == 1
    runs = read_table(engine, "pipeline_run").set_index("run_id")
    assert len(runs.loc["v", "source_fingerprint"]) == 64
    assert pd.isna(runs.loc["other", "source_fingerprint"])
    assert statuses(engine) == {"other": "published", "v": "running"}
    # Another run's publication is untouched.
    assert_published_as(engine, make_facts(B, "2025-S1"), "other")

    record_validation(engine, "v", files.head(1), quarantine.head(0))
    assert len(read_table(engine, "quarantine")) == 0
    assert len(read_table(engine, "source_file")) == 1


# Reads of earlier publications ----------------------------------------------------------------


def test_load_prior_reads_s1_absences_and_three_previous_predikat(engine: sa.Engine) -> None:
    predikat = {"2023-S2": "KURANG", "2024-S1": "BAIK", "2024-S2": "SANGAT_BAIK", "2025-S1": "BAIK"}
    absent = {"2023-S2": 30, "2024-S1": 1, "2024-S2": 2, "2025-S1": 4}
    for period_id in predikat:
        facts = make_facts(A, period_id)
        facts["fact_appraisal"].loc[0, "predikat"] = predikat[period_id]
        facts["fact_attendance"].loc[0, "absent_days"] = absent[period_id]
        run(engine, f"a-{period_id}", A, period_id, facts=facts)
    run(engine, "b-2025-S1", B, "2025-S1", facts=make_facts(B, "2025-S1"))

    prior_absent, prior_predikat = load_prior(engine, A, Period.parse("2025-S2"))
    assert plain(prior_absent.sort_values("absent_days")) == [
        {"nip": NIPS[0], "absent_days": 4},
        {"nip": NIPS[1], "absent_days": 7},
        {"nip": NIPS[2], "absent_days": 120},
    ]
    assert prior_absent["nip"].is_monotonic_increasing
    assert prior_absent["absent_days"].dtype == "int64"
    first = prior_predikat[prior_predikat["nip"] == NIPS[0]]
    assert plain(first) == [
        {"nip": NIPS[0], "period_id": "2024-S1", "predikat": "BAIK"},
        {"nip": NIPS[0], "period_id": "2024-S2", "predikat": "SANGAT_BAIK"},
        {"nip": NIPS[0], "period_id": "2025-S1", "predikat": "BAIK"},
    ]
    assert len(prior_predikat) == 9  # three employees, three periods, NOT_RATED included
    assert prior_predikat["predikat"].isna().sum() == 3

    prior_absent, prior_predikat = load_prior(engine, A, Period.parse("2025-S1"))
    assert prior_absent.empty
    assert list(prior_absent.columns) == ["nip", "absent_days"]
    assert sorted(set(prior_predikat["period_id"])) == ["2023-S2", "2024-S1", "2024-S2"]

    # An S2 whose S1 was never published has no prior absences.
    prior_absent, _ = load_prior(engine, A, Period.parse("2023-S2"))
    assert prior_absent.empty
    prior_absent, prior_predikat = load_prior(engine, B, Period.parse("2025-S2"))
    assert len(prior_absent) == 3
    assert set(prior_predikat["period_id"]) == {"2025-S1"}


# Loading --------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_postgresql_loads_with_copy(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import psycopg

    engine = make_engine(postgres_url)
    ensure_schema(engine)

    copies: list[str] = []
    statements: list[str] = []
    copy = psycopg.Cursor.copy

    def spy(self: psycopg.Cursor, statement: Any, *args: Any, **kwargs: Any) -> Any:
        copies.append(str(statement))
        return copy(self, statement, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "copy", spy)
    sa.event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))

    run(engine, "r", A, "2025-S1")

    copied = {c.split()[1].strip('"') for c in copies}
    assert set(FACT_TABLES) <= copied
    assert {f"stage_{name}" for name in DIMENSION_TABLES} <= copied
    assert not [s for s in statements if s.lstrip().upper().startswith("INSERT INTO FACT_")]
    assert_published_as(engine, make_facts(A, "2025-S1"), "r")
    engine.dispose()


def test_sqlite_inserts_in_one_immediate_transaction(tmp_path: Any) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'warehouse.db'}")
    ensure_schema(engine)
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))

    run(engine, "r", A, "2025-S1")

    inserts = [s for s in statements if s.startswith("INSERT INTO fact_")]
    assert len(inserts) == len(FACT_TABLES)
    assert statements.count("BEGIN IMMEDIATE") == 2  # start_run, publish_period
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
    engine.dispose()


def test_reading_a_chunk_at_a_time_types_as_one_read(engine: sa.Engine, monkeypatch) -> None:
    """select_rows types the driver's rows a chunk at a time: one row at a time (a chunk with a
    null beside chunks without) gives the frames of one read, values and dtypes."""
    from tasks.warehouse import database

    facts = make_facts(A, "2025-S1")
    run(engine, "r", A, "2025-S1", facts=facts)
    with engine.connect() as conn:
        whole = {t: database.select_rows(conn, t) for t in FACT_TABLES + DIMENSION_TABLES}
    assert str(whole["fact_appraisal"]["rank_in_unit"].dtype) == "Int64"
    assert whole["fact_appraisal"]["rank_in_unit"].isna().sum() == 1
    monkeypatch.setattr(database, "READ_CHUNK_ROWS", 1)
    with engine.connect() as conn:
        for table, frame in whole.items():
            assert len(frame) > 0, table
            pd.testing.assert_frame_equal(database.select_rows(conn, table), frame, obj=table)
