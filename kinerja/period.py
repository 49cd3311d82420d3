"""Semester periods: `YYYY-S1` (1 January to 30 June) and `YYYY-S2` (1 July to 31 December)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_PERIOD_RE = re.compile(r"^(\d{4})-S([12])$")


@dataclass(frozen=True, order=True)
class Period:
    year: int
    half: int  # 1 or 2

    @classmethod
    def parse(cls, period_id: str) -> Period:
        match = _PERIOD_RE.match(period_id.strip().upper())
        if not match:
            raise ValueError(f"invalid period {period_id!r}: expected YYYY-S1 or YYYY-S2")
        return cls(int(match.group(1)), int(match.group(2)))

    @property
    def id(self) -> str:
        return f"{self.year}-S{self.half}"

    @property
    def start(self) -> date:
        return date(self.year, 1 if self.half == 1 else 7, 1)

    @property
    def end(self) -> date:
        return date(self.year, 6, 30) if self.half == 1 else date(self.year, 12, 31)

    def previous(self, n: int = 1) -> Period:
        index = self.year * 2 + (self.half - 1) - n
        return Period(index // 2, index % 2 + 1)

    def next(self, n: int = 1) -> Period:
        return self.previous(-n)

    def __str__(self) -> str:
        return self.id


def periods_between(first: Period, last: Period) -> list[Period]:
    """Every period from `first` to `last`, both included, in order."""
    out: list[Period] = []
    current = first
    while current <= last:
        out.append(current)
        current = current.next()
    return out
