"""Partitioned attendance (issue 8): a dataset read and validated in bounded memory.

Attendance is the one dataset that grows by a hundred rows per employee and semester (12 million
rows for 100,000 employees). Instead of one frame it is handled in partitions by a hash of the
NIP, so that memory follows the partition size (setting `attendance_partition_rows`), not the
agency:

1. attendance (no key: every rule of it is about one row) is validated as it is read, in
   chunks of about the partition size (`validate_chunks`: the files streamed by
   tasks/sources/extract.py `open_dataset`, a batch at a time), and each chunk's accepted rows
   are appended to their partitions, `<work>/accepted/<dataset>/part-NNNNN.parquet`; the
   quarantine, small by the quarantine limit, is gathered back in file and line order;
2. the score step (tasks/steps.py) scores attendance one partition at a time against the
   employees of the same partition.

A row's partition depends only on its NIP as validation reads it (trimmed), so every row of one
employee, and so every (nip, date), lands in the same partition as that employee: a rule over
one employee's rows (a duplicate key, the merge of a day's rows) sees all of them.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from kinerja.config import InputLimits, SqlSource
from kinerja.period import Period
from schemas.parsing import map_unique
from schemas.sources import DATASETS, ValidationContext
from tasks.sources.extract import (
    DEFAULT_BATCH_ROWS,
    LINE_COLUMN,
    RawDataset,
    SourceFile,
    open_dataset,
)
from tasks.sources.sql_source import extract_sql
from tasks.sources.validate import QUARANTINE_COLUMNS, ValidatedDataset, validate_dataset

PARTITIONED_DATASETS = ("attendance",)
MANIFEST = "partitions.json"


def partition_count(rows: int, rows_per_partition: int) -> int:
    """Partitions for about `rows` rows, at most `rows_per_partition` each on average."""
    if rows_per_partition < 1:
        raise ValueError("rows per partition must be at least 1")
    return max(1, math.ceil(rows / rows_per_partition))


def partition_of(nips: pd.Series, partitions: int) -> np.ndarray:
    """The partition (0..partitions-1) of every NIP, trimmed as validation trims it; a missing
    NIP goes to partition 0. pandas' hash of the text: the same in every process and run."""
    if partitions == 1:
        return np.zeros(len(nips), dtype=np.int64)
    text = nips.astype("str").str.strip()
    hashed = map_unique(
        text, lambda u: pd.util.hash_array(u.to_numpy(dtype=object)) % np.uint64(partitions),
        missing=np.uint64(0))
    return hashed.to_numpy().astype(np.int64)


def _part_name(index: int) -> str:
    return f"part-{index:05d}"


@dataclass(frozen=True)
class PartitionedFrames:
    """A folder of one dataset's partitions: `part-NNNNN.parquet` and a manifest with their
    count (every partition has its file, empty or not)."""

    folder: Path

    @property
    def count(self) -> int:
        return int(json.loads((self.folder / MANIFEST).read_text())["partitions"])

    def exists(self) -> bool:
        return (self.folder / MANIFEST).is_file()

    def path(self, index: int) -> Path:
        return self.folder / f"{_part_name(index)}.parquet"

    def read(self, index: int) -> pd.DataFrame:
        return pd.read_parquet(self.path(index))

    def read_all(self) -> pd.DataFrame:
        """Every partition as one frame (for inspection and tests: not bounded)."""
        return pd.concat([self.read(i) for i in range(self.count)], ignore_index=True)

    def start(self, partitions: int) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        (self.folder / MANIFEST).write_text(json.dumps({"partitions": partitions}))

    def write(self, index: int, frame: pd.DataFrame) -> None:
        frame.to_parquet(self.path(index), index=False)


def _quarantine_order(quarantine: pd.DataFrame, paths: list[str]) -> np.ndarray:
    """Positions that put quarantine rows back in file and line order, as the whole dataset's
    validation lists them: record_ref is `<file>:<line>`."""
    if quarantine.empty:
        return np.arange(0)
    ref = quarantine["record_ref"].astype("str").str.rsplit(":", n=1, expand=True)
    file_order = ref[0].map({p: i for i, p in enumerate(paths)}).to_numpy(dtype=np.int64)
    line = ref[1].astype("int64").to_numpy()
    return np.lexsort((line, file_order))


class _AcceptedWriter:
    """The accepted rows of each partition, appended chunk by chunk (in file and line order)
    to one Parquet file per partition; a partition without rows gets an empty file."""

    def __init__(self, accepted: PartitionedFrames, partitions: int) -> None:
        self.accepted, self.partitions = accepted, partitions
        accepted.start(partitions)
        self._writers: dict[int, pq.ParquetWriter] = {}
        self._empty: pd.DataFrame | None = None

    def write(self, frame: pd.DataFrame) -> None:
        if self._empty is None:
            self._empty = frame.iloc[:0]
        if frame.empty:
            return
        part = partition_of(frame["nip"], self.partitions)
        if self.partitions <= np.iinfo(np.int16).max:
            part = part.astype(np.int16)  # numpy's stable sort of small integers is a radix sort
        order = np.argsort(part, kind="stable")  # file and line order kept inside a partition
        table = pa.Table.from_pandas(frame, preserve_index=False).take(pa.array(order))
        bounds = np.searchsorted(part[order], np.arange(self.partitions + 1))
        for index in range(self.partitions):
            start, stop = int(bounds[index]), int(bounds[index + 1])
            if stop > start:
                if index not in self._writers:
                    self._writers[index] = pq.ParquetWriter(self.accepted.path(index),
                                                            table.schema)
                self._writers[index].write_table(table.slice(start, stop - start))

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        for index in range(self.partitions):
            if index not in self._writers and self._empty is not None:
                self.accepted.write(index, self._empty)
        self._writers.clear()


