"""attendance/*.csv: one export per terminal per month plus a letters export, written in chunks
of employees with vectorised numpy so a province-sized agency fits in bounded memory.

For each chunk the generator draws the true day of every employee (present, sick, permit, leave,
official duty, absent without notice, or nothing on days off), then emits the rows the source
systems would hold for it:

- a present day: a row in the employee's terminal file of that month; about 3% of days also in a
  second terminal's file (tapped in at one and out at the other, or tapped twice);
- a letter day (S, I, C, DL): mostly a row in `surat_izin.csv`, sometimes only a status row in the
  terminal file; a quarter of the letters also have a terminal row for the same day (the daily
  recap's TK, or a morning tap before leaving on duty), which the letter outranks;
- an absent day (TK): half the time an explicit TK row in the terminal file, else no row at all;
- a few present rows on weekends and holidays.

Employees join mid-period, take runs of 10+ absent days, arrive late by every tier of the
scoring policy and forget to tap, in proportions driven by their persistent traits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from kinerja.period import Period
from kinerja.synthetic import badrows as bad
from kinerja.synthetic import names
from kinerja.synthetic.common import (
    DatasetSummary,
    FileStyle,
    Progress,
    Seeds,
    Stream,
    draw_style,
    insertion_order,
    period_key,
    plan_bad,
)
from kinerja.synthetic.population import People, Roster

CHUNK_EMPLOYEES = 4096  # part of the output's identity: changing it changes the bytes
LETTERS_FILE = "surat_izin.csv"

ST_H, ST_S, ST_I, ST_C, ST_DL, ST_TK = range(6)  # status codes, in STATUS_CODES order
STATUS_CODES = ("H", "S", "I", "C", "DL", "TK")
_NONE = -1
# Spellings a status takes in exports, canonical first.
_SPELLINGS = (("H", "h", " H"), ("S", "s"), ("I", "i"), ("C", "c"), ("DL", "dl", " dl ", "Dl"),
              ("TK", "tk", "Tk"))
_SPELLING_OFFSET = np.cumsum([0] + [len(s) for s in _SPELLINGS])[:-1]
_SPELLING_COUNT = np.array([len(s) for s in _SPELLINGS])
_SPELLING_TABLE = pa.array([s for group in _SPELLINGS for s in group])

START = 7 * 3600 + 30 * 60
END_MON_THU = 16 * 3600
END_FRIDAY = 16 * 3600 + 30 * 60
# Share of late (and early) days in each tier of scoring.md: 1-30, 31-60, 61-90, 91+ minutes.
_TIER_P = np.array([0.72, 0.15, 0.07, 0.06])
_TIER_LOW = np.array([1, 31, 61, 91])
_TIER_HIGH = np.array([30, 60, 90, 240])

# Letters per 124 working days (a semester) and their lengths.
_LETTER_RATE = {ST_S: 1.0, ST_I: 0.7, ST_C: 0.8, ST_DL: 1.6}
DUPLICATE_TAP_P = 0.03
EXPLICIT_TK_P = 0.5
LETTER_IN_LETTERS_FILE_P = 0.85
LETTER_OVERLAP_P = 0.25

_TIME_HMS = pa.array([f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400)])
_TIME_HM = pa.array([f"{m // 60:02d}:{m % 60:02d}" for m in range(1440)])


@dataclass(frozen=True)
class PeriodDays:
    """The period's calendar days and which of them are working days."""

    period: Period
    days: np.ndarray  # datetime64[D]
    weekday: np.ndarray  # Monday 0
    working: np.ndarray  # bool
    month: np.ndarray  # 0-based month within the period
    working_index: np.ndarray  # day indices of the working days
    text: pa.Array  # ISO text of each day

    @classmethod
    def build(cls, period: Period, holidays: set[np.datetime64]) -> PeriodDays:
        days = np.arange(np.datetime64(period.start, "D"), np.datetime64(period.end, "D") + 1)
        weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
        holiday = np.isin(days, np.array(sorted(holidays), dtype="datetime64[D]"))
        working = (weekday < 5) & ~holiday
        month = (days.astype("datetime64[M]").astype(np.int64)
                 - np.datetime64(period.start, "M").astype(np.int64))
        return cls(period, days, weekday, working, month, np.flatnonzero(working),
                   pa.array([str(d) for d in days]))

    @property
    def months(self) -> list[str]:
        return sorted({str(d)[:7] for d in self.days})


