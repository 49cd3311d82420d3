"""Attendance and discipline (scoring.md sections 1-2), expected values computed by hand.

2025-01-06 is a Monday, 01-09 a Thursday, 01-10 a Friday, 01-11/12 a weekend. Schedule: Monday to
Thursday 07:30-16:00, Friday 07:30-16:30.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tasks.score.attendance import (
    late_minutes,
    longest_runs,
    score_attendance,
    tier_deduction,
)
from tasks.score.calendar import active_bounds, working_days
from tasks.score.rules import ScoringRules
from tests.unit.test_score_support import (
    RULES,
    S1,
    attendance,
    calendar,
    employees,
    nip,
    policy_with,
    present_rows,
    working_dates,
)

MON, TUE, WED, THU, FRI, SAT = (
    "2025-01-06",
    "2025-01-07",
    "2025-01-08",
    "2025-01-09",
    "2025-01-10",
    "2025-01-11",
)
A = nip(1)


def run(emps, rows, holidays=(), rules=RULES) -> pd.DataFrame:
    frame = employees(emps)
    days = working_days(S1, calendar(*holidays), rules.attendance)
    out = score_attendance(frame, attendance(rows), days, rules.attendance)
    out.index = frame["nip"]
    return out


def one_day(date: str) -> dict[str, str]:
    """Employee A active on that single day only."""
    return {"nip": A, "active_from": date, "active_to": date}


# --- section 1: working days and active days ------------------------------------------------


def test_working_days_are_weekdays_minus_calendar():
    days = working_days(S1, calendar("2025-01-01"), RULES.attendance)
    # 2025-S1 weekdays: Jan 23 + Feb 20 + Mar 21 + Apr 22 + May 22 + Jun 21 = 129; minus Jan 1 = 128
    assert days.count == 128
    assert str(days.dates[0]) == "2025-01-02"
    assert str(days.dates[-1]) == "2025-06-30"
    # Friday 2025-01-03 ends 16:30 (59400 s), Monday 2025-01-06 16:00 (57600 s), both start 27000
    assert days.end_seconds[1] == 59400.0 and days.end_seconds[2] == 57600.0
    assert days.start_seconds[1] == 27000.0
    # month blocks: Jan has 22 working days -> February starts at index 22
    assert list(days.month_starts[:2]) == [0, 22]


def test_active_bounds_open_and_closed():
    days = working_days(S1, calendar(), RULES.attendance)
    frame = employees(
        [
            {"nip": nip(1)},  # open: all 129 days
            {"nip": nip(2), "active_from": MON, "active_to": FRI},  # indexes 3..7 (Jan 1-3 first)
            {"nip": nip(3), "active_to": "2024-12-31"},  # left before the period
            {"nip": nip(4), "active_from": SAT, "active_to": "2025-01-12"},  # weekend only
        ]
    )
    first, stop = active_bounds(frame, days)
    assert list(stop - first) == [129, 5, 0, 0]
    assert (first[1], stop[1]) == (3, 8)  # Jan 1, 2, 3 are indexes 0-2, Monday Jan 6 is 3


def test_rows_outside_active_working_days_are_ignored():
    emp = {"nip": A, "active_from": MON, "active_to": "2025-01-12"}
    rows = [
        *present_rows(A, [MON, TUE, THU, FRI]),
        (A, WED, "TK"),  # Wednesday is a holiday here: ignored
        (A, SAT, "H", "09:00", "10:00"),  # weekend: ignored
        (A, "2025-01-13", "TK"),  # after active_to: ignored
        (A, "2025-01-03", "TK"),  # before active_from: ignored
    ]
    out = run([emp], rows, holidays=[WED]).loc[A]
    assert out["working_days"] == 4  # Mon, Tue, Thu, Fri
    assert out["present_days"] == 4
    assert out["absent_days"] == 0
    assert out["deduction_pct"] == 0.0
    assert out["discipline_score"] == 100.0  # one month, max(0, 100 - 0)


def test_no_active_day_gives_null_discipline():
    out = run([{"nip": A, "active_to": "2024-12-31"}], []).loc[A]
    assert out["working_days"] == 0
    assert out["absent_days"] == 0  # no active day, so no "no row = TK" either
    assert out["deduction_pct"] == 0.0
    assert np.isnan(out["discipline_score"])


# --- lateness and early departure ---------------------------------------------------------


@pytest.mark.parametrize(
    ("check_in", "minutes", "deduction"),
    [
        ("07:00:00", 0, 0.0),  # early arrival
        ("07:30:00", 0, 0.0),  # exactly on time: 0 s after start
        ("07:30:01", 1, 0.5),  # 1 s -> ceil(1/60) = 1 minute -> tier 1-30
        ("07:59:59", 30, 0.5),  # 1799 s -> ceil(29.98) = 30 -> tier 1-30
        ("08:00:00", 30, 0.5),  # 1800 s -> 30 -> 0.5
        ("08:00:01", 31, 1.0),  # 1801 s -> ceil(30.02) = 31 -> tier 31-60
        ("08:01:00", 31, 1.0),  # 31 minutes -> 1.0
        ("08:30:00", 60, 1.0),  # 60 -> 1.0
        ("08:31:00", 61, 1.25),  # 61 -> tier 61-90
        ("09:00:00", 90, 1.25),  # 90 -> 1.25
        ("09:01:00", 91, 1.5),  # 91 -> tier 91+
        ("12:00:00", 270, 1.5),  # 270 -> 1.5
    ],
)
def test_lateness_tiers(check_in, minutes, deduction):
    # Monday, check_out 16:00 = the end: no early departure
    out = run([one_day(MON)], [(A, MON, "H", check_in, "16:00")]).loc[A]
    assert out["late_minutes"] == minutes
    assert out["late_count"] == (1 if minutes else 0)
    assert out["deduction_pct"] == deduction
    assert out["early_count"] == 0 and out["early_minutes"] == 0


@pytest.mark.parametrize(
    ("check_out", "minutes", "deduction"),
    [
        ("16:00:00", 0, 0.0),  # at the Monday end
        ("15:59:59", 1, 0.5),  # 1 s before -> 1 minute
        ("15:30:00", 30, 0.5),  # 30 -> 0.5
        ("15:29:00", 31, 1.0),  # 31 -> 1.0
        ("15:00:00", 60, 1.0),  # 60 -> 1.0
        ("14:59:00", 61, 1.25),  # 61 -> 1.25
        ("14:30:00", 90, 1.25),  # 90 -> 1.25
        ("14:29:00", 91, 1.5),  # 91 -> 1.5
    ],
)
def test_early_departure_tiers(check_out, minutes, deduction):
    out = run([one_day(MON)], [(A, MON, "H", "07:30", check_out)]).loc[A]
    assert out["early_minutes"] == minutes
    assert out["early_count"] == (1 if minutes else 0)
    assert out["deduction_pct"] == deduction


def test_friday_ends_at_1630():
    emps = [
        {"nip": nip(1), "active_from": THU, "active_to": THU},
        {"nip": nip(2), "active_from": FRI, "active_to": FRI},
    ]
    rows = [(nip(1), THU, "H", "07:30", "16:15"), (nip(2), FRI, "H", "07:30", "16:15")]
    out = run(emps, rows)
    # Thursday ends 16:00: 16:15 is not early
    assert out.loc[nip(1), "early_count"] == 0
    assert out.loc[nip(1), "deduction_pct"] == 0.0
    # Friday ends 16:30: 16:15 is 15 minutes early -> tier 1-30 -> 0.5
    assert out.loc[nip(2), "early_count"] == 1
    assert out.loc[nip(2), "early_minutes"] == 15
    assert out.loc[nip(2), "deduction_pct"] == 0.5


def test_missing_check_in_is_highest_tier_without_minutes():
    out = run([one_day(MON)], [(A, MON, "H", None, "16:00")]).loc[A]
    assert out["late_count"] == 1  # counts as a TL
    assert out["late_minutes"] == 0  # but adds no minutes
    assert out["deduction_pct"] == 1.5  # highest tier
    assert out["present_days"] == 1


def test_missing_check_out_is_highest_tier_without_minutes():
    out = run([one_day(MON)], [(A, MON, "H", "07:30", None)]).loc[A]
    assert (out["early_count"], out["early_minutes"], out["deduction_pct"]) == (1, 0, 1.5)


def test_missing_both_times():
    out = run([one_day(MON)], [(A, MON, "H")]).loc[A]
    # 1.5 (no check_in) + 1.5 (no check_out) = 3.0, still a present day
    assert out["deduction_pct"] == 3.0
    assert (out["late_count"], out["early_count"], out["present_days"]) == (1, 1, 1)


def test_late_and_early_on_the_same_day_both_deduct():
    out = run([one_day(MON)], [(A, MON, "H", "08:00:30", "15:00")]).loc[A]
    # late 1830 s -> 31 min -> 1.0; early 3600 s -> 60 min -> 1.0; total 2.0
    assert out["late_minutes"] == 31 and out["early_minutes"] == 60
    assert out["deduction_pct"] == 2.0
    assert (out["late_count"], out["early_count"]) == (1, 1)


def test_pure_minute_and_tier_helpers():
    start = np.full(4, 27000.0)
    minutes = late_minutes(np.array([27000.0, 27001.0, np.nan, 26000.0]), start)
    assert list(minutes) == [0, 1, 0, 0]  # on time, 1 s late -> 1, missing -> 0, early -> 0
    deduction, hit = tier_deduction(
        np.array([0, 30, 31, 60, 61, 90, 91]), RULES.attendance.late_tiers
    )
    assert list(deduction) == [0.0, 0.5, 1.0, 1.0, 1.25, 1.25, 1.5]
    assert list(hit) == [False] + [True] * 6


# --- merging rows of one (nip, date) --------------------------------------------------------


def test_merge_dl_beats_h():
    rows = [(A, MON, "H", "09:00", "12:00"), (A, MON, "DL")]
    out = run([one_day(MON)], rows).loc[A]
    # DL comes first in DL, C, S, I, H, TK: an official-duty day, no deduction for the late H row
    assert (out["duty_days"], out["present_days"], out["deduction_pct"]) == (1, 0, 0.0)
    assert out["late_count"] == 0 and out["late_minutes"] == 0


@pytest.mark.parametrize(
    ("statuses", "column"),
    [
        (["S", "I"], "sick_days"),  # S before I
        (["I", "H"], "permit_days"),  # I before H
        (["C", "S"], "leave_days"),  # C before S
        (["H", "TK"], "present_days"),  # H before TK
        (["TK", "DL", "H"], "duty_days"),  # DL before everything
    ],
)
def test_merge_precedence(statuses, column):
    rows = [(A, MON, s, "07:30", "16:00") if s == "H" else (A, MON, s) for s in statuses]
    out = run([one_day(MON)], rows).loc[A]
    assert out[column] == 1
    assert out["working_days"] == 1


def test_merge_h_beats_tk():
    rows = [(A, MON, "TK"), (A, MON, "H", "07:40", "16:00")]
    out = run([one_day(MON)], rows).loc[A]
    # present, 10 minutes late -> 0.5; the TK row adds nothing
    assert (out["present_days"], out["absent_days"], out["deduction_pct"]) == (1, 0, 0.5)


def test_merge_two_h_rows_earliest_in_latest_out():
    rows = [(A, MON, "H", "08:00", "16:00"), (A, MON, "H", "07:20", "15:00")]
    out = run([one_day(MON)], rows).loc[A]
    # merged check_in 07:20 (on time), check_out 16:00 (not early): no deduction
    assert (out["present_days"], out["late_count"], out["early_count"]) == (1, 0, 0)
    assert out["deduction_pct"] == 0.0


def test_merge_h_row_without_check_in_with_one_that_has_it():
    rows = [(A, MON, "H", None, "16:00"), (A, MON, "H", "07:45", None)]
    out = run([one_day(MON)], rows).loc[A]
    # check_in 07:45 from the second row (15 min late -> 0.5), check_out 16:00 from the first
    assert out["late_minutes"] == 15
    assert out["late_count"] == 1
    assert out["early_count"] == 0
    assert out["deduction_pct"] == 0.5


def test_no_row_is_tk():
    out = run([{"nip": A, "active_from": MON, "active_to": FRI}], present_rows(A, [MON, TUE])).loc[
        A
    ]
    # Wed, Thu, Fri have no row: 3 TK days x 3.0 = 9.0
    assert (out["working_days"], out["present_days"], out["absent_days"]) == (5, 2, 3)
    assert out["deduction_pct"] == 9.0
    assert out["discipline_score"] == 91.0  # one month: 100 - 9


def test_zero_deduction_statuses():
    rows = [(A, MON, "S"), (A, TUE, "I"), (A, WED, "C"), (A, THU, "DL"), (A, FRI, "TK")]
    out = run([{"nip": A, "active_from": MON, "active_to": FRI}], rows).loc[A]
    # S, I, C, DL deduct 0; the TK deducts 3.0
    assert out["deduction_pct"] == 3.0
    counts = out[["sick_days", "permit_days", "leave_days", "duty_days", "absent_days"]]
    assert list(counts) == [1, 1, 1, 1, 1]


# --- monthly discipline -------------------------------------------------------------------


def test_monthly_discipline_mean_over_active_months_only():
    # active Mon 27 Jan to Fri 7 Feb: January 27-31 = 5 days, February 3-7 = 5 days
    emp = {"nip": A, "active_from": "2025-01-27", "active_to": "2025-02-07"}
    jan = working_dates("2025-01-27", "2025-01-31")
    feb = working_dates("2025-02-03", "2025-02-07")
    rows = [
        *present_rows(A, jan[:3]),  # Jan 30, 31 no row: 2 TK = 6.0 -> January 94
        *present_rows(A, feb[1:]),
        (A, feb[0], "H", "08:01", "16:00"),  # 31 min late -> 1.0 -> February 99
    ]
    out = run([emp], rows).loc[A]
    assert out["deduction_pct"] == 7.0  # 6.0 + 1.0
    # mean of the two active months (94 + 99) / 2 = 96.5; March-June have no active day and are
    # left out (counting them as 100 would give 98.83)
    assert out["discipline_score"] == 96.5


def test_month_over_100_clamps_to_zero():
    # The default policy cannot exceed 100 in a month (23 days x 3.0 = 69), so TK deducts 5.0 here
    rules = ScoringRules.from_policy(policy_with({"attendance.status_deduction.TK": 5.0}))
    emp = {"nip": A, "active_from": "2025-02-24", "active_to": "2025-04-04"}
    feb = working_dates("2025-02-24", "2025-02-28")  # 5 days
    apr = working_dates("2025-04-01", "2025-04-04")  # 4 days (Tue-Fri)
    rows = [
        *present_rows(A, feb[1:]),
        (A, feb[0], "H", "07:45", "16:00"),  # 15 min late: 0.5 -> February 99.5
        *present_rows(A, apr),  # April 100
    ]
    # March 2025: 21 working days without rows: 21 x 5.0 = 105 -> max(0, 100 - 105) = 0
    out = run([emp], rows, rules=rules).loc[A]
    assert out["working_days"] == 30  # 5 + 21 + 4
    assert out["absent_days"] == 21
    assert out["deduction_pct"] == 105.5  # the period sum is not clamped
    assert out["discipline_score"] == pytest.approx((99.5 + 0.0 + 100.0) / 3)  # 66.5
    assert out["discipline_score"] == 66.5


# --- consecutive absent working days ----------------------------------------------------------


def test_longest_runs_helper():
    mask = np.array(
        [
            [1, 1, 0, 1, 1, 1],  # 3
            [1, 1, 1, 1, 1, 1],  # 6: a full row, must not continue into the next row
            [1, 0, 0, 0, 0, 0],  # 1
            [0, 0, 0, 0, 0, 0],  # 0
        ],
        dtype=bool,
    )
    assert list(longest_runs(mask)) == [3, 6, 1, 0]
    assert list(longest_runs(np.zeros((2, 0), dtype=bool))) == [0, 0]


def test_longest_absence_run_spans_weekends_and_holidays():
    emp = {"nip": A, "active_from": MON, "active_to": "2025-01-17"}
    # TK Thu 9, Fri 10, (weekend), Mon 13, (Tue 14 holiday), Wed 15; H on Mon 6-Wed 8, Thu 16
    rows = [
        *present_rows(A, [MON, TUE, WED, "2025-01-16", "2025-01-17"]),
        (A, THU, "TK"),
        (A, FRI, "TK"),
        # 13 and 15 have no row: TK as well
    ]
    out = run([emp], rows, holidays=["2025-01-14"]).loc[A]
    assert out["absent_days"] == 4  # 9, 10, 13, 15
    assert out["longest_absence_run"] == 4  # weekend and holiday do not break the run
