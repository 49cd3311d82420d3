"""The `kinerja` command. Every subcommand calls the same flows that Prefect deployments run."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from kinerja import identifiers
from kinerja.config import ConfigError, load_settings
from kinerja.redact import mask_secrets

if TYPE_CHECKING:
    from tasks.change_log import RunChanges

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


class _NoTracebacks(logging.Filter):
    """Keeps Prefect's console lines but drops their tracebacks (the Prefect API still gets
    them): a failure on the terminal is one line unless --debug."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info = None
        record.exc_text = None
        return True


def _quiet_tracebacks() -> None:
    """Called by the commands that run a flow, once their arguments are checked: setting up
    Prefect's logging costs seconds that a mistyped argument should not wait for."""
    if _state["debug"]:
        return
    from prefect.logging.configuration import setup_logging

    # Later set-ups by Prefect are incremental and keep these handlers and their filters.
    setup_logging()

    for logger in (logging.getLogger(), logging.getLogger("prefect._internal")):
        for handler in logger.handlers:
            handler.addFilter(_NoTracebacks())


@contextmanager
def _warehouse_via_environment(warehouse: str | None) -> Iterator[None]:
    """Hand --warehouse to the flow through the environment: a flow parameter is stored and
    shown by Prefect, and the URL may carry a password. Restored afterwards, for callers that
    run several commands in one process."""
    if not warehouse:
        yield
        return
    previous = os.environ.get("KINERJA_WAREHOUSE_URL")
    os.environ["KINERJA_WAREHOUSE_URL"] = warehouse
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("KINERJA_WAREHOUSE_URL", None)
        else:
            os.environ["KINERJA_WAREHOUSE_URL"] = previous


def _fail(error: BaseException) -> None:
    if _state["debug"]:
        raise error
    message = mask_secrets(" ".join(str(error).split())) or type(error).__name__
    # soft_wrap: the reason stays one line however narrow the terminal (or a pipe's 80).
    errors.print(f"kinerja: error: {message}", markup=False, highlight=False, soft_wrap=True)
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
    _print_outputs(summary)


def _print_outputs(outputs: dict[str, Any]) -> None:
    say = {"markup": False, "highlight": False, "soft_wrap": True}
    if "workbook" in outputs:
        console.print(f"workbook: {outputs['workbook']}", **say)
    if "data_docs" in outputs:
        console.print(f"data docs: {outputs['data_docs']}", **say)
    if "quality_status" in outputs:
        console.print(f"data quality: {outputs['quality_status']} ({outputs['quality_failed']} of "
                      f"{outputs['quality_evaluated']} expectations failed)", **say)


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
    try:
        agency, period = identifiers.agency_code(agency), identifiers.period_id(period)
        _quiet_tracebacks()
        from flows.semester import semester_appraisal

        with _warehouse_via_environment(warehouse):
            summary = semester_appraisal(
                agency_code=agency, period_id=period,
                landing=str(landing) if landing else None, warehouse_url=None,
                reports=str(reports) if reports else None, policy=policy, kind="manual",
            )
    except Exception as error:  # one line on failure; --debug shows the traceback
        _fail(error)
    _print_summary(summary)
    console.print(f"warehouse: {summary['warehouse']}")


