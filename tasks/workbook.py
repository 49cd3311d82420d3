"""The HR workbook (interface.md "Reports"): `<agency>_<period>_hasil.xlsx`, one sheet per result.

Indonesian headers and labels, the header row frozen and filtered, column widths that fit the
content, numbers stored as numbers (scores with two decimals shown, `0.00`; shares as
percentages, `0.00%`), so HR can sort, filter and compute in Excel without re-typing anything.
Written with openpyxl's write-only mode, which streams rows instead of holding a cell object per
value: a province-sized agency stays within memory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from tasks.report import (
    DATASET_LABELS,
    ORG_PREDIKAT_LABELS,
    POSITION_TYPE_LABELS,
    PREDIKAT_LABELS,
    PREDIKAT_ORDER,
    QUALITY_LABELS,
    RATING_LABELS,
    RUN_KIND_LABELS,
    SANCTION_LABELS,
    STATUS_LABELS,
    ReportData,
    _missing,
    aspect_labels,
    format_timestamp,
    output_stem,
    period_title,
)

SCORE = "0.00"
SHARE = "0.00%"
MONEY = "#,##0.00"
COUNT = "0"
TEXT = None
MIN_WIDTH, MAX_WIDTH = 8, 60
# Excel's limit on the text of one cell.
_MAX_CELL_TEXT = 32_767
# What makes Excel (or LibreOffice) read a typed cell as a formula (OWASP "CSV injection").
_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d",
                     "\uff20")
_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDE7F2")


def workbook_path(reports_dir: str | Path, agency_code: str, period_id: str) -> Path:
    return Path(reports_dir) / f"{output_stem(agency_code, period_id)}_hasil.xlsx"


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[dict[str, Any]], Any]
    number_format: str | None = TEXT


def _get(key: str) -> Callable[[dict[str, Any]], Any]:
    return lambda row: row.get(key)


def _coded(key: str, labels: dict[Any, str]) -> Callable[[dict[str, Any]], Any]:
    return lambda row: None if _missing(row.get(key)) else labels.get(row[key], row[key])


def _yes_no(key: str) -> Callable[[dict[str, Any]], Any]:
    return lambda row: None if _missing(row.get(key)) else ("Ya" if row[key] else "Tidak")


def _plain(value: Any) -> Any:
    """A value openpyxl writes as itself: numbers as numbers, missing as an empty cell."""
    if _missing(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, str):
        # A control character makes the file unreadable to Excel (openpyxl refuses it).
        value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
        if len(value) > _MAX_CELL_TEXT:
            return value[: _MAX_CELL_TEXT - 1] + "…"
    return value


def _as_text(sheet: Any, value: str) -> WriteOnlyCell:
    """A cell that holds `value` as text whatever it starts with. Source text (a name, a unit
    name, a quarantined row) beginning with `=`, `+`, `-`, `@`, a tab or a CR would otherwise be
    a live formula in Excel (`=HYPERLINK(...)`, `=cmd|' /C calc'!A0`); stored as a string with
    Excel's own quote prefix it shows as typed and stays text when edited."""
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    cell.quotePrefix = True
    return cell


def _shown_width(value: Any, number_format: str | None) -> int:
    if value is None:
        return 0
    if isinstance(value, float) and number_format:
        decimals = 2
        # thousands separators of MONEY and the % sign of SHARE widen the shown text
        text = f"{value * (100 if number_format == SHARE else 1):,.{decimals}f}"
        return len(text) + (1 if number_format == SHARE else 0)
    return len(str(value))


