"""The semester report for HR (interface.md "Reports"): one self-contained HTML page in Indonesian.

Built from the published warehouse tables (never from the run's staging files), so a report
written by `kinerja check` long after the run shows exactly what HR can query. Charts are
hand-built inline SVG and the page carries its own CSS and no script: it opens offline in any
browser. Big lists are split per unit into collapsed `<details>`, so an agency of thousands of
employees stays readable. Values are rounded for display only (two decimals, Indonesian number
format); the warehouse keeps them unrounded.

`load_report_data` is shared with the workbook (`tasks/workbook.py`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import pandas as pd
import sqlalchemy as sa
from markupsafe import Markup
from sqlalchemy.engine import Connection, Engine

from kinerja import identifiers
from kinerja.period import Period
from schemas.sources import BERAKHLAK_ASPECTS
from tasks import warehouse

if TYPE_CHECKING:
    from tasks.explain.calibration import Calibration

TEMPLATES_DIR = Path(__file__).parent / "templates"

# Labels HR reads -----------------------------------------------------------------------------

PREDIKAT_ORDER = ("SANGAT_BAIK", "BAIK", "BUTUH_PERBAIKAN", "KURANG", "SANGAT_KURANG")
PREDIKAT_LABELS = {
    "SANGAT_BAIK": "Sangat Baik",
    "BAIK": "Baik",
    "BUTUH_PERBAIKAN": "Butuh Perbaikan",
    "KURANG": "Kurang/Misconduct",
    "SANGAT_KURANG": "Sangat Kurang",
}
PREDIKAT_COLORS = {
    "SANGAT_BAIK": "#1b7f3b",
    "BAIK": "#3b82c4",
    "BUTUH_PERBAIKAN": "#e0b000",
    "KURANG": "#e8762c",
    "SANGAT_KURANG": "#c62828",
}
ORG_PREDIKAT_LABELS = {
    "ISTIMEWA": "Istimewa",
    "BAIK": "Baik",
    "BUTUH_PERBAIKAN": "Butuh Perbaikan",
    "KURANG": "Kurang",
    "SANGAT_KURANG": "Sangat Kurang",
}
ORG_PREDIKAT_COLORS = {
    "ISTIMEWA": "#1b7f3b",
    "BAIK": "#3b82c4",
    "BUTUH_PERBAIKAN": "#e0b000",
    "KURANG": "#e8762c",
    "SANGAT_KURANG": "#c62828",
}
STATUS_LABELS = {
    "APPRAISED": "Dinilai",
    "NOT_RATED": "Belum dinilai",
    "INACTIVE": "Tidak aktif",
}
RATING_LABELS = {
    "DIATAS_EKSPEKTASI": "Di Atas Ekspektasi",
    "SESUAI_EKSPEKTASI": "Sesuai Ekspektasi",
    "DIBAWAH_EKSPEKTASI": "Di Bawah Ekspektasi",
}
ASPECT_LABELS = {
    "berorientasi_pelayanan": "Berorientasi Pelayanan",
    "akuntabel": "Akuntabel",
    "kompeten": "Kompeten",
    "harmonis": "Harmonis",
    "loyal": "Loyal",
    "adaptif": "Adaptif",
    "kolaboratif": "Kolaboratif",
}
# PP 94/2021, most severe first (the policy's band order).
SANCTION_LABELS = {
    "PEMBERHENTIAN": "Pemberhentian dengan hormat tidak atas permintaan sendiri",
    "PEMBEBASAN_JABATAN": "Pembebasan dari jabatan menjadi pelaksana (12 bulan)",
    "PENURUNAN_JABATAN": "Penurunan jabatan setingkat lebih rendah (12 bulan)",
    "POTONG_TUKIN_25_12BLN": "Pemotongan tunjangan kinerja 25 persen selama 12 bulan",
    "POTONG_TUKIN_25_9BLN": "Pemotongan tunjangan kinerja 25 persen selama 9 bulan",
    "POTONG_TUKIN_25_6BLN": "Pemotongan tunjangan kinerja 25 persen selama 6 bulan",
    "PERNYATAAN_TIDAK_PUAS": "Pernyataan tidak puas secara tertulis",
    "TEGURAN_TERTULIS": "Teguran tertulis",
    "TEGURAN_LISAN": "Teguran lisan",
    "NONE": "Tidak ada",
}
SANCTION_LEVELS = {
    "PEMBERHENTIAN": "berat",
    "PEMBEBASAN_JABATAN": "berat",
    "PENURUNAN_JABATAN": "berat",
    "POTONG_TUKIN_25_12BLN": "sedang",
    "POTONG_TUKIN_25_9BLN": "sedang",
    "POTONG_TUKIN_25_6BLN": "sedang",
    "PERNYATAAN_TIDAK_PUAS": "ringan",
    "TEGURAN_TERTULIS": "ringan",
    "TEGURAN_LISAN": "ringan",
    "NONE": "",
}
POSITION_TYPE_LABELS = {
    "JPT": "Jabatan Pimpinan Tinggi",
    "ADMINISTRATOR": "Administrator",
    "PENGAWAS": "Pengawas",
    "FUNGSIONAL": "Fungsional",
    "PELAKSANA": "Pelaksana",
}
DATASET_LABELS = {
    "units": "Unit kerja (units)",
    "employees": "Pegawai (employees)",
    "calendar": "Hari libur (calendar)",
    "attendance": "Presensi (attendance)",
    "skp": "SKP (skp)",
    "ratings": "Penilaian atasan (ratings)",
    "unit_iku": "IKU unit (unit_iku)",
    "budget": "Anggaran (budget)",
}
RUN_KIND_LABELS = {"scheduled": "terjadwal", "manual": "manual", "backfill": "pengulangan"}
RUN_STATUS_LABELS = {"running": "berjalan", "published": "terbit", "failed": "gagal"}
QUALITY_LABELS = {"passed": "Lulus", "failed": "Gagal", None: "Belum diperiksa"}
MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
          "September", "Oktober", "November", "Desember")
# Above this many units, per-unit tables start folded and scatter labels thin out.
MANY_UNITS = 25
# Bars in a large agency's attendance charts: the units that need attention most.
CHART_UNITS = 20
# Quarantine samples shown per dataset; the workbook and the quarantine table hold every row.
QUARANTINE_SAMPLE = 200
# A reason ends with the offending value in parentheses; grouping drops it.
_REASON_VALUE = re.compile(r"\s*\('.*'\)\s*$")


def report_path(reports_dir: str | Path, agency_code: str, period_id: str) -> Path:
    return Path(reports_dir) / f"{output_stem(agency_code, period_id)}_laporan.html"


def output_stem(agency_code: str, period_id: str) -> str:
    """`<agency>_<period>`, the stem of every output file and folder, from checked codes only:
    nothing derived from it can name a place outside the reports folder."""
    return f"{identifiers.agency_code(agency_code)}_{identifiers.period_id(period_id)}"


# Formatting (display only) --------------------------------------------------------------------


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def format_number(value: Any, decimals: int = 2) -> str:
    """`1.234,56`: Indonesian grouping and decimal marks; `–` for a missing value."""
    if _missing(value):
        return "–"
    number = round(float(value), decimals) + 0.0  # + 0.0 turns -0.0 into 0.0
    text = f"{number:,.{decimals}f}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def format_int(value: Any) -> str:
    return format_number(value, 0)


def format_share(value: Any) -> str:
    """A share (0..1) as a percentage: 0.875 -> `87,50%`."""
    return "–" if _missing(value) else format_number(float(value) * 100) + "%"


def format_pct(value: Any) -> str:
    """A value already in percent: 86.73 -> `86,73%`."""
    return "–" if _missing(value) else format_number(value) + "%"


def format_date(value: Any) -> str:
    if _missing(value):
        return "–"
    day = pd.Timestamp(value)
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def format_timestamp(value: Any) -> str:
    if _missing(value):
        return "–"
    moment = pd.Timestamp(value)
    return f"{format_date(moment)} {moment:%H:%M:%S} UTC"


def period_title(period: Period) -> str:
    half = "I" if period.half == 1 else "II"
    return (f"Semester {half} Tahun {period.year} "
            f"({format_date(period.start)} – {format_date(period.end)})")


def aspect_labels(needs: Any) -> str:
    if _missing(needs) or not needs:
        return ""
    return ", ".join(ASPECT_LABELS.get(a, a) for a in str(needs).split(","))


def label(mapping: dict[Any, str], value: Any) -> str:
    return "–" if _missing(value) else mapping.get(value, str(value))


# Data ------------------------------------------------------------------------------------------


@dataclass
class ReportData:
    """Everything the report and the workbook show of one agency-period's publication."""

    agency_code: str
    agency_name: str
    period: Period
    run: dict[str, Any]
    quality: dict[str, Any] | None
    employees: pd.DataFrame  # fact_appraisal + followup + attendance + names, one row per nip
    units: pd.DataFrame  # fact_unit_performance + names + predikat counts + breaches
    distribution: pd.DataFrame  # fact_predikat_distribution + unit_name
    checks: pd.DataFrame  # fact_distribution_check + unit_name
    quarantine: pd.DataFrame  # the publishing run's quarantine rows
    source_files: pd.DataFrame  # the publishing run's source_file rows
    generated_at: datetime
    # Rater calibration (issue 12): from the run's ratings, which the warehouse does not hold;
    # None when the caller could not give it.
    calibration: Calibration | None = None

    @property
    def title(self) -> str:
        return f"Laporan Penilaian Kinerja ASN {self.agency_name} {self.period.id}"


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


