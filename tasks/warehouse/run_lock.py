"""One run at a time per agency and period, across processes and machines (interface.md: "Two
runs for the same agency and period must not publish at the same time: the second waits or fails
clearly, and the publication stays consistent").

`publish_period` already serialises the publications of one agency (an advisory lock on
PostgreSQL, SQLite's write lock), so two runs can never interleave their rows. This lock covers
the whole run instead, from extraction to publication, so that the run started second also reads
its sources and earlier periods second: a run that read the landing zone before an analyst's
correction can never publish over the run that read it after. The second run waits (logging
whom it waits for) up to `run_lock_wait_seconds`, then fails with a message naming the run in
progress.

The lock lives where the two runs necessarily meet, the warehouse, and not in Prefect: a run from
`kinerja run` (Prefect's ephemeral API) and a deployment's run (the Prefect server) share no
Prefect concurrency limit, but they do share the warehouse. Each lock dies with its holder, so a
crashed run never blocks the next one:

- PostgreSQL: a session-level advisory lock on a connection held for the run;
- MySQL / MariaDB: `GET_LOCK` on a connection held for the run;
- SQLite: an OS file lock (flock) on `<database>.run-locks/<agency>_<period>.lock`;
- another database: no run lock (a warning); publications are still atomic.

A session lock lives on one connection, which can end while its run goes on (an administrator's
pg_terminate_backend, a server restart, a firewall dropping an idle connection): the lock is then
gone, and a second run may take it. So the lock's connection is kept from idling out (TCP
keepalives, no idle-session timeout), and the lock is checked again where it matters, inside the
publishing transaction (`check_held`, with the `LockToken` the lock hands out): a run whose lock
was lost fails there instead of publishing. The check and the commit are not one instant, but
the publication also holds the agency's transaction lock, so a run that took the lock meanwhile
publishes after this one commits, never interleaved and never overwritten by the older run.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tasks.run_log import run_logger
from tasks.warehouse import database as warehouse
from tasks.warehouse import run_ledger

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
# How often a waiting run says again that it is still waiting.
_REPORT_EVERY_S = 60.0
_LOCAL_LOCKS: dict[tuple[str, str], threading.Lock] = {}
_LOCAL_GUARD = threading.Lock()


class RunInProgressError(RuntimeError):
    """Another run of the same agency and period held the lock for longer than we may wait."""


class RunLockLost(RuntimeError):
    """The run's lock ended before its publication (its connection dropped, or its file was
    replaced): another run may hold it now, so this run must not publish."""


# What a publishing transaction needs to check that the run still holds its lock: plain values,
# so that it can be handed to a Prefect task. None when there is no lock to check.
LockToken = dict[str, Any]

# The lock connection must not be closed for being idle: libpq TCP keepalives keep firewalls and
# NAT from dropping it and notice a dead peer; the session settings lift the servers' own idle
# timeouts (PostgreSQL 14+ idle_session_timeout; MySQL's wait_timeout, 8 hours by default).
_PG_KEEPALIVES = {"keepalives": "1", "keepalives_idle": "60", "keepalives_interval": "10",
                  "keepalives_count": "6"}
_MYSQL_MAX_WAIT_TIMEOUT_S = 31_536_000


def lock_key(agency_code: str, period_id: str) -> str:
    return f"kinerja.run:{agency_code}:{period_id}"


class _Backend:
    def try_acquire(self) -> bool:
        raise NotImplementedError

    def release(self) -> None:
        raise NotImplementedError

    def token(self) -> LockToken | None:
        return None


class _SessionLock(_Backend):
    """A database session lock (PostgreSQL advisory lock, MySQL GET_LOCK) on its own
    connection, in autocommit so that the connection never sits idle in a transaction."""

    def __init__(self, url: str, key: str) -> None:
        parsed = sa.make_url(url)
        self.dialect = "postgresql" if parsed.get_backend_name() in ("postgresql",
                                                                     "postgres") else "mysql"
        if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg",
                                 "postgresql+psycopg2"):
            parsed = parsed.update_query_dict(
                {k: v for k, v in _PG_KEEPALIVES.items() if k not in parsed.query})
        self.engine = warehouse.make_engine(parsed.render_as_string(hide_password=False))
        self.key = key
        self.conn: Connection | None = None
        self.identity: LockToken | None = None
        if self.dialect == "postgresql":
            self.acquire_sql = ("SELECT pg_try_advisory_lock(hashtextextended(:key, 0)), "
                                "hashtextextended(:key, 0)")
            self.release_sql = "SELECT pg_advisory_unlock(hashtextextended(:key, 0))"
        else:
            self.acquire_sql = "SELECT GET_LOCK(:key, 0), NULL"
            self.release_sql = "SELECT RELEASE_LOCK(:key)"

    def _connect(self) -> Connection:
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            if self.dialect == "postgresql":
                if conn.dialect.server_version_info >= (14,):
                    conn.execute(sa.text("SET idle_session_timeout = 0"))
            else:
                conn.execute(sa.text(f"SET SESSION wait_timeout = {_MYSQL_MAX_WAIT_TIMEOUT_S}"))
        except sa.exc.DBAPIError as error:  # a server that forbids it: the check still guards
            log.warning("run lock connection keeps its server's idle timeout: %s", error)
        return conn

    def try_acquire(self) -> bool:
        if self.conn is None:
            self.conn = self._connect()
        got, hashed = self.conn.execute(sa.text(self.acquire_sql), {"key": self.key}).one()
        if not got:
            return False
        # Who holds it: the backend (pid and start time, as a pid can be reused) or the MySQL
        # connection id, so the publishing transaction can check that it still does.
        if self.dialect == "postgresql":
            pid, started = self.conn.execute(sa.text(
                "SELECT pid, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()"
            )).one()
            unsigned = int(hashed) & 0xFFFF_FFFF_FFFF_FFFF
            self.identity = {"kind": "postgresql", "key": self.key, "pid": int(pid),
                             "backend_start": started.isoformat(),
                             "classid": unsigned >> 32, "objid": unsigned & 0xFFFF_FFFF}
        else:
            connection_id = self.conn.execute(sa.text("SELECT CONNECTION_ID()")).scalar_one()
            self.identity = {"kind": "mysql", "key": self.key,
                             "connection_id": int(connection_id)}
        return True

    def token(self) -> LockToken | None:
        return self.identity

    def release(self) -> None:
        if self.conn is not None:
            try:
                self.conn.execute(sa.text(self.release_sql), {"key": self.key})
            except sa.exc.DBAPIError as error:
                # The connection died: the server dropped the lock with it.
                log.warning("releasing run lock %s: %s", self.key, error)
            finally:
                self.conn.close()
                self.conn = None
        self.identity = None
        self.engine.dispose()


class _FileLock(_Backend):
    """An exclusive OS lock on a file next to the SQLite database; released by the OS when the
    process ends, however it ends."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle: IO[bytes] | None = None

    def try_acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+b")
        try:
            if sys.platform == "win32":
                import msvcrt

                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self.handle = handle
        return True

    def token(self) -> LockToken | None:
        if self.handle is None:
            return None
        # The lock cannot end while this process lives, but the file can be deleted or replaced
        # under it, and a second run would then lock the new file.
        held = os.fstat(self.handle.fileno())
        return {"kind": "file", "path": str(self.path), "device": held.st_dev,
                "inode": held.st_ino}

    def release(self) -> None:
        if self.handle is not None:
            # Closing the file releases the lock; the file stays (deleting it would race with a
            # waiter that already opened it).
            self.handle.close()
            self.handle = None


