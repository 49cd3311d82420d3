"""SQL sources on the real MariaDB server: an e-kinerja-like database holding the same rows as a
generated landing zone gives the same warehouse as the files, with lineage and quarantine naming
the query and row, and the source password nowhere in logs or the run record."""

from __future__ import annotations

import csv
import logging
import re
import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from prefect import get_client
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

from flows.semester import semester_appraisal
from kinerja.config import SqlSource
from kinerja.period import Period
from kinerja.synthetic import generate_landing
from schemas.outputs import FACT_TABLES
from tasks.sources.extract import DatasetError
from tasks.sources.sql_source import expand_url, extract_sql, query_parameters, query_ref, sql_text
from tasks.warehouse.database import make_engine

AGENCY = "3374"
PERIOD = "2025-S1"
PASSWORD = "s3cret-pw"
SQL_DATASETS = ("attendance", "skp", "ratings", "unit_iku")

# An e-kinerja-like schema: Indonesian names, typed columns, surrogate ids, one database for
# several agencies (kode_pemda) and periods.
SCHEMA = """
CREATE TABLE skp_indikator (
    id BIGINT AUTO_INCREMENT PRIMARY KEY, kode_pemda CHAR(4) NOT NULL, periode CHAR(7) NOT NULL,
    nip VARCHAR(32), kode_indikator VARCHAR(64), uraian VARCHAR(500), target DECIMAL(18,4),
    realisasi DECIMAL(18,4), satuan VARCHAR(64), polaritas VARCHAR(16), bobot DECIMAL(18,4));
CREATE TABLE penilaian_kinerja (
    id BIGINT AUTO_INCREMENT PRIMARY KEY, kode_pemda CHAR(4) NOT NULL, periode CHAR(7) NOT NULL,
    nip VARCHAR(32), nip_penilai VARCHAR(32), tanggal_penilaian DATETIME,
    predikat_hasil_kerja VARCHAR(40), predikat_perilaku_kerja VARCHAR(40),
    berorientasi_pelayanan VARCHAR(40), akuntabel VARCHAR(40), kompeten VARCHAR(40),
    harmonis VARCHAR(40), loyal VARCHAR(40), adaptif VARCHAR(40), kolaboratif VARCHAR(40));
CREATE TABLE iku_perangkat_daerah (
    id BIGINT AUTO_INCREMENT PRIMARY KEY, kode_pemda CHAR(4) NOT NULL, periode CHAR(7) NOT NULL,
    kode_opd VARCHAR(64), kode_iku VARCHAR(64), uraian VARCHAR(500), target DECIMAL(18,4),
    realisasi DECIMAL(18,4), polaritas VARCHAR(16), bobot DECIMAL(18,4));
CREATE TABLE presensi (
    id BIGINT AUTO_INCREMENT PRIMARY KEY, kode_pemda CHAR(4) NOT NULL, nip VARCHAR(32),
    tanggal DATE, status_kehadiran VARCHAR(16), jam_masuk TIME, jam_pulang TIME,
    kode_mesin VARCHAR(64))
"""

# table, {database column: (landing column, type)}
LOADS = {
    "skp": ("skp_indikator", {
        "nip": ("nip", "text"), "kode_indikator": ("indicator_id", "text"),
        "uraian": ("indicator", "text"), "target": ("target", "decimal"),
        "realisasi": ("realization", "decimal"), "satuan": ("unit_of_measure", "text"),
        "polaritas": ("polarity", "text"), "bobot": ("weight", "decimal")}),
    "ratings": ("penilaian_kinerja", {
        "nip": ("nip", "text"), "nip_penilai": ("rater_nip", "text"),
        "tanggal_penilaian": ("rated_at", "timestamp"),
        "predikat_hasil_kerja": ("results_rating", "text"),
        "predikat_perilaku_kerja": ("behavior_rating", "text"),
        **{a: (a, "text") for a in ("berorientasi_pelayanan", "akuntabel", "kompeten",
                                    "harmonis", "loyal", "adaptif", "kolaboratif")}}),
    "unit_iku": ("iku_perangkat_daerah", {
        "kode_opd": ("unit_code", "text"), "kode_iku": ("iku_id", "text"),
        "uraian": ("indicator", "text"), "target": ("target", "decimal"),
        "realisasi": ("realization", "decimal"), "polaritas": ("polarity", "text"),
        "bobot": ("weight", "decimal")}),
    "attendance": ("presensi", {
        "nip": ("nip", "text"), "tanggal": ("date", "date"),
        "status_kehadiran": ("status", "text"), "jam_masuk": ("check_in", "time"),
        "jam_pulang": ("check_out", "time")}),
}


