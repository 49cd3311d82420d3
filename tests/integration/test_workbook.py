"""The HR workbooks: a summary sheet first, one sheet per result with labels first and codes in
trailing columns, Indonesian headers, frozen, filtered and printed header row, A4 landscape fitted
to the width, numbers as numbers (Rupiah whole), the warehouse's values; one workbook per OPD
with only its people."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from tasks.reporting.workbook import OPD_SHEETS, SHEETS
from tests.reporting import AGENCY, PERIOD, Published, published, query


@pytest.fixture(scope="module")
def run(prefect_harness, tmp_path_factory) -> Published:
    return published(tmp_path_factory)


@pytest.fixture(scope="module")
def book(run):
    path = Path(run.summary["workbook"])
    assert path.name == f"{AGENCY}_{PERIOD}_hasil.xlsx"
    return load_workbook(path)


def _column(sheet, header: str) -> list:
    headers = [c.value for c in sheet[1]]
    column = headers.index(header) + 1
    return [sheet.cell(r, column) for r in range(2, sheet.max_row + 1)]


def rows_of(sheet) -> list[dict[str, object]]:
    values = list(sheet.iter_rows(values_only=True))
    return [dict(zip(values[0], row, strict=True)) for row in values[1:]]


def test_every_sheet_has_a_usable_header(book):
    assert book.sheetnames == list(SHEETS)
    assert book.sheetnames[0] == "Ringkasan"
    for sheet in book.worksheets[1:]:
        assert sheet.freeze_panes == "A2", sheet.title
        assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, sheet.max_column).column_letter}" \
                                        f"{max(sheet.max_row, 2)}", sheet.title
        assert sheet.print_title_rows == "$1:$1", sheet.title
        assert sheet.page_setup.orientation == "landscape", sheet.title
        assert sheet.page_setup.paperSize == 9, sheet.title  # A4
        assert sheet.page_setup.fitToWidth == 1 and sheet.page_setup.fitToHeight == 0
        assert sheet.sheet_properties.pageSetUpPr.fitToPage, sheet.title
        for cell in sheet[1]:
            assert cell.font.b, (sheet.title, cell.value)
            width = sheet.column_dimensions[cell.column_letter].width
            assert len(str(cell.value)) < width <= 60, (sheet.title, cell.value, width)
    headers = [c.value for c in book["Penilaian"][1]]
    assert headers[:4] == ["OPD", "Unit Kerja", "NIP", "Nama"]
    assert "Nilai Akhir" in headers
    # Labels first; the codes, for data engineers, trail after the last label.
    codes = [h for h in headers if h.startswith("Kode ")]
    assert codes and headers[-len(codes):] == codes
    assert headers.index("Predikat") < headers.index("Periode") < headers.index("Kode Predikat")
    assert "Kandidat Penghargaan" in [c.value for c in book["Tindak Lanjut"][1]]
    assert "Penyerapan Anggaran (%)" in [c.value for c in book["Kinerja Unit"][1]]
    assert "Melanggar" in [c.value for c in book["Kurva Distribusi"][1]]
    assert "Alasan" in [c.value for c in book["Karantina"][1]]


def test_summary_sheet_comes_first_with_the_headline(run, book):
    facts = query(run.url, "SELECT predikat, status FROM fact_appraisal WHERE agency_code = :a "
                  "AND period_id = :p", a=AGENCY, p=PERIOD)
    summary = {row[0]: row[1] for row in book["Ringkasan"].iter_rows(values_only=True)
               if row and row[0]}
    assert summary["Pegawai"] == len(facts)
    assert summary["Dinilai"] == (facts["status"] == "APPRAISED").sum()
    assert summary["Sangat Baik"] == (facts["predikat"] == "SANGAT_BAIK").sum()
    assert summary["Mutu data"] == "Lulus"
    assert book["Ringkasan"].page_setup.paperSize == 9


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
        assert row["Sanksi Disiplin"] != "NONE"  # a label, the code trails
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
    money = _column(book["Kinerja Unit"], "Pagu Anggaran (Rp)")
    assert money and all(c.number_format == "#,##0" for c in money)  # whole Rupiah

    checks = query(run.url, "SELECT * FROM fact_distribution_check WHERE agency_code = :a "
                   "AND period_id = :p", a=AGENCY, p=PERIOD)
    check_rows = rows_of(book["Kurva Distribusi"])
    assert len(check_rows) == len(checks)
    assert sum(r["Melanggar"] == "Ya" for r in check_rows) == int(checks["breach"].sum())
    share_cells = _column(book["Distribusi Predikat"], "Proporsi")
    assert share_cells and all(c.number_format == "0.00%" for c in share_cells)

    quarantined = query(run.url, "SELECT COUNT(*) AS n FROM quarantine WHERE run_id = :r",
                        r=run.summary["run_id"])["n"].iloc[0]
    quarantine = rows_of(book["Karantina"])
    assert len(quarantine) == quarantined > 0
    for row in quarantine:
        assert "not a" not in row["Alasan"] and "required value" not in row["Alasan"]
        assert row["Pesan Validasi (asli)"]  # the original message, for data engineers
    about = {r["Keterangan"]: r["Isi"] for r in rows_of(book["Keterangan"])}
    assert about["Run"] == run.summary["run_id"]
    assert about["Mutu data"].startswith("Lulus")


def test_each_opd_gets_a_workbook_with_only_its_people(run):
    units = query(run.url, "SELECT unit_code, parent_unit_code FROM dim_unit WHERE "
                  "agency_code = :a", a=AGENCY).set_index("unit_code")["parent_unit_code"]
    facts = query(run.url, "SELECT nip, unit_code FROM fact_appraisal WHERE agency_code = :a "
                  "AND period_id = :p", a=AGENCY, p=PERIOD)

    def opd(code: str) -> str:
        while isinstance(units.get(code), str) and units[code] in units.index:
            code = units[code]
        return code

    expected: dict[str, set[str]] = {}
    for fact in facts.itertuples():
        expected.setdefault(opd(fact.unit_code), set()).add(fact.nip)
    folder = run.reports / f"{AGENCY}_{PERIOD}" / "opd"
    books = {p.stem: p for p in folder.glob("*.xlsx")}
    assert set(expected) <= set(books)
    for code, nips in expected.items():
        book = load_workbook(books[code], read_only=True)
        assert book.sheetnames == list(OPD_SHEETS)
        rows = list(book["Penilaian"].iter_rows(values_only=True))
        headers = rows[0]
        got = {r[headers.index("NIP")] for r in rows[1:]}
        assert got == nips, code
        assert {r[headers.index("Kode OPD")] for r in rows[1:]} == {code}
        book.close()
