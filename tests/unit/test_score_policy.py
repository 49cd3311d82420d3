"""The default policy file holds every number of scoring.md, and scoring reads them from it."""

from __future__ import annotations

from fractions import Fraction

import pytest

from kinerja.policy import load_policy
from tasks.score import score_period
from tasks.score.calendar import working_days
from tasks.score.rules import PolicyError, ScoringRules
from tests.unit.test_score_support import (
    POLICY,
    RULES,
    S1,
    SE,
    by_nip,
    calendar,
    inputs,
    nip,
    policy_with,
    present_rows,
)


def test_policy_name_and_top_level_keys():
    policy = load_policy("permenpanrb-6-2022")
    assert policy.name == "permenpanrb-6-2022"
    assert len(policy.hash) == 64
    assert set(policy.rules) == {
        "name",
        "description",
        "schedule",
        "attendance",
        "discipline",
        "achievement",
        "rating_points",
        "behavior_aspects",
        "component_weights",
        "predikat",
        "predikat_matrix",
        "org_predikat",
        "distribution_curve",
        "followup",
    }


def test_default_policy_numbers_are_scoring_md():
    r = RULES
    a = r.attendance
    assert a.start_seconds == {d: 27000.0 for d in range(5)}  # 07:30 Monday-Friday
    assert a.end_seconds == {0: 57600.0, 1: 57600.0, 2: 57600.0, 3: 57600.0, 4: 59400.0}
    assert a.merge_precedence == ("DL", "C", "S", "I", "H", "TK")
    assert a.status_deduction == {"DL": 0.0, "C": 0.0, "S": 0.0, "I": 0.0, "TK": 3.0}
    tiers = [(t.min_minutes, t.max_minutes, t.deduction) for t in a.late_tiers]
    assert tiers == [(1, 30, 0.5), (31, 60, 1.0), (61, 90, 1.25), (91, None, 1.5)]
    assert a.early_tiers == a.late_tiers
    assert (a.missing_check_in_deduction, a.missing_check_out_deduction) == (1.5, 1.5)
    assert (a.monthly_base, a.monthly_floor) == (100.0, 0.0)
    ach = r.achievement
    assert (ach.scale, ach.min_pivot, ach.lower, ach.upper, ach.not_reported) == (
        100.0,
        2.0,
        0.0,
        120.0,
        0.0,
    )
    assert r.rating_points == {
        "DIATAS_EKSPEKTASI": 120.0,
        "SESUAI_EKSPEKTASI": 100.0,
        "DIBAWAH_EKSPEKTASI": 60.0,
    }
    assert r.component_weights == {"results": 0.5, "behavior": 0.2, "discipline": 0.2, "unit": 0.1}
    assert len(r.predikat_matrix) == 9
    assert r.org_thresholds == (
        (110.0, "ISTIMEWA"),
        (90.0, "BAIK"),
        (70.0, "BUTUH_PERBAIKAN"),
        (50.0, "KURANG"),
    )
    assert r.org_otherwise == "SANGAT_KURANG"
    assert len(r.curve) == 11
    assert r.reward_share == Fraction(1, 10)
    assert r.reward_predikat == ("SANGAT_BAIK",)
    assert r.coaching_predikat == ("BUTUH_PERBAIKAN", "KURANG", "SANGAT_KURANG")
    assert (r.promotion_periods, r.promotion_predikat) == (4, ("SANGAT_BAIK", "BAIK"))
    assert [b[0] for b in r.sanction_bands] == [28, 25, 21, 17, 14, 11, 7, 4, 3, 0]
    assert (r.consecutive_absence_days, r.consecutive_absence_sanction) == (10, "PEMBERHENTIAN")
    assert r.behavior_aspects == (
        "berorientasi_pelayanan",
        "akuntabel",
        "kompeten",
        "harmonis",
        "loyal",
        "adaptif",
        "kolaboratif",
    )


def test_another_policy_changes_the_numbers():
    # a six-day week with an 08:00 start
    variant = policy_with(
        {
            "schedule.saturday": {"start": "08:00", "end": "12:00"},
            "schedule.monday": {"start": "08:00", "end": "16:00"},
        }
    )
    rules = ScoringRules.from_policy(variant)
    # 2025-S1 has 129 weekdays and 26 Saturdays (Jan 4, Feb 4, Mar 5, Apr 4, May 5, Jun 4)
    assert working_days(S1, calendar(), rules.attendance).count == 129 + 26
    emp = {"nip": nip(1), "active_from": "2025-01-06", "active_to": "2025-01-06"}
    facts = score_period(
        inputs([emp], att=[(nip(1), "2025-01-06", "H", "07:45", "16:00")]), variant
    )
    assert by_nip(facts["fact_attendance"]).loc[nip(1), "late_count"] == 0  # 07:45 < 08:00


def test_promotion_periods_from_the_policy():
    variant = policy_with({"followup.promotion.periods": 1})  # only this period counts
    emp = {"nip": nip(1), "active_from": "2025-01-06", "active_to": "2025-01-06"}
    facts = score_period(
        inputs(
            [emp],
            att=present_rows(nip(1), ["2025-01-06"]),
            rating_rows=[{"nip": nip(1), "results": SE, "behavior": SE}],
        ),
        variant,
    )
    assert by_nip(facts["fact_followup"]).loc[nip(1), "promotion_eligible"]
    default = score_period(
        inputs(
            [emp],
            att=present_rows(nip(1), ["2025-01-06"]),
            rating_rows=[{"nip": nip(1), "results": SE, "behavior": SE}],
        ),
        POLICY,
    )
    assert not by_nip(default["fact_followup"]).loc[nip(1), "promotion_eligible"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"component_weights": {"results": 1.0}}, "component_weights"),
        ({"attendance.merge_precedence": ["DL", "H"]}, "merge_precedence"),
        ({"attendance.status_deduction": {"TK": 3.0}}, "status_deduction"),
        ({"schedule.funday": {"start": "07:00", "end": "08:00"}}, "weekdays"),
        ({"schedule.monday": {"start": "16:00", "end": "07:30"}}, "end"),
        ({"followup.discipline_sanction.consecutive_absence.sanction": "X"}, "consecutive"),
        ({"predikat_matrix": {}}, "predikat_matrix"),
    ],
)
def test_malformed_policy_is_rejected(change, message):
    with pytest.raises(PolicyError, match=message):
        ScoringRules.from_policy(policy_with(change))


def test_missing_key_is_rejected():
    rules = {k: v for k, v in POLICY.rules.items() if k != "rating_points"}
    with pytest.raises(PolicyError, match="rating_points"):
        ScoringRules.from_policy(rules)
