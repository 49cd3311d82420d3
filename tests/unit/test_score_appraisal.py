"""Components, final_score, status, predikat and rank_in_unit (scoring.md sections 4-5)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tasks.score import score_period
from tasks.score.appraisal import final_scores, latest_ratings, predikat_of, ranks_in_unit
from tests.unit.test_score_support import (
    DA,
    DB,
    POLICY,
    RULES,
    SE,
    TEXT,
    by_nip,
    inputs,
    nip,
    policy_with,
    present_rows,
    working_dates,
)

MON, FRI = "2025-01-06", "2025-01-10"
WEEK = working_dates(MON, FRI)


def week_employee(i: int, unit: str = "U1") -> dict[str, str]:
    """Active Monday 6 to Friday 10 January 2025 (5 working days)."""
    return {"nip": nip(i), "unit_code": unit, "active_from": MON, "active_to": FRI}


@pytest.mark.parametrize(
    ("results", "behavior", "expected"),
    [
        (DA, DA, "SANGAT_BAIK"),
        (DA, SE, "BAIK"),
        (DA, DB, "KURANG"),
        (SE, DA, "BAIK"),
        (SE, SE, "BAIK"),
        (SE, DB, "KURANG"),
        (DB, DA, "BUTUH_PERBAIKAN"),
        (DB, SE, "BUTUH_PERBAIKAN"),
        (DB, DB, "SANGAT_KURANG"),
    ],
)
def test_predikat_matrix(results, behavior, expected):
    got = predikat_of(pd.Series([results], dtype=TEXT), pd.Series([behavior], dtype=TEXT), RULES)
    assert got.iloc[0] == expected


def test_predikat_missing_rating_is_na():
    got = predikat_of(pd.Series([None], dtype=TEXT), pd.Series([DA], dtype=TEXT), RULES)
    assert got.isna().all()


def test_latest_rating_by_rated_at_counts():
    frame = inputs(
        [week_employee(1)],
        rating_rows=[
            # listed first but rated later: this one counts
            {"nip": nip(1), "results": DB, "behavior": SE, "rated_at": "2025-07-02 08:00"},
            {"nip": nip(1), "results": DA, "behavior": DA, "rated_at": "2025-06-30 08:00"},
        ],
    ).ratings
    latest = latest_ratings(frame, RULES.behavior_aspects)
    assert latest.loc[nip(1), "results_rating"] == DB
    assert latest.loc[nip(1), "behavior_rating"] == SE


def test_behavior_score_from_aspects_or_overall_rating():
    emps = [week_employee(1), week_employee(2), week_employee(3)]
    facts = score_period(
        inputs(
            emps,
            att=[r for i in (1, 2, 3) for r in present_rows(nip(i), WEEK)],
            rating_rows=[
                # three aspects rated: (120 + 100 + 60) / 3 = 93.333...; behavior_rating ignored
                {
                    "nip": nip(1),
                    "results": SE,
                    "behavior": DB,
                    "akuntabel": DA,
                    "loyal": SE,
                    "kolaboratif": DB,
                },
                # no aspect rated: points of behavior_rating DIATAS = 120
                {"nip": nip(2), "results": SE, "behavior": DA},
                # all seven aspects SESUAI: 100
                {
                    "nip": nip(3),
                    "results": SE,
                    "behavior": DB,
                    **{a: SE for a in RULES.behavior_aspects},
                },
            ],
        ),
        POLICY,
    )
    appraisal = by_nip(facts["fact_appraisal"])
    assert appraisal.loc[nip(1), "behavior_score"] == pytest.approx(280 / 3)
    assert appraisal.loc[nip(1), "behavior_score"] == (120.0 + 100.0 + 60.0) / 3
    assert appraisal.loc[nip(2), "behavior_score"] == 120.0
    assert appraisal.loc[nip(3), "behavior_score"] == 100.0
    # the fact carries the counting rating's labels
    assert appraisal.loc[nip(1), "results_rating"] == SE
    assert appraisal.loc[nip(1), "behavior_rating"] == DB


def test_final_score_full_and_renormalised():
    components = pd.DataFrame(
        {
            "results_score": [100.0, np.nan, np.nan, np.nan],
            "behavior_score": [120.0, 120.0, np.nan, np.nan],
            "discipline_score": [90.0, 90.0, 80.0, np.nan],
            "unit_score": [80.0, 80.0, np.nan, np.nan],
        }
    )
    final = final_scores(components, RULES)
    # 0.5 * 100 + 0.2 * 120 + 0.2 * 90 + 0.1 * 80 = 50 + 24 + 18 + 8 = 100
    assert final[0] == pytest.approx(100.0)
    # no results: (0.2 * 120 + 0.2 * 90 + 0.1 * 80) / (0.2 + 0.2 + 0.1) = 50 / 0.5 = 100
    assert final[1] == pytest.approx(100.0)
    # only discipline: 0.2 * 80 / 0.2 = 80
    assert final[2] == pytest.approx(80.0)
    # all null -> null
    assert np.isnan(final[3])


def test_final_score_weights_come_from_the_policy():
    variant = policy_with(
        {"component_weights": {"results": 1, "behavior": 0, "discipline": 0, "unit": 0}}
    )
    components = pd.DataFrame(
        {
            "results_score": [70.0, np.nan],
            "behavior_score": [120.0, 120.0],
            "discipline_score": [90.0, 90.0],
            "unit_score": [80.0, 80.0],
        }
    )
    final = final_scores(components, type(RULES).from_policy(variant))
    assert final[0] == 70.0  # only results weighs
    assert np.isnan(final[1])  # the only weighted component is null: sum of weights is 0


def test_status_and_final_score_in_score_period():
    emps = [
        {"nip": nip(1), "active_to": "2024-12-31"},  # no active working day: INACTIVE
        week_employee(2),  # not rated: NOT_RATED
        week_employee(3),  # rated, no SKP: APPRAISED with null results_score
    ]
    facts = score_period(
        inputs(
            emps,
            att=[*present_rows(nip(2), WEEK), *present_rows(nip(3), WEEK)],
            rating_rows=[
                {"nip": nip(1), "results": DA, "behavior": DA},  # INACTIVE beats being rated
                {"nip": nip(3), "results": SE, "behavior": SE},
            ],
            skp_rows=[(nip(1), "K1", 10, 10, "MAX", 1.0)],
            iku_rows=[("U1", "I1", 100, 80, "MAX", 1.0)],
        ),
        POLICY,
    )
    appraisal = by_nip(facts["fact_appraisal"])
    inactive, unrated, appraised = (
        appraisal.loc[nip(1)],
        appraisal.loc[nip(2)],
        appraisal.loc[nip(3)],
    )
    assert inactive["status"] == "INACTIVE"
    assert np.isnan(inactive["final_score"]) and pd.isna(inactive["predikat"])
    assert pd.isna(inactive["rank_in_unit"])
    assert inactive["results_score"] == 100.0  # components stay as the data gives them
    assert np.isnan(inactive["discipline_score"])

    assert unrated["status"] == "NOT_RATED"
    assert pd.isna(unrated["predikat"]) and pd.isna(unrated["rank_in_unit"])
    assert np.isnan(unrated["behavior_score"])
    # discipline 100 (on time all week) and unit 80 (IKU 100 * 80 / 100):
    # (0.2 * 100 + 0.1 * 80) / (0.2 + 0.1) = 28 / 0.3 = 93.333...
    assert unrated["final_score"] == pytest.approx(28 / 0.3)

    assert appraised["status"] == "APPRAISED"
    assert appraised["predikat"] == "BAIK"  # SESUAI x SESUAI
    assert np.isnan(appraised["results_score"])
    # behavior 100, discipline 100, unit 80: (20 + 20 + 8) / 0.5 = 96
    assert appraised["final_score"] == pytest.approx(96.0)
    assert appraised["rank_in_unit"] == 1


def test_rank_in_unit_ties_by_nip():
    frame = pd.DataFrame(
        {
            "unit_code": ["U1", "U1", "U1", "U1", "U2", "U1"],
            "nip": [nip(4), nip(2), nip(3), nip(1), nip(5), nip(6)],
            "final_score": [90.0, 95.0, 90.0, 80.0, 70.0, np.nan],
            "eligible": [True, True, True, True, True, True],
        }
    )
    frame.loc[len(frame)] = ["U1", nip(7), 99.0, False]  # not APPRAISED: no rank
    rank = ranks_in_unit(frame["unit_code"], frame["nip"], frame["final_score"], frame["eligible"])
    ranked = dict(zip(frame["nip"], rank, strict=True))
    assert ranked[nip(2)] == 1  # 95
    assert ranked[nip(3)] == 2  # 90, nip ...003 < ...004
    assert ranked[nip(4)] == 3  # 90
    assert ranked[nip(1)] == 4  # 80
    assert ranked[nip(5)] == 1  # alone in U2
    assert pd.isna(ranked[nip(6)])  # null final_score
    assert pd.isna(ranked[nip(7)])  # not eligible
    assert rank.dtype == "Int64"


def test_rank_ties_in_score_period():
    # identical data for three employees: identical final_score, ranked by nip ascending
    emps = [week_employee(3), week_employee(1), week_employee(2)]
    facts = score_period(
        inputs(
            emps,
            att=[r for i in (1, 2, 3) for r in present_rows(nip(i), WEEK)],
            rating_rows=[{"nip": nip(i), "results": SE, "behavior": SE} for i in (1, 2, 3)],
        ),
        POLICY,
    )
    appraisal = by_nip(facts["fact_appraisal"])
    assert appraisal["final_score"].nunique() == 1
    assert list(appraisal.loc[[nip(1), nip(2), nip(3)], "rank_in_unit"]) == [1, 2, 3]
