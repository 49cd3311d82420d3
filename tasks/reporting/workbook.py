"""The HR workbooks (interface.md "Reports"): the agency's `<agency>_<period>_hasil.xlsx` and one
per OPD (`<agency>_<period>/opd/<unit>.xlsx`), so an office gets only its own people.

A workbook HR would build themselves: a `Ringkasan` sheet first, then one sheet per result table
with labels instead of codes (the codes in trailing columns for data engineers), Indonesian
headers, the header row frozen, filtered and repeated on every printed page, A4 landscape fitted
to the page width, Rupiah as whole numbers, numbers stored as numbers (unrounded; shown with two
decimals), so HR can sort, filter and compute without re-typing anything.

Written by `xlsx.py`, which builds a column's cells for many rows at once and streams rows into
the file. Cells are built chunk by chunk (`CHUNK_ROWS` rows), for the agency's workbook and for
batches of OPDs, never for a whole sheet of the agency: a province-sized agency stays within
memory and seconds. Source text never becomes a
formula: that writer has no way to write one, and text Excel would read as a formula when edited
(`=`, `+`, `-`, `@`, tab, CR, LF, their full-width forms, an error literal) carries Excel's own
quote prefix.

To add a sheet: one `Sheet(...)` in `SHEET_SPECS`, with its columns and a function that picks its
rows from the report data (see the existing ones; `Kalibrasi Penilai`, the rater calibration of
issue 12, has columns that depend on the data).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tasks.reporting import xlsx
from tasks.reporting.report import (
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
    aspect_labels,
    format_timestamp,
    missing,
    opd_file,
    output_stem,
    period_title,
    predikat_set_label,
    reasons_sentence,
)
from tasks.reporting.report_text import rule_sentence

SCORE = "0.00"
SHARE = "0.00%"
MONEY = "#,##0"
COUNT = "0"
TEXT = None
MIN_WIDTH, MAX_WIDTH = 8, 60


def workbook_path(reports_dir: str | Path, agency_code: str, period_id: str) -> Path:
    return Path(reports_dir) / f"{output_stem(agency_code, period_id)}_hasil.xlsx"


# Columns ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    header: str
    values: Callable[[pd.DataFrame], Any]  # the column's values for a frame of rows
    number_format: str | None = TEXT


def _get(key: str) -> Callable[[pd.DataFrame], Any]:
    return lambda frame: frame[key] if key in frame else pd.Series([None] * len(frame))


def _each(values: pd.Series, function: Callable[[Any], Any]) -> pd.Series:
    """`values.map(function)`, calling `function` once per distinct value rather than once per
    row: a column of codes holds a handful of them in 100,000 rows. Missing values (None, NaN,
    pd.NA, NaT: factorize makes them one) are mapped once per kind, as each may read apart."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    out = np.empty(len(uniques), dtype=object)
    out[:] = [function(v) for v in uniques]
    out = out.take(np.maximum(codes, 0)) if len(uniques) else np.empty(len(values), object)
    absent = np.flatnonzero(codes < 0)
    if len(absent):
        kinds: dict[type, Any] = {}
        for position, value in zip(absent, values.iloc[absent], strict=True):
            kind = type(value)
            if kind not in kinds:
                kinds[kind] = function(value)
            out[position] = kinds[kind]
    return pd.Series(out, index=values.index, dtype=object)


def _coded(key: str, labels: dict[Any, str]) -> Callable[[pd.DataFrame], Any]:
    """The label of each code; an unknown code shows as itself."""
    return lambda frame: _each(frame[key], lambda v: None if missing(v) else labels.get(v, v))


def _yes_no(key: str) -> Callable[[pd.DataFrame], Any]:
    return lambda frame: _each(
        frame[key], lambda v: None if missing(v) else ("Ya" if bool(v) else "Tidak"))


def _opd_name(frame: pd.DataFrame) -> Any:
    return frame["opd_name"]


PERIOD = Column("Periode", _get("period_id"))

