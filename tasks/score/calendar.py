"""Working days of a period and each employee's active working days (scoring.md section 1).

Working days are held as integer indexes 0..W-1 in date order, so that the attendance grid is a
plain employee x day matrix and "consecutive working days" is adjacency of indexes: a weekend or a
holiday between two working days does not separate them.

The working weekdays are the weekdays the policy's schedule lists (Monday to Friday by default).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kinerja.period import Period
from tasks.score.rules import AttendanceRules


def as_days(values: pd.Series | np.ndarray) -> np.ndarray:
    """Dates (datetime64 of any unit, or date objects) as datetime64[D]; missing is NaT."""
    return pd.to_datetime(pd.Series(values, copy=False)).to_numpy().astype("datetime64[D]")


@dataclass(frozen=True)
class WorkingDays:
    period_start: np.datetime64  # datetime64[D]
    dates: np.ndarray  # datetime64[D], ascending, one per working day
    start_seconds: np.ndarray  # float64, scheduled start of each working day
    end_seconds: np.ndarray  # float64, scheduled end of each working day
    month_starts: np.ndarray  # int64, index of the first working day of each month that has one
    index_of_offset: np.ndarray  # int32 per calendar day of the period: working-day index or -1

    @property
    def count(self) -> int:
        return len(self.dates)

    def index_of(self, dates: pd.Series | np.ndarray) -> np.ndarray:
        """Working-day index of every date (int32), -1 for weekends, holidays, NaT and dates
        outside the period."""
        days = as_days(dates)
        offsets = (days - self.period_start).astype(np.int64)
        valid = ~np.isnat(days) & (offsets >= 0) & (offsets < len(self.index_of_offset))
        out = np.full(len(days), -1, dtype=np.int32)
        out[valid] = self.index_of_offset[offsets[valid]]
        return out


def working_days(period: Period, calendar: pd.DataFrame, rules: AttendanceRules) -> WorkingDays:
    """Every scheduled weekday of the period minus the calendar's dates."""
    start = np.datetime64(period.start, "D")
    all_days = np.arange(start, np.datetime64(period.end, "D") + 1, dtype="datetime64[D]")
    # 1970-01-01 was a Thursday: (days + 3) % 7 gives Monday 0
    weekday = (all_days.astype(np.int64) + 3) % 7
    holidays = as_days(calendar["date"].dropna())
    scheduled = np.isin(weekday, np.fromiter(rules.start_seconds, dtype=np.int64))
    is_working = scheduled & ~np.isin(all_days, holidays)

    dates = all_days[is_working]
    day_weekday = weekday[is_working]
    start_lookup = np.full(7, np.nan)
    end_lookup = np.full(7, np.nan)
    for day, seconds in rules.start_seconds.items():
        start_lookup[day] = seconds
        end_lookup[day] = rules.end_seconds[day]

    months = dates.astype("datetime64[M]")
    month_starts = (
        np.flatnonzero(np.r_[True, months[1:] != months[:-1]])
        if len(dates)
        else (np.zeros(0, dtype=np.int64))
    )
    index_of_offset = np.full(len(all_days), -1, dtype=np.int32)
    index_of_offset[is_working] = np.arange(len(dates), dtype=np.int32)
    return WorkingDays(
        period_start=start,
        dates=dates,
        start_seconds=start_lookup[day_weekday],
        end_seconds=end_lookup[day_weekday],
        month_starts=month_starts.astype(np.int64),
        index_of_offset=index_of_offset,
    )


def active_bounds(employees: pd.DataFrame, days: WorkingDays) -> tuple[np.ndarray, np.ndarray]:
    """Half-open range [first, stop) of each employee's active working-day indexes (int32).

    An empty active_from/active_to is an open bound; an employee with no active working day gets
    first == stop.
    """
    active_from = as_days(employees["active_from"])
    active_to = as_days(employees["active_to"])
    first = np.where(
        np.isnat(active_from), 0, np.searchsorted(days.dates, active_from, side="left")
    )
    stop = np.where(
        np.isnat(active_to), days.count, np.searchsorted(days.dates, active_to, side="right")
    )
    stop = np.maximum(stop, first)
    return first.astype(np.int32), stop.astype(np.int32)