class _LocalLock(_Backend):
    """An in-memory SQLite database only exists inside this process."""

    def __init__(self, key: tuple[str, str]) -> None:
        with _LOCAL_GUARD:
            self.lock = _LOCAL_LOCKS.setdefault(key, threading.Lock())
        self.held = False

    def try_acquire(self) -> bool:
        self.held = self.lock.acquire(blocking=False)
        return self.held

    def release(self) -> None:
        if self.held:
            self.lock.release()
            self.held = False


def _backend(url: str, agency_code: str, period_id: str) -> _Backend | None:
    parsed = sa.make_url(url)
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres", "mysql", "mariadb"):
        return _SessionLock(url, lock_key(agency_code, period_id))
    if backend == "sqlite":
        database = parsed.database
        if not database or database == ":memory:" or parsed.query.get("mode") == "memory":
            return _LocalLock((url, lock_key(agency_code, period_id)))
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{agency_code}_{period_id}")
        return _FileLock(Path(f"{Path(database).resolve()}.run-locks") / f"{name}.lock")
    return None


def running_runs(url: str, agency_code: str, period_id: str,
                 exclude_run_id: str | None = None) -> list[dict[str, Any]]:
    """The agency-period's runs on record as `running`, earliest first (best effort: an
    unreadable warehouse gives an empty list, the lock itself does not depend on it)."""
    engine = warehouse.make_engine(url)
    try:
        return run_ledger.running_runs(engine, agency_code, period_id, exclude_run_id)
    except (sa.exc.SQLAlchemyError, ValueError):
        return []
    finally:
        engine.dispose()


