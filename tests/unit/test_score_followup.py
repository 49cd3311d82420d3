"""Follow-ups (scoring.md section 8), computed by hand.

2025-01-06 is a Monday; 2025-01-06..2025-01-24 are three full working weeks (15 days).
"""

from __future__ import annotations

import numpy as np
import pytest

from kinerja.period import Period
from tasks.score import score_period
from tasks.score.followup import reward_quota, sanctions
from tests.unit.test_score_support import (
    DA,
    DB,
    POLICY,
    RULES,
    SE,
    by_nip,
    inputs,
    nip,
    policy_with,
    present_rows,
    working_dates,
)

THREE_WEEKS = working_dates("2025-01-06", "2025-01-24")
WEEK = working_dates("2025-01-06", "2025-01-10")


def active(i: int, first: str = "2025-01-06", last: str = "2025-01-24", unit: str = "U1"):
    return {"nip": nip(i), "unit_code": unit, "active_from": first, "active_to": last}


# --- discipline sanctions -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("absent_ytd", "expected"),
    [
        (0, "NONE"),
        (2, "NONE"),  # 0 to 2
        (3, "TEGURAN_LISAN"),  # 3
        (4, "TEGURAN_TERTULIS"),  # 4 to 6
        (6, "TEGURAN_TERTULIS"),
        (7, "PERNYATAAN_TIDAK_PUAS"),  # 7 to 10
        (10, "PERNYATAAN_TIDAK_PUAS"),
        (11, "POTONG_TUKIN_25_6BLN"),  # 11 to 13
        (13, "POTONG_TUKIN_25_6BLN"),
        (14, "POTONG_TUKIN_25_9BLN"),  # 14 to 16
        (16, "POTONG_TUKIN_25_9BLN"),
        (17, "POTONG_TUKIN_25_12BLN"),  # 17 to 20
        (20, "POTONG_TUKIN_25_12BLN"),
        (21, "PENURUNAN_JABATAN"),  # 21 to 24
        (24, "PENURUNAN_JABATAN"),
        (25, "PEMBEBASAN_JABATAN"),  # 25 to 27
        (27, "PEMBEBASAN_JABATAN"),
        (28, "PEMBERHENTIAN"),  # 28 or more
        (60, "PEMBERHENTIAN"),
    ],
)
def test_sanction_bands(absent_ytd, expected):
    assert sanctions(np.array([absent_ytd]), np.array([0]), RULES)[0] == expected


@pytest.mark.parametrize(
    ("absent_ytd", "run", "expected"),
    [
        (9, 9, "PERNYATAAN_TIDAK_PUAS"),  # 9 consecutive: the band of 9 days
        (10, 10, "PEMBERHENTIAN"),  # 10 consecutive: dismissal whatever the band
        (10, 5, "PERNYATAAN_TIDAK_PUAS"),  # 10 days in two runs of 5: the band
        (30, 10, "PEMBERHENTIAN"),
    ],
)
def test_consecutive_rule_on_the_helper(absent_ytd, run, expected):
    assert sanctions(np.array([absent_ytd]), np.array([run]), RULES)[0] == expected


def test_consecutive_absence_in_score_period():
    d = THREE_WEEKS  # d[0] Mon 6 ... d[4] Fri 10, d[5] Mon 13 ... d[10] Mon 20, d[14] Fri 24
    ten = d[2:12]  # Wed 8 .. Tue 21: 3 + 5 + 2 = 10 working days, across two weekends
    nine = d[2:11]  # Wed 8 .. Mon 20: 3 + 5 + 1 = 9
    split = d[0:5] + d[6:11]  # Mon 6-Fri 10 and Tue 14-Mon 20: 10 days, Mon 13 present
    rows = []
    for i, absent in ((1, ten), (2, nine), (3, split)):
        rows += [(nip(i), day, "TK") for day in absent]
        rows += present_rows(nip(i), [day for day in d if day not in absent])
    facts = score_period(inputs([active(1), active(2), active(3)], att=rows), POLICY)
    attendance = by_nip(facts["fact_attendance"])
    followup = by_nip(facts["fact_followup"])
    assert list(attendance["absent_days"]) == [10, 9, 10]
    # 10 consecutive working days (weekends in between do not break the run)
    assert followup.loc[nip(1), "discipline_sanction"] == "PEMBERHENTIAN"
    # 9 consecutive: the 7-10 band
    assert followup.loc[nip(2), "discipline_sanction"] == "PERNYATAAN_TIDAK_PUAS"
    # 10 days, longest run 5: the 7-10 band
    assert followup.loc[nip(3), "discipline_sanction"] == "PERNYATAAN_TIDAK_PUAS"