APPRAISAL_COLUMNS = (
    Column("OPD", _opd_name),
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
    # For data engineers: the codes as stored.
    PERIOD,
    Column("Kode OPD", _get("opd_code")),
    Column("Kode Unit", _get("unit_code")),
    Column("Kode Jenis Jabatan", _get("position_type")),
    Column("Kode Rating Hasil Kerja", _get("results_rating")),
    Column("Kode Rating Perilaku", _get("behavior_rating")),
    Column("Kode Predikat", _get("predikat")),
    Column("Kode Status", _get("status")),
)

FOLLOWUP_COLUMNS = (
    Column("OPD", _opd_name),
    Column("Unit Kerja", _get("unit_name")),
    Column("NIP", _get("nip")),
    Column("Nama", _get("name")),
    Column("Jabatan", _get("position_name")),
    Column("Predikat", _coded("predikat", PREDIKAT_LABELS)),
    Column("Kandidat Penghargaan", _yes_no("reward_candidate")),
    Column("Perlu Pembinaan", _yes_no("coaching_required")),
    Column("Kebutuhan Pelatihan", lambda f: _each(f["training_needs"], aspect_labels)),
    Column("Hari TK Tahun Berjalan", _get("absent_days_ytd"), COUNT),
    Column("Sanksi Disiplin", _coded("discipline_sanction", SANCTION_LABELS)),
    Column("Memenuhi Syarat Promosi", _yes_no("promotion_eligible")),
    PERIOD,
    Column("Kode OPD", _get("opd_code")),
    Column("Kode Unit", _get("unit_code")),
    Column("Kode Predikat", _get("predikat")),
    Column("Kode Sanksi", _get("discipline_sanction")),
    Column("Kode Pelatihan", _get("training_needs")),
)

ATTENDANCE_COLUMNS = (
    Column("OPD", _opd_name),
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
    PERIOD,
    Column("Kode OPD", _get("opd_code")),
    Column("Kode Unit", _get("unit_code")),
)

UNIT_COLUMNS = (
    Column("OPD", _opd_name),
    Column("Unit Kerja", _get("unit_name")),
    Column("Unit Induk", _get("parent_name")),
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
    PERIOD,
    Column("Kode OPD", _get("opd_code")),
    Column("Kode Unit", _get("unit_code")),
    Column("Kode Unit Induk", _get("parent_unit_code")),
    Column("Kode Predikat Organisasi", _get("org_predikat")),
)

DISTRIBUTION_COLUMNS = (
    Column("OPD", _opd_name),
    Column("Unit Kerja", _get("unit_name")),
    Column("Predikat", _coded("predikat", PREDIKAT_LABELS)),
    Column("Jumlah Pegawai", _get("employee_count"), COUNT),
    Column("Proporsi", _get("share"), SHARE),
    PERIOD,
    Column("Kode Unit", _get("unit_code")),
    Column("Kode Predikat", _get("predikat")),
)

CHECK_COLUMNS = (
    Column("OPD", _opd_name),
    Column("Unit Kerja", _get("unit_name")),
    Column("Predikat Organisasi", _coded("org_predikat", ORG_PREDIKAT_LABELS)),
    Column("Aturan", lambda f: pd.Series([rule_sentence(r) for r in f.to_dict("records")],
                                         index=f.index, dtype=object)),
    Column("Predikat yang Dihitung", lambda f: _each(f["predikat_set"], predikat_set_label)),
    Column("Jumlah Pegawai", _get("employee_count"), COUNT),
    Column("Proporsi", _get("share"), SHARE),
    Column("Proporsi Minimum", _get("min_share"), SHARE),
    Column("Proporsi Maksimum", _get("max_share"), SHARE),
    Column("Jumlah Minimum", _get("min_count"), COUNT),
    Column("Melanggar", _yes_no("breach")),
    PERIOD,
    Column("Kode Unit", _get("unit_code")),
    Column("Kode Aturan", _get("rule")),
    Column("Kode Predikat Organisasi", _get("org_predikat")),
    Column("Kode Predikat yang Dihitung", _get("predikat_set")),
)