def _write_sheet(book: Workbook, title: str, columns: Sequence[Column],
                 rows: Sequence[dict[str, Any]]) -> None:
    sheet = book.create_sheet(title)
    values = [[_plain(c.value(row)) for c in columns] for row in rows]
    # Widths fit the longest shown value (a sample is enough: rows of one column look alike).
    sample = values[:2000]
    for i, column in enumerate(columns):
        longest = max([len(column.header)] + [
            _shown_width(v[i], column.number_format) for v in sample])
        width = min(max(longest + 2, MIN_WIDTH), MAX_WIDTH)
        sheet.column_dimensions[get_column_letter(i + 1)].width = width
    sheet.freeze_panes = "A2"
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=column.header)
        cell.font, cell.fill = _HEADER_FONT, _HEADER_FILL
        header.append(cell)
    sheet.append(header)
    formats = [c.number_format for c in columns]
    for row in values:
        out: list[Any] = []
        for value, number_format in zip(row, formats, strict=True):
            if number_format and isinstance(value, int | float) and not isinstance(value, bool):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = number_format
                out.append(cell)
            elif isinstance(value, str) and (value.startswith(_FORMULA_TRIGGERS)
                                             or value in ERROR_CODES):
                out.append(_as_text(sheet, value))
            else:
                out.append(value)
        sheet.append(out)
    last = get_column_letter(len(columns))
    sheet.auto_filter.ref = f"A1:{last}{max(len(values) + 1, 2)}"


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return frame.to_dict("records")


APPRAISAL_COLUMNS = (
    Column("Periode", _get("period_id")),
    Column("Kode Unit", _get("unit_code")),
    Column("Unit Kerja", _get("unit_name")),
    Column("NIP", _get("nip")),
    Column("Nama", _get("name")),
    Column("Jenis Pegawai", _get("employee_type")),
    Column("Jenis Jabatan", _coded("position_type", POSITION_TYPE_LABELS)),
    Column("Jabatan", _get("position_name")),
    Column("Golongan", _get("grade")),
    Column("Nilai Hasil Kerja", _get("results_score"), SCORE),
    Column("Nilai Perilaku", _get("behavior_score"), SCORE),
    Column("Nilai Disiplin", _get("discipline_score"), SCORE),
    Column("Nilai Kinerja Unit", _get("unit_score"), SCORE),
    Column("Nilai Akhir", _get("final_score"), SCORE),
    Column("Rating Hasil Kerja", _coded("results_rating", RATING_LABELS)),
    Column("Rating Perilaku", _coded("behavior_rating", RATING_LABELS)),
    Column("Predikat", _coded("predikat", PREDIKAT_LABELS)),
    Column("Peringkat di Unit", _get("rank_in_unit"), COUNT),
    Column("Status Penilaian", _coded("status", STATUS_LABELS)),
)

FOLLOWUP_COLUMNS = (
    Column("Periode", _get("period_id")),
    Column("Kode Unit", _get("unit_code")),
    Column("Unit Kerja", _get("unit_name")),
    Column("NIP", _get("nip")),
    Column("Nama", _get("name")),
    Column("Jabatan", _get("position_name")),
    Column("Predikat", _coded("predikat", PREDIKAT_LABELS)),
    Column("Kandidat Penghargaan", _yes_no("reward_candidate")),
    Column("Perlu Pembinaan", _yes_no("coaching_required")),
    Column("Kebutuhan Pelatihan", lambda row: aspect_labels(row.get("training_needs"))),
    Column("Hari TK Tahun Berjalan", _get("absent_days_ytd"), COUNT),
    Column("Sanksi Disiplin", _coded("discipline_sanction", SANCTION_LABELS)),
    Column("Kode Sanksi", _get("discipline_sanction")),
    Column("Memenuhi Syarat Promosi", _yes_no("promotion_eligible")),
)

ATTENDANCE_COLUMNS = (
    Column("Periode", _get("period_id")),
    Column("Kode Unit", _get("unit_code")),
    Column("Unit Kerja", _get("unit_name")),
    Column("NIP", _get("nip")),
    Column("Nama", _get("name")),
    Column("Hari Kerja", _get("working_days"), COUNT),
    Column("Hadir", _get("present_days"), COUNT),
    Column("Sakit", _get("sick_days"), COUNT),
    Column("Izin", _get("permit_days"), COUNT),
    Column("Cuti", _get("leave_days"), COUNT),
    Column("Dinas Luar", _get("duty_days"), COUNT),
    Column("Tanpa Keterangan (TK)", _get("absent_days"), COUNT),
    Column("Terlambat (kali)", _get("late_count"), COUNT),
    Column("Terlambat (menit)", _get("late_minutes"), COUNT),
    Column("Pulang Cepat (kali)", _get("early_count"), COUNT),
    Column("Pulang Cepat (menit)", _get("early_minutes"), COUNT),
    Column("Potongan (%)", _get("deduction_pct"), SCORE),
    Column("Nilai Disiplin", _get("discipline_score"), SCORE),
)

