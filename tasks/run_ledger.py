"""Reads of the run ledger (`pipeline_run` through the view `v_run`): which runs an agency and
period had, which is current and which superseded which."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine


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
