"""`kinerja run` and `kinerja backfill` over several agencies (`--agency A,B` or `--agency all`):
the multi-agency flow (flows/agencies.py) on the chosen executor, and the table of every agency's
outcome. A single agency never comes here: it runs and prints as it always did.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.table import Table

from kinerja import identifiers, interrupts, preflight
from kinerja.agencies import resolve_agencies
from kinerja.config import EXECUTORS, load_settings


def checked_executor(value: str) -> str:
    executor = value.strip().lower()
    if executor not in EXECUTORS:
        raise ValueError(f"--executor must be one of {', '.join(EXECUTORS)}, not "
                         f"{identifiers.shown(value)}")
    return executor


def _plan(agency: str, landing: Path | None, warehouse: str | None, policy: str | None,
          executor: str | None, dask_address: str | None) -> tuple[list[str], str, str | None]:
    """The agencies, the executor and the Dask address; what can be known wrong before Prefect
    starts. A missing landing folder is that agency's failure, not the command's."""
    settings = load_settings()
    codes = resolve_agencies(agency, settings, landing)
    chosen = checked_executor(executor or settings.executor)
    if policy:
        preflight.check_policy(policy)
    from kinerja import cli

    preflight.check_warehouse(cli._warehouse_url(warehouse))
    return codes, chosen, (dask_address or settings.dask_address) if chosen == "dask" else None


def _start(retries: int | None) -> None:
    from kinerja import cli

    cli._quiet_tracebacks()
    cli._set_task_retries(retries)


def _finish(title: str, outcomes: list[dict[str, Any]], failure: BaseException | None,
            backfill: bool) -> None:
    from kinerja import cli

    print_outcomes(title, outcomes, backfill)
    if failure is not None:
        cli._fail(failure)  # one line naming every failed agency; exit 1


def run_many(agency: str, period: str, landing: Path | None, warehouse: str | None,
             reports: Path | None, policy: str | None, retries: int | None,
             executor: str | None, dask_address: str | None) -> None:
    """`kinerja run --agency A,B|all`: one semester run per agency."""
    from kinerja import cli

    try:
        period = identifiers.period_id(period)
        codes, executor, address = _plan(agency, landing, warehouse, policy, executor,
                                         dask_address)
    except Exception as error:
        cli._fail(error)
    _start(retries)
    from flows.agencies import semester_job

    job = semester_job(period, "manual", str(landing) if landing else None,
                       str(reports) if reports else None, policy)
    _appraise(codes, job, warehouse, executor, address,
              f"{period}: {len(codes)} agencies ({executor})", backfill=False)


def backfill_many(agency: str, from_period: str, to_period: str | None, landing: Path | None,
                  warehouse: str | None, reports: Path | None, policy: str | None,
                  retries: int | None, executor: str | None, dask_address: str | None) -> None:
    """`kinerja backfill --agency A,B|all`: one backfill (its periods in order) per agency."""
    from kinerja import cli

    try:
        from_period = identifiers.period_id(from_period)
        to_period = identifiers.period_id(to_period) if to_period is not None else None
        codes, executor, address = _plan(agency, landing, warehouse, policy, executor,
                                         dask_address)
    except Exception as error:
        cli._fail(error)
    _start(retries)
    from flows.agencies import backfill_job

    job = backfill_job(from_period, to_period, str(landing) if landing else None,
                       str(reports) if reports else None, policy)
    _appraise(codes, job, warehouse, executor, address,
              f"backfill from {from_period}: {len(codes)} agencies ({executor})", backfill=True)


def _appraise(codes: list[str], job: dict[str, Any], warehouse: str | None, executor: str,
              address: str | None, label: str, *, backfill: bool) -> None:
    """Every agency's `job`, then the table of outcomes (exit 1 when any failed)."""
    from flows.agencies import AgenciesFailed, appraise_agencies
    from kinerja import cli

    failure: BaseException | None = None
    try:
        with cli._warehouse_via_environment(warehouse), interrupts.guard():
            outcomes = appraise_agencies(agency_codes=codes, job=job, executor=executor,
                                         dask_address=address)["outcomes"]
    except AgenciesFailed as error:
        outcomes, failure = error.outcomes, error
    except Exception as error:
        cli._fail(error)
    _finish(label, outcomes, failure, backfill=backfill)


def _number(value: Any) -> str:
    return "-" if value is None else str(value)


def print_outcomes(title: str, outcomes: list[dict[str, Any]], backfill: bool = False) -> None:
    """Every agency's outcome, one row each, in the order they were asked for."""
    from kinerja import cli

    table = Table(title=title)
    columns = (("agency", "status", "periods", "last run", "reason") if backfill else
               ("agency", "status", "run", "read", "accepted", "quarantined", "quality",
                "reason"))
    for column in columns:
        table.add_column(column, justify="right" if column in ("read", "accepted", "quarantined")
                         else "left", overflow="fold")
    for o in outcomes:
        reason = o["reason"] or ""
        if backfill:
            table.add_row(o["agency_code"], o["status"], ", ".join(o["periods"]) or "-",
                          o["run_id"] or "-", reason)
        else:
            table.add_row(o["agency_code"], o["status"], o["run_id"] or "-",
                          *(_number(o[k]) for k in ("rows_read", "rows_accepted",
                                                    "rows_quarantined")),
                          o["quality_status"] or "-", reason)
    cli._print_table(table)
    failed = sum(o["status"] == "failed" for o in outcomes)
    cli.console.print(f"{len(outcomes) - failed} of {len(outcomes)} agencies published, "
                      f"{failed} failed", markup=False, highlight=False)
    for warehouse in sorted({o["warehouse"] for o in outcomes if o.get("warehouse")}):
        cli.console.print(f"warehouse: {warehouse}", **cli.SAY)
