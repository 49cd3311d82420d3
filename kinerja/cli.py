"""The `kinerja` command. Every subcommand calls the same flows that Prefect deployments run."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from kinerja.config import load_settings
from kinerja.period import Period

app = typer.Typer(
    help="Semester appraisal pipeline for ASN: sources in, validated, scored, published.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
errors = Console(stderr=True)
_state = {"debug": False}

DEMO_AGENCY = "3374"
DEMO_AGENCY_NAME = "Kota Semarang"
DEMO_PERIODS = ("2025-S1", "2025-S2")
DEMO_EMPLOYEES = 2000
DEMO_SEED = 2026
DEMO_BAD_ROWS = 0.005


@app.callback()
def main_options(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on failure.")] = False,
) -> None:
    _state["debug"] = debug
    if not debug:
        _quiet_tracebacks()


class _NoTracebacks(logging.Filter):
    """Keeps Prefect's console lines but drops their tracebacks (the Prefect API still gets
    them): a failure on the terminal is one line unless --debug."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info = None
        record.exc_text = None
        return True


def _quiet_tracebacks() -> None:
    from prefect.logging.configuration import setup_logging

    # Later set-ups by Prefect are incremental and keep these handlers and their filters.
    setup_logging()

    for logger in (logging.getLogger(), logging.getLogger("prefect._internal")):
        for handler in logger.handlers:
            handler.addFilter(_NoTracebacks())


def _fail(error: BaseException) -> None:
    if _state["debug"]:
        raise error
    message = " ".join(str(error).split()) or type(error).__name__
    errors.print(f"kinerja: error: {message}", markup=False, highlight=False)
    raise typer.Exit(1)


def _print_summary(summary: dict[str, Any]) -> None:
    table = Table(title=f"{summary['agency_name']} ({summary['agency_code']}) "
                        f"{summary['period_id']} — run {summary['run_id']}")
    for column in ("dataset", "read", "accepted", "quarantined"):
        table.add_column(column, justify="left" if column == "dataset" else "right")
    for d in summary["datasets"]:
        table.add_row(d["dataset"], str(d["rows_read"]), str(d["rows_accepted"]),
                      str(d["rows_quarantined"]))
    table.add_row("total", str(summary["rows_read"]), str(summary["rows_accepted"]),
                  str(summary["rows_quarantined"]), style="bold")
    console.print(table)
    counts = ", ".join(f"{k} {v}" for k, v in sorted(summary["predikat_counts"].items()))
    console.print(f"predikat: {counts}")
    console.print(f"report: {summary['report']}")


@app.command()
def run(
    agency: Annotated[str, typer.Option(help="Agency code (BPS region code, e.g. 3374).")],
    period: Annotated[str, typer.Option(help="Period, YYYY-S1 or YYYY-S2.")],
    landing: Annotated[Path | None, typer.Option(help="Landing zone root.")] = None,
    warehouse: Annotated[str | None, typer.Option(help="Warehouse SQLAlchemy URL.")] = None,
    reports: Annotated[Path | None, typer.Option(help="Reports folder.")] = None,
    policy: Annotated[str | None, typer.Option(help="Policy name or YAML path.")] = None,
) -> None:
    """One semester run for one agency: extract, validate, score, publish, report."""
    from flows.semester import semester_appraisal

    try:
        Period.parse(period)
        summary = semester_appraisal(
            agency_code=agency, period_id=period,
            landing=str(landing) if landing else None, warehouse_url=warehouse,
            reports=str(reports) if reports else None, policy=policy, kind="manual",
        )
    except Exception as error:  # one line on failure; --debug shows the traceback
        _fail(error)
    _print_summary(summary)
    console.print(f"warehouse: {summary['warehouse']}")


@app.command()
def generate(
    agency: Annotated[str, typer.Option(help="Agency code.")],
    employees: Annotated[int, typer.Option(help="Number of employees.", min=1)],
    periods: Annotated[str, typer.Option(help="Comma-separated periods, e.g. 2025-S1,2025-S2.")],
    out: Annotated[Path, typer.Option(help="Landing zone root to write into.")],
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same bytes.")] = 0,
    bad_rows: Annotated[float, typer.Option(help="Share of rows to break (0..0.2).",
                                            min=0.0, max=0.2)] = 0.0,
) -> None:
    """Write synthetic landing data of any size, for demos, tests and benchmarks."""
    from kinerja.synthetic import generate_landing

    try:
        period_ids = [Period.parse(p).id for p in periods.split(",") if p.strip()]
        generation = generate_landing(out, agency, employees, period_ids, seed=seed,
                                      bad_rows=bad_rows, progress=_progress_line)
    except Exception as error:
        _fail(error)
    console.print(f"landing data written under {out / agency} for {', '.join(period_ids)}: "
                  f"{generation.total_rows} rows, {generation.total_bad_rows} deliberately bad")


def _progress_line(message: str) -> None:
    console.print(message, markup=False, highlight=False)


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder for landing data, warehouse and reports.")]
    = Path("."),
) -> None:
    """Generate a demo agency (Kota Semarang, ~2,000 employees, two semesters with a few bad
    rows), run both semesters into a SQLite warehouse and write the reports."""
    from flows.semester import semester_appraisal
    from kinerja.synthetic import generate_landing

    out = out.resolve()
    landing, reports = out / "landing", out / "reports"
    warehouse_url = f"sqlite:///{out / 'warehouse.db'}"
    try:
        out.mkdir(parents=True, exist_ok=True)
        console.print(f"generating {DEMO_EMPLOYEES} employees of {DEMO_AGENCY_NAME} for "
                      f"{', '.join(DEMO_PERIODS)} into {landing}")
        generate_landing(landing, DEMO_AGENCY, DEMO_EMPLOYEES, list(DEMO_PERIODS),
                         seed=DEMO_SEED, bad_rows=DEMO_BAD_ROWS)
        summaries = [
            semester_appraisal(agency_code=DEMO_AGENCY, period_id=p, landing=str(landing),
                               warehouse_url=warehouse_url, reports=str(reports),
                               kind="manual", agency_name=DEMO_AGENCY_NAME)
            for p in DEMO_PERIODS
        ]
    except Exception as error:
        _fail(error)
    for summary in summaries:
        _print_summary(summary)
    console.print(f"landing zone: {landing}")
    console.print(f"warehouse:    {out / 'warehouse.db'}")
    console.print(f"reports:      {reports}")


def main() -> None:
    # Government networks are closed: Prefect's telemetry would only log failures.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    load_settings()  # fail early on a broken kinerja.toml / kinerja.yaml
    app(prog_name="kinerja")


if __name__ == "__main__":
    sys.exit(main())