def select_rows(conn: Connection, table: str, *where: Any, **equals: Any) -> pd.DataFrame:
    """Rows of a warehouse table matching `equals` (column=value) and any extra clauses built
    by `where(table)` callables, ordered by its key and typed like `warehouse.read_table`."""
    reflected = warehouse.reflect_table(conn, table)
    clauses = [reflected.c[column] == value for column, value in equals.items()]
    clauses += [build(reflected) for build in where]
    rows = conn.execute(
        sa.select(reflected).where(*clauses).order_by(*reflected.primary_key.columns)).all()
    return warehouse.typed_frame(list(reflected.columns), rows)


def publishing_run(conn: Connection, agency_code: str, period_id: str) -> dict[str, Any]:
    """The pipeline_run row of the agency-period's current publication: of its published runs,
    the one whose publication finished last. Raises ValueError when nothing is published."""
    runs = select_rows(conn, "pipeline_run", agency_code=agency_code, period_id=period_id,
                       status="published")
    if runs.empty:
        raise ValueError(f"nothing is published for agency {agency_code} {period_id}")
    runs = runs.sort_values(["finished_at", "started_at"], na_position="first")
    return {k: (None if _missing(v) else v) for k, v in runs.iloc[-1].to_dict().items()}


def employees_of(conn: Connection, agency_code: str, period_id: str) -> pd.DataFrame:
    """dim_employee rows of the employees in the agency-period's fact_appraisal.

    A NIP is national, so the row may carry another agency's code (an employee who moved on);
    reading by the facts' NIPs, not by agency, finds it without scanning the nation.
    """
    appraisal = warehouse.reflect_table(conn, "fact_appraisal")
    nips = sa.select(appraisal.c.nip).where(appraisal.c.agency_code == agency_code,
                                            appraisal.c.period_id == period_id)
    return select_rows(conn, "dim_employee", lambda t: t.c.nip.in_(nips.scalar_subquery()))