def _chunks(batches: Iterable[pd.DataFrame], columns: list[str],
            rows: int) -> Iterable[pd.DataFrame]:
    """The batches' rows in chunks of at least `rows` rows (the last may be smaller), each in
    the column order of the whole dataset's frame (a column only other files have is empty)."""
    pending: list[pd.DataFrame] = []
    size, yielded = 0, False
    for batch in batches:
        for column in columns:
            if column not in batch.columns:
                batch[column] = pd.Series(pd.NA, index=batch.index, dtype="str")
        pending.append(batch[columns])
        size += len(batch)
        if size >= rows:
            yield pd.concat(pending, ignore_index=True) if len(pending) > 1 else pending[0]
            pending, size, yielded = [], 0, True
    if pending or not yielded:  # an empty dataset is one empty chunk
        yield (pd.concat(pending, ignore_index=True) if len(pending) > 1
               else pending[0] if pending else pd.DataFrame({c: pd.Series(dtype="str")
                                                             for c in columns}))


def validate_chunks(name: str, batches: Iterable[pd.DataFrame], columns: list[str],
                    paths: list[str], ctx: ValidationContext, accepted: PartitionedFrames,
                    partitions: int, rows: int) -> ValidatedDataset:
    """A dataset whose rules are each about one row, validated in chunks of about `rows` rows
    as it is read, its accepted rows written straight into their partitions: no raw copy of
    the dataset is split first. The quarantine, the accounting and the accepted rows (in file
    and line order inside each partition) are those of validating the whole dataset at once."""
    files = [SourceFile(name, path, "", 0, 0) for path in paths]  # accounting only
    writer = _AcceptedWriter(accepted, partitions)
    quarantines: list[pd.DataFrame] = []
    counts: pd.DataFrame | None = None
    warnings: list[str] = []
    try:
        for chunk in _chunks(batches, columns, rows):
            if LINE_COLUMN in chunk.columns:
                chunk[LINE_COLUMN] = chunk[LINE_COLUMN].astype("int64")
            validated = validate_dataset(RawDataset(name, chunk, files), ctx)
            writer.write(validated.accepted)
            quarantines.append(validated.quarantine)
            part_counts = validated.file_counts.set_index("path")
            counts = part_counts if counts is None else counts + part_counts
            warnings += validated.warnings
            del validated
    finally:
        writer.close()
    quarantine = pd.concat(quarantines, ignore_index=True)
    quarantine = quarantine.iloc[_quarantine_order(quarantine, paths)].reset_index(drop=True)
    file_counts = counts.reindex(paths).reset_index()  # type: ignore[union-attr]
    return ValidatedDataset(name, pd.DataFrame(), quarantine[QUARANTINE_COLUMNS],
                            file_counts[["path", "rows_read", "rows_accepted",
                                         "rows_quarantined"]], warnings=warnings)


def validate_partitioned(name: str, folder: Path, source: SqlSource | None, agency_code: str,
                         period: Period, limits: InputLimits, ctx: ValidationContext,
                         work_root: Path, rows_per_partition: int,
                         ) -> tuple[ValidatedDataset, list[SourceFile]]:
    """Extract, split and validate one partitioned dataset into `work_root`'s
    `accepted/<name>/`; returns the validation (quarantine, accounting) and the source files.
    Landing-zone files are streamed; a SQL source's rows are read whole, then split."""
    accepted = PartitionedFrames(work_root / "accepted" / name)
    # Every rule of a partitioned dataset is about one row (schemas/sources.py: attendance has
    # no key), so it is validated in chunks as read; a dataset with a key would need its rows
    # split by partition first, so that a key's rows meet, which nothing needs today.
    if DATASETS[name].key:
        raise ValueError(f"{name} has a key: it cannot be validated in chunks as read")
    # A chunk is at most a read batch: a chunk of a partition's size would hold the raw, the
    # normalised and the typed rows of a whole partition at once.
    chunk_rows = min(rows_per_partition, DEFAULT_BATCH_ROWS)
    if source is None:
        with open_dataset(folder, name, limits) as stream:
            partitions = partition_count(stream.records_estimate, rows_per_partition)
            validated = validate_chunks(name, stream.batches(), stream.columns, stream.paths,
                                        ctx, accepted, partitions, chunk_rows)
            files = stream.files
        return validated, files
    whole = extract_sql(source, agency_code, period, limits)
    frame, files = whole.frame, whole.files
    del whole
    partitions = partition_count(len(frame), rows_per_partition)
    pieces = (frame.iloc[i:i + chunk_rows].reset_index(drop=True)
              for i in range(0, max(len(frame), 1), chunk_rows))
    return validate_chunks(name, pieces, list(frame.columns), [f.path for f in files], ctx,
                           accepted, partitions, chunk_rows), files
