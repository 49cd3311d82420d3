"""score_period end to end: warehouse.md's columns and order, dtypes, schemas/outputs.py, and one
employee computed by hand through every table."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pandera.errors
import pytest

from schemas.outputs import FACT_COLUMNS, output_schemas, validate_facts
from tasks.score import FACT_TABLES, ScoringInputs, score_period
from tests.unit.test_score_support import DA, POLICY, S1, SE, TEXT, by_nip, inputs, nip

# Copied from shared/spec/warehouse.md (without run_id), independently of schemas/outputs.py.
WAREHOUSE_COLUMNS = {
    "fact_attendance": "agency_code, period_id, nip, unit_code, working_days, present_days, "
    "sick_days, permit_days, leave_days, duty_days, absent_days, late_count, late_minutes, "
    "early_count, early_minutes, deduction_pct, discipline_score",
    "fact_skp": "agency_code, period_id, nip, indicator_id, target, realization, polarity, "
    "weight, achievement",
    "fact_unit_performance": "agency_code, period_id, unit_code, iku_score, budget_pagu, "
    "budget_realisasi, absorption_pct, efficiency_pct, org_predikat, headcount, appraised_count",
    "fact_appraisal": "agency_code, period_id, nip, unit_code, results_score, behavior_score, "
    "discipline_score, unit_score, final_score, results_rating, behavior_rating, predikat, "
    "rank_in_unit, status",
    "fact_predikat_distribution": "agency_code, period_id, unit_code, predikat, employee_count, "
    "share",
    "fact_distribution_check": "agency_code, period_id, unit_code, org_predikat, rule, "
    "predikat_set, employee_count, share, min_share, max_share, min_count, breach",
    "fact_followup": "agency_code, period_id, nip, reward_candidate, coaching_required, "
    "training_needs, absent_days_ytd, discipline_sanction, promotion_eligible",
}

A, B, C = nip(1), nip(2), nip(3)


def scenario() -> ScoringInputs:
    week = {"active_from": "2025-01-06", "active_to": "2025-01-10"}
    return inputs(
        [
            {"nip": A, "unit_code": "U1", **week},
            {"nip": B, "unit_code": "U1", **week},  # not rated
            {"nip": C, "unit_code": "U2", "active_from": "2025-07-01"},  # INACTIVE
        ],
        unit_codes=["U1", "U2"],
        att=[
            (A, "2025-01-06", "H", "07:30", "16:00"),  # on time
            (A, "2025-01-07", "H", "07:45", "16:00"),  # 15 min late: 0.5
            # Wednesday 8: no row -> TK: 3.0
            (A, "2025-01-09", "S"),  # sick: 0
            (A, "2025-01-10", "H", "07:30", "16:15"),  # Friday, 15 min early: 0.5
            (A, "2025-01-10", "TK"),  # H outranks TK
        ],
        skp_rows=[
            (A, "K1", 10, 8, "MAX", 2.0),  # 100 * 8 / 10 = 80
            (A, "K2", 5, 4, "MIN", 1.0),  # 100 * (2 - 0.8) = 120
        ],
        rating_rows=[
            {"nip": A, "results": DA, "behavior": SE, "akuntabel": DA, "kompeten": SE},
        ],
        iku_rows=[("U1", "I1", 100, 95, "MAX", 1.0)],  # 95
        budget_rows=[("U1", "A1", 1000.0, 800.0)],
    )


def test_columns_and_order_are_warehouse_md():
    facts = score_period(scenario(), POLICY)
    assert tuple(facts) == FACT_TABLES
    for table, columns in WAREHOUSE_COLUMNS.items():
        assert list(facts[table].columns) == columns.split(", "), table
        assert list(FACT_COLUMNS[table]) == columns.split(", "), table


def test_dtypes():
    facts = score_period(scenario(), POLICY)
    for table, columns in FACT_COLUMNS.items():
        for column, dtype in columns.items():
            assert facts[table][column].dtype == dtype, (table, column)
    assert facts["fact_appraisal"]["rank_in_unit"].dtype == "Int64"
    assert facts["fact_followup"]["reward_candidate"].dtype == bool
    assert facts["fact_attendance"]["absent_days"].dtype == np.int64
    assert facts["fact_appraisal"]["final_score"].dtype == np.float64
    assert facts["fact_appraisal"]["nip"].dtype == TEXT


def test_output_validates_against_schemas():
    facts = score_period(scenario(), POLICY)
    validate_facts(facts)
    validate_facts(facts, POLICY)  # codes read from the policy give the same schemas


def test_schemas_reject_bad_frames():
    facts = score_period(scenario(), POLICY)
    bad = facts["fact_predikat_distribution"].copy()
    bad.loc[0, "share"] = 1.5
    with pytest.raises(pandera.errors.SchemaErrors):
        output_schemas()["fact_predikat_distribution"].validate(bad, lazy=True)
    bad = facts["fact_appraisal"].copy()
    bad.loc[0, "status"] = "RATED"
    with pytest.raises(pandera.errors.SchemaErrors):
        output_schemas()["fact_appraisal"].validate(bad, lazy=True)
    bad = pd.concat([facts["fact_followup"], facts["fact_followup"].iloc[:1]], ignore_index=True)
    with pytest.raises(pandera.errors.SchemaErrors):  # duplicate key
        output_schemas()["fact_followup"].validate(bad, lazy=True)
    bad = facts["fact_followup"].copy()
    bad["training_needs"] = bad["training_needs"].astype(object)
    with pytest.raises(TypeError, match="dtypes"):
        validate_facts({**facts, "fact_followup": bad})


def test_one_employee_through_every_table():
    facts = score_period(scenario(), POLICY)
    att = by_nip(facts["fact_attendance"]).loc[A]
    assert att["working_days"] == 5
    assert (att["present_days"], att["sick_days"], att["absent_days"]) == (3, 1, 1)
    assert (att["late_count"], att["late_minutes"]) == (1, 15)
    assert (att["early_count"], att["early_minutes"]) == (1, 15)
    assert att["deduction_pct"] == 4.0  # 0.5 + 3.0 + 0.5
    assert att["discipline_score"] == 96.0  # one month: 100 - 4

    row = by_nip(facts["fact_appraisal"]).loc[A]
    assert row["results_score"] == pytest.approx(280 / 3)  # (2 * 80 + 1 * 120) / 3 = 93.33
    assert row["behavior_score"] == 110.0  # (120 + 100) / 2
    assert row["unit_score"] == 95.0
    # 0.5 * 93.333 + 0.2 * 110 + 0.2 * 96 + 0.1 * 95 = 46.667 + 22 + 19.2 + 9.5 = 97.367
    assert row["final_score"] == pytest.approx(0.5 * 280 / 3 + 22 + 19.2 + 9.5)
    assert row["predikat"] == "BAIK"  # DIATAS x SESUAI
    assert (row["status"], row["rank_in_unit"]) == ("APPRAISED", 1)
    assert (row["results_rating"], row["behavior_rating"]) == (DA, SE)

    unrated = by_nip(facts["fact_appraisal"]).loc[B]
    assert pd.isna(unrated["results_rating"]) and pd.isna(unrated["behavior_rating"])
    # B has no row all week: 5 TK = 15.0 -> discipline 85; (0.2 * 85 + 0.1 * 95) / 0.3 = 88.33
    assert unrated["final_score"] == pytest.approx((17 + 9.5) / 0.3)

    units = facts["fact_unit_performance"].set_index("unit_code")
    assert units.loc["U1", "absorption_pct"] == 80.0  # 100 * 800 / 1000
    assert units.loc["U1", "efficiency_pct"] == 118.75  # 100 * 95 / 80
    assert units.loc["U1", "org_predikat"] == "BAIK"  # 90 <= 95 < 110
    assert (units.loc["U1", "headcount"], units.loc["U1", "appraised_count"]) == (2, 1)
    assert (units.loc["U2", "headcount"], units.loc["U2", "appraised_count"]) == (1, 0)

    dist = facts["fact_predikat_distribution"]
    assert list(dist["unit_code"]) == ["U1"] * 5  # U2 has nobody appraised
    assert list(dist["employee_count"]) == [0, 1, 0, 0, 0]
    assert list(dist["share"]) == [0.0, 1.0, 0.0, 0.0, 0.0]

    checks = facts["fact_distribution_check"].set_index("rule")
    assert list(checks.index) == ["B_MAX", "BP_K_PRESENT"]
    assert checks.loc["B_MAX", "share"] == 1.0 and checks.loc["B_MAX", "breach"]  # 1.0 > 0.70
    assert checks.loc["BP_K_PRESENT", "breach"]  # 0 < min_count 1

    followup = by_nip(facts["fact_followup"])
    assert followup.loc[A, "absent_days_ytd"] == 1
    assert followup.loc[A, "discipline_sanction"] == "NONE"
    assert followup.loc[B, "absent_days_ytd"] == 5
    assert followup.loc[B, "discipline_sanction"] == "TEGURAN_TERTULIS"  # 4 to 6
    assert not followup.loc[A, "reward_candidate"]  # BAIK, not SANGAT_BAIK
    assert facts["fact_attendance"]["agency_code"].eq("3374").all()
    assert facts["fact_attendance"]["period_id"].eq("2025-S1").all()


def test_rows_are_sorted_by_key_whatever_the_input_order():
    first = score_period(scenario(), POLICY)
    shuffled = scenario()
    shuffled.employees = shuffled.employees.iloc[::-1].reset_index(drop=True)
    shuffled.attendance = shuffled.attendance.iloc[::-1].reset_index(drop=True)
    second = score_period(shuffled, POLICY)
    for table in FACT_TABLES:
        pd.testing.assert_frame_equal(first[table], second[table])
    assert list(first["fact_appraisal"]["nip"]) == [A, B, C]


def test_empty_sources():
    # only employees and units: everyone without a row is absent, nobody is rated
    facts = score_period(inputs([{"nip": A}, {"nip": B, "active_to": "2024-12-31"}]), POLICY)
    validate_facts(facts)
    appraisal = by_nip(facts["fact_appraisal"])
    assert list(appraisal["status"]) == ["NOT_RATED", "INACTIVE"]
    assert by_nip(facts["fact_attendance"]).loc[A, "absent_days"] == 129  # every weekday of S1
    assert facts["fact_skp"].empty
    assert facts["fact_predikat_distribution"].empty
    assert facts["fact_distribution_check"].empty
    # 129 consecutive absent days -> dismissal; 0 absent days -> none
    assert list(facts["fact_followup"]["discipline_sanction"]) == ["PEMBERHENTIAN", "NONE"]


def test_schemas_from_another_policy_use_its_codes():
    # The same policy with its predikat renamed everywhere they appear (matrix, curve, followup):
    # the typed rules refuse a policy whose codes do not agree with each other.
    text = json.dumps(POLICY.rules)
    for old, new in zip(POLICY.rules["predikat"], "ABCDE", strict=True):
        text = text.replace(json.dumps(old), json.dumps(new))
    rules = json.loads(text)
    assert rules["predikat"] == ["A", "B", "C", "D", "E"]
    schema = output_schemas(rules)["fact_predikat_distribution"]
    frame = pd.DataFrame(
        {
            "agency_code": pd.Series(["3374"], dtype=TEXT),
            "period_id": pd.Series([S1.id], dtype=TEXT),
            "unit_code": pd.Series(["U1"], dtype=TEXT),
            "predikat": pd.Series(["A"], dtype=TEXT),
            "employee_count": np.array([1], dtype=np.int64),
            "share": np.array([1.0]),
        }
    )
    schema.validate(frame)
    with pytest.raises(pandera.errors.SchemaError):
        output_schemas()["fact_predikat_distribution"].validate(frame)


def test_every_curve_rule_validates_against_the_schema():
    # five units, one per org_predikat (IKU 115, 95, 75, 55, 10), one appraised employee each
    iku = {"U1": 115, "U2": 95, "U3": 75, "U4": 55, "U5": 10}
    emps = [
        {"nip": nip(i), "unit_code": u, "active_from": "2025-01-06", "active_to": "2025-01-06"}
        for i, u in enumerate(iku, start=1)
    ]
    facts = score_period(
        inputs(
            emps,
            att=[(e["nip"], "2025-01-06", "H", "07:30", "16:00") for e in emps],
            rating_rows=[{"nip": e["nip"], "results": SE, "behavior": SE} for e in emps],
            iku_rows=[(u, "I1", 100, v, "MAX", 1.0) for u, v in iku.items()],
        ),
        POLICY,
    )
    validate_facts(facts)
    checks = facts["fact_distribution_check"]
    assert len(checks) == 11  # 1 + 2 + 2 + 3 + 3 rules
    assert list(checks["org_predikat"].drop_duplicates()) == [
        "ISTIMEWA",
        "BAIK",
        "BUTUH_PERBAIKAN",
        "KURANG",
        "SANGAT_KURANG",
    ]
    assert "KURANG,BUTUH_PERBAIKAN" in set(checks["predikat_set"])
