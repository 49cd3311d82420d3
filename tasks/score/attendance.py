"""Attendance and discipline (scoring.md section 2), vectorised.

The period is an employees x working-days grid (one cell per employee and working-day index,
`calendar.WorkingDays`): attendance rows are scattered into it with numpy's unbuffered ufunc.at
(minimum of the status precedence rank, earliest check_in, latest check_out), then every
per-employee figure is a row reduction and every monthly figure a column-block reduction. No
Python loop runs over employees, days or rows; the only loops are over the policy's handful of
statuses and tiers. 100,000 employees x 125 days is 12.5 million cells: the int8 status grid is
12.5 MB and each float grid 100 MB.

Decisions where scoring.md is silent:
- A cell outside the employee's active range is not a working day for that employee: it counts
  nowhere (no TK, no deduction), and rows dated on it are ignored like weekend rows.
- "Consecutive absent working days" counts working-day indexes: a weekend or a holiday between two
  TK days does not break the run, a non-TK working day does. Active days are one contiguous range,
  so inactivity never joins two runs.
- late_count/early_count count present days that carry a TL/PSW deduction: late minutes inside a
  policy tier, or a missing check_in/check_out. late_minutes/early_minutes sum every late/early
  minute of present days, even minutes below the first tier of a policy with a grace period.
- A merged present day takes the earliest check_in and the latest check_out over all of that day's
  present rows independently (a row with only a check_out still supplies the check_out).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tasks.score._frames import positions
from tasks.score.calendar import WorkingDays, active_bounds
from tasks.score.rules import AttendanceRules, Tier

# Source status codes (sources.md) -> fact_attendance count columns (warehouse.md).
STATUS_COLUMNS = {
    "H": "present_days",
    "S": "sick_days",
    "I": "permit_days",
    "C": "leave_days",
    "DL": "duty_days",
    "TK": "absent_days",
}
ATTENDANCE_COLUMNS = [
    "working_days",
    "present_days",
    "sick_days",
    "permit_days",
    "leave_days",
    "duty_days",
    "absent_days",
    "late_count",
    "late_minutes",
    "early_count",
    "early_minutes",
    "deduction_pct",
    "discipline_score",
]


def late_minutes(check_in: np.ndarray, start: np.ndarray) -> np.ndarray:
    """ceil(seconds after the start / 60), 0 when on time or missing (int32)."""
    seconds = check_in - start
    with np.errstate(invalid="ignore"):
        late = seconds > 0
    return np.where(late, np.ceil(np.where(late, seconds, 0.0) / 60.0), 0.0).astype(np.int32)


def early_minutes(check_out: np.ndarray, end: np.ndarray) -> np.ndarray:
    """ceil(seconds before the end / 60), 0 when not early or missing (int32)."""
    return late_minutes(end, check_out)


def tier_deduction(minutes: np.ndarray, tiers: tuple[Tier, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(deduction, in_a_tier) of every minute count."""
    deduction = np.zeros(minutes.shape, dtype=np.float64)
    hit = np.zeros(minutes.shape, dtype=bool)
    for tier in tiers:
        in_tier = minutes >= tier.min_minutes
        if tier.max_minutes is not None:
            in_tier &= minutes <= tier.max_minutes
        deduction[in_tier] = tier.deduction
        hit |= in_tier
    return deduction, hit


def longest_runs(mask: np.ndarray) -> np.ndarray:
    """Length of the longest run of True along each row of a 2-D bool matrix (int64).

    Cumulative-sum trick on the flattened matrix, with a False column appended so that runs never
    continue from one row into the next.
    """
    rows, cols = mask.shape
    if rows == 0 or cols == 0:
        return np.zeros(rows, dtype=np.int64)
    padded = np.zeros((rows, cols + 1), dtype=bool)
    padded[:, :cols] = mask
    flat = padded.ravel()
    dtype = np.int32 if flat.size < np.iinfo(np.int32).max else np.int64
    total = np.cumsum(flat, dtype=dtype)
    # total at the last False seen so far: the run length is the distance from it
    at_reset = np.where(flat, 0, total).astype(dtype, copy=False)
    np.maximum.accumulate(at_reset, out=at_reset)
    total -= at_reset
    return total.reshape(rows, cols + 1).max(axis=1).astype(np.int64)


