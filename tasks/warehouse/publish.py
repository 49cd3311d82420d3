"""Publication of one agency-period to the warehouse, in one transaction (warehouse.md).

A run's life on record (tasks/warehouse/run_ledger.py): `run_ledger.start_run` (status
`running`), `record_validation` here (lineage and quarantine), then `publish_period` here (status
`published`) or `run_ledger.fail_run` (status `failed`). Each is its own transaction, so a failure
is on record even when the publication rolled back. A
publication that replaces an earlier one also moves the earlier fact_appraisal rows to history
and writes the change log (`_supersede`), in the same transaction.

Loading uses COPY on PostgreSQL (psycopg 3) and executemany inserts elsewhere, both inside the
caller's transaction, through `loader.load_frame`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from kinerja import faults
from kinerja.period import Period
from schemas.outputs import FACT_TABLES
from tasks.warehouse import database as warehouse
from tasks.warehouse import loader, run_ledger
from tasks.warehouse.changes import appraisal_changes, employee_outcomes
from tasks.warehouse.dimensions import build_dim_employee, build_dim_period, build_dim_unit
from tasks.warehouse.run_lock import LockToken, check_held

log = logging.getLogger(__name__)

DIMENSION_TABLES = ("dim_agency", "dim_period", "dim_unit", "dim_employee")



# Lineage and quarantine -----------------------------------------------------------------------


def record_validation(
    engine: Engine, run_id: str, source_files: pd.DataFrame, quarantine: pd.DataFrame
) -> None:
    """Write the run's source_file and quarantine rows, replacing any it wrote before.

    `source_files`: dataset, path, sha256, bytes, rows_read, rows_accepted, rows_quarantined.
    `quarantine`: dataset, record_ref, reasons, payload (text, or dicts that become JSON), and
    optionally agency_code / period_id (default: the run's). A `run_id` column is ignored.
    Also sets the run's source_fingerprint: the SHA-256 of its files' (dataset, sha256) pairs, so
    two runs read the same sources exactly when their fingerprints match.
    """
    with warehouse.write_transaction(engine) as conn:
        run = run_ledger.run_record(conn, run_id)
        if run is None:
            raise ValueError(f"no pipeline_run row for run {run_id}: call start_run first")
        files = _with_columns(
            conn, "source_file", source_files, {"run_id": run_id}, required_from_frame=True
        )
        rejected = _with_columns(
            conn,
            "quarantine",
            quarantine,
            {"run_id": run_id},
            defaults={"agency_code": run["agency_code"], "period_id": run["period_id"]},
        )
        for name in ("source_file", "quarantine"):
            target = warehouse.reflect_table(conn, name)
            conn.execute(sa.delete(target).where(target.c.run_id == run_id))
        loader.load_frame(conn, "source_file", files)
        loader.load_frame(conn, "quarantine", rejected)
        run_ledger.set_source_fingerprint(conn, run_id, source_fingerprint(files))


def source_fingerprint(source_files: pd.DataFrame) -> str:
    """SHA-256 over the sorted (dataset, sha256) pairs of a run's files.

    Paths are left out so that the same files under another landing folder fingerprint alike.
    """
    pairs = sorted(
        zip(
            source_files["dataset"].astype(str),
            source_files["sha256"].astype(str),
            strict=True,
        )
    )
    return hashlib.sha256(json.dumps(pairs).encode()).hexdigest()


# Publication ----------------------------------------------------------------------------------


def publish_period(
    engine: Engine,
    *,
    run_id: str,
    agency_code: str,
    agency_name: str | None,
    period: Period,
    units: pd.DataFrame,
    employees: pd.DataFrame,
    facts: Mapping[str, pd.DataFrame],
    counts: Mapping[str, int],
    run_lock: LockToken | None = None,
) -> str:
    """Publish one agency-period atomically: dimensions, every fact table and the run's status.
    Returns the agency's name as published: `agency_name`, or when none is configured the name
    the warehouse already has (a run must not rename an agency to its code), else the code.

    `units` and `employees` are the accepted master frames (dimension frames work too); `facts`
    maps each fact table to a frame with exactly its columns but run_id. Readers see either the
    previous publication or this one; any exception rolls everything back. `run_lock`, the
    token of the run's lock (`RunLock.token()`), is checked just before the run is marked
    published: a run that lost its lock fails with `RunLockLost` instead of publishing.
    """
    missing = sorted(set(FACT_TABLES) - set(facts))
    unknown = sorted(set(facts) - set(FACT_TABLES))
    if missing or unknown:
        raise ValueError(f"fact frames missing: {missing}, unknown: {unknown}")
    dimensions = {
        "dim_agency": pd.DataFrame(
            {"agency_code": [agency_code], "agency_name": [agency_name or agency_code]}
        ),
        "dim_period": build_dim_period(period),
        "dim_unit": build_dim_unit(agency_code, units),
        "dim_employee": build_dim_employee(agency_code, employees),
    }

    with warehouse.write_transaction(engine) as conn:
        _lock_agency(conn, agency_code)
        faults.point("publish.begun")
        if run_ledger.publishable_status(conn, run_id, agency_code, period) == "published":
            # A retried task whose first attempt committed but lost the acknowledgement; a later
            # run may have re-published the period since, which must not be overwritten.
            log.warning("run %s is already published; nothing to do", run_id)
            return agency_name or warehouse.agency_name(conn, agency_code) or agency_code
        frames = {
            name: _fact_frame(conn, name, facts[name], run_id, agency_code, period)
            for name in FACT_TABLES
        }
        if agency_name is None:
            agency_name = warehouse.agency_name(conn, agency_code) or agency_code
            dimensions["dim_agency"] = dimensions["dim_agency"].assign(agency_name=agency_name)
        latest = run_ledger.latest_published_period(conn, agency_code)
        is_latest = latest is None or period.id >= latest
        _upsert_dimensions(conn, dimensions, period, update=is_latest)
        faults.point("publish.dimensions")
        # The previous publication's fact rows are still readable here and nowhere later: the
        # history and change log of warehouse.md ("History") are written at this point, against
        # `frames`, before _replace_facts deletes them.
        changed = _supersede(conn, run_id, agency_code, period, frames)
        faults.point("publish.history")
        _replace_facts(conn, agency_code, period, frames)
        faults.point("publish.facts")
        check_held(conn, run_lock)
        run_ledger.mark_published(conn, run_id, counts)
        faults.point("publish.before_commit")
    faults.point("publish.committed")
    log.info(
        "published %s %s (run %s): %s; %s",
        agency_code,
        period.id,
        run_id,
        ", ".join(f"{name} {len(frame)}" for name, frame in frames.items()),
        "first publication" if changed is None else f"{changed} change(s) against the last one",
    )
    return agency_name


def _lock_agency(conn: Connection, agency_code: str) -> None:
    # Two runs of one agency must not interleave their publications (interface.md), and the
    # dimension rule reads the agency's latest period; on PostgreSQL the second run waits here
    # until the first commits. SQLite's BEGIN IMMEDIATE already serialises all writers.
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"kinerja.publish:{agency_code}"},
        )


def _fact_frame(
    conn: Connection,
    name: str,
    frame: pd.DataFrame,
    run_id: str,
    agency_code: str,
    period: Period,
) -> pd.DataFrame:
    target = warehouse.reflect_table(conn, name)
    expected = [c.name for c in target.columns if c.name != "run_id"]
    missing = [c for c in expected if c not in frame.columns]
    extra = [c for c in frame.columns if c not in expected]
    if missing or extra:
        raise ValueError(f"{name}: columns missing {missing}, unexpected {extra}")
    # A frame carrying another agency's or period's rows would overwrite a publication this run
    # does not own; refuse it rather than trust the caller.
    for column, value in (("agency_code", agency_code), ("period_id", period.id)):
        stray = ~frame[column].astype(object).isin([value])
        if stray.any():
            others = sorted({str(v) for v in frame.loc[stray, column].astype(object)})[:5]
            raise ValueError(f"{name}: rows with {column} {others}, publishing {value}")
    return frame[expected].assign(run_id=run_id)


def _upsert_dimensions(
    conn: Connection, frames: Mapping[str, pd.DataFrame], period: Period, *, update: bool
) -> None:
    """Type-1 dimensions: insert new keys; update existing ones only when `update`.

    `update` is false when an older period is (re)published, so a backfill never writes older
    master data over what a later period published. Rows are never deleted.
    """
    preparer = conn.dialect.identifier_preparer
    for name in DIMENSION_TABLES:
        target = warehouse.reflect_table(conn, name)
        frame = frames[name]
        stage = preparer.quote(f"stage_{name}")
        quoted = preparer.quote(name)
        columns = [c.name for c in target.columns]
        keys = [c.name for c in target.primary_key.columns]
        column_list = ", ".join(preparer.quote(c) for c in columns)
        key_list = ", ".join(preparer.quote(c) for c in keys)
        # Staging lets PostgreSQL take the rows by COPY and both dialects upsert with one
        # statement, which is the same text on SQLite (3.24+) and PostgreSQL.
        conn.exec_driver_sql(f"CREATE TEMP TABLE {stage} AS SELECT * FROM {quoted} WHERE false")
        loader.load_frame(conn, name, frame[columns], into=f"stage_{name}")
        # "WHERE true" resolves SQLite's parsing ambiguity between a join and ON CONFLICT.
        statement = (
            f"INSERT INTO {quoted} ({column_list}) SELECT {column_list} FROM {stage} "
            f"WHERE true ON CONFLICT ({key_list}) "
        )
        updatable = [c for c in columns if c not in keys]
        if update and updatable:
            assignments = ", ".join(
                f"{preparer.quote(c)} = excluded.{preparer.quote(c)}" for c in updatable
            )
            statement += f"DO UPDATE SET {assignments}"
            if name == "dim_employee":
                # A NIP is national: an employee who moved here from an agency that has already
                # published a later period keeps that agency's newer row.
                statement += (
                    " WHERE dim_employee.agency_code = excluded.agency_code OR NOT "
                    + run_ledger.published_later_sql("dim_employee.agency_code", ":period_id")
                )
        else:
            statement += "DO NOTHING"
        params = {"period_id": period.id} if ":period_id" in statement else {}
        conn.execute(sa.text(statement), params)
        conn.exec_driver_sql(f"DROP TABLE {stage}")


def _supersede(
    conn: Connection,
    run_id: str,
    agency_code: str,
    period: Period,
    frames: Mapping[str, pd.DataFrame],
) -> int | None:
    """History and change log of a re-publication (warehouse.md, "History").

    Copies the agency-period's current fact_appraisal rows to fact_appraisal_history (marked
    superseded by `run_id`) and writes one appraisal_change row per (nip, field) that differs
    from `frames`. Returns the number of change rows, or None for the first publication of the
    agency-period, which replaces nothing and so records nothing.
    """
    appraisal = warehouse.reflect_table(conn, "fact_appraisal")
    followup = warehouse.reflect_table(conn, "fact_followup")
    old = {
        table.name: warehouse.typed_frame(
            table.columns,
            conn.execute(
                sa.select(table).where(
                    table.c.agency_code == agency_code, table.c.period_id == period.id
                )
            ).all(),
        )
        for table in (appraisal, followup)
    }
    if old["fact_appraisal"].empty and not run_ledger.published_before(
            conn, run_id, agency_code, period):
        return None
    # Server-side copy: the replaced rows never leave the database, so history holds exactly
    # what was published (and loader.load_frame stays the path of this run's own rows).
    history = warehouse.reflect_table(conn, "fact_appraisal_history")
    columns = [c.name for c in appraisal.columns]
    conn.execute(
        sa.insert(history).from_select(
            [*columns, "superseded_by_run_id"],
            sa.select(*appraisal.columns, sa.literal(run_id, sa.Text())).where(
                appraisal.c.agency_code == agency_code, appraisal.c.period_id == period.id
            ),
        )
    )
    changes = appraisal_changes(
        employee_outcomes(old["fact_appraisal"], old["fact_followup"]),
        employee_outcomes(frames["fact_appraisal"], frames["fact_followup"]),
    )
    changes.insert(0, "period_id", period.id)
    changes.insert(0, "agency_code", agency_code)
    changes.insert(0, "run_id", run_id)
    return loader.load_frame(conn, "appraisal_change", changes)


def _replace_facts(
    conn: Connection, agency_code: str, period: Period, frames: Mapping[str, pd.DataFrame]
) -> None:
    for name in FACT_TABLES:
        target = warehouse.reflect_table(conn, name)
        conn.execute(
            sa.delete(target).where(
                target.c.agency_code == agency_code, target.c.period_id == period.id
            )
        )
        loader.load_frame(conn, name, frames[name])
        if name == FACT_TABLES[0]:
            faults.point("publish.first_fact")


# Loading --------------------------------------------------------------------------------------


def _with_columns(
    conn: Connection,
    table_name: str,
    frame: pd.DataFrame,
    fixed: Mapping[str, Any],
    *,
    defaults: Mapping[str, Any] | None = None,
    required_from_frame: bool = False,
) -> pd.DataFrame:
    """`frame` reshaped to `table_name`'s columns: `fixed` overrides, `defaults` fill gaps."""
    target = warehouse.reflect_table(conn, table_name)
    if frame.empty:
        return pd.DataFrame(columns=[c.name for c in target.columns])
    out = pd.DataFrame(index=frame.index)
    missing = []
    for column in (c.name for c in target.columns):
        if column in fixed:
            out[column] = fixed[column]
        elif column in frame.columns:
            out[column] = frame[column]
            if defaults and column in defaults:
                out[column] = (
                    out[column].astype(object).where(out[column].notna(), defaults[column])
                )
        elif defaults and column in defaults:
            out[column] = defaults[column]
        elif required_from_frame or column in [k.name for k in target.primary_key.columns]:
            missing.append(column)
        else:
            out[column] = None
    if missing:
        raise ValueError(f"{table_name} frame lacks column(s) {', '.join(missing)}")
    return out.reset_index(drop=True)