def load_report_data(engine: Engine, agency_code: str, period_id: str) -> ReportData:
    """Read one agency-period's current publication, joined to names, for the report."""
    period = Period.parse(period_id)
    with snapshot(engine) as conn:
        run = publishing_run(conn, agency_code, period.id)

        def facts(table: str) -> pd.DataFrame:
            return select_rows(conn, table, agency_code=agency_code,
                               period_id=period.id).drop(columns="run_id")

        agency = select_rows(conn, "dim_agency", agency_code=agency_code)
        unit_names = (select_rows(conn, "dim_unit", agency_code=agency_code)
                      .set_index("unit_code")["unit_name"])
        appraisal = facts("fact_appraisal")
        followup = facts("fact_followup").drop(columns=["agency_code", "period_id"])
        attendance = facts("fact_attendance").drop(
            columns=["agency_code", "period_id", "unit_code", "discipline_score"])
        people = employees_of(conn, agency_code, period.id)[
            ["nip", "name", "employee_type", "position_type", "position_name", "grade"]]
        units = facts("fact_unit_performance")
        distribution = facts("fact_predikat_distribution")
        checks = facts("fact_distribution_check")
        quarantine = select_rows(conn, "quarantine", run_id=run["run_id"])
        source_files = select_rows(conn, "source_file", run_id=run["run_id"])

    agency_name = str(agency["agency_name"].iloc[0]) if len(agency) else agency_code
    quality = json.loads(run["quality_summary"]) if run.get("quality_summary") else None

    def name_of(codes: pd.Series) -> pd.Series:
        return codes.map(unit_names).fillna(codes).astype(object)

    employees = (appraisal.merge(people, on="nip", how="left")
                 .merge(followup, on="nip", how="left")
                 .merge(attendance, on="nip", how="left"))
    employees["unit_name"] = name_of(employees["unit_code"])
    employees["name"] = employees["name"].astype(object).where(employees["name"].notna(), "–")
    employees = employees.sort_values(
        ["unit_name", "rank_in_unit", "nip"], na_position="last").reset_index(drop=True)

    units["unit_name"] = name_of(units["unit_code"])
    distribution["unit_name"] = name_of(distribution["unit_code"])
    counts = distribution.pivot_table(index="unit_code", columns="predikat",
                                      values="employee_count", aggfunc="sum")
    for predikat in PREDIKAT_ORDER:
        column = counts[predikat] if predikat in counts else pd.Series(dtype="float64")
        units[f"n_{predikat}"] = units["unit_code"].map(column).fillna(0).astype("int64")
    checks["unit_name"] = name_of(checks["unit_code"])
    breaches = checks[checks["breach"].astype(bool)].groupby("unit_code").size()
    units["breaches"] = units["unit_code"].map(breaches).fillna(0).astype("int64")
    units = units.sort_values(["unit_name", "unit_code"]).reset_index(drop=True)
    checks = checks.sort_values(["unit_name", "unit_code"], kind="stable").reset_index(drop=True)
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
    )