def longest_run_span(mask: np.ndarray) -> tuple[int, int]:
    """(start, length) of the first longest run of True in a 1-D bool array; (0, 0) without
    any True. Its length is `longest_runs` of that row; the start tells which days they were."""
    values = np.asarray(mask, dtype=bool)
    if not values.any():
        return 0, 0
    edges = np.diff(np.r_[0, values.astype(np.int8), 0])
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    longest = int(np.argmax(ends - starts))  # argmax takes the first of equal lengths
    return int(starts[longest]), int(ends[longest] - starts[longest])


def merge_days(
    employee: np.ndarray,
    day: np.ndarray,
    status_rank: np.ndarray,
    check_in: np.ndarray,
    check_out: np.ndarray,
    present_rank: int,
    n_employees: int,
    n_days: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge rows into cells: (status rank, check_in, check_out) grids of shape (E, W).

    A cell without rows keeps rank 127 (int8 max: no row); the check grids hold the earliest
    check_in and latest check_out of the cell's present rows that have one (NaN otherwise).
    """
    n_cells = n_employees * n_days
    cell_dtype = np.int32 if n_cells < np.iinfo(np.int32).max else np.int64
    cell = employee.astype(cell_dtype) * cell_dtype(n_days) + day.astype(cell_dtype)
    no_row = np.int8(np.iinfo(np.int8).max)
    rank = np.full(n_cells, no_row, dtype=np.int8)
    np.minimum.at(rank, cell, status_rank.astype(np.int8))
    present = status_rank == present_rank
    present_cell = cell[present]
    first_in = np.full(n_cells, np.nan)
    last_out = np.full(n_cells, np.nan)
    # fmin/fmax skip NaN, so a present row without a check_in does not erase another's
    np.fmin.at(first_in, present_cell, check_in[present])
    np.fmax.at(last_out, present_cell, check_out[present])
    shape = (n_employees, n_days)
    return rank.reshape(shape), first_in.reshape(shape), last_out.reshape(shape)


def merged_grid(
    employees: pd.DataFrame,
    attendance: pd.DataFrame,
    days: WorkingDays,
    rules: AttendanceRules,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every employee's active working days with their merged rows: (active, status, check_in,
    check_out) grids of shape (E, W), rows in `employees`' order.

    `status` is the rank in the policy's merge precedence, the absent status where an active
    day has no row, -1 on inactive cells; the check grids are as `merge_days` gives them.
    """
    n_employees, n_days = len(employees), days.count
    precedence = rules.merge_precedence
    present_rank = precedence.index(rules.present_status)
    absent_rank = precedence.index(rules.absent_status)

    first, stop = active_bounds(employees, days)
    day_index = np.arange(n_days, dtype=np.int32)
    active = (day_index[None, :] >= first[:, None]) & (day_index[None, :] < stop[:, None])

    employee = positions(attendance["nip"], employees["nip"])
    day = days.index_of(attendance["date"])
    status_rank = positions(attendance["status"], list(precedence))
    keep = (employee >= 0) & (day >= 0) & (status_rank >= 0)
    keep[keep] = active[employee[keep], day[keep]]
    status, check_in, check_out = merge_days(
        employee[keep],
        day[keep],
        status_rank[keep],
        np.asarray(attendance["check_in"], dtype=np.float64)[keep],
        np.asarray(attendance["check_out"], dtype=np.float64)[keep],
        present_rank,
        n_employees,
        n_days,
    )
    del employee, day, status_rank, keep
    # An active working day with no row is absent; inactive cells get a rank no status has.
    status[status == np.iinfo(np.int8).max] = absent_rank
    status[~active] = -1
    return active, status, check_in, check_out


def present_penalties(
    status: np.ndarray,
    check_in: np.ndarray,
    check_out: np.ndarray,
    days: WorkingDays,
    rules: AttendanceRules,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """TL and PSW of every cell of `merged_grid`: (late minutes, early minutes, late deduction,
    early deduction, late hit, early hit); all zero / False on cells whose status is not the
    present one. A missing check_in (check_out) is the policy's missing-time deduction and a
    hit, without minutes."""
    present = status == rules.merge_precedence.index(rules.present_status)
    late = np.where(present, late_minutes(check_in, days.start_seconds[None, :]), 0)
    early = np.where(present, early_minutes(check_out, days.end_seconds[None, :]), 0)
    late_deduction, late_hit = tier_deduction(late, rules.late_tiers)
    early_deduction, early_hit = tier_deduction(early, rules.early_tiers)
    no_in = present & np.isnan(check_in)
    no_out = present & np.isnan(check_out)
    late_deduction[no_in] = rules.missing_check_in_deduction
    early_deduction[no_out] = rules.missing_check_out_deduction
    late_hit = (late_hit | no_in) & present
    early_hit = (early_hit | no_out) & present
    return late, early, late_deduction, early_deduction, late_hit, early_hit


def daily_deductions(
    status: np.ndarray,
    late_deduction: np.ndarray,
    early_deduction: np.ndarray,
    active: np.ndarray,
    rules: AttendanceRules,
) -> np.ndarray:
    """The deduction of every cell: TL + PSW on a present day, the status's deduction on any
    other active day, 0 on an inactive cell."""
    precedence = rules.merge_precedence
    present = status == precedence.index(rules.present_status)
    by_rank = np.zeros(len(precedence), dtype=np.float64)
    for code, value in rules.status_deduction.items():
        by_rank[precedence.index(code)] = value
    # inactive cells (rank -1) read by_rank[-1] here and are zeroed on the next line
    deduction = np.where(present, late_deduction + early_deduction, by_rank[status])
    deduction[~active] = 0.0
    return deduction


def score_attendance(
    employees: pd.DataFrame,
    attendance: pd.DataFrame,
    days: WorkingDays,
    rules: AttendanceRules,
) -> pd.DataFrame:
    """Per employee, in `employees`' row order: the fact_attendance figures (without keys) plus
    `longest_absence_run`, the longest run of consecutive absent working days."""
    precedence = rules.merge_precedence
    absent_rank = precedence.index(rules.absent_status)
    active, status, check_in, check_out = merged_grid(employees, attendance, days, rules)
    late, early, late_deduction, early_deduction, late_hit, early_hit = present_penalties(
        status, check_in, check_out, days, rules
    )
    del check_in, check_out
    deduction = daily_deductions(status, late_deduction, early_deduction, active, rules)
    del late_deduction, early_deduction

    out = pd.DataFrame(index=employees.index)
    out["working_days"] = active.sum(axis=1, dtype=np.int64)
    for code, column in STATUS_COLUMNS.items():
        rank = precedence.index(code) if code in precedence else -2
        out[column] = (status == rank).sum(axis=1, dtype=np.int64)
    out["late_count"] = late_hit.sum(axis=1, dtype=np.int64)
    out["late_minutes"] = late.sum(axis=1, dtype=np.int64)
    out["early_count"] = early_hit.sum(axis=1, dtype=np.int64)
    out["early_minutes"] = early.sum(axis=1, dtype=np.int64)
    out["deduction_pct"] = deduction.sum(axis=1)
    out["discipline_score"] = monthly_discipline(deduction, active, days.month_starts, rules)
    out["longest_absence_run"] = longest_runs(status == absent_rank)
    return out


def monthly_scores(
    deduction: np.ndarray, active: np.ndarray, month_starts: np.ndarray, rules: AttendanceRules
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per employee and calendar month that has working days, shape (E, M): (the month's
    deductions, whether the employee has an active working day in it, max(floor, base -
    deductions))."""
    month_deduction = np.add.reduceat(deduction, month_starts, axis=1)
    month_active = np.add.reduceat(active, month_starts, axis=1, dtype=np.int64) > 0
    month_score = np.maximum(rules.monthly_floor, rules.monthly_base - month_deduction)
    return month_deduction, month_active, month_score


def monthly_discipline(
    deduction: np.ndarray, active: np.ndarray, month_starts: np.ndarray, rules: AttendanceRules
) -> np.ndarray:
    """Mean over the months with an active working day of max(floor, base - month's deductions);
    NaN for an employee without any active working day."""
    n_employees = deduction.shape[0]
    if deduction.shape[1] == 0:
        return np.full(n_employees, np.nan)
    _, month_active, month_score = monthly_scores(deduction, active, month_starts, rules)
    months = month_active.sum(axis=1)
    total = np.where(month_active, month_score, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(months > 0, total / months, np.nan)
