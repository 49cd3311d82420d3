"""Corrections and backfills end to end, through the flows and the CLI, on SQLite and PostgreSQL.

Four semesters of a small generated agency are published once (by semester runs into SQLite;
the PostgreSQL template gets the same rows by copy), and each test backfills a copy. The second
semester's sources are then corrected the way analysts do it: a late attendance export is added,
a supervisor re-rates an employee, the budget office corrects a realisation. The correction is
designed so that it must flow forward: the late export removes an employee's absences in
2024-S1, which changes that employee's absent_days_ytd in 2024-S2; the re-rating takes an
employee out of BAIK/SANGAT_BAIK in 2024-S1, which takes away the promotion eligibility that
employee had in 2025-S1 (four good semesters in a row).
"""

from __future__ import annotations

import csv
import gc
import math
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from prefect import task
from prefect.cache_policies import NONE
from typer.testing import CliRunner

from flows.backfill import BackfillFailed, backfill, plan_backfill
from flows.semester import semester_appraisal
from kinerja.cli import app
from kinerja.period import Period
from kinerja.synthetic import generate_landing
from schemas.outputs import FACT_KEYS, FACT_TABLES
from tasks import steps
from tasks.warehouse import loader
from tasks.warehouse.database import ensure_schema, make_engine, read_table, write_transaction
from tests.conftest import POSTGRES_ADMIN_URL, _server_missing

AGENCY = "3374"
# The corrected period (the second) is an S1, so that the S2 after it reads its absences.
PERIODS = ["2023-S2", "2024-S1", "2024-S2", "2025-S1"]
CORRECTED = PERIODS[1]
EMPLOYEES = 150
SEED = 20
GOOD = {"SANGAT_BAIK", "BAIK"}
# fact_appraisal and fact_followup columns tracked by the change log (warehouse.md "History").
APPRAISAL_FIELDS = ["unit_code", "results_score", "behavior_score", "discipline_score",
                    "unit_score", "final_score", "results_rating", "behavior_rating", "predikat",
                    "rank_in_unit", "status"]
FOLLOWUP_FIELDS = ["reward_candidate", "coaching_required", "training_needs", "absent_days_ytd",
                   "discipline_sanction", "promotion_eligible"]

runner = CliRunner()


# Landing zones ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("landing")
    generate_landing(root, AGENCY, EMPLOYEES, PERIODS, seed=SEED, bad_rows=0.0)
    return root


@dataclass(frozen=True)
class Correction:
    root: Path
    absent_nip: str  # absences in 2024-S1 covered by late official-duty letters
    rerated_nip: str  # good four semesters in a row, re-rated below expectation in 2024-S1


