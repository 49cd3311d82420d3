"""The warehouse: engines, schema migrations and the reads of earlier publications.

Works on any SQLAlchemy database that runs the DDL of `sql/migrations/`; SQLite (the embedded
default) and PostgreSQL (production) are the two that are tested. Publication itself is in
`tasks/warehouse/publish.py`.
"""

from __future__ import annotations

import hashlib
import logging
import re
import sqlite3
import time
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from kinerja import redact
from kinerja.period import Period

log = logging.getLogger(__name__)

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"
MIGRATIONS_DIR = SQL_DIR / "migrations"
VIEWS_DIR = SQL_DIR / "views"

# Text columns of frames read back follow the pipeline's convention (docs/architecture.md).
TEXT_DTYPE = pd.StringDtype("pyarrow")

_MIGRATION_RE = re.compile(r"^(\d{4})_([A-Za-z0-9_]+)\.sql$")
_TABLE_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
# Any fixed 64-bit number works; it only has to differ from the publisher's per-agency keys.
_MIGRATION_LOCK_KEY = int.from_bytes(b"kinerja", "big")
# Marks a connection whose transaction will write, so SQLite takes the write lock at BEGIN.
_WRITE_OPTION = "kinerja_write"
# A publication of a large agency can hold SQLite's write lock for minutes; waiting writers
# should queue behind it rather than fail with "database is locked".
_SQLITE_BUSY_TIMEOUT_S = 600

