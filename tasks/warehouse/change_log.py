"""Reads of what a run changed: its change log with names, the run it replaced, the files that
differ from that run's, and a short summary (used by `kinerja changes` and the backfill flow).

The change log itself is written by `publish.py` inside the publishing transaction; the
comparisons are the pure functions of `tasks/warehouse/changes.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tasks.warehouse import database as warehouse
from tasks.warehouse.changes import (
    ABSENT,
    EMPLOYEE_FIELD,
    PRESENT,
    appraisal_changes,
    employee_outcomes,
    field_rank,
    source_file_changes,
)
from tasks.warehouse.run_ledger import current_run_id, replaced_run_id, run_record

LOG_COLUMNS = ("nip", "name", "unit_code", "unit_name", "field", "old_value", "new_value")


@dataclass
class RunChanges:
    """What one run changed against the publication it replaced."""

    run: dict[str, Any]
    replaced_run_id: str | None
    log: pd.DataFrame  # LOG_COLUMNS, ordered by nip and field
    files: pd.DataFrame  # changes.FILE_CHANGE_COLUMNS (empty without a replaced run)

    @property
    def change_rows(self) -> int:
        return len(self.log)

    @property
    def employees_changed(self) -> int:
        return int(self.log["nip"].nunique())

    @property
    def predikat(self) -> pd.DataFrame:
        """nip, name, unit_name, old_value, new_value of the employees whose predikat changed."""
        rows = self.log[self.log["field"] == "predikat"]
        return rows[["nip", "name", "unit_name", "old_value", "new_value"]].reset_index(drop=True)

    @property
    def appeared(self) -> list[str]:
        star = self.log[(self.log["field"] == EMPLOYEE_FIELD) & (self.log["new_value"] == PRESENT)]
        return star["nip"].tolist()

    @property
    def disappeared(self) -> list[str]:
        star = self.log[(self.log["field"] == EMPLOYEE_FIELD) & (self.log["new_value"] == ABSENT)]
        return star["nip"].tolist()

    @property
    def dry_run(self) -> bool:
        """A preview (`kinerja run --dry-run`): what publishing would change, nothing published."""
        return bool(self.run.get("dry_run"))

    def describe(self) -> str:
        """The change summary as one line, for the run's log and the command line."""
        run = self.run
        if self.replaced_run_id is None:
            if self.dry_run:
                return (f"{run['agency_code']} {run['period_id']}: dry run: would be the first "
                        "publication, nothing replaced; nothing published")
            return (f"{run['agency_code']} {run['period_id']}: first publication (run "
                    f"{run['run_id']}), nothing replaced")
        fields = ", ".join(f"{field} {count}" for field, count in
                           self.log["field"].value_counts().sort_index().items())
        files = ", ".join(f"{n} {kind}" for kind, n in self.files["change"].value_counts()
                          .sort_index().items()) or "none"
        who = "dry run" if self.dry_run else f"run {run['run_id']}"
        return (f"{run['agency_code']} {run['period_id']}: {who} against run "
                f"{self.replaced_run_id}: {self.change_rows} change(s) for "
                f"{self.employees_changed} employee(s) ({fields or 'no field'}); predikat "
                f"changed for {len(self.predikat)}; files differ: {files}"
                + ("; nothing published" if self.dry_run else ""))

    def summary(self) -> dict[str, Any]:
        """Plain, JSON-able figures (what a Prefect flow returns)."""
        return {
            "run_id": self.run["run_id"],
            "dry_run": self.dry_run,
            "agency_code": self.run["agency_code"],
            "period_id": self.run["period_id"],
            "replaced_run_id": self.replaced_run_id,
            "change_rows": self.change_rows,
            "employees_changed": self.employees_changed,
            "predikat_changed": [
                {"nip": r.nip, "old": r.old_value, "new": r.new_value}
                for r in self.predikat.itertuples(index=False)
            ],
            "appeared": self.appeared,
            "disappeared": self.disappeared,
            # change rows per field of fact_appraisal / fact_followup ('*': appeared/gone)
            "fields": {str(k): int(v) for k, v in
                       self.log["field"].value_counts().sort_index().items()},
            "description": self.describe(),
            "files_changed": [
                {"dataset": r.dataset, "path": r.path, "change": r.change}
                for r in self.files.itertuples(index=False)
            ],
        }