def _read(folder: Path, name: str) -> pd.DataFrame:
    frame = pd.read_csv(folder / name, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return frame.rename(columns=lambda c: c.strip().lower())


def _label(value: str) -> str:
    return value.upper().replace(" ", "").replace("_", "")


def _always_active(folder: Path) -> set[str]:
    employees = _read(folder, "employees.csv")
    open_range = (employees["active_from"] == "") & (employees["active_to"] == "")
    return set(employees.loc[open_range, "nip"])


def _good_rating(folder: Path) -> set[str]:
    """Employees whose latest rating puts them in BAIK or SANGAT_BAIK (scoring.md section 5)."""
    ratings = _read(folder, "ratings.csv")
    ratings["at"] = pd.to_datetime(ratings["rated_at"], format="mixed")
    latest = ratings.sort_values("at").groupby("nip").tail(1)
    good = {"DIATASEKSPEKTASI", "SESUAIEKSPEKTASI"}
    ok = latest["results_rating"].map(_label).isin(good) & latest["behavior_rating"].map(
        _label).isin(good)
    return set(latest.loc[ok, "nip"])


def _working_days(period: Period) -> list[date]:
    days = (period.start + timedelta(n) for n in range((period.end - period.start).days + 1))
    return [d for d in days if d.weekday() < 5]


@pytest.fixture(scope="module")
def correction(landing: Path, tmp_path_factory: pytest.TempPathFactory) -> Correction:
    root = tmp_path_factory.mktemp("corrected")
    shutil.copytree(landing, root, dirs_exist_ok=True)
    folders = [root / AGENCY / p for p in PERIODS]
    folder = folders[1]
    active = set.intersection(*(_always_active(f) for f in folders))

    # The late export: official-duty letters (DL outranks everything) for every weekday of an
    # employee who was marked absent (TK), so that employee's 2024-S1 absences drop to zero.
    marks = pd.concat([_read(folder / "attendance", p.name)
                       for p in sorted((folder / "attendance").glob("*.csv"))])
    absent = marks.loc[marks["status"].str.strip().str.upper() == "TK", "nip"].str.strip()
    # The employee with the most TK rows: a lone TK row may fall on a holiday or be outranked
    # by a letter, and the generator gives few employees absences.
    counts = absent[absent.isin(active)].value_counts()
    absent_nip = sorted(counts[counts == counts.max()].index)[0]
    with (folder / "attendance" / "susulan_surat_tugas.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["nip", "date", "status", "keterangan"])
        for day in _working_days(Period.parse(CORRECTED)):
            writer.writerow([absent_nip, day.isoformat(), "DL", "Surat tugas (susulan)"])

    # The re-rating: every 2024-S1 rating row of an employee rated well in all four semesters.
    rerated_nip = sorted(set.intersection(*(_good_rating(f) for f in folders)) & active
                         - {absent_nip})[0]
    with (folder / "ratings.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    header = [h.strip().lower() for h in rows[0]]
    nip_at, rating_at = header.index("nip"), header.index("results_rating")
    for row in rows[1:]:
        if row and row[nip_at].strip() == rerated_nip:
            row[rating_at] = "DIBAWAH_EKSPEKTASI"
    with (folder / "ratings.csv").open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)

    # The budget office's correction: the first activity's realisation halved.
    workbook = load_workbook(folder / "budget.xlsx")
    sheet = workbook.worksheets[0]
    column = [c.value for c in sheet[1]].index("realisasi") + 1
    sheet.cell(row=2, column=column).value = round(sheet.cell(row=2, column=column).value / 2)
    workbook.save(folder / "budget.xlsx")
    return Correction(root, absent_nip, rerated_nip)


# Warehouses -------------------------------------------------------------------------------------
#
# Semester runs are the expensive part (a Prefect flow with a dozen tasks and the data-quality
# suite each), so the four original semesters are run once, into SQLite; the PostgreSQL template
# gets the same rows by copy, and every test works on a copy of its backend's template.


# The data-quality suite takes seconds per run and has its own tests (test_quality): the runs
# here leave it out, except the CLI backfill on SQLite, which runs the semester flow whole.
_CHECK = getattr(steps, "check_quality", None)


@task(name="check", cache_policy=NONE)
def _not_checked(*args: Any, **kwargs: Any) -> dict[str, Any]:
    return {}


def run_period(url: str, landing_root: Path, period_id: str, work: Path, **kwargs: Any) -> dict:
    """A semester run that builds a fixture."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KINERJA_WORK", str(work))
        patch.setattr(steps, "check_quality", _not_checked, raising=False)
        return semester_appraisal(agency_code=AGENCY, period_id=period_id,
                                  landing=str(landing_root), warehouse_url=url,
                                  reports=str(work.parent / "reports"), **kwargs)


def read(url: str, tables: tuple[str, ...], period_id: str | None = None
         ) -> dict[str, pd.DataFrame]:
    engine = make_engine(url)
    try:
        return {t: read_table(engine, t, AGENCY if period_id else None, period_id)
                for t in tables}
    finally:
        engine.dispose()


def read_facts(url: str, period_id: str) -> dict[str, pd.DataFrame]:
    return read(url, FACT_TABLES, period_id)


def query(url: str, sql: str, **params: Any) -> pd.DataFrame:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return pd.read_sql(sa.text(sql), conn, params=params)
    finally:
        engine.dispose()


def all_rows(url: str) -> dict[str, str]:
    """Every row of every warehouse table, as text."""
    tables = query(url, "SELECT table_name AS t FROM information_schema.tables WHERE "
                   "table_schema = 'public' AND table_type = 'BASE TABLE'"
                   if url.startswith("postgresql") else
                   "SELECT name AS t FROM sqlite_master WHERE type = 'table'")["t"]
    frames = {t: query(url, f"SELECT * FROM {t}") for t in sorted(tables)}
    return {t: f.sort_values(list(f.columns)).to_csv(index=False) for t, f in frames.items()}


def sqlite_bytes(url: str) -> tuple[bytes, bytes] | None:
    """A SQLite warehouse's file and its write-ahead log (committed pages not yet copied back
    are part of the database), byte for byte; None for another database."""
    if not url.startswith("sqlite"):
        return None
    path = Path(sa.make_url(url).database)
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes(), wal.read_bytes() if wal.exists() else b""


def copy_sqlite(source: Path, target: Path) -> str:
    # The backup API copies a consistent snapshot, WAL included.
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return f"sqlite:///{target}"


def copy_rows(source_url: str, target_url: str) -> None:
    """Every warehouse row of `source_url` into the empty warehouse `target_url`."""
    source, target = make_engine(source_url), make_engine(target_url)
    ensure_schema(target)
    names = set(sa.inspect(source).get_table_names()) & set(sa.inspect(target).get_table_names())
    with write_transaction(target) as conn:
        # Schema bookkeeping and reference data come with the migrations, not the rows.
        for name in sorted(n for n in names - {"schema_migrations", "schema_views"}
                           if not n.startswith("ref_")):
            loader.load_frame(conn, name, read_table(source, name))
    source.dispose()
    target.dispose()


@pytest.fixture(scope="module")
def sqlite_template(prefect_harness: None, landing: Path,
                    tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The four semesters published from the original landing zone."""
    folder = tmp_path_factory.mktemp("template")
    for period_id in PERIODS:
        run_period(f"sqlite:///{folder / 'template.db'}", landing, period_id, folder / "work")
    return folder / "template.db"


@pytest.fixture(scope="module")
def reference(sqlite_template: Path, correction: Correction,
              tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, pd.DataFrame]]:
    """The corrected semesters run from scratch: nothing of 2024-S1 on was ever published. The
    first semester's sources are byte for byte the original ones, so its publication is kept."""
    folder = tmp_path_factory.mktemp("reference")
    url = copy_sqlite(sqlite_template, folder / "reference.db")
    engine = make_engine(url)
    with write_transaction(engine) as conn:
        for table in (*FACT_TABLES, "pipeline_run"):
            conn.execute(sa.text(f"DELETE FROM {table} WHERE period_id <> :p"), {"p": PERIODS[0]})
    engine.dispose()
    for period_id in PERIODS[1:]:
        run_period(url, correction.root, period_id, folder / "work")
    assert query(url, "SELECT COUNT(*) AS n FROM fact_appraisal_history")["n"].iloc[0] == 0
    return {p: read_facts(url, p) for p in PERIODS}


