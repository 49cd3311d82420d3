"""A run's timings (kinerja/timings.py) on its `pipeline_run` row (migration 0004)."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tasks.warehouse import database as warehouse


def record_timings(engine: Engine, run_id: str, steps: list[dict[str, Any]]) -> None:
    """Put the steps' figures on the run; nothing else of the row changes."""
    with warehouse.write_transaction(engine) as conn:
        runs = warehouse.reflect_table(conn, "pipeline_run")
        result = conn.execute(sa.update(runs).where(runs.c.run_id == run_id)
                              .values(timings=json.dumps(steps)))
        if result.rowcount != 1:
            raise ValueError(f"no pipeline_run row for run {run_id}")


def recorded_timings(engine: Engine, run_id: str) -> list[dict[str, Any]] | None:
    """The steps recorded on a run, or None when it recorded none."""
    with engine.connect() as conn:
        runs = warehouse.reflect_table(conn, "pipeline_run")
        text = conn.execute(sa.select(runs.c.timings).where(runs.c.run_id == run_id)
                            ).scalar_one_or_none()
    return json.loads(text) if text else None
