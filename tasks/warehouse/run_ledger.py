"""The run ledger: every read and write of `pipeline_run` (and the view `v_run`) goes through
this module, so a run's life on record is written in one place and "the current publication" is
defined once.

A run's life: `start_run` (status `running`, or `failed` when it never got its run lock), then
`mark_published` inside the publishing transaction or `fail_run`; its timings
(`record_timings`) and the quality suite's verdict (`record_quality`) are added afterwards.

"The current publication" of an agency-period: of its published runs, the one whose publication
finished last (runs of one agency-period publish one at a time, under the run lock). `v_run`'s
`is_current` says the same in SQL; the change log, the reports, the check and `explain` all ask
`current_run`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from kinerja.period import Period
from tasks.warehouse import database as warehouse

log = logging.getLogger(__name__)

RUN_KINDS = ("scheduled", "manual", "backfill")
COUNT_COLUMNS = ("rows_read", "rows_accepted", "rows_quarantined")
QUALITY_STATUSES = ("passed", "failed")


def _runs(conn: Connection) -> sa.Table:
    return warehouse.reflect_table(conn, "pipeline_run")


def _on_connection(db: Engine | Connection, read: Callable[[Connection], Any]) -> Any:
    if isinstance(db, Engine):
        with db.connect() as conn:
            return read(conn)
    return read(db)


# Writes ----------------------------------------------------------------------------------------


def start_run(
    engine: Engine,
    *,
    run_id: str,
    agency_code: str,
    period_id: str,
    flow_run_id: str | None,
    kind: str,
    policy_name: str | None,
    policy_hash: str | None,
    code_version: str | None,
    failed: str | None = None,
) -> None:
    """Record a new run as `running`, or, with `failed` (the reason), as a run that failed
    before it could start (it did not get the run lock, or was interrupted while waiting).

    Calling it again for a run that is still running with the same agency and period does
    nothing, so a retried Prefect task whose first attempt did commit does not fail.
    """
    period_id = Period.parse(period_id).id
    if kind not in RUN_KINDS:
        raise ValueError(f"run kind must be one of {', '.join(RUN_KINDS)}, not {kind!r}")
    with warehouse.write_transaction(engine) as conn:
        existing = run_record(conn, run_id)
        if existing is not None:
            if (existing["agency_code"], existing["period_id"], existing["status"]) == (
                    agency_code, period_id, "failed" if failed else "running"):
                return
            raise ValueError(f"run {run_id} already exists ({existing['agency_code']} "
                             f"{existing['period_id']}, {existing['status']})")
        runs = _runs(conn)
        now = warehouse.utcnow()
        conn.execute(
            sa.insert(runs).values(
                run_id=run_id,
                agency_code=agency_code,
                period_id=period_id,
                flow_run_id=flow_run_id,
                kind=kind,
                started_at=now,
                status="failed" if failed else "running",
                finished_at=now if failed else None,
                message=failed,
                policy_name=policy_name,
                policy_hash=policy_hash,
                code_version=code_version,
            )
        )


def fail_run(
    engine: Engine, run_id: str, message: str, *, record: Mapping[str, Any] | None = None
) -> None:
    """Record that the run failed, and why.

    A run that already published keeps status `published` (its rows are the live publication,
    and `latest_published_period` must keep counting it); only the message is recorded then.
    A run not on record yet (it failed before it held its lock) is recorded as failed from
    `record`, the keyword arguments of `start_run`.
    """
    with warehouse.write_transaction(engine) as conn:
        runs = _runs(conn)
        status = conn.execute(
            sa.select(runs.c.status).where(runs.c.run_id == run_id)
        ).scalar_one_or_none()
        if status is None:
            if record is None:
                raise ValueError(f"no pipeline_run row for run {run_id}")
        elif status == "published":
            log.warning("run %s failed after it published: %s", run_id, message)
            conn.execute(sa.update(runs).where(runs.c.run_id == run_id).values(message=message))
        else:
            conn.execute(sa.update(runs).where(runs.c.run_id == run_id).values(
                status="failed", finished_at=warehouse.utcnow(), message=message))
    if status is None:
        start_run(engine, **{**dict(record or {}), "run_id": run_id}, failed=message)


def abandon_runs(
    engine: Engine, agency_code: str, period_id: str, *, by_run_id: str
) -> list[str]:
    """Mark `failed` every other run of the agency-period still on record as `running`, and
    return their run ids.

    Only the holder of the agency-period's run lock may call this: a run records itself as
    running only once it holds the lock, so any other running row belongs to a run whose process
    or lock ended without recording it (killed, a machine that went down).
    """
    period_id = Period.parse(period_id).id
    with warehouse.write_transaction(engine) as conn:
        runs = _runs(conn)
        stale = conn.execute(
            sa.select(runs.c.run_id, runs.c.started_at)
            .where(runs.c.agency_code == agency_code, runs.c.period_id == period_id,
                   runs.c.status == "running", runs.c.run_id != by_run_id)
            .order_by(runs.c.started_at)
        ).all()
        for run_id, _ in stale:
            conn.execute(
                sa.update(runs)
                .where(runs.c.run_id == run_id, runs.c.status == "running")
                .values(status="failed", finished_at=warehouse.utcnow(),
                        message=f"abandoned: still running when run {by_run_id} took the run "
                                "lock, so its process or its lock had ended")
            )
    return [run_id for run_id, _ in stale]


def set_source_fingerprint(conn: Connection, run_id: str, fingerprint: str) -> None:
    """Put the fingerprint of the run's source files on it (inside the caller's transaction)."""
    runs = _runs(conn)
    conn.execute(sa.update(runs).where(runs.c.run_id == run_id)
                 .values(source_fingerprint=fingerprint))


def publishable_status(conn: Connection, run_id: str, agency_code: str, period: Period) -> str:
    """The run's status; raises unless it belongs to this agency-period and may publish."""
    run = run_record(conn, run_id)
    if run is None:
        raise ValueError(f"no pipeline_run row for run {run_id}: call start_run first")
    if (run["agency_code"], run["period_id"]) != (agency_code, period.id):
        raise ValueError(f"run {run_id} is for {run['agency_code']} {run['period_id']}, not "
                         f"{agency_code} {period.id}")
    if run["status"] == "failed":
        raise ValueError(f"run {run_id} is failed, not running")
    return str(run["status"])