QUARANTINE_COLUMNS = (
    Column("Data", _coded("dataset", DATASET_LABELS)),
    Column("Berkas:Baris", _get("record_ref")),
    Column("Alasan", lambda f: _each(f["reasons"], reasons_sentence)),
    Column("Isi Baris (JSON)", _get("payload")),
    Column("Pesan Validasi (asli)", _get("reasons")),
    Column("Kode Data", _get("dataset")),
)

ABOUT_COLUMNS = (Column("Keterangan", _get("key")), Column("Isi", _get("value")))


# Sheets ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """The rows one workbook holds: the agency's, or one OPD's (`opd` its dim row)."""

    data: ReportData
    opd: dict[str, Any] | None
    employees: pd.DataFrame
    units: pd.DataFrame
    distribution: pd.DataFrame
    checks: pd.DataFrame


@dataclass(frozen=True)
class Sheet:
    name: str  # Excel allows 31 characters and no `/`
    # Fixed columns, or a function of the workbook's part when they depend on the data
    # (the calibration's rating labels); such a sheet has per_opd_rows False.
    columns: Sequence[Column] | Callable[[Part], Sequence[Column]]
    rows: Callable[[Part], pd.DataFrame]
    agency_only: bool = False  # not in the OPD workbooks
    # Rows prepared once over the agency and taken per OPD by `opd_code`; False for a small
    # sheet built anew for every workbook.
    per_opd_rows: bool = True


def _distribution_rows(part: Part) -> pd.DataFrame:
    order = {p: i for i, p in enumerate(PREDIKAT_ORDER)}
    return part.distribution.assign(_p=part.distribution["predikat"].map(order)).sort_values(
        ["unit_order", "_p"])


def _calibration_unit_names(data: ReportData) -> dict[str, str]:
    return dict(zip(data.units["unit_code"].astype(str), data.units["unit_name"].astype(str),
                    strict=True))


def _calibration_columns(part: Part) -> Sequence[Column]:
    """The rater calibration (issue 12, tasks/explain/calibration.py): one row per rater and
    unit, each share beside the unit's and the agency's; or one column saying why it is
    missing. Every text goes through the writer's text path (never a formula)."""
    data = part.data
    calibration = data.calibration
    if calibration is None or not calibration.available:
        return (Column("Keterangan", _get("note")),)
    from tasks.reporting.report_sections import calibration_records

    calibration_records(data)  # the sentences on lenient raters, written once per report
    names = dict(zip(data.employees["nip"].astype(str), data.employees["name"].astype(str),
                     strict=True))
    unit_names = _calibration_unit_names(data)
    shares: list[Column] = []
    for kind, kind_label in (("results", "Hasil Kerja"), ("behavior", "Perilaku")):
        for label in calibration.rating_labels():
            for prefix, whose in (("", "Penilai"), ("unit_", "Unit"), ("agency_", "Instansi")):
                shares.append(Column(f"{kind_label} {RATING_LABELS.get(label, label)} ({whose})",
                                     _get(f"{prefix}{kind}_{label}"), SHARE))
    for prefix, whose in (("", "Penilai"), ("unit_", "Unit"), ("agency_", "Instansi")):
        shares.append(Column(f"Sangat Baik ({whose})", _get(f"{prefix}top_share"), SHARE))

    converted: dict[str, Any] = {}

    def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
        # Four columns read the same rows: converted to dicts once (a rater each).
        if converted.get("frame") is not frame:
            converted.update(frame=frame, rows=frame.to_dict("records"))
        return converted["rows"]

    def each(function: Callable[[dict[str, Any]], Any]) -> Callable[[pd.DataFrame], Any]:
        return lambda frame: pd.Series([function(r) for r in records(frame)],
                                       index=frame.index, dtype=object)

    return (
        Column("Periode", each(lambda r: data.period.id)),
        Column("Kode Unit", _get("unit_code")),
        Column("Unit Kerja", each(lambda r: unit_names.get(r["unit_code"], r["unit_code"]))),
        Column("Predikat Organisasi", _coded("org_predikat", ORG_PREDIKAT_LABELS)),
        Column("NIP Penilai", _get("rater_nip")),
        Column("Nama Penilai", each(lambda r: names.get(r["rater_nip"]) if r["rater_nip"]
                                    else "(tanpa NIP penilai)")),
        Column("Pegawai Dinilai", _get("employees"), COUNT),
        Column("Pegawai Dinilai di Unit", _get("unit_employees"), COUNT),
        *shares,
        Column("Batas Kurva Sangat Baik", _get("top_bound"), SHARE),
        Column("Melebihi Kurva", _yes_no("exceeds")),
        Column("Keterangan", each(lambda r: calibration.sentences.get(
            (str(r["unit_code"]), str(r["rater_nip"])), ""))),
    )


