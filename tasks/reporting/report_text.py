"""What HR reads in the reports, in Indonesian: labels for every code, number, date and time
formats (WIB), the distribution-curve rules as sentences, and quarantine reasons translated from
the validation messages.

Display only: the warehouse, the views and the workbook's trailing columns keep the codes and the
original messages for data engineers. Nothing here reads or writes anything.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pandas as pd

from kinerja.period import Period
from kinerja.policy import default_policy

# Labels -----------------------------------------------------------------------------------------
# The codes and their order come from the shipped default policy's typed rules (`Policy.codes`,
# read when this module is imported); what is written here is only their Indonesian wording and
# colours, keyed by code (tests/unit/test_report_text.py
# checks that every code of every shipped policy has its wording).

_CODES = default_policy().codes
PREDIKAT_ORDER: tuple[str, ...] = _CODES.predikat
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
ORG_PREDIKAT_ORDER: tuple[str, ...] = _CODES.org_predikat
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
    "units": "Unit kerja",
    "employees": "Pegawai",
    "calendar": "Hari libur",
    "attendance": "Presensi",
    "skp": "SKP",
    "ratings": "Penilaian atasan",
    "unit_iku": "IKU unit",
    "budget": "Anggaran",
}
RUN_KIND_LABELS = {"scheduled": "terjadwal", "manual": "manual", "backfill": "pengulangan"}
RUN_STATUS_LABELS = {"running": "berjalan", "published": "terbit", "failed": "gagal"}
QUALITY_LABELS = {"passed": "Lulus", "failed": "Gagal", None: "Belum diperiksa"}
TABLE_LABELS = {
    "dim_agency": "Instansi",
    "dim_period": "Periode",
    "dim_unit": "Unit kerja",
    "dim_employee": "Pegawai",
    "fact_attendance": "Kehadiran pegawai",
    "fact_skp": "Capaian SKP",
    "fact_unit_performance": "Kinerja unit",
    "fact_appraisal": "Hasil penilaian",
    "fact_predikat_distribution": "Distribusi predikat",
    "fact_distribution_check": "Pemeriksaan kurva distribusi",
    "fact_followup": "Tindak lanjut",
}
MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
          "September", "Oktober", "November", "Desember")
# Source columns as HR calls them (quarantine reasons name them).
COLUMN_LABELS = {
    "nip": "NIP",
    "unit_code": "kode unit",
    "unit_name": "nama unit",
    "parent_unit_code": "kode unit induk",
    "name": "nama",
    "employee_type": "jenis pegawai",
    "position_type": "jenis jabatan",
    "position_name": "nama jabatan",
    "grade": "golongan",
    "supervisor_nip": "NIP atasan",
    "active_from": "tanggal mulai aktif",
    "active_to": "tanggal akhir aktif",
    "date": "tanggal",
    "description": "keterangan",
    "status": "status presensi",
    "check_in": "jam masuk",
    "check_out": "jam pulang",
    "terminal_id": "mesin presensi",
    "indicator_id": "kode indikator",
    "indicator": "indikator",
    "target": "target",
    "realization": "realisasi",
    "unit": "satuan",
    "polarity": "polaritas",
    "weight": "bobot",
    "rater_nip": "NIP penilai",
    "rated_at": "waktu penilaian",
    "results_rating": "rating hasil kerja",
    "behavior_rating": "rating perilaku",
    "iku_id": "kode IKU",
    "activity_code": "kode kegiatan",
    "activity_name": "nama kegiatan",
    "pagu": "pagu",
    "realisasi": "realisasi anggaran",
    **{aspect: f"aspek {label}" for aspect, label in ASPECT_LABELS.items()},
}

# The warehouse stores UTC; Indonesian government offices read Western Indonesian Time.
WIB = timedelta(hours=7)


def label(mapping: dict[Any, str], value: Any) -> str:
    return "–" if missing(value) else mapping.get(value, str(value))


# Formats (display only) -------------------------------------------------------------------------


def missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def format_number(value: Any, decimals: int = 2) -> str:
    """`1.234,56`: Indonesian grouping and decimal marks; `–` for a missing value."""
    if missing(value):
        return "–"
    number = round(float(value), decimals) + 0.0  # + 0.0 turns -0.0 into 0.0
    text = f"{number:,.{decimals}f}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def format_int(value: Any) -> str:
    return format_number(value, 0)


def format_share(value: Any) -> str:
    """A share (0..1) as a percentage: 0.875 -> `87,50%`."""
    return "–" if missing(value) else format_number(float(value) * 100) + "%"


def format_pct(value: Any) -> str:
    """A value already in percent: 86.73 -> `86,73%`."""
    return "–" if missing(value) else format_number(value) + "%"


def format_share_short(value: Any) -> str:
    """A share as a percentage without needless decimals: 0.25 -> `25%`, 0.8235 -> `82,4%`."""
    if missing(value):
        return "–"
    percent = float(value) * 100
    if abs(percent - round(percent)) < 1e-9:
        return format_number(percent, 0) + "%"
    return format_number(percent, 1) + "%"


def format_rupiah(value: Any) -> str:
    return "–" if missing(value) else "Rp " + format_number(value, 0)


def format_date(value: Any) -> str:
    if missing(value):
        return "–"
    day = pd.Timestamp(value)
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def format_timestamp(value: Any) -> str:
    """A warehouse timestamp (naive UTC, or an ISO text) in WIB: `1 Juli 2025 14:05 WIB`."""
    if missing(value) or value == "":
        return "–"
    moment = pd.Timestamp(value)
    if moment.tzinfo is not None:
        moment = moment.tz_convert("UTC").tz_localize(None)
    local = moment + WIB
    return f"{format_date(local)} {local:%H:%M} WIB"


def period_title(period: Period) -> str:
    half = "I" if period.half == 1 else "II"
    return (f"Semester {half} Tahun {period.year} "
            f"({format_date(period.start)} – {format_date(period.end)})")


def aspect_labels(needs: Any) -> str:
    if missing(needs) or not needs:
        return ""
    return ", ".join(ASPECT_LABELS.get(a, a) for a in str(needs).split(","))


def predikat_set_label(predikat_set: Any) -> str:
    """`BUTUH_PERBAIKAN,KURANG` -> `Butuh Perbaikan atau Kurang/Misconduct`."""
    names = [PREDIKAT_LABELS.get(p, p) for p in str(predikat_set or "").split(",") if p]
    return " atau ".join(names) or "–"


# The distribution curve as sentences ------------------------------------------------------------


def _rule_parts(check: dict[str, Any]) -> tuple[str, str]:
    """(the rule for the unit's org predikat, what the unit has) of one curve check."""
    org = label(ORG_PREDIKAT_LABELS, check.get("org_predikat"))
    who = predikat_set_label(check.get("predikat_set"))
    count = 0 if missing(check.get("employee_count")) else int(check["employee_count"])
    max_share, min_share = check.get("max_share"), check.get("min_share")
    min_count = 0 if missing(check.get("min_count")) else int(check["min_count"])
    rules, actual = [], f"di unit ini {format_share_short(check.get('share'))}"
    if not missing(max_share) and max_share <= 0:
        rules.append(f"tidak boleh ada pegawai {who}")
        actual = f"di unit ini {format_int(count)} pegawai"
    elif not missing(max_share) and max_share < 1:
        rules.append(f"paling banyak {format_share_short(max_share)} pegawai {who}")
    if not missing(min_share) and min_share > 0:
        rules.append(f"paling sedikit {format_share_short(min_share)} pegawai {who}")
    if min_count > 0:
        rules.append(f"sekurang-kurangnya {format_int(min_count)} pegawai {who}"
                     if min_count > 1 else f"harus ada pegawai {who}")
        if len(rules) == 1:
            actual = f"di unit ini {format_int(count)} pegawai"
    text = " dan ".join(rules) if rules else f"tanpa batas untuk pegawai {who}"
    return f"Unit dengan predikat organisasi {org}: {text}", actual


def rule_text(check: dict[str, Any]) -> str:
    """The rule of one curve check, for any unit: `Unit dengan predikat organisasi Baik: paling
    banyak 70% pegawai Baik`."""
    return _rule_parts(check)[0]


def rule_sentence(check: dict[str, Any]) -> str:
    """One check of fact_distribution_check as HR reads it: the rule for the unit's own org
    predikat, then what the unit has. `Unit dengan predikat organisasi Baik: paling banyak 70%
    pegawai Baik; di unit ini 82,4%`."""
    rule, actual = _rule_parts(check)
    return f"{rule}; {actual}"


# Quarantine reasons -----------------------------------------------------------------------------

# A validation reason is `<column>: <check> ('<value>')`, `<column>: required value is empty`,
# or a check over the whole row (`duplicate key (...)`). The value, quoted last, is cut from the
# kind of reason and shown apart.
_VALUE_RE = re.compile(r"\s*\('(?P<value>.*)'\)\s*$", re.S)
_COLUMN_RE = re.compile(r"^(?P<column>[a-z_][a-z0-9_]*): (?P<check>.*)$", re.S)


@dataclass(frozen=True)
class _Rule:
    pattern: re.Pattern[str]
    text: str  # str.format template over the pattern's named groups and `column`


def _rule(pattern: str, text: str) -> _Rule:
    return _Rule(re.compile(pattern, re.S), text)


# Checks of one column, matched against the message after `<column>: ` (value removed).
# Order matters: the first match wins. New validation messages that match nothing still render
# (see translate_reason's fallback), so this table may lag behind schemas/sources.py.
COLUMN_REASONS: tuple[_Rule, ...] = (
    _rule(r"required value is empty", "{column} wajib diisi tetapi kosong"),
    _rule(r"not a valid NIP", "{column} bukan NIP yang sah (18 angka: tanggal lahir, "
                              "TMT, jenis kelamin 1/2, nomor urut)"),
    _rule(r"not a valid date.*", "{column} bukan tanggal yang sah (format TTTT-BB-HH)"),
    _rule(r"not a valid time.*", "{column} bukan jam yang sah (format JJ:MM atau JJ:MM:DD)"),
    _rule(r"not a valid timestamp.*", "{column} bukan waktu yang sah "
                                      "(format TTTT-BB-HH JJ:MM)"),
    _rule(r"not a number", "{column} bukan angka"),
    _rule(r"must be greater than (?P<n>\S+)", "{column} harus lebih besar dari {n}"),
    _rule(r"must be at least (?P<n>\S+)", "{column} tidak boleh kurang dari {n}"),
    _rule(r"must be 0 or between (?P<a>\S+) and (?P<b>\S+)",
          "{column} harus 0 atau antara {a} dan {b}"),
    _rule(r"outside the period (?P<period>\S+).*", "{column} di luar periode {period}"),
    _rule(r"not one of (?P<allowed>.+)", "{column} bukan salah satu kode yang sah "
                                         "({allowed})"),
    _rule(r"not a rating label.*", "{column} bukan label penilaian yang sah (Diatas, Sesuai "
                                   "atau Dibawah Ekspektasi)"),
    _rule(r"not an accepted unit_code of units\.csv",
          "{column} tidak ada di antara unit kerja yang diterima (units.csv)"),
    _rule(r"not a unit_code of units\.csv", "{column} tidak ada di units.csv"),
    _rule(r"not an accepted nip of employees\.csv",
          "{column} tidak ada di antara pegawai yang diterima (employees.csv)"),
    _rule(r"not a nip of employees\.csv", "{column} tidak ada di employees.csv"),
    _rule(r"longer than (?P<n>\d+) characters", "{column} lebih panjang dari {n} karakter"),
    _rule(r"contains a control character", "{column} memuat karakter kendali (tak terlihat)"),
    _rule(r"contains a line break", "{column} memuat ganti baris"),
    _rule(r"not finite|must be finite.*", "{column} bukan angka yang terhingga"),
)
# Checks over the whole row (no `<column>: ` prefix).
ROW_REASONS: tuple[_Rule, ...] = (
    _rule(r"duplicate key \((?P<columns>[^)]*)\).*",
          "kunci ganda ({columns}): semua baris dengan kunci yang sama dikarantina"),
    _rule(r"(?P<later>[a-z_]+) is before (?P<earlier>[a-z_]+)",
          "{later} lebih awal dari {earlier}"),
    _rule(r"(?P<a>[a-z_]+) is the employee's own nip", "{a} sama dengan NIP pegawai itu sendiri"),
    _rule(r"empty record.*", "baris kosong: semua kolom kosong"),
)
_FALLBACK = "alasan lain (pesan validasi: {raw})"


def _column_label(column: str) -> str:
    return COLUMN_LABELS.get(column, column)


def _fill(rule: _Rule, match: re.Match[str], column: str | None) -> str:
    fields = {k: (_columns_label(v) if k in ("columns", "later", "earlier", "a") else v)
              for k, v in match.groupdict().items()}
    if column is not None:
        fields["column"] = _column_label(column)
    text = rule.text.format(**fields)
    return text[:1].upper() + text[1:]


def _columns_label(text: str) -> str:
    return ", ".join(_column_label(c.strip()) for c in text.split(",") if c.strip())


@dataclass(frozen=True)
class Reason:
    """One translated reason: `kind` (the Indonesian sentence, without the value), the value it
    quoted (or None), and the original message for data engineers."""

    kind: str
    value: str | None
    raw: str

    @property
    def text(self) -> str:
        return self.kind if self.value is None else f"{self.kind} (nilai: “{self.value}”)"


def translate_reason(raw: str) -> Reason:
    """One validation message in plain Indonesian; a message no rule knows still reads as a
    sentence that quotes it (new checks must never break the report)."""
    text = str(raw).strip()
    value = None
    found = _VALUE_RE.search(text)
    if found:
        value, text = found.group("value"), text[: found.start()]
    column = _COLUMN_RE.match(text)
    if column:
        check = column.group("check").strip()
        for rule in COLUMN_REASONS:
            matched = rule.pattern.fullmatch(check)
            if matched:
                return Reason(_fill(rule, matched, column.group("column")), value, str(raw))
    for rule in ROW_REASONS:
        matched = rule.pattern.fullmatch(text)
        if matched:
            return Reason(_fill(rule, matched, None), value, str(raw))
    kind = _FALLBACK.format(raw=text or "–")
    return Reason(kind[:1].upper() + kind[1:], value, str(raw))


def split_reasons(text: Any) -> list[str]:
    """A quarantine row's `reasons` (`; `-joined by validation) as single messages."""
    if missing(text) or not str(text).strip():
        return []
    # A quoted value may hold `; ` itself: split only where the next part starts a new reason.
    parts = re.split(r"; (?=[a-z_][a-z0-9_]*: |duplicate key |empty record|[a-z_]+ is )",
                     str(text))
    return [p for p in parts if p.strip()]


def translate_reasons(text: Any) -> list[Reason]:
    return [translate_reason(part) for part in split_reasons(text)]


def reasons_sentence(text: Any) -> str:
    """All reasons of one quarantined row, translated, as one line."""
    reasons = translate_reasons(text)
    return "; ".join(r.text for r in reasons) if reasons else "(tanpa alasan)"


def join_labels(values: Iterable[str]) -> str:
    return ", ".join(values)