@dataclass
class _ExportFile:
    """One attendance export and how it looks."""

    path: Path
    style: FileStyle
    columns: list[str]  # canonical names in file order, extras included
    seconds: bool  # HH:MM:SS rather than HH:MM
    lowercase: bool  # this terminal writes status codes in lower case
    quoted: bool
    serial: str = ""
    handle: BinaryIO | None = None
    rows: int = 0

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = self.path.open("wb")
        header = ",".join(self.style.header(c) for c in self.columns) + self.style.eol
        self.handle.write(("\ufeff" if self.style.bom else "").encode() + header.encode())

    def append(self, table: pa.Table) -> None:
        assert self.handle is not None
        options = pacsv.WriteOptions(include_header=False, eol=self.style.eol,
                                     quoting_style="needed" if self.quoted else "none")
        pacsv.write_csv(table, self.handle, options)
        self.rows += table.num_rows

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None


@dataclass
class _Rows:
    """Rows of one chunk before formatting: one entry per row."""

    file: np.ndarray
    emp: np.ndarray  # index within the chunk
    day: np.ndarray
    status: np.ndarray
    check_in: np.ndarray  # float seconds, NaN when missing
    check_out: np.ndarray


@dataclass
class _BadRows:
    file: list[int] = field(default_factory=list)
    emp: list[int] = field(default_factory=list)
    values: list[dict[str, str | None]] = field(default_factory=list)


def terminal_count(employees: int) -> int:
    return int(np.clip(round(np.sqrt(employees) / 8), 2, 12))


def _export_files(folder: Path, days: PeriodDays, terminals: int,
                  rng: np.random.Generator) -> list[_ExportFile]:
    """Terminal files (terminal-major, then month) followed by the letters file."""
    files: list[_ExportFile] = []
    firmware = rng.random((terminals, 4))
    for t in range(terminals):
        for label in days.months:
            u = rng.random(3)
            # One terminal's exports share a firmware (time format, case); an upgrade mid-period
            # sometimes changes the header or adds columns.
            style = draw_style(rng, bom=0.3, crlf=0.25, upper=0.15, title=0.15, shuffle=0.3)
            extras = [c for c, p in (("verifikasi", 0.3), ("sn_mesin", 0.25), ("nama", 0.2))
                      if u[0] < p or (c == "nama" and u[1] < p)]
            columns = ["nip", "date", "status", "check_in", "check_out", *extras]
            files.append(_ExportFile(
                folder / f"mesin_{t + 1:02d}_{label}.csv", style, style.order(columns),
                seconds=bool(firmware[t, 0] < 0.5), lowercase=bool(firmware[t, 1] < 0.15),
                quoted="nama" in extras or bool(u[2] < 0.1),
                serial=f"AEYU{2019 + int(firmware[t, 2] * 5)}{int(firmware[t, 3] * 1e5):05d}"))
    style = draw_style(rng, bom=0.5, crlf=0.5)
    files.append(_ExportFile(folder / LETTERS_FILE, style,
                             style.order(["nip", "date", "status", "no_surat", "keterangan"]),
                             seconds=False, lowercase=False, quoted=True))
    return files


# --- the true days of a chunk ----------------------------------------------------------------


def _tier_minutes(rng: np.random.Generator, n: int) -> np.ndarray:
    tier = rng.choice(4, size=n, p=_TIER_P)
    return rng.integers(_TIER_LOW[tier], _TIER_HIGH[tier] + 1)