def _calibration_rows(part: Part) -> pd.DataFrame:
    calibration = part.data.calibration
    if calibration is None or not calibration.available:
        note = calibration.note if calibration is not None and calibration.note else (
            "data penilaian atasan (ratings.csv) run ini tidak tersedia untuk buku kerja ini")
        return pd.DataFrame({"note": [f"Kalibrasi penilai tidak tersedia: {note}."]})
    assert calibration.table is not None
    from tasks.reporting.report_sections import calibration_records

    return pd.DataFrame(calibration_records(part.data), columns=list(calibration.table.columns))


SHEET_SPECS: tuple[Sheet, ...] = (
    Sheet("Penilaian", APPRAISAL_COLUMNS, lambda p: p.employees),
    Sheet("Tindak Lanjut", FOLLOWUP_COLUMNS, lambda p: p.employees),
    Sheet("Kehadiran", ATTENDANCE_COLUMNS, lambda p: p.employees),
    Sheet("Kinerja Unit", UNIT_COLUMNS, lambda p: p.units),
    Sheet("Distribusi Predikat", DISTRIBUTION_COLUMNS, _distribution_rows),
    Sheet("Kurva Distribusi", CHECK_COLUMNS, lambda p: p.checks),
    Sheet("Karantina", QUARANTINE_COLUMNS, lambda p: p.data.quarantine, agency_only=True),
    Sheet("Kalibrasi Penilai", _calibration_columns, _calibration_rows, agency_only=True,
          per_opd_rows=False),
    Sheet("Keterangan", ABOUT_COLUMNS, lambda p: pd.DataFrame(_about(p)), per_opd_rows=False),
)
SUMMARY_SHEET = "Ringkasan"
SHEETS = (SUMMARY_SHEET, *(s.name for s in SHEET_SPECS))
OPD_SHEETS = (SUMMARY_SHEET, *(s.name for s in SHEET_SPECS if not s.agency_only))


def _about(part: Part) -> list[dict[str, Any]]:
    data = part.data
    run, quality = data.run, data.quality or {}
    status = quality.get("status")
    lines = [
        ("Instansi", f"{data.agency_name} ({data.agency_code})"),
        *([("OPD", f"{part.opd['unit_name']} ({part.opd['unit_code']})")] if part.opd else []),
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
        ("Catatan", "Nilai disimpan tanpa pembulatan; tampilan dua desimal. Kolom berawalan "
                    "“Kode” memuat kode yang tersimpan di gudang data, untuk tim data."),
    ]
    for title, labels in (("Kode predikat", PREDIKAT_LABELS),
                          ("Kode predikat organisasi", ORG_PREDIKAT_LABELS),
                          ("Kode status penilaian", STATUS_LABELS),
                          ("Kode rating", RATING_LABELS),
                          ("Kode sanksi", SANCTION_LABELS)):
        lines += [(f"{title} {code}", text) for code, text in labels.items()]
    return [{"key": k, "value": v} for k, v in lines]


# Writing ---------------------------------------------------------------------------------------

