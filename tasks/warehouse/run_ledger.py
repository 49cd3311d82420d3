"""Reads of the run ledger (`pipeline_run` through the view `v_run`): which runs an agency and
period had, which is current and which superseded which.

"The current publication" of an agency-period is defined here once: of its published runs, the
one whose publication finished last (runs of one agency-period publish one at a time, under the
run lock). `v_run.is_current` says the same in SQL; the change log, the reports, the check and
`explain` all ask `current_run`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tasks.warehouse import database as warehouse


def current_run(db: Engine | Connection, agency_code: str,
                period_id: str) -> dict[str, Any] | None:
    """The pipeline_run row (a dict) of the agency-period's current publication, or None when
    nothing is published."""
    if isinstance(db, Engine):
        with db.connect() as conn:
            return current_run(conn, agency_code, period_id)
    runs = warehouse.reflect_table(db, "pipeline_run")
    row = db.execute(
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