def mark_published(conn: Connection, run_id: str, counts: Mapping[str, int]) -> None:
    """The run published (inside the publishing transaction), with its row counts."""
    unknown = sorted(set(counts) - set(COUNT_COLUMNS))
    if unknown:
        raise ValueError(f"unknown counts {unknown}: expected {', '.join(COUNT_COLUMNS)}")
    runs = _runs(conn)
    result = conn.execute(
        sa.update(runs)
        .where(runs.c.run_id == run_id, runs.c.status == "running")
        .values(
            status="published",
            finished_at=warehouse.utcnow(),
            **{c: None if counts.get(c) is None else int(counts[c]) for c in COUNT_COLUMNS},
        )
    )
    # Guards against a concurrent fail_run between publishable_status and here.
    if result.rowcount != 1:
        raise RuntimeError(f"run {run_id} stopped being a running run during its publication")


def _set_on_run(engine: Engine, run_id: str, **values: Any) -> None:
    with warehouse.write_transaction(engine) as conn:
        runs = _runs(conn)
        result = conn.execute(sa.update(runs).where(runs.c.run_id == run_id).values(**values))
        if result.rowcount != 1:
            raise ValueError(f"no pipeline_run row for run {run_id}")


def record_timings(engine: Engine, run_id: str, steps: list[dict[str, Any]]) -> None:
    """Put the steps' figures (kinerja/timings.py) on the run; nothing else of the row changes."""
    _set_on_run(engine, run_id, timings=json.dumps(steps))


def record_quality(engine: Engine, run_id: str, summary: Mapping[str, Any]) -> None:
    """Put the quality suite's verdict on the run; its status (`published`) is left as it is."""
    status = summary["status"]
    if status not in QUALITY_STATUSES:
        raise ValueError(f"quality status must be one of {QUALITY_STATUSES}, not {status!r}")
    _set_on_run(engine, run_id, quality_status=status, quality_checked_at=warehouse.utcnow(),
                quality_summary=json.dumps(summary, ensure_ascii=False))


