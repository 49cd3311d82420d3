"""The HR workbook: one sheet per result, Indonesian headers, frozen and filtered header row,
widths that fit, numbers as numbers, and the warehouse's values."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from tasks.workbook import SHEETS
from tests.reporting import AGENCY, PERIOD, Published, published, query


@pytest.fixture(scope="module")
def run(prefect_harness, tmp_path_factory) -> Published:
    return published(tmp_path_factory)


@pytest.fixture(scope="module")
def book(run):
    path = Path(run.summary["workbook"])
    assert path.name == f"{AGENCY}_{PERIOD}_hasil.xlsx"
    return load_workbook(path)


def rows_of(sheet) -> list[dict[str, object]]:
    values = list(sheet.iter_rows(values_only=True))
    return [dict(zip(values[0], row, strict=True)) for row in values[1:]]


def test_every_sheet_has_a_usable_header(book):
    assert book.sheetnames == list(SHEETS)
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2", sheet.title
        assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, sheet.max_column).column_letter}" \
                                        f"{max(sheet.max_row, 2)}", sheet.title
        for cell in sheet[1]:
            assert cell.font.b, (sheet.title, cell.value)
            width = sheet.column_dimensions[cell.column_letter].width
            assert len(str(cell.value)) < width <= 60, (sheet.title, cell.value, width)
    assert [c.value for c in book["Penilaian"][1]][:5] == [
        "Periode", "Kode Unit", "Unit Kerja", "NIP", "Nama"]
    assert "Nilai Akhir" in [c.value for c in book["Penilaian"][1]]
    assert "Kandidat Penghargaan" in [c.value for c in book["Tindak Lanjut"][1]]
    assert "Penyerapan Anggaran (%)" in [c.value for c in book["Kinerja Unit"][1]]
    assert "Melanggar" in [c.value for c in book["Kurva Distribusi"][1]]
    assert "Alasan" in [c.value for c in book["Karantina"][1]]


def test_appraisal_sheet_is_the_warehouse(run, book):
    facts = query(run.url, "SELECT a.*, e.name, u.unit_name FROM fact_appraisal a "
                  "JOIN dim_employee e ON e.nip = a.nip JOIN dim_unit u "
                  "ON u.agency_code = a.agency_code AND u.unit_code = a.unit_code "
                  "WHERE a.agency_code = :a AND a.period_id = :p", a=AGENCY, p=PERIOD)
    sheet = book["Penilaian"]
    rows = rows_of(sheet)
    assert len(rows) == len(facts)
    by_nip = {r["NIP"]: r for r in rows}
    labels = {"SANGAT_BAIK": "Sangat Baik", "BAIK": "Baik", "BUTUH_PERBAIKAN": "Butuh Perbaikan",
              "KURANG": "Kurang/Misconduct", "SANGAT_KURANG": "Sangat Kurang"}
    for fact in facts.itertuples():
        row = by_nip[fact.nip]
        assert isinstance(row["NIP"], str) and len(row["NIP"]) == 18  # text, never a number
        assert row["Nama"] == fact.name
        assert row["Unit Kerja"] == fact.unit_name
        if fact.final_score == fact.final_score:  # not NaN
            # Unrounded (Excel keeps about 16 significant digits, openpyxl writes them all).
            assert row["Nilai Akhir"] == pytest.approx(fact.final_score, rel=1e-14, abs=0)
        else:
            assert row["Nilai Akhir"] is None
        assert row["Predikat"] == (labels[fact.predikat] if isinstance(fact.predikat, str)
                                   else None)
        assert row["Peringkat di Unit"] == (None if fact.rank_in_unit != fact.rank_in_unit
                                            else int(fact.rank_in_unit))
    headers = [c.value for c in sheet[1]]
    score_column = headers.index("Nilai Akhir") + 1
    scored = [sheet.cell(r, score_column) for r in range(2, sheet.max_row + 1)
              if sheet.cell(r, score_column).value is not None]
    assert scored and all(c.number_format == "0.00" and c.data_type == "n" for c in scored)
    assert any(round(c.value, 2) != c.value for c in scored)  # rounded for display only


def test_result_sheets_match_their_tables(run, book):
    followup = query(run.url, "SELECT * FROM fact_followup WHERE agency_code = :a "
                     "AND period_id = :p", a=AGENCY, p=PERIOD)
    sheet_rows = {r["NIP"]: r for r in rows_of(book["Tindak Lanjut"])}
    assert len(sheet_rows) == len(followup)
    for fact in followup.itertuples():
        row = sheet_rows[fact.nip]
        assert row["Kandidat Penghargaan"] == ("Ya" if fact.reward_candidate else "Tidak")
        assert row["Kode Sanksi"] == fact.discipline_sanction
        assert row["Hari TK Tahun Berjalan"] == fact.absent_days_ytd

    units = query(run.url, "SELECT * FROM fact_unit_performance WHERE agency_code = :a "
                  "AND period_id = :p", a=AGENCY, p=PERIOD).set_index("unit_code")
    unit_rows = rows_of(book["Kinerja Unit"])
    assert {r["Kode Unit"] for r in unit_rows} == set(units.index)
    for row in unit_rows:
        fact = units.loc[row["Kode Unit"]]
        assert row["Jumlah Pegawai"] == fact["headcount"]
        assert row["Pagu Anggaran (Rp)"] == pytest.approx(fact["budget_pagu"])
        if fact["iku_score"] == fact["iku_score"]:
            assert row["Nilai IKU"] == pytest.approx(fact["iku_score"], rel=1e-14, abs=0)

    checks = query(run.url, "SELECT * FROM fact_distribution_check WHERE agency_code = :a "
                   "AND period_id = :p", a=AGENCY, p=PERIOD)
    check_rows = rows_of(book["Kurva Distribusi"])
    assert len(check_rows) == len(checks)
    assert sum(r["Melanggar"] == "Ya" for r in check_rows) == int(checks["breach"].sum())
    share_cells = [c for c in book["Distribusi Predikat"]["F"][1:]]
    assert share_cells and all(c.number_format == "0.00%" for c in share_cells)

    quarantined = query(run.url, "SELECT COUNT(*) AS n FROM quarantine WHERE run_id = :r",
                        r=run.summary["run_id"])["n"].iloc[0]
    assert len(rows_of(book["Karantina"])) == quarantined > 0
    about = {r["Keterangan"]: r["Isi"] for r in rows_of(book["Keterangan"])}
    assert about["Run"] == run.summary["run_id"]
    assert about["Mutu data"].startswith("Lulus")