def _typed(value: str, kind: str):
    """The landing text as the typed database column would hold it; ValueError when a typed
    column could not (such a bad row cannot exist in the typed source database)."""
    if value is None or value == "":
        return None
    if kind == "text":
        return value
    if kind == "decimal":
        if not re.fullmatch(r"-?\d+(\.\d{1,4})?", value.strip()):
            raise ValueError(value)
        try:
            return Decimal(value.strip())
        except InvalidOperation as error:
            raise ValueError(value) from error
    if kind == "date":
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError(value)
        return date.fromisoformat(value)
    if kind == "time":
        if not re.fullmatch(r"\d{2}:\d{2}(:\d{2})?", value):
            raise ValueError(value)
        return time.fromisoformat(value)
    if kind == "timestamp":
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})?", value):
            raise ValueError(value)
        return datetime.fromisoformat(value)
    raise AssertionError(kind)


def _landing_rows(folder: Path, dataset: str) -> list[dict[str, str]]:
    paths = sorted((folder / "attendance").glob("*.csv")) if dataset == "attendance" else [
        folder / f"{dataset}.csv"]
    rows: list[dict[str, str]] = []
    for path in paths:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            reader.fieldnames = [n.strip().lower() for n in reader.fieldnames or []]
            rows += [row for row in reader if any((v or "").strip() for v in row.values())]
    return rows


def load_ekinerja(url: str, folder: Path) -> dict[str, int]:
    """Create the e-kinerja-like schema and fill it from the landing files; returns rows loaded
    per dataset (rows a typed column could not hold are left out, as the source would)."""
    engine = sa.create_engine(url)
    loaded = {}
    with engine.begin() as conn:
        for statement in SCHEMA.split(";"):
            conn.exec_driver_sql(statement)
        for dataset, (table, columns) in LOADS.items():
            records = []
            for row in _landing_rows(folder, dataset):
                try:
                    record = {db: _typed(row.get(src), kind)
                              for db, (src, kind) in columns.items()}
                except ValueError:
                    continue
                record["kode_pemda"] = AGENCY
                if dataset != "attendance":
                    record["periode"] = PERIOD
                records.append(record)
            names = list(records[0])
            conn.execute(sa.text(f"INSERT INTO {table} ({', '.join(names)}) VALUES "
                                 f"({', '.join(':' + n for n in names)})"), records)
            loaded[dataset] = len(records)
    engine.dispose()
    return loaded


@pytest.fixture
def reader_url(mariadb_url):
    """A read-only MariaDB user with a password, as an agency would hand out."""
    admin = sa.create_engine(mariadb_url)
    user = f"kinerja_ro_{uuid.uuid4().hex[:8]}"
    database = sa.make_url(mariadb_url).database
    with admin.begin() as conn:
        for host in ("%", "localhost"):
            # sa.text escapes the driver's % placeholders (the '%' host).
            conn.execute(sa.text(f"CREATE USER '{user}'@'{host}' IDENTIFIED BY '{PASSWORD}'"))
            conn.execute(sa.text(f"GRANT SELECT ON `{database}`.* TO '{user}'@'{host}'"))
    try:
        yield sa.make_url(mariadb_url).set(username=user, password=PASSWORD).render_as_string(
            hide_password=False)
    finally:
        with admin.begin() as conn:
            for host in ("%", "localhost"):
                conn.execute(sa.text(f"DROP USER IF EXISTS '{user}'@'{host}'"))
        admin.dispose()


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def _table_text(url: str, table: str) -> pd.DataFrame:
    engine = make_engine(url)
    with engine.connect() as conn:
        frame = pd.read_sql(sa.text(f"SELECT * FROM {table}"), conn)
    engine.dispose()
    return frame


def _facts(url: str) -> dict[str, pd.DataFrame]:
    out = {}
    for table in FACT_TABLES:
        frame = _table_text(url, table).drop(columns="run_id")
        out[table] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
    return out