def _absence_plan(seeds: Seeds, roster: Roster, people: People) -> tuple[np.ndarray, np.ndarray]:
    """Target absent (TK) days and the length of a run of consecutive absent days per employee.
    The classes make every discipline band of scoring.md section 8 occur in a 2,000-employee
    agency while keeping sanctions to a few percent of the staff and dismissals rare, as in a
    real agency (the score is standard normal: about 0.3% get a long run, 0.15% 28+ days, 1% 14
    to 28, 1.2% 7 to 14, 2% 3 to 7); the persistent discipline trait keeps the same people in
    trouble."""
    rng = seeds.rng(Stream.ABSENCE, period_key(roster.period))
    n = len(roster)
    score = 0.8 * people.discipline[roster.person] + 0.6 * rng.standard_normal(n)
    u = rng.random((n, 2))
    bands = [(2.75, 10, 21), (2.61, 28, 46), (2.18, 14, 28), (1.935, 7, 14), (1.68, 3, 7)]
    tk = rng.poisson(0.3, n)
    run = np.zeros(n, dtype=np.int64)
    assigned = np.zeros(n, dtype=bool)
    for i, (threshold, low, high) in enumerate(bands):
        mask = (score > threshold) & ~assigned
        value = (low + u[:, 0] * (high - low)).astype(np.int64)
        if i == 0:
            run[mask] = value[mask]
            tk[mask] = (u[mask, 1] * 4).astype(np.int64)
        else:
            tk[mask] = value[mask]
        assigned |= mask
    return tk, run


def _expand(emp: np.ndarray, first_day: np.ndarray, length: np.ndarray) -> tuple[np.ndarray,
                                                                                np.ndarray]:
    """(employee, day) pairs for events starting on `first_day` lasting `length` steps."""
    total = int(length.sum())
    reps = np.repeat(np.arange(len(emp)), length)
    offset = np.arange(total) - np.repeat(np.cumsum(length) - length, length)
    return emp[reps], first_day[reps] + offset


def _true_days(chunk: dict[str, np.ndarray], days: PeriodDays,
               rng: np.random.Generator) -> np.ndarray:
    """Status code of every (employee, day) of the chunk: H, S, I, C, DL, TK or _NONE."""
    n, n_days = len(chunk["af"]), len(days.days)
    d = np.arange(n_days)
    active = (d >= chunk["af"][:, None]) & (d <= chunk["at"][:, None])
    active_working = active & days.working
    ordinal = np.cumsum(active_working, axis=1) - 1
    n_aw = active_working.sum(axis=1)
    status = np.full((n, n_days), _NONE, dtype=np.int8)
    status[active_working] = ST_H

    # Absent without notice: a run of consecutive working days for some, scattered for others.
    run = np.minimum(chunk["run"], n_aw)
    run_start = (rng.random(n) * np.maximum(n_aw - run + 1, 0)).astype(np.int64)
    in_run = active_working & (ordinal >= run_start[:, None]) & (
        ordinal < (run_start + run)[:, None])
    keys = np.where(active_working, rng.random((n, n_days)), 2.0)
    rank = np.argsort(np.argsort(keys, axis=1, kind="stable"), axis=1, kind="stable")
    scattered = active_working & (rank < np.minimum(chunk["tk"], n_aw)[:, None])
    absent = in_run | scattered

    # Letters: S and C run over calendar days (weekends inside a leave get a letter row too),
    # I and DL over working days.
    first_working = np.searchsorted(days.working_index, chunk["af"])
    letter = np.full((n, n_days), _NONE, dtype=np.int8)
    scale = n_aw / 124.0
    for code in (ST_S, ST_I, ST_C, ST_DL):
        count = rng.poisson(_LETTER_RATE[code] * scale)
        emp = np.repeat(np.arange(n), count)
        start = (rng.random(len(emp)) * n_aw[emp]).astype(np.int64)
        u = rng.random(len(emp))
        if code == ST_S:
            length = np.select([u < 0.5, u < 0.8, u < 0.95], [1, 2, 3], 6)
        elif code == ST_C:
            length = np.select([u < 0.4, u < 0.7, u < 0.9], [1, 2, 3], 5 + (u * 60 % 8))
        elif code == ST_DL:
            length = np.select([u < 0.5, u < 0.85], [1, 2], 3)
        else:
            length = np.ones(len(emp), dtype=np.int64)
        length = length.astype(np.int64)
        start_day = days.working_index[np.minimum(first_working[emp] + start,
                                                  len(days.working_index) - 1)]
        if code in (ST_S, ST_C):
            e, day = _expand(emp, start_day, length)
        else:
            e, ordinal_day = _expand(emp, first_working[emp] + start, length)
            keep = ordinal_day < len(days.working_index)
            e, day = e[keep], days.working_index[ordinal_day[keep]]
        keep = day < n_days
        e, day = e[keep], day[keep]
        keep = active[e, day]
        letter[e[keep], day[keep]] = code

    status[absent] = ST_TK
    lettered = (letter != _NONE) & ~absent
    status[lettered] = letter[lettered]
    weekend_work = active & ~days.working & (rng.random((n, n_days)) < chunk["weekend_p"][:, None])
    status[weekend_work & (status == _NONE)] = ST_H
    return status


