"""Property-based tests (hypothesis) of the scoring invariants of shared/spec/scoring.md.

The strategies build small validated frames (the builders of tests/unit/test_score_support.py): a
few units and employees, attendance inside a three-week window that spans the January/February
boundary of 2025-S1 (so two month blocks, weekends and holidays all occur), some employees open
ended (the whole semester, mostly without rows: absent) or inactive, SKP and IKU indicators of
both polarities, ratings with and without BerAKHLAK aspects.

Examples per property: the `*_EXAMPLES` constant above each test (settings in conftest.py).
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import date, timedelta
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, event, example, given, settings
from hypothesis import strategies as st

from kinerja.period import Period
from tasks.score import ScoringInputs, score_period
from tasks.score.achievement import achievement, weighted_mean
from tasks.score.attendance import score_attendance
from tasks.score.calendar import working_days
from tasks.score.followup import sanctions
from tasks.score.units import iku_scores, org_predikat_of
from tests.unit.test_score_support import (
    ASPECTS,
    POLICY,
    RULES,
    S1,
    TEXT,
    attendance,
    budget,
    calendar,
    employees,
    nip,
    prior_absent,
    prior_predikat,
    ratings,
    skp,
    unit_iku,
    units,
)

BASE = settings.get_profile("kinerja-properties")  # registered in conftest.py

LABELS = tuple(RULES.rating_points)  # DIATAS, SESUAI, DIBAWAH
PREDIKAT = RULES.predikat
# Mon 27 January to Sun 16 February 2025: 15 weekdays over two calendar months.
WINDOW = [date(2025, 1, 27) + timedelta(days=i) for i in range(21)]
WEEKDAYS = [d for d in WINDOW if d.weekday() < 5]
LOW, HIGH = RULES.achievement.lower, RULES.achievement.upper  # 0, 120
POINTS_LOW, POINTS_HIGH = min(RULES.rating_points.values()), max(RULES.rating_points.values())
S2 = Period.parse("2025-S2")
STATUSES = RULES.attendance.merge_precedence


def hhmmss(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


# --- strategies -----------------------------------------------------------------------------

# Realistic magnitudes: validation accepts any positive finite decimal; the overflow beyond these
# is pinned separately (test_weighted_mean_survives_extreme_weights).
targets = st.floats(min_value=1e-3, max_value=1e9, allow_nan=False)
# realisation as a multiple of the target, so achievements spread over the whole clamp
ratios = st.one_of(st.none(), st.floats(min_value=0, max_value=2.5))
weights = st.floats(min_value=1e-3, max_value=1e6, allow_nan=False)
polarities = st.sampled_from(["MAX", "MIN"])
bounds = st.sampled_from([None, *WINDOW])  # open about one time in twenty
# check_in/check_out in seconds after midnight, 05:00 to 20:00, or missing
times = st.one_of(st.none(), st.integers(5 * 3600, 20 * 3600))
labels = st.sampled_from(LABELS)


@st.composite
def activity(draw) -> dict[str, str | None]:
    """active_from/active_to: inside the window, open ended, or outside the period."""
    kind = draw(st.sampled_from(["window"] * 6 + ["left", "joins_later"]))
    if kind == "left":
        return {"active_from": None, "active_to": "2024-12-31"}
    if kind == "joins_later":
        return {"active_from": "2025-07-01", "active_to": None}
    first, last = draw(bounds), draw(bounds)
    if first is not None and last is not None and last < first:
        first, last = last, first
    return {
        "active_from": None if first is None else first.isoformat(),
        "active_to": None if last is None else last.isoformat(),
    }


@st.composite
def indicator(draw) -> tuple[float, float | None, str, float]:
    """(target, realization, polarity, weight)"""
    target, ratio = draw(targets), draw(ratios)
    return target, None if ratio is None else target * ratio, draw(polarities), draw(weights)


@st.composite
def day_row(draw, who: str) -> tuple:
    """An attendance row of `who` on a day of the window (weekends included)."""
    day, status = draw(st.sampled_from(WINDOW)), draw(st.sampled_from(STATUSES))
    check_in, check_out = draw(times), draw(times)
    if check_in is not None and check_out is not None and check_out < check_in:
        check_in, check_out = check_out, check_in  # validation rejects the other order
    return (who, day.isoformat(), status, None if check_in is None else hhmmss(check_in),
            None if check_out is None else hhmmss(check_out))


@st.composite
def scoring_inputs(draw, period: Period = S1) -> ScoringInputs:
    unit_codes = [f"U{i}" for i in range(1, draw(st.integers(1, 3)) + 1)]
    emps, att_rows, skp_rows, rating_rows = [], [], [], []
    for i in range(draw(st.integers(1, 7))):
        who = nip(i + 1)
        emps.append({"nip": who, "unit_code": draw(st.sampled_from(unit_codes)),
                     **draw(activity())})
        if draw(st.booleans()):  # on time on every weekday of the window, mostly
            start, leave = draw(st.integers(6 * 3600, 8 * 3600)), draw(st.integers(15, 18))
            att_rows += [(who, d.isoformat(), "H", hhmmss(start), f"{leave}:00")
                         for d in WEEKDAYS]
        att_rows += draw(st.lists(day_row(who), max_size=6))
        skp_rows += [(who, f"K{k}", *ind)
                     for k, ind in enumerate(draw(st.lists(indicator(), max_size=3)))]
        for day in draw(st.lists(st.integers(0, 30), max_size=2, unique=True)):
            aspects = draw(st.lists(st.one_of(st.none(), labels), min_size=len(ASPECTS),
                                    max_size=len(ASPECTS)))
            rating_rows.append({
                "nip": who, "results": draw(labels), "behavior": draw(labels),
                "rated_at": f"{date(2025, 6, 1) + timedelta(days=day)} 10:00",
                **dict(zip(ASPECTS, aspects, strict=True)),
            })
    n = len(emps)
    iku_rows = [(u, f"I{k}", *ind) for u in unit_codes
                for k, ind in enumerate(draw(st.lists(indicator(), max_size=2)))]
    budget_rows = [
        (u, f"A{k}", pagu, real)
        for k, (u, pagu, real) in enumerate(
            draw(st.lists(st.tuples(st.sampled_from(unit_codes),
                                    st.sampled_from([0.0, 1.0, 1000.0, 2.5e9]),
                                    st.floats(min_value=0, max_value=3e9)), max_size=4))
        )
    ]
    holidays = draw(st.lists(st.sampled_from(WEEKDAYS), max_size=2, unique=True))
    prior_absent_rows = [(nip(i + 1), draw(st.integers(0, 40))) for i in range(n)
                         if draw(st.booleans())]
    prior_predikat_rows = [
        (nip(i + 1), period.previous(k).id, draw(st.sampled_from(PREDIKAT)))
        for i in range(n) for k in (1, 2, 3) if draw(st.booleans())
    ]
    return ScoringInputs(
        agency_code="3374",
        period=period,
        units=units(*unit_codes),
        employees=employees(emps),
        calendar=calendar(*(d.isoformat() for d in holidays)),
        attendance=attendance(att_rows),
        skp=skp(skp_rows),
        ratings=ratings(rating_rows),
        unit_iku=unit_iku(iku_rows),
        budget=budget(budget_rows),
        prior_absent_days=prior_absent(prior_absent_rows),
        prior_predikat=prior_predikat(prior_predikat_rows),
    )


# --- the whole period -----------------------------------------------------------------------

PERIOD_EXAMPLES = 15


def within(values: pd.Series, low: float, high: float) -> bool:
    known = values.dropna().to_numpy(dtype=np.float64)
    return bool(((known >= low) & (known <= high)).all())


@settings(BASE, max_examples=PERIOD_EXAMPLES)
@given(scoring_inputs())
def test_score_period_invariants(inputs):
    # (schemas/outputs.validate_facts is not called: 0.5 s an example; the checks below cover
    # its ranges and codes, exactly)
    facts = score_period(inputs, POLICY)
    att = facts["fact_attendance"].set_index("nip")
    app = facts["fact_appraisal"].set_index("nip")
    units_ = facts["fact_unit_performance"].set_index("unit_code")
    dist = facts["fact_predikat_distribution"]
    checks = facts["fact_distribution_check"]
    follow = facts["fact_followup"].set_index("nip")
    emp_unit = inputs.employees.set_index("nip")["unit_code"]
    assert list(app.index) == sorted(emp_unit.index)  # one row per employee

    # section 2: counts add up, scores within [0, 100], null exactly without working days
    counts = ["present_days", "sick_days", "permit_days", "leave_days", "duty_days", "absent_days"]
    assert (att[counts].sum(axis=1) == att["working_days"]).all()
    assert (att["late_count"] <= att["present_days"]).all()
    assert (att["early_count"] <= att["present_days"]).all()
    assert (att["deduction_pct"] >= 0).all()
    assert within(att["discipline_score"], 0.0, 100.0)
    assert (att["discipline_score"].isna() == (att["working_days"] == 0)).all()

    # section 3: achievements within the clamp, both polarities; component scores too
    assert within(facts["fact_skp"]["achievement"], LOW, HIGH)
    assert facts["fact_skp"]["achievement"].notna().all()
    assert within(app["results_score"], LOW, HIGH)
    assert within(app["unit_score"], LOW, HIGH)
    assert within(units_["iku_score"], LOW, HIGH)
    assert within(app["behavior_score"], POINTS_LOW, POINTS_HIGH)

    # section 4: final_score is a weighted mean, so between its smallest and largest component
    components = app[["results_score", "behavior_score", "discipline_score", "unit_score"]]
    final = app["final_score"]
    assert within(final, 0.0, max(HIGH, POINTS_HIGH))
    has_final = final.notna()
    eps = 1e-9
    assert (final[has_final] >= components[has_final].min(axis=1) - eps).all()
    assert (final[has_final] <= components[has_final].max(axis=1) + eps).all()
    inactive = app["status"] == "INACTIVE"
    assert (has_final == (~inactive & components.notna().any(axis=1))).all()

    # section 5: status, predikat from the matrix, ranks a permutation of 1..n per unit
    rated = set(inputs.ratings["nip"])
    expected_status = np.where(att["working_days"] == 0, "INACTIVE",
                               np.where(app.index.isin(rated), "APPRAISED", "NOT_RATED"))
    assert list(app["status"]) == list(expected_status)
    appraised = app["status"] == "APPRAISED"
    assert app.loc[appraised, "predikat"].isin(PREDIKAT).all()
    assert app.loc[~appraised, "predikat"].isna().all()
    for who, row in app[appraised].iterrows():
        pair = (row["results_rating"], row["behavior_rating"])
        assert row["predikat"] == RULES.predikat_matrix[pair], who
    assert app.loc[~appraised, "rank_in_unit"].isna().all()
    for unit, group in app[appraised].groupby("unit_code"):
        assert sorted(group["rank_in_unit"].tolist()) == list(range(1, len(group) + 1)), unit
        order = sorted(group.index, key=lambda n: (-group.at[n, "final_score"], n))
        assert group.loc[order, "rank_in_unit"].tolist() == list(range(1, len(group) + 1)), unit

    # section 6: headcount and appraised_count from the per-employee facts
    assert list(units_.index) == sorted(inputs.units["unit_code"])
    headcount = emp_unit.value_counts()
    appraised_by_unit = app.loc[appraised, "unit_code"].value_counts()
    for unit in units_.index:
        assert units_.at[unit, "headcount"] == headcount.get(unit, 0)
        assert units_.at[unit, "appraised_count"] == appraised_by_unit.get(unit, 0)
        pagu = inputs.budget.loc[inputs.budget["unit_code"] == unit, "pagu"].sum()
        absorption = units_.at[unit, "absorption_pct"]
        assert pd.isna(absorption) == (pagu == 0)

    # section 7: one row per predikat of every unit with appraised employees; counts match the
    # per-employee predikat; shares sum to 1
    assert set(dist["unit_code"]) == set(appraised_by_unit.index)
    for unit, group in dist.groupby("unit_code"):
        assert group["predikat"].tolist() == list(PREDIKAT)
        per_employee = Counter(app.loc[appraised & (app["unit_code"] == unit), "predikat"])
        assert group["employee_count"].tolist() == [per_employee.get(p, 0) for p in PREDIKAT]
        assert math.isclose(group["share"].sum(), 1.0, rel_tol=1e-12)
    by_unit_predikat = dist.set_index(["unit_code", "predikat"])["employee_count"]
    checked_units = units_[units_["org_predikat"].notna() & (units_["appraised_count"] > 0)]
    assert set(checks["unit_code"]) == set(checked_units.index)
    for row in checks.itertuples():
        org = units_.at[row.unit_code, "org_predikat"]
        assert row.org_predikat == org
        members = row.predikat_set.split(",")
        count = sum(by_unit_predikat[(row.unit_code, p)] for p in members)
        assert row.employee_count == count
        share = count / units_.at[row.unit_code, "appraised_count"]
        assert math.isclose(row.share, share)
        assert row.breach == (count < row.min_count or share < row.min_share
                              or share > row.max_share)
    for unit, group in checks.groupby("unit_code"):
        org = units_.at[unit, "org_predikat"]
        assert group["rule"].tolist() == [r.rule for r in RULES.curve if r.org_predikat == org]

    # section 8: follow-ups consistent with the appraisal
    sb = (app["predikat"] == "SANGAT_BAIK").fillna(False)
    quota = {u: math.ceil(Fraction(int(c), 10)) for u, c in units_["appraised_count"].items()}
    for who, row in follow.iterrows():
        a = app.loc[who]
        expected_reward = bool(sb[who]) and a["rank_in_unit"] <= quota[a["unit_code"]]
        assert row["reward_candidate"] == expected_reward, who
        assert row["coaching_required"] == (
            a["status"] == "APPRAISED" and a["predikat"] in RULES.coaching_predikat), who
        if row["promotion_eligible"]:
            assert a["predikat"] in ("SANGAT_BAIK", "BAIK"), who
        assert row["absent_days_ytd"] >= att.at[who, "absent_days"]
        if a["status"] != "APPRAISED":
            assert not (row["reward_candidate"] or row["coaching_required"]
                        or row["promotion_eligible"] or row["training_needs"]), who
    # S1: nothing earlier in the year is added
    assert (follow["absent_days_ytd"] == att["absent_days"]).all()

    # what the examples covered (--hypothesis-show-statistics)
    event("statuses", ",".join(sorted(set(app["status"]))))
    event("units with a distribution", str(dist["unit_code"].nunique()))
    event("curve checks", "some" if len(checks) else "none")
    event("discipline_score", "0 to 50" if (att["discipline_score"] < 50).any() else ">= 50")
    event("reward candidate", str(bool(follow["reward_candidate"].any())))


S2_EXAMPLES = 5


@settings(BASE, max_examples=S2_EXAMPLES)
@given(scoring_inputs(period=S2))
def test_s2_absences_add_the_published_s1(inputs):
    # The window dates lie in S1, so every S2 row is outside the period: employees are absent on
    # every active working day of S2 or inactive. absent_days_ytd adds the published S1 count.
    facts = score_period(inputs, POLICY)
    att = facts["fact_attendance"].set_index("nip")
    follow = facts["fact_followup"].set_index("nip")
    prior = inputs.prior_absent_days.set_index("nip")["absent_days"]
    for who, row in follow.iterrows():
        assert row["absent_days_ytd"] == att.at[who, "absent_days"] + prior.get(who, 0), who
    assert (att["absent_days"] == att["working_days"]).all()


# --- discipline: a reference model of section 2 ---------------------------------------------

DISCIPLINE_EXAMPLES = 60


def tier(minutes: int, tiers) -> float:
    for t in tiers:
        if minutes >= t.min_minutes and (t.max_minutes is None or minutes <= t.max_minutes):
            return t.deduction
    return 0.0


def reference_discipline(emp: dict, rows: list[tuple], holidays: set[date]) -> dict:
    """scoring.md section 2 written plainly, one day at a time (the code under test is a
    vectorised employees x days grid)."""
    rules = RULES.attendance
    start = date.fromisoformat(emp["active_from"]) if emp["active_from"] else S1.start
    end = date.fromisoformat(emp["active_to"]) if emp["active_to"] else S1.end
    days = [S1.start + timedelta(days=i) for i in range((S1.end - S1.start).days + 1)]
    active = [d for d in days if d.weekday() in rules.start_seconds and d not in holidays
              and start <= d <= end]
    by_day: dict[date, list[tuple]] = {}
    for _, day, status, check_in, check_out in rows:
        by_day.setdefault(date.fromisoformat(day), []).append((status, check_in, check_out))
    month_deduction: dict[int, float] = {}
    total = 0.0
    statuses: Counter[str] = Counter()
    late_minutes = early_minutes = 0
    for d in active:
        merged = by_day.get(d, [])
        status = next((s for s in rules.merge_precedence if any(r[0] == s for r in merged)),
                      rules.absent_status)
        statuses[status] += 1
        if status == rules.present_status:
            ins = [r[1] for r in merged if r[0] == status and r[1] is not None]
            outs = [r[2] for r in merged if r[0] == status and r[2] is not None]
            deduction = 0.0
            if ins:
                late = max(0, math.ceil((min(ins) - rules.start_seconds[d.weekday()]) / 60))
                late_minutes += late
                deduction += tier(late, rules.late_tiers)
            else:
                deduction += rules.missing_check_in_deduction
            if outs:
                early = max(0, math.ceil((rules.end_seconds[d.weekday()] - max(outs)) / 60))
                early_minutes += early
                deduction += tier(early, rules.early_tiers)
            else:
                deduction += rules.missing_check_out_deduction
        else:
            deduction = rules.status_deduction[status]
        total += deduction
        month_deduction[d.month] = month_deduction.get(d.month, 0.0) + deduction
    monthly = [max(rules.monthly_floor, rules.monthly_base - m) for m in month_deduction.values()]
    return {
        "working_days": len(active),
        "statuses": statuses,
        "late_minutes": late_minutes,
        "early_minutes": early_minutes,
        "deduction_pct": total,
        "monthly": monthly,
        "discipline_score": sum(monthly) / len(monthly) if monthly else None,
    }


@settings(BASE, max_examples=DISCIPLINE_EXAMPLES)
@given(
    emps=st.lists(activity(), min_size=1, max_size=4),
    rows=st.lists(
        st.tuples(st.integers(0, 3), st.sampled_from(WINDOW), st.sampled_from(STATUSES), times,
                  times),
        max_size=30,
    ),
    holidays=st.lists(st.sampled_from(WEEKDAYS), max_size=2, unique=True),
)
def test_discipline_matches_a_day_by_day_model(emps, rows, holidays):
    emps = [{"nip": nip(i + 1), **e} for i, e in enumerate(emps)]
    valid = []
    for i, day, status, a, b in rows:
        if a is not None and b is not None and b < a:
            a, b = b, a  # validation rejects a check_out before the check_in
        valid.append((i % len(emps), day.isoformat(), status, a, b))
    rows = valid
    frame = employees(emps)
    att_frame = attendance([(nip(i + 1), day, status,
                             None if a is None else hhmmss(a), None if b is None else hhmmss(b))
                            for i, day, status, a, b in rows])
    days = working_days(S1, calendar(*(d.isoformat() for d in holidays)), RULES.attendance)
    got = score_attendance(frame, att_frame, days, RULES.attendance)
    for i, emp in enumerate(emps):
        model = reference_discipline(emp, [r for r in rows if r[0] == i], set(holidays))
        row = got.iloc[i]
        assert row["working_days"] == model["working_days"]
        for code, column in (("H", "present_days"), ("S", "sick_days"), ("I", "permit_days"),
                             ("C", "leave_days"), ("DL", "duty_days"), ("TK", "absent_days")):
            assert row[column] == model["statuses"][code], column
        assert row["late_minutes"] == model["late_minutes"]
        assert row["early_minutes"] == model["early_minutes"]
        assert row["deduction_pct"] == pytest.approx(model["deduction_pct"])
        # every month's score and their mean lie in [0, 100]
        assert all(0.0 <= m <= 100.0 for m in model["monthly"])
        if model["discipline_score"] is None:
            assert pd.isna(row["discipline_score"])
        else:
            assert row["discipline_score"] == pytest.approx(model["discipline_score"])
            assert 0.0 <= row["discipline_score"] <= 100.0


MONOTONE_EXAMPLES = 50
SEMESTER_DAYS = working_days(S1, calendar(), RULES.attendance)


@settings(BASE, max_examples=MONOTONE_EXAMPLES)
@given(
    day=st.sampled_from(WEEKDAYS),
    late=st.lists(st.integers(-3600, 10 * 3600), min_size=1, max_size=8),
    early=st.lists(st.integers(-3600, 8 * 3600), min_size=1, max_size=8),
)
def test_deduction_is_monotone_in_minutes_late_and_early(day, late, early):
    """One working day, one employee per lateness (then per early leave): more seconds late
    never deducts less; a missing check_in deducts at least as much as any lateness."""
    rules = RULES.attendance
    start, end = rules.start_seconds[day.weekday()], rules.end_seconds[day.weekday()]
    iso = day.isoformat()
    days = SEMESTER_DAYS

    def deductions(pairs: list[tuple[float | None, float | None]]) -> pd.DataFrame:
        emps = [{"nip": nip(i + 1), "active_from": iso, "active_to": iso}
                for i in range(len(pairs))]
        rows = attendance([(nip(i + 1), iso, "H", None if a is None else hhmmss(int(a)),
                            None if b is None else hhmmss(int(b)))
                           for i, (a, b) in enumerate(pairs)])
        return score_attendance(employees(emps), rows, days, rules)

    late = sorted(late)
    # check_out at the end (or at check_in when that is later): no early leave
    got = deductions([(start + s, max(end, start + s)) for s in late] + [(None, end)])
    deduction = got["deduction_pct"].to_numpy()
    assert (np.diff(deduction[:-1]) >= 0).all(), list(zip(late, deduction, strict=False))
    assert (deduction[:-1] <= deduction[-1]).all()  # no check_in: the highest tier
    assert got["late_minutes"].tolist()[:-1] == [max(0, math.ceil(s / 60)) for s in late]

    early = sorted(early)
    got = deductions([(min(start, end - s), end - s) for s in early] + [(start, None)])
    deduction = got["deduction_pct"].to_numpy()
    assert (np.diff(deduction[:-1]) >= 0).all(), list(zip(early, deduction, strict=False))
    assert (deduction[:-1] <= deduction[-1]).all()
    assert got["early_minutes"].tolist()[:-1] == [max(0, math.ceil(s / 60)) for s in early]


# --- achievement ----------------------------------------------------------------------------

ACHIEVEMENT_EXAMPLES = 100


@settings(BASE, max_examples=ACHIEVEMENT_EXAMPLES)
@given(
    target=st.floats(min_value=5e-324, max_value=1e308),
    realization=st.lists(st.floats(min_value=0, max_value=1e308), min_size=1, max_size=6),
    polarity=polarities,
)
def test_achievement_within_clamp_and_monotone(target, realization, polarity):
    """Any positive target and realisations >= 0 (what validation accepts): achievement in
    [0, 120]; more realisation is never worse for MAX, never better for MIN; no realisation 0."""
    r = sorted(realization) + [np.nan]
    with np.errstate(over="ignore"):  # r / t overflows to inf for a tiny target: clamped
        got = achievement(
            pd.Series([target] * len(r)), pd.Series(r),
            pd.Series([polarity] * len(r), dtype=TEXT), RULES.achievement,
        ).to_numpy()
    assert ((got >= LOW) & (got <= HIGH)).all(), got
    assert got[-1] == RULES.achievement.not_reported
    steps = np.diff(got[:-1])
    assert (steps >= 0).all() if polarity == "MAX" else (steps <= 0).all()


WEIGHTED_EXAMPLES = 50


@settings(BASE, max_examples=WEIGHTED_EXAMPLES)
@example([(120.0, 0.3), (120.0, 0.6), (120.0, 0.7)])  # was 120.00000000000001
@given(st.lists(st.tuples(st.floats(LOW, HIGH), weights), min_size=1, max_size=8))
def test_weighted_mean_within_its_values(pairs):
    """A weighted mean lies between its smallest and largest value, exactly: float rounding
    must not take a score of indicators all at 120 above the clamp."""
    frame = pd.DataFrame({"nip": "a", "achievement": [p[0] for p in pairs],
                          "weight": [p[1] for p in pairs]})
    got = weighted_mean(frame, "nip", "achievement").iloc[0]
    values = [p[0] for p in pairs]
    assert min(values) <= got <= max(values)


THRESHOLD_EXAMPLES = 50
DECIMAL_WEIGHTS = st.sampled_from([0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.6, 0.7, 1.0,
                                   1.5, 2.0, 3.0, 10.0, 15.0, 20.0, 30.0])


@settings(BASE, max_examples=THRESHOLD_EXAMPLES)
@example(90.0, [0.1, 0.2])  # was 89.99999999999999: BUTUH_PERBAIKAN instead of BAIK
@given(st.sampled_from([min_score for min_score, _ in RULES.org_thresholds]),
       st.lists(DECIMAL_WEIGHTS, min_size=1, max_size=5))
def test_org_predikat_of_iku_all_at_a_threshold(score, weights_):
    """Every IKU of a unit achieved exactly at a threshold of org_predikat (realisation = the
    threshold, target 100): the unit reaches that threshold, whatever the weights."""
    n = len(weights_)
    frame = unit_iku([("U1", f"I{k}", 100.0, score, "MAX", w) for k, w in enumerate(weights_)])
    iku = iku_scores(frame, RULES)
    expected = next(label for min_score, label in RULES.org_thresholds if score >= min_score)
    assert iku.iloc[0] >= score, (n, repr(iku.iloc[0]))
    assert org_predikat_of(iku, RULES).iloc[0] == expected


@settings(BASE, max_examples=WEIGHTED_EXAMPLES)
@example([(100.0, 1e308), (50.0, 1e308)])
@given(st.lists(st.tuples(st.floats(LOW, HIGH), st.floats(min_value=5e-324, max_value=1.7e308)),
                min_size=1, max_size=4))
def test_weighted_mean_survives_extreme_weights(pairs):
    frame = pd.DataFrame({"nip": "a", "achievement": [p[0] for p in pairs],
                          "weight": [p[1] for p in pairs]})
    with np.errstate(over="ignore", invalid="ignore"):
        got = weighted_mean(frame, "nip", "achievement").iloc[0]
    assert LOW <= got <= HIGH


@pytest.mark.xfail(
    strict=True,
    reason="known defect: an achievement exactly at an org_predikat threshold in decimal can land "
    "one float step below it: a MIN IKU with target 10 and realisation 11 is 100 * (2 - 1.1) = "
    "89.99999999999999, so the unit is BUTUH_PERBAIKAN instead of BAIK (scoring.md compares "
    "unrounded values; whether to compare with a tolerance or in decimal is for the lead)",
)
@settings(BASE, max_examples=THRESHOLD_EXAMPLES)
@example(90.0, "MIN", Fraction(10))
@given(st.sampled_from([min_score for min_score, _ in RULES.org_thresholds]), polarities,
       st.integers(1, 100_000).map(lambda cents: Fraction(cents, 100)))
def test_org_predikat_of_an_indicator_exactly_at_a_threshold(score, polarity, target):
    """One IKU whose target and realisation, as written in unit_iku.csv, give exactly a threshold
    of org_predikat: the unit reaches it."""
    exact = Fraction(score).limit_denominator() / 100
    realization = target * exact if polarity == "MAX" else target * (2 - exact)
    assume(realization >= 0 and (10**6 % realization.denominator == 0))
    as_written = [float(f"{float(v):.6f}") for v in (target, realization)]  # what validation reads
    frame = unit_iku([("U1", "I1", as_written[0], as_written[1], polarity, 1.0)])
    expected = next(label for min_score, label in RULES.org_thresholds if score >= min_score)
    assert org_predikat_of(iku_scores(frame, RULES), RULES).iloc[0] == expected


# --- follow-ups -----------------------------------------------------------------------------

SANCTION_EXAMPLES = 100
# scoring.md section 8, copied independently of the policy file: (lowest absent_days, sanction)
SPEC_BANDS = [
    (28, "PEMBERHENTIAN"), (25, "PEMBEBASAN_JABATAN"), (21, "PENURUNAN_JABATAN"),
    (17, "POTONG_TUKIN_25_12BLN"), (14, "POTONG_TUKIN_25_9BLN"), (11, "POTONG_TUKIN_25_6BLN"),
    (7, "PERNYATAAN_TIDAK_PUAS"), (4, "TEGURAN_TERTULIS"), (3, "TEGURAN_LISAN"), (0, "NONE"),
]
SEVERITY = {label: len(SPEC_BANDS) - i for i, (_, label) in enumerate(SPEC_BANDS)}  # NONE 1


@settings(BASE, max_examples=SANCTION_EXAMPLES)
@given(
    absent=st.lists(st.integers(0, 400), min_size=1, max_size=10),
    runs=st.lists(st.integers(0, 130), min_size=10, max_size=10),
)
def test_sanction_is_the_spec_band_and_monotone_in_absences(absent, runs):
    absent = sorted(absent)
    run = np.minimum(np.array(runs[: len(absent)]), np.array(absent))  # a run within the days
    got = sanctions(np.array(absent), run, RULES)
    no_run = sanctions(np.array(absent), np.zeros(len(absent), dtype=np.int64), RULES)
    for days, longest, label, alone in zip(absent, run, got, no_run, strict=True):
        band = next(s for low, s in SPEC_BANDS if days >= low)
        assert alone == band, days
        assert label == ("PEMBERHENTIAN" if longest >= 10 else band), (days, longest)
    severity = [SEVERITY[label] for label in no_run]
    assert severity == sorted(severity)  # more absent days never a lighter sanction
    assert all(SEVERITY[a] >= SEVERITY[b] for a, b in zip(got, no_run, strict=True))
