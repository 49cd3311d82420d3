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

from kinerja import identifiers, interrupts, preflight
from kinerja.agencies import several
from kinerja.config import ConfigError, load_settings
from kinerja.memory import imported_for_good
from kinerja.redact import mask_secrets

if TYPE_CHECKING:
    from tasks.warehouse.change_log import RunChanges

app = typer.Typer(
    help="Semester appraisal pipeline for ASN: sources in, validated, scored, published.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,
)
# Nothing printed is markup: names, file names and reasons come from source files, and a
# "[/]" in an employee's name must print as itself, not style (or break) the output.
console = Console(markup=False, emoji=False)
errors = Console(stderr=True, markup=False, emoji=False)
# How a line of source text, a path or a name is printed: as itself (no highlighting of numbers
# or paths), and never wrapped, so a path can be copied whole.
SAY: dict[str, Any] = {"markup": False, "highlight": False, "soft_wrap": True}
_state = {"debug": False}

DEMO_AGENCY = "3374"
DEMO_AGENCY_NAME = "Kota Semarang"
DEMO_PERIODS = ("2025-S1", "2025-S2")
DEMO_EMPLOYEES = 2000
DEMO_SEED = 2026
DEMO_BAD_ROWS = 0.005

# The options several commands share, spelled once.
AgencyOption = Annotated[str, typer.Option(
    metavar="CODE", help="Agency code (BPS region code, e.g. 3374).")]
PeriodOption = Annotated[str, typer.Option(metavar="PERIOD", help="Period, YYYY-S1 or YYYY-S2.")]
# run and backfill take several agencies (kinerja/cli_agencies.py).
AgenciesOption = Annotated[str, typer.Option(
    "--agency", metavar="CODE[,CODE...]|all",
    help="Agency code (BPS region code, e.g. 3374); several separated by commas, or all (every "
         "agency of kinerja.toml, else every agency folder of the landing zone).")]
ExecutorOption = Annotated[str | None, typer.Option(
    metavar="local|dask", help="Where several agencies run: one after the other here (local), "
    "or in parallel on Dask (default: setting executor, KINERJA_EXECUTOR, else local).")]
DaskAddressOption = Annotated[str | None, typer.Option(
    metavar="ADDRESS", help="Dask scheduler to run on, e.g. tcp://10.0.0.5:8786 (default: "
    "setting dask_address, KINERJA_DASK_ADDRESS, else a LocalCluster sized to this machine).")]
LandingOption = Annotated[Path | None, typer.Option(metavar="DIR", help="Landing zone root.")]
WarehouseOption = Annotated[str | None, typer.Option(
    metavar="URL", help="Warehouse SQLAlchemy URL.")]
ReportsOption = Annotated[Path | None, typer.Option(metavar="DIR", help="Reports folder.")]
PolicyOption = Annotated[str | None, typer.Option(
    metavar="NAME_OR_PATH", help="Policy name or YAML path.")]
_ONE_AGENCY_DRY_RUN = ("--dry-run previews one agency at a time: run it per agency "
                       "(a preview is read at a terminal, not in a table of outcomes)")
DryRunOption = Annotated[bool, typer.Option(
    "--dry-run", is_flag=True, metavar="",
    help="Extract, validate and score, then show what publishing would quarantine and change "
         "against the current publication; publish nothing.")]
RetriesOption = Annotated[int | None, typer.Option(
    metavar="N", min=0, help="Retries of a transient fault per step (default: none at a "
    "terminal, 3 otherwise, or KINERJA_TASK_RETRIES).")]


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        console.print(f"kinerja {version('kinerja')}", markup=False, highlight=False)
        raise typer.Exit()