class _Postgres:
    """Databases on the test server made and dropped by this module (the template of published
    semesters is module-wide, so the function-scoped `postgres_url` cannot hold it)."""

    def __init__(self) -> None:
        self.admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        self.names: list[str] = []

    def create(self, template: str | None = None) -> str:
        name = f"kinerja_test_{uuid.uuid4().hex[:12]}"
        with self.admin.connect() as conn:
            if template:
                # Pools of finished runs may still hold idle sessions on the template.
                gc.collect()
                conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                     "WHERE datname = :d AND pid <> pg_backend_pid()"),
                             {"d": template})
            suffix = f' TEMPLATE "{template}"' if template else ""
            conn.execute(sa.text(f'CREATE DATABASE "{name}"{suffix}'))
        self.names.append(name)
        return name

    def url(self, name: str) -> str:
        return self.admin.url.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        with self.admin.connect() as conn:
            for name in self.names:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def published(request: pytest.FixtureRequest, sqlite_template: Path) -> Iterator[Any]:
    """A function giving a private copy of the four published semesters on the backend."""
    if request.param == "sqlite":
        yield lambda folder: copy_sqlite(sqlite_template, folder / "warehouse.db")
        return
    pg = _Postgres()
    try:
        template = pg.create()
    except sa.exc.OperationalError as error:
        pg.admin.dispose()
        _server_missing("PostgreSQL", error)
    try:
        copy_rows(f"sqlite:///{sqlite_template}", pg.url(template))
        yield lambda folder: pg.url(pg.create(template=template))
    finally:
        pg.drop_all()


