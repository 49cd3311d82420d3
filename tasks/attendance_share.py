"""Attendance's figures of a large agency, computed by the run's two processes (issue 8).

Scoring reads attendance one partition at a time (tasks/sources/partition.py): every employee's
rows are in his own partition, so a partition's figures (`tasks.score.attendance_figures`) need
nothing of the others. At 100,000 employees the partitions' figures are about half of the score
step, while the run's second process would only be importing Great Expectations for the check.
So the run takes partitions from the first on and the second process from the last back, each
claiming a partition before scoring it (kinerja/claims.py), until they meet.

The second process writes each partition's figures to `part-NNNNN.parquet` in the figures
folder, under a temporary name renamed when complete: a file there is a partition's whole
figures. The run keeps its own in memory, then reads the other process's files. A partition
claimed by a second process that failed has no file: the run scores it itself, after that
process has ended.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from kinerja.claims import Claims
from kinerja.period import Period
from tasks.score import attendance_figures
from tasks.sources.partition import PartitionedFrames, partition_of

_CLAIMS = ".claims"  # in the figures folder: one file per partition taken


class FigureParts:
    """The figures folder: one file per partition scored by the second process."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.claims = Claims(folder / _CLAIMS, prefix="partition")

    def start(self) -> None:
        """An empty folder (a retried step starts over: its earlier claims are void)."""
        shutil.rmtree(self.folder, ignore_errors=True)
        self.claims.folder.mkdir(parents=True)

    def path(self, index: int) -> Path:
        return self.folder / f"part-{index:05d}.parquet"

    def write(self, index: int, frame: pd.DataFrame) -> None:
        partial = self.path(index).with_suffix(".partial")
        frame.to_parquet(partial, index=False)
        os.replace(partial, self.path(index))

    def read(self, index: int) -> pd.DataFrame | None:
        """The partition's figures, or None when the second process did not finish it."""
        path = self.path(index)
        return pd.read_parquet(path) if path.is_file() else None


def score_partitions(attendance: PartitionedFrames, employees: pd.DataFrame,
                     calendar: pd.DataFrame, period: Period, policy: Any,
                     take: Callable[[int], bool], from_last: bool = False,
                     ) -> Iterator[tuple[int, pd.DataFrame]]:
    """Each partition this process takes (`take(index)`: whether it may score it) and its
    figures, from the first on or `from_last` back, until one is refused: where the other
    process is."""
    owner = partition_of(employees["nip"], attendance.count)
    order = range(attendance.count - 1, -1, -1) if from_last else range(attendance.count)
    for index in order:
        if not take(index):
            return
        yield index, attendance_figures(employees[owner == index], attendance.read(index),
                                        period, calendar, policy)


def second_share(attendance: PartitionedFrames, employees: pd.DataFrame,
                 calendar: pd.DataFrame, period: Period, policy: Any,
                 parts: FigureParts, after_each: Callable[[], None] = lambda: None,
                 ) -> list[int]:
    """The second process's share: partitions from the last back, each written to `parts` as
    soon as it is scored (then `after_each()`). Returns the partitions it scored."""
    done = []
    for index, figures in score_partitions(attendance, employees, calendar, period, policy,
                                           parts.claims.take, from_last=True):
        parts.write(index, figures)
        done.append(index)
        after_each()
    return done


def gathered(attendance: PartitionedFrames, employees: pd.DataFrame, calendar: pd.DataFrame,
             period: Period, policy: Any, own: dict[int, pd.DataFrame],
             parts: FigureParts | None) -> pd.DataFrame:
    """Every partition's figures in partition order: this process's (`own`), the second
    process's files, and any partition left without either scored here. Call it once the
    second process has ended."""
    owner = None
    frames = []
    for index in range(attendance.count):
        figures = own.get(index)
        if figures is None and parts is not None:
            figures = parts.read(index)
        if figures is None:
            if owner is None:
                owner = partition_of(employees["nip"], attendance.count)
            figures = attendance_figures(employees[owner == index], attendance.read(index),
                                         period, calendar, policy)
        frames.append(figures)
    return pd.concat(frames, ignore_index=True)
