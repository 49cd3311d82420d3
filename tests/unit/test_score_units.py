"""Unit performance (scoring.md section 6), computed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tasks.score import score_period
from tasks.score.units import org_predikat_of
from tests.unit.test_score_support import POLICY, RULES, SE, inputs, nip, present_rows

MON, FRI = "2025-01-06", "2025-01-10"


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (120.0, "ISTIMEWA"),
        (110.0, "ISTIMEWA"),  # 110 or more
        (109.99999, "BAIK"),
        (90.0, "BAIK"),
        (89.99999, "BUTUH_PERBAIKAN"),
        (70.0, "BUTUH_PERBAIKAN"),
        (69.99999, "KURANG"),
        (50.0, "KURANG"),
        (49.99999, "SANGAT_KURANG"),
        (0.0, "SANGAT_KURANG"),
    ],
)
def test_org_predikat_thresholds(score, expected):
    assert org_predikat_of(pd.Series([score]), RULES).iloc[0] == expected


def test_org_predikat_null_without_iku():
    assert org_predikat_of(pd.Series([np.nan]), RULES).isna().all()


def test_unit_performance():
    emps = [
        {"nip": nip(1), "unit_code": "U1", "active_from": MON, "active_to": FRI},
        {"nip": nip(2), "unit_code": "U1", "active_to": "2024-12-31"},  # INACTIVE, still headcount
        {"nip": nip(3), "unit_code": "U1", "active_from": MON, "active_to": FRI},  # NOT_RATED
        {"nip": nip(4), "unit_code": "U2", "active_from": MON, "active_to": FRI},
    ]
    facts = score_period(
        inputs(
            emps,
            unit_codes=["U1", "U2", "U3", "U4"],
            att=[r for i in (1, 3, 4) for r in present_rows(nip(i), ["2025-01-06"])],
            rating_rows=[
                {"nip": nip(1), "results": SE, "behavior": SE},
                {"nip": nip(4), "results": SE, "behavior": SE},
            ],
            iku_rows=[
                ("U1", "I1", 100, 90, "MAX", 1.0),  # 90
                ("U1", "I2", 10, 12, "MIN", 3.0),  # 100 * (2 - 1.2) = 80
                ("U2", "I1", 50, 60, "MAX", 1.0),  # 120
                ("U3", "I1", 10, None, "MAX", 1.0),  # not reported: 0
            ],
            budget_rows=[
                ("U1", "A1", 1000.0, 400.0),
                ("U1", "A2", 1000.0, 500.0),
                ("U2", "A1", 0.0, 0.0),  # pagu 0
                ("U3", "A1", 500.0, 0.0),  # nothing absorbed
            ],
        ),
        POLICY,
    )
    units = facts["fact_unit_performance"].set_index("unit_code")
    u1, u2, u3, u4 = (units.loc[c] for c in ("U1", "U2", "U3", "U4"))

    assert u1["iku_score"] == 82.5  # (1 * 90 + 3 * 80) / 4 = 330 / 4
    assert (u1["budget_pagu"], u1["budget_realisasi"]) == (2000.0, 900.0)
    assert u1["absorption_pct"] == 45.0  # 100 * 900 / 2000
    assert u1["efficiency_pct"] == pytest.approx(183.33333333333334)  # 100 * 82.5 / 45
    assert u1["org_predikat"] == "BUTUH_PERBAIKAN"  # 70 <= 82.5 < 90
    assert (u1["headcount"], u1["appraised_count"]) == (3, 1)

    assert u2["iku_score"] == 120.0  # 100 * 60 / 50 = 120
    assert np.isnan(u2["absorption_pct"])  # pagu 0
    assert np.isnan(u2["efficiency_pct"])  # absorption null
    assert u2["org_predikat"] == "ISTIMEWA"
    assert (u2["headcount"], u2["appraised_count"]) == (1, 1)

    assert u3["iku_score"] == 0.0
    assert u3["absorption_pct"] == 0.0  # 100 * 0 / 500
    assert np.isnan(u3["efficiency_pct"])  # absorption 0
    assert u3["org_predikat"] == "SANGAT_KURANG"
    assert (u3["headcount"], u3["appraised_count"]) == (0, 0)

    assert np.isnan(u4["iku_score"]) and pd.isna(u4["org_predikat"])  # no IKU
    assert (u4["budget_pagu"], u4["budget_realisasi"]) == (0.0, 0.0)  # no budget rows
    assert np.isnan(u4["absorption_pct"]) and np.isnan(u4["efficiency_pct"])

    # unit_score of an employee is its unit's iku_score
    appraisal = facts["fact_appraisal"].set_index("nip")
    assert appraisal.loc[nip(1), "unit_score"] == 82.5
    assert appraisal.loc[nip(4), "unit_score"] == 120.0
