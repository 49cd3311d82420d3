"""Builders of hostile landing-zone files, small and fast on disk, for
tests/reliability/test_hostile_inputs.py.

A zip bomb is made by rewriting the sizes an archive declares rather than by compressing
gigabytes: zipfile (and so openpyxl) trusts and enforces the declared sizes, which is what the
extractor checks before it opens a workbook.
"""

from __future__ import annotations

import csv
import io
import struct
import zipfile
from pathlib import Path

from openpyxl import Workbook

SHEET = "xl/worksheets/sheet1.xml"  # openpyxl writes strings inline, in the sheet
BUDGET_HEADER = ["unit_code", "program_code", "activity_code", "activity_name", "pagu",
                 "realisasi"]


def budget_workbook(rows: list[list[object]]) -> bytes:
    """budget.xlsx with the header above and `rows`, as bytes."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(BUDGET_HEADER)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def budget_workbook_with_long_cell(chars: int) -> bytes:
    """budget.xlsx whose activity_name holds `chars` characters (beyond Excel's 32,767, which
    openpyxl will not write, so the sheet part is rewritten)."""
    workbook = budget_workbook([["U1", "P01", "A01", "x", 1, 1]])
    with zipfile.ZipFile(io.BytesIO(workbook)) as archive:
        sheet = archive.read(SHEET)
    return replace_member(workbook, SHEET,
                          sheet.replace(b"<t>x</t>", b"<t>" + b"x" * chars + b"</t>"))


def budget_workbook_with_header_cell_at(column: int) -> bytes:
    """budget.xlsx whose header has one more cell, far to the right (16,384 = column XFD)."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(BUDGET_HEADER)
    sheet.cell(row=1, column=column, value="catatan")
    sheet.append(["U1", "P01", "A01", "x", 1, 1])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def budget_workbook_with_cell_at(row: int) -> bytes:
    """A tiny workbook whose only data cell sits at sheet row `row`: a reader that fills the
    missing rows in between walks `row` rows (the issue's 1.8 MB file of 3 million rows)."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(BUDGET_HEADER)
    sheet.cell(row=row, column=1, value="U1")
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def declare_size(archive: bytes, member: str, size: int) -> bytes:
    """`archive` with `member`'s uncompressed size rewritten to `size` in its local header and
    in the central directory: a zip bomb's declaration without the gigabytes."""
    data = bytearray(archive)
    name = member.encode()
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        info = zf.getinfo(member)
    # Local file header: signature, then the uncompressed size at offset 22.
    struct.pack_into("<I", data, info.header_offset + 22, size)
    # Central directory entry: signature PK\1\2, uncompressed size at 24, name at 46.
    at = data.find(b"PK\x01\x02")
    while at != -1:
        length = struct.unpack_from("<H", data, at + 28)[0]
        if bytes(data[at + 46:at + 46 + length]) == name:
            struct.pack_into("<I", data, at + 24, size)
            return bytes(data)
        at = data.find(b"PK\x01\x02", at + 4)
    raise ValueError(f"{member} not in the archive")


def replace_member(archive: bytes, member: str, content: bytes) -> bytes:
    """`archive` with one member's content replaced (the others copied as they are)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(archive)) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = content if info.filename == member else source.read(info.filename)
            target.writestr(info.filename, data)
    return out.getvalue()


def billion_laughs_sheet(sheet: bytes) -> bytes:
    """`sheet` (openpyxl's sheet1.xml) with a DTD whose entity expands to 10**9 "lol"s, used
    as the text of the cell holding "x"."""
    entities = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    doctype = '<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY l0 "lol">' + entities + "]>"
    return doctype.encode() + sheet.replace(b"<t>x</t>", b"<t>&l9;</t>")


def edit_csv_cell(path: Path, line: int, column: str, value: str) -> None:
    """Set one field of a generated CSV (line as record_ref counts it, header = 1), keeping the
    file's other records as they are (rewritten with minimal quoting)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    header = [h.strip().lower() for h in rows[0]]
    rows[line - 1][header.index(column)] = value
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def csv_cell(path: Path, line: int, column: str) -> str:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    header = [h.strip().lower() for h in rows[0]]
    return rows[line - 1][header.index(column)]