@pytest.fixture
def warehouse(published: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("KINERJA_WORK", str(tmp_path / "work"))
    monkeypatch.setattr(steps, "check_quality", _not_checked, raising=False)
    return published(tmp_path)


# Independent expectations -----------------------------------------------------------------------


def _text(value: Any) -> str | None:
    """The change log's text of a value (docs/decisions.md), written out independently."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if hasattr(value, "item"):
        return _text(value.item())
    return str(value)


def _same(a: Any, b: Any) -> bool:
    if _text(a) is None or _text(b) is None:
        return _text(a) is None and _text(b) is None
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return abs(float(a) - float(b)) <= 1e-9
    return _text(a) == _text(b)


def expected_changes(before: dict[str, pd.DataFrame],
                     after: dict[str, pd.DataFrame]) -> set[tuple]:
    """(nip, field, old, new) of every tracked value that differs, row by row in Python."""

    def rows(facts: dict[str, pd.DataFrame]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for table, fields in (("fact_appraisal", APPRAISAL_FIELDS),
                              ("fact_followup", FOLLOWUP_FIELDS)):
            for record in facts[table].astype(object).to_dict("records"):
                out.setdefault(record["nip"], {}).update({f: record[f] for f in fields})
        return out

    old, new = rows(before), rows(after)
    found = {(nip, "*", "absent", "present") for nip in new.keys() - old.keys()}
    found |= {(nip, "*", "present", "absent") for nip in old.keys() - new.keys()}
    for nip in old.keys() & new.keys():
        for field in APPRAISAL_FIELDS + FOLLOWUP_FIELDS:
            a, b = old[nip][field], new[nip][field]
            if not _same(a, b):
                found.add((nip, field, _text(a), _text(b)))
    return found


def change_rows(url: str, run_id: str) -> set[tuple]:
    log = query(url, "SELECT nip, field, old_value, new_value FROM appraisal_change "
                "WHERE run_id = :r", r=run_id)
    return {tuple(None if pd.isna(v) else v for v in row)
            for row in log.itertuples(index=False)}


def prefect_state(flow_name: str) -> tuple[str, str]:
    """Type and message of the latest run of `flow_name` on the Prefect API."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName
    from prefect.client.schemas.sorting import FlowRunSort

    with get_client(sync_client=True) as client:
        latest = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])),
            sort=FlowRunSort.EXPECTED_START_TIME_DESC, limit=1)[0]
    message = latest.state.message or ""
    return latest.state.type.value, message.split("exception: BackfillFailed: ", 1)[-1]


def assert_same_facts(got: dict[str, pd.DataFrame], expected: dict[str, pd.DataFrame],
                      period_id: str) -> None:
    for table in FACT_TABLES:
        keys = FACT_KEYS[table]
        pd.testing.assert_frame_equal(
            got[table].drop(columns="run_id").sort_values(keys).reset_index(drop=True),
            expected[table].drop(columns="run_id").sort_values(keys).reset_index(drop=True),
            check_exact=True, obj=f"{period_id} {table}")


def by_nip(facts: dict[str, pd.DataFrame], table: str) -> pd.DataFrame:
    return facts[table].set_index("nip")


# Tests ------------------------------------------------------------------------------------------


