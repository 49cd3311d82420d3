"""Achievement of an indicator and weighted means (scoring.md section 3), for SKP and IKU alike.

Validation already filled an empty polarity with MAX and an empty weight with 1; a polarity still
missing here is read as MAX too, and an unknown one is an error rather than a silent MAX.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tasks.score.rules import AchievementRules


def unclamped_achievement(
    target: pd.Series, realization: pd.Series, polarity: pd.Series, rules: AchievementRules
) -> pd.Series:
    """The formula's value before the clamp: scale * r / t (MAX) or scale * (pivot - r / t)
    (MIN); NaN where the realisation is empty."""
    polarity_code = polarity.astype("string").str.upper().fillna("MAX")
    unknown = ~polarity_code.isin(["MAX", "MIN"])
    if unknown.any():
        raise ValueError(f"unknown polarity {sorted(set(polarity_code[unknown]))}")
    t = np.asarray(target, dtype=np.float64)
    r = np.asarray(realization, dtype=np.float64)
    ratio = r / t
    is_min = np.asarray(polarity_code == "MIN", dtype=bool)
    raw = np.where(is_min, rules.scale * (rules.min_pivot - ratio), rules.scale * ratio)
    return pd.Series(raw, index=target.index, dtype="float64")


def achievement(
    target: pd.Series, realization: pd.Series, polarity: pd.Series, rules: AchievementRules
) -> pd.Series:
    """Clamped achievement of every indicator; an empty realisation gives `not_reported`."""
    raw = unclamped_achievement(target, realization, polarity, rules).to_numpy()
    clamped = np.clip(raw, rules.lower, rules.upper)
    r = np.asarray(realization, dtype=np.float64)
    return pd.Series(
        np.where(np.isnan(r), rules.not_reported, clamped), index=target.index, dtype="float64"
    )


def weighted_mean(frame: pd.DataFrame, by: str, value: str, weight: str = "weight") -> pd.Series:
    """sum(w * value) / sum(w) per `by` (only groups that have rows)."""
    if frame.empty:
        return pd.Series(dtype="float64", index=pd.Index([], name=by))
    parts = pd.DataFrame(
        {
            by: frame[by],
            "wv": frame[weight].to_numpy(dtype=np.float64) * frame[value].to_numpy(np.float64),
            "w": frame[weight].to_numpy(dtype=np.float64),
            "v": frame[value].to_numpy(np.float64),
        }
    )
    groups = parts.groupby(by, sort=True, observed=True)
    with np.errstate(over="ignore", invalid="ignore"):
        sums = groups[["wv", "w"]].sum()
        mean = sums["wv"] / sums["w"]
    if not np.isfinite(mean).all():
        # Weights near the float maximum overflow w * value or their sum: the same mean with
        # each group's weights scaled by its largest (validation bounds weights far below
        # this, so only a direct caller gets here; ordinary weights keep the exact sums above).
        scaled = parts["w"] / groups["w"].transform("max")
        fallback = pd.DataFrame({by: parts[by], "wv": scaled * parts["v"], "w": scaled}) \
            .groupby(by, sort=True, observed=True)[["wv", "w"]].sum()
        mean = mean.where(np.isfinite(mean), fallback["wv"] / fallback["w"])
    # A weighted mean lies between its smallest and largest value; float rounding can step just
    # outside (90 and 90 weighted 0.1 and 0.2 give 89.99999999999999, below a threshold).
    mean = mean.clip(groups["v"].min(), groups["v"].max())
    return mean.astype("float64")