UNIT_COLUMNS = (
    Column("Periode", _get("period_id")),
    Column("Kode Unit", _get("unit_code")),
    Column("Unit Kerja", _get("unit_name")),
    Column("Nilai IKU", _get("iku_score"), SCORE),
    Column("Pagu Anggaran (Rp)", _get("budget_pagu"), MONEY),
    Column("Realisasi Anggaran (Rp)", _get("budget_realisasi"), MONEY),
    Column("Penyerapan Anggaran (%)", _get("absorption_pct"), SCORE),
    Column("Efisiensi (%)", _get("efficiency_pct"), SCORE),
    Column("Predikat Organisasi", _coded("org_predikat", ORG_PREDIKAT_LABELS)),
    Column("Jumlah Pegawai", _get("headcount"), COUNT),
    Column("Jumlah Dinilai", _get("appraised_count"), COUNT),
    *(Column(f"Jumlah {PREDIKAT_LABELS[p]}", _get(f"n_{p}"), COUNT) for p in PREDIKAT_ORDER),
    Column("Pelanggaran Kurva Distribusi", _get("breaches"), COUNT),
)

DISTRIBUTION_COLUMNS = (
    Column("Periode", _get("period_id")),
    Column("Kode Unit", _get("unit_code")),
    Column("Unit Kerja", _get("unit_name")),
    Column("Predikat", _coded("predikat", PREDIKAT_LABELS)),
    Column("Jumlah Pegawai", _get("employee_count"), COUNT),
    Column("Proporsi", _get("share"), SHARE),
)

CHECK_COLUMNS = (
    Column("Periode", _get("period_id")),
    Column("Kode Unit", _get("unit_code")),
    Column("Unit Kerja", _get("unit_name")),
    Column("Predikat Organisasi", _coded("org_predikat", ORG_PREDIKAT_LABELS)),
    Column("Aturan", _get("rule")),
    Column("Predikat yang Dihitung", lambda row: ", ".join(
        PREDIKAT_LABELS.get(p, p) for p in str(row.get("predikat_set") or "").split(",") if p)),
    Column("Jumlah Pegawai", _get("employee_count"), COUNT),
    Column("Proporsi", _get("share"), SHARE),
    Column("Proporsi Minimum", _get("min_share"), SHARE),
    Column("Proporsi Maksimum", _get("max_share"), SHARE),
    Column("Jumlah Minimum", _get("min_count"), COUNT),
    Column("Melanggar", _yes_no("breach")),
)

QUARANTINE_COLUMNS = (
    Column("Dataset", _coded("dataset", DATASET_LABELS)),
    Column("Berkas:Baris", _get("record_ref")),
    Column("Alasan", _get("reasons")),
    Column("Isi Baris (JSON)", _get("payload")),
)

# Sheet names: Excel allows 31 characters and no `/`.
SHEETS = ("Penilaian", "Tindak Lanjut", "Kehadiran", "Kinerja Unit", "Distribusi Predikat",
          "Kurva Distribusi", "Karantina", "Kalibrasi Penilai", "Keterangan")