_KINDS = {SCORE: "score", SHARE: "share", MONEY: "money", COUNT: "count"}


def _width(header: str, longest: float) -> float:
    return min(max(len(header), longest) + 2, MAX_WIDTH) if longest == longest else \
        max(len(header) + 2, MIN_WIDTH)


def column_values(column: Column, frame: pd.DataFrame) -> np.ndarray | pa.Array:
    """A column's values for the rows of `frame`, as its cells are built from them: float64
    numbers for a number column, Arrow text (null for an empty cell) for a text column."""
    values = column.values(frame)
    series = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    if column.number_format:
        return pd.to_numeric(series, errors="coerce").astype("float64").to_numpy()
    if isinstance(series.dtype, pd.StringDtype):
        # Arrow-backed text (the warehouse's, `_tables`' conversions): no copy at all.
        return pa.array(series.array, type=pa.large_string())
    if pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty"):
        # Texts and empty cells only (None, NaN and pd.NA become empty cells): Arrow takes
        # them as they are, without a Python loop.
        return pa.array(series.to_numpy(dtype=object), type=pa.large_string(),
                        from_pandas=True)
    text = series.astype(object).where(series.notna(), None)
    return pa.array([v if v is None or isinstance(v, str) else str(v) for v in text],
                    type=pa.large_string())


def column_width(column: Column, values: np.ndarray | pa.Array) -> float:
    """The width that fits the column's header and its longest value (of `values`)."""
    if column.number_format:
        finite = values[np.isfinite(values)]
        peak = float(np.abs(finite).max()) if len(finite) else 0.0
        decimals = 0 if column.number_format in (MONEY, COUNT) else 2
        scale = 100 if column.number_format == SHARE else 1
        shown = len(f"{peak * scale:,.{decimals}f}") + (1 if column.number_format == SHARE
                                                        else 0)
        return min(max(len(column.header), shown, MIN_WIDTH - 2) + 2, MAX_WIDTH)
    longest = pc.max(pc.utf8_length(values)).as_py() or 0
    return min(max(len(column.header), longest, MIN_WIDTH - 2) + 2, MAX_WIDTH)


def column_cells(column: Column, values: np.ndarray | pa.Array, width: float) -> xlsx.Column:
    """The column's cells for `values` (column_values), shown `width` wide."""
    if column.number_format:
        return xlsx.number_column(column.header, _KINDS[column.number_format], values, width)
    if len(values) >= _DISTINCT_FROM:
        # Labels and codes repeat (a handful of predikat, a few hundred units in 10,000 rows):
        # the cell of each distinct text is built once, then taken for every row.
        encoded = pc.dictionary_encode(values)
        if len(encoded.dictionary) * 4 <= len(values):
            cells = xlsx.text_column(column.header, encoded.dictionary, width).cells
            return xlsx.Column(column.header, cells.take(encoded.indices), width)
    return xlsx.text_column(column.header, values, width)


_DISTINCT_FROM = 256


def prepare_column(column: Column, frame: pd.DataFrame) -> xlsx.Column:
    """A column's cells for every row of `frame`, with a width that fits its longest value."""
    values = column_values(column, frame)
    return column_cells(column, values, column_width(column, values))


# A sheet's cells are built for at most this many rows at a time: memory holds one chunk's
# cells (a few MB per column), never a sheet's or the agency's.
CHUNK_ROWS = xlsx.CHUNK_ROWS


