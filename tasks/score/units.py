"""Unit performance (scoring.md section 6): IKU, budget, org_predikat, headcount.

Decisions where scoring.md is silent:
- A unit with no employees still gets its row (headcount 0, appraised_count 0).
- A unit without budget rows has pagu 0 and realisasi 0, hence a null absorption_pct and a null
  efficiency_pct.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from schemas.outputs import TEXT
from tasks.score.achievement import achievement, weighted_mean
from tasks.score.appraisal import APPRAISED
from tasks.score.rules import ScoringRules


def iku_scores(unit_iku: pd.DataFrame, rules: ScoringRules) -> pd.Series:
    """Weighted mean IKU achievement per unit_code (units without IKU are absent)."""
    frame = pd.DataFrame(
        {
            "unit_code": unit_iku["unit_code"].astype(TEXT),
            "weight": unit_iku["weight"].astype("float64"),
            "achievement": achievement(
                unit_iku["target"], unit_iku["realization"], unit_iku["polarity"], rules.achievement
            ),
        }
    )
    return weighted_mean(frame, "unit_code", "achievement")


def org_predikat_of(iku_score: pd.Series, rules: ScoringRules) -> pd.Series:
    """The first threshold the unrounded iku_score reaches, else `otherwise`; NA without IKU."""
    score = iku_score.to_numpy(dtype=np.float64)
    label = np.full(len(score), rules.org_otherwise, dtype=object)
    decided = np.zeros(len(score), dtype=bool)
    for min_score, value in rules.org_thresholds:
        reached = ~decided & (score >= min_score)
        label[reached] = value
        decided |= reached
    label[np.isnan(score)] = None
    return pd.Series(label, index=iku_score.index, dtype=TEXT)


def unit_performance(
    units: pd.DataFrame,
    iku_score: pd.Series,
    budget: pd.DataFrame,
    appraisal: pd.DataFrame,
    rules: ScoringRules,
) -> pd.DataFrame:
    """fact_unit_performance (without agency/period keys), one row per unit, by unit_code.

    `appraisal` has unit_code and status for every employee (fact_appraisal's rows).
    """
    unit_code = pd.Index(units["unit_code"].astype(TEXT).sort_values(), name="unit_code")
    out = pd.DataFrame(index=unit_code)
    out["iku_score"] = iku_score.reindex(unit_code).astype("float64")
    sums = (
        pd.DataFrame(
            {
                "unit_code": budget["unit_code"].astype(TEXT),
                "budget_pagu": budget["pagu"].astype("float64"),
                "budget_realisasi": budget["realisasi"].astype("float64"),
            }
        )
        .groupby("unit_code", observed=True)[["budget_pagu", "budget_realisasi"]]
        .sum()
    )
    out["budget_pagu"] = sums["budget_pagu"].reindex(unit_code, fill_value=0.0).astype("float64")
    out["budget_realisasi"] = (
        sums["budget_realisasi"].reindex(unit_code, fill_value=0.0).astype("float64")
    )
    pagu = out["budget_pagu"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        absorption = np.where(pagu != 0, 100.0 * out["budget_realisasi"].to_numpy() / pagu, np.nan)
        iku = out["iku_score"].to_numpy()
        usable = ~np.isnan(iku) & ~np.isnan(absorption) & (absorption != 0)
        efficiency = np.where(usable, 100.0 * iku / np.where(usable, absorption, 1.0), np.nan)
    out["absorption_pct"] = absorption
    out["efficiency_pct"] = efficiency
    out["org_predikat"] = org_predikat_of(out["iku_score"], rules)
    employee_units = appraisal["unit_code"].astype(TEXT)
    out["headcount"] = (
        employee_units.value_counts().reindex(unit_code, fill_value=0).astype("int64")
    )
    appraised = employee_units[appraisal["status"] == APPRAISED]
    out["appraised_count"] = (
        appraised.value_counts().reindex(unit_code, fill_value=0).astype("int64")
    )
    return out.reset_index()
