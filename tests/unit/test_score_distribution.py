"""Distribution of predikat and the curve checks (scoring.md section 7), computed by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from tasks.score.distribution import distribution_checks, predikat_distribution
from tests.unit.test_score_support import RULES, TEXT

SB, B, BP, K, SK = "SANGAT_BAIK", "BAIK", "BUTUH_PERBAIKAN", "KURANG", "SANGAT_KURANG"
ISTIMEWA = "ISTIMEWA"


def scenario(units: dict[str, tuple[str | None, dict[str, int]]], not_rated: int = 0):
    """units: unit_code -> (org_predikat, {predikat: appraised employees}). Returns
    (distribution, checks)."""
    appraisal_rows = []
    unit_rows = []
    for code, (org, counts) in units.items():
        for predikat, count in counts.items():
            appraisal_rows += [(code, predikat, "APPRAISED")] * count
        appraisal_rows += [(code, None, "NOT_RATED")] * not_rated
        unit_rows.append((code, org, sum(counts.values())))
    appraisal = pd.DataFrame(appraisal_rows, columns=["unit_code", "predikat", "status"]).astype(
        TEXT
    )
    unit_frame = pd.DataFrame(unit_rows, columns=["unit_code", "org_predikat", "appraised_count"])
    unit_frame = unit_frame.astype({"unit_code": TEXT, "org_predikat": TEXT})
    distribution = predikat_distribution(appraisal, unit_frame, RULES)
    return distribution, distribution_checks(distribution, unit_frame, RULES)


def test_distribution_has_zero_rows_and_skips_units_without_appraised():
    distribution, _ = scenario({"U1": (B, {SB: 1, B: 3}), "U2": (B, {})}, not_rated=2)
    # U1: five rows, one per predikat, zero counts included; U2 (appraised 0): no row
    assert list(distribution["unit_code"]) == ["U1"] * 5
    assert list(distribution["predikat"]) == [SB, B, BP, K, SK]
    assert list(distribution["employee_count"]) == [1, 3, 0, 0, 0]
    assert list(distribution["share"]) == [0.25, 0.75, 0.0, 0.0, 0.0]  # 1/4, 3/4


# (org_predikat, counts of 10 appraised employees, rule, employee_count, share, breach)
CASES = [
    (ISTIMEWA, {SB: 7, B: 3}, "SB_MAX", 7, 0.7, False),  # 0.7 <= 0.70
    (ISTIMEWA, {SB: 8, B: 2}, "SB_MAX", 8, 0.8, True),  # 0.8 > 0.70
    (B, {B: 7, BP: 3}, "B_MAX", 7, 0.7, False),  # 0.7 <= 0.70
    (B, {B: 8, K: 2}, "B_MAX", 8, 0.8, True),  # 0.8 > 0.70
    (B, {SB: 4, B: 6}, "BP_K_PRESENT", 0, 0.0, True),  # 0 < min_count 1
    (B, {B: 9, K: 1}, "BP_K_PRESENT", 1, 0.1, False),  # one KURANG is enough
    (B, {B: 9, BP: 1}, "BP_K_PRESENT", 1, 0.1, False),  # one BUTUH_PERBAIKAN is enough
    (BP, {BP: 6, B: 4}, "BP_MIN", 6, 0.6, False),  # 0.6 >= 0.60
    (BP, {BP: 5, B: 5}, "BP_MIN", 5, 0.5, True),  # 0.5 < 0.60
    (BP, {SB: 1, BP: 9}, "SB_MAX", 1, 0.1, False),  # 0.1 <= 0.10
    (BP, {SB: 2, BP: 8}, "SB_MAX", 2, 0.2, True),  # 0.2 > 0.10
    (K, {K: 6, BP: 4}, "K_MIN", 6, 0.6, False),  # 0.6 >= 0.60
    (K, {K: 5, BP: 5}, "K_MIN", 5, 0.5, True),  # 0.5 < 0.60
    (K, {K: 9, BP: 1}, "BP_MIN", 1, 0.1, False),  # 0.1 >= 0.10
    (K, {K: 10}, "BP_MIN", 0, 0.0, True),  # 0 < 0.10
    (K, {SB: 1, K: 9}, "SB_MAX", 1, 0.1, False),  # 0.1 <= 0.10
    (K, {SB: 2, K: 8}, "SB_MAX", 2, 0.2, True),  # 0.2 > 0.10
    (SK, {SK: 6, K: 4}, "SK_MIN", 6, 0.6, False),  # 0.6 >= 0.60
    (SK, {SK: 5, K: 5}, "SK_MIN", 5, 0.5, True),  # 0.5 < 0.60
    (SK, {SK: 9, BP: 1}, "K_BP_MIN", 1, 0.1, False),  # (0 K + 1 BP) / 10 = 0.1 >= 0.10
    (SK, {SK: 9, K: 1}, "K_BP_MIN", 1, 0.1, False),  # (1 K + 0 BP) / 10 = 0.1
    (SK, {SK: 10}, "K_BP_MIN", 0, 0.0, True),  # 0 < 0.10
    (SK, {SK: 10}, "SB_NONE", 0, 0.0, False),  # 0 <= 0
    (SK, {SB: 1, SK: 9}, "SB_NONE", 1, 0.1, True),  # 0.1 > 0
]


@pytest.mark.parametrize(("org", "counts", "rule", "count", "share", "breach"), CASES)
def test_curve_rule(org, counts, rule, count, share, breach):
    _, checks = scenario({"U1": (org, counts)})
    row = checks.set_index("rule").loc[rule]
    assert row["org_predikat"] == org
    assert row["employee_count"] == count
    assert row["share"] == share
    assert bool(row["breach"]) is breach


def test_every_rule_is_covered():
    covered = {(c[0], c[2]) for c in CASES}
    assert covered == {(r.org_predikat, r.rule) for r in RULES.curve}  # all 11 rules


def test_checks_per_org_predikat_and_set_order():
    _, checks = scenario(
        {
            "U1": (B, {B: 10}),
            "U2": (SK, {SK: 10}),
            "U3": (None, {B: 10}),  # null org_predikat: no check
            "U4": (ISTIMEWA, {}),  # no appraised employee: no check
        }
    )
    assert list(checks["unit_code"]) == ["U1", "U1", "U2", "U2", "U2"]
    assert list(checks["rule"]) == ["B_MAX", "BP_K_PRESENT", "SK_MIN", "K_BP_MIN", "SB_NONE"]
    # predikat_set joined with "," in the rule table's order (not the predikat order)
    assert list(checks["predikat_set"]) == [
        "BAIK",
        "BUTUH_PERBAIKAN,KURANG",
        "SANGAT_KURANG",
        "KURANG,BUTUH_PERBAIKAN",
        "SANGAT_BAIK",
    ]
    assert list(checks["min_share"]) == [0.0, 0.0, 0.6, 0.1, 0.0]
    assert list(checks["max_share"]) == [0.7, 1.0, 1.0, 1.0, 0.0]
    assert list(checks["min_count"]) == [0, 1, 0, 0, 0]


def test_not_rated_employees_are_not_in_the_shares():
    # 4 appraised (3 BAIK, 1 KURANG) and 6 NOT_RATED in a BAIK unit: shares over 4, not 10
    _, checks = scenario({"U1": (B, {B: 3, K: 1})}, not_rated=6)
    row = checks.set_index("rule").loc["B_MAX"]
    assert row["share"] == 0.75  # 3 / 4 > 0.70
    assert bool(row["breach"]) is True