# Reads -----------------------------------------------------------------------------------------


def run_record(db: Engine | Connection, run_id: str) -> dict[str, Any] | None:
    """The pipeline_run row of `run_id` as a dict, or None."""
    def read(conn: Connection) -> dict[str, Any] | None:
        runs = _runs(conn)
        row = conn.execute(sa.select(runs).where(runs.c.run_id == run_id)).mappings().first()
        return dict(row) if row is not None else None

    return _on_connection(db, read)


def _recorded_json(engine: Engine, run_id: str, column: str) -> Any:
    record = run_record(engine, run_id)
    text = None if record is None else record[column]
    return json.loads(text) if text else None


def recorded_timings(engine: Engine, run_id: str) -> list[dict[str, Any]] | None:
    """The steps recorded on a run, or None when it recorded none."""
    return _recorded_json(engine, run_id, "timings")


def recorded_quality(engine: Engine, run_id: str) -> dict[str, Any] | None:
    """The suite's summary recorded on a run, or None if it was never checked."""
    return _recorded_json(engine, run_id, "quality_summary")


def current_run(db: Engine | Connection, agency_code: str,
                period_id: str) -> dict[str, Any] | None:
    """The pipeline_run row (a dict) of the agency-period's current publication, or None when
    nothing is published."""
    def read(conn: Connection) -> dict[str, Any] | None:
        runs = _runs(conn)
        row = conn.execute(
            sa.select(runs)
            .where(runs.c.agency_code == agency_code, runs.c.period_id == period_id,
                   runs.c.status == "published")
            # NULLs first on both dialects: a published run always has finished_at, but a row
            # without one must not win.
            .order_by(runs.c.finished_at.is_(None).desc(), runs.c.finished_at.desc(),
                      runs.c.started_at.desc())
            .limit(1)
        ).mappings().first()
        return dict(row) if row is not None else None

    return _on_connection(db, read)


def current_run_id(db: Engine | Connection, agency_code: str, period_id: str) -> str | None:
    """The run id of the agency-period's current publication, or None."""
    run = current_run(db, agency_code, period_id)
    return None if run is None else str(run["run_id"])


def published_before(conn: Connection, run_id: str, agency_code: str, period: Period) -> bool:
    """Whether a run of the agency-period other than `run_id` has published."""
    runs = _runs(conn)
    return conn.execute(
        sa.select(runs.c.run_id)
        .where(runs.c.agency_code == agency_code, runs.c.period_id == period.id,
               runs.c.status == "published", runs.c.run_id != run_id)
        .limit(1)
    ).first() is not None


def published_since(engine: Engine, agency_code: str, period_id: str, since: datetime,
                    kind: str) -> bool:
    """Whether a run of `kind` of the agency-period that started at or after `since` published."""
    with engine.connect() as conn:
        runs = _runs(conn)
        return conn.execute(
            sa.select(runs.c.run_id).where(
                runs.c.agency_code == agency_code, runs.c.period_id == period_id,
                runs.c.kind == kind, runs.c.status == "published",
                runs.c.started_at >= since,
            ).limit(1)
        ).first() is not None


def published_later_sql(agency_column: str, period_parameter: str) -> str:
    """SQL condition, for use inside a statement: the agency in `agency_column` has a published
    run of a period after `period_parameter` (a bound parameter's placeholder)."""
    return (f"EXISTS (SELECT 1 FROM pipeline_run AS r WHERE r.agency_code = {agency_column}"
            f" AND r.status = 'published' AND r.period_id > {period_parameter})")


def latest_published_period(db: Engine | Connection, agency_code: str) -> str | None:
    """The agency's latest period with a published run, or None if it has none."""
    def read(conn: Connection) -> str | None:
        runs = _runs(conn)
        # period ids (YYYY-Sn) sort as text in time order.
        return conn.execute(
            sa.select(sa.func.max(runs.c.period_id)).where(
                runs.c.agency_code == agency_code, runs.c.status == "published"
            )
        ).scalar_one()

    return _on_connection(db, read)


