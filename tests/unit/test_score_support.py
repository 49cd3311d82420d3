"""Builders of small validated frames (docs/architecture.md) for the scoring tests.

Not a test module itself: the test_score_*.py modules import it. Dates of 2025-S1 used throughout:
2025-01-06 is a Monday, 2025-01-09 a Thursday, 2025-01-10 a Friday, 2025-01-11/12 a weekend.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from kinerja.period import Period
from kinerja.policy import Policy, load_policy
from tasks.score import ScoringInputs
from tasks.score.rules import ScoringRules

TEXT = pd.StringDtype("pyarrow")
POLICY = load_policy()
RULES = ScoringRules.from_policy(POLICY)
S1 = Period.parse("2025-S1")
ASPECTS = list(RULES.behavior_aspects)
DA, SE, DB = "DIATAS_EKSPEKTASI", "SESUAI_EKSPEKTASI", "DIBAWAH_EKSPEKTASI"


def nip(i: int) -> str:
    """A valid NIP: born 1990-01-01, appointed 2015-03, male, sequence i."""
    return f"199001012015031{i:03d}"


def hms(value: str) -> float:
    """'HH:MM' or 'HH:MM:SS' -> seconds after midnight."""
    parts = [int(p) for p in value.split(":")] + [0]
    return float(parts[0] * 3600 + parts[1] * 60 + parts[2])


def policy_with(changes: dict[str, Any]) -> Policy:
    """The default policy with some entries replaced ({'attendance.status_deduction.TK': 5})."""
    rules = copy.deepcopy(POLICY.rules)
    for dotted, value in changes.items():
        *path, last = dotted.split(".")
        target = rules
        for key in path:
            target = target[key]
        target[last] = value
    return Policy(name="test-variant", hash="0" * 64, rules=rules)


def _dates(values: Iterable[Any]) -> pd.Series:
    return pd.Series(pd.to_datetime(list(values)), dtype="datetime64[us]")


def units(*codes: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "unit_code": pd.Series(list(codes), dtype=TEXT),
            "unit_name": pd.Series([f"Dinas {c}" for c in codes], dtype=TEXT),
            "parent_unit_code": pd.Series([None] * len(codes), dtype=TEXT),
        }
    )


def employees(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """rows: dicts with nip, unit_code (default U1), active_from/active_to (default open)."""
    n = len(rows)
    frame = pd.DataFrame(
        {
            "nip": pd.Series([r["nip"] for r in rows], dtype=TEXT),
            "name": pd.Series([f"Pegawai {i}" for i in range(n)], dtype=TEXT),
            "employee_type": pd.Series(["PNS"] * n, dtype=TEXT),
            "unit_code": pd.Series([r.get("unit_code", "U1") for r in rows], dtype=TEXT),
            "position_type": pd.Series(["PELAKSANA"] * n, dtype=TEXT),
            "position_name": pd.Series([None] * n, dtype=TEXT),
            "grade": pd.Series([None] * n, dtype=TEXT),
            "supervisor_nip": pd.Series([None] * n, dtype=TEXT),
        }
    )
    frame["active_from"] = _dates(r.get("active_from") for r in rows)
    frame["active_to"] = _dates(r.get("active_to") for r in rows)
    return frame


def calendar(*dates: str) -> pd.DataFrame:
    return pd.DataFrame(
        {"date": _dates(dates), "description": pd.Series(["Libur"] * len(dates), dtype=TEXT)}
    )


def attendance(rows: Sequence[tuple[Any, ...]]) -> pd.DataFrame:
    """rows: (nip, date, status[, check_in[, check_out]]) with times as 'HH:MM[:SS]' or None."""
    padded = [tuple(r) + (None,) * (5 - len(r)) for r in rows]

    def seconds(value: Any) -> float:
        return np.nan if value is None else hms(value)

    return pd.DataFrame(
        {
            "nip": pd.Series([r[0] for r in padded], dtype=TEXT),
            "date": _dates(r[1] for r in padded),
            "status": pd.Series([r[2] for r in padded], dtype=TEXT),
            "check_in": np.array([seconds(r[3]) for r in padded], dtype=np.float64),
            "check_out": np.array([seconds(r[4]) for r in padded], dtype=np.float64),
        }
    )


def working_dates(first: str, last: str, holidays: Sequence[str] = ()) -> list[str]:
    """Monday-Friday dates from first to last (ISO), minus holidays."""
    days = pd.date_range(first, last, freq="D")
    return [
        d.strftime("%Y-%m-%d")
        for d in days
        if d.weekday() < 5 and d.strftime("%Y-%m-%d") not in holidays
    ]


def present_rows(who: str, dates: Iterable[str], check_in: str = "07:30", check_out: str = "16:30"):
    """On-time H rows (16:30 is not early on any day)."""
    return [(who, d, "H", check_in, check_out) for d in dates]


def skp(rows: Sequence[tuple[Any, ...]]) -> pd.DataFrame:
    """rows: (nip, indicator_id, target, realization, polarity, weight); None realization = NaN."""
    return pd.DataFrame(
        {
            "nip": pd.Series([r[0] for r in rows], dtype=TEXT),
            "indicator_id": pd.Series([r[1] for r in rows], dtype=TEXT),
            "indicator": pd.Series([None] * len(rows), dtype=TEXT),
            "target": np.array([r[2] for r in rows], dtype=np.float64),
            "realization": np.array(
                [np.nan if r[3] is None else r[3] for r in rows], dtype=np.float64
            ),
            "unit_of_measure": pd.Series([None] * len(rows), dtype=TEXT),
            "polarity": pd.Series([r[4] for r in rows], dtype=TEXT),
            "weight": np.array([r[5] for r in rows], dtype=np.float64),
        }
    )


def ratings(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """rows: dicts with nip, results, behavior, rated_at (default 2025-06-30 10:00) and any
    aspect -> label."""
    frame = pd.DataFrame(
        {
            "nip": pd.Series([r["nip"] for r in rows], dtype=TEXT),
            "rater_nip": pd.Series([None] * len(rows), dtype=TEXT),
            "rated_at": _dates(r.get("rated_at", "2025-06-30 10:00") for r in rows),
            "results_rating": pd.Series([r["results"] for r in rows], dtype=TEXT),
            "behavior_rating": pd.Series([r["behavior"] for r in rows], dtype=TEXT),
        }
    )
    for aspect in ASPECTS:
        frame[aspect] = pd.Series([r.get(aspect) for r in rows], dtype=TEXT)
    return frame


def unit_iku(rows: Sequence[tuple[Any, ...]]) -> pd.DataFrame:
    """rows: (unit_code, iku_id, target, realization, polarity, weight)."""
    frame = skp([(r[0], *r[1:]) for r in rows]).rename(
        columns={"nip": "unit_code", "indicator_id": "iku_id"}
    )
    return frame.drop(columns=["unit_of_measure"])


def budget(rows: Sequence[tuple[str, str, float, float]]) -> pd.DataFrame:
    """rows: (unit_code, activity_code, pagu, realisasi)."""
    return pd.DataFrame(
        {
            "unit_code": pd.Series([r[0] for r in rows], dtype=TEXT),
            "program_code": pd.Series(["P01"] * len(rows), dtype=TEXT),
            "activity_code": pd.Series([r[1] for r in rows], dtype=TEXT),
            "activity_name": pd.Series([None] * len(rows), dtype=TEXT),
            "pagu": np.array([r[2] for r in rows], dtype=np.float64),
            "realisasi": np.array([r[3] for r in rows], dtype=np.float64),
        }
    )


def prior_predikat(rows: Sequence[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "nip": pd.Series([r[0] for r in rows], dtype=TEXT),
            "period_id": pd.Series([r[1] for r in rows], dtype=TEXT),
            "predikat": pd.Series([r[2] for r in rows], dtype=TEXT),
        }
    )


def prior_absent(rows: Sequence[tuple[str, int]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "nip": pd.Series([r[0] for r in rows], dtype=TEXT),
            "absent_days": np.array([r[1] for r in rows], dtype=np.int64),
        }
    )


def inputs(
    emps: Sequence[dict[str, Any]],
    *,
    period: Period = S1,
    unit_codes: Sequence[str] | None = None,
    holidays: Sequence[str] = (),
    att: Sequence[tuple[Any, ...]] = (),
    skp_rows: Sequence[tuple[Any, ...]] = (),
    rating_rows: Sequence[dict[str, Any]] = (),
    iku_rows: Sequence[tuple[Any, ...]] = (),
    budget_rows: Sequence[tuple[str, str, float, float]] = (),
    prior_absent_rows: Sequence[tuple[str, int]] = (),
    prior_predikat_rows: Sequence[tuple[str, str, str]] = (),
) -> ScoringInputs:
    codes = unit_codes or sorted({e.get("unit_code", "U1") for e in emps} or {"U1"})
    return ScoringInputs(
        agency_code="3374",
        period=period,
        units=units(*codes),
        employees=employees(emps),
        calendar=calendar(*holidays),
        attendance=attendance(att),
        skp=skp(skp_rows),
        ratings=ratings(rating_rows),
        unit_iku=unit_iku(iku_rows),
        budget=budget(budget_rows),
        prior_absent_days=prior_absent(prior_absent_rows),
        prior_predikat=prior_predikat(prior_predikat_rows),
    )


def by_nip(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index("nip")
