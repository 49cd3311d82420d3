"""Landing zone -> raw text frames, one per dataset, with each row's file and line.

Every value is read as text (a NIP must never become a number), column names are matched
case-insensitively after trimming, a byte-order mark is allowed and unknown columns are kept only
for the quarantine payload. A file that cannot be used at all raises `DatasetError` naming it.

Hostile input is refused before it is parsed (`InputLimits`, docs/decisions.md "Issue 10"):

- the period folder, `attendance/` and every dataset file must be a real folder or a regular
  file, not a symbolic link, a pipe or a device. Folders are opened with O_NOFOLLOW and files
  relative to them, so a link swapped in after the check is refused too, and nothing behind a
  link is ever read (its content cannot reach a message, the quarantine or a report);
- a file larger than `max_file_bytes` is not read; a workbook is opened only when its zip
  members unpack to at most `max_xlsx_uncompressed_bytes` (zipfile enforces the sizes the
  archive declares), and is read streaming up to `max_xlsx_rows` rows.

`_line` is the physical line where a record starts (header = line 1), also after a quoted value
that spans lines; a blank line is no record, a record of empty fields is one (validation
quarantines it).
"""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import os
import re
import stat
import unicodedata
import zipfile
from collections.abc import Collection, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from kinerja.config import MIB, InputLimits
from kinerja.period import Period
from schemas.parsing import printable
from schemas.sources import DATASETS, SourceDataset

FILE_COLUMN = "_file"
LINE_COLUMN = "_line"
_MAX_HEADER_BYTES = MIB
# The widest dataset has 14 columns; a wider header is no export of these systems. Bounded
# because a workbook's rows are padded to the header's width: a sheet with a cell in its last
# column (16,384) would otherwise cost 128 KB per row.
MAX_COLUMNS = 256
_BLOCK_BYTES = 64 * MIB  # pyarrow's block: a record longer than this is refused by pyarrow
# Rows handed on at a time when a dataset is streamed (a block of pyarrow is cut to this).
DEFAULT_BATCH_ROWS = 250_000
# Errors of opening a landing-zone path that are the landing zone's fault, not a passing
# fault of the file system (those propagate, so that the task retries them).
_DATA_ERRNOS = frozenset({errno.ELOOP, errno.ENOTDIR, errno.EISDIR, errno.ENXIO, errno.EACCES,
                          errno.EPERM, errno.ENOENT, errno.ENAMETOOLONG})
# POSIX flags (the pipeline runs on Linux); getattr keeps the module importable elsewhere.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_NOT_A_LINK = ("is a symbolic link; the landing zone takes only regular files and folders "
               "(copy the data in instead of linking it)")


class DatasetError(Exception):
    """A dataset that cannot be used at all: the run fails before anything is published.

    The path and the message are made printable (one line, no control characters), whatever a
    file name or a parser's message holds."""

    def __init__(self, path: str, message: str) -> None:
        path, message = printable(str(path)), printable(str(message))
        super().__init__(f"{path}: {message}")
        self.path = path
        self.reason = message

    def __reduce__(self) -> tuple[type[DatasetError], tuple[str, str]]:
        # Pickled as its two arguments: an error met in the second process
        # (tasks/second_process.py) reaches the run as itself.
        return DatasetError, (self.path, self.reason)


@dataclass(frozen=True)
class SourceFile:
    dataset: str
    path: str  # relative to the period folder, as record_ref and source_file name it
    sha256: str
    bytes: int
    rows_read: int


@dataclass
class RawDataset:
    name: str
    frame: pd.DataFrame  # normalised column names, text values, plus _file and _line
    files: list[SourceFile]


def period_dir(landing: Path, agency_code: str, period: Period) -> Path:
    return Path(landing) / agency_code / period.id


def size_text(size: float) -> str:
    """A byte count for a message: bytes below a megabyte (limits set low in tests read
    right), megabytes (MiB) above."""
    return f"{int(size):,} bytes" if size < MIB else f"{size / MIB:,.1f} MB"


def _short(error: BaseException, limit: int = 160) -> str:
    return printable(" ".join(str(error).split()) or type(error).__name__, limit)