@app.command()
def check(
    agency: Annotated[str, typer.Option(help="Agency code.")],
    period: Annotated[str, typer.Option(help="Period, YYYY-S1 or YYYY-S2.")],
    warehouse: Annotated[str | None, typer.Option(help="Warehouse SQLAlchemy URL.")] = None,
    reports: Annotated[Path | None, typer.Option(help="Reports folder.")] = None,
    policy: Annotated[str | None, typer.Option(
        help="Policy name or YAML path (default: the policy named on the run).")] = None,
) -> None:
    """Run the data-quality suite on the published tables of one agency-period: record its
    result on the run that published them, write its Data Docs and refresh the report and
    workbook. Exits 1 when an expectation failed."""
    try:
        agency, period_id = identifiers.agency_code(agency), identifiers.period_id(period)
        from tasks.check import check_publication
        from tasks.explain.sources import report_calibration
        from tasks.report import write_reports
        from tasks.warehouse import ensure_schema, make_engine

        settings = load_settings()
        reports_dir = reports or settings.reports
        engine = make_engine(warehouse or settings.warehouse_url)
        try:
            ensure_schema(engine)  # the quality columns of an older warehouse
            result = check_publication(engine, agency, period_id, reports_dir, policy)
            # The rater calibration needs ratings.csv, which the warehouse does not hold.
            calibration = report_calibration(
                engine, agency, period_id, landing_root=settings.agency_landing(agency),
                sql_sources=settings.agency(agency).sources,
                policy_candidates=[policy or settings.agency_policy(agency)])
            outputs = write_reports(engine, agency, period_id, reports_dir, calibration)
        finally:
            engine.dispose()
    except Exception as error:
        _fail(error)
    console.print(f"{agency} {period_id}: run {result['run_id']}", markup=False, highlight=False)
    console.print(f"report: {outputs['report']}", markup=False, highlight=False)
    _print_outputs({**outputs, "data_docs": result["data_docs"],
                    "quality_status": result["status"], "quality_failed": result["failed"],
                    "quality_evaluated": result["evaluated"]})
    if result["status"] != "passed":
        failed = sorted({f"{f['table']}.{f['column'] or f['expectation']}"
                         for f in result["failures"]})
        _fail(RuntimeError(f"data-quality suite failed: {result['failed']} of "
                           f"{result['evaluated']} expectations ({', '.join(failed[:10])})"))


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
        agency = identifiers.agency_code(agency)
        period_ids = [identifiers.period_id(p) for p in periods.split(",") if p.strip()]
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

    _quiet_tracebacks()
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
    # Paths stay whole on one line each, whatever the terminal's width, for copying.
    say = {"markup": False, "highlight": False, "soft_wrap": True}
    for summary in summaries:
        period_id = summary["period_id"]
        console.print(f"  {period_id} report (HTML):    {summary['report']}", **say)
        console.print(f"  {period_id} workbook (XLSX):  {summary['workbook']}", **say)
        console.print(f"  {period_id} data docs ({summary['quality_status']}): "
                      f"{summary['data_docs']}", **say)


@app.command()
def backfill(
    agency: Annotated[str, typer.Option(help="Agency code.")],
    from_period: Annotated[str, typer.Option("--from", help="First period to re-run.")],
    to_period: Annotated[str | None, typer.Option(
        "--to", help="Last period (default: the agency's latest published period).")] = None,
    landing: Annotated[Path | None, typer.Option(help="Landing zone root.")] = None,
    warehouse: Annotated[str | None, typer.Option(help="Warehouse SQLAlchemy URL.")] = None,
    reports: Annotated[Path | None, typer.Option(help="Reports folder.")] = None,
    policy: Annotated[str | None, typer.Option(help="Policy name or YAML path.")] = None,
) -> None:
    """Re-run every period from --from to --to in order (later periods read earlier ones, so a
    correction flows forward) and print what changed. Stops at the first failed period."""
    try:
        agency = identifiers.agency_code(agency)
        from_period = identifiers.period_id(from_period)
        to_period = identifiers.period_id(to_period) if to_period is not None else None
    except ValueError as error:
        _fail(error)
    _quiet_tracebacks()
    from flows.backfill import BackfillFailed
    from flows.backfill import backfill as backfill_flow

    try:
        with _warehouse_via_environment(warehouse):
            result = backfill_flow(
                agency_code=agency, from_period=from_period, to_period=to_period,
                landing=str(landing) if landing else None, warehouse_url=None,
                reports=str(reports) if reports else None, policy=policy,
            )
    except BackfillFailed as error:
        if error.completed:
            _print_backfill(agency, error.completed)
        _fail(error)
    except Exception as error:
        _fail(error)
    _print_backfill(agency, result["runs"])


def _files_text(files: list[dict[str, str]]) -> str:
    counts = {kind: sum(f["change"] == kind for f in files)
              for kind in ("changed", "added", "removed")}
    return ", ".join(f"{n} {kind}" for kind, n in counts.items() if n) or "none"


def _print_backfill(agency: str, runs: list[dict[str, Any]], shown: int = 20) -> None:
    table = Table(title=f"backfill of {agency}: what changed per period")
    for column in ("period", "run", "replaced run", "changes", "employees", "predikat changed",
                   "files changed"):
        table.add_column(column, justify="right" if column in ("changes", "employees",
                                                             "predikat changed") else "left")
    for r in runs:
        table.add_row(r["period_id"], r["run_id"], r["replaced_run_id"] or "(first)",
                      str(r["change_rows"]), str(r["employees_changed"]),
                      str(len(r["predikat_changed"])), _files_text(r["files_changed"]))
    _print_table(table)
    say = {"markup": False, "highlight": False, "soft_wrap": True}
    for r in runs:
        changed = r["predikat_changed"]
        for c in changed[:shown]:
            console.print(f"{r['period_id']} predikat {c['nip']}: {c['old'] or 'NULL'} -> "
                          f"{c['new'] or 'NULL'}", **say)
        if len(changed) > shown:
            console.print(f"{r['period_id']}: {len(changed) - shown} more predikat change(s) "
                          f"(kinerja changes --agency {agency} --period {r['period_id']})",
                          **say)