# Charts (inline SVG) ---------------------------------------------------------------------------


def _text(x: float, y: float, content: str, *, anchor: str = "start", size: int = 12,
          weight: str = "normal", fill: str = "#222") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
            f'font-weight="{weight}" fill="{fill}">{escape(content)}</text>')


def _short(text: str, length: int = 42) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def _svg(width: float, height: float, body: Iterable[str], title: str) -> Markup:
    return Markup(
        f'<svg viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="100%" style="max-width:{width:.0f}px" role="img" '
        f'aria-label="{escape(title)}" font-family="Helvetica, Arial, sans-serif">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def column_chart(items: Sequence[tuple[str, int, str]], title: str) -> Markup:
    """Vertical bars with their counts: (label, count, colour)."""
    width, height, left, bottom, top = 720, 280, 50, 40, 20
    peak = max([count for _, count, _ in items] + [1])
    step = (width - left - 10) / max(len(items), 1)
    plot = height - bottom - top
    body = [f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" '
            f'stroke="#888"/>']
    for i, (name, count, colour) in enumerate(items):
        bar = plot * count / peak
        x = left + i * step + step * 0.15
        y = height - bottom - bar
        body.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" '
                    f'height="{bar:.1f}" fill="{colour}"><title>{escape(name)}: '
                    f"{format_int(count)}</title></rect>")
        body.append(_text(x + step * 0.35, y - 5, format_int(count), anchor="middle",
                          weight="bold"))
        body.append(_text(x + step * 0.35, height - bottom + 16, name, anchor="middle"))
    return _svg(width, height, body, title)


def stacked_share_chart(units: pd.DataFrame, title: str) -> Markup:
    """One 100% bar per unit with appraised employees: the predikat shares, breaches marked."""
    rows = units[units["appraised_count"] > 0]
    label_w, bar_w, tail_w, row_h, top = 330, 520, 130, 22, 34
    width = label_w + bar_w + tail_w
    height = top + row_h * len(rows) + 10
    body = []
    x = label_w
    for predikat in PREDIKAT_ORDER:  # legend
        body.append(f'<rect x="{x}" y="6" width="12" height="12" '
                    f'fill="{PREDIKAT_COLORS[predikat]}"/>')
        body.append(_text(x + 16, 16, PREDIKAT_LABELS[predikat], size=11))
        x += 16 + 7 * len(PREDIKAT_LABELS[predikat]) + 14
    for i, unit in enumerate(rows.itertuples(index=False)):
        y = top + i * row_h
        body.append(_text(label_w - 8, y + 14, _short(str(unit.unit_name)), anchor="end",
                          size=11))
        offset = 0.0
        for predikat in PREDIKAT_ORDER:
            count = int(getattr(unit, f"n_{predikat}"))
            if count == 0:
                continue
            share = count / unit.appraised_count
            seg = bar_w * share
            body.append(
                f'<rect x="{label_w + offset:.1f}" y="{y + 2}" width="{seg:.1f}" '
                f'height="{row_h - 5}" fill="{PREDIKAT_COLORS[predikat]}"><title>'
                f"{escape(str(unit.unit_name))} — {PREDIKAT_LABELS[predikat]}: "
                f"{format_int(count)} ({format_share(share)})</title></rect>")
            offset += seg
        tail = f"n={format_int(unit.appraised_count)}"
        body.append(_text(label_w + bar_w + 6, y + 14, tail, size=11))
        if unit.breaches:
            body.append(_text(label_w + bar_w + 60, y + 14, "⚠ melanggar", size=11,
                              weight="bold", fill="#b71c1c"))
    return _svg(width, height, body, title)