def test_s2_adds_published_s1_absences():
    s2 = Period.parse("2025-S2")
    july = working_dates("2025-07-07", "2025-07-11")  # Mon-Fri
    rows = []
    for i in (1, 2):
        rows += [(nip(i), july[0], "TK"), (nip(i), july[1], "TK")]
        rows += present_rows(nip(i), july[2:])
    emps = [active(1, july[0], july[-1]), active(2, july[0], july[-1])]
    facts = score_period(
        inputs(emps, period=s2, att=rows, prior_absent_rows=[(nip(1), 5), (nip(9), 30)]),
        POLICY,
    )
    followup = by_nip(facts["fact_followup"])
    assert followup.loc[nip(1), "absent_days_ytd"] == 7  # 2 in S2 + 5 published for S1
    assert followup.loc[nip(1), "discipline_sanction"] == "PERNYATAAN_TIDAK_PUAS"  # 7 to 10
    assert followup.loc[nip(2), "absent_days_ytd"] == 2  # nothing published for S1: 2 + 0
    assert followup.loc[nip(2), "discipline_sanction"] == "NONE"


def test_s1_does_not_add_prior_absences():
    rows = [(nip(1), WEEK[0], "TK"), *present_rows(nip(1), WEEK[1:])]
    facts = score_period(
        inputs([active(1, WEEK[0], WEEK[-1])], att=rows, prior_absent_rows=[(nip(1), 20)]),
        POLICY,
    )
    assert by_nip(facts["fact_followup"]).loc[nip(1), "absent_days_ytd"] == 1  # S1: this period


# --- promotion ------------------------------------------------------------------------------


def test_promotion_over_four_periods():
    # 2025-S1 and the three before it: 2024-S2, 2024-S1, 2023-S2
    full = ("2024-S2", "BAIK"), ("2024-S1", "SANGAT_BAIK"), ("2023-S2", "BAIK")
    prior = [(nip(1), p, v) for p, v in full]  # eligible
    prior += [(nip(2), "2024-S2", "BAIK"), (nip(2), "2023-S2", "BAIK")]  # 2024-S1 missing
    prior += [
        (nip(3), "2024-S2", "BAIK"),
        (nip(3), "2024-S1", "BAIK"),
        (nip(3), "2023-S2", "KURANG"),
    ]  # a KURANG
    prior += [(nip(4), p, v) for p, v in full]  # qualifying history, BUTUH_PERBAIKAN now
    prior += [
        (nip(5), "2024-S2", "BAIK"),
        (nip(5), "2024-S1", "BAIK"),
        (nip(5), "2023-S1", "BAIK"),
    ]  # 2023-S1 is too old to stand in for 2023-S2
    prior += [(nip(6), p, v) for p, v in full]  # qualifying history, not rated now
    prior += [(nip(7), p, v) for p, v in full]  # eligible with BAIK now
    ratings = [
        {"nip": nip(1), "results": DA, "behavior": DA},  # SANGAT_BAIK
        {"nip": nip(2), "results": DA, "behavior": DA},
        {"nip": nip(3), "results": DA, "behavior": DA},
        {"nip": nip(4), "results": DB, "behavior": SE},  # BUTUH_PERBAIKAN
        {"nip": nip(5), "results": DA, "behavior": DA},
        {"nip": nip(7), "results": SE, "behavior": SE},  # BAIK
    ]
    emps = [active(i, WEEK[0], WEEK[-1]) for i in range(1, 8)]
    att = [r for i in range(1, 8) for r in present_rows(nip(i), WEEK)]
    facts = score_period(
        inputs(emps, att=att, rating_rows=ratings, prior_predikat_rows=prior), POLICY
    )
    eligible = by_nip(facts["fact_followup"])["promotion_eligible"]
    assert eligible.to_dict() == {
        nip(1): True,
        nip(2): False,
        nip(3): False,
        nip(4): False,
        nip(5): False,
        nip(6): False,
        nip(7): True,
    }


# --- reward, coaching, training needs ---------------------------------------------------------


@pytest.mark.parametrize(
    ("appraised", "quota"),
    [
        (0, 0),
        (1, 1),  # ceil(0.1) = 1
        (9, 1),  # ceil(0.9) = 1
        (10, 1),  # ceil(1.0) = 1
        (11, 2),  # ceil(1.1) = 2
        (20, 2),  # ceil(2.0) = 2
        (21, 3),  # ceil(2.1) = 3
        (30, 3),  # ceil(3.0) = 3, exact (no binary rounding up to 4)
        (70, 7),  # ceil(7.0) = 7
    ],
)
def test_reward_quota_is_an_exact_ceiling(appraised, quota):
    assert reward_quota(np.array([appraised]), RULES)[0] == quota


def test_reward_quota_is_exact_for_any_policy_share():
    rules = type(RULES).from_policy(policy_with({"followup.reward.top_share": 0.07}))
    # 0.07 * 100 is 7.000000000000001 in float (ceil 8); exactly it is 7
    assert reward_quota(np.array([100, 101]), rules).tolist() == [7, 8]  # ceil(7.07) = 8