def replaced_run_id(engine: Engine, run_id: str) -> str | None:
    """The run whose publication `run_id` replaced (or, for a run that did not publish, would
    have replaced): the run of the history rows it superseded, else the agency-period's latest
    run published before it started."""
    with engine.connect() as conn:
        history = warehouse.reflect_table(conn, "fact_appraisal_history")
        superseded = conn.execute(
            sa.select(history.c.run_id)
            .where(history.c.superseded_by_run_id == run_id)
            .limit(1)
        ).scalar_one_or_none()
        if superseded is not None:
            return str(superseded)
        this = run_record(conn, run_id)
        if this is None:
            return None
        runs = _runs(conn)
        # A run that published after `run_id` started was not replaced by it.
        return conn.execute(
            sa.select(runs.c.run_id)
            .where(
                runs.c.agency_code == this["agency_code"],
                runs.c.period_id == this["period_id"],
                runs.c.status == "published",
                runs.c.run_id != run_id,
                runs.c.finished_at <= this["started_at"],
            )
            .order_by(runs.c.finished_at.desc())
            .limit(1)
        ).scalar_one_or_none()


def running_runs(engine: Engine, agency_code: str, period_id: str,
                 exclude_run_id: str | None = None) -> list[dict[str, Any]]:
    """The agency-period's runs on record as `running`, earliest first."""
    with engine.connect() as conn:
        runs = _runs(conn)
        rows = conn.execute(
            sa.select(runs.c.run_id, runs.c.flow_run_id, runs.c.kind, runs.c.started_at)
            .where(runs.c.agency_code == agency_code, runs.c.period_id == period_id,
                   runs.c.status == "running", runs.c.run_id != (exclude_run_id or ""))
            .order_by(runs.c.started_at)
        ).mappings().all()
    return [dict(r) for r in rows]


def finished_runs(
    engine: Engine, agency_code: str, period_id: str, run_ids: list[str]
) -> list[str]:
    """Those of `run_ids` that are runs of the agency-period which published or were abandoned:
    runs whose work folder nobody needs any more (a failed run's stays for diagnosis)."""
    return _runs_among(
        engine, run_ids,
        lambda runs: (runs.c.agency_code == agency_code,
                      runs.c.period_id == Period.parse(period_id).id,
                      sa.or_(runs.c.status == "published",
                             runs.c.message.like("abandoned:%"))))


def expired_failed_runs(engine: Engine, run_ids: list[str], finished_before: datetime) -> list[str]:
    """Those of `run_ids` that failed and finished before `finished_before`, of any agency and
    period: runs whose work folder was kept for diagnosis long enough."""
    return _runs_among(engine, run_ids, lambda runs: (runs.c.status == "failed",
                                                      runs.c.finished_at < finished_before))


def _runs_among(engine: Engine, run_ids: list[str],
                where: Callable[[sa.Table], tuple[Any, ...]]) -> list[str]:
    if not run_ids:
        return []
    with engine.connect() as conn:
        runs = _runs(conn)
        return list(conn.execute(
            sa.select(runs.c.run_id).where(runs.c.run_id.in_(run_ids), *where(runs))
        ).scalars())


def run_history(engine: Engine, agency_code: str | None = None,
                period_id: str | None = None) -> pd.DataFrame:
    """Every run (optionally of one agency and/or period), oldest first per agency-period, with
    `is_current` (bool) and `superseded_by_run_id`."""
    where, params = [], {}
    if agency_code is not None:
        where.append("agency_code = :agency")
        params["agency"] = agency_code
    if period_id is not None:
        where.append("period_id = :period")
        params["period"] = period_id
    sql = ("SELECT * FROM v_run" + (" WHERE " + " AND ".join(where) if where else "")
           + " ORDER BY agency_code, period_id, started_at")
    with engine.connect() as conn:
        frame = pd.read_sql(sa.text(sql), conn, params=params)
    frame["is_current"] = frame["is_current"].astype(int).astype(bool)
    for column in ("started_at", "finished_at"):
        frame[column] = pd.to_datetime(frame[column])
    return frame