@app.callback()
def main_options(
    debug: Annotated[bool, typer.Option("--debug", is_flag=True, metavar="",
                                        help="Show tracebacks on failure.")] = False,
    show_version: Annotated[bool, typer.Option(
        "--version", is_flag=True, is_eager=True, callback=_print_version, metavar="",
        help="Print the version and exit.")] = False,
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


DEMO_CONFIG_MARK = "# Written by `kinerja demo`"


def _write_demo_config(out: Path, warehouse_url: str) -> Path:
    """The demo's kinerja.toml in its folder (never over a configuration it did not write)."""
    path = out / "kinerja.toml"
    if path.exists() and not path.read_text(encoding="utf-8").startswith(DEMO_CONFIG_MARK):
        raise ValueError(f"{path} exists and was not written by kinerja demo: choose another "
                         "--out, or move it away")
    path.write_text(
        f"{DEMO_CONFIG_MARK}: the configuration the demo ran with. Commands run in this\n"
        "# folder (kinerja backfill, check, changes, ...) use it. Paths are relative to it.\n"
        'landing = "landing"\n'
        f'warehouse_url = "{warehouse_url}"\n'
        'reports = "reports"\n'
        'work = ".kinerja/work"\n'
        "\n"
        f"[agencies.{DEMO_AGENCY}]\n"
        f'name = "{DEMO_AGENCY_NAME}"\n',
        encoding="utf-8")
    return path


@contextmanager
def _environment(**values: str) -> Iterator[None]:
    """Set environment variables for the duration of a call, then restore them."""
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _warehouse_url(warehouse: str | None) -> str:
    """The warehouse a command works on: --warehouse, else the settings' (KINERJA_WAREHOUSE_URL,
    kinerja.toml). Every command and flow resolves it this one way."""
    return warehouse or load_settings().warehouse_url


@contextmanager
def _warehouse_via_environment(warehouse: str | None) -> Iterator[None]:
    """Hand --warehouse to a flow, the one way every command does: through the environment the
    flow's settings read (a flow parameter is stored and shown by Prefect, and the URL may carry
    a password). Restored afterwards, for callers that run several commands in one process."""
    if not warehouse:
        yield
        return
    with _environment(KINERJA_WAREHOUSE_URL=warehouse):
        yield


def _preflight(agency: str, period: str, landing: Path | None, warehouse: str | None,
               policy: str | None) -> None:
    """What can be known wrong before Prefect starts (kinerja/preflight.py)."""
    settings = load_settings()
    preflight.check_landing(landing or settings.agency_landing(agency), agency, period,
                            settings.agency(agency).sources)
    preflight.check_policy(policy or settings.agency_policy(agency))
    preflight.check_warehouse(_warehouse_url(warehouse))


def task_retries(retries: int | None, interactive: bool) -> str | None:
    """KINERJA_TASK_RETRIES for this command: --retries when given; none at a terminal, where a
    person wants the answer now (a refused connection fails at once); otherwise what the
    environment says (scheduled and deployed runs keep their retries through a restart)."""
    if retries is not None:
        return str(retries)
    if interactive and "KINERJA_TASK_RETRIES" not in os.environ:
        return "0"
    return None


def _set_task_retries(retries: int | None) -> None:
    # Read when the flows' tasks are defined, that is when flows/ is first imported: set before.
    value = task_retries(retries, sys.stdin.isatty())
    if value is not None:
        os.environ["KINERJA_TASK_RETRIES"] = value


def _fail(error: BaseException) -> None:
    if _state["debug"]:
        raise error
    message = mask_secrets(" ".join(str(error).split())) or type(error).__name__
    # soft_wrap: the reason stays one line however narrow the terminal (or a pipe's 80).
    errors.print(f"kinerja: error: {message}", **SAY)
    raise typer.Exit(1)


def _print_summary(summary: dict[str, Any]) -> None:
    _print_rows_and_predikat(summary)
    if summary.get("changes"):
        console.print(f"changes: {summary['changes']['description']}", **SAY)
    console.print(f"report: {_shown_path(summary['report'])}", **SAY)
    _print_outputs(summary)


def _print_rows_and_predikat(summary: dict[str, Any]) -> None:
    run = "dry run" if summary.get("dry_run") else f"run {summary['run_id']}"
    table = Table(title=f"{summary['agency_name']} ({summary['agency_code']}) "
                        f"{summary['period_id']} — {run}")
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


def _print_dry_run(summary: dict[str, Any]) -> None:
    """What a dry run found: rows, quarantine, the change summary and its first rows. Exits 1
    when the real run would fail (a quarantine over the limit)."""
    _print_rows_and_predikat(summary)
    _print_preview(summary["agency_code"], summary["period_id"], summary["changes"],
                   summary["first_changes"], summary["quarantine"])
    console.print("dry run: nothing was published; the warehouse and the reports are as they "
                  "were", **SAY)
    if summary.get("would_fail"):
        _fail(RuntimeError(f"a real run would fail: {summary['would_fail']}"))


def _print_preview(agency: str, period_id: str, changes: dict[str, Any],
                   first_changes: list[dict[str, Any]], quarantine: dict[str, Any]) -> None:
    from schemas.parsing import printable
    from tasks.warehouse.change_labels import field_label, value_label

    if quarantine["rows"]:
        console.print(f"{period_id}: would quarantine {quarantine['rows']} row(s):", **SAY)
        for r in quarantine["reasons"][:10]:
            console.print(f"  {r['rows']:>6}  {r['dataset']}: {printable(r['reason'])}", **SAY)
        for r in quarantine["first_rows"]:
            console.print(f"  {printable(r['record_ref'])}: {printable(r['reasons'])}", **SAY)
    else:
        console.print(f"{period_id}: would quarantine no row", **SAY)
    console.print(f"changes: {changes['description']}", **SAY)
    if first_changes:
        table = Table(title=f"first changes against run {changes['replaced_run_id']}")
        for column in ("nip", "nama", "unit", "kolom", "lama", "baru", "kode"):
            table.add_column(column, no_wrap=column == "nip", overflow="fold")
        for r in first_changes:
            unit = r["unit_name"] if r["unit_name"] is not None else r["unit_code"]
            table.add_row(*map(_cell, (r["nip"], r["name"], unit, field_label(r["field"]),
                                       value_label(r["field"], r["old_value"]),
                                       value_label(r["field"], r["new_value"]))),
                          f"{r['field']}: {_cell(r['old_value'])} -> {_cell(r['new_value'])}")
        _print_table(table)
        if changes["change_rows"] > len(first_changes):
            console.print(f"... {changes['change_rows'] - len(first_changes)} more change "
                          "row(s) (run it, then: kinerja changes --agency "
                          f"{agency} --period {period_id} --limit 0)", **SAY)


def _shown_path(path: str | Path) -> str:
    """Every path a command prints is absolute: it can be copied from any folder."""
    return str(Path(path).resolve())


def _print_outputs(outputs: dict[str, Any]) -> None:
    if "workbook" in outputs:
        console.print(f"workbook: {_shown_path(outputs['workbook'])}", **SAY)
    if "data_docs" in outputs:
        console.print(f"data docs: {_shown_path(outputs['data_docs'])}", **SAY)
    if "quality_status" in outputs:
        console.print(f"data quality: {outputs['quality_status']} ({outputs['quality_failed']} of "
                      f"{outputs['quality_evaluated']} expectations failed)", **SAY)


@app.command()
def run(
    agency: AgenciesOption,
    period: PeriodOption,
    landing: LandingOption = None,
    warehouse: WarehouseOption = None,
    reports: ReportsOption = None,
    policy: PolicyOption = None,
    retries: RetriesOption = None,
    dry_run: DryRunOption = False,
    executor: ExecutorOption = None,
    dask_address: DaskAddressOption = None,
) -> None:
    """One semester run for one agency: extract, validate, score, publish, report. With several
    agencies, one such run each (in parallel with --executor dask), then a table of every
    agency's outcome; exits 1 when any failed."""
    if several(agency) and dry_run:
        _fail(ValueError(_ONE_AGENCY_DRY_RUN))
    if several(agency):
        from kinerja.cli_agencies import run_many

        run_many(agency, period, landing, warehouse, reports, policy, retries, executor,
                 dask_address)
        return
    try:
        agency, period = identifiers.agency_code(agency), identifiers.period_id(period)
        _preflight(agency, period, landing, warehouse, policy)
        interrupts.start_server_early()  # its start overlaps the imports below
        _quiet_tracebacks()
        _set_task_retries(retries)
        with imported_for_good():  # out of the garbage collector's walks (kinerja/memory.py)
            from flows.semester import semester_appraisal

        with _warehouse_via_environment(warehouse), interrupts.guard():
            summary = semester_appraisal(
                agency_code=agency, period_id=period,
                landing=str(landing) if landing else None, warehouse_url=None,
                reports=str(reports) if reports else None, policy=policy, kind="manual",
                dry_run=dry_run,
            )
    except Exception as error:  # one line on failure; --debug shows the traceback
        _fail(error)
    if dry_run:
        _print_dry_run(summary)
        return
    _print_summary(summary)
    console.print(f"warehouse: {summary['warehouse']}")


@app.command()
def check(
    agency: AgencyOption,
    period: PeriodOption,
    warehouse: WarehouseOption = None,
    reports: ReportsOption = None,
    policy: Annotated[str | None, typer.Option(metavar="NAME_OR_PATH",
        help="Policy name or YAML path (default: the policy named on the run).")] = None,
) -> None:
    """Run the data-quality suite on the published tables of one agency-period: record its
    result on the run that published them, write its Data Docs and refresh the report and
    workbook. Exits 1 when an expectation failed."""
    try:
        agency, period_id = identifiers.agency_code(agency), identifiers.period_id(period)
        from tasks import steps

        settings = load_settings()
        url, reports_dir = _warehouse_url(warehouse), str(reports or settings.reports)
        # The flow's own tail: the quality step, then the reports (tasks/steps.py).
        steps.prepare_warehouse.fn(url)  # the quality columns of an older warehouse
        result = steps.quality_check(url, agency, period_id, reports_dir, policy)
        # The rater calibration needs ratings.csv, which the warehouse does not hold.
        outputs = steps.publication_reports(
            url, agency, period_id, reports_dir,
            policy_candidates=(policy or settings.agency_policy(agency),))
    except Exception as error:
        _fail(error)
    console.print(f"{agency} {period_id}: run {result['run_id']}", markup=False, highlight=False)
    console.print(f"report: {_shown_path(outputs['report'])}", **SAY)
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
    agency: AgencyOption,
    employees: Annotated[int, typer.Option(metavar="N", help="Number of employees.", min=1)],
    periods: Annotated[str, typer.Option(
        metavar="P1,P2", help="Comma-separated periods, e.g. 2025-S1,2025-S2.")],
    out: Annotated[Path, typer.Option(metavar="DIR", help="Landing zone root to write into.")],
    seed: Annotated[int, typer.Option(metavar="S", help="Random seed: same seed, same bytes.")] = 0,
    bad_rows: Annotated[float, typer.Option(metavar="RATE", help="Share of rows to break (0..0.2).",
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
    out: Annotated[Path, typer.Option(
        metavar="DIR", help="Folder for landing data, warehouse and reports.")]
    = Path("."),
) -> None:
    """Generate a demo agency (Kota Semarang, ~2,000 employees, two semesters with a few bad
    rows), run both semesters into a SQLite warehouse and write the reports."""
    interrupts.start_server_early()  # its start overlaps the imports below and the generation
    _quiet_tracebacks()
    from flows.semester import semester_appraisal
    from kinerja.synthetic import generate_landing

    out = out.resolve()
    landing, reports = out / "landing", out / "reports"
    warehouse_url = f"sqlite:///{out / 'warehouse.db'}"
    try:
        out.mkdir(parents=True, exist_ok=True)
        config = _write_demo_config(out, warehouse_url)
        console.print(f"generating {DEMO_EMPLOYEES} employees of {DEMO_AGENCY_NAME} for "
                      f"{', '.join(DEMO_PERIODS)} into {landing}")
        generate_landing(landing, DEMO_AGENCY, DEMO_EMPLOYEES, list(DEMO_PERIODS),
                         seed=DEMO_SEED, bad_rows=DEMO_BAD_ROWS)
        # The demo runs as a user of its folder would: with the configuration it wrote there
        # (the agency's name, the work folder), so later commands in that folder agree with it.
        with _environment(KINERJA_CONFIG=str(config)), \
                _warehouse_via_environment(warehouse_url), interrupts.guard():
            summaries = [
                semester_appraisal(agency_code=DEMO_AGENCY, period_id=p, landing=str(landing),
                                   reports=str(reports), kind="manual")
                for p in DEMO_PERIODS
            ]
    except Exception as error:
        _fail(error)
    for summary in summaries:
        _print_summary(summary)
    console.print(f"landing zone: {landing}")
    console.print(f"warehouse:    {out / 'warehouse.db'}")
    console.print(f"reports:      {reports}")
    console.print(f"configuration: {out / 'kinerja.toml'}")
    # Paths stay whole on one line each, whatever the terminal's width, for copying.
    for summary in summaries:
        period_id = summary["period_id"]
        console.print(f"  {period_id} report (HTML):    {summary['report']}", **SAY)
        console.print(f"  {period_id} workbook (XLSX):  {summary['workbook']}", **SAY)
        console.print(f"  {period_id} data docs ({summary['quality_status']}): "
                      f"{summary['data_docs']}", **SAY)


@app.command()
def backfill(
    agency: AgenciesOption,
    from_period: Annotated[str, typer.Option("--from", metavar="PERIOD",
                                             help="First period to re-run.")],
    to_period: Annotated[str | None, typer.Option(
        "--to", metavar="PERIOD",
        help="Last period (default: the agency's latest published period).")] = None,
    landing: LandingOption = None,
    warehouse: WarehouseOption = None,
    reports: ReportsOption = None,
    policy: PolicyOption = None,
    retries: RetriesOption = None,
    dry_run: DryRunOption = False,
    executor: ExecutorOption = None,
    dask_address: DaskAddressOption = None,
) -> None:
    """Re-run every period from --from to --to in order (later periods read earlier ones, so a
    correction flows forward) and print what changed. Stops at the first failed period. With
    several agencies, one backfill each (in parallel with --executor dask), then a table of
    every agency's outcome; exits 1 when any failed."""
    if several(agency) and dry_run:
        _fail(ValueError(_ONE_AGENCY_DRY_RUN))
    if several(agency):
        from kinerja.cli_agencies import backfill_many

        backfill_many(agency, from_period, to_period, landing, warehouse, reports, policy,
                      retries, executor, dask_address)
        return
    try:
        agency = identifiers.agency_code(agency)
        from_period = identifiers.period_id(from_period)
        to_period = identifiers.period_id(to_period) if to_period is not None else None
        _preflight(agency, from_period, landing, warehouse, policy)
    except ValueError as error:
        _fail(error)
    interrupts.start_server_early()  # its start overlaps the imports below
    _quiet_tracebacks()
    _set_task_retries(retries)
    from flows.backfill import BackfillFailed
    from flows.backfill import backfill as backfill_flow

    try:
        with _warehouse_via_environment(warehouse), interrupts.guard():
            result = backfill_flow(
                agency_code=agency, from_period=from_period, to_period=to_period,
                landing=str(landing) if landing else None, warehouse_url=None,
                reports=str(reports) if reports else None, policy=policy, dry_run=dry_run,
            )
    except BackfillFailed as error:
        if error.completed:
            _print_backfill(agency, error.completed)
        _fail(error)
    except Exception as error:
        _fail(error)
    _print_backfill(agency, result["runs"])
    if dry_run:
        for r in result["runs"]:
            _print_preview(agency, r["period_id"], r, r["first_changes"], r["quarantine"])
        console.print("dry run: nothing was published; the warehouse and the reports are as "
                      "they were", **SAY)
        failing = [f"{r['period_id']}: {r['would_fail']}" for r in result["runs"]
                   if r.get("would_fail")]
        if failing:
            _fail(RuntimeError(f"a real backfill would fail: {'; '.join(failing)}"))


def _files_text(files: list[dict[str, str]]) -> str:
    counts = {kind: sum(f["change"] == kind for f in files)
              for kind in ("changed", "added", "removed")}
    return ", ".join(f"{n} {kind}" for kind, n in counts.items() if n) or "none"


def _print_backfill(agency: str, runs: list[dict[str, Any]], shown: int = 20) -> None:
    dry = bool(runs) and bool(runs[0].get("dry_run"))
    table = Table(title=f"{'dry run of the ' if dry else ''}backfill of {agency}: what "
                        f"{'would change' if dry else 'changed'} per period")
    for column in ("period", "run", "replaced run", "changes", "employees", "predikat changed",
                   "files changed"):
        table.add_column(column, justify="right" if column in ("changes", "employees",
                                                             "predikat changed") else "left")
    for r in runs:
        table.add_row(r["period_id"], r["run_id"] or "(dry run)", r["replaced_run_id"] or "(first)",
                      str(r["change_rows"]), str(r["employees_changed"]),
                      str(len(r["predikat_changed"])), _files_text(r["files_changed"]))
    _print_table(table)
    for r in runs:
        changed = r["predikat_changed"]
        for c in changed[:shown]:
            console.print(f"{r['period_id']} predikat {c['nip']}: {c['old'] or 'NULL'} -> "
                          f"{c['new'] or 'NULL'}", **SAY)
        if len(changed) > shown:
            console.print(f"{r['period_id']}: {len(changed) - shown} more predikat change(s) "
                          f"(kinerja changes --agency {agency} --period {r['period_id']})",
                          **SAY)


@app.command()
def changes(
    agency: AgencyOption,
    period: PeriodOption,
    run: Annotated[str | None, typer.Option(metavar="RUN_ID",
        help="Run id (default: the run of the current publication).")] = None,
    warehouse: WarehouseOption = None,
    limit: Annotated[int, typer.Option(metavar="N", help="Rows of the change log to show (0: all).",
                                       min=0)] = 200,
) -> None:
    """Print the change log of a run against the publication it replaced: every changed value
    with the employee's name and unit, the predikat changes and the files that differ."""
    try:
        agency, period_id = identifiers.agency_code(agency), identifiers.period_id(period)
        from tasks.warehouse.change_log import run_changes
        from tasks.warehouse.database import connected
        from tasks.warehouse.run_ledger import current_run_id

        with connected(_warehouse_url(warehouse)) as engine:
            run_id = run or current_run_id(engine, agency, period_id)
            if run_id is None:
                raise ValueError(f"{agency} {period_id} has no published run")
            found = run_changes(engine, run_id)
        if (found.run["agency_code"], found.run["period_id"]) != (agency, period_id):
            raise ValueError(f"run {run_id} is for {found.run['agency_code']} "
                             f"{found.run['period_id']}, not {agency} {period_id}")
    except Exception as error:
        _fail(error)
    _print_changes(found, limit)


@app.command()
def status(
    agency: Annotated[str | None, typer.Option(
        metavar="CODE", help="Only this agency (default: every agency).")] = None,
    period: Annotated[str | None, typer.Option(
        metavar="PERIOD", help="Only this period (default: every period).")] = None,
    warehouse: WarehouseOption = None,
) -> None:
    """List the runs per agency and period: kind, times (WIB), status, data quality, rows read,
    accepted and quarantined, and which run is the current publication and which superseded
    a replaced one."""
    try:
        agency = identifiers.agency_code(agency) if agency is not None else None
        period = identifiers.period_id(period) if period is not None else None
        from tasks.warehouse.database import connected, ensure_schema
        from tasks.warehouse.run_ledger import run_history

        with connected(_warehouse_url(warehouse)) as engine:
            ensure_schema(engine)  # v_run on a warehouse from before it existed
            runs = run_history(engine, agency, period)
    except Exception as error:
        _fail(error)
    if runs.empty:
        console.print("no run recorded" + (f" for {agency}" if agency else "")
                      + (f" {period}" if period else ""), **SAY)
        return
    table = Table(title="runs (times in WIB)")
    for column in ("agency", "period", "run", "kind", "started", "finished", "status", "quality",
                   "read", "accepted", "quarantined", "publication"):
        table.add_column(column, justify="right" if column in ("read", "accepted", "quarantined")
                         else "left", overflow="fold")
    for r in runs.itertuples(index=False):
        if r.is_current:
            publication = "current"
        elif isinstance(r.superseded_by_run_id, str):
            publication = f"superseded by {r.superseded_by_run_id}"
        elif r.status == "failed":
            publication = f"none: {_cell(r.message)[:80]}"
        else:
            publication = ""
        table.add_row(r.agency_code, r.period_id, r.run_id, r.kind, _wib(r.started_at),
                      _wib(r.finished_at), r.status,
                      r.quality_status if isinstance(r.quality_status, str) else "-",
                      *(_count(v) for v in (r.rows_read, r.rows_accepted, r.rows_quarantined)),
                      publication)
    _print_table(table)


@app.command()
def doctor() -> None:
    """Check the configuration, the landing zone (agencies and periods found), the warehouse
    and its migrations, the policies, the Prefect API and the SQL sources: each OK or the
    one-line reason. Writes nothing. Exits 1 when a check failed."""
    from kinerja.doctor import diagnose

    findings = diagnose()
    table = Table(title="kinerja doctor")
    for column in ("check", "", "detail"):
        table.add_column(column, overflow="fold")
    for f in findings:
        table.add_row(f.check, "OK" if f.ok else "FAIL", f.detail,
                      style=None if f.ok else "bold")
    _print_table(table)
    if not all(f.ok for f in findings):
        raise typer.Exit(1)


def _wib(value: Any) -> str:
    """A warehouse timestamp (UTC, naive) as Western Indonesian Time."""
    import pandas as pd

    if value is None or pd.isna(value):
        return "-"
    return pd.Timestamp(value).tz_localize("UTC").tz_convert("Asia/Jakarta").strftime(
        "%Y-%m-%d %H:%M:%S")


def _count(value: Any) -> str:
    import pandas as pd

    return "-" if value is None or pd.isna(value) else str(int(value))


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
    Console(width=max(console.width, natural), markup=False, emoji=False).print(table)


def _print_changes(found: RunChanges, limit: int) -> None:
    run, replaced = found.run, found.replaced_run_id
    when = run["finished_at"].strftime("%Y-%m-%d %H:%M:%S") if run["finished_at"] else "-"
    console.print(f"{run['agency_code']} {run['period_id']}: run {run['run_id']} "
                  f"({run['kind']}, {run['status']} {when} UTC)", **SAY)
    if run["status"] != "published":
        console.print(f"this run did not publish: {run['message'] or run['status']}", **SAY)
    if replaced is None:
        console.print("first publication of this agency-period: nothing replaced, no change "
                      "log", **SAY)
        return
    log = found.log
    if run["status"] == "published":
        from tasks.warehouse.change_labels import field_label, value_label

        table = Table(title=f"changes against run {replaced}")
        # What HR reads first; the stored codes last, for data engineers.
        for column in ("nip", "nama", "unit", "kolom", "lama", "baru", "kode"):
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
            old, new = (None if _cell(v) == "NULL" else v for v in (r.old_value, r.new_value))
            table.add_row(*map(_cell, (*who, field_label(r.field), value_label(r.field, old),
                                       value_label(r.field, new))),
                          f"{r.field}: {_cell(r.old_value)} -> {_cell(r.new_value)}",
                          end_section=last)
        if log.empty:
            console.print(f"no value differs from run {replaced}", **SAY)
        else:
            _print_table(table)
        if len(rows) < len(log):
            console.print(f"... {len(log) - len(rows)} more row(s) (--limit 0 shows all)",
                          **SAY)
        predikat = found.predikat
        console.print(f"{found.change_rows} change(s) for {found.employees_changed} "
                      f"employee(s); predikat changed for {len(predikat)}; appeared "
                      f"{len(found.appeared)}, disappeared {len(found.disappeared)}", **SAY)
        for r in predikat.itertuples(index=False):
            old, new = (None if _cell(v) == "NULL" else v for v in (r.old_value, r.new_value))
            console.print(f"  predikat {r.nip} {_cell(r.name)}: "
                          f"{_cell(value_label('predikat', old))} -> "
                          f"{_cell(value_label('predikat', new))}", **SAY)
    if found.files.empty:
        console.print(f"files: the same as run {replaced} (none added, removed or changed)",
                      **SAY)
    else:
        console.print(f"files against run {replaced}:", **SAY)
        for f in found.files.itertuples(index=False):
            console.print(f"  {f.change:<8} {f.dataset}: {f.path}", **SAY)


notify_app = typer.Typer(
    help="Notifications of failed scheduled runs: Prefect automations calling a webhook.",
    no_args_is_help=True,
)
app.add_typer(notify_app, name="notify")


@notify_app.command("setup")
def notify_setup(
    url_env: Annotated[str, typer.Option(
        help="Environment variable holding the webhook URL of the chat or e-mail gateway.")
    ] = "KINERJA_NOTIFY_URL",
    payload: Annotated[Path | None, typer.Option(
        help="Jinja template of the request body, in the gateway's format (default: JSON "
             "with subject, text, agency, period, kind, reason).")] = None,
) -> None:
    """Once per Prefect server (PREFECT_API_URL): save the webhook block `kinerja-notify` from
    the URL in --url-env and create or replace the automations `kinerja-run-failed` and
    `kinerja-quality-failed` (README "Scheduled runs")."""
    try:
        from flows.notify import setup_notifications

        done = setup_notifications(url_env, payload)
    except Exception as error:
        _fail(error)
    console.print(f"webhook block kinerja-notify -> {done.host} (URL kept secret in Prefect)",
                  **SAY)
    for name, automation_id in done.automations.items():
        console.print(f"automation {name}: {automation_id}", **SAY)


EXPLAIN_FORMATS = ("text", "json", "html")


@app.command()
def explain(
    agency: AgencyOption,
    period: PeriodOption,
    nip: Annotated[str | None, typer.Option(
        metavar="NIP", help="The employee's 18-digit NIP.")] = None,
    unit: Annotated[str | None, typer.Option(
        metavar="UNIT_CODE",
        help="A unit code: one slip per employee of the unit, written into --out DIR.")] = None,
    fmt: Annotated[str | None, typer.Option(
        "--format", metavar="FORMAT",
        help="text, json or html (default: text with --nip, html with --unit).")]
    = None,
    out: Annotated[Path | None, typer.Option(
        metavar="PATH",
        help="File to write (--nip; default: print), or folder (--unit, required).")] = None,
    landing: LandingOption = None,
    warehouse: WarehouseOption = None,
    policy: Annotated[str | None, typer.Option(
        metavar="NAME_OR_PATH",
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
        from tasks.warehouse.database import connected

        settings = load_settings()
        with connected(_warehouse_url(warehouse)) as engine:
            result = run_explain(
                engine, agency, period_id, nip=nip, unit=unit, fmt=fmt, out=out,
                landing_root=landing or settings.agency_landing(agency),
                sql_sources=settings.agency(agency).sources,
                policy_candidates=[policy] if policy else [settings.agency_policy(agency)],
            )
    except Exception as error:
        _fail(error)
    if result.printed is not None:
        # The document itself, byte for byte: no wrapping, no markup, no highlighting.
        sys.stdout.write(result.printed)
        sys.stdout.flush()
    target = console if result.printed is None else errors
    for path in result.written:
        target.print(f"written: {path}", **SAY)
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
        errors.print(f"kinerja: error: {error}", **SAY)
        raise SystemExit(1) from None
    app(prog_name="kinerja")


if __name__ == "__main__":
    sys.exit(main())
