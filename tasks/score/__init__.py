"""The appraisal policy of shared/spec/scoring.md as pure pandas functions.

`score_period(inputs, policy)` takes the validated frames of one agency and period
(docs/architecture.md) and returns the seven fact tables of warehouse.md, without run_id. No I/O,
no Prefect, no database: the flow reads and writes around it. Every number comes from the policy
(`tasks.score.rules.ScoringRules`).

Output rows are sorted by their key (nip, unit_code, then predikat/rule in policy order,
indicator_id), not by input order, so that re-running unchanged sources read in another file order
gives identical frames.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pandas as pd

from kinerja.period import Period
from schemas.outputs import FACT_TABLES, TEXT
from tasks.score._frames import finalise
from tasks.score.achievement import achievement, weighted_mean
from tasks.score.appraisal import build_appraisal, latest_ratings
from tasks.score.attendance import ATTENDANCE_COLUMNS, score_attendance
from tasks.score.calendar import working_days
from tasks.score.distribution import distribution_checks, predikat_distribution
from tasks.score.followup import build_followup
from tasks.score.rules import PolicyError, ScoringRules
from tasks.score.units import iku_scores, unit_performance

__all__ = ["FACT_TABLES", "PolicyError", "ScoringInputs", "ScoringRules", "attendance_figures",
           "score_period"]


T = TypeVar("T")


def _empty_prior(*columns: str) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=TEXT) for c in columns})


@dataclass
class ScoringInputs:
    """One agency-period's accepted frames (docs/architecture.md) and what earlier publications
    say: prior_absent_days (nip, absent_days) of the same year's S1 as published, empty for S1;
    prior_predikat (nip, period_id, predikat) of the three periods before this one."""

    agency_code: str
    period: Period
    units: pd.DataFrame
    employees: pd.DataFrame
    calendar: pd.DataFrame
    attendance: pd.DataFrame
    skp: pd.DataFrame
    ratings: pd.DataFrame
    unit_iku: pd.DataFrame
    budget: pd.DataFrame
    prior_absent_days: pd.DataFrame = field(
        default_factory=lambda: _empty_prior("nip", "absent_days")
    )
    prior_predikat: pd.DataFrame = field(
        default_factory=lambda: _empty_prior("nip", "period_id", "predikat")
    )
    attendance_figures: pd.DataFrame | None = None


def _sorted_employees(employees: pd.DataFrame) -> pd.DataFrame:
    employees = employees.assign(nip=employees["nip"].astype(TEXT))
    return employees.sort_values("nip", kind="stable").reset_index(drop=True)


def attendance_figures(
    employees: pd.DataFrame,
    attendance: pd.DataFrame,
    period: Period,
    calendar: pd.DataFrame,
    policy: Any,
) -> pd.DataFrame:
    """nip and the attendance figures (fact_attendance's, and longest_absence_run) of
    `employees`, from their attendance rows, sorted by nip. An employee's figures depend on his
    own rows only, so employees may be scored in parts (with every row of each part's
    employees) and the parts concatenated: the same figures as all at once."""
    rules = ScoringRules.from_policy(policy)
    employees = _sorted_employees(employees)
    days = working_days(period, calendar, rules.attendance)
    figures = score_attendance(employees, attendance, days, rules.attendance)
    figures.insert(0, "nip", employees["nip"])
    return figures


def _aligned_figures(figures: pd.DataFrame, employees: pd.DataFrame) -> pd.DataFrame:
    """`figures` in `employees`' row order; every employee must have his."""
    indexed = figures.set_index(figures["nip"].astype(TEXT)).drop(columns="nip")
    if indexed.index.has_duplicates or not employees["nip"].isin(indexed.index).all():
        raise ValueError("attendance_figures must hold each employee exactly once")
    return indexed.reindex(employees["nip"]).set_index(employees.index)


def score_period(
    inputs: ScoringInputs,
    policy: Any,
    timings: dict[str, float] | None = None,
) -> dict[str, pd.DataFrame]:
    """The seven fact tables of one agency and period, keyed by table name.

    `policy` is a `kinerja.policy.Policy` (or its rules mapping). When `timings` is given, the
    elapsed seconds of every stage are recorded in it (for bench/bench_score.py and run logs).
    """
    rules = ScoringRules.from_policy(policy)
    agency, period_id = str(inputs.agency_code), inputs.period.id

    def stage(name: str, work: Callable[[], T]) -> T:
        started = time.perf_counter()
        result = work()
        if timings is not None:
            timings[name] = timings.get(name, 0.0) + time.perf_counter() - started
        return result

    # Sorted by nip: every per-employee frame below is aligned with this order.
    employees = _sorted_employees(inputs.employees)

    if inputs.attendance_figures is not None:
        figures = inputs.attendance_figures
        attendance = stage("attendance", lambda: _aligned_figures(figures, employees))
    else:
        days = stage("calendar",
                     lambda: working_days(inputs.period, inputs.calendar, rules.attendance))
        attendance = stage(
            "attendance",
            lambda: score_attendance(employees, inputs.attendance, days, rules.attendance),
        )

    def skp_facts() -> pd.DataFrame:
        skp = inputs.skp
        frame = pd.DataFrame(
            {
                "nip": skp["nip"].astype(TEXT),
                "indicator_id": skp["indicator_id"].astype(TEXT),
                "target": skp["target"].astype("float64"),
                "realization": skp["realization"].astype("float64"),
                "polarity": skp["polarity"].astype(TEXT).str.upper().fillna("MAX"),
                "weight": skp["weight"].astype("float64").fillna(1.0),
            }
        )
        frame["achievement"] = achievement(
            frame["target"], frame["realization"], frame["polarity"], rules.achievement
        )
        return frame.sort_values(["nip", "indicator_id"], kind="stable")

    skp = stage("achievement", skp_facts)
    results_score = stage("achievement", lambda: weighted_mean(skp, "nip", "achievement"))
    iku = stage("units", lambda: iku_scores(inputs.unit_iku, rules))
    latest = stage("appraisal", lambda: latest_ratings(inputs.ratings, rules.behavior_aspects))
    appraisal = stage(
        "appraisal",
        lambda: build_appraisal(employees, attendance, results_score, latest, iku, rules),
    )
    units = stage(
        "units",
        lambda: unit_performance(inputs.units, iku, inputs.budget, appraisal, rules),
    )
    distribution = stage("distribution", lambda: predikat_distribution(appraisal, units, rules))
    checks = stage("distribution", lambda: distribution_checks(distribution, units, rules))
    followup = stage(
        "followup",
        lambda: build_followup(
            appraisal,
            attendance,
            units,
            latest,
            inputs.prior_absent_days,
            inputs.prior_predikat,
            inputs.period,
            rules,
        ),
    )

    def assemble() -> dict[str, pd.DataFrame]:
        fact_attendance = attendance[ATTENDANCE_COLUMNS].assign(
            nip=employees["nip"], unit_code=employees["unit_code"].astype(TEXT)
        )
        frames = {
            "fact_attendance": fact_attendance,
            "fact_skp": skp,
            "fact_unit_performance": units,
            "fact_appraisal": appraisal,
            "fact_predikat_distribution": distribution,
            "fact_distribution_check": checks,
            "fact_followup": followup,
        }
        return {name: finalise(frames[name], name, agency, period_id) for name in FACT_TABLES}

    return stage("assemble", assemble)
