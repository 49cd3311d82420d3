"""The semester reports for HR (interface.md "Reports"), in the shape of the organisation.

Per agency and period, in the reports folder:

    <agency>_<period>/index.html          the agency report: headline figures, the distribution
                                           per OPD, checks, follow-up counts, data quality,
                                           lineage; its size does not grow with the employees
    <agency>_<period>/opd/<unit>.html      one page per top-level unit (OPD): its sub-units
                                           nested, its people, its follow-up lists in full
    <agency>_<period>/opd/<unit>.xlsx      the OPD's own workbook (tasks/reporting/workbook.py)
    <agency>_<period>/mutu-data.html       data quality: every quarantine reason, every
                                           expectation of the suite, the source files
    <agency>_<period>_laporan.html         the index again, for users of the one-page report
    <agency>_<period>_hasil.xlsx           the agency's workbook

Built from the published warehouse tables (never from the run's staging files), so a report
written by `kinerja check` long after the run shows exactly what HR can query. Pages carry their
own CSS and inline SVG and no script: they open offline in any browser and print on A4. Values
are rounded for display only; the warehouse keeps them unrounded.

The pages are assembled from sections (`report_sections.py`): adding a section to the agency
 or the OPD pages is one function there and one template in `templates/sections/`.
`load_report_data` is shared with the workbook.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import pickle
import re
import secrets
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import jinja2
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from kinerja import identifiers
from kinerja.claims import Claims
from kinerja.period import Period
from tasks.reporting.report_rows import RowWriter
from tasks.warehouse import database as warehouse
from tasks.warehouse.run_ledger import current_run

if TYPE_CHECKING:
    from tasks.explain.calibration import Calibration

# Labels and formats live in report_text; they stay importable from here (change_labels,
# workbook and older callers import them from tasks.reporting.report).
from tasks.reporting.report_text import (  # noqa: F401
    ASPECT_LABELS,
    DATASET_LABELS,
    MONTHS,
    ORG_PREDIKAT_COLORS,
    ORG_PREDIKAT_LABELS,
    POSITION_TYPE_LABELS,
    PREDIKAT_COLORS,
    PREDIKAT_LABELS,
    PREDIKAT_ORDER,
    QUALITY_LABELS,
    RATING_LABELS,
    RUN_KIND_LABELS,
    RUN_STATUS_LABELS,
    SANCTION_LABELS,
    SANCTION_LEVELS,
    STATUS_LABELS,
    TABLE_LABELS,
    aspect_labels,
    format_date,
    format_int,
    format_number,
    format_pct,
    format_rupiah,
    format_share,
    format_share_short,
    format_timestamp,
    label,
    missing,
    period_title,
    predikat_set_label,
    reasons_sentence,
)

log = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).parent / "templates"
INDEX_NAME = "index.html"
QUALITY_NAME = "mutu-data.html"
OPD_FOLDER = "opd"

# Kept for callers of the one-page report's helpers.
_missing = missing


def output_stem(agency_code: str, period_id: str) -> str:
    """`<agency>_<period>`, the stem of every output file and folder, from checked codes only:
    nothing derived from it can name a place outside the reports folder."""
    return f"{identifiers.agency_code(agency_code)}_{identifiers.period_id(period_id)}"


def report_path(reports_dir: str | Path, agency_code: str, period_id: str) -> Path:
    """`<reports>/<agency>_<period>_laporan.html`: the agency report where users of the
    one-page report look for it (a copy of the folder's index, linking into the folder)."""
    return Path(reports_dir) / f"{output_stem(agency_code, period_id)}_laporan.html"


def report_folder(reports_dir: str | Path, agency_code: str, period_id: str) -> Path:
    """`<reports>/<agency>_<period>/`: the agency report's pages."""
    return Path(reports_dir) / output_stem(agency_code, period_id)


def opd_file(unit_code: str) -> str:
    """The file stem of an OPD's page and workbook. Unit codes come from source data: only
    `identifiers.file_component` may turn one into a file name."""
    return identifiers.file_component(str(unit_code))


# Data ------------------------------------------------------------------------------------------


@dataclass
class ReportData:
    """Everything the reports and the workbooks show of one agency-period's publication."""

    agency_code: str
    agency_name: str
    period: Period
    run: dict[str, Any]
    quality: dict[str, Any] | None
    employees: pd.DataFrame  # fact_appraisal + followup + attendance + names, one row per nip
    units: pd.DataFrame  # fact_unit_performance + names + predikat counts + breaches + tree
    distribution: pd.DataFrame  # fact_predikat_distribution + unit_name
    checks: pd.DataFrame  # fact_distribution_check + unit_name
    quarantine: pd.DataFrame  # the publishing run's quarantine rows
    source_files: pd.DataFrame  # the publishing run's source_file rows
    generated_at: datetime
    # unit_code, unit_name, parent_unit_code, opd_code, depth, order: every unit shown, with the
    # top-level unit (OPD) it belongs to and its place in the OPD's tree.
    organisation: pd.DataFrame = field(default_factory=pd.DataFrame)
    # Rater calibration (issue 12): from the run's ratings, which the warehouse does not hold;
    # None when the caller could not give it.
    calibration: Calibration | None = None

    @property
    def title(self) -> str:
        return f"Laporan Penilaian Kinerja ASN {self.agency_name} {self.period.id}"

    @property
    def opds(self) -> pd.DataFrame:
        """The top-level units, in name order: unit_code, unit_name."""
        org = self.organisation
        return org[org["depth"] == 0].sort_values("order")[["unit_code", "unit_name"]]


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction that sees one state of the warehouse throughout.

    A report (or check) reads a dozen tables; a publication committing between two of the reads
    must not give a mix of two versions. SQLite's WAL transactions are snapshots already;
    PostgreSQL's default READ COMMITTED is not, so it reads at REPEATABLE READ.
    """
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn


def publishing_run(conn: Connection, agency_code: str, period_id: str) -> dict[str, Any]:
    """The pipeline_run row of the agency-period's current publication
    (`run_ledger.current_run`). Raises ValueError when nothing is published."""
    run = current_run(conn, agency_code, period_id)
    if run is None:
        raise ValueError(f"nothing is published for agency {agency_code} {period_id}")
    return run


def employees_of(conn: Connection, agency_code: str, period_id: str) -> pd.DataFrame:
    """dim_employee rows of the employees in the agency-period's fact_appraisal.

    A NIP is national, so the row may carry another agency's code (an employee who moved on);
    reading by the facts' NIPs, not by agency, finds it without scanning the nation.
    """
    appraisal = warehouse.reflect_table(conn, "fact_appraisal")
    nips = sa.select(appraisal.c.nip).where(appraisal.c.agency_code == agency_code,
                                            appraisal.c.period_id == period_id)
    return warehouse.select_rows(conn, "dim_employee",
                                 lambda t: t.c.nip.in_(nips.scalar_subquery()))


def build_organisation(dim_unit: pd.DataFrame, codes: list[str]) -> pd.DataFrame:
    """The tree of the units `codes` (and their ancestors): for each, its top-level unit (OPD),
    its depth below it and its place in a depth-first walk by name.

    A unit is top-level when it has no parent_unit_code, or its parent is no unit of the agency
    (validation quarantined it), or following parents comes back to it (a cycle in the source):
    every unit lands under exactly one OPD whatever the source holds.
    """
    def text(value: Any) -> str | None:
        return None if missing(value) or str(value).strip() == "" else str(value)

    parents = {str(c): text(p) for c, p in zip(dim_unit["unit_code"],
                                                dim_unit["parent_unit_code"], strict=True)}
    names = {str(c): str(n) for c, n in zip(dim_unit["unit_code"], dim_unit["unit_name"],
                                            strict=True)}
    chains: dict[str, list[str]] = {}

    def chain(code: str) -> list[str]:
        """[code, parent, ..., top-level unit]."""
        if code in chains:
            return chains[code]
        path, seen = [code], {code}
        while True:
            parent = parents.get(path[-1])
            if parent is None or parent not in parents or parent in seen:
                break
            if parent in chains:
                path += chains[parent]
                break
            path.append(parent)
            seen.add(parent)
        chains[code] = path
        return path

    wanted: set[str] = set()
    for code in dict.fromkeys(str(c) for c in codes):
        wanted.update(chain(code))
    rows = []
    for code in wanted:
        path = chain(code)
        rows.append({
            "unit_code": code,
            "unit_name": names.get(code, code),
            "parent_unit_code": path[1] if len(path) > 1 else None,
            "opd_code": path[-1],
            "depth": len(path) - 1,
            # Depth-first by name from the top: the tree as HR reads it.
            "walk": tuple((names.get(c, c).casefold(), c) for c in reversed(path)),
        })
    rows.sort(key=lambda row: row["walk"])
    frame = pd.DataFrame(rows, columns=["unit_code", "unit_name", "parent_unit_code",
                                        "opd_code", "depth", "walk"])
    frame["order"] = range(len(frame))
    return frame.drop(columns="walk")


def read_publication(engine: Engine, agency_code: str, period_id: str) -> dict[str, Any]:
    """The tables of one agency-period's current publication, read in one snapshot."""
    period = Period.parse(period_id)
    with snapshot(engine) as conn:
        run = publishing_run(conn, agency_code, period.id)
        return {"agency_code": agency_code, "period": period, "run": run,
                **dict(_publication_tables(conn, agency_code, period, run))}


def _publication_tables(conn: Connection, agency_code: str, period: Period,
                        run: dict[str, Any]) -> Iterator[tuple[str, pd.DataFrame]]:
    """`read_publication`'s tables, one at a time."""
    def facts(table: str) -> pd.DataFrame:
        return warehouse.select_rows(conn, table, agency_code=agency_code,
                                     period_id=period.id).drop(columns="run_id")

    yield "agency", warehouse.select_rows(conn, "dim_agency", agency_code=agency_code)
    yield "dim_unit", warehouse.select_rows(conn, "dim_unit", agency_code=agency_code)
    yield "appraisal", facts("fact_appraisal")
    yield "followup", facts("fact_followup").drop(columns=["agency_code", "period_id"])
    yield "attendance", facts("fact_attendance").drop(
        columns=["agency_code", "period_id", "unit_code", "discipline_score"])
    yield "people", employees_of(conn, agency_code, period.id)[
        ["nip", "name", "employee_type", "position_type", "position_name", "grade"]]
    yield "units", facts("fact_unit_performance")
    yield "distribution", facts("fact_predikat_distribution")
    yield "checks", facts("fact_distribution_check")
    yield "quarantine", warehouse.select_rows(conn, "quarantine", run_id=run["run_id"])
    yield "source_files", warehouse.select_rows(conn, "source_file", run_id=run["run_id"])


def write_publication_ahead(engine: Engine, agency_code: str, period_id: str, path: Path,
                            calibration: Calibration | None = None) -> None:
    """The publication's tables as `read_publication` reads them, and the rater calibration,
    into `path` (the run's work folder), one table at a time, so that the run reads them while
    its quality check runs elsewhere without holding them all (tasks/steps.py). The run row is
    left out: the check records its verdict there, so the report reads it afterwards
    (`load_publication_ahead`)."""
    period = Period.parse(period_id)
    partial = path.with_name(path.name + ".partial")
    with snapshot(engine) as conn, partial.open("wb") as file:
        run = publishing_run(conn, agency_code, period.id)
        pickle.dump({"agency_code": agency_code, "period_id": period.id,
                     "run_id": run["run_id"]}, file, protocol=pickle.HIGHEST_PROTOCOL)
        for table in _publication_tables(conn, agency_code, period, run):
            pickle.dump(table, file, protocol=pickle.HIGHEST_PROTOCOL)
            del table
        pickle.dump(("calibration", calibration), file, protocol=pickle.HIGHEST_PROTOCOL)
    partial.replace(path)


def load_publication_ahead(engine: Engine, agency_code: str, period_id: str,
                           path: Path) -> tuple[ReportData, Calibration | None] | None:
    """The report's data and calibration from `write_publication_ahead`'s file, with the run
    row read now; None when the file is not of the agency-period's current publication."""
    period = Period.parse(period_id)
    with snapshot(engine) as conn:
        run = publishing_run(conn, agency_code, period.id)
    tables: dict[str, Any] = {}
    try:
        with path.open("rb") as file:
            # Written by this run's own check step into its own work folder.
            header = pickle.load(file)  # noqa: S301
            if header != {"agency_code": agency_code, "period_id": period.id,
                          "run_id": run["run_id"]}:
                return None
            while True:
                name, value = pickle.load(file)  # noqa: S301
                if name == "calibration":
                    break
                tables[name] = value
    except (EOFError, pickle.UnpicklingError, ValueError, TypeError):
        return None  # cut short (a full disk, say): the report reads the warehouse itself
    data = assemble_report_data(agency_code=agency_code, period=period, run=run, **tables)
    return data, value


def load_report_data(engine: Engine, agency_code: str, period_id: str) -> ReportData:
    """Read one agency-period's current publication, joined to names and the organisation."""
    return assemble_report_data(**read_publication(engine, agency_code, period_id))


def assemble_report_data(*, agency_code: str, period: Period, run: dict[str, Any],
                         agency: pd.DataFrame, dim_unit: pd.DataFrame,
                         appraisal: pd.DataFrame, followup: pd.DataFrame,
                         attendance: pd.DataFrame, people: pd.DataFrame, units: pd.DataFrame,
                         distribution: pd.DataFrame, checks: pd.DataFrame,
                         quarantine: pd.DataFrame, source_files: pd.DataFrame) -> ReportData:
    """The report's frames from the publication's tables (`read_publication`): employees
    joined to names, follow-ups and attendance; every unit placed under its OPD."""
    agency_name = str(agency["agency_name"].iloc[0]) if len(agency) else agency_code
    quality = json.loads(run["quality_summary"]) if run.get("quality_summary") else None
    organisation = build_organisation(
        dim_unit, list(units["unit_code"]) + list(appraisal["unit_code"].dropna()))
    tree = organisation.set_index("unit_code")

    def name_of(codes: pd.Series) -> pd.Series:
        return codes.map(tree["unit_name"]).fillna(codes).astype(object)

    def place(frame: pd.DataFrame) -> pd.DataFrame:
        frame["unit_name"] = name_of(frame["unit_code"])
        frame["opd_code"] = frame["unit_code"].map(tree["opd_code"]).fillna(
            frame["unit_code"]).astype(object)
        frame["unit_order"] = frame["unit_code"].map(tree["order"]).fillna(-1).astype("int64")
        return frame

    employees = (appraisal.merge(people, on="nip", how="left")
                 .merge(followup, on="nip", how="left")
                 .merge(attendance, on="nip", how="left"))
    employees = place(employees)
    employees["name"] = employees["name"].astype(object).where(employees["name"].notna(), "–")
    employees = employees.sort_values(
        ["unit_order", "rank_in_unit", "nip"], na_position="last").reset_index(drop=True)

    units = place(units)
    units["depth"] = units["unit_code"].map(tree["depth"]).fillna(0).astype("int64")
    units["parent_unit_code"] = units["unit_code"].map(tree["parent_unit_code"])
    distribution = place(distribution)
    counts = distribution.pivot_table(index="unit_code", columns="predikat",
                                      values="employee_count", aggfunc="sum")
    for predikat in PREDIKAT_ORDER:
        column = counts[predikat] if predikat in counts else pd.Series(dtype="float64")
        units[f"n_{predikat}"] = units["unit_code"].map(column).fillna(0).astype("int64")
    checks = place(checks)
    breaches = checks[checks["breach"].astype(bool)].groupby("unit_code").size()
    units["breaches"] = units["unit_code"].map(breaches).fillna(0).astype("int64")
    units = units.sort_values(["unit_order", "unit_code"]).reset_index(drop=True)
    checks = checks.sort_values(["unit_order", "unit_code"], kind="stable").reset_index(drop=True)
    order = {name: i for i, name in enumerate(DATASET_LABELS)}
    quarantine = quarantine.sort_values(
        "dataset", key=lambda s: s.map(order).fillna(len(order)), kind="stable"
    ).reset_index(drop=True)

    return ReportData(
        agency_code=agency_code,
        agency_name=agency_name,
        period=period,
        run=run,
        quality=quality,
        employees=employees,
        units=units,
        distribution=distribution,
        checks=checks,
        quarantine=quarantine,
        source_files=source_files,
        generated_at=warehouse.utcnow(),
        organisation=organisation,
    )


# Pages -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Links:
    """Relative links from one page (in `page_dir`, where it will finally lie) to the others."""

    reports: Path
    folder: Path
    stem: str
    page_dir: Path
    data_docs: Path | None

    def href(self, target: Path) -> str:
        relative = Path(os.path.relpath(target, self.page_dir)).as_posix()
        return quote(relative, safe="/._-~")

    @property
    def index(self) -> str:
        return self.href(self.folder / INDEX_NAME)

    @property
    def quality(self) -> str:
        return self.href(self.folder / QUALITY_NAME)

    @property
    def workbook(self) -> str:
        return self.href(self.reports / f"{self.stem}_hasil.xlsx")

    @property
    def docs(self) -> str | None:
        return self.href(self.data_docs) if self.data_docs else None

    def opd(self, unit_code: str) -> str:
        return _opd_href(self, unit_code, "html")

    def opd_workbook(self, unit_code: str) -> str:
        return _opd_href(self, unit_code, "xlsx")


# A link's target in a page rendered once for two places (`_placed`): a path never holds NUL,
# validated source text never reaches a page with one (sources.md: no control character), and
# the mark carries a number drawn when the process starts, so that no text written before it (a
# warehouse edited by hand, say) can pass for a link.
_MARK = f"\x00kinerja-link-{secrets.token_hex(16)}:"
_MARKED = re.compile(re.escape(_MARK) + "([^\x00]*)\x00")


@dataclass(frozen=True)
class _MarkedLinks(Links):
    """Links whose targets are marked rather than made relative: `_placed` makes them relative
    to where the page lies, so a page that lies in two places is rendered once."""

    def href(self, target: Path) -> str:
        return f"{_MARK}{target}\x00"


def _placed(marked: str, links: Links) -> str:
    """A page rendered with `_MarkedLinks`, its links relative to `links.page_dir`."""
    hrefs: dict[str, str] = {}

    def relative(match: re.Match[str]) -> str:
        target = match.group(1)
        if target not in hrefs:
            hrefs[target] = links.href(Path(target))
        return hrefs[target]

    return _MARKED.sub(relative, marked)


@functools.lru_cache(maxsize=65_536)
def _opd_href(links: Links, unit_code: str, suffix: str) -> str:
    """An OPD's page or workbook from `links`: the index links each OPD from several sections,
    once per rater in the calibration (a path computation each, 100,000 times a province)."""
    return links.href(links.folder / OPD_FOLDER / f"{opd_file(unit_code)}.{suffix}")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update({
        "num": format_number,
        "int": format_int,
        "share": format_share,
        "share_short": format_share_short,
        "pct": format_pct,
        "rupiah": format_rupiah,
        "date": format_date,
        "timestamp": format_timestamp,
        "aspects": aspect_labels,
        "predikat": lambda v: label(PREDIKAT_LABELS, v),
        "org_predikat": lambda v: label(ORG_PREDIKAT_LABELS, v),
        "status": lambda v: label(STATUS_LABELS, v),
        "rating": lambda v: label(RATING_LABELS, v),
        "sanction": lambda v: label(SANCTION_LABELS, v),
        "position_type": lambda v: label(POSITION_TYPE_LABELS, v),
        "dataset": lambda v: label(DATASET_LABELS, v),
        "table": lambda v: label(TABLE_LABELS, v),
        "run_kind": lambda v: label(RUN_KIND_LABELS, v),
        "run_status": lambda v: label(RUN_STATUS_LABELS, v),
        "quality": lambda v: QUALITY_LABELS.get(v, str(v)),
        "text": lambda v: "–" if missing(v) or v == "" else v,
    })
    # The people tables' rows, by far the most of every OPD page (tasks/reporting/report_rows.py).
    rows = RowWriter(env.filters)
    env.filters.update({"pegawai_row": rows.pegawai_row, "people_row": rows.people_row})
    env.globals.update(PREDIKAT_COLORS=PREDIKAT_COLORS, ORG_PREDIKAT_COLORS=ORG_PREDIKAT_COLORS,
                       PREDIKAT_ORDER=PREDIKAT_ORDER, PREDIKAT_LABELS=PREDIKAT_LABELS)
    return env


def render_page(page: str, data: ReportData, links: Links, opd: dict[str, Any] | None = None,
                env: jinja2.Environment | None = None) -> str:
    """One page's HTML: `index`, `opd` (with `opd`, a row of `data.opds`) or `quality`."""
    from tasks.reporting.report_sections import page_context

    env = env or _environment()
    template = env.get_template(f"{page}.html.j2")
    return template.render(**page_context(page, data, links, opd))


def render_report(data: ReportData, reports_dir: str | Path = ".") -> str:
    """The agency report (the index) as it lies in `<reports>/<agency>_<period>/`."""
    return render_page("index", data, _links(data, Path(reports_dir), index_copy=False))


def _data_docs(data: ReportData, reports: Path) -> Path | None:
    quality = data.quality
    if quality and quality.get("data_docs"):
        docs = Path(quality["data_docs"])
        return docs if docs.is_absolute() else (reports / docs)
    return None


def _links(data: ReportData, reports: Path, *, index_copy: bool = False,
           opd_page: bool = False) -> Links:
    folder = report_folder(reports, data.agency_code, data.period.id)
    page_dir = reports if index_copy else (folder / OPD_FOLDER if opd_page else folder)
    return Links(reports=reports.resolve(), folder=folder.resolve(),
                 stem=output_stem(data.agency_code, data.period.id),
                 page_dir=page_dir.resolve(), data_docs=_data_docs(data, reports))


def _marked_links(data: ReportData, reports: Path) -> Links:
    """Links for a page rendered once for the folder and the index copy (`_placed`)."""
    links = _links(data, reports)
    return _MarkedLinks(links.reports, links.folder, links.stem, links.page_dir,
                        links.data_docs)


def _fresh_folder(reports: Path, stem: str) -> Path:
    """An empty scratch folder beside the final one, inside the reports folder."""
    scratch = reports / f".{stem}.partial-{uuid.uuid4().hex[:8]}"
    identifiers.inside(reports, scratch)
    scratch.mkdir(parents=True)
    return scratch


def _swap_in(reports: Path, scratch: Path, folder: Path) -> None:
    """Replace `folder` by `scratch` (two renames), so HR never opens a half-written set of
    pages and no page of a unit that no longer exists stays behind. Only ever a folder named
    by output_stem inside the reports folder is replaced, never a link."""
    identifiers.inside(reports, folder)
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise identifiers.InvalidIdentifier(f"refusing to replace {folder}: not a folder")
    old = None
    if folder.exists():
        old = folder.with_name(f".{folder.name}.old-{uuid.uuid4().hex[:8]}")
        folder.rename(old)
    scratch.rename(folder)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def report_timings() -> dict[str, float]:
    """An empty dict to pass as `write_reports(..., timings=)`: filled with seconds per step."""
    return {}


# Starts a second process's share of a report (tasks/steps.py): `write_shared` there; returns
# a function that waits until it is done. Called with the report's data, the
# reports folder and the report's scratch folder.
ReportShare = Callable[["ReportData", Path, Path], Callable[[], object]]
SHARE_CLAIMS = ".claims"  # in the scratch folder while two processes share the report's jobs


def no_share(data: ReportData, reports: Path, scratch: Path) -> Callable[[], object]:
    """`ReportShare` where the report has no second process: this one does every job."""
    return lambda: None


# A shared job's estimated cost, in employees' worth of work: a page's or a workbook's time
# grows with the employees it covers (about 60 microseconds each at 100,000 employees, for
# pages and workbooks alike), and each file adds a fixed part worth about 250 employees.
_FILE_COST = 250


def _shared_jobs(data: ReportData, reports: Path, scratch: Path, agency_workbook: bool,
                 env: jinja2.Environment) -> list[Callable[[], object]]:
    """The report's jobs either process may do, numbered alike in both: the OPD workbooks batch
    by batch (tasks/reporting/workbook.py), each OPD's page, and the agency's workbook, the
    largest first (estimated from the employees each covers). Both processes take the next job
    not yet taken, so each is busy until the jobs run out and the last ones are the smallest:
    neither waits long for the other. (An OPD's page grows with its people: a province's
    education office can hold a third of them, and its page alone takes seconds.)"""
    from tasks.reporting import workbook

    links = _links(data, reports, opd_page=True)

    def page(opd: dict[str, Any]) -> None:
        path = scratch / OPD_FOLDER / f"{opd_file(opd['unit_code'])}.html"
        path.write_text(render_page("opd", data, links, opd, env=env), encoding="utf-8")

    people = data.employees["opd_code"].value_counts()

    def cost(opds: list[dict[str, Any]]) -> int:
        return sum(int(people.get(opd["unit_code"], 0)) + _FILE_COST for opd in opds)

    jobs: list[tuple[int, Callable[[], object]]] = [
        (cost(batch), functools.partial(workbook.write_opd_batch, data, scratch / OPD_FOLDER,
                                        batch))
        for batch in workbook.opd_workbook_batches(data)]
    jobs += [(cost([opd]), functools.partial(page, opd)) for opd in data.opds.to_dict("records")]
    if agency_workbook:
        jobs.append((len(data.employees) + _FILE_COST,
                     functools.partial(workbook.write_workbook, data, reports)))
    # Stable: jobs of equal cost keep their order, the same in both processes.
    return [job for _, job in sorted(jobs, key=lambda pair: -pair[0])]


def write_shared(data: ReportData, reports: str | Path, scratch: str | Path, *,
                 agency_workbook: bool, env: jinja2.Environment | None = None) -> int:
    """The report's shared jobs (`_shared_jobs`) not yet taken, in their order: two processes
    share them (kinerja/claims.py), each taking the next job the other has not, and every job
    is done exactly once. Returns how many this call did."""
    scratch = Path(scratch)
    jobs = _shared_jobs(data, Path(reports), scratch, agency_workbook, env or _environment())
    claims = Claims(scratch / SHARE_CLAIMS, prefix="job")
    done = 0
    for number, job in enumerate(jobs):
        if claims.take(number):
            job()
            done += 1
    return done


def write_pages(data: ReportData, reports_dir: str | Path,
                timings: dict[str, float] | None = None, *,
                share: ReportShare = no_share, agency_workbook: bool = False) -> dict[str, str]:
    """Write the agency report folder (pages and OPD workbooks) and the index copy, and with
    `agency_workbook` the agency's workbook; returns their paths. A second process's `share`
    is started first: it takes the shared jobs (`write_shared`) while this one writes the index
    and then takes those left."""
    from tasks.reporting.workbook import workbook_path

    timings = {} if timings is None else timings
    reports = Path(reports_dir)
    reports.mkdir(parents=True, exist_ok=True)
    stem = output_stem(data.agency_code, data.period.id)
    folder = report_folder(reports, data.agency_code, data.period.id)
    env = _environment()
    scratch = _fresh_folder(reports, stem)
    outputs: dict[str, str] = {}
    if agency_workbook:
        outputs["workbook"] = str(workbook_path(reports, data.agency_code, data.period.id))
    share_done: Callable[[], object] | None = None
    waited = False
    try:
        (scratch / OPD_FOLDER).mkdir()
        (scratch / SHARE_CLAIMS).mkdir()
        share_done = share(data, reports, scratch)
        started = time.perf_counter()
        # The index lies in the folder and again beside it (the one-page report's old name):
        # rendered once, its links placed for each.
        index = render_page("index", data, _marked_links(data, reports), env=env)
        index_links = _links(data, reports)
        (scratch / INDEX_NAME).write_text(_placed(index, index_links), encoding="utf-8")
        (scratch / QUALITY_NAME).write_text(render_page("quality", data, index_links, env=env),
                                            encoding="utf-8")
        timings["index_and_quality_pages"] = time.perf_counter() - started
        started = time.perf_counter()
        write_shared(data, reports, scratch, agency_workbook=agency_workbook, env=env)
        timings["opd_pages_and_workbooks"] = time.perf_counter() - started
        started = time.perf_counter()
        waited = True
        share_done()
        timings["second_process_wait"] = time.perf_counter() - started
        shutil.rmtree(scratch / SHARE_CLAIMS)
        _swap_in(reports, scratch, folder)
    except BaseException as error:
        if share_done is not None and not waited and isinstance(error, Exception):
            _stop_share(scratch, share_done)
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    # The one-page report's old name: the index again, its links pointing into the folder.
    copy = report_path(reports, data.agency_code, data.period.id)
    partial = copy.with_name(copy.name + ".partial")
    partial.write_text(_placed(index, _links(data, reports, index_copy=True)), encoding="utf-8")
    partial.replace(copy)
    return {"report": str(copy), "report_index": str(folder / INDEX_NAME),
            "report_folder": str(folder), **outputs}


def _stop_share(scratch: Path, share_done: Callable[[], object]) -> None:
    """This process failed while a second process still takes jobs: with the claims gone its
    next claim fails, so it stops after its current job, and it is waited for, so that nothing
    it writes lands in the scratch folder after the folder is removed."""
    shutil.rmtree(scratch / SHARE_CLAIMS, ignore_errors=True)
    with suppress(Exception):  # its failure is the expected one; this process's is raised
        share_done()


def write_report(data: ReportData, reports_dir: str | Path) -> Path:
    """The agency report's pages; returns the path of `<agency>_<period>_laporan.html`."""
    return Path(write_pages(data, reports_dir)["report"])


def write_reports(engine: Engine, agency_code: str, period_id: str,
                  reports_dir: str | Path,
                  calibration: Calibration | None = None,
                  timings: dict[str, float] | None = None, *,
                  share: ReportShare = no_share,
                  data: ReportData | None = None) -> dict[str, str]:
    """The HTML reports and the HR workbooks of the agency-period's current publication (with
    the rater calibration when given: tasks/explain/calibration.py). `share` starts a second
    process's share of the work (`write_pages`). `data`: the publication already read
    (`load_publication_ahead`)."""
    timings = {} if timings is None else timings
    started = time.perf_counter()
    data = data if data is not None else load_report_data(engine, agency_code, period_id)
    data.calibration = calibration
    timings["load"] = time.perf_counter() - started
    outputs = write_pages(data, reports_dir, timings, share=share, agency_workbook=True)
    log.info("reports of %s %s: %s", agency_code, period_id,
             ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    return outputs