def test_backfill_carries_a_correction_forward(warehouse: str, correction: Correction,
                                                reference: dict, tmp_path: Path) -> None:
    before = {p: read_facts(warehouse, p) for p in PERIODS}
    x, y = correction.absent_nip, correction.rerated_nip
    # The correction is designed to reach the later periods; make sure the data allows it.
    assert by_nip(before[CORRECTED], "fact_attendance").at[x, "absent_days"] > 0
    assert by_nip(before["2025-S1"], "fact_followup").at[y, "promotion_eligible"]

    # A dry run first (issue 11): nothing is written, and each period's preview reads the
    # periods before it as the backfill will have re-published them.
    rows_before = all_rows(warehouse)
    bytes_before = sqlite_bytes(warehouse)
    dry = backfill(agency_code=AGENCY, from_period=CORRECTED, landing=str(correction.root),
                   warehouse_url=warehouse, reports=str(tmp_path / "reports"), dry_run=True)
    assert sqlite_bytes(warehouse) == bytes_before
    assert all_rows(warehouse) == rows_before
    assert not (tmp_path / "reports").exists()
    assert not any((tmp_path / "work").iterdir())

    result = backfill(agency_code=AGENCY, from_period=CORRECTED, landing=str(correction.root),
                      warehouse_url=warehouse, reports=str(tmp_path / "reports"))
    compared = ("period_id", "replaced_run_id", "change_rows", "employees_changed",
                "predikat_changed", "appeared", "disappeared", "fields", "files_changed")
    assert [{k: r[k] for k in compared} for r in dry["runs"]] == [
        {k: r[k] for k in compared} for r in result["runs"]]

    assert result["periods"] == PERIODS[1:]
    after = {p: read_facts(warehouse, p) for p in PERIODS}
    # Every period equals a from-scratch run on the corrected sources; the first is untouched.
    for period_id in PERIODS:
        assert_same_facts(after[period_id], reference[period_id], period_id)
    for table in FACT_TABLES:
        pd.testing.assert_frame_equal(after[PERIODS[0]][table], before[PERIODS[0]][table])

    runs = {r["period_id"]: r for r in result["runs"]}
    records = query(warehouse, "SELECT * FROM pipeline_run WHERE kind = 'backfill'")
    assert sorted(records["period_id"]) == PERIODS[1:]
    assert set(records["status"]) == {"published"}
    for period_id in PERIODS[1:]:
        run = runs[period_id]
        old_run_id = before[period_id]["fact_appraisal"]["run_id"].iloc[0]
        assert run["replaced_run_id"] == old_run_id
        assert set(after[period_id]["fact_appraisal"]["run_id"]) == {run["run_id"]}

        # History holds the replaced rows exactly, marked with the run that replaced them.
        history = read(warehouse, ("fact_appraisal_history",), period_id)[
            "fact_appraisal_history"]
        assert set(history["superseded_by_run_id"]) == {run["run_id"]}
        pd.testing.assert_frame_equal(
            history.drop(columns="superseded_by_run_id").sort_values("nip")
            .reset_index(drop=True),
            before[period_id]["fact_appraisal"].sort_values("nip").reset_index(drop=True),
            check_exact=True)

        # The change log is exactly the differing values, computed here independently.
        expected = expected_changes(before[period_id], after[period_id])
        assert change_rows(warehouse, run["run_id"]) == expected, period_id
        assert run["change_rows"] == len(expected)
        assert run["employees_changed"] == len({c[0] for c in expected})

    changes = {p: change_rows(warehouse, runs[p]["run_id"]) for p in PERIODS[1:]}
    good_before = by_nip(before[CORRECTED], "fact_appraisal").at[y, "predikat"]
    assert good_before in GOOD
    assert (y, "predikat", good_before, "BUTUH_PERBAIKAN") in changes[CORRECTED]
    assert {"nip": y, "old": good_before, "new": "BUTUH_PERBAIKAN"} in runs[CORRECTED][
        "predikat_changed"]
    absent_before = by_nip(before[CORRECTED], "fact_followup").at[x, "absent_days_ytd"]
    assert (x, "absent_days_ytd", str(absent_before), "0") in changes[CORRECTED]
    # Forward only because of the correction: 2024-S2 and 2025-S1 read unchanged sources.
    ytd_before = by_nip(before["2024-S2"], "fact_followup").at[x, "absent_days_ytd"]
    ytd_after = by_nip(after["2024-S2"], "fact_followup").at[x, "absent_days_ytd"]
    assert ytd_after < ytd_before
    assert (x, "absent_days_ytd", str(ytd_before), str(ytd_after)) in changes["2024-S2"]
    assert (y, "promotion_eligible", "true", "false") in changes["2025-S1"]
    assert runs["2024-S2"]["files_changed"] == [] and runs["2025-S1"]["files_changed"] == []
    assert sorted((f["change"], f["path"]) for f in runs[CORRECTED]["files_changed"]) == [
        ("added", "attendance/susulan_surat_tugas.csv"), ("changed", "budget.xlsx"),
        ("changed", "ratings.csv")]

    # `kinerja changes` prints the latest run's log with names and units, and the file diff.
    shown = runner.invoke(app, ["changes", "--agency", AGENCY, "--period", CORRECTED,
                                "--warehouse", warehouse, "--limit", "0"])
    assert shown.exit_code == 0, shown.output
    name = by_nip(read(warehouse, ("dim_employee",)), "dim_employee").at[y, "name"]
    labels = {"SANGAT_BAIK": "Sangat Baik", "BAIK": "Baik"}
    assert (f"  predikat {y} {name}: {labels[good_before]} -> Butuh Perbaikan"
            in shown.stdout)
    assert f"│ {y} │" in shown.stdout
    assert f"{len(changes[CORRECTED])} change(s)" in shown.stdout
    assert "added    attendance: attendance/susulan_surat_tugas.csv" in shown.stdout
    assert "changed  ratings: ratings.csv" in shown.stdout
    assert "changed  budget: budget.xlsx" in shown.stdout
    later = runner.invoke(app, ["changes", "--agency", AGENCY, "--period", "2025-S1",
                                "--warehouse", warehouse])
    assert later.exit_code == 0, later.output
    line = next(t for t in later.stdout.splitlines() if f"│ {y} │" in t)
    assert [c.strip() for c in line.split("│")[4:8]] == [
        "Memenuhi Syarat Promosi", "Ya", "Tidak", "promotion_eligible: true -> false"]
    assert "files: the same as run" in later.stdout

    # v_perubahan: the same rows, with names, units and when the run was published.
    view = query(warehouse, "SELECT * FROM v_perubahan WHERE run_id = :r",
                 r=runs["2025-S1"]["run_id"])
    assert len(view) == len(changes["2025-S1"])
    assert view[["kode_instansi", "periode", "jenis_run"]].drop_duplicates().values.tolist() == [
        [AGENCY, "2025-S1", "backfill"]]
    assert view["nama"].notna().all() and view["unit_kerja"].notna().all()
    assert view["waktu_terbit"].notna().all()
    row = view[(view["nip"] == y) & (view["kode_kolom"] == "promotion_eligible")].iloc[0]
    assert (row["nilai_lama"], row["nilai_baru"], row["nama"]) == ("Ya", "Tidak", name)
    assert (row["kolom"], row["kode_nilai_lama"], row["kode_nilai_baru"]) == (
        "Memenuhi Syarat Promosi", "true", "false")