def bar_list_chart(rows: Sequence[tuple[str, float, str]], title: str, *, maximum: float,
                   colour: str = "#3b82c4", label_width: int = 330) -> Markup:
    """Horizontal bars: (label, value, value text), on a scale from 0 to `maximum`."""
    bar_w, tail_w, row_h, top = 480, 90, 22, 8
    width = label_width + bar_w + tail_w
    height = top + row_h * len(rows) + 8
    body = [f'<line x1="{label_width}" y1="{top - 4}" x2="{label_width}" '
            f'y2="{height - 4}" stroke="#888"/>']
    for i, (name, value, text) in enumerate(rows):
        y = top + i * row_h
        length = 0.0 if _missing(value) or maximum <= 0 else bar_w * min(value / maximum, 1.0)
        body.append(_text(label_width - 8, y + 14, _short(name), anchor="end", size=11))
        body.append(f'<rect x="{label_width}" y="{y + 3}" width="{length:.1f}" '
                    f'height="{row_h - 7}" fill="{colour}"><title>{escape(name)}: '
                    f"{escape(text)}</title></rect>")
        body.append(_text(label_width + length + 6, y + 14, text, size=11))
    return _svg(width, height, body, title)


def scatter_chart(points: Sequence[dict[str, Any]], title: str) -> Markup:
    """IKU score (y) against budget absorption (x) per unit; points numbered, coloured by org
    predikat, with the 100% / 100 reference lines."""
    width, height, left, bottom, top, right = 720, 460, 60, 50, 20, 20
    xs = [p["x"] for p in points] + [100.0]
    ys = [p["y"] for p in points] + [120.0]
    x_max = 20 * math.ceil(max(xs) * 1.05 / 20)
    y_max = 20 * math.ceil(max(ys) * 1.05 / 20)
    plot_w, plot_h = width - left - right, height - top - bottom

    def px(x: float) -> float:
        return left + plot_w * x / x_max

    def py(y: float) -> float:
        return top + plot_h * (1 - y / y_max)

    body = []
    for tick in range(0, x_max + 1, 20):
        body.append(f'<line x1="{px(tick):.1f}" y1="{top}" x2="{px(tick):.1f}" '
                    f'y2="{top + plot_h}" stroke="#eee"/>')
        body.append(_text(px(tick), top + plot_h + 16, format_int(tick), anchor="middle",
                          size=11))
    for tick in range(0, y_max + 1, 20):
        body.append(f'<line x1="{left}" y1="{py(tick):.1f}" x2="{left + plot_w}" '
                    f'y2="{py(tick):.1f}" stroke="#eee"/>')
        body.append(_text(left - 6, py(tick) + 4, format_int(tick), anchor="end", size=11))
    body.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" '
                f'stroke="#888"/>')
    body.append(f'<line x1="{px(100):.1f}" y1="{top}" x2="{px(100):.1f}" y2="{top + plot_h}" '
                f'stroke="#777" stroke-dasharray="5,4"/>')
    body.append(f'<line x1="{left}" y1="{py(100):.1f}" x2="{left + plot_w}" y2="{py(100):.1f}" '
                f'stroke="#777" stroke-dasharray="5,4"/>')
    body.append(_text(left + plot_w / 2, height - 10, "Penyerapan anggaran (%)",
                      anchor="middle", weight="bold"))
    body.append(f'<text x="16" y="{top + plot_h / 2:.1f}" font-size="12" font-weight="bold" '
                f'text-anchor="middle" transform="rotate(-90 16 {top + plot_h / 2:.1f})">'
                f"Nilai IKU</text>")
    # Numbers next to crowded points would overprint each other: those are left to their
    # tooltip and the table.
    placed = [(px(p["x"]), py(p["y"])) for p in points]
    labelled = [
        len(points) <= MANY_UNITS or all(
            j == i or math.dist(placed[i], placed[j]) > 16 for j in range(len(points)))
        for i in range(len(points))
    ]
    for p, show in zip(points, labelled, strict=True):
        colour = ORG_PREDIKAT_COLORS.get(p["org_predikat"], "#777")
        tip = (f"{p['no']}. {p['name']} — IKU {format_number(p['y'])}, penyerapan "
               f"{format_pct(p['x'])}, predikat {label(ORG_PREDIKAT_LABELS, p['org_predikat'])}")
        body.append(f'<circle cx="{px(p["x"]):.1f}" cy="{py(p["y"]):.1f}" r="6" '
                    f'fill="{colour}" fill-opacity="0.85" stroke="#fff"><title>{escape(tip)}'
                    f"</title></circle>")
        if show:
            body.append(_text(px(p["x"]) + 8, py(p["y"]) - 6, str(p["no"]), size=10,
                              weight="bold"))
    return _svg(width, height, body, title)


