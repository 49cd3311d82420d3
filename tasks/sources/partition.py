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

With a second process (tasks/second_process.py, a large agency), landing-zone files are
validated by two processes at once (`validate_partitioned` with `second`): the files, in file
order, are cut into `SPLIT_BLOCKS` contiguous blocks of about equal bytes; this process takes
blocks from the first on, the second process from the last back, each block claimed by creating
a file (O_EXCL), until they meet. So this process reads a first part of the files and the second
process the rest, wherever the two meet: no guess of how fast either is (the second one starts
seconds late, importing the pipeline; the machine may be busy). This process writes its rows as
the one-process path does (`part-NNNNN.parquet`, one per partition); the second writes each of
its blocks apart (`part-NNNNN-BBBBB.parquet`, block BBBBB, only partitions with rows), named in
the manifest: a partition is read as its own file then its blocks' in order, so every row stays
in file and line order. Nothing is rewritten; the quarantine, the row accounting and the source
files' records are merged back in file order, equal to the one-process path's.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from kinerja.claims import Claims
from kinerja.config import InputLimits, SqlSource
from kinerja.period import Period
from kinerja.redact import one_line
from schemas.parsing import map_unique
from schemas.sources import DATASETS, ValidationContext
from tasks.run_log import run_logger
from tasks.sources.extract import (
    DEFAULT_BATCH_ROWS,
    LINE_COLUMN,
    DatasetError,
    RawDataset,
    RawStream,
    SourceFile,
    open_dataset,
    survey_dataset,
)
from tasks.sources.sql_source import extract_sql
from tasks.sources.validate import QUARANTINE_COLUMNS, ValidatedDataset, validate_dataset

log = logging.getLogger(__name__)

