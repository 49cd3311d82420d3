"""Indonesian names of the change log's fields and values (`kinerja changes`, `v_perubahan`).

The codes stay what the warehouse stores; these are what a person reads. The view reads the same
labels from `ref_change_label` (migration 0003), which a test keeps equal to these.
"""

from __future__ import annotations

from tasks.reporting.report_text import (
    PREDIKAT_LABELS,
    RATING_LABELS,
    SANCTION_LABELS,
    STATUS_LABELS,
)

EMPLOYEE_FIELD = "*"
FIELD_LABELS: dict[str, str] = {
    EMPLOYEE_FIELD: "Pegawai",
    "unit_code": "Unit Kerja",
    "results_score": "Nilai Hasil Kerja",
    "behavior_score": "Nilai Perilaku",
    "discipline_score": "Nilai Disiplin",
    "unit_score": "Nilai Kinerja Unit",
    "final_score": "Nilai Akhir",
    "results_rating": "Rating Hasil Kerja",
    "behavior_rating": "Rating Perilaku",
    "predikat": "Predikat",
    "rank_in_unit": "Peringkat di Unit",
    "status": "Status Penilaian",
    "reward_candidate": "Kandidat Penghargaan",
    "coaching_required": "Perlu Pembinaan",
    "training_needs": "Kebutuhan Pelatihan",
    "absent_days_ytd": "Hari TK Tahun Berjalan",
    "discipline_sanction": "Sanksi Disiplin",
    "promotion_eligible": "Memenuhi Syarat Promosi",
}
_YES_NO = {"true": "Ya", "false": "Tidak"}
VALUE_LABELS: dict[str, dict[str, str]] = {
    EMPLOYEE_FIELD: {"present": "ada", "absent": "tidak ada"},
    "results_rating": RATING_LABELS,
    "behavior_rating": RATING_LABELS,
    "predikat": PREDIKAT_LABELS,
    "status": STATUS_LABELS,
    "discipline_sanction": SANCTION_LABELS,
    "reward_candidate": _YES_NO,
    "coaching_required": _YES_NO,
    "promotion_eligible": _YES_NO,
}


def field_label(field: str) -> str:
    return FIELD_LABELS.get(field, field)


def value_label(field: str, value: str | None) -> str | None:
    """The value as HR reads it; a value without a label (a score, a count) as stored."""
    if value is None:
        return None
    return VALUE_LABELS.get(field, {}).get(value, value)


def label_rows() -> list[tuple[str, str, str]]:
    """(field, code, label) rows of `ref_change_label`; field '' labels the fields themselves."""
    rows = [("", field, label) for field, label in FIELD_LABELS.items()]
    for field, labels in VALUE_LABELS.items():
        rows += [(field, code, label) for code, label in labels.items()]
    return rows
