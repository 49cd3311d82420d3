"""Plumbing shared by the dataset writers: seeded random streams, the generation summary, CSV
writing with the header quirks of real exports, decimal formatting and the bad-row budget."""

from __future__ import annotations

import csv
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path

import numpy as np

from kinerja.period import Period

Progress = Callable[[str], None]


class Stream(IntEnum):
    """Independent random streams. Each dataset draws from its own stream, so adding bad rows or
    changing one dataset's generator never shifts the values of another dataset."""

    ORGANISATION = 1
    CHURN = 2
    PEOPLE = 3
    ROSTER = 4
    CALENDAR = 5
    ATTENDANCE = 6
    SKP = 7
    RATINGS = 8
    IKU = 9
    BUDGET = 10
    STYLE = 11
    BAD = 12
    ABSENCE = 13


@dataclass(frozen=True)
class Seeds:
    """The seed and agency every stream is derived from."""

    seed: int
    agency_key: int

    def rng(self, stream: Stream, *keys: int) -> np.random.Generator:
        return np.random.default_rng(
            np.random.SeedSequence([self.seed, self.agency_key, int(stream), *keys]))


def agency_key(agency_code: str) -> int:
    """A stable integer for the agency: its BPS code when numeric, else a CRC of the text."""
    return int(agency_code) if agency_code.isdigit() else zlib.crc32(agency_code.encode())


def period_key(period: Period) -> int:
    return period.year * 2 + period.half - 1


# --- summary -------------------------------------------------------------------------------------


@dataclass
class DatasetSummary:
    """What was written for one dataset of one period.

    `rows` counts data rows (headers excluded) over all of the dataset's files; `bad_rows` counts
    the rows the pipeline must quarantine, both rows of a deliberate duplicate key included;
    `bad_by_kind` splits `bad_rows` by kind (see `kinerja.synthetic.badrows`)."""

    rows: int = 0
    bad_rows: int = 0
    bad_by_kind: dict[str, int] = field(default_factory=dict)
    paths: list[Path] = field(default_factory=list)

    def add_bad(self, kind: str, count: int) -> None:
        if count:
            self.bad_by_kind[kind] = self.bad_by_kind.get(kind, 0) + count
            self.bad_rows += count


@dataclass
class PeriodSummary:
    period_id: str
    path: Path
    datasets: dict[str, DatasetSummary] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(d.rows for d in self.datasets.values())

    @property
    def bad_rows(self) -> int:
        return sum(d.bad_rows for d in self.datasets.values())


@dataclass
class GenerationSummary:
    """Per period and dataset: rows written, deliberately bad rows written (by kind) and paths."""

    out_dir: Path
    agency_code: str
    employees: int
    seed: int
    bad_rate: float
    periods: dict[str, PeriodSummary] = field(default_factory=dict)
    elapsed_seconds: float = 0.0

    def dataset(self, period_id: str, name: str) -> DatasetSummary:
        return self.periods[period_id].datasets[name]

    @property
    def total_rows(self) -> int:
        return sum(p.rows for p in self.periods.values())

    @property
    def total_bad_rows(self) -> int:
        return sum(p.bad_rows for p in self.periods.values())


# --- formatting ----------------------------------------------------------------------------------


def fmt_decimal(value: float, decimals: int = 2) -> str:
    """A dot decimal without trailing zeros: 12.50 -> "12.5", 100.0 -> "100"."""
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


# --- CSV writing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileStyle:
    """How one exported file looks. Every variant is valid per sources.md: a byte-order mark,
    CRLF line ends, header case, column order and unknown extra columns."""

    bom: bool = False
    crlf: bool = False
    header_case: str = "lower"  # lower, upper, title
    shuffle: bool = False
    order_seed: int = 0

    def header(self, name: str) -> str:
        if self.header_case == "upper":
            return name.upper()
        if self.header_case == "title":
            return name.title() if name != "nip" else "NIP"
        return name

    def order(self, columns: Sequence[str]) -> list[str]:
        columns = list(columns)
        if not self.shuffle:
            return columns
        permutation = np.random.default_rng(self.order_seed).permutation(len(columns))
        return [columns[i] for i in permutation]

    @property
    def eol(self) -> str:
        return "\r\n" if self.crlf else "\n"


def draw_style(rng: np.random.Generator, *, bom: float = 0.25, crlf: float = 0.2,
               upper: float = 0.1, title: float = 0.1, shuffle: float = 0.2) -> FileStyle:
    """A random file style; every draw is taken whatever the outcome, so the stream's position
    does not depend on earlier outcomes."""
    u = rng.random(5)
    case = "upper" if u[2] < upper else "title" if u[2] < upper + title else "lower"
    return FileStyle(bom=bool(u[0] < bom), crlf=bool(u[1] < crlf), header_case=case,
                     shuffle=bool(u[3] < shuffle), order_seed=int(u[4] * 2**31))


def write_csv(path: Path, columns: dict[str, Sequence[str]], style: FileStyle) -> int:
    """Write text columns (all the same length) with the style's header and order; returns the
    number of data rows."""
    order = style.order(list(columns))
    n = len(next(iter(columns.values()))) if columns else 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig" if style.bom else "utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator=style.eol)
        writer.writerow([style.header(c) for c in order])
        writer.writerows(zip(*(columns[c] for c in order), strict=True))
    return n


# --- bad-row budget ------------------------------------------------------------------------------

MIN_ROWS_FOR_BAD = 10  # smaller datasets (a short calendar) stay clean only when the rate is 0
MIN_ROWS_FOR_DUPLICATE = 20  # a duplicate costs two rows: keep it out of tiny datasets


@dataclass(frozen=True)
class BadKind:
    """A kind of deliberately broken row and how many quarantined rows one instance makes."""

    name: str
    cost: int = 1


def plan_bad(n_good: int, rate: float, kinds: Sequence[BadKind],
             rng: np.random.Generator) -> dict[str, int]:
    """How many instances of each kind to write so that the quarantined rows are about
    `rate * n_good` (at least one when the rate is positive and the dataset is not tiny),
    spread evenly over the kinds in a shuffled order."""
    if rate <= 0 or n_good < MIN_ROWS_FOR_BAD:
        return {}
    usable = [k for k in kinds if k.cost == 1 or n_good >= MIN_ROWS_FOR_DUPLICATE]
    budget = max(1, int(round(rate * n_good)))
    order = [usable[i] for i in rng.permutation(len(usable))]
    round_cost = sum(k.cost for k in order)
    full, remainder = divmod(budget, round_cost)
    counts = {k.name: full for k in order}
    for kind in order:
        if kind.cost <= remainder:
            counts[kind.name] += 1
            remainder -= kind.cost
    return {name: count for name, count in counts.items() if count}


def insertion_order(n_good: int, n_bad: int, rng: np.random.Generator) -> np.ndarray:
    """A permutation of range(n_good + n_bad) that keeps the good rows (0..n_good-1) in order and
    drops the bad rows (n_good..) in at random places, as broken lines sit inside real exports."""
    keys = np.concatenate([np.arange(n_good, dtype=np.float64),
                           rng.integers(0, n_good + 1, n_bad) - 0.5])
    return np.argsort(keys, kind="stable")