@pytest.mark.mariadb
def test_a_semester_from_mariadb_equals_the_same_semester_from_files(
        prefect_harness, mariadb_url, reader_url, tmp_path, monkeypatch, capfd):
    landing = tmp_path / "landing"
    generate_landing(landing, AGENCY, 30, [PERIOD], seed=3, bad_rows=0.02)
    folder = landing / AGENCY / PERIOD
    loaded = load_ekinerja(mariadb_url, folder)
    assert all(loaded.values())

    # The attendance server's password comes from the environment, the others are written out.
    monkeypatch.setenv("KINERJA_TEST_PRESENSI_PW", PASSWORD)
    presensi_url = reader_url.replace(f":{PASSWORD}@", ":${KINERJA_TEST_PRESENSI_PW}@")
    config = tmp_path / "kinerja.toml"
    config.write_text(
        f"[agencies.{AGENCY}]\nname = \"Kota Semarang\"\n\n[agencies.{AGENCY}.sources]\n"
        + "".join(
            f'{d} = {{ url = "{presensi_url if d == "attendance" else reader_url}", '
            f'query = "ekinerja_mariadb/{d}.sql", chunk_rows = 500 }}\n'
            for d in SQL_DATASETS),
        encoding="utf-8")
    monkeypatch.setenv("KINERJA_WORK", str(tmp_path / "work"))

    def run(url: str) -> dict:
        return semester_appraisal(agency_code=AGENCY, period_id=PERIOD, landing=str(landing),
                                  warehouse_url=url, reports=str(tmp_path / "reports"))

    files_url = f"sqlite:///{tmp_path / 'files.db'}"
    run(files_url)

    collect = _Collect()
    watched = [logging.getLogger(), logging.getLogger("prefect")]
    for logger in watched:
        logger.addHandler(collect)
    monkeypatch.setenv("KINERJA_CONFIG", str(config))
    sql_url = f"sqlite:///{tmp_path / 'sql.db'}"
    try:
        summary = run(sql_url)
    finally:
        for logger in watched:
            logger.removeHandler(collect)

    # The same warehouse: every fact table, ignoring run_id.
    from_files, from_sql = _facts(files_url), _facts(sql_url)
    for table in FACT_TABLES:
        assert len(from_sql[table]) > 0, table
        pd.testing.assert_frame_equal(from_sql[table], from_files[table], obj=table)

    # Lineage names the queries; rows read = accepted + quarantined, per query too.
    files = _table_text(sql_url, "source_file").set_index("dataset")
    for dataset in SQL_DATASETS:
        row = files.loc[dataset]
        assert row["path"] == f"sql:sources/ekinerja_mariadb/{dataset}.sql"
        assert re.fullmatch(r"[0-9a-f]{64}", row["sha256"]) and row["bytes"] > 0
        assert row["rows_read"] == row["rows_accepted"] + row["rows_quarantined"]
    assert files.loc["attendance", "rows_read"] <= loaded["attendance"]  # dated in the period
    assert files.loc["skp", "rows_read"] == loaded["skp"]
    assert files.loc["units", "path"] == "units.csv"  # not configured: still from the files

    quarantine = _table_text(sql_url, "quarantine")
    refs = quarantine.loc[quarantine["dataset"].isin(SQL_DATASETS), "record_ref"]
    assert len(refs) > 0
    assert refs.str.fullmatch(r"sql:sources/ekinerja_mariadb/\w+\.sql:\d+").all()

    # The password is nowhere: not in our logs, the console, Prefect's stored logs, or the run
    # record.
    assert any("***@" in line for line in collect.lines)  # the source was logged, masked
    with get_client(sync_client=True) as client:
        runs = _table_text(sql_url, "pipeline_run")
        api_logs = client.read_logs(log_filter=LogFilter(
            flow_run_id=LogFilterFlowRunId(any_=[uuid.UUID(runs.loc[0, "flow_run_id"])])))
        flow_run = client.read_flow_run(uuid.UUID(runs.loc[0, "flow_run_id"]))
    captured = capfd.readouterr()
    texts = {
        "logs": "\n".join(collect.lines),
        "console": captured.out + captured.err,
        "prefect logs": "\n".join(log.message for log in api_logs),
        "flow run parameters": repr(flow_run.parameters),
        "summary": repr(summary),
        **{table: _table_text(sql_url, table).to_csv()
           for table in ("pipeline_run", "source_file", "quarantine")},
    }
    assert len(api_logs) > 0
    for where, text in texts.items():
        assert PASSWORD not in text, where