@dataclass
class _Table:
    """One sheet of rows over the agency (the OPD workbooks take theirs by `opd_code`): the
    rows, the column widths (fitted to the agency's rows, as in every OPD's workbook) and each
    OPD's row positions. Cells are built from it chunk by chunk, never kept for the sheet."""

    columns: Sequence[Column]
    frame: pd.DataFrame
    by_opd: dict[str, np.ndarray] | None
    widths: list[float] | None = None

    def fitted(self) -> list[float]:
        if self.widths is None:
            self.widths = [column_width(c, column_values(c, self.frame)) for c in self.columns]
        return self.widths

    def rows_of(self, opd_code: str) -> np.ndarray:
        return (self.by_opd or {}).get(opd_code, _NO_ROWS)

    def cells(self, positions: np.ndarray | slice) -> list[xlsx.Column]:
        """The cells of the rows at `positions` (an array, or a slice: no copy of the rows)."""
        frame = self.frame.iloc[positions]
        return [column_cells(c, column_values(c, frame), w)
                for c, w in zip(self.columns, self.fitted(), strict=True)]

    def chunks(self, positions: np.ndarray | None = None) -> Iterator[list[xlsx.Column]]:
        """The cells of every row (or of `positions`), CHUNK_ROWS rows at a time."""
        count = len(self.frame) if positions is None else len(positions)
        for start in range(0, count, CHUNK_ROWS):
            stop = min(start + CHUNK_ROWS, count)
            yield self.cells(slice(start, stop) if positions is None
                             else _as_slice(positions[start:stop]))


_NO_ROWS = np.zeros(0, dtype="int64")


def _as_slice(positions: np.ndarray) -> np.ndarray | slice:
    """Consecutive positions as a slice (a view of the rows instead of a copy)."""
    if len(positions) and positions[-1] - positions[0] == len(positions) - 1 and (
            len(positions) < 3 or bool(np.all(np.diff(positions) == 1))):
        return slice(int(positions[0]), int(positions[-1]) + 1)
    return positions


