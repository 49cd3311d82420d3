"""Which failures deserve a retry, and the retry and timeout options of the flow's tasks.

A transient fault goes away by itself: the database dropped the connection or restarted, a
lock was held a moment too long, a file was locked by another program (an analyst's Excel on a
Windows share), the network hiccupped. A data error does not: a broken file, a rule a source
breaks, a duplicate key, a wrong query. Retrying a data error would only repeat it and delay the
clear message the analyst needs, so `is_transient` answers no unless it recognises the fault.

Retry counts, delays and timeouts are read from the environment when the tasks are defined (the
worker's or the CLI's environment):

- `KINERJA_TASK_RETRIES` (default 3) retries of a transient fault per task run;
- `KINERJA_RETRY_DELAY_SECONDS` (default 30): the first delay, doubled for each further retry
  (30 s, 60 s, 120 s), with jitter so that several runs do not hammer a database in step;
- `KINERJA_TASK_TIMEOUT_SCALE` (default 1): multiplies every task's timeout (`TIMEOUTS_S`, sized
  generously for a large city); a province sets it higher.
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
from typing import Any

import sqlalchemy as sa
from prefect.tasks import exponential_backoff

from tasks.run_log import run_logger

log = logging.getLogger(__name__)

DEFAULT_RETRIES = 3
DEFAULT_RETRY_DELAY_S = 30.0
RETRY_JITTER_FACTOR = 0.5

# Seconds per task, for a large city (15,000 employees, 1.9M attendance rows) on a small machine
# with a wide margin: a timeout is there to stop a hung run, not to race a slow one.
TIMEOUTS_S: dict[str, float] = {
    "prepare-warehouse": 600,
    "open-run": 300,
    "validate": 3600,
    "record-validation": 1800,
    "load-earlier-periods": 1800,
    "score-attendance": 3600,
    "score": 3600,
    "publish": 3600,
    "close-failed-run": 300,
}
DEFAULT_TIMEOUT_S = 3600.0

_TRANSIENT_ERRNOS = frozenset(
    getattr(errno, name)
    for name in (
        "EAGAIN", "EWOULDBLOCK", "EBUSY", "EINTR", "ETIMEDOUT", "ECONNRESET", "ECONNREFUSED",
        "ECONNABORTED", "EPIPE", "ENETDOWN", "ENETUNREACH", "ENETRESET", "EHOSTUNREACH",
        "EHOSTDOWN", "ESTALE", "EDEADLK", "ENOLCK", "ETXTBSY",
    )
    if hasattr(errno, name)
)
# ERROR_SHARING_VIOLATION, ERROR_LOCK_VIOLATION: a file another program holds open on Windows.
_TRANSIENT_WINERRORS = frozenset({32, 33})

# SQLite: another writer holds the lock, or the file system hiccupped.
_SQLITE_TRANSIENT = ("database is locked", "database table is locked", "disk i/o error",
                     "database schema has changed", "locking protocol")
# PostgreSQL SQLSTATEs: connection exceptions (class 08), serialization failure, deadlock,
# insufficient resources (53: too many connections, out of memory or disk), lock not available,
# operator intervention (server shutting down, starting up).
_PG_TRANSIENT_CLASSES = ("08", "53")
_PG_TRANSIENT_STATES = frozenset({"40001", "40P01", "55P03", "57P01", "57P02", "57P03"})
# Messages of a connection that could never work: bad credentials, no such database or role.
_PERMANENT_CONNECT_MESSAGES = ("password authentication failed", "authentication failed",
                               "no pg_hba.conf entry", "does not exist", "access denied",
                               "unknown database")
# MySQL/MariaDB error numbers: too many connections, server shutdown, network read/write errors,
# lock wait timeout, deadlock, connection killed, client-side connection failures.
_MYSQL_TRANSIENT_CODES = frozenset({
    1040, 1053, 1152, 1153, 1154, 1155, 1156, 1157, 1158, 1159, 1160, 1161, 1205, 1213, 1927,
    2002, 2003, 2006, 2013, 2055, 4031,
})


def _data_errors() -> tuple[type[BaseException], ...]:
    from pandera.errors import SchemaError, SchemaErrors

    from tasks.sources.extract import DatasetError

    return (
        DatasetError, SchemaError, SchemaErrors, ValueError, TypeError, LookupError,
        ArithmeticError, sa.exc.IntegrityError, sa.exc.DataError, sa.exc.ProgrammingError,
        sa.exc.NotSupportedError, sa.exc.ArgumentError, sa.exc.NoSuchTableError,
        sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.DataError,
    )


def _classify_driver(error: BaseException) -> bool | None:
    """The verdict for a database driver's own exception, or None when it is not one."""
    if isinstance(error, sqlite3.OperationalError):
        return any(m in str(error).lower() for m in _SQLITE_TRANSIENT)
    module = type(error).__module__
    if module.startswith("psycopg"):
        import psycopg

        if isinstance(error, psycopg.InterfaceError):
            return True  # "the connection is closed"
        if isinstance(error, psycopg.OperationalError):
            state = getattr(error, "sqlstate", None)
            if state is None:  # failed to connect, or the server went away mid-query
                return not _permanent_connect_message(error)
            return state[:2] in _PG_TRANSIENT_CLASSES or state in _PG_TRANSIENT_STATES
        if isinstance(error, psycopg.Error):
            state = getattr(error, "sqlstate", None) or ""
            return state[:2] in _PG_TRANSIENT_CLASSES or state in _PG_TRANSIENT_STATES
        return None
    if module.startswith("pymysql"):
        import pymysql

        if isinstance(error, pymysql.err.InterfaceError):
            return True
        if isinstance(error, pymysql.err.MySQLError):
            code = error.args[0] if error.args and isinstance(error.args[0], int) else None
            return code in _MYSQL_TRANSIENT_CODES
        return None
    return None