_SCHEMA_MIGRATIONS_DDL = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version TEXT NOT NULL,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at TIMESTAMP NOT NULL,
    PRIMARY KEY (version)
)
"""


# Engines --------------------------------------------------------------------------------------


def make_engine(url: str) -> Engine:
    """An engine for a warehouse URL.

    `postgresql://` and `postgres://` are rewritten to the psycopg 3 driver, which the
    publisher's COPY needs. SQLite gets real transactions (see `_configure_sqlite`).
    """
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        # SQLAlchemy's own message quotes the whole URL, password included.
        raise ValueError(f"not a valid warehouse URL: {redact_url(url)} (expected e.g. "
                         "postgresql+psycopg://user:password@host/database or "
                         "sqlite:///warehouse.db)") from None
    redact.remember_secret(parsed.password)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        connect_args: dict[str, Any] = {}
        if "timeout" not in parsed.query:
            connect_args["timeout"] = _SQLITE_BUSY_TIMEOUT_S
        engine = sa.create_engine(parsed, connect_args=connect_args)
        _configure_sqlite(engine)
        return engine
    # Connections dropped by the server between semester runs should be replaced, not reported.
    return sa.create_engine(parsed, pool_pre_ping=True)


@contextmanager
def connected(url: str) -> Iterator[Engine]:
    """An engine for one step, disposed when the step ends: every step opens the warehouse
    here, so no pool outlives its step (a process runs many steps, a Dask worker many
    agencies)."""
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def read_only(url: str) -> Iterator[Engine | None]:
    """`existing_engine` for one step (None: no warehouse yet), disposed when it ends."""
    engine = existing_engine(url)
    try:
        yield engine
    finally:
        if engine is not None:
            engine.dispose()


def existing_engine(url: str) -> Engine | None:
    """A read-only engine on a warehouse that already holds kinerja's schema, or None: for reads
    that must leave the warehouse as it was, byte for byte (a dry run). A SQLite file that does
    not exist is not created, and one is opened read-only (SQLite's `mode=ro`), journal mode
    untouched."""
    engine = make_engine(url)
    if engine.url.get_backend_name() == "sqlite":
        database = engine.url.database
        engine.dispose()
        if not database or database == ":memory:" or not Path(database).is_file():
            return None
        target = Path(database).resolve().as_uri().replace("file://", "file:", 1)

        def connect() -> sqlite3.Connection:
            connection = sqlite3.connect(f"{target}?mode=ro", uri=True,
                                         timeout=_SQLITE_BUSY_TIMEOUT_S,
                                         check_same_thread=False)
            connection.isolation_level = None
            return connection

        engine = sa.create_engine("sqlite://", creator=connect)
    if not sa.inspect(engine).has_table("pipeline_run"):
        engine.dispose()
        return None
    return engine


def _configure_sqlite(engine: Engine) -> None:
    # Python's sqlite3 (before 3.12) neither begins a transaction before DDL nor before SELECT,
    # which would break the atomic publication and repeatable reads; SQLAlchemy's documented
    # recipe hands BEGIN over to SQLAlchemy.
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            _use_wal(cursor)
        finally:
            cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A writer that only upgrades its lock at its first write can fail without waiting when
        # another writer committed meanwhile (SQLITE_BUSY_SNAPSHOT); IMMEDIATE queues it at BEGIN.
        if conn.get_execution_options().get(_WRITE_OPTION):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def _use_wal(cursor: Any) -> None:
    # WAL lets HR read the previous publication while a new one is being written. The mode is
    # stored in the file, so only the first connection ever switches it; that switch fails at
    # once, without the busy timeout, while another connection holds a lock, hence the retries.
    deadline = time.monotonic() + _SQLITE_BUSY_TIMEOUT_S
    while cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        try:
            # Returns the resulting mode; an in-memory database, for one, stays "memory".
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that will write: committed on success, rolled back on any exception.

    On SQLite it holds the database's write lock from its first statement, so concurrent
    writers wait for each other instead of failing halfway.
    """
    with engine.connect() as conn:
        conn.execution_options(**{_WRITE_OPTION: True})
        with conn.begin():
            yield conn


def redact_url(url: str | sa.URL) -> str:
    """The URL with its password masked, for logs and messages (`kinerja.redact`)."""
    return redact.redact_url(url)


# Migrations -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The `NNNN_name.sql` files of `directory`, in version order."""
    found: dict[str, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _MIGRATION_RE.match(path.name)
        if not match:
            raise ValueError(f"migration file {path.name!r} is not named NNNN_name.sql")
        version = match.group(1)
        if version in found:
            raise ValueError(f"two migrations with version {version}: {path.name}")
        found[version] = Migration(version, match.group(2), path)
    return [found[v] for v in sorted(found)]


def ensure_schema(engine: Engine, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply every migration not applied yet, in order; return the versions applied now.

    All pending migrations run in one transaction, recorded in `schema_migrations`, so a failure
    leaves the schema as it was. Two processes starting at once serialise on a lock (PostgreSQL
    advisory lock, SQLite write lock); the second then finds nothing left to do.
    """
    pending_files = migrations(directory)
    applied_now: list[str] = []
    with write_transaction(engine) as conn:
        if conn.dialect.name == "postgresql":
            # Taken before the CREATE TABLE IF NOT EXISTS: two concurrent ones can still collide
            # in PostgreSQL's catalog.
            conn.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
            )
        conn.exec_driver_sql(_SCHEMA_MIGRATIONS_DDL)
        recorded = {
            version: checksum
            for version, checksum in conn.execute(
                sa.text("SELECT version, checksum FROM schema_migrations")
            )
        }
        record = sa.text(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at) "
            "VALUES (:version, :name, :checksum, :applied_at)"
        ).bindparams(sa.bindparam("applied_at", type_=sa.DateTime()))
        for migration in pending_files:
            if migration.version in recorded:
                if recorded[migration.version] != migration.checksum:
                    log.warning(
                        "migration %s was edited after it was applied; "
                        "changes belong in a new migration",
                        migration.path.name,
                    )
                continue
            for statement in split_sql(migration.sql):
                conn.exec_driver_sql(statement)
            conn.execute(
                record,
                {
                    "version": migration.version,
                    "name": migration.name,
                    "checksum": migration.checksum,
                    "applied_at": utcnow(),
                },
            )
            applied_now.append(migration.version)
        views_changed = _ensure_views(conn, VIEWS_DIR if directory == MIGRATIONS_DIR
                                      else directory.parent / "views")
    if applied_now or views_changed:
        forget_tables(engine)
        log.info("applied migrations %s to %s", applied_now, redact_url(engine.url))
    return applied_now


_SCHEMA_VIEWS_DDL = (
    "CREATE TABLE IF NOT EXISTS schema_views ("
    "name TEXT NOT NULL PRIMARY KEY, checksum TEXT NOT NULL, created_at TIMESTAMP NOT NULL)"
)


def _ensure_views(conn: Connection, directory: Path) -> list[str]:
    """(Re)create each `sql/views/<name>.sql` (one portable `CREATE VIEW <name> AS ...`) whose
    text changed since it was last created. Views are only dropped when their file changed, so
    views that HR built on top of ours are not disturbed by every run."""
    conn.exec_driver_sql(_SCHEMA_VIEWS_DDL)
    recorded = dict(conn.execute(sa.text("SELECT name, checksum FROM schema_views")).all())
    changed: list[str] = []
    for path in sorted(directory.glob("*.sql")) if directory.is_dir() else []:
        name, checksum = path.stem, hashlib.sha256(path.read_bytes()).hexdigest()
        if recorded.get(name) == checksum:
            continue
        conn.exec_driver_sql(f"DROP VIEW IF EXISTS {name}")
        for statement in split_sql(path.read_text(encoding="utf-8")):
            conn.exec_driver_sql(statement)
        conn.execute(sa.text("DELETE FROM schema_views WHERE name = :n"), {"n": name})
        conn.execute(
            sa.text("INSERT INTO schema_views (name, checksum, created_at) VALUES (:n, :c, :t)")
            .bindparams(sa.bindparam("t", type_=sa.DateTime())),
            {"n": name, "c": checksum, "t": utcnow()},
        )
        changed.append(name)
    return changed


def split_sql(script: str) -> list[str]:
    """The statements of an SQL script (sqlite3 executes one statement per call).

    Understands `--` comments and single-quoted strings, which is all our DDL uses.
    """
    statements: list[str] = []
    current: list[str] = []
    i, n = 0, len(script)
    while i < n:
        char = script[i]
        if char == "-" and script.startswith("--", i):
            end = script.find("\n", i)
            i = n if end == -1 else end
            continue
        if char == "'":
            end = i + 1
            while end < n:
                if script[end] == "'":
                    if script.startswith("''", end):
                        end += 2
                        continue
                    break
                end += 1
            current.append(script[i : end + 1])
            i = end + 1
            continue
        if char == ";":
            statements.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    statements.append("".join(current))
    return [s.strip() for s in statements if s.strip()]


def utcnow() -> datetime:
    """Now in UTC, without a time zone: what the warehouse's TIMESTAMP columns hold."""
    return datetime.now(UTC).replace(tzinfo=None)


# Table metadata -------------------------------------------------------------------------------

_TABLES: weakref.WeakKeyDictionary[Engine, dict[str, sa.Table]] = weakref.WeakKeyDictionary()


def reflect_table(conn: Connection, name: str) -> sa.Table:
    """The warehouse table `name` as reflected from the database (cached per engine).

    Reflection keeps `sql/migrations/` the single definition of the schema while still giving
    SQLAlchemy the column types it needs to convert dates and booleans on every dialect.
    """
    if not _TABLE_NAME_RE.match(name):
        raise ValueError(f"not a warehouse table name: {name!r}")
    cache = _TABLES.setdefault(conn.engine, {})
    reflected = cache.get(name)
    if reflected is None:
        try:
            reflected = sa.Table(name, sa.MetaData(), autoload_with=conn)
        except sa.exc.NoSuchTableError:
            raise ValueError(
                f"table {name!r} does not exist in {redact_url(conn.engine.url)}: "
                "is the schema created (ensure_schema)?"
            ) from None
        cache[name] = reflected
    return reflected


def forget_tables(engine: Engine) -> None:
    """Drop the cached table metadata of `engine` (after the schema changed)."""
    _TABLES.pop(engine, None)


# Reads ----------------------------------------------------------------------------------------


def read_table(
    engine: Engine,
    table: str,
    agency_code: str | None = None,
    period_id: str | None = None,
) -> pd.DataFrame:
    """Rows of a warehouse table, optionally of one agency and/or period, ordered by its key.

    Columns come back typed the same on every database: booleans as bool (`boolean` when a value
    is missing), integers as int64 (`Int64`), numbers as float64, dates and timestamps as
    datetime64, text as the pipeline's string dtype.
    """
    equals = {column: value for column, value in (("agency_code", agency_code),
                                                   ("period_id", period_id)) if value is not None}
    with engine.connect() as conn:
        reflected = reflect_table(conn, table)
        for column in equals:
            if column not in reflected.c:
                raise ValueError(f"table {table} has no column {column}")
        return select_rows(conn, table, **equals)


def agency_name(db: Engine | Connection, agency_code: str) -> str | None:
    """The agency's name in dim_agency, or None when it has not been published."""
    if isinstance(db, Engine):
        with db.connect() as conn:
            return agency_name(conn, agency_code)
    agencies = reflect_table(db, "dim_agency")
    return db.execute(sa.select(agencies.c.agency_name)
                      .where(agencies.c.agency_code == agency_code)).scalar_one_or_none()


def load_prior(
    engine: Engine, agency_code: str, period: Period
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What scoring needs from earlier publications of the agency, as currently published.

    Returns `prior_absent_days` (nip, absent_days) of the same year's S1 when `period` is an S2,
    empty otherwise, and `prior_predikat` (nip, period_id, predikat) of the three periods before
    `period`.
    """
    prior_periods = [period.previous(n).id for n in (1, 2, 3)]
    with engine.connect() as conn:
        attendance = reflect_table(conn, "fact_attendance")
        appraisal = reflect_table(conn, "fact_appraisal")
        absent_cols = [attendance.c.nip, attendance.c.absent_days]
        if period.half == 2:
            absent_rows: Sequence[Any] = conn.execute(
                sa.select(*absent_cols)
                .where(
                    attendance.c.agency_code == agency_code,
                    attendance.c.period_id == Period(period.year, 1).id,
                )
                .order_by(attendance.c.nip)
            ).all()
        else:
            absent_rows = []
        predikat_cols = [appraisal.c.nip, appraisal.c.period_id, appraisal.c.predikat]
        predikat_rows = conn.execute(
            sa.select(*predikat_cols)
            .where(
                appraisal.c.agency_code == agency_code,
                appraisal.c.period_id.in_(prior_periods),
            )
            .order_by(appraisal.c.nip, appraisal.c.period_id)
        ).all()
    return typed_frame(absent_cols, absent_rows), typed_frame(predikat_cols, predikat_rows)


def typed_frame(columns: Sequence[sa.ColumnElement[Any]], rows: Sequence[Any]) -> pd.DataFrame:
    """A frame of query rows, typed from the columns' SQL types (see `read_table`)."""
    values = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
    return pd.DataFrame(
        {
            column.name: _typed_series(list(column_values), column.type)
            for column, column_values in zip(columns, values, strict=True)
        }
    )


def _typed_series(values: list[Any], sqltype: sa.types.TypeEngine[Any]) -> pd.Series:
    if isinstance(sqltype, sa.Boolean):
        series = pd.Series(values, dtype="boolean")
        return series if series.hasnans else series.astype(bool)
    if isinstance(sqltype, sa.Integer):
        series = pd.Series(values, dtype="Int64")
        return series if series.hasnans else series.astype("int64")
    if isinstance(sqltype, sa.Float | sa.Numeric):
        return pd.Series([None if v is None else float(v) for v in values], dtype="float64")
    if isinstance(sqltype, sa.Date | sa.DateTime):
        return pd.Series(pd.to_datetime(pd.Series(values, dtype=object)), dtype="datetime64[ns]")
    return pd.Series(values, dtype=TEXT_DTYPE)


def _driver_column(values: np.ndarray, sqltype: sa.types.TypeEngine[Any]) -> pd.Series:
    """One column of driver values typed as `typed_frame` types it, without a Python
    loop for the integer, float and text columns that make up most of a publication."""
    try:
        if isinstance(sqltype, sa.Integer) and not isinstance(sqltype, sa.Boolean):
            array = pa.array(values, type=pa.int64(), from_pandas=True)
            if array.null_count:
                return pd.Series(array.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get))
            return pd.Series(array.to_numpy(zero_copy_only=False), dtype="int64")
        if isinstance(sqltype, sa.Float | sa.Numeric) and not any(
                isinstance(v, Decimal) for v in values[:1]):
            return pd.Series(pa.array(values, type=pa.float64(), from_pandas=True)
                             .to_numpy(zero_copy_only=False), dtype="float64")
        if not isinstance(sqltype, sa.Boolean | sa.Integer | sa.Float | sa.Numeric | sa.Date
                          | sa.DateTime):
            return pd.Series(pa.array(values, type=pa.large_string(), from_pandas=True),
                             dtype=TEXT_DTYPE)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass  # a value of another type (SQLite keeps what it is given): typed_frame's way
    if isinstance(sqltype, sa.Boolean):
        series = pd.Series(values, dtype="boolean")
        return series if series.hasnans else series.astype(bool)
    if isinstance(sqltype, sa.Date | sa.DateTime):
        return pd.Series(pd.to_datetime(pd.Series(values, dtype=object)), dtype="datetime64[ns]")
    return typed_frame([sa.column("value", sqltype)], [(v,) for v in values])["value"]


# Rows typed at a time by `select_rows`.
READ_CHUNK_ROWS = 50_000

# Column types whose driver values need no SQLAlchemy result processing on either database.
_DRIVER_TYPES = (sa.Boolean, sa.Integer, sa.Float, sa.String, sa.Date, sa.DateTime)


def select_rows(conn: Connection, table: str, *where: Any, **equals: Any) -> pd.DataFrame:
    """Rows of a warehouse table matching `equals` (column=value) and any extra clauses built
    by `where(table)` callables, ordered by its key and typed as `typed_frame` types them.

    Read fast: the driver's rows are taken as they are (no SQLAlchemy row objects) and each
    column is built in one piece. Reading a publication back (about 880,000 rows at 100,000
    employees) was most of the check's time and a fifth of the report's."""
    reflected = reflect_table(conn, table)
    clauses = [reflected.c[column] == value for column, value in equals.items()]
    clauses += [build(reflected) for build in where]
    columns = list(reflected.columns)
    result = conn.execute(
        sa.select(reflected).where(*clauses).order_by(*reflected.primary_key.columns))
    if not all(isinstance(c.type, _DRIVER_TYPES) and (
            not isinstance(c.type, sa.Numeric) or isinstance(c.type, sa.Float))
               for c in columns):
        # A type whose value SQLAlchemy's result processing changes (JSON, Time, exact Numeric
        # on SQLite): read through it.
        return typed_frame(columns, result.all())
    pieces: list[list[pd.Series]] = []
    try:
        cursor = getattr(result, "cursor", None)
        fetch = cursor.fetchmany if cursor is not None else result.fetchmany
        # Typed a chunk at a time: a whole table's driver values (a Python object per cell)
        # take several times the memory of its frame.
        while rows := fetch(READ_CHUNK_ROWS):
            matrix = np.empty((len(rows), len(columns)), dtype=object)
            matrix[:] = [tuple(row) for row in rows] if cursor is None else rows
            del rows
            pieces.append([_driver_column(matrix[:, i], column.type)
                           for i, column in enumerate(columns)])
            del matrix
    finally:
        result.close()
    if not pieces:
        return typed_frame(columns, [])
    if len(pieces) == 1:
        return pd.DataFrame({column.name: pieces[0][i] for i, column in enumerate(columns)})
    # pandas' common type of the chunks' is the whole column's (int64 and Int64 give Int64:
    # a null in any chunk makes the column nullable, as one piece would be).
    return pd.DataFrame({column.name: pd.concat([piece[i] for piece in pieces],
                                                ignore_index=True)
                         for i, column in enumerate(columns)})