def _arrow_text(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with its columns of Python strings as Arrow-backed text: three sheets take
    names and codes from the employees, chunk by chunk, twice over (the agency's workbook and
    the OPDs'); converted once here, each chunk's text is then a slice, not a conversion.
    Only for the employees' sheets, whose columns read missing text through `missing` (a
    missing text turns from None into NaN here)."""
    text = {name: frame[name].astype(pd.StringDtype("pyarrow", na_value=np.nan))
            for name in frame.columns
            if frame[name].dtype == object
            and pd.api.types.infer_dtype(frame[name], skipna=True) == "string"}
    return frame.assign(**text) if text else frame


def _tables(data: ReportData) -> dict[str, _Table]:
    """The sheets whose rows are the agency's, taken per OPD: built once per report (frames
    are the report's own, not copies; widths are fitted on first use)."""
    cache = data.__dict__.setdefault("_workbook_tables", {})
    if cache:
        return cache
    part = _part(_named(data), None)
    employees = _arrow_text(data.employees)
    for spec in SHEET_SPECS:
        if not spec.per_opd_rows:
            continue
        assert not callable(spec.columns)
        frame = spec.rows(part)
        if frame is data.employees:
            frame = employees
        if not frame.index.equals(pd.RangeIndex(len(frame))):
            frame = frame.reset_index(drop=True)
        by_opd = None
        if "opd_code" in frame:
            by_opd = {code: np.asarray(rows, dtype="int64")
                      for code, rows in frame.groupby("opd_code", sort=False).indices.items()}
        cache[spec.name] = _Table(spec.columns, frame, by_opd)
    return cache


def write_summary(book: xlsx.Workbook, part: Part, title: str) -> None:
    """The `Ringkasan` sheet: the figures a head of office asks for first."""
    from tasks.reporting.report_sections import _rows_by_opd, opd_headline, predikat_rows

    data = part.data
    key = part.opd["unit_code"] if part.opd else None
    people = _rows_by_opd(data)["people"].get(key, [])
    h = opd_headline(data, key)
    quality = data.quality or {}
    plain, bold = xlsx.DEFAULT, xlsx.BOLD
    rows: list[list[tuple[Any, int]]] = [[(title, xlsx.TITLE)], []]

    def line(key: str, value: Any, style: int = xlsx.COUNT) -> None:
        shown = "–" if value is None or (isinstance(value, float) and math.isnan(value)) \
            else value
        rows.append([(key, plain), (shown, style if not isinstance(shown, str) else plain)])

    line("Instansi", f"{data.agency_name} ({data.agency_code})")
    if part.opd:
        line("OPD", f"{part.opd['unit_name']} ({part.opd['unit_code']})")
    line("Periode", period_title(data.period))
    line("Pegawai", h["employees"])
    line("Dinilai", h["appraised"])
    line("Belum dinilai atasan", h["not_rated"])
    line("Tidak aktif pada periode ini", h["inactive"])
    line("Rata-rata nilai akhir", None if h["mean_final"] is None else float(h["mean_final"]),
         xlsx.SCORE)
    line("Unit kerja", h["units"])
    line("Kandidat penghargaan", h["rewards"])
    line("Perlu pembinaan", h["coaching"])
    line("Perlu pelatihan", h["training"])
    line("Dikenai sanksi disiplin", h["sanctioned"])
    line("Memenuhi syarat promosi", h["promotion"])
    line("Unit diperiksa kurva distribusi", h["checked_units"])
    line("Unit melanggar kurva distribusi", h["breach_units"])
    line("Mutu data", QUALITY_LABELS.get(quality.get("status"), str(quality.get("status"))))
    rows.append([])
    rows.append([("Predikat", xlsx.HEADER), ("Jumlah pegawai", xlsx.HEADER),
                 ("Proporsi", xlsx.HEADER)])
    for p in predikat_rows(people):
        rows.append([(p["label"], plain), (p["count"], xlsx.COUNT),
                     (None if p["share"] is None else float(p["share"]), xlsx.SHARE)])
    rows.append([])
    rows.append([("Lembar lain", bold)])
    rows += [[(name, plain)] for name in (OPD_SHEETS if part.opd else SHEETS)[1:]]
    book.free(SUMMARY_SHEET, rows, [44, 18, 14], print_title=f"{title} — {SUMMARY_SHEET}")


def _part(data: ReportData, opd: dict[str, Any] | None) -> Part:
    """The agency's frames; an OPD's workbook takes its rows by position (`_tables`)."""
    return Part(data, opd, data.employees, data.units, data.distribution, data.checks)


def _named(data: ReportData) -> ReportData:
    """The frames with the OPD's and the parent unit's names beside their codes."""
    if "opd_name" in data.employees:
        return data
    names = data.organisation.set_index("unit_code")["unit_name"]
    for frame in (data.employees, data.units, data.distribution, data.checks):
        frame["opd_name"] = frame["opd_code"].map(names).fillna(frame["opd_code"])
    data.units["parent_name"] = data.units["parent_unit_code"].map(names)
    return data


# Per sheet of an OPD's workbook: chunks of its cells (prepared for a batch of OPDs).
_Chunks = Callable[[str], Iterable[Sequence[xlsx.Column]]]


def _write(path: Path, data: ReportData, opd: dict[str, Any] | None,
           chunks_of: _Chunks | None = None) -> Path:
    """One workbook: the agency's (`opd` None) or an OPD's, whose table sheets take their cells
    from `chunks_of(sheet name)` when given (else from its rows, chunk by chunk)."""
    tables = _tables(data)
    part = _part(data, opd)
    title = (f"Hasil Penilaian Kinerja ASN {data.agency_name} {data.period.id}"
             + (f" — {opd['unit_name']}" if opd else ""))
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written whole then renamed, so HR never opens a half-written workbook.
    partial = path.with_name(path.name + ".partial")
    book = xlsx.Workbook(partial, title)
    try:
        write_summary(book, part, title)
        for spec in SHEET_SPECS:
            if opd is not None and spec.agency_only:
                continue
            sheet_title = f"{title} — {spec.name}"
            if not spec.per_opd_rows:
                frame = spec.rows(part)
                columns = spec.columns(part) if callable(spec.columns) else spec.columns
                book.table(spec.name, [prepare_column(c, frame) for c in columns],
                           print_title=sheet_title)
                continue
            table = tables[spec.name]
            headers = [c.header for c in table.columns]
            if opd is None:
                book.stream(spec.name, headers, table.fitted(), len(table.frame),
                            table.chunks(), print_title=sheet_title)
                continue
            rows = table.rows_of(opd["unit_code"])
            chunks = chunks_of(spec.name) if chunks_of else table.chunks(rows)
            book.stream(spec.name, headers, table.fitted(), len(rows), chunks,
                        print_title=sheet_title)
    finally:
        book.close()
    partial.replace(path)
    return path


def write_workbook(data: ReportData, reports_dir: str | Path) -> Path:
    """The agency's workbook; returns its path."""
    return _write(workbook_path(reports_dir, data.agency_code, data.period.id), data, None)


def write_opd_workbooks(data: ReportData, folder: str | Path) -> list[Path]:
    """One workbook per OPD, `<folder>/<unit>.xlsx`, each with only that OPD's rows
    (`opd_workbook_batches`, `write_opd_batch`)."""
    return [path for batch in opd_workbook_batches(data)
            for path in write_opd_batch(data, folder, batch)]


def opd_workbook_batches(data: ReportData) -> list[list[dict[str, Any]]]:
    """The OPDs in batches whose workbooks are written together: consecutive OPDs up to
    CHUNK_ROWS rows in every sheet, an OPD larger than that alone. Cells are built for a
    batch at a time (`write_opd_batch`): a few hundred small OPDs do not each pay the fixed
    cost of building columns, and memory holds one batch's cells."""
    tables = _tables(data)
    batches: list[list[dict[str, Any]]] = []
    batch: list[dict[str, Any]] = []
    sizes = dict.fromkeys(tables, 0)
    for opd in data.opds.to_dict("records"):
        rows = {name: len(t.rows_of(opd["unit_code"])) for name, t in tables.items()}
        if batch and any(sizes[n] + rows[n] > CHUNK_ROWS for n in tables):
            batches.append(batch)
            batch, sizes = [], dict.fromkeys(tables, 0)
        batch.append(opd)
        for name, count in rows.items():
            sizes[name] += count
    if batch:
        batches.append(batch)
    return batches


def write_opd_batch(data: ReportData, folder: str | Path,
                    batch: list[dict[str, Any]]) -> list[Path]:
    """The workbooks of one batch of `opd_workbook_batches`: an OPD larger than CHUNK_ROWS
    alone, chunk by chunk; else from cells built once for all the batch's rows."""
    tables = _tables(data)
    paths: list[Path] = []
    if len(batch) == 1 and any(len(t.rows_of(batch[0]["unit_code"])) > CHUNK_ROWS
                               for t in tables.values()):
        paths.append(_write(_opd_path(folder, batch[0]), data, batch[0]))
    else:
        _write_batch(data, folder, batch, tables, paths)
    return paths


def _opd_path(folder: str | Path, opd: dict[str, Any]) -> Path:
    return Path(folder) / f"{opd_file(opd['unit_code'])}.xlsx"


def _write_batch(data: ReportData, folder: str | Path, batch: list[dict[str, Any]],
                 tables: dict[str, _Table], paths: list[Path]) -> None:
    """The workbooks of a batch of OPDs, from cells built once for all their rows."""
    cells: dict[str, list[xlsx.Column]] = {}
    bounds: dict[str, np.ndarray] = {}
    for name, table in tables.items():
        parts = [table.rows_of(opd["unit_code"]) for opd in batch]
        bounds[name] = np.cumsum([0, *(len(rows) for rows in parts)])
        cells[name] = table.cells(_as_slice(np.concatenate(parts))) if bounds[name][-1] else []
    for number, opd in enumerate(batch):
        def chunks_of(name: str, number: int = number) -> list[list[xlsx.Column]]:
            start, stop = (int(b) for b in bounds[name][number:number + 2])
            if stop == start:
                return []
            return [[xlsx.Column(c.header, c.cells.slice(start, stop - start), c.width)
                     for c in cells[name]]]
        paths.append(_write(_opd_path(folder, opd), data, opd, chunks_of))