@pytest.mark.mariadb
def test_lineage_follows_the_source_rows(mariadb_url, reader_url, tmp_path):
    landing = tmp_path / "landing"
    generate_landing(landing, AGENCY, 10, [PERIOD], seed=4)
    load_ekinerja(mariadb_url, landing / AGENCY / PERIOD)
    source = SqlSource("skp", reader_url, "ekinerja_mariadb/skp.sql", chunk_rows=7)
    first = extract_sql(source, AGENCY, Period.parse(PERIOD))
    again = extract_sql(source, AGENCY, Period.parse(PERIOD))
    assert first.files == again.files
    assert first.frame["_line"].tolist() == list(range(1, len(first.frame) + 1))

    engine = sa.create_engine(mariadb_url)
    with engine.begin() as conn:  # an analyst's correction in the source database
        conn.exec_driver_sql("UPDATE skp_indikator SET realisasi = realisasi + 1 "
                             "WHERE id = (SELECT MIN(id) FROM skp_indikator)")
    engine.dispose()
    corrected = extract_sql(source, AGENCY, Period.parse(PERIOD))
    assert corrected.files[0].sha256 != first.files[0].sha256
    assert corrected.files[0].rows_read == first.files[0].rows_read


def test_database_values_are_spelled_as_the_landing_zone_spells_them():
    assert sql_text(None) is None
    assert sql_text(Decimal("1500000.00")) == "1500000.00"
    assert sql_text(12.0) == "12" and sql_text(0.1) == "0.1" and sql_text(float("nan")) == "nan"
    assert sql_text(date(2025, 1, 2)) == "2025-01-02"
    # A DATETIME keeps its time even at midnight: rated_at needs one (docs/decisions.md).
    assert sql_text(datetime(2025, 6, 20, 0, 0)) == "2025-06-20 00:00:00"
    assert sql_text(time(7, 20)) == "07:20:00"
    assert sql_text(timedelta(hours=7, minutes=5, seconds=9)) == "07:05:09"  # MySQL TIME
    assert sql_text(b"DINKES") == "DINKES"
    assert sql_text(199001012015031001) == "199001012015031001"  # a NIP stored as a number


def test_queries_name_their_parameters_and_their_reference(monkeypatch):
    period = Period.parse(PERIOD)
    sql = "SELECT * FROM presensi WHERE kode_pemda = :agency_code AND tanggal <= :period_end"
    assert query_parameters(sql, AGENCY, period) == {"agency_code": AGENCY,
                                                     "period_end": date(2025, 6, 30)}
    with pytest.raises(ValueError, match=":tahun"):
        query_parameters("SELECT 1 WHERE tahun = :tahun", AGENCY, period)
    assert query_ref("ekinerja_mariadb/skp.sql") == "sql:sources/ekinerja_mariadb/skp.sql"

    monkeypatch.setenv("EKINERJA_PW", PASSWORD)
    assert expand_url("mysql+pymysql://u:${EKINERJA_PW}@db/e", "ref") == (
        f"mysql+pymysql://u:{PASSWORD}@db/e")
    monkeypatch.delenv("EKINERJA_PW")
    with pytest.raises(DatasetError, match="EKINERJA_PW"):
        expand_url("mysql+pymysql://u:${EKINERJA_PW}@db/e", "ref")


def test_a_missing_query_or_column_is_a_dataset_error(tmp_path):
    database = tmp_path / "source.db"
    engine = sa.create_engine(f"sqlite:///{database}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE skp (nip TEXT, target REAL)")
    engine.dispose()
    query = tmp_path / "skp.sql"
    query.write_text("SELECT nip, target FROM skp ORDER BY nip", encoding="utf-8")
    period = Period.parse(PERIOD)
    with pytest.raises(DatasetError, match="required column missing: indicator_id"):
        extract_sql(SqlSource("skp", f"sqlite:///{database}", str(query)), AGENCY, period)
    with pytest.raises(DatasetError, match="query file not found"):
        extract_sql(SqlSource("skp", f"sqlite:///{database}", "nowhere/skp.sql"), AGENCY, period)
    query.write_text("SELECT nip FROM no_such_table", encoding="utf-8")
    with pytest.raises(DatasetError, match="query failed: no such table"):
        extract_sql(SqlSource("skp", f"sqlite:///{database}", str(query)), AGENCY, period)
