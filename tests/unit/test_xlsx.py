"""The streaming xlsx writer: what Excel (here openpyxl) reads back is exactly what was written,
no text ever becomes a formula, and the print setup is there."""

from __future__ import annotations

import zipfile

import numpy as np
import pyarrow as pa
import pytest
from openpyxl import load_workbook

from tasks.reporting import xlsx

HOSTILE = [
    '=HYPERLINK("http://evil.example/x","klik")', "+SUM(1;2)", "-2+3", "@SUM(1)",
    "\tTab", "\rCR", "\nLF", "\uff1dSUM(1)", "\uff0b1", "\uff0d1", "\uff20A1", "#DIV/0!", "#N/A",
]
PLAIN = ["Budi Santoso", "A&B <Dinas>", "_x0041_ tetap", "  spasi  ", "a=b", "1,5", "", "x-y"]


def _book(tmp_path, texts, numbers, rows=None):
    path = tmp_path / "t.xlsx"
    book = xlsx.Workbook(path, "Judul & <uji>")
    book.free("Ringkasan", [[("Judul", xlsx.TITLE)], [("=1+1", xlsx.DEFAULT), (3.5, xlsx.SCORE)]],
              [20, 10], print_title="Ringkasan")
    book.table("Data", [
        xlsx.text_column("Teks", pa.array(texts, pa.large_string()), 20),
        xlsx.number_column("Nilai", "score", np.array(numbers, dtype="float64"), 10),
    ], print_title="Data & lain", rows=rows)
    book.close()
    return path


def test_text_comes_back_exactly_and_never_as_a_formula(tmp_path):
    texts = HOSTILE + PLAIN + [None, "x" * 40_000, "a\x00b\x1fc"]
    numbers = [float(i) for i in range(len(texts))]
    numbers[0], numbers[1] = float("nan"), float("inf")
    path = _book(tmp_path, texts, numbers)
    with zipfile.ZipFile(path) as z:
        xml = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/"))
    assert "<f>" not in xml and "<f " not in xml

    book = load_workbook(path)
    assert book.sheetnames == ["Ringkasan", "Data"]
    sheet = book["Data"]
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    values = [c.value for c in cells]
    assert values[: len(HOSTILE)] == HOSTILE
    for cell in cells[: len(HOSTILE)]:
        assert cell.data_type == "s" and cell.quotePrefix, cell.value
    for cell, text in zip(cells[len(HOSTILE):], PLAIN, strict=False):
        # Excel decodes `_xHHHH_` in text, so the writer escapes the underscore (Excel shows
        # `_x0041_ tetap`); openpyxl reads the escape as it is.
        shown = text.replace("_x0041_", "_x005F_x0041_")
        assert cell.value == (shown or None) and not cell.quotePrefix
    long = values[len(HOSTILE) + len(PLAIN) + 1]
    assert len(long) == 32_767 and long.endswith("…")
    assert values[-1] == "a\ufffdb\ufffdc"
    assert values[len(HOSTILE) + len(PLAIN)] is None
    scores = [row[1] for row in sheet.iter_rows(min_row=2)]
    assert scores[0].value is None and scores[1].value is None  # NaN, inf: empty
    assert scores[5].value == 5 and scores[5].number_format == "0.00"
    summary = book["Ringkasan"]
    assert summary["A2"].value == "=1+1" and summary["A2"].quotePrefix
    assert summary["B2"].value == 3.5


def test_numbers_round_trip_unrounded(tmp_path):
    numbers = [95.95123456789012, 1e-7, 12345678901.5, 0.1 + 0.2, -0.0, 3.0]
    path = _book(tmp_path, ["a"] * len(numbers), numbers)
    read = [row[1].value for row in load_workbook(path)["Data"].iter_rows(min_row=2)]
    assert read == pytest.approx(numbers, rel=0, abs=0)


def test_a_subset_of_rows_and_the_sheet_setup(tmp_path):
    path = _book(tmp_path, ["a", "b", "c", "d"], [1, 2, 3, 4], rows=np.array([3, 1]))
    book = load_workbook(path)
    sheet = book["Data"]
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [
        ["Teks", "Nilai"], ["d", 4], ["b", 2]]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:B3"
    assert sheet["A1"].font.b
    assert sheet.column_dimensions["A"].width == 20
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.page_setup.paperSize == 9  # A4
    assert sheet.page_setup.fitToWidth == 1 and sheet.page_setup.fitToHeight == 0
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.print_title_rows == "$1:$1"
    assert sheet.oddHeader.left.text == "Data && lain"  # `&&` is Excel's escaped `&`
    assert book.properties.title == "Judul & <uji>"