# --- opening the landing zone without following links -------------------------------------


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def _os_failure(shown: str, error: OSError) -> OSError | DatasetError:
    if error.errno not in _DATA_ERRNOS:
        return error  # e.g. EAGAIN from a file locked on a share: transient, retried
    if error.errno == errno.ELOOP:
        return DatasetError(shown, _NOT_A_LINK)
    return DatasetError(shown, f"cannot be opened: {error.strerror}")


def _lstat(name: str | Path, dir_fd: int | None, shown: str) -> os.stat_result | None:
    try:
        return os.lstat(name, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise _os_failure(shown, error) from error


def _require_regular(st: os.stat_result, shown: str) -> None:
    if stat.S_ISLNK(st.st_mode):
        raise DatasetError(shown, _NOT_A_LINK)
    if not stat.S_ISREG(st.st_mode):
        raise DatasetError(shown, f"is {_kind(st.st_mode)}, not a regular file")


def _open_folder(stack: ExitStack, name: str | Path, shown: str,
                 dir_fd: int | None = None) -> int:
    """An open descriptor of a real folder (not a link to one), closed with `stack`."""
    st = _lstat(name, dir_fd, shown)
    if st is None:
        raise DatasetError(shown, "no such folder")
    if stat.S_ISLNK(st.st_mode):
        raise DatasetError(shown, _NOT_A_LINK)
    if not stat.S_ISDIR(st.st_mode):
        raise DatasetError(shown, f"is {_kind(st.st_mode)}, not a folder")
    try:
        fd = os.open(name, _OPEN_FLAGS | _O_DIRECTORY, dir_fd=dir_fd)
    except OSError as error:
        raise _os_failure(shown, error) from error
    stack.callback(os.close, fd)
    return fd


def _open_file(name: str, dir_fd: int, rel: str, max_bytes: int) -> BinaryIO:
    """A regular file below an open folder, opened without following a link and without
    blocking on a pipe; refused when larger than `max_bytes`."""
    st = _lstat(name, dir_fd, rel)
    if st is None:
        raise DatasetError(rel, "required file missing")
    _require_regular(st, rel)
    try:
        fd = os.open(name, _OPEN_FLAGS | _O_NONBLOCK, dir_fd=dir_fd)
    except OSError as error:
        raise _os_failure(rel, error) from error
    try:
        st = os.fstat(fd)  # what was opened, in case the path changed since the check
        _require_regular(st, rel)
        _require_size(st.st_size, rel, max_bytes)
        os.set_blocking(fd, True)  # O_NONBLOCK was only against a pipe swapped in
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _require_size(size: int, rel: str, max_bytes: int) -> None:
    if size > max_bytes:
        raise DatasetError(rel, f"the file is {size_text(size)}, larger than the limit of "
                                f"{size_text(max_bytes)} (setting limits.max_file_mb)")


def _check_name(name: str, folder: str) -> None:
    """A file name that would break a message, a report or a database: control characters, line
    separators, bytes that are not UTF-8."""
    if any(unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") for c in name):
        raise DatasetError(folder + name, "the file name holds control characters or is not "
                                          "UTF-8; rename the file")


def _dataset_files(stack: ExitStack, period_fd: int,
                   dataset: SourceDataset) -> list[tuple[str, str, int]]:
    """(path relative to the period folder, name, descriptor of its folder) of every file."""
    if dataset.name == "attendance":
        if _lstat("attendance", period_fd, "attendance/") is None:
            raise DatasetError("attendance/", "required dataset missing: no attendance/*.csv file")
        folder_fd = _open_folder(stack, "attendance", "attendance/", period_fd)
        names = sorted(n for n in os.listdir(folder_fd) if n.endswith(".csv"))
        if not names:
            raise DatasetError("attendance/", "required dataset missing: no attendance/*.csv file")
        for name in names:
            _check_name(name, "attendance/")
        return [(f"attendance/{n}", n, folder_fd) for n in names]
    if dataset.name == "budget":
        # Present means any entry, also a link or a folder: it is then refused, not skipped.
        present = [n for n in ("budget.xlsx", "budget.csv")
                   if _lstat(n, period_fd, n) is not None]
        if not present:
            raise DatasetError("budget.xlsx", "required dataset missing: neither budget.xlsx "
                               "nor budget.csv")
        if len(present) > 1:
            # Picking one silently could publish the stale one after a correction.
            raise DatasetError("budget.csv", "both budget.xlsx and budget.csv are present; keep "
                               "only the one to use")
        return [(present[0], present[0], period_fd)]
    return [(dataset.pattern, dataset.pattern, period_fd)]


def _line_feeds(handle: BinaryIO) -> int:
    """The line feeds of the whole file, counted, not estimated: they size the partitions, and
    a file whose first lines are long and the rest short (a hostile one, say) would otherwise
    put the whole dataset into too few partitions and the run's memory past what the partition
    size promises. About 0.5 s per 750 MB."""
    handle.seek(0)
    return sum(block.count(b"\n") for block in iter(lambda: handle.read(MIB), b""))


def _fingerprint(handle: BinaryIO, rel: str, max_bytes: int) -> tuple[str, int, bool, int]:
    """SHA-256, size, whether a quote character occurs (only then can a value span lines) and
    the line feeds (`_line_feeds`), in one pass; a file that grew past the limit since it was
    opened is refused."""
    digest = hashlib.sha256()
    size, quoted, line_feeds = 0, False, 0
    handle.seek(0)
    for block in iter(lambda: handle.read(MIB), b""):
        size += len(block)
        _require_size(size, rel, max_bytes)
        digest.update(block)
        quoted = quoted or b'"' in block
        line_feeds += block.count(b"\n")  # see `_line_feeds`
    return digest.hexdigest(), size, quoted, line_feeds


# --- CSV ---------------------------------------------------------------------------------------


def _normalise_header(names: list[str], path: str) -> list[str]:
    normalised = [str(n).strip().lower() for n in names]
    seen: set[str] = set()
    for name in normalised:
        if name in seen:
            raise DatasetError(path, f"column {name!r} appears twice in the header")
        seen.add(name)
    return normalised


def _require_width(columns: int, rel: str) -> None:
    if columns > MAX_COLUMNS:
        raise DatasetError(rel, f"the header row has {columns:,} columns, more than "
                                f"{MAX_COLUMNS}")


def _read_header(handle: BinaryIO, rel: str) -> list[str]:
    handle.seek(0)
    first = handle.readline(_MAX_HEADER_BYTES + 1)
    if len(first) > _MAX_HEADER_BYTES:
        raise DatasetError(rel, f"the header row is longer than {size_text(_MAX_HEADER_BYTES)}")
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DatasetError(rel, f"not valid UTF-8 text (line 1: {error.reason})") from error
    header = next(csv.reader([text]), None)
    if not header or all(not h.strip() for h in header):
        raise DatasetError(rel, "empty file: no header row")
    _require_width(len(header), rel)
    if len(set(header)) != len(header):
        raise DatasetError(rel, "the header repeats a column name")
    return header


def _csv_records(handle: BinaryIO, rel: str, size: int) -> Iterator[tuple[int, list[str]]]:
    """(line where the record starts, fields) of every record after the header, by Python's
    csv module: slow but exact about physical lines. A blank line is a record of no fields."""
    csv.field_size_limit(max(csv.field_size_limit(), size + 1))
    handle.seek(0)
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
    try:
        reader = csv.reader(text)
        next(reader, None)
        previous = reader.line_num
        if previous > 1:
            raise DatasetError(rel, "the header row must be one line of column names")
        for record in reader:
            yield previous + 1, record
            previous = reader.line_num
    finally:
        text.detach()  # the handle stays open for its owner


class _PositionalReader(io.RawIOBase):
    """Reads a file by offset (os.pread), leaving the descriptor's own position alone: the csv
    module can read a file that pyarrow is streaming through the same descriptor."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd, self._position = fd, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._position}.get(whence)
        if base is None:
            base = os.fstat(self._fd).st_size  # SEEK_END
        self._position = base + offset
        return self._position

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = os.pread(self._fd, len(buffer), self._position)
        buffer[:len(data)] = data
        self._position += len(data)
        return len(data)


class _LineCursor:
    """Start line and blankness of pyarrow's records, from the csv module's reading of the same
    bytes, taken batch by batch; the two must agree record for record."""

    def __init__(self, handle: BinaryIO, rel: str, size: int, skip: int) -> None:
        self._rel = rel
        self._records = _csv_records(io.BufferedReader(_PositionalReader(handle.fileno()), MIB),
                                     rel, size)
        for _ in range(skip):
            self._next()

    def _mismatch(self) -> DatasetError:
        return DatasetError(self._rel, "not valid CSV: its records cannot be matched to lines")

    def _next(self) -> tuple[int, list[str]]:
        record = next(self._records, None)
        if record is None:
            raise self._mismatch()
        return record

    def take(self, records: int) -> tuple[np.ndarray, np.ndarray]:
        starts = np.empty(records, dtype="int64")
        blank = np.zeros(records, dtype=bool)
        for i in range(records):
            line, fields = self._next()
            starts[i], blank[i] = line, not fields
        return starts, blank

    def finish(self) -> None:
        if next(self._records, None) is not None:
            raise self._mismatch()


def _csv_failure(handle: BinaryIO, rel: str, size: int, header: list[str],
                 error: Exception) -> DatasetError:
    """pyarrow's parse error as a message naming the line, without the row's content."""
    text = str(error)
    if "invalid UTF8" in text:
        handle.seek(0)
        for number, line in enumerate(handle, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as bad:
                return DatasetError(rel, f"not valid UTF-8 text (line {number}: {bad.reason})")
    if re.search(r"Expected \d+ columns, got \d+", text):
        try:
            for line, fields in _csv_records(handle, rel, size):
                if fields and len(fields) != len(header):
                    return DatasetError(rel, f"not valid CSV: line {line} has {len(fields)} "
                                             f"fields, the header {len(header)}")
        except (csv.Error, UnicodeDecodeError, DatasetError):
            pass
    if "straddling" in text:
        return DatasetError(rel, f"not valid CSV: a record is longer than "
                                 f"{size_text(_BLOCK_BYTES)}")
    return DatasetError(rel, f"not valid CSV: {_short(error)}")


def _has_line_break(table: pa.Table) -> bool:
    """Whether a value holds CR or LF: one pass over each string column's bytes (the values'
    bytes lie between their first and last offset), not a substring search per value."""
    for column in table.columns:
        for chunk in column.chunks:
            if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
                if pc.any(pc.match_substring_regex(chunk.cast(pa.string()), "[\r\n]")).as_py():
                    return True
                continue
            if len(chunk) == 0:
                continue
            offsets_type = np.int32 if pa.types.is_string(chunk.type) else np.int64
            _, offsets_buffer, data_buffer = chunk.buffers()
            if data_buffer is None:
                continue
            offsets = np.frombuffer(offsets_buffer, dtype=offsets_type)
            first, last = offsets[chunk.offset], offsets[chunk.offset + len(chunk)]
            data = np.frombuffer(data_buffer, dtype=np.uint8)[first:last]
            low = data[data < 14]  # CR (13) and LF (10) are rare among the low bytes
            if len(low) and ((low == 10) | (low == 13)).any():
                return True
    return False


def _csv_batches(handle: BinaryIO, rel: str, size: int, quoted: bool, header: list[str],
                 batch_rows: int) -> Iterator[pd.DataFrame]:
    """The file's records, at most `batch_rows` at a time, as text frames with normalised column
    names and `_line`; blank lines dropped. Streamed: memory follows the batch, not the file.
    At least one frame, empty for a file of a header only."""
    handle.seek(0)
    cursor: _LineCursor | None = None
    records = 0
    yielded = False
    try:
        reader = pacsv.open_csv(
            handle,
            read_options=pacsv.ReadOptions(block_size=_BLOCK_BYTES),
            # Blank lines become all-null rows, told apart and dropped below.
            parse_options=pacsv.ParseOptions(ignore_empty_lines=False,
                                             newlines_in_values=quoted),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],
            ),
        )
        if reader.schema.names != [h.lstrip("\ufeff") for h in header]:
            raise DatasetError(rel, "the header row must be one line of column names")
        names = _normalise_header(list(reader.schema.names), rel)
        blocks = iter(reader)
        while True:
            block = next(blocks, None)
            if block is None:
                break
            for start in range(0, block.num_rows, batch_rows):
                table = pa.Table.from_batches([block.slice(start, batch_rows)])
                frame = table.to_pandas()
                frame.columns = names
                empty = frame.isna().all(axis=1).to_numpy()
                if cursor is None and (empty.any() or (quoted and _has_line_break(table))):
                    # A blank line and a record of empty fields both read as all-null rows, and
                    # a quoted value spanning lines shifts every later line: from here on the
                    # csv module tells them apart. Records before had one line each.
                    cursor = _LineCursor(handle, rel, size, records)
                if cursor is not None:
                    starts, blank = cursor.take(len(frame))
                    if (blank & ~empty).any():
                        raise DatasetError(rel, "not valid CSV: its records cannot be matched "
                                                "to lines")
                    frame[LINE_COLUMN] = starts
                    frame = frame[~blank].reset_index(drop=True)
                else:
                    frame[LINE_COLUMN] = np.arange(records + 2, records + 2 + len(frame),
                                                   dtype="int64")
                records += len(empty)
                yielded = True
                yield frame
        if cursor is not None:
            cursor.finish()
        if not yielded:
            frame = reader.schema.empty_table().to_pandas()
            frame.columns = names
            frame[LINE_COLUMN] = np.zeros(0, dtype="int64")
            yield frame
    except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
        raise _csv_failure(handle, rel, size, header, error) from error


# --- XLSX --------------------------------------------------------------------------------------


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))  # 1500000.0 -> 1500000, but 1e308 stays short
    if isinstance(value, datetime):
        return value.isoformat(sep=" ") if value.time() != time(0) else value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _sheet_frame(workbook: object, rel: str, max_rows: int) -> pd.DataFrame:
    sheets = getattr(workbook, "worksheets", [])
    if not sheets:
        raise DatasetError(rel, "the workbook has no sheet")
    sheet = sheets[0]
    if hasattr(sheet, "reset_dimensions"):
        # Rows as stored, not padded to the dimension the file declares (which may claim a
        # million rows and 16,384 columns).
        sheet.reset_dimensions()
    rows = sheet.iter_rows(values_only=True)
    header = next(rows, None)
    if not header or all(h is None for h in header):
        raise DatasetError(rel, "the first sheet has no header row")
    header = header[:max(i for i, h in enumerate(header) if h is not None) + 1]
    _require_width(len(header), rel)
    names = _normalise_header([_cell_text(h) or "" for h in header], rel)
    width = len(names)
    records: list[tuple[str | None, ...]] = []
    lines: list[int] = []
    for number, row in enumerate(rows, start=2):
        if number - 1 > max_rows:
            raise DatasetError(rel, f"more than {max_rows:,} rows on the first sheet (setting "
                                    "limits.max_xlsx_rows)")
        values = tuple(_cell_text(v) for v in row[:width])
        # A sheet row without any value is a blank line, not a record: Excel keeps formatted
        # empty rows.
        if any(v is not None for v in values):
            records.append(values + (None,) * (width - len(values)))
            lines.append(number)
    frame = pd.DataFrame.from_records(records, columns=names).astype("str")
    frame[LINE_COLUMN] = np.asarray(lines, dtype="int64")
    return frame


def _read_xlsx(handle: BinaryIO, rel: str, limits: InputLimits) -> pd.DataFrame:
    from openpyxl import load_workbook

    handle.seek(0)
    try:
        with zipfile.ZipFile(handle) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as error:
        raise DatasetError(rel, f"not a valid XLSX workbook: {_short(error)}") from error
    if unpacked > limits.max_xlsx_uncompressed_bytes:
        raise DatasetError(rel, f"the workbook unpacks to {size_text(unpacked)}, more than the "
                                f"limit of {size_text(limits.max_xlsx_uncompressed_bytes)} "
                                "(setting limits.max_xlsx_uncompressed_mb)")
    handle.seek(0)
    try:
        workbook = load_workbook(handle, read_only=True, data_only=True)
    except MemoryError:
        raise
    except Exception as error:  # openpyxl raises many types for a broken workbook
        raise DatasetError(rel, f"not a valid XLSX workbook: {_short(error)}") from error
    try:
        return _sheet_frame(workbook, rel, limits.max_xlsx_rows)
    except (DatasetError, MemoryError):
        raise
    except Exception as error:  # broken XML or a member failing its CRC, met while streaming
        raise DatasetError(rel, f"not a valid XLSX workbook: {_short(error)}") from error
    finally:
        workbook.close()


# --- datasets ----------------------------------------------------------------------------------


def file_hashes(folder: Path, name: str,
                limits: InputLimits | None = None) -> dict[str, str | None]:
    """SHA-256 of every file of one dataset, relative path -> digest, without parsing (a file
    that now breaks the parser still shows as changed); None for a file that cannot be read
    safely. Opened exactly as `extract_dataset` opens them: no link followed. Raises
    DatasetError when the dataset's files cannot be listed."""
    limits = limits or InputLimits()
    hashes: dict[str, str | None] = {}
    with ExitStack() as stack:
        period_fd = _open_folder(stack, folder, str(folder))
        for rel, file_name, dir_fd in _dataset_files(stack, period_fd, DATASETS[name]):
            try:
                with _open_file(file_name, dir_fd, rel, limits.max_file_bytes) as handle:
                    hashes[rel] = _fingerprint(handle, rel, limits.max_file_bytes)[0]
            except (OSError, DatasetError):
                hashes[rel] = None
    return hashes


@dataclass
class _OpenedFile:
    rel: str
    handle: BinaryIO
    sha256: str
    size: int
    quoted: bool
    line_feeds: int
    header: list[str] | None  # None for a workbook: read with its rows


class RawStream:
    """One dataset's files, opened (no link followed) and fingerprinted, whose rows `batches`
    reads a batch at a time. `files` is complete once `batches` is exhausted."""

    def __init__(self, name: str, opened: list[_OpenedFile], limits: InputLimits,
                 batch_rows: int) -> None:
        self.name = name
        self.files: list[SourceFile] = []
        self._opened = opened
        self._limits = limits
        self._batch_rows = batch_rows

    @property
    def paths(self) -> list[str]:
        return [f.rel for f in self._opened]

    @property
    def records_estimate(self) -> int:
        """Records of the CSV files, about: their line feeds after the header's."""
        return sum(max(f.line_feeds - 1, 0) for f in self._opened)

    @property
    def columns(self) -> list[str]:
        """The columns of `extract_dataset`'s frame, in its order, known before reading (CSV
        files only): each file's, in order of first appearance."""
        return _frame_columns(self.name, [(f.rel, f.header) for f in self._opened])

    def batches(self) -> Iterator[pd.DataFrame]:
        """Every file's rows in file order, as text frames of at most `batch_rows` rows: the
        dataset's columns (absent ones empty), unknown ones, `_line` and `_file`."""
        dataset = DATASETS[self.name]
        for f in self._opened:
            rows = 0
            frames = ([_read_xlsx(f.handle, f.rel, self._limits)] if f.header is None
                      else _csv_batches(f.handle, f.rel, f.size, f.quoted, f.header,
                                        self._batch_rows))
            for frame in frames:
                missing = [c for c in dataset.required_columns if c not in frame.columns]
                if missing:
                    raise DatasetError(f.rel, f"required column missing: {', '.join(missing)}")
                for column in dataset.column_names:
                    if column not in frame.columns:
                        frame[column] = pd.Series(pd.NA, index=frame.index, dtype="str")
                frame[FILE_COLUMN] = f.rel
                rows += len(frame)
                yield frame
            self.files.append(SourceFile(self.name, f.rel, f.sha256, f.size, rows))


def _frame_columns(name: str, headers: list[tuple[str, list[str] | None]]) -> list[str]:
    """`RawStream.columns` of files with these (path, header) in file order."""
    names: list[str] = []
    for rel, raw_header in headers:
        if raw_header is None:
            raise ValueError(f"{rel}: a workbook's columns are known only once read")
        header = _normalise_header(raw_header, rel)
        missing = [c for c in DATASETS[name].column_names if c not in header]
        names += [c for c in (*header, LINE_COLUMN, *missing, FILE_COLUMN) if c not in names]
    return names


def _listed(stack: ExitStack, period_fd: int, name: str,
            only: Collection[str] | None) -> list[tuple[str, str, int]]:
    """`_dataset_files`, or only those of `only` (relative paths), which must all be there."""
    listed = _dataset_files(stack, period_fd, DATASETS[name])
    if only is None:
        return listed
    present = {rel for rel, _, _ in listed}
    for rel in only:
        if rel not in present:
            raise DatasetError(rel, "the file was removed while the run read the dataset")
    return [entry for entry in listed if entry[0] in only]


@dataclass(frozen=True)
class DatasetSurvey:
    """One dataset's CSV files as a first look sees them, before any is hashed or parsed: what
    splitting its reading between processes needs to know (tasks/sources/partition.py)."""

    paths: list[str]  # in file order
    sizes: list[int]
    columns: list[str]  # `RawStream.columns` of all of them
    records_estimate: int  # `RawStream.records_estimate` of all of them


def survey_dataset(folder: Path, name: str, limits: InputLimits | None = None) -> DatasetSurvey:
    """Every file of a CSV dataset opened as `open_dataset` opens them (no link followed, the
    size limit checked), its line feeds counted (`_line_feeds`) and its header read, not
    hashed."""
    limits = limits or InputLimits()
    paths: list[str] = []
    sizes: list[int] = []
    headers: list[tuple[str, list[str] | None]] = []
    estimate = 0
    with ExitStack() as stack:
        period_fd = _open_folder(stack, folder, str(folder))
        for rel, file_name, dir_fd in _listed(stack, period_fd, name, None):
            with _open_file(file_name, dir_fd, rel, limits.max_file_bytes) as handle:
                size = os.fstat(handle.fileno()).st_size  # checked against the limit on opening
                line_feeds = _line_feeds(handle)
                header = None if rel.endswith(".xlsx") else _read_header(handle, rel)
            paths.append(rel)
            sizes.append(size)
            headers.append((rel, header))
            estimate += max(line_feeds - 1, 0)
    return DatasetSurvey(paths, sizes, _frame_columns(name, headers), estimate)


@contextmanager
def open_dataset(folder: Path, name: str, limits: InputLimits | None = None,
                 batch_rows: int = DEFAULT_BATCH_ROWS,
                 only: Collection[str] | None = None) -> Iterator[RawStream]:
    """Open and fingerprint every file of one dataset of a landing-zone period folder (or only
    those of `only`, relative paths as `RawStream.paths` names them), and read each CSV file's
    header line; rows are read by the stream's `batches`."""
    limits = limits or InputLimits()
    with ExitStack() as stack:
        period_fd = _open_folder(stack, folder, str(folder))
        opened: list[_OpenedFile] = []
        for rel, file_name, dir_fd in _listed(stack, period_fd, name, only):
            handle = stack.enter_context(_open_file(file_name, dir_fd, rel,
                                                    limits.max_file_bytes))
            sha256, size, quoted, line_feeds = _fingerprint(handle, rel, limits.max_file_bytes)
            header = None
            if not rel.endswith(".xlsx"):
                header = _read_header(handle, rel)
            opened.append(_OpenedFile(rel, handle, sha256, size, quoted, line_feeds, header))
        yield RawStream(name, opened, limits, batch_rows)


def extract_dataset(folder: Path, name: str, limits: InputLimits | None = None) -> RawDataset:
    """Read every file of one dataset from a period folder of the landing zone."""
    with open_dataset(folder, name, limits) as stream:
        frames = list(stream.batches())
        files = stream.files
    combined = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    del frames
    combined = combined.reset_index(drop=True)
    if name == "employees" and combined.empty:
        raise DatasetError(files[0].path, "employees.csv has no rows")
    return RawDataset(name, combined, files)