@app.command()
def changes(
    agency: Annotated[str, typer.Option(help="Agency code.")],
    period: Annotated[str, typer.Option(help="Period, YYYY-S1 or YYYY-S2.")],
    run: Annotated[str | None, typer.Option(
        help="Run id (default: the run of the current publication).")] = None,
    warehouse: Annotated[str | None, typer.Option(help="Warehouse SQLAlchemy URL.")] = None,
    limit: Annotated[int, typer.Option(help="Rows of the change log to show (0: all).",
                                       min=0)] = 200,
) -> None:
    """Print the change log of a run against the publication it replaced: every changed value
    with the employee's name and unit, the predikat changes and the files that differ."""
    try:
        agency, period_id = identifiers.agency_code(agency), identifiers.period_id(period)
        from tasks.change_log import latest_published_run, run_changes
        from tasks.warehouse import make_engine

        engine = make_engine(warehouse or load_settings().warehouse_url)
        try:
            run_id = run or latest_published_run(engine, agency, period_id)
            if run_id is None:
                raise ValueError(f"{agency} {period_id} has no published run")
            found = run_changes(engine, run_id)
        finally:
            engine.dispose()
        if (found.run["agency_code"], found.run["period_id"]) != (agency, period_id):
            raise ValueError(f"run {run_id} is for {found.run['agency_code']} "
                             f"{found.run['period_id']}, not {agency} {period_id}")
    except Exception as error:
        _fail(error)
    _print_changes(found, limit)


def _cell(value: Any) -> str:
    import pandas as pd

    return "NULL" if value is None or pd.isna(value) else str(value)


def _print_table(table: Table) -> None:
    # On a terminal long values fold inside their cells; written to a file or a pipe the table
    # takes its natural width, so that no value is ever cut or split for a later grep.
    if console.is_terminal:
        console.print(table)
        return
    natural = console.measure(table, options=console.options.update_width(100_000)).maximum
    Console(width=max(console.width, natural)).print(table)


def _print_changes(found: RunChanges, limit: int) -> None:
    run, replaced = found.run, found.replaced_run_id
    when = run["finished_at"].strftime("%Y-%m-%d %H:%M:%S") if run["finished_at"] else "-"
    say = {"markup": False, "highlight": False, "soft_wrap": True}
    console.print(f"{run['agency_code']} {run['period_id']}: run {run['run_id']} "
                  f"({run['kind']}, {run['status']} {when} UTC)", **say)
    if run["status"] != "published":
        console.print(f"this run did not publish: {run['message'] or run['status']}", **say)
    if replaced is None:
        console.print("first publication of this agency-period: nothing replaced, no change "
                      "log", **say)
        return
    log = found.log
    if run["status"] == "published":
        table = Table(title=f"changes against run {replaced}")
        for column in ("nip", "name", "unit", "field", "old", "new"):
            table.add_column(column, no_wrap=column == "nip", overflow="fold")
        rows = log if limit == 0 else log.head(limit)
        nips = rows["nip"].tolist()
        last_of_employee = [n != after for n, after in zip(nips, [*nips[1:], None],
                                                           strict=False)]
        previous = None
        for r, last in zip(rows.itertuples(index=False), last_of_employee, strict=True):
            unit = r.unit_code if _cell(r.unit_name) == "NULL" else r.unit_name
            # The employee is named once, on the first of their rows.
            who = ("", "", "") if r.nip == previous else (r.nip, r.name, unit)
            previous = r.nip
            table.add_row(*map(_cell, (*who, r.field, r.old_value, r.new_value)),
                          end_section=last)
        if log.empty:
            console.print(f"no value differs from run {replaced}", **say)
        else:
            _print_table(table)
        if len(rows) < len(log):
            console.print(f"... {len(log) - len(rows)} more row(s) (--limit 0 shows all)",
                          **say)
        predikat = found.predikat
        console.print(f"{found.change_rows} change(s) for {found.employees_changed} "
                      f"employee(s); predikat changed for {len(predikat)}; appeared "
                      f"{len(found.appeared)}, disappeared {len(found.disappeared)}", **say)
        for r in predikat.itertuples(index=False):
            console.print(f"  predikat {r.nip} {_cell(r.name)}: {_cell(r.old_value)} -> "
                          f"{_cell(r.new_value)}", **say)
    if found.files.empty:
        console.print(f"files: the same as run {replaced} (none added, removed or changed)",
                      **say)
    else:
        console.print(f"files against run {replaced}:", **say)
        for f in found.files.itertuples(index=False):
            console.print(f"  {f.change:<8} {f.dataset}: {f.path}", **say)


