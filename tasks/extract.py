"""Landing zone -> raw text frames, one per dataset, with each row's file and line.

Every value is read as text (a NIP must never become a number), column names are matched
case-insensitively after trimming, a byte-order mark is allowed and unknown columns are kept only
for the quarantine payload. A file that cannot be used at all raises `DatasetError` naming it.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from kinerja.period import Period
from schemas.sources import DATASETS, SourceDataset

FILE_COLUMN = "_file"
LINE_COLUMN = "_line"


class DatasetError(Exception):
    """A dataset that cannot be used at all: the run fails before anything is published."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.reason = message


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


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _normalise_header(names: list[str], path: str) -> list[str]:
    normalised = [str(n).strip().lower() for n in names]
    seen: set[str] = set()
    for name in normalised:
        if name in seen:
            raise DatasetError(path, f"column {name!r} appears twice in the header")
        seen.add(name)
    return normalised


def _read_csv(path: Path, rel: str) -> pd.DataFrame:
    try:
        with path.open("r", encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader([handle.readline()]), None)
    except UnicodeDecodeError as error:
        raise DatasetError(rel, f"not valid UTF-8 text ({error.reason})") from error
    if not header or all(not h.strip() for h in header):
        raise DatasetError(rel, "empty file: no header row")
    if len(set(header)) != len(header):
        raise DatasetError(rel, "the header repeats a column name")
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=64 << 20),
            # Blank lines become all-null rows (dropped below) so that line numbers stay exact.
            parse_options=pacsv.ParseOptions(ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
        raise DatasetError(rel, f"not valid CSV: {error}") from error
    frame = table.to_pandas()
    frame.columns = _normalise_header(list(frame.columns), rel)
    frame[LINE_COLUMN] = pd.RangeIndex(2, len(frame) + 2)
    return frame


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ") if value.time() != time(0) else value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _read_xlsx(path: Path, rel: str) -> pd.DataFrame:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types for a broken workbook
        raise DatasetError(rel, f"not a valid XLSX workbook: {error}") from error
    try:
        rows = workbook.worksheets[0].iter_rows(values_only=True)
        header = next(rows, None)
        if not header or all(h is None for h in header):
            raise DatasetError(rel, "the first sheet has no header row")
        names = _normalise_header([_cell_text(h) or "" for h in header], rel)
        width = len(names)
        records = [tuple(_cell_text(v) for v in row[:width]) + (None,) * (width - len(row))
                   for row in rows]
    finally:
        workbook.close()
    frame = pd.DataFrame.from_records(records, columns=names).astype("str")
    frame[LINE_COLUMN] = pd.RangeIndex(2, len(frame) + 2)
    return frame


def _source_files(folder: Path, dataset: SourceDataset) -> list[Path]:
    if dataset.name == "attendance":
        files = sorted((folder / "attendance").glob("*.csv"))
        if not files:
            raise DatasetError("attendance/", "required dataset missing: no attendance/*.csv file")
        return files
    if dataset.name == "budget":
        present = [folder / n for n in ("budget.xlsx", "budget.csv") if (folder / n).is_file()]
        if not present:
            raise DatasetError("budget.xlsx", "required dataset missing: neither budget.xlsx "
                               "nor budget.csv")
        if len(present) > 1:
            # Picking one silently could publish the stale one after a correction.
            raise DatasetError("budget.csv", "both budget.xlsx and budget.csv are present; keep "
                               "only the one to use")
        return present
    path = folder / dataset.pattern
    if not path.is_file():
        raise DatasetError(dataset.pattern, "required file missing")
    return [path]


def extract_dataset(folder: Path, name: str) -> RawDataset:
    """Read every file of one dataset from a period folder of the landing zone."""
    dataset = DATASETS[name]
    frames: list[pd.DataFrame] = []
    files: list[SourceFile] = []
    for path in _source_files(folder, dataset):
        rel = path.relative_to(folder).as_posix()
        frame = _read_xlsx(path, rel) if path.suffix == ".xlsx" else _read_csv(path, rel)
        missing = [c for c in dataset.required_columns if c not in frame.columns]
        if missing:
            raise DatasetError(rel, f"required column missing: {', '.join(missing)}")
        data_columns = [c for c in frame.columns if c != LINE_COLUMN]
        frame = frame[frame[data_columns].notna().any(axis=1)]  # blank lines are no rows
        for column in dataset.column_names:
            if column not in frame.columns:
                frame[column] = pd.Series(pd.NA, index=frame.index, dtype="str")
        frame[FILE_COLUMN] = rel
        frames.append(frame)
        files.append(SourceFile(name, rel, sha256_of(path), path.stat().st_size, len(frame)))
    combined = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    combined = combined.reset_index(drop=True)
    if name == "employees" and combined.empty:
        raise DatasetError(files[0].path, "employees.csv has no rows")
    return RawDataset(name, combined, files)