# Sections --------------------------------------------------------------------------------------


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: (None if _missing(v) else v) for k, v in row.items()}
            for row in frame.to_dict("records")]


def _per_unit(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows grouped by unit (in the frame's order): [{unit_name, unit_code, rows}]."""
    return [{"unit_name": name, "unit_code": code, "rows": _records(rows)}
            for (name, code), rows in frame.groupby(["unit_name", "unit_code"], sort=False)]


def _rule_text(check: dict[str, Any]) -> str:
    parts = []
    if check["max_share"] is not None and check["max_share"] <= 0:
        parts.append("tidak boleh ada")
    elif check["max_share"] is not None and check["max_share"] < 1:
        parts.append(f"paling banyak {format_share(check['max_share'])}")
    if check["min_share"]:
        parts.append(f"paling sedikit {format_share(check['min_share'])}")
    if check["min_count"]:
        parts.append(f"minimal {format_int(check['min_count'])} orang")
    return ", ".join(parts) or "tanpa batas"


def _quarantine_sections(data: ReportData) -> dict[str, Any]:
    files = data.source_files
    per_dataset = (files.groupby("dataset", sort=False)[
        ["rows_read", "rows_accepted", "rows_quarantined"]].sum().reset_index())
    order = {name: i for i, name in enumerate(DATASET_LABELS)}
    per_dataset = per_dataset.sort_values("dataset", key=lambda s: s.map(order).fillna(99))
    reasons: dict[tuple[str, str], int] = {}
    for dataset, text in zip(data.quarantine["dataset"], data.quarantine["reasons"],
                             strict=True):
        for part in str(text or "").split("; "):
            kind = _REASON_VALUE.sub("", part).strip() or "(tanpa alasan)"
            reasons[(dataset, kind)] = reasons.get((dataset, kind), 0) + 1
    reason_rows = sorted(
        ({"dataset": d, "reason": r, "count": n} for (d, r), n in reasons.items()),
        key=lambda row: (order.get(row["dataset"], 99), -row["count"], row["reason"]))
    samples = []
    for dataset, rows in data.quarantine.groupby("dataset", sort=False):
        samples.append({"dataset": dataset, "total": len(rows),
                        "rows": _records(rows.head(QUARANTINE_SAMPLE))})
    samples.sort(key=lambda s: order.get(s["dataset"], 99))
    return {"per_dataset": _records(per_dataset), "reasons": reason_rows, "samples": samples}


def _context(data: ReportData, reports_dir: Path) -> dict[str, Any]:
    employees = data.employees
    appraised = employees[employees["status"] == "APPRAISED"]
    units = data.units
    checks = _records(data.checks)
    for check in checks:
        check["rule_text"] = _rule_text(check)
        check["set_labels"] = ", ".join(
            PREDIKAT_LABELS.get(p, p) for p in str(check["predikat_set"]).split(","))
    predikat_counts = [(PREDIKAT_LABELS[p], int((appraised["predikat"] == p).sum()),
                        PREDIKAT_COLORS[p]) for p in PREDIKAT_ORDER]

    # Attendance per unit: sums of days, means of scores, per employee with working days.
    active = employees[employees["working_days"].fillna(0) > 0]
    by_unit = active.groupby(["unit_name", "unit_code"], sort=True).agg(
        employees=("nip", "size"),
        working_days=("working_days", "sum"),
        present_days=("present_days", "sum"),
        sick_days=("sick_days", "sum"),
        permit_days=("permit_days", "sum"),
        leave_days=("leave_days", "sum"),
        duty_days=("duty_days", "sum"),
        absent_days=("absent_days", "sum"),
        late_count=("late_count", "sum"),
        early_count=("early_count", "sum"),
        discipline=("discipline_score", "mean"),
    ).reset_index()
    by_unit["attendance_pct"] = 100 * by_unit["present_days"] / by_unit["working_days"]
    by_unit["absent_per_employee"] = by_unit["absent_days"] / by_unit["employees"]
    by_unit["late_per_employee"] = by_unit["late_count"] / by_unit["employees"]
    attendance_units = _records(by_unit)
    # A chart of a hundred near-equal bars says nothing: a large agency's charts show the units
    # that need attention (the lowest discipline, the most absence); the table has them all.
    many = len(attendance_units) > MANY_UNITS
    discipline_rows = (sorted(attendance_units, key=lambda r: r["discipline"])[:CHART_UNITS]
                       if many else attendance_units)
    absent_rows = (sorted(attendance_units, key=lambda r: -r["absent_per_employee"])[:CHART_UNITS]
                   if many else attendance_units)
    of_all = f" dari {len(attendance_units)}" if many else ""
    discipline_caption = (f"{len(discipline_rows)} unit dengan rata-rata nilai disiplin terendah"
                          f"{of_all} (skala 0–100)" if many
                          else "Rata-rata nilai disiplin per unit (skala 0–100)")
    absent_caption = (f"{len(absent_rows)} unit dengan hari tanpa keterangan (TK) per pegawai "
                      f"terbanyak{of_all}" if many
                      else "Rata-rata hari tanpa keterangan (TK) per pegawai aktif")
    discipline_chart = bar_list_chart(
        [(r["unit_name"], r["discipline"], format_number(r["discipline"]))
         for r in discipline_rows], discipline_caption, maximum=100.0, colour="#2e7d6b")
    worst_absent = max([r["absent_per_employee"] for r in attendance_units] + [1.0])
    absent_chart = bar_list_chart(
        [(r["unit_name"], r["absent_per_employee"], format_number(r["absent_per_employee"]))
         for r in absent_rows], absent_caption, maximum=worst_absent, colour="#c0582b")

    unit_records = _records(units)
    points, unplotted = [], []
    for no, unit in enumerate(unit_records, start=1):
        unit["no"] = no
        if unit["iku_score"] is None or unit["absorption_pct"] is None:
            unplotted.append(unit)
        else:
            points.append({"no": no, "name": unit["unit_name"], "x": unit["absorption_pct"],
                           "y": unit["iku_score"], "org_predikat": unit["org_predikat"]})

    rewards = appraised[appraised["reward_candidate"].fillna(False).astype(bool)]
    coaching = employees[employees["coaching_required"].fillna(False).astype(bool)]
    coaching = coaching.sort_values(["unit_name", "final_score", "nip"], na_position="last")
    promotion = employees[employees["promotion_eligible"].fillna(False).astype(bool)]
    training = []
    needs = employees["training_needs"].fillna("").astype(str)
    for aspect in BERAKHLAK_ASPECTS:
        chosen = employees[needs.str.split(",").apply(lambda names, a=aspect: a in names)]
        training.append({"aspect": aspect, "label": ASPECT_LABELS.get(aspect, aspect),
                         "count": len(chosen), "units": _per_unit(chosen)})
    training_chart = bar_list_chart(
        [(t["label"], t["count"], format_int(t["count"])) for t in training],
        "Pegawai yang perlu pelatihan per aspek BerAKHLAK",
        maximum=max([t["count"] for t in training] + [1]), colour="#7b5ea7", label_width=200)
    sanctions = []
    for code, text in SANCTION_LABELS.items():
        chosen = employees[employees["discipline_sanction"] == code]
        sanctions.append({"code": code, "label": text, "level": SANCTION_LEVELS[code],
                          "count": len(chosen),
                          "rows": _records(chosen.sort_values(
                              ["absent_days_ytd", "unit_name", "nip"],
                              ascending=[False, True, True])) if code != "NONE" else []})
    not_rated = employees[employees["status"] == "NOT_RATED"]
    inactive = employees[employees["status"] == "INACTIVE"]

    quality = data.quality
    data_docs = None
    if quality and quality.get("data_docs"):
        docs = Path(quality["data_docs"])
        try:
            data_docs = docs.resolve().relative_to(reports_dir.resolve()).as_posix()
        except ValueError:
            data_docs = docs.as_posix()

    final_scores = appraised["final_score"].dropna()
    checked_units = data.checks["unit_code"].nunique()
    return {
        "title": data.title,
        "data": data,
        "period_title": period_title(data.period),
        "run": data.run,
        "headline": {
            "employees": len(employees),
            "appraised": len(appraised),
            "not_rated": len(not_rated),
            "inactive": len(inactive),
            "mean_final": final_scores.mean() if len(final_scores) else None,
            "units": len(units),
            "rewards": len(rewards),
            "coaching": len(coaching),
            "sanctioned": int((employees["discipline_sanction"].fillna("NONE") != "NONE").sum()),
            "promotion": len(promotion),
            "breach_units": int((units["breaches"] > 0).sum()),
            "checked_units": int(checked_units),
            "rows_read": int(data.source_files["rows_read"].sum()),
            "rows_quarantined": int(data.source_files["rows_quarantined"].sum()),
        },
        "predikat_rows": [
            {"code": p, "label": name, "count": count, "colour": colour,
             "share": count / len(appraised) if len(appraised) else None}
            for p, (name, count, colour) in zip(PREDIKAT_ORDER, predikat_counts, strict=True)],
        "predikat_chart": column_chart(predikat_counts,
                                       "Distribusi predikat pegawai yang dinilai"),
        "unit_chart": stacked_share_chart(units, "Distribusi predikat per unit"),
        "units": unit_records,
        # A large agency's per-unit tables start folded, so the charts stay in view.
        "many_units": len(unit_records) > MANY_UNITS,
        "checks": checks,
        "breach_checks": [c for c in checks if c["breach"]],
        "attendance_units": attendance_units,
        "discipline_chart": discipline_chart,
        "discipline_caption": discipline_caption,
        "absent_chart": absent_chart,
        "absent_caption": absent_caption,
        "scatter": scatter_chart(points, "Nilai IKU terhadap penyerapan anggaran per unit")
        if points else None,
        "unplotted": unplotted,
        "rewards": _records(rewards.sort_values(["unit_name", "rank_in_unit", "nip"])),
        "coaching": _per_unit(coaching),
        "coaching_total": len(coaching),
        "training": training,
        "training_chart": training_chart,
        "sanctions": sanctions,
        "promotion": _per_unit(promotion),
        "promotion_total": len(promotion),
        "not_rated": _per_unit(not_rated),
        "inactive": _per_unit(inactive),
        "results": _per_unit(employees),
        "quarantine": _quarantine_sections(data),
        "quality": quality,
        "data_docs": data_docs,
        "source_files": _records(data.source_files),
        "calibration": _calibration_section(data),
    }


def _calibration_section(data: ReportData) -> dict[str, Any]:
    """Section 10: per unit, each rater's shares beside the unit's and the agency's; the raters
    above their unit's curve in sentences."""
    calibration = data.calibration
    if calibration is None or not calibration.available:
        note = calibration.note if calibration is not None and calibration.note else (
            "data penilaian atasan (ratings.csv) run ini tidak tersedia untuk laporan ini")
        return {"available": False, "note": note}
    names = dict(zip(data.employees["nip"].astype(str), data.employees["name"].astype(str),
                     strict=True))
    unit_names = dict(zip(data.units["unit_code"].astype(str),
                          data.units["unit_name"].astype(str), strict=True))
    calibration.with_names(names, unit_names)
    labels = calibration.rating_labels()
    groups = []
    for row in calibration.records():
        if not groups or groups[-1]["unit_code"] != row["unit_code"]:
            groups.append({"unit_code": row["unit_code"],
                           "unit_name": unit_names.get(row["unit_code"], row["unit_code"]),
                           "org_predikat": row["org_predikat"], "top_bound": row["top_bound"],
                           "rows": [], "unit": row, "exceeding": 0})
        row["rater_name"] = names.get(row["rater_nip"]) if row["rater_nip"] else None
        groups[-1]["rows"].append(row)
        groups[-1]["exceeding"] += int(bool(row["exceeds"]))
    groups.sort(key=lambda g: (-g["exceeding"], g["unit_name"]))
    return {
        "available": True,
        "labels": labels,
        "groups": groups,
        "lenient": calibration.lenient,
        "raters": len(calibration.records()),
        "unbounded": [unit_names.get(u, u) for u in calibration.unbounded_units()],
    }


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
        "pct": format_pct,
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
        "run_kind": lambda v: label(RUN_KIND_LABELS, v),
        "run_status": lambda v: label(RUN_STATUS_LABELS, v),
        "quality": lambda v: QUALITY_LABELS.get(v, str(v)),
    })
    env.globals.update(PREDIKAT_COLORS=PREDIKAT_COLORS, ORG_PREDIKAT_COLORS=ORG_PREDIKAT_COLORS)
    return env


def render_report(data: ReportData, reports_dir: str | Path = ".") -> str:
    """The report's HTML; links (Data Docs) are relative to `reports_dir`."""
    template = _environment().get_template("laporan.html.j2")
    return template.render(**_context(data, Path(reports_dir)))


def write_report(data: ReportData, reports_dir: str | Path) -> Path:
    path = report_path(reports_dir, data.agency_code, data.period.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written whole then renamed, so HR never opens a half-written report.
    partial = path.with_suffix(".html.partial")
    partial.write_text(render_report(data, path.parent), encoding="utf-8")
    partial.replace(path)
    return path


def write_reports(engine: Engine, agency_code: str, period_id: str,
                  reports_dir: str | Path,
                  calibration: Calibration | None = None) -> dict[str, str]:
    """The HTML report and the HR workbook of the agency-period's current publication (with
    the rater calibration when given: tasks/explain/calibration.py)."""
    from tasks.workbook import write_workbook

    data = load_report_data(engine, agency_code, period_id)
    data.calibration = calibration
    return {
        "report": str(write_report(data, reports_dir)),
        "workbook": str(write_workbook(data, reports_dir)),
    }
