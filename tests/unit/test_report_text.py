"""What HR reads: validation reasons in Indonesian (new reasons still render), the curve rules as
sentences, WIB times and Indonesian number formats."""

from __future__ import annotations

import pandas as pd
import pytest

from kinerja.policy import POLICY_DIR, load_policy
from tasks.reporting import report_text as rt
from tasks.reporting.report_text import (
    format_share_short,
    format_timestamp,
    reasons_sentence,
    rule_sentence,
    rule_text,
    split_reasons,
    translate_reason,
)

# Every message schemas/sources.py and tasks/sources/validate.py produce today, and those being
# added (control characters, over-long fields, bounded numbers, empty records): none falls back.
KNOWN = {
    "nip: required value is empty": "NIP wajib diisi tetapi kosong",
    "nip: not a valid NIP ('19900101')": "NIP bukan NIP yang sah",
    "date: not a valid date (YYYY-MM-DD) ('2025-02-30')": "Tanggal bukan tanggal yang sah",
    "check_in: not a valid time (HH:MM or HH:MM:SS) ('25:00')": "Jam masuk bukan jam yang sah",
    "rated_at: not a valid timestamp (YYYY-MM-DD HH:MM[:SS]) ('x')": "Waktu penilaian bukan",
    "target: not a number ('abc')": "Target bukan angka",
    "target: must be greater than 0 ('0')": "Target harus lebih besar dari 0",
    "pagu: must be at least 0 ('-5')": "Pagu tidak boleh kurang dari 0",
    "pagu: must be 0 or between 1e-06 and 1e+15 ('1e308')": "Pagu harus 0 atau antara",
    "date: outside the period 2025-S1 (2025-01-01..2025-06-30) ('2025-07-01')":
        "Tanggal di luar periode 2025-S1",
    "status: not one of H, S, I, C, DL, TK ('X')": "Status presensi bukan salah satu kode",
    "results_rating: not a rating label (Diatas / Sesuai / Dibawah Ekspektasi) ('baik')":
        "Rating hasil kerja bukan label penilaian",
    "unit_code: not an accepted unit_code of units.csv ('U9')": "Kode unit tidak ada di antara",
    "parent_unit_code: not a unit_code of units.csv ('U9')": "Kode unit induk tidak ada di",
    "nip: not an accepted nip of employees.csv ('1990')": "NIP tidak ada di antara pegawai",
    "supervisor_nip: not a nip of employees.csv ('1990')": "NIP atasan tidak ada di",
    "name: longer than 200 characters ('aaaa…[5000 characters]')": "Nama lebih panjang dari 200",
    "name: contains a control character ('a\\x00b')": "Nama memuat karakter kendali",
    "indicator: contains a line break ('a\\nb')": "Indikator memuat ganti baris",
    "duplicate key (nip, date): every row of it is quarantined": "Kunci ganda (NIP, tanggal)",
    "check_out is before check_in": "Jam pulang lebih awal dari jam masuk",
    "active_to is before active_from": "Tanggal akhir aktif lebih awal",
    "supervisor_nip is the employee's own nip": "NIP atasan sama dengan NIP pegawai",
    "empty record: every field is empty": "Baris kosong",
}


@pytest.mark.parametrize("raw", sorted(KNOWN))
def test_every_known_reason_reads_as_an_indonesian_sentence(raw):
    reason = translate_reason(raw)
    assert reason.kind.startswith(KNOWN[raw]), reason.kind
    assert "alasan lain" not in reason.kind
    assert reason.raw == raw
    for english in ("not a", "must be", "is before", "required value", "duplicate"):
        assert english not in reason.kind


def test_the_quoted_value_is_kept_apart_and_shown():
    reason = translate_reason("nip: not a valid NIP ('19900101')")
    assert reason.value == "19900101"
    assert reason.text == "NIP bukan NIP yang sah (18 angka: tanggal lahir, TMT, jenis kelamin " \
                          "1/2, nomor urut) (nilai: “19900101”)"


def test_an_unknown_reason_still_renders_with_the_original_message():
    reason = translate_reason("grade: some future check ('IV/z')")
    assert reason.kind == "Alasan lain (pesan validasi: grade: some future check)"
    assert reason.value == "IV/z"
    assert translate_reason("").kind.startswith("Alasan lain")


