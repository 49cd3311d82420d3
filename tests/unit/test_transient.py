"""Which failures are retried: transient faults yes, data errors never."""

from __future__ import annotations

import errno
import sqlite3

import pandera.pandas as pa
import psycopg
import pymysql
import pytest
import sqlalchemy as sa
from prefect.states import Failed
from prefect.task_engine import TaskRunTimeoutError

from tasks import steps, transient
from tasks.sources.extract import DatasetError
from tasks.transient import is_transient, retry_if_transient


def _sa_operational(orig: BaseException, invalidated: bool = False) -> sa.exc.OperationalError:
    return sa.exc.OperationalError("SELECT 1", {}, orig, connection_invalidated=invalidated)


TRANSIENT = {
    "sqlite locked": _sa_operational(sqlite3.OperationalError("database is locked")),
    "raw sqlite locked": sqlite3.OperationalError("database is locked"),
    "pg connection dropped": _sa_operational(psycopg.OperationalError(
        "consuming input failed: server closed the connection unexpectedly")),
    "pg admin shutdown": _sa_operational(psycopg.errors.AdminShutdown(
        "terminating connection due to administrator command")),
    "pg deadlock": sa.exc.DBAPIError("UPDATE", {}, psycopg.errors.DeadlockDetected("deadlock")),
    "psycopg raw": psycopg.OperationalError("connection refused"),
    "invalidated": sa.exc.DBAPIError("SELECT 1", {}, Exception("x"), connection_invalidated=True),
    "mysql gone away": _sa_operational(pymysql.err.OperationalError(
        2006, "MySQL server has gone away")),
    "mysql lost": _sa_operational(pymysql.err.OperationalError(2013, "Lost connection")),
    "mysql lock wait": _sa_operational(pymysql.err.OperationalError(1205, "Lock wait timeout")),
    "disconnection": sa.exc.DisconnectionError("pool pre-ping failed"),
    "interface": sa.exc.InterfaceError("SELECT 1", {}, psycopg.InterfaceError("closed")),
    "pool timeout": sa.exc.TimeoutError("QueuePool limit reached"),
    "ebusy": OSError(errno.EBUSY, "Device or resource busy"),
    "eagain": BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable"),
    "connection reset": ConnectionResetError(errno.ECONNRESET, "reset by peer"),
    "stale nfs": OSError(errno.ESTALE, "Stale file handle"),
}

NOT_TRANSIENT = {
    "dataset error": DatasetError("skp.csv", "required column missing: nip"),
    "value error": ValueError("bad value"),
    "pandera": pa.errors.SchemaError(None, None, "check failed"),
    "integrity": sa.exc.IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE failed")),
    "no such table": _sa_operational(sqlite3.OperationalError("no such table: fact_skp")),
    "pg bad password": _sa_operational(psycopg.OperationalError(
        'connection failed: FATAL:  password authentication failed for user "kinerja"')),
    "pg syntax": sa.exc.ProgrammingError("SELEC", {}, psycopg.errors.SyntaxError("syntax")),
    "mysql access denied": _sa_operational(pymysql.err.OperationalError(
        1045, "Access denied for user 'kinerja'@'localhost'")),
    "mysql unknown column": _sa_operational(pymysql.err.OperationalError(
        1054, "Unknown column 'nip' in 'field list'")),
    "missing file": FileNotFoundError(errno.ENOENT, "No such file", "skp.csv"),
    "permission": PermissionError(errno.EACCES, "Permission denied"),
    "task timeout": TaskRunTimeoutError("Scope timed out after 3600 second(s)."),
    "key error": KeyError("nip"),
    "runtime": RuntimeError("something unexpected"),
}


@pytest.mark.parametrize("error", TRANSIENT.values(), ids=TRANSIENT.keys())
def test_transient_faults_are_retried(error):
    assert is_transient(error)


@pytest.mark.parametrize("error", NOT_TRANSIENT.values(), ids=NOT_TRANSIENT.keys())
def test_data_errors_and_unknown_errors_are_not_retried(error):
    assert not is_transient(error)


def test_windows_sharing_violation_is_transient():
    error = PermissionError(errno.EACCES, "The process cannot access the file")
    error.winerror = 32  # what Windows sets when Excel holds budget.xlsx open
    assert is_transient(error)


def test_the_outermost_recognised_error_decides():
    try:
        try:
            raise OSError(errno.EBUSY, "busy")
        except OSError as cause:
            raise DatasetError("budget.xlsx", "not a valid XLSX workbook") from cause
    except DatasetError as error:
        assert not is_transient(error)  # a data error, whatever happened underneath

    try:
        try:
            raise sqlite3.OperationalError("database is locked")
        except sqlite3.Error as cause:
            raise RuntimeError("Execution failed on sql") from cause  # e.g. a pandas wrapper
    except RuntimeError as error:
        assert is_transient(error)


def test_exception_groups_are_transient_only_when_every_member_is():
    locked = sqlite3.OperationalError("database is locked")
    assert is_transient(ExceptionGroup("all", [locked, OSError(errno.EAGAIN, "again")]))
    assert not is_transient(ExceptionGroup("mixed", [locked, ValueError("bad")]))


def test_retry_condition_reads_the_failed_state():
    locked = _sa_operational(sqlite3.OperationalError("database is locked"))
    assert retry_if_transient(steps.publish, None, Failed(data=locked))
    assert not retry_if_transient(steps.publish, None, Failed(data=ValueError("bad")))
    assert not retry_if_transient(steps.publish, None, Failed(message="no exception"))


def test_tasks_that_touch_databases_or_files_retry_with_backoff_and_time_out():
    for task in (steps.prepare_warehouse, steps.open_run, steps.validate_source,
                 steps.record_validation, steps.load_earlier_periods, steps.score_attendance,
                 steps.score,
                 steps.publish, steps.close_failed_run):
        assert task.retries == transient.DEFAULT_RETRIES, task.name
        assert task.retry_delay_seconds == [30.0, 60.0, 120.0], task.name
        assert task.retry_condition_fn is retry_if_transient, task.name
        assert task.timeout_seconds == transient.TIMEOUTS_S[task.name], task.name


def test_retry_and_timeout_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("KINERJA_TASK_RETRIES", "2")
    monkeypatch.setenv("KINERJA_RETRY_DELAY_SECONDS", "5")
    monkeypatch.setenv("KINERJA_TASK_TIMEOUT_SCALE", "3")
    options = transient.resilient("publish")
    assert options["retries"] == 2
    assert options["retry_delay_seconds"] == [5.0, 10.0]
    assert options["timeout_seconds"] == 3 * transient.TIMEOUTS_S["publish"]
    monkeypatch.setenv("KINERJA_TASK_RETRIES", "many")
    with pytest.raises(ValueError, match="KINERJA_TASK_RETRIES"):
        transient.resilient("publish")