def test_reward_candidates_within_the_quota():
    # U1: 11 appraised -> quota ceil(1.1) = 2. Three SANGAT_BAIK with identical scores rank 1-3 by
    # nip: the first two are candidates. Eight BAIK employees rank below them (behavior 100 < 120).
    # U2: 2 appraised -> quota 1; its BAIK employee outranks its SANGAT_BAIK one thanks to SKP.
    u1 = [active(i, WEEK[0], WEEK[-1], "U1") for i in range(1, 12)]
    u2 = [active(i, WEEK[0], WEEK[-1], "U2") for i in (20, 21)]
    ratings = [{"nip": nip(i), "results": DA, "behavior": DA} for i in (1, 2, 3)]
    ratings += [{"nip": nip(i), "results": SE, "behavior": SE} for i in range(4, 12)]
    ratings += [
        {"nip": nip(20), "results": DA, "behavior": DA},  # SANGAT_BAIK, no SKP
        {"nip": nip(21), "results": SE, "behavior": SE},  # BAIK with SKP 120
    ]
    att = [r for e in u1 + u2 for r in present_rows(e["nip"], WEEK)]
    facts = score_period(
        inputs(
            u1 + u2,
            att=att,
            rating_rows=ratings,
            skp_rows=[(nip(21), "K1", 10, 12, "MAX", 1.0)],
        ),
        POLICY,
    )
    appraisal = by_nip(facts["fact_appraisal"])
    followup = by_nip(facts["fact_followup"])
    assert list(appraisal.loc[[nip(1), nip(2), nip(3)], "rank_in_unit"]) == [1, 2, 3]
    assert followup.loc[nip(1), "reward_candidate"]
    assert followup.loc[nip(2), "reward_candidate"]
    assert not followup.loc[nip(3), "reward_candidate"]  # rank 3 > quota 2
    assert not followup.loc[[nip(i) for i in range(4, 12)], "reward_candidate"].any()  # BAIK
    # U2: nip 21 final (0.5*120 + 0.2*100 + 0.2*100) / 0.9 = 111.1 > nip 20 (24 + 20) / 0.4 = 110
    assert appraisal.loc[nip(21), "rank_in_unit"] == 1
    assert appraisal.loc[nip(20), "rank_in_unit"] == 2
    assert not followup.loc[nip(20), "reward_candidate"]  # SANGAT_BAIK but rank 2 > quota 1
    assert not followup.loc[nip(21), "reward_candidate"]  # rank 1 but BAIK


def test_coaching_training_needs_and_inactive():
    emps = [active(i, WEEK[0], WEEK[-1]) for i in range(1, 6)]
    emps.append({"nip": nip(6), "active_from": "2025-07-01"})  # INACTIVE in 2025-S1
    ratings = [
        {
            "nip": nip(1),
            "results": DB,
            "behavior": SE,  # BUTUH_PERBAIKAN
            "kolaboratif": DB,
            "berorientasi_pelayanan": DB,
            "loyal": SE,
        },
        {"nip": nip(2), "results": DA, "behavior": DB},  # KURANG, no aspect rated
        {"nip": nip(3), "results": DB, "behavior": DB, "adaptif": DB},  # SANGAT_KURANG
        {"nip": nip(4), "results": SE, "behavior": SE, "akuntabel": SE},  # BAIK
        # nip 5 not rated
        {"nip": nip(6), "results": DA, "behavior": DA, "kompeten": DB},  # INACTIVE: ignored
    ]
    att = [r for i in range(1, 6) for r in present_rows(nip(i), WEEK)]
    facts = score_period(inputs(emps, att=att, rating_rows=ratings), POLICY)
    followup = by_nip(facts["fact_followup"])
    assert list(followup["coaching_required"]) == [True, True, True, False, False, False]
    # domain.md order: berorientasi_pelayanan before kolaboratif, whatever the column order
    assert followup.loc[nip(1), "training_needs"] == "berorientasi_pelayanan,kolaboratif"
    assert followup.loc[nip(2), "training_needs"] == ""  # none rated DIBAWAH
    assert followup.loc[nip(3), "training_needs"] == "adaptif"
    assert followup.loc[nip(4), "training_needs"] == ""
    assert followup.loc[nip(5), "training_needs"] == ""  # not rated: empty text, not NA
    inactive = followup.loc[nip(6)]
    assert by_nip(facts["fact_appraisal"]).loc[nip(6), "status"] == "INACTIVE"
    assert not inactive["reward_candidate"] and not inactive["coaching_required"]
    assert not inactive["promotion_eligible"]
    assert inactive["training_needs"] == ""
    assert inactive["discipline_sanction"] == "NONE"  # computed: 0 absent days
    assert followup["training_needs"].notna().all()


def test_inactive_sanction_is_computed_from_s1():
    s2 = Period.parse("2025-S2")
    facts = score_period(
        inputs(
            [{"nip": nip(1), "active_to": "2025-06-30"}],  # left at the end of S1
            period=s2,
            prior_absent_rows=[(nip(1), 25)],
            prior_predikat_rows=[(nip(1), "2025-S1", "BAIK")],
        ),
        POLICY,
    )
    row = by_nip(facts["fact_followup"]).loc[nip(1)]
    assert by_nip(facts["fact_appraisal"]).loc[nip(1), "status"] == "INACTIVE"
    assert row["absent_days_ytd"] == 25  # 0 in S2 + 25 in S1
    assert row["discipline_sanction"] == "PEMBEBASAN_JABATAN"  # 25 to 27
    assert not row["reward_candidate"] and not row["promotion_eligible"]