def test_failing_backfill_stops_and_keeps_what_it_published(
    warehouse: str, landing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if warehouse.startswith("sqlite") and _CHECK is not None:
        monkeypatch.setattr(steps, "check_quality", _CHECK)
    broken = tmp_path / "landing"
    shutil.copytree(landing, broken)
    (broken / AGENCY / PERIODS[2] / "skp.csv").unlink()
    before = {p: read_facts(warehouse, p) for p in PERIODS}

    result = runner.invoke(app, ["backfill", "--agency", AGENCY, "--from", PERIODS[0],
                                 "--landing", str(broken), "--warehouse", warehouse,
                                 "--reports", str(tmp_path / "reports")])

    assert result.exit_code == 1
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith(
        f"kinerja: error: backfill of {AGENCY} stopped at {PERIODS[2]} (failed): ")
    assert "skp.csv: required file missing" in message
    assert "not re-run: 2024-S2, 2025-S1" in message
    assert "Traceback" not in result.output
    # What was re-published before the failure is printed, with its (empty) changes.
    printed = [line.split("│")[1:-1] for line in result.stdout.splitlines()
               if line.startswith("│")]
    assert [(cells[0].strip(), cells[3].strip()) for cells in printed] == [
        (PERIODS[0], "0"), (PERIODS[1], "0")]
    # The backfill's own flow run ends Failed with the same reason, for whoever watches Prefect.
    assert prefect_state("backfill") == ("FAILED", message.removeprefix("kinerja: error: "))

    runs = query(warehouse, "SELECT * FROM pipeline_run WHERE kind = 'backfill' "
                 "ORDER BY started_at")
    assert runs["period_id"].tolist() == PERIODS[:3]
    assert runs["status"].tolist() == ["published", "published", "failed"]
    assert "skp.csv: required file missing" in runs["message"].iloc[2]
    after = {p: read_facts(warehouse, p) for p in PERIODS}
    for period_id, run_id in zip(PERIODS[:2], runs["run_id"], strict=False):
        # Re-published from unchanged sources: new run, same values, history kept, and no
        # change rows at all (warehouse.md "Idempotent").
        assert set(after[period_id]["fact_appraisal"]["run_id"]) == {run_id}
        assert_same_facts(after[period_id], before[period_id], period_id)
        assert change_rows(warehouse, run_id) == set()
        history = query(warehouse, "SELECT * FROM fact_appraisal_history "
                        "WHERE superseded_by_run_id = :r", r=run_id)
        assert len(history) == len(before[period_id]["fact_appraisal"])
    shown = runner.invoke(app, ["changes", "--agency", AGENCY, "--period", PERIODS[1],
                                "--warehouse", warehouse])
    assert shown.exit_code == 0, shown.output
    assert "no value differs from run" in shown.stdout
    assert "0 change(s) for 0 employee(s); predikat changed for 0" in shown.stdout
    assert "files: the same as run" in shown.stdout
    for period_id in PERIODS[2:]:
        for table in FACT_TABLES:  # run_id included: not re-published at all
            pd.testing.assert_frame_equal(after[period_id][table], before[period_id][table])


def test_backfill_flow_raises_at_the_failed_period(prefect_harness: None, landing: Path,
                                                  tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KINERJA_WORK", str(tmp_path / "work"))
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    broken = tmp_path / "landing"
    shutil.copytree(landing / AGENCY / PERIODS[3], broken / AGENCY / PERIODS[3])
    (broken / AGENCY / PERIODS[3] / "ratings.csv").unlink()

    with pytest.raises(BackfillFailed) as raised:
        backfill(agency_code=AGENCY, from_period=PERIODS[3], to_period=PERIODS[3],
                 landing=str(broken), warehouse_url=url, reports=str(tmp_path / "reports"))

    assert raised.value.period_id == PERIODS[3]
    assert raised.value.reason == "DatasetError: ratings.csv: required file missing"
    assert raised.value.completed == [] and raised.value.not_run == [PERIODS[3]]
    assert not raised.value.published
    run = query(url, "SELECT kind, status, message FROM pipeline_run").iloc[0].tolist()
    assert run == ["backfill", "failed", "DatasetError: ratings.csv: required file missing"]

    # The plan: nothing published means nothing to backfill up to; --to before --from is wrong.
    with pytest.raises(ValueError, match="has no published period: nothing to backfill"):
        plan_backfill.fn(url, AGENCY, PERIODS[3], None)
    with pytest.raises(ValueError, match="--to 2024-S1 is before --from 2024-S2"):
        plan_backfill.fn(url, AGENCY, PERIODS[2], PERIODS[1])
    assert plan_backfill.fn(url, AGENCY, "2023-S2", "2025-S1") == PERIODS