def _permanent_connect_message(error: BaseException) -> bool:
    text = str(error).lower()
    return any(m in text for m in _PERMANENT_CONNECT_MESSAGES)


def _classify(error: BaseException) -> bool | None:
    """True (transient), False (not worth a retry) or None (look at what caused it)."""
    if isinstance(error, TimeoutError):
        # Prefect's task timeout among others: the task already ran for its whole timeout, and
        # another go would too. (A driver's socket timeout arrives wrapped in its own error.)
        return False
    if isinstance(error, _data_errors()):
        return False
    if isinstance(error, sa.exc.DBAPIError):
        if error.connection_invalidated:
            return True
        verdict = _classify_driver(error.orig) if error.orig is not None else None
        if verdict is not None:
            return verdict
        if isinstance(error, sa.exc.OperationalError | sa.exc.InterfaceError):
            return not _permanent_connect_message(error)
        return False
    if isinstance(error, sa.exc.DisconnectionError | sa.exc.TimeoutError):
        return True  # a dropped pooled connection; the connection pool is exhausted
    verdict = _classify_driver(error)
    if verdict is not None:
        return verdict
    if isinstance(error, OSError):
        if getattr(error, "winerror", None) in _TRANSIENT_WINERRORS:
            return True
        if error.errno is not None:
            return error.errno in _TRANSIENT_ERRNOS
        return isinstance(error, ConnectionError)
    return None


def is_transient(error: BaseException) -> bool:
    """Whether `error` is a transient fault that a retry may get past.

    Walks the chain of causes from the outermost exception: the first one recognised decides,
    so a `DatasetError` raised from an `OSError` stays a data error, while a pandas or driver
    wrapper around a dropped connection is transient. Unknown errors are not transient. An
    exception group is transient when every exception in it is.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, BaseExceptionGroup):
            members = current.exceptions
            return bool(members) and all(is_transient(e) for e in members)
        verdict = _classify(current)
        if verdict is not None:
            return verdict
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    return False


def retry_if_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect `retry_condition_fn`: retry the task run only after a transient fault.

    A plain function on purpose: Prefect only calls a retry condition that is a function.
    """
    error = getattr(state, "data", None)
    if not isinstance(error, BaseException):
        return False
    transient = is_transient(error)
    if not transient:
        run_logger(log).info("not retrying %s: %s is not a transient fault",
                           getattr(task, "name", "task"), type(error).__name__)
    return transient


def _env_number(name: str, default: float, minimum: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r}: expected a number") from None
    if value < minimum:
        raise ValueError(f"{name}={raw!r}: must be at least {minimum:g}")
    return value


class _WorkerThreadTimeoutNotice(logging.Filter):
    """Drops Prefect's per-run warning that a timeout cannot interrupt blocking I/O in a worker
    thread. The flow submits its validations to threads by design; their timeouts still stop
    Python-level work, and a blocking database read is bounded by the driver's own timeouts (see
    the README). Repeated on every run, the warning would only teach people to ignore warnings."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Timeout of %s seconds configured for this task, "
                                              "but the task is running in a worker thread")


logging.getLogger("prefect.task_runs").addFilter(_WorkerThreadTimeoutNotice())


def task_timeout(name: str) -> float:
    """The timeout of the task `name`, scaled by KINERJA_TASK_TIMEOUT_SCALE."""
    scale = _env_number("KINERJA_TASK_TIMEOUT_SCALE", 1.0, 0.001)
    return TIMEOUTS_S.get(name, DEFAULT_TIMEOUT_S) * scale


def resilient(name: str) -> dict[str, Any]:
    """Keyword arguments for `@task` of the task `name`: retries of transient faults only, with
    exponential backoff and jitter, and a timeout."""
    retries = int(_env_number("KINERJA_TASK_RETRIES", DEFAULT_RETRIES, 0))
    first_delay = _env_number("KINERJA_RETRY_DELAY_SECONDS", DEFAULT_RETRY_DELAY_S, 0)
    return {
        "retries": retries,
        "retry_delay_seconds": exponential_backoff(first_delay)(retries) if retries else 0,
        "retry_jitter_factor": RETRY_JITTER_FACTOR,
        "retry_condition_fn": retry_if_transient,
        "timeout_seconds": task_timeout(name),
    }
