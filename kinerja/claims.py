"""Work shared by two processes that take numbered items (issue 8): attendance blocks
(tasks/sources/partition.py) and partitions (tasks/attendance_share.py), each process from one
end until it finds an item taken, which is where they met; and a report's pages and workbooks
(tasks/reporting/report.py), both processes down one list, each taking the next item left.

An item is taken by creating its file with O_EXCL, which the file system grants to exactly one
process, so neither process needs to hear from the other while they work.
"""

from __future__ import annotations

import os
from pathlib import Path


class Claims:
    """Items taken, one file each (`<prefix>-NNNNN` in `folder`) created with O_EXCL: an item
    is taken exactly once."""

    def __init__(self, folder: Path, prefix: str = "block") -> None:
        self.folder = folder
        self.prefix = prefix

    def path(self, item: int) -> Path:
        return self.folder / f"{self.prefix}-{item:05d}"

    def take(self, item: int) -> bool:
        """Whether this process took `item` now (False: the other one had)."""
        try:
            fd = os.open(self.path(item), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            return False
        os.close(fd)
        return True

    def take_all(self, items: int) -> None:
        """Leave nothing to take: the other process stops after its current item."""
        for item in range(items):
            self.take(item)