PARTITIONED_DATASETS = ("attendance",)
MANIFEST = "partitions.json"
# Blocks of files that two processes take one at a time: more blocks, a closer meeting (the one
# that finishes first waits at most for the other's current block), but more files per
# partition from the second process (one per block it took).
SPLIT_BLOCKS = 16
_CLAIMS = "claims"  # in the partitions folder while two processes read: one file per block taken
_SECOND_QUARANTINE = "second-quarantine.parquet"  # the second process's quarantine, merged back


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

    def _manifest(self) -> dict:
        return json.loads((self.folder / MANIFEST).read_text())

    @property
    def count(self) -> int:
        return int(self._manifest()["partitions"])

    @property
    def blocks(self) -> list[int]:
        """The blocks the second process wrote apart (see the module's docstring), in order."""
        return [int(b) for b in self._manifest().get("blocks", [])]

    def exists(self) -> bool:
        return (self.folder / MANIFEST).is_file()

    def path(self, index: int) -> Path:
        return self.folder / f"{_part_name(index)}.parquet"

    def block_path(self, index: int, block: int) -> Path:
        return self.folder / f"{_part_name(index)}-{block:05d}.parquet"

    def paths(self, index: int) -> list[Path]:
        """A partition's files in file order: its own, then its rows of each block written
        apart (a block without rows of the partition has no file)."""
        return [self.path(index), *(p for p in (self.block_path(index, b) for b in self.blocks)
                                    if p.is_file())]

    def read(self, index: int) -> pd.DataFrame:
        frames = [pd.read_parquet(p) for p in self.paths(index)]
        if len(frames) == 1:
            return frames[0]
        frames = [f for f in frames if len(f)] or frames[:1]
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]

    def read_all(self) -> pd.DataFrame:
        """Every partition as one frame (for inspection and tests: not bounded)."""
        return pd.concat([self.read(i) for i in range(self.count)], ignore_index=True)

    def start(self, partitions: int) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        (self.folder / MANIFEST).write_text(json.dumps({"partitions": partitions}))

    def add_blocks(self, blocks: list[int]) -> None:
        """Name the blocks written apart, once they are complete."""
        manifest = self._manifest()
        manifest["blocks"] = sorted(blocks)
        (self.folder / MANIFEST).write_text(json.dumps(manifest))

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
    to one Parquet file per partition, in a started folder; a partition without rows gets an
    empty file. With `block`, the files of that block written apart, only where rows are."""

    def __init__(self, accepted: PartitionedFrames, partitions: int,
                 block: int | None = None) -> None:
        self.accepted, self.partitions, self.block = accepted, partitions, block
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
                    path = (self.accepted.path(index) if self.block is None
                            else self.accepted.block_path(index, self.block))
                    self._writers[index] = pq.ParquetWriter(path, table.schema)
                self._writers[index].write_table(table.slice(start, stop - start))

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        for index in range(self.partitions):
            if index not in self._writers and self._empty is not None and self.block is None:
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


def _merged(name: str, parts: list[ValidatedDataset], paths: list[str]) -> ValidatedDataset:
    """Validations of parts of a dataset (chunks, or the files each process read), each with
    the accounting of all `paths`, as one: the quarantine in file and line order, the counts
    added up."""
    quarantines = [p.quarantine for p in parts if len(p.quarantine)] or [parts[0].quarantine]
    quarantine = pd.concat(quarantines, ignore_index=True) if len(quarantines) > 1 \
        else quarantines[0]
    quarantine = quarantine.iloc[_quarantine_order(quarantine, paths)].reset_index(drop=True)
    counts = parts[0].file_counts.set_index("path")
    for part in parts[1:]:
        counts = counts + part.file_counts.set_index("path")
    file_counts = counts.reindex(paths).reset_index()
    return ValidatedDataset(name, pd.DataFrame(), quarantine[QUARANTINE_COLUMNS],
                            file_counts[["path", "rows_read", "rows_accepted",
                                         "rows_quarantined"]],
                            warnings=[w for p in parts for w in p.warnings])


def validate_chunks(name: str, batches: Iterable[pd.DataFrame], columns: list[str],
                    paths: list[str], ctx: ValidationContext, accepted: PartitionedFrames,
                    partitions: int, rows: int, block: int | None = None) -> ValidatedDataset:
    """A dataset whose rules are each about one row, validated in chunks of about `rows` rows
    as it is read, its accepted rows written straight into their partitions in the started
    folder `accepted` (with `block`: that block's files, written apart): no raw copy of the
    dataset is split first. The quarantine, the accounting (of every file of `paths`) and the
    accepted rows (in file and line order inside each partition) are those of validating the
    whole dataset at once."""
    files = [SourceFile(name, path, "", 0, 0) for path in paths]  # accounting only
    writer = _AcceptedWriter(accepted, partitions, block)
    parts: list[ValidatedDataset] = []
    try:
        for chunk in _chunks(batches, columns, rows):
            if LINE_COLUMN in chunk.columns:
                chunk[LINE_COLUMN] = chunk[LINE_COLUMN].astype("int64")
            validated = validate_dataset(RawDataset(name, chunk, files), ctx)
            writer.write(validated.accepted)
            validated.accepted = pd.DataFrame()  # written: not kept
            parts.append(validated)
            del validated
    finally:
        writer.close()
    return _merged(name, parts, paths)


def validate_partitioned(name: str, folder: Path, source: SqlSource | None, agency_code: str,
                         period: Period, limits: InputLimits, ctx: ValidationContext,
                         work_root: Path, rows_per_partition: int,
                         second: SecondProcess | None = None,
                         ) -> tuple[ValidatedDataset, list[SourceFile]]:
    """Extract, split and validate one partitioned dataset into `work_root`'s
    `accepted/<name>/`; returns the validation (quarantine, accounting) and the source files.
    Landing-zone files are streamed, by two processes when `second` is given (see the module's
    docstring); a SQL source's rows are read whole, then split, in this process."""
    accepted = PartitionedFrames(work_root / "accepted" / name)
    # Every rule of a partitioned dataset is about one row (schemas/sources.py: attendance has
    # no key), so it is validated in chunks as read; a dataset with a key would need its rows
    # split by partition first, so that a key's rows meet, which nothing needs today.
    if DATASETS[name].key:
        raise ValueError(f"{name} has a key: it cannot be validated in chunks as read")
    # A chunk is at most a read batch: a chunk of a partition's size would hold the raw, the
    # normalised and the typed rows of a whole partition at once.
    chunk_rows = min(rows_per_partition, DEFAULT_BATCH_ROWS)
    if source is None and second is not None:
        return _validate_in_two(name, folder, limits, ctx, accepted, rows_per_partition,
                                chunk_rows, second)
    if source is None:
        with open_dataset(folder, name, limits) as stream:
            partitions = partition_count(stream.records_estimate, rows_per_partition)
            accepted.start(partitions)
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
    accepted.start(partitions)
    return validate_chunks(name, pieces, list(frame.columns), [f.path for f in files], ctx,
                           accepted, partitions, chunk_rows), files


# --- two processes -------------------------------------------------------------------------


@dataclass(frozen=True)
class SplitPlan:
    """What both processes reading one dataset's files agree on before either starts: the
    files, the columns and the partitions of the whole dataset, and the blocks of files."""

    name: str
    folder: str  # the landing-zone period folder
    accepted: str  # the partitions folder, started
    paths: list[str]  # every file, in file order
    columns: list[str]  # the whole dataset's (`RawStream.columns`)
    partitions: int  # from the whole dataset's estimate, as the one-process path counts it
    blocks: list[tuple[int, int]]  # [start, stop) of `paths`, in order
    chunk_rows: int

    def block_paths(self, block: int) -> list[str]:
        start, stop = self.blocks[block]
        return self.paths[start:stop]

    def taken(self, block: int) -> bool:
        """Whether a process has taken the block (while they read)."""
        return Claims(Path(self.accepted) / _CLAIMS).path(block).exists()


@dataclass
class SecondHalf:
    """What the second process hands back (by value: small; its quarantine by path)."""

    blocks: list[int]  # taken, in order
    files: list[SourceFile]  # its files' records, in file order
    file_counts: pd.DataFrame  # the accounting of every file of the plan (zero: not its own)
    quarantine: str  # path of its quarantine's Parquet file
    warnings: list[str] = field(default_factory=list)
    cpu_seconds: float = 0.0
    started: float = 0.0  # time.time() as it started and finished, for the log
    finished: float = 0.0


class Pending(Protocol):
    """The second process's half, running."""

    def done(self) -> bool: ...

    def result(self) -> SecondHalf: ...


# Starts the second process's half of a plan (`validate_second_half` there).
SecondProcess = Callable[[SplitPlan], Pending]


def split_blocks(sizes: list[int], blocks: int) -> list[tuple[int, int]]:
    """[start, stop) of at most `blocks` contiguous groups of files of about equal bytes, each
    of at least one file."""
    if not sizes:
        return []
    ends = np.cumsum(np.asarray(sizes, dtype=np.int64))  # bytes up to the end of each file
    cuts = set()
    for k in range(1, blocks):
        target = int(ends[-1]) * k / blocks
        crossing = int(np.searchsorted(ends, target))  # the file in which the target falls
        before = int(ends[crossing - 1]) if crossing else 0
        # Cut before or after that file, whichever is nearer the target.
        cuts.add(crossing if target - before < int(ends[crossing]) - target else crossing + 1)
    bounds = [0, *sorted(c for c in cuts if 0 < c < len(sizes)), len(sizes)]
    return list(zip(bounds[:-1], bounds[1:], strict=True))


@contextmanager
def _open_block(plan: SplitPlan, block: int, limits: InputLimits) -> Iterator[RawStream]:
    """A block's files, opened and fingerprinted: the records of the files this process read
    come from the handles it read them through, as on the one-process path."""
    paths = plan.block_paths(block)
    with open_dataset(Path(plan.folder), plan.name, limits, only=paths) as stream:
        unknown = [c for c in stream.columns if c not in plan.columns]
        if unknown:  # replaced since the survey: its rows would not fit the plan's columns
            raise DatasetError(paths[0], "the files changed while the run read them (a column "
                                         f"{unknown[0]!r} appeared); run again")
        yield stream


def plan_split(name: str, folder: Path, limits: InputLimits, accepted: PartitionedFrames,
               rows_per_partition: int, chunk_rows: int,
               blocks: int = SPLIT_BLOCKS) -> SplitPlan:
    """Survey the files (`survey_dataset`: opened, counted, not hashed), start the partitions
    folder and its claims."""
    survey = survey_dataset(folder, name, limits)
    partitions = partition_count(survey.records_estimate, rows_per_partition)
    accepted.start(partitions)
    (accepted.folder / _CLAIMS).mkdir()
    return SplitPlan(name, str(folder), str(accepted.folder), survey.paths, survey.columns,
                     partitions, split_blocks(survey.sizes, blocks), chunk_rows)


def validate_first_half(plan: SplitPlan, limits: InputLimits, ctx: ValidationContext,
                        stop: Callable[[], bool] = lambda: False,
                        ) -> tuple[ValidatedDataset, list[SourceFile], list[int]]:
    """This process's part: blocks from the first on, while `stop` says no and the block is
    not taken, read as one stream into the partitions' own files. Returns the validation, the
    files' records and the blocks taken."""
    accepted = PartitionedFrames(Path(plan.accepted))
    claims = Claims(accepted.folder / _CLAIMS)
    files: list[SourceFile] = []
    taken: list[int] = []

    def batches() -> Iterator[pd.DataFrame]:
        for block in range(len(plan.blocks)):
            if stop() or not claims.take(block):
                return
            taken.append(block)
            with _open_block(plan, block, limits) as stream:
                yield from stream.batches()
                files.extend(stream.files)

    validated = validate_chunks(plan.name, batches(), plan.columns, plan.paths, ctx, accepted,
                                plan.partitions, plan.chunk_rows)
    return validated, files, taken


def validate_second_half(plan: SplitPlan, limits: InputLimits, ctx: ValidationContext,
                         after_block: Callable[[], None] = lambda: None) -> SecondHalf:
    """The second process's part: blocks from the last back, while not taken, each read and
    written apart (a block's rows come after those of the blocks before it, which this
    process may take later). `after_block` is called after each block is written."""
    started, cpu = time.time(), time.process_time()
    accepted = PartitionedFrames(Path(plan.accepted))
    claims = Claims(accepted.folder / _CLAIMS)
    parts: list[ValidatedDataset] = []
    files: list[SourceFile] = []
    taken: list[int] = []
    for block in reversed(range(len(plan.blocks))):
        if not claims.take(block):
            break
        taken.append(block)
        with _open_block(plan, block, limits) as stream:
            parts.append(validate_chunks(plan.name, stream.batches(), plan.columns, plan.paths,
                                         ctx, accepted, plan.partitions, plan.chunk_rows,
                                         block=block))
            files = stream.files + files
        after_block()
    quarantine = accepted.folder / _SECOND_QUARANTINE
    if parts:
        merged = _merged(plan.name, parts, plan.paths)
    else:
        merged = _merged(plan.name, [_nothing_read(plan)], plan.paths)
    merged.quarantine.to_parquet(quarantine, index=False)
    return SecondHalf(sorted(taken), files, merged.file_counts, str(quarantine),
                      merged.warnings, time.process_time() - cpu, started, time.time())


def _nothing_read(plan: SplitPlan) -> ValidatedDataset:
    return ValidatedDataset(plan.name, pd.DataFrame(), pd.DataFrame(columns=QUARANTINE_COLUMNS),
                            pd.DataFrame({"path": plan.paths, "rows_read": 0,
                                          "rows_accepted": 0, "rows_quarantined": 0}))


def _validate_in_two(name: str, folder: Path, limits: InputLimits, ctx: ValidationContext,
                     accepted: PartitionedFrames, rows_per_partition: int, chunk_rows: int,
                     second: SecondProcess) -> tuple[ValidatedDataset, list[SourceFile]]:
    """`validate_partitioned` of landing-zone files, this process and `second` together."""
    started, cpu = time.time(), time.thread_time()
    plan = plan_split(name, folder, limits, accepted, rows_per_partition, chunk_rows)
    pending = second(plan)
    try:
        # The second process done: it met this one (all is taken) or failed (stop; below, its
        # error is raised or its part read here).
        first, first_files, taken = validate_first_half(plan, limits, ctx, pending.done)
    except BaseException:
        Claims(accepted.folder / _CLAIMS).take_all(len(plan.blocks))  # the other one stops
        raise
    first_seconds, first_cpu = time.time() - started, time.thread_time() - cpu
    try:
        other = pending.result()
    except DatasetError:
        raise  # the data: as one process would have failed
    except Exception as error:  # noqa: BLE001 - the process, not the data: read its part here
        run_logger(log).warning("%s: the second process failed (%s); its part is read in this "
                                "process", name, one_line(error))
        other = _second_half_here(plan, limits, ctx, taken)
    run_logger(log).info(
        "%s in two processes: blocks %s of %d here (%d files, %.1f s, %.1f CPU-s), %s in the "
        "second process (%d files, started %.1f s after, %.1f s, %.1f CPU-s)", name,
        _span(taken) or "none", len(plan.blocks), len(first_files), first_seconds, first_cpu,
        _span(other.blocks) or "none", len(other.files), other.started - started,
        other.finished - other.started, other.cpu_seconds)
    return merge_halves(plan, first, first_files, other)


def _second_half_here(plan: SplitPlan, limits: InputLimits, ctx: ValidationContext,
                      taken: list[int]) -> SecondHalf:
    """What a failed second process took (claimed, written in part or whole, or not handed
    back), read again in this process: its claims and block files go first."""
    accepted = PartitionedFrames(Path(plan.accepted))
    claims = Claims(accepted.folder / _CLAIMS)
    for block in range(len(plan.blocks)):
        if block not in taken:
            claims.path(block).unlink(missing_ok=True)
            for index in range(plan.partitions):
                accepted.block_path(index, block).unlink(missing_ok=True)
    return validate_second_half(plan, limits, ctx)


def merge_halves(plan: SplitPlan, first: ValidatedDataset, first_files: list[SourceFile],
                 other: SecondHalf) -> tuple[ValidatedDataset, list[SourceFile]]:
    """Both processes' parts as the one-process path gives them: the quarantine, the row
    accounting and the files' records in file order; the partitions name the blocks written
    apart (read after the partition's own file). The scratch (claims, the second quarantine)
    goes."""
    accepted = PartitionedFrames(Path(plan.accepted))
    second = ValidatedDataset(plan.name, pd.DataFrame(), pd.read_parquet(other.quarantine),
                              other.file_counts, warnings=other.warnings)
    validated = _merged(plan.name, [first, second], plan.paths)
    order = {path: i for i, path in enumerate(plan.paths)}
    files = sorted(first_files + other.files, key=lambda f: order[f.path])
    accepted.add_blocks(other.blocks)
    shutil.rmtree(accepted.folder / _CLAIMS, ignore_errors=True)
    Path(other.quarantine).unlink(missing_ok=True)
    return validated, files


def _span(blocks: list[int]) -> str:
    return f"{blocks[0] + 1}-{blocks[-1] + 1}" if blocks else ""