EXPLAIN_FORMATS = ("text", "json", "html")


@app.command()
def explain(
    agency: Annotated[str, typer.Option(help="Agency code.")],
    period: Annotated[str, typer.Option(help="Period, YYYY-S1 or YYYY-S2.")],
    nip: Annotated[str | None, typer.Option(help="The employee's 18-digit NIP.")] = None,
    unit: Annotated[str | None, typer.Option(
        help="A unit code: one slip per employee of the unit, written into --out DIR.")] = None,
    fmt: Annotated[str | None, typer.Option(
        "--format", help="text, json or html (default: text with --nip, html with --unit).")]
    = None,
    out: Annotated[Path | None, typer.Option(
        help="File to write (--nip; default: print), or folder (--unit, required).")] = None,
    landing: Annotated[Path | None, typer.Option(help="Landing zone root.")] = None,
    warehouse: Annotated[str | None, typer.Option(help="Warehouse SQLAlchemy URL.")] = None,
    policy: Annotated[str | None, typer.Option(
        help="Policy name or YAML path (default: the one of the run, found by its hash).")]
    = None,
) -> None:
    """How every published value of one employee was obtained, down to the source rows
    (re-read, their SHA-256 checked against the run's lineage); a printable slip with
    --format html, one per employee of a unit with --unit. Exits 1 when a source file changed
    since the run, or when a recomputed value differs from the published one."""
    try:
        agency, period_id = identifiers.agency_code(agency), identifiers.period_id(period)
        if (nip is None) == (unit is None):
            raise ValueError("give exactly one of --nip NIP and --unit UNIT_CODE")
        nip = identifiers.nip(nip) if nip is not None else None
        if unit is not None and (not unit.strip() or len(unit) > 200):
            raise ValueError(f"invalid unit code {identifiers.shown(unit)}")
        fmt = fmt or ("text" if nip is not None else "html")
        if fmt not in EXPLAIN_FORMATS:
            raise ValueError(f"--format must be one of {', '.join(EXPLAIN_FORMATS)}, "
                             f"not {identifiers.shown(fmt)}")
        if unit is not None and out is None:
            raise ValueError("--unit writes one file per employee: give --out DIR")
        if unit is not None and out is not None and out.exists() and not out.is_dir():
            raise ValueError(f"--out {out} is a file; --unit needs a folder")
        from tasks.explain.command import run_explain
        from tasks.warehouse import make_engine

        settings = load_settings()
        engine = make_engine(warehouse or settings.warehouse_url)
        try:
            result = run_explain(
                engine, agency, period_id, nip=nip, unit=unit, fmt=fmt, out=out,
                landing_root=landing or settings.agency_landing(agency),
                sql_sources=settings.agency(agency).sources,
                policy_candidates=[policy] if policy else [settings.agency_policy(agency)],
            )
        finally:
            engine.dispose()
    except Exception as error:
        _fail(error)
    if result.printed is not None:
        # The document itself, byte for byte: no wrapping, no markup, no highlighting.
        sys.stdout.write(result.printed)
        sys.stdout.flush()
    say = {"markup": False, "highlight": False, "soft_wrap": True}
    target = console if result.printed is None else errors
    for path in result.written:
        target.print(f"written: {path}", **say)
    failure = result.failure()
    if failure:
        _fail(RuntimeError(failure))


def main() -> None:
    # Government networks are closed: Prefect's telemetry would only log failures.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    try:
        load_settings()  # fail early on a broken kinerja.toml / kinerja.yaml
    except ConfigError as error:
        if "--debug" in sys.argv[1:]:
            raise
        errors.print(f"kinerja: error: {error}", markup=False, highlight=False, soft_wrap=True)
        raise SystemExit(1) from None
    app(prog_name="kinerja")


if __name__ == "__main__":
    sys.exit(main())
