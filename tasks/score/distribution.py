"""Distribution of predikat and the curve checks (scoring.md section 7).

Decisions where scoring.md is silent:
- A unit with a non-null org_predikat but no APPRAISED employee gets no check: its shares are
  undefined (0 / 0) and it has no fact_predikat_distribution rows either. HR sees such a unit
  through appraised_count 0 and its NOT_RATED employees.
- Rows are ordered by unit_code, then by predikat in the policy's order (distribution) or by the
  policy's rule table order (checks).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from schemas.outputs import TEXT
from tasks.score.appraisal import APPRAISED
from tasks.score.rules import ScoringRules


def predikat_distribution(
    appraisal: pd.DataFrame, units: pd.DataFrame, rules: ScoringRules
) -> pd.DataFrame:
    """unit_code, predikat, employee_count, share for every unit with appraised_count > 0 and
    every predikat of the policy, zero counts included."""
    counted = units.loc[units["appraised_count"] > 0, ["unit_code", "appraised_count"]]
    n_predikat = len(rules.predikat)
    grid = pd.DataFrame(
        {
            "unit_code": np.repeat(counted["unit_code"].to_numpy(), n_predikat),
            "predikat": np.tile(np.array(rules.predikat, dtype=object), len(counted)),
            "appraised_count": np.repeat(counted["appraised_count"].to_numpy(), n_predikat),
        }
    ).astype({"unit_code": TEXT, "predikat": TEXT})
    appraised = appraisal.loc[appraisal["status"] == APPRAISED, ["unit_code", "predikat"]]
    counts = (
        appraised.astype(TEXT)
        .groupby(["unit_code", "predikat"], observed=True)
        .size()
        .rename("employee_count")
        .reset_index()
    )
    out = grid.merge(counts, on=["unit_code", "predikat"], how="left", sort=False)
    out["employee_count"] = out["employee_count"].fillna(0).astype("int64")
    out["share"] = out["employee_count"] / out["appraised_count"]
    return out[["unit_code", "predikat", "employee_count", "share"]]


def curve_table(rules: ScoringRules) -> pd.DataFrame:
    """The policy's curve rules, one row per rule, with their table position."""
    return pd.DataFrame(
        {
            "rule_order": np.arange(len(rules.curve), dtype=np.int64),
            "org_predikat": [r.org_predikat for r in rules.curve],
            "rule": [r.rule for r in rules.curve],
            "predikat_set": [",".join(r.predikat_set) for r in rules.curve],
            "members": [list(r.predikat_set) for r in rules.curve],
            "min_share": np.array([r.min_share for r in rules.curve], dtype=np.float64),
            "max_share": np.array([r.max_share for r in rules.curve], dtype=np.float64),
            "min_count": np.array([r.min_count for r in rules.curve], dtype=np.int64),
        }
    ).astype({"org_predikat": TEXT, "rule": TEXT, "predikat_set": TEXT})


def distribution_checks(
    distribution: pd.DataFrame, units: pd.DataFrame, rules: ScoringRules
) -> pd.DataFrame:
    """fact_distribution_check (without agency/period keys): one row per curve rule of each unit
    whose org_predikat is set and which has appraised employees."""
    checked = units.loc[
        units["org_predikat"].notna() & (units["appraised_count"] > 0),
        ["unit_code", "org_predikat", "appraised_count"],
    ].astype({"unit_code": TEXT, "org_predikat": TEXT})
    checks = checked.merge(curve_table(rules), on="org_predikat", how="inner")
    members = checks[["unit_code", "rule_order", "members"]].explode("members")
    members = members.rename(columns={"members": "predikat"}).astype({"predikat": TEXT})
    counted = members.merge(distribution, on=["unit_code", "predikat"], how="left")
    per_check = (
        counted.assign(employee_count=counted["employee_count"].fillna(0))
        .groupby(["unit_code", "rule_order"], observed=True)["employee_count"]
        .sum()
        .rename("employee_count")
    )
    checks = checks.merge(per_check.reset_index(), on=["unit_code", "rule_order"], how="left")
    checks["employee_count"] = checks["employee_count"].fillna(0).astype("int64")
    checks["share"] = checks["employee_count"] / checks["appraised_count"]
    checks["breach"] = (
        (checks["employee_count"] < checks["min_count"])
        | (checks["share"] < checks["min_share"])
        | (checks["share"] > checks["max_share"])
    ).astype(bool)
    checks = checks.sort_values(["unit_code", "rule_order"], kind="stable")
    return checks[
        [
            "unit_code",
            "org_predikat",
            "rule",
            "predikat_set",
            "employee_count",
            "share",
            "min_share",
            "max_share",
            "min_count",
            "breach",
        ]
    ].reset_index(drop=True)