def change_log(engine: Engine, run_id: str) -> pd.DataFrame:
    """The appraisal_change rows of `run_id` with the employee's name and unit (LOG_COLUMNS),
    ordered by nip and then field in table order. The unit is the one v_perubahan shows."""
    with engine.connect() as conn:
        change = warehouse.reflect_table(conn, "appraisal_change")
        current = warehouse.reflect_table(conn, "fact_appraisal")
        history = warehouse.reflect_table(conn, "fact_appraisal_history")
        employee = warehouse.reflect_table(conn, "dim_employee")
        unit = warehouse.reflect_table(conn, "dim_unit")
        same_row = [
            lambda t: t.c.agency_code == change.c.agency_code,
            lambda t: t.c.period_id == change.c.period_id,
            lambda t: t.c.nip == change.c.nip,
        ]
        unit_code = sa.func.coalesce(
            current.c.unit_code, history.c.unit_code, employee.c.unit_code, type_=sa.Text()
        ).label("unit_code")
        joined = (
            change.outerjoin(current, sa.and_(*(c(current) for c in same_row)))
            .outerjoin(
                history,
                sa.and_(history.c.superseded_by_run_id == change.c.run_id,
                        *(c(history) for c in same_row)),
            )
            .outerjoin(employee, employee.c.nip == change.c.nip)
            .outerjoin(
                unit,
                sa.and_(unit.c.agency_code == change.c.agency_code,
                        unit.c.unit_code == unit_code),
            )
        )
        statement = (
            sa.select(change.c.nip, employee.c.name, unit_code, unit.c.unit_name,
                      change.c.field, change.c.old_value, change.c.new_value)
            .select_from(joined)
            .where(change.c.run_id == run_id)
        )
        rows = conn.execute(statement).all()
        log = warehouse.typed_frame(list(statement.selected_columns), rows)
    return (
        log.assign(_order=field_rank(log["field"]))
        .sort_values(["nip", "_order", "field"], kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )


def file_changes(engine: Engine, old_run_id: str, new_run_id: str) -> pd.DataFrame:
    """The files of `new_run_id` added, removed or changed (by SHA-256) against `old_run_id`'s."""
    with engine.connect() as conn:
        files = warehouse.reflect_table(conn, "source_file")
        columns = [files.c.run_id, files.c.dataset, files.c.path, files.c.sha256]
        rows = conn.execute(
            sa.select(*columns).where(files.c.run_id.in_([old_run_id, new_run_id]))
        ).all()
    read = warehouse.typed_frame(columns, rows)
    return source_file_changes(read[read["run_id"] == old_run_id],
                               read[read["run_id"] == new_run_id])


def run_changes(engine: Engine, run_id: str) -> RunChanges:
    """Everything `kinerja changes` shows about one run. Without a replaced run (a first
    publication) the log is empty and no files are compared."""
    run = run_record(engine, run_id)
    if run is None:
        raise ValueError(f"no run {run_id} in the warehouse")
    replaced = replaced_run_id(engine, run_id)
    if replaced is None:
        none = pd.DataFrame(columns=["dataset", "path", "sha256"])
        files = source_file_changes(none, none)
    else:
        files = file_changes(engine, replaced, run_id)
    return RunChanges(run, replaced, change_log(engine, run_id), files)


def preview_changes(
    engine: Engine | None,
    agency_code: str,
    period_id: str,
    facts: Mapping[str, pd.DataFrame],
    employees: pd.DataFrame,
    units: pd.DataFrame,
    files: pd.DataFrame,
) -> RunChanges:
    """What publishing `facts` would change against the agency-period's current publication,
    read without writing anything: the change log `publish.py` would record (the same
    `appraisal_changes`), named as `change_log` names it, and the files (dataset, path, sha256)
    that differ from the current publication's. `engine` None stands for a warehouse that does
    not exist yet. `employees` and `units` are the run's accepted master frames."""
    run = {"run_id": None, "agency_code": agency_code, "period_id": period_id, "dry_run": True}
    replaced = current_run_id(engine, agency_code, period_id) if engine else None
    none = pd.DataFrame(columns=["dataset", "path", "sha256"])
    if replaced is None:
        empty = pd.DataFrame({c: pd.Series(dtype=object) for c in LOG_COLUMNS})
        return RunChanges(run, None, empty, source_file_changes(none, none))
    old = {name: warehouse.read_table(engine, name, agency_code, period_id)
           for name in ("fact_appraisal", "fact_followup")}
    changes = appraisal_changes(
        employee_outcomes(old["fact_appraisal"], old["fact_followup"]),
        employee_outcomes(facts["fact_appraisal"], facts["fact_followup"]),
    )
    log = _named(engine, agency_code, changes, facts["fact_appraisal"], old["fact_appraisal"],
                 employees, units)
    with engine.connect() as conn:
        source = warehouse.reflect_table(conn, "source_file")
        columns = [source.c.dataset, source.c.path, source.c.sha256]
        rows = conn.execute(sa.select(*columns).where(source.c.run_id == replaced)).all()
    return RunChanges(run, replaced, log,
                      source_file_changes(warehouse.typed_frame(columns, rows),
                                          files.loc[:, ["dataset", "path", "sha256"]]))


def _named(engine: Engine, agency_code: str, changes: pd.DataFrame, new: pd.DataFrame,
           old: pd.DataFrame, employees: pd.DataFrame, units: pd.DataFrame) -> pd.DataFrame:
    """`changes` (nip, field, old_value, new_value) as LOG_COLUMNS: the name and unit the
    publication would give them (this run's, else the warehouse's for employees it drops)."""
    nips = changes["nip"].astype(str)
    names = employees.set_index(employees["nip"].astype(str))["name"].astype(object)
    unit_of = pd.concat([new.set_index(new["nip"].astype(str))["unit_code"],
                         old.set_index(old["nip"].astype(str))["unit_code"]]).astype(object)
    unit_of = unit_of[~unit_of.index.duplicated()]
    unit_names = units.set_index(units["unit_code"].astype(str))["unit_name"].astype(object)
    known = warehouse.read_table(engine, "dim_employee", agency_code)
    known = known.set_index(known["nip"].astype(str))
    known_units = warehouse.read_table(engine, "dim_unit", agency_code)
    known_units = known_units.set_index(known_units["unit_code"].astype(str))["unit_name"]
    name = nips.map(names).fillna(nips.map(known["name"].astype(object)))
    unit_code = nips.map(unit_of).fillna(nips.map(known["unit_code"].astype(object)))
    unit_name = unit_code.map(unit_names).fillna(unit_code.map(known_units.astype(object)))
    log = pd.DataFrame({"nip": nips, "name": name, "unit_code": unit_code,
                        "unit_name": unit_name, "field": changes["field"],
                        "old_value": changes["old_value"], "new_value": changes["new_value"]})
    log = log.astype(object).where(log.notna(), None)
    return (
        log.assign(_order=field_rank(log["field"]))
        .sort_values(["nip", "_order", "field"], kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )
