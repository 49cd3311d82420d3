"""A streaming writer of plain .xlsx tables, built column by column with Arrow's string kernels.

Why not a general library: the HR workbooks hold millions of cells at city and province scale,
and the libraries that write a cell at a time spend 5-20 µs on each (XlsxWriter in constant_memory
mode wrote 1.5 million cells in about 40 s on the project's 2-core machine, openpyxl's write-only
mode slower still). Here each column's cell XML is built at once by Arrow's compute functions,
rows are joined in C and streamed into the zip file in chunks: memory stays bounded by the chunk,
and a sheet of 100,000 rows takes a fraction of a second.

What it writes is the small, fixed subset of SpreadsheetML the workbooks need: inline strings,
numbers, a handful of cell styles (header, quote prefix, number formats), column widths, a frozen
and filtered header row repeated on printed pages, A4 page setup fitted to the width, header and
footer. There is no way to write a formula: no cell this module writes ever has an `<f>` element,
whatever its text. Text that Excel would read as a formula when a user edits the cell (`=`, `+`,
`-`, `@`, tab, CR, LF, their full-width forms, an error literal) gets Excel's own quote prefix
style, as if typed with a leading apostrophe; characters XML cannot hold become U+FFFD, and
`_xHHHH_` sequences are escaped so Excel shows them as written.
"""

from __future__ import annotations

import functools
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Cell styles (indexes into styles.xml's cellXfs).
DEFAULT, HEADER, QUOTED, SCORE, SHARE, MONEY, COUNT, TITLE, BOLD = range(9)
# Kinds of column and their style.
NUMBER_STYLES = {"score": SCORE, "share": SHARE, "money": MONEY, "count": COUNT}
MAX_CELL_TEXT = 32_767
# A chunk's cell XML is built whole before it is written: at 10,000 rows a chunk of the widest
# sheet took about 100 MB at its peak, at 5,000 about 45 MB, in the same time (bench/README.md,
# "Sessions 8 and 9"); two processes write workbooks at once in a large run.
CHUNK_ROWS = 5_000
PAPER_A4 = 9

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d",
                    "\uff20")
ERROR_CODES = ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A",
               "#GETTING_DATA", "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!",
               "#BUSY!", "#UNKNOWN!")
_TRIGGER_RE = "^[=+@\\t\\r\\n\\-\uff1d\uff0b\uff0d\uff20]"
# XML 1.0 cannot hold these (tab, LF and CR it can).
_ILLEGAL_RE = "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x{fffe}\\x{ffff}]"
_ILLEGAL_PY_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# Excel reads `_x0041_` in a string as the character U+0041: escape the underscore.
_ESCAPE_SEQUENCE_RE = "_(x[0-9A-Fa-f]{4}_)"

_HIDDEN = ' hidden="1"'
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def needs_quote(text: str) -> bool:
    """True for text Excel would turn into a formula or an error value when edited."""
    return text.startswith(FORMULA_TRIGGERS) or text in ERROR_CODES


def clean_text(text: str) -> str:
    """`text` as one cell holds it: XML-illegal characters replaced, cut to Excel's limit."""
    text = _ILLEGAL_PY_RE.sub("\ufffd", text)
    return text if len(text) <= MAX_CELL_TEXT else text[: MAX_CELL_TEXT - 1] + "…"


@dataclass(frozen=True)
class Column:
    """One prepared column of a table sheet: per row, the XML of its cell after the cell's row
    number (null for an empty cell). Cells do not depend on the row's position, so a sheet can
    be written from cells prepared for any rows, in chunks (`Workbook.stream`)."""

    header: str
    cells: pa.Array
    width: float


@functools.lru_cache(maxsize=4096)
def _lit(text: str) -> pa.Scalar:
    return pa.scalar(text, pa.large_string())


def _join(*parts: Any) -> pa.Array:
    """Element-wise concatenation of arrays and literal strings (nulls stay null)."""
    return pc.binary_join_element_wise(
        *(_lit(p) if isinstance(p, str) else p for p in parts), _lit(""))


def text_column(header: str, values: pa.Array, width: float) -> Column:
    """A text column from an Arrow string array (null for an empty cell)."""
    text = values.cast(pa.large_string())
    # An empty text is an empty cell, as Excel makes it.
    text = pc.if_else(pc.equal(text, _lit("")), pa.scalar(None, pa.large_string()), text)
    if pc.any(pc.match_substring_regex(text, _ILLEGAL_RE)).as_py():
        text = pc.replace_substring_regex(text, _ILLEGAL_RE, "\ufffd")
    long = pc.greater(pc.utf8_length(text), MAX_CELL_TEXT)
    if pc.any(long).as_py():
        text = pc.if_else(long, _join(pc.utf8_slice_codeunits(text, 0, MAX_CELL_TEXT - 1), "…"),
                          text)
    quoted = pc.or_(pc.match_substring_regex(text, _TRIGGER_RE),
                    pc.is_in(text, value_set=pa.array(ERROR_CODES, pa.large_string())))
    if pc.any(pc.match_substring_regex(text, "[&<>\\r]|_x[0-9A-Fa-f]{4}_")).as_py():
        text = pc.replace_substring(text, "&", "&amp;")
        text = pc.replace_substring(text, "<", "&lt;")
        text = pc.replace_substring(text, ">", "&gt;")
        # A raw CR would be read back as LF (XML end-of-line handling); a reference is not.
        text = pc.replace_substring(text, "\r", "&#13;")
        text = pc.replace_substring_regex(text, _ESCAPE_SEQUENCE_RE, "_x005F_\\1")
    start = pc.if_else(quoted, _lit(f'" s="{QUOTED}" t="inlineStr"><is><t xml:space="preserve">'),
                       _lit('" t="inlineStr"><is><t xml:space="preserve">'))
    return Column(header, _join(start, text, "</t></is></c>"), width)


def number_column(header: str, kind: str, values: np.ndarray, width: float) -> Column:
    """A number column (`kind` one of NUMBER_STYLES); NaN and infinities are empty cells."""
    numbers = np.asarray(values, dtype="float64")
    array = pa.array(numbers, mask=~np.isfinite(numbers))
    text = pc.cast(array, pa.large_string())  # shortest text that reads back the same double
    return Column(header, _join(f'" s="{NUMBER_STYLES[kind]}"><v>', text, "</v></c>"), width)


def _reference(sheet: str, cells: str) -> str:
    return "'" + sheet.replace("'", "''") + "'!" + cells


@dataclass
class _SheetInfo:
    name: str
    defined: list[tuple[str, str, bool]]  # (name, reference, hidden)


class Workbook:
    """Write sheets one after the other, then `close()`: the file is complete only then."""

    def __init__(self, path: str | Path, title: str) -> None:
        self.path = Path(path)
        self.title = title
        self._zip = zipfile.ZipFile(self.path, "w", compression=zipfile.ZIP_DEFLATED,
                                    compresslevel=1)
        self._sheets: list[_SheetInfo] = []

    # Sheets -------------------------------------------------------------------------------

    def table(self, name: str, columns: Sequence[Column], *, print_title: str,
              rows: np.ndarray | None = None) -> None:
        """A table: bold header row (frozen, filtered, repeated on printed pages), then the
        columns' cells (of the positions `rows`, default all), A4 landscape, one page wide."""
        count = (len(columns[0].cells) if columns else 0) if rows is None else len(rows)

        def chunks() -> Iterator[list[Column]]:
            for start in range(0, count, CHUNK_ROWS):
                stop = min(start + CHUNK_ROWS, count)
                if rows is None:
                    yield [Column(c.header, c.cells.slice(start, stop - start), c.width)
                           for c in columns]
                else:
                    taken = pa.array(rows[start:stop])
                    yield [Column(c.header, pc.take(c.cells, taken), c.width) for c in columns]

        self.stream(name, [c.header for c in columns], [c.width for c in columns], count,
                    chunks(), print_title=print_title)

    def stream(self, name: str, headers: Sequence[str], widths: Sequence[float], count: int,
               chunks: Iterable[Sequence[Column]], *, print_title: str) -> None:
        """A table as `table` writes it, its `count` rows given as chunks of columns (each
        chunk's columns hold the cells of the next rows, in the order of `headers`): the
        caller builds the cells of one chunk at a time, so memory holds one chunk, not the
        sheet."""
        last = column_letter(max(len(headers) - 1, 0))
        end = max(count + 1, 2)
        info = _SheetInfo(name, [
            ("_xlnm._FilterDatabase", _reference(name, f"$A$1:${last}${end}"), True),
            ("_xlnm.Print_Titles", _reference(name, "$1:$1"), False),
        ])
        head = self._sheet_head(widths=widths, frozen=True,
                                dimension=f"A1:{last}{count + 1}", fit=True)
        header_row = '<row r="1">' + "".join(
            f'<c r="{column_letter(i)}1" s="{HEADER}" t="inlineStr"><is><t xml:space="preserve">'
            f"{escape(clean_text(h))}</t></is></c>" for i, h in enumerate(headers)) + \
            "</row>"
        tail = (f'</sheetData><autoFilter ref="A1:{last}{end}"/>'
                + self._page(print_title, landscape=True) + "</worksheet>")
        written = 0
        with self._zip.open(f"xl/worksheets/sheet{len(self._sheets) + 1}.xml", "w",
                            force_zip64=True) as out:
            out.write((head + "<sheetData>" + header_row).encode("utf-8"))
            for chunk in chunks:
                size = len(chunk[0].cells) if chunk else 0
                if size:
                    out.write(self._rows(chunk, written))
                written += size
            out.write(tail.encode("utf-8"))
        if written != count:
            raise ValueError(f"sheet {name}: {written} rows written, {count} announced")
        self._sheets.append(info)

    @staticmethod
    def _rows(columns: Sequence[Column], start: int) -> memoryview:
        """The XML of the chunk's rows, numbered from data row `start` (0: sheet row 2)."""
        size = len(columns[0].cells)
        numbers = pc.cast(pa.array(np.arange(start + 2, start + size + 2)), pa.large_string())
        parts: list[Any] = ['<row r="', numbers, '">']
        for i, column in enumerate(columns):
            parts.append(pc.fill_null(_join(f'<c r="{column_letter(i)}', numbers,
                                            column.cells), _lit("")))
        parts.append("</row>")
        joined = _join(*parts)
        # No row is null: the rows, one after the other, are the data buffer between the
        # first and last offsets (no copy through Python strings).
        offsets = np.frombuffer(joined.buffers()[1], dtype="int64",
                                count=len(joined) + 1, offset=joined.offset * 8)
        return memoryview(joined.buffers()[2])[offsets[0]:offsets[-1]]

    def free(self, name: str, rows: Sequence[Sequence[tuple[Any, int]]],
             widths: Sequence[float], *, print_title: str, landscape: bool = False) -> None:
        """A small sheet of (value, style) cells laid out by the caller (the summary)."""
        out = []
        for r, cells in enumerate(rows, start=1):
            parts = []
            for c, (value, style) in enumerate(cells):
                ref = f"{column_letter(c)}{r}"
                if value is None:
                    continue
                if isinstance(value, bool) or not isinstance(value, int | float):
                    text = clean_text(str(value))
                    if style == DEFAULT and needs_quote(text):
                        style = QUOTED
                    parts.append(f'<c r="{ref}" s="{style}" t="inlineStr"><is>'
                                 f'<t xml:space="preserve">{_escape_text(text)}</t></is></c>')
                elif np.isfinite(value):
                    parts.append(f'<c r="{ref}" s="{style}"><v>{float(value)!r}</v></c>')
            out.append(f'<row r="{r}">{"".join(parts)}</row>')
        last = column_letter(max(len(widths) - 1, 0))
        xml = (self._sheet_head(widths=widths, frozen=False, dimension=f"A1:{last}{len(rows)}",
                                fit=True)
               + "<sheetData>" + "".join(out) + "</sheetData>"
               + self._page(print_title, landscape=landscape) + "</worksheet>")
        self._zip.writestr(f"xl/worksheets/sheet{len(self._sheets) + 1}.xml", xml)
        self._sheets.append(_SheetInfo(name, []))

    @staticmethod
    def _sheet_head(*, widths: Sequence[float], frozen: bool, dimension: str, fit: bool) -> str:
        selected = "" if frozen else ' tabSelected="1"'
        pane = ('<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
                '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>') if frozen else ""
        cols = "".join(f'<col min="{i + 1}" max="{i + 1}" width="{w:.2f}" customWidth="1"/>'
                       for i, w in enumerate(widths))
        return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                f'<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">'
                + ('<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>' if fit else "")
                + f'<dimension ref="{dimension}"/>'
                f'<sheetViews><sheetView workbookViewId="0"{selected}>'
                f"{pane}</sheetView></sheetViews>"
                '<sheetFormatPr defaultRowHeight="15"/>'
                + (f"<cols>{cols}</cols>" if cols else ""))

    @staticmethod
    def _page(title: str, *, landscape: bool) -> str:
        header = "&amp;L&amp;\"-,Bold\"" + escape(title.replace("&", "&&")) + "&amp;R&amp;D"
        return ('<pageMargins left="0.4" right="0.4" top="0.6" bottom="0.6" header="0.3" '
                'footer="0.3"/>'
                f'<pageSetup paperSize="{PAPER_A4}" '
                f'orientation="{"landscape" if landscape else "portrait"}" fitToWidth="1" '
                'fitToHeight="0"/>'
                f"<headerFooter><oddHeader>{header}</oddHeader>"
                "<oddFooter>&amp;CHalaman &amp;P dari &amp;N</oddFooter></headerFooter>")

    # The package ----------------------------------------------------------------------------

    def close(self) -> None:
        count = len(self._sheets)
        sheets = "".join(f'<sheet name={quoteattr(s.name)} sheetId="{i + 1}" r:id="rId{i + 1}"/>'
                         for i, s in enumerate(self._sheets))
        names = "".join(
            f'<definedName name="{name}" localSheetId="{i}"{_HIDDEN if hidden else ""}>'
            f"{escape(ref)}</definedName>"
            for i, s in enumerate(self._sheets) for name, ref, hidden in s.defined)
        z = self._zip
        z.writestr("xl/workbook.xml",
                   f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                   f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><bookViews>'
                   '<workbookView activeTab="0"/></bookViews>'
                   f"<sheets>{sheets}</sheets>"
                   + (f"<definedNames>{names}</definedNames>" if names else "")
                   + "</workbook>")
        rels = "".join(
            f'<Relationship Id="rId{i + 1}" Type="{_REL}/worksheet" '
            f'Target="worksheets/sheet{i + 1}.xml"/>' for i in range(count))
        z.writestr("xl/_rels/workbook.xml.rels",
                   '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                   '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                   f'relationships">{rels}<Relationship Id="rId{count + 1}" '
                   f'Type="{_REL}/styles" Target="styles.xml"/></Relationships>')
        z.writestr("xl/styles.xml", _STYLES)
        z.writestr("_rels/.rels",
                   '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                   '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                   'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.'
                   'org/officeDocument/2006/relationships/officeDocument" '
                   'Target="xl/workbook.xml"/><Relationship Id="rId2" Type="http://schemas.'
                   'openxmlformats.org/package/2006/relationships/metadata/core-properties" '
                   'Target="docProps/core.xml"/></Relationships>')
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        z.writestr("docProps/core.xml",
                   '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                   '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/'
                   'metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
                   'xmlns:dcterms="http://purl.org/dc/terms/" '
                   'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
                   f"<dc:title>{escape(clean_text(self.title))}</dc:title>"
                   "<dc:creator>kinerja</dc:creator>"
                   f'<dcterms:created xsi:type="dcterms:W3CDTF">{now}</dcterms:created>'
                   "</cp:coreProperties>")
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{i + 1}.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            for i in range(count))
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                   '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                   '<Default Extension="rels" ContentType="application/vnd.openxmlformats-'
                   'package.relationships+xml"/><Default Extension="xml" '
                   'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" '
                   'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
                   'sheet.main+xml"/><Override PartName="/xl/styles.xml" ContentType="'
                   'application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
                   '<Override PartName="/docProps/core.xml" ContentType="application/vnd.'
                   'openxmlformats-package.core-properties+xml"/>' + overrides + "</Types>")
        z.close()


def _escape_text(text: str) -> str:
    return re.sub(_ESCAPE_SEQUENCE_RE, r"_x005F_\1", escape(text, {"\r": "&#13;"}))


_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    f'<styleSheet xmlns="{_MAIN}">'
    '<fonts count="3">'
    '<font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="14"/><name val="Calibri"/><family val="2"/></font>'
    "</fonts>"
    '<fills count="3"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill>'
    '<fill><patternFill patternType="solid"><fgColor rgb="FFDDE7F2"/><bgColor indexed="64"/>'
    "</patternFill></fill></fills>"
    '<borders count="2"><border><left/><right/><top/><bottom/><diagonal/></border>'
    '<border><left style="thin"><color rgb="FF9AA5B1"/></left><right style="thin">'
    '<color rgb="FF9AA5B1"/></right><top style="thin"><color rgb="FF9AA5B1"/></top>'
    '<bottom style="thin"><color rgb="FF9AA5B1"/></bottom><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
    "</cellStyleXfs>"
    '<cellXfs count="9">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="2" borderId="1" xfId="0" applyFont="1" '
    'applyFill="1" applyBorder="1" applyAlignment="1"><alignment vertical="top" wrapText="1"/>'
    "</xf>"
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" quotePrefix="1"/>'
    '<xf numFmtId="2" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="10" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="3" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="1" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
