"""Achievement of an indicator and weighted means (scoring.md section 3), computed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tasks.score import score_period
from tasks.score.achievement import achievement, weighted_mean
from tests.unit.test_score_support import POLICY, RULES, TEXT, by_nip, inputs, nip


def one(target: float, realization: float | None, polarity: str | None) -> float:
    result = achievement(
        pd.Series([target]),
        pd.Series([np.nan if realization is None else realization]),
        pd.Series([polarity], dtype=TEXT),
        RULES.achievement,
    )
    return float(result.iloc[0])


@pytest.mark.parametrize(
    ("target", "realization", "polarity", "expected"),
    [
        (10, 5, "MAX", 50.0),  # 100 * 5 / 10
        (10, 10, "MAX", 100.0),  # 100 * 1
        (10, 12, "MAX", 120.0),  # 100 * 1.2 = 120, at the upper bound
        (10, 13, "MAX", 120.0),  # 130 -> clamped to 120
        (10, 0, "MAX", 0.0),  # realised nothing
        (10, 5, "MIN", 120.0),  # r/t = 0.5 -> 100 * (2 - 0.5) = 150 -> clamped to 120
        (10, 8, "MIN", 120.0),  # 100 * (2 - 0.8) = 120
        (10, 10, "MIN", 100.0),  # 100 * (2 - 1)
        (10, 15, "MIN", 50.0),  # 100 * (2 - 1.5)
        (10, 20, "MIN", 0.0),  # r = 2t -> 0
        (10, 25, "MIN", 0.0),  # r > 2t: 100 * (2 - 2.5) = -50 -> clamped to 0
        (10, None, "MAX", 0.0),  # empty realisation -> 0 (not reported)
        (10, None, "MIN", 0.0),  # empty realisation -> 0, not 200 -> 120
        (4, 3, None, 75.0),  # missing polarity reads as MAX: 100 * 3 / 4
    ],
)
def test_achievement(target, realization, polarity, expected):
    assert one(target, realization, polarity) == expected


def test_unknown_polarity_is_an_error():
    with pytest.raises(ValueError, match="polarity"):
        one(10, 5, "AVG")


def test_weighted_mean():
    frame = pd.DataFrame(
        {
            "nip": ["a", "a", "b"],
            "achievement": [50.0, 100.0, 80.0],
            "weight": [1.0, 3.0, 2.0],
        }
    )
    means = weighted_mean(frame, "nip", "achievement")
    assert means["a"] == 87.5  # (1 * 50 + 3 * 100) / (1 + 3) = 350 / 4
    assert means["b"] == 80.0  # a single indicator


def test_results_score_in_score_period_weights_and_defaults():
    a, b, c = nip(1), nip(2), nip(3)
    facts = score_period(
        inputs(
            [{"nip": a}, {"nip": b}, {"nip": c}],
            skp_rows=[
                (a, "K1", 10, 5, "MAX", 1.0),  # 50
                (a, "K2", 10, 5, "MIN", 3.0),  # 150 -> 120
                (b, "K1", 10, None, "MAX", np.nan),  # empty realisation -> 0, weight empty -> 1
                (b, "K2", 4, 4, "MAX", np.nan),  # 100, weight 1
            ],
        ),
        POLICY,
    )
    skp = facts["fact_skp"].set_index(["nip", "indicator_id"])
    assert skp.loc[(b, "K1"), "weight"] == 1.0
    assert skp.loc[(b, "K1"), "achievement"] == 0.0
    assert np.isnan(skp.loc[(b, "K1"), "realization"])  # stays not reported in the fact
    appraisal = by_nip(facts["fact_appraisal"])
    assert appraisal.loc[a, "results_score"] == 102.5  # (1 * 50 + 3 * 120) / 4 = 410 / 4
    assert appraisal.loc[b, "results_score"] == 50.0  # (1 * 0 + 1 * 100) / 2
    assert np.isnan(appraisal.loc[c, "results_score"])  # no SKP indicator