def test_several_reasons_of_a_row_split_even_with_a_separator_in_a_value():
    text = "name: contains a control character ('a; b'); nip: not a valid NIP ('1')"
    assert split_reasons(text) == ["name: contains a control character ('a; b')",
                                   "nip: not a valid NIP ('1')"]
    assert reasons_sentence(text).count("; ") == 2  # one inside the value, one between
    assert reasons_sentence(None) == "(tanpa alasan)"


CHECK = {"org_predikat": "BAIK", "predikat_set": "BAIK", "employee_count": 14,
         "share": 14 / 17, "min_share": 0.0, "max_share": 0.7, "min_count": 0, "breach": True}


def test_curve_rules_read_as_sentences_with_the_units_own_figure():
    assert rule_sentence(CHECK) == ("Unit dengan predikat organisasi Baik: paling banyak 70% "
                                    "pegawai Baik; di unit ini 82,4%")
    assert rule_text(CHECK) == "Unit dengan predikat organisasi Baik: paling banyak 70% " \
                               "pegawai Baik"
    present = {**CHECK, "rule": "BP_K_PRESENT", "predikat_set": "BUTUH_PERBAIKAN,KURANG",
               "max_share": 1.0, "min_count": 1, "employee_count": 0, "share": 0.0}
    assert rule_sentence(present) == (
        "Unit dengan predikat organisasi Baik: harus ada pegawai Butuh Perbaikan atau "
        "Kurang/Misconduct; di unit ini 0 pegawai")
    none = {**CHECK, "org_predikat": "SANGAT_KURANG", "predikat_set": "SANGAT_BAIK",
            "max_share": 0.0, "employee_count": 2, "share": 0.1}
    assert rule_sentence(none) == ("Unit dengan predikat organisasi Sangat Kurang: tidak boleh "
                                   "ada pegawai Sangat Baik; di unit ini 2 pegawai")
    minimum = {**CHECK, "org_predikat": "KURANG", "predikat_set": "KURANG", "min_share": 0.6,
               "max_share": 1.0, "share": 0.25}
    assert rule_sentence(minimum) == ("Unit dengan predikat organisasi Kurang: paling sedikit "
                                      "60% pegawai Kurang/Misconduct; di unit ini 25%")


def test_times_are_shown_in_wib_and_shares_without_needless_decimals():
    assert format_timestamp(pd.Timestamp("2025-07-01 18:30:00")) == "2 Juli 2025 01:30 WIB"
    assert format_timestamp("2025-07-01T01:05:09") == "1 Juli 2025 08:05 WIB"
    assert format_timestamp(pd.Timestamp("2025-07-01 01:05", tz="UTC")) == "1 Juli 2025 08:05 WIB"
    assert format_timestamp(None) == "–"
    assert format_share_short(0.25) == "25%"
    assert format_share_short(0.8236) == "82,4%"
    assert format_share_short(1 / 3) == "33,3%"


@pytest.mark.parametrize("policy_file", sorted(POLICY_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_code_of_every_shipped_policy_has_its_indonesian_wording(policy_file):
    codes = load_policy(policy_file).codes
    wording = {
        "predikat": (codes.predikat, rt.PREDIKAT_LABELS, rt.PREDIKAT_COLORS),
        "org_predikat": (codes.org_predikat, rt.ORG_PREDIKAT_LABELS, rt.ORG_PREDIKAT_COLORS),
        "ratings": (codes.ratings, rt.RATING_LABELS),
        "aspects": (codes.aspects, rt.ASPECT_LABELS),
        "sanctions": (codes.sanctions, rt.SANCTION_LABELS, rt.SANCTION_LEVELS),
    }
    missing = {kind: [code for code in entry[0] for table in entry[1:] if code not in table]
               for kind, entry in wording.items()}
    assert missing == {kind: [] for kind in wording}
    # the reports list predikat in the policy's order, not a copy of it
    assert load_policy().codes.predikat == rt.PREDIKAT_ORDER
    assert load_policy().codes.org_predikat == rt.ORG_PREDIKAT_ORDER