def _calibration_sheet(data: ReportData) -> tuple[tuple[Column, ...], list[dict[str, Any]]]:
    """The rater calibration (tasks/explain/calibration.py): one row per rater and unit, each
    share beside the unit's and the agency's; or one row saying why it is missing."""
    calibration = data.calibration
    if calibration is None or not calibration.available:
        note = calibration.note if calibration is not None and calibration.note else (
            "data penilaian atasan (ratings.csv) run ini tidak tersedia untuk buku kerja ini")
        return (Column("Keterangan", _get("note")),), [
            {"note": f"Kalibrasi penilai tidak tersedia: {note}."}]
    names = dict(zip(data.employees["nip"].astype(str), data.employees["name"].astype(str),
                     strict=True))
    unit_names = dict(zip(data.units["unit_code"].astype(str),
                          data.units["unit_name"].astype(str), strict=True))
    calibration.with_names(names, unit_names)
    shares: list[Column] = []
    for kind, kind_label in (("results", "Hasil Kerja"), ("behavior", "Perilaku")):
        for label in calibration.rating_labels():
            for prefix, whose in (("", "Penilai"), ("unit_", "Unit"), ("agency_", "Instansi")):
                shares.append(Column(f"{kind_label} {RATING_LABELS.get(label, label)} ({whose})",
                                     _get(f"{prefix}{kind}_{label}"), SHARE))
    for prefix, whose in (("", "Penilai"), ("unit_", "Unit"), ("agency_", "Instansi")):
        shares.append(Column(f"Sangat Baik ({whose})", _get(f"{prefix}top_share"), SHARE))
    columns = (
        Column("Periode", lambda row: data.period.id),
        Column("Kode Unit", _get("unit_code")),
        Column("Unit Kerja", lambda row: unit_names.get(row["unit_code"], row["unit_code"])),
        Column("Predikat Organisasi", _coded("org_predikat", ORG_PREDIKAT_LABELS)),
        Column("NIP Penilai", _get("rater_nip")),
        Column("Nama Penilai", lambda row: names.get(row["rater_nip"]) if row["rater_nip"]
               else "(tanpa NIP penilai)"),
        Column("Pegawai Dinilai", _get("employees"), COUNT),
        Column("Pegawai Dinilai di Unit", _get("unit_employees"), COUNT),
        *shares,
        Column("Batas Kurva Sangat Baik", _get("top_bound"), SHARE),
        Column("Melebihi Kurva", _yes_no("exceeds")),
        Column("Keterangan", lambda row: calibration.sentences.get(
            (str(row["unit_code"]), str(row["rater_nip"])), "")),
    )
    return columns, calibration.records()


def _about(data: ReportData) -> list[dict[str, Any]]:
    run, quality = data.run, data.quality or {}
    status = quality.get("status")
    lines = [
        ("Instansi", f"{data.agency_name} ({data.agency_code})"),
        ("Periode", f"{data.period.id}: {period_title(data.period)}"),
        ("Run", run["run_id"]),
        ("Kebijakan penilaian", f"{run.get('policy_name') or '–'} "
                                f"(sha256 {run.get('policy_hash') or '–'})"),
        ("Run selesai", format_timestamp(run.get("finished_at"))),
        ("Jenis run", RUN_KIND_LABELS.get(run.get("kind"), run.get("kind"))),
        ("Mutu data", QUALITY_LABELS.get(status, str(status))
         + (f" ({quality.get('failed')} dari {quality.get('evaluated')} pemeriksaan gagal)"
            if status else "")),
        ("Dibuat", format_timestamp(data.generated_at)),
        ("Catatan", "Nilai disimpan tanpa pembulatan; tampilan dua desimal."),
    ]
    return [{"key": k, "value": v} for k, v in lines]


def write_workbook(data: ReportData, reports_dir: str | Path) -> Path:
    """Write the HR workbook of one agency-period's publication; returns its path."""
    path = workbook_path(reports_dir, data.agency_code, data.period.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    employees = _records(data.employees)
    book = Workbook(write_only=True)
    _write_sheet(book, "Penilaian", APPRAISAL_COLUMNS, employees)
    _write_sheet(book, "Tindak Lanjut", FOLLOWUP_COLUMNS, employees)
    _write_sheet(book, "Kehadiran", ATTENDANCE_COLUMNS, employees)
    _write_sheet(book, "Kinerja Unit", UNIT_COLUMNS, _records(data.units))
    _write_sheet(book, "Distribusi Predikat", DISTRIBUTION_COLUMNS,
                 _records(data.distribution.sort_values(
                     ["unit_name", "predikat"],
                     key=lambda s: s.map({p: i for i, p in enumerate(PREDIKAT_ORDER)})
                     if s.name == "predikat" else s)))
    _write_sheet(book, "Kurva Distribusi", CHECK_COLUMNS, _records(data.checks))
    _write_sheet(book, "Karantina", QUARANTINE_COLUMNS, _records(data.quarantine))
    _write_sheet(book, "Kalibrasi Penilai", *_calibration_sheet(data))
    _write_sheet(book, "Keterangan", (Column("Keterangan", _get("key")),
                                      Column("Isi", _get("value"))), _about(data))
    # Written whole then renamed, so HR never opens a half-written workbook.
    partial = path.with_suffix(".xlsx.partial")
    book.save(partial)
    partial.replace(path)
    return path