def _describe(url: str, agency_code: str, period_id: str, run_id: str | None) -> str:
    others = running_runs(url, agency_code, period_id, exclude_run_id=run_id)
    if not others:
        return f"another run of {agency_code} {period_id}"
    first = others[0]
    flow_run = f", flow run {first['flow_run_id']}" if first["flow_run_id"] else ""
    return (f"run {first['run_id']} of {agency_code} {period_id} ({first['kind']}{flow_run}, "
            f"started {first['started_at']:%Y-%m-%d %H:%M:%S} UTC)")


class RunLock:
    """The lock of one agency-period; `acquire` waits up to `wait_seconds` (0: fail at once)."""

    def __init__(self, warehouse_url: str, agency_code: str, period_id: str, *,
                 run_id: str | None = None, wait_seconds: float = 0.0,
                 poll_seconds: float = POLL_SECONDS) -> None:
        self.url = warehouse_url
        self.agency_code = agency_code
        self.period_id = period_id
        self.run_id = run_id
        self.wait_seconds = wait_seconds
        self.poll_seconds = poll_seconds
        self._backend: _Backend | None = None
        self.held = False

    def acquire(self) -> None:
        backend = _backend(self.url, self.agency_code, self.period_id)
        logger = run_logger(log)
        if backend is None:
            logger.warning("no run lock on %s: two runs of %s %s are only kept apart by the "
                           "publication's own transaction", warehouse.redact_url(self.url),
                           self.agency_code, self.period_id)
            return
        started = time.monotonic()
        reported = None
        try:
            while not backend.try_acquire():
                waited = time.monotonic() - started
                if waited >= self.wait_seconds:
                    holder = _describe(self.url, self.agency_code, self.period_id, self.run_id)
                    raise RunInProgressError(
                        f"{holder} is in progress; not starting a second one at the same time "
                        f"(waited {waited:.0f} s of run_lock_wait_seconds = "
                        f"{self.wait_seconds:g}). Run again when it has finished."
                    )
                if reported is None or waited - reported >= _REPORT_EVERY_S:
                    holder = _describe(self.url, self.agency_code, self.period_id, self.run_id)
                    logger.info("waiting for %s to finish (up to %g s)", holder,
                                self.wait_seconds)
                    reported = waited
                time.sleep(min(self.poll_seconds, max(self.wait_seconds - waited, 0.0)))
        except BaseException:
            backend.release()
            raise
        self._backend = backend
        self.held = True
        if reported is not None:
            logger.info("run lock of %s %s acquired after %.0f s", self.agency_code,
                        self.period_id, time.monotonic() - started)

    def token(self) -> LockToken | None:
        """What `check_held` needs to tell, inside another connection's transaction, that this
        lock is still held; None while it is not held or where there is nothing to check."""
        return self._backend.token() if self._backend is not None else None

    def release(self) -> None:
        """Idempotent: safe in a `finally` whether or not `acquire` succeeded."""
        if self._backend is not None:
            self._backend.release()
            self._backend = None
        self.held = False

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


def check_held(conn: Connection, token: LockToken | None) -> None:
    """Raise `RunLockLost` unless the lock described by `token` is still held by the same
    connection (or file) that took it. Called inside the publishing transaction."""
    if token is None:
        return
    kind = token["kind"]
    if kind == "postgresql":
        # pg_locks is readable by every role, and pg_stat_activity shows a role its own
        # sessions; the backend's start time tells a reused pid apart.
        held = conn.execute(sa.text(
            "SELECT count(*) FROM pg_locks AS l JOIN pg_stat_activity AS a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND l.classid::bigint = :classid AND l.objid::bigint = :objid "
            "AND l.pid = :pid AND a.backend_start = CAST(:backend_start AS timestamptz)"
        ), {k: token[k] for k in ("classid", "objid", "pid", "backend_start")}).scalar_one()
        if not held:
            raise RunLockLost(
                f"run lock {token['key']} was lost: its connection (PostgreSQL backend "
                f"{token['pid']}) ended during the run, so another run may hold it; not "
                "publishing")
    elif kind == "mysql":
        holder = conn.execute(sa.text("SELECT IS_USED_LOCK(:key)"),
                              {"key": token["key"]}).scalar_one_or_none()
        if holder is None or int(holder) != token["connection_id"]:
            raise RunLockLost(
                f"run lock {token['key']} was lost: its connection ({token['connection_id']}) "
                f"ended during the run{'' if holder is None else f'; connection {holder} holds it'}"
                "; not publishing")
    elif kind == "file":
        try:
            current = os.stat(token["path"])
            same = (current.st_dev, current.st_ino) == (token["device"], token["inode"])
        except OSError:
            same = False
        if not same:
            raise RunLockLost(
                f"run lock file {token['path']} was removed or replaced during the run, so "
                "another run may hold it; not publishing")
    else:
        raise ValueError(f"unknown run lock token kind {kind!r}")