def _times(chunk: dict[str, np.ndarray], days: PeriodDays, e: np.ndarray, d: np.ndarray,
           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """check_in and check_out seconds of present days (NaN for a forgotten tap)."""
    m = len(e)
    arrival = chunk["arrival_mean"][e] + chunk["arrival_sd"][e] * rng.standard_normal(m)
    late = rng.random(m) < chunk["late_p"][e]
    arrival = np.where(late, START + (_tier_minutes(rng, m) - 1) * 60 + rng.integers(1, 61, m),
                       arrival)
    friday = days.weekday[d] == 4
    end = np.where(friday, END_FRIDAY, END_MON_THU)
    departure = end + rng.exponential(20 * 60, m) + rng.integers(0, 60, m)
    early = rng.random(m) < chunk["early_p"][e]
    departure = np.where(early, end - (_tier_minutes(rng, m) - 1) * 60 - rng.integers(1, 61, m),
                         departure)
    off_day = ~days.working[d]
    weekend_in = 8 * 3600 + 30 * 60 * rng.standard_normal(m)
    arrival = np.where(off_day, weekend_in, arrival)
    departure = np.where(off_day, weekend_in + 3 * 3600 + rng.integers(0, 2 * 3600, m), departure)
    arrival = np.clip(np.floor(arrival), 5 * 3600, 12 * 3600)
    # At least half an hour after arrival, so a good row never has check_out before check_in.
    departure = np.clip(np.maximum(np.floor(departure), arrival + 1800), None, 21 * 3600)
    u = rng.random((m, 2))
    arrival[u[:, 0] < chunk["missing_p"][e]] = np.nan
    departure[u[:, 1] < 1.5 * chunk["missing_p"][e]] = np.nan
    return arrival, departure


def _emit(chunk: dict[str, np.ndarray], status: np.ndarray, days: PeriodDays, terminals: int,
          rng: np.random.Generator) -> _Rows:
    """The export rows of the chunk's true days, sorted by file, day and employee."""
    n_months = len(days.months)
    letters_file = terminals * n_months
    terminal = chunk["terminal"]
    parts: list[tuple[np.ndarray, ...]] = []

    def add(file, e, d, code, cin=None, cout=None) -> None:
        nan = np.full(len(e), np.nan)
        parts.append((file, e, d, np.broadcast_to(np.asarray(code, dtype=np.int8), len(e)),
                      nan if cin is None else cin, nan if cout is None else cout))

    def terminal_file(e: np.ndarray, d: np.ndarray, shift: int = 0) -> np.ndarray:
        return (terminal[e] + shift) % terminals * n_months + days.month[d]

    e, d = np.nonzero(status == ST_H)
    cin, cout = _times(chunk, days, e, d, rng)
    u = rng.random((len(e), 4))
    dup = u[:, 0] < DUPLICATE_TAP_P
    split = dup & (u[:, 1] < 0.6)
    double = dup & ~split
    add(terminal_file(e, d), e, d, ST_H, cin, np.where(split, np.nan, cout))
    add(terminal_file(e[split], d[split], 1), e[split], d[split], ST_H, None, cout[split])
    later_in = cin[double] + 60 + np.floor(u[double, 2] * 540)
    # Never before the later check_in: that row would be broken, and it is meant to be good.
    earlier_out = np.maximum(cout[double] - 60 - np.floor(u[double, 3] * 540), later_in + 60)
    add(terminal_file(e[double], d[double], 1), e[double], d[double], ST_H, later_in, earlier_out)

    e, d = np.nonzero(status == ST_TK)
    explicit = rng.random(len(e)) < EXPLICIT_TK_P
    add(terminal_file(e[explicit], d[explicit]), e[explicit], d[explicit], ST_TK)

    e, d = np.nonzero((status >= ST_S) & (status <= ST_DL))
    code = status[e, d]
    u = rng.random((len(e), 3))
    in_letters = u[:, 0] < LETTER_IN_LETTERS_FILE_P
    add(np.full(int(in_letters.sum()), letters_file), e[in_letters], d[in_letters],
        code[in_letters])
    add(terminal_file(e[~in_letters], d[~in_letters]), e[~in_letters], d[~in_letters],
        code[~in_letters])
    # The terminals' own view of a letter day: the recap's TK or a morning tap before duty.
    overlap = in_letters & (u[:, 1] < LETTER_OVERLAP_P) & days.working[d]
    tapped = overlap & np.isin(code, [ST_I, ST_DL]) & (u[:, 2] < 0.6)
    recap = overlap & ~tapped
    add(terminal_file(e[recap], d[recap]), e[recap], d[recap], ST_TK)
    morning = 6 * 3600 + 50 * 60 + np.floor(u[tapped, 2] * 2400)
    add(terminal_file(e[tapped], d[tapped]), e[tapped], d[tapped], ST_H, morning)

    columns = [np.concatenate(c) for c in zip(*parts, strict=True)]
    order = np.lexsort((columns[1], columns[2], columns[0]))
    return _Rows(*(c[order] for c in columns))


# --- formatting ----------------------------------------------------------------------------


def _time_text(seconds: np.ndarray, with_seconds: bool) -> pa.Array:
    missing = np.isnan(seconds)
    whole = np.where(missing, 0, seconds).astype(np.int64)
    index = pa.array(whole if with_seconds else whole // 60, mask=missing)
    return pc.take(_TIME_HMS if with_seconds else _TIME_HM, index)


def _status_text(codes: np.ndarray, lowercase: bool, rng: np.random.Generator) -> pa.Array:
    u = rng.random(len(codes))
    variant = np.where(u < 0.03, 1 + (u * 1e4).astype(np.int64) % 3, 0)
    if lowercase:
        variant = np.where(variant == 0, 1, variant)
    variant = np.minimum(variant, _SPELLING_COUNT[codes] - 1)
    return pc.take(_SPELLING_TABLE, pa.array(_SPELLING_OFFSET[codes] + variant))


def _file_table(export: _ExportFile, rows: _Rows, sel: np.ndarray, names_pa: pa.Array,
                nips_pa: pa.Array, days: PeriodDays, bad_rows: _BadRows, bad_sel: list[int],
                rng: np.random.Generator, bad_rng: np.random.Generator) -> pa.Table:
    """The file's share of a chunk as text columns. Good rows draw only from `rng` and bad rows
    only from `bad_rng`, so a run with bad rows writes exactly the good rows of a run without."""
    emp = rows.emp[sel]
    data: dict[str, pa.Array] = {
        "nip": pc.take(nips_pa, pa.array(emp)),
        "date": pc.take(days.text, pa.array(rows.day[sel])),
        "status": _status_text(rows.status[sel], export.lowercase, rng),
        "check_in": _time_text(rows.check_in[sel], export.seconds),
        "check_out": _time_text(rows.check_out[sel], export.seconds),
    }
    notes = [names.LETTER_NOTES.get(code, ("",)) for code in STATUS_CODES]

    def extra(column: str, e: np.ndarray, codes: np.ndarray, g: np.random.Generator) -> pa.Array:
        if column == "nama":
            return pc.take(names_pa, pa.array(e, type=pa.int64()))
        if column == "verifikasi":
            face = (g.random(len(e)) < 0.2).astype(np.int64)
            return pc.take(pa.array(["Sidik Jari", "Wajah"]), pa.array(face))
        if column == "sn_mesin":
            return pa.array([export.serial] * len(e))
        if column == "no_surat":
            return pa.array([f"800.1.11.4/{k}/{days.period.year}"
                             for k in g.integers(100, 9999, len(e))])
        u = g.random(len(codes))  # keterangan: the letter's reason
        return pa.array([notes[c][int(x * len(notes[c]))]
                         for c, x in zip(codes.tolist(), u, strict=True)], type=pa.string())

    for column in export.columns:
        if column not in data:
            data[column] = extra(column, emp, rows.status[sel], rng)
    table = pa.table({c: data[c].cast(pa.string()) for c in export.columns})
    if not bad_sel:
        return table
    bad_emp = np.array([bad_rows.emp[i] for i in bad_sel], dtype=np.int64)
    bad_data = {}
    for column in export.columns:
        if column in ("nip", "date", "status", "check_in", "check_out"):
            bad_data[column] = pa.array([bad_rows.values[i].get(column) for i in bad_sel],
                                        type=pa.string())
        else:
            bad_data[column] = extra(column, bad_emp, np.zeros(len(bad_emp), np.int64),
                                     bad_rng).cast(pa.string())
    combined = pa.concat_tables([table, pa.table(bad_data)])
    return combined.take(pa.array(insertion_order(table.num_rows, len(bad_sel), bad_rng)))


# --- bad rows ----------------------------------------------------------------------------------


def _bad_rows(rows: _Rows, nips: np.ndarray, exports: list[_ExportFile], days: PeriodDays,
              rate: float, rng: np.random.Generator, summary: DatasetSummary) -> _BadRows:
    """Extra broken rows modelled on random good rows of the chunk, in the same files."""
    out = _BadRows()
    plan = plan_bad(len(rows.file), rate, bad.KINDS["attendance"], rng)
    if not plan:
        return out
    timed = np.flatnonzero((rows.status == ST_H) & ~np.isnan(rows.check_in)
                           & ~np.isnan(rows.check_out))
    unknown = bad.reserved_nips(rng, plan.get(bad.NIP_UNKNOWN, 0), bad.UNKNOWN_SEQ)
    start, end = days.days[0], days.days[-1]
    for kind, count in plan.items():
        pool = timed if kind in (bad.TIME_UNPARSEABLE, bad.CHECKOUT_BEFORE_CHECKIN) else None
        if pool is not None and not len(pool):
            continue
        picks = rng.choice(pool, count) if pool is not None else rng.integers(0, len(rows.file),
                                                                             count)
        for j, row in enumerate(picks):
            export = exports[rows.file[row]]
            values: dict[str, str | None] = {
                "nip": nips[rows.emp[row]],
                "date": str(days.days[rows.day[row]]),
                "status": STATUS_CODES[rows.status[row]],
                "check_in": _clock(rows.check_in[row], export.seconds),
                "check_out": _clock(rows.check_out[row], export.seconds),
            }
            u = rng.random()
            if kind in bad.NIP_KINDS:
                values["nip"] = bad.corrupt_nip(values["nip"], kind, u)
            elif kind == bad.NIP_UNKNOWN:
                values["nip"] = unknown[j]
            elif kind == bad.DATE_OUTSIDE_PERIOD:
                shift = 1 + int(u * 40)
                values["date"] = str(start - shift if u < 0.5 else end + shift)
            elif kind == bad.DATE_UNPARSEABLE:
                values["date"] = bad.bad_date(u, values["date"])
            elif kind == bad.STATUS_UNKNOWN:
                values["status"] = bad.UNKNOWN_STATUSES[int(u * len(bad.UNKNOWN_STATUSES))]
            elif kind == bad.TIME_UNPARSEABLE:
                column = "check_in" if u < 0.6 else "check_out"
                values[column] = bad.BAD_TIMES[int(u * 1e3) % len(bad.BAD_TIMES)]
            elif kind == bad.CHECKOUT_BEFORE_CHECKIN:
                values["check_in"], values["check_out"] = "16:05", "07:2" + str(int(u * 10))
            elif kind == bad.EMPTY_REQUIRED:
                values[("nip", "date", "status")[int(u * 3)]] = None
            out.file.append(int(rows.file[row]))
            out.emp.append(int(rows.emp[row]))
            out.values.append(values)
        summary.add_bad(kind, len(picks))
    return out


def _clock(seconds: float, with_seconds: bool) -> str | None:
    if np.isnan(seconds):
        return None
    s = int(seconds)
    text = f"{s // 3600:02d}:{s // 60 % 60:02d}"
    return text + f":{s % 60:02d}" if with_seconds else text


# --- the writer ------------------------------------------------------------------------------


def write_attendance(folder: Path, seeds: Seeds, roster: Roster, people: People,
                     unit_terminal: np.ndarray, days: PeriodDays, rate: float,
                     progress: Progress | None, label: str) -> DatasetSummary:
    """Write every attendance export of the period; returns rows and bad rows written."""
    summary = DatasetSummary()
    key = period_key(roster.period)
    terminals = int(unit_terminal.max()) + 1 if len(unit_terminal) else 1
    exports = _export_files(folder, days, terminals, seeds.rng(Stream.STYLE, key, 1))
    tk, run = _absence_plan(seeds, roster, people)
    start = np.datetime64(roster.period.start, "D")
    n_days = len(days.days)
    af = np.where(np.isnat(roster.active_from), 0,
                  (roster.active_from - start).astype(np.int64))
    at = np.where(np.isnat(roster.active_to), n_days - 1,
                  (roster.active_to - start).astype(np.int64))
    for export in exports:
        export.open()
    try:
        n = len(roster)
        n_chunks = max(1, -(-n // CHUNK_EMPLOYEES))
        reported = -1
        for c in range(n_chunks):
            lo, hi = c * CHUNK_EMPLOYEES, min(n, (c + 1) * CHUNK_EMPLOYEES)
            person = roster.person[lo:hi]
            chunk = {
                "af": np.clip(af[lo:hi], 0, n_days), "at": np.clip(at[lo:hi], -1, n_days - 1),
                "tk": tk[lo:hi], "run": run[lo:hi], "terminal": unit_terminal[roster.unit[lo:hi]],
                "arrival_mean": people.arrival_mean[person],
                "arrival_sd": people.arrival_sd[person], "late_p": people.late_p[person],
                "early_p": people.early_p[person], "missing_p": people.missing_p[person],
                "weekend_p": people.weekend_p[person],
            }
            rng = seeds.rng(Stream.ATTENDANCE, key, c)
            status = _true_days(chunk, days, rng)
            rows = _emit(chunk, status, days, terminals, rng)
            nips = roster.nip[lo:hi]
            bad_rng = seeds.rng(Stream.BAD, key, 100 + c)
            bad_rows = _bad_rows(rows, nips, exports, days, rate, bad_rng, summary)
            bad_by_file: dict[int, list[int]] = {}
            for i, f in enumerate(bad_rows.file):
                bad_by_file.setdefault(f, []).append(i)
            nips_pa = pa.array(nips.tolist(), type=pa.string())
            names_pa = pa.array(people.name[person].tolist(), type=pa.string())
            bounds = np.searchsorted(rows.file, np.arange(len(exports) + 1))
            format_rng = seeds.rng(Stream.STYLE, key, 1000 + c)
            for f, export in enumerate(exports):
                sel = np.arange(bounds[f], bounds[f + 1])
                if len(sel) or f in bad_by_file:
                    export.append(_file_table(export, rows, sel, names_pa, nips_pa, days,
                                              bad_rows, bad_by_file.get(f, []), format_rng,
                                              bad_rng))
            percent = 100 * hi // max(n, 1)
            if progress is not None and (percent // 10 > reported or hi == n):
                reported = percent // 10
                progress(f"{label}: attendance {percent}%")
    finally:
        for export in exports:
            export.close()
    summary.rows = sum(e.rows for e in exports)
    summary.paths = [e.path for e in exports]
    return summary
