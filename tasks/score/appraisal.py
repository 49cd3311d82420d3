"""Employee components, final_score, status, predikat and rank_in_unit (scoring.md sections 4-5).

Decisions where scoring.md is silent:
- INACTIVE employees still carry the component scores that their data gives (results_score from
  SKP, behavior_score and both ratings from a rating row, unit_score from the unit; their
  discipline_score is null by definition); only final_score, predikat and rank are null.
- An APPRAISED employee always has a final_score (an active working day gives a discipline_score),
  so "rank among APPRAISED with a non-null final_score" ranks every APPRAISED employee.
- Rank ties are broken by nip ascending, so ranks are 1..n without gaps or repeats (row numbers).
- If two accepted ratings of one nip share rated_at (validation quarantines that), the one later in
  the input counts, so a re-run on the same files is still deterministic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from schemas.outputs import TEXT
from tasks.score._frames import column_or_na
from tasks.score.rules import COMPONENTS, ScoringRules

INACTIVE, NOT_RATED, APPRAISED = "INACTIVE", "NOT_RATED", "APPRAISED"
COMPONENT_COLUMNS = {
    "results": "results_score",
    "behavior": "behavior_score",
    "discipline": "discipline_score",
    "unit": "unit_score",
}


def counting_rows(ratings: pd.DataFrame) -> np.ndarray:
    """Positions (int64) of the rating row that counts for each nip: its latest by rated_at (of
    equal rated_at, the later in the input), in nip order."""
    order = pd.DataFrame(
        {"nip": ratings["nip"].astype(TEXT).to_numpy(), "rated_at": ratings["rated_at"].to_numpy()}
    ).sort_values(["nip", "rated_at"], kind="stable")
    return order.drop_duplicates("nip", keep="last").index.to_numpy(dtype=np.int64)


def latest_ratings(ratings: pd.DataFrame, aspects: tuple[str, ...]) -> pd.DataFrame:
    """The counting rating of every rated nip: its latest row by rated_at, indexed by nip."""
    columns = ["results_rating", "behavior_rating", *aspects]
    if ratings.empty:
        return pd.DataFrame({c: pd.Series(dtype=TEXT) for c in columns}).rename_axis("nip")
    counting = ratings.iloc[counting_rows(ratings)]
    latest = pd.DataFrame({"nip": counting["nip"].astype(TEXT)})
    for column in columns:
        latest[column] = column_or_na(counting, column).astype(TEXT)
    return latest.set_index("nip")[columns]


def behavior_scores(latest: pd.DataFrame, rules: ScoringRules) -> pd.Series:
    """Mean points of the rated BerAKHLAK aspects; the behavior_rating's points when none is."""
    points = pd.Series(rules.rating_points, dtype="float64")
    aspect_points = pd.DataFrame(
        {a: latest[a].map(points).astype("float64") for a in rules.behavior_aspects},
        index=latest.index,
    )
    overall = latest["behavior_rating"].map(points).astype("float64")
    mean = aspect_points.mean(axis=1, skipna=True)
    return mean.where(aspect_points.notna().any(axis=1), overall).astype("float64")


def predikat_of(
    results_rating: pd.Series, behavior_rating: pd.Series, rules: ScoringRules
) -> pd.Series:
    """The PermenPANRB 6/2022 matrix; NA when either rating is missing."""
    lookup = {f"{r}|{b}": p for (r, b), p in rules.predikat_matrix.items()}
    key = results_rating.astype(TEXT) + "|" + behavior_rating.astype(TEXT)
    return key.map(lookup).astype(TEXT)


def final_scores(components: pd.DataFrame, rules: ScoringRules) -> pd.Series:
    """sum(w * s) / sum(w) over the non-null components (weights renormalised); NaN if all are."""
    weighted = np.zeros(len(components))
    total_weight = np.zeros(len(components))
    for component in COMPONENTS:
        score = components[COMPONENT_COLUMNS[component]].to_numpy(dtype=np.float64)
        known = ~np.isnan(score)
        weight = rules.component_weights[component]
        weighted += np.where(known, weight * np.where(known, score, 0.0), 0.0)
        total_weight += np.where(known, weight, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        final = np.where(total_weight > 0, weighted / total_weight, np.nan)
    return pd.Series(final, index=components.index, dtype="float64")


def statuses(working_days: pd.Series, rated: pd.Series) -> pd.Series:
    """INACTIVE, then NOT_RATED, then APPRAISED: the first that applies."""
    values = np.where(
        working_days.to_numpy() == 0,
        INACTIVE,
        np.where(rated.to_numpy(dtype=bool), APPRAISED, NOT_RATED),
    )
    return pd.Series(values, index=working_days.index, dtype=TEXT)


def ranks_in_unit(
    unit_code: pd.Series, nip: pd.Series, final_score: pd.Series, eligible: pd.Series
) -> pd.Series:
    """1 for the unit's highest final_score among eligible rows, ties by nip ascending; NA else."""
    ranked = eligible.to_numpy(dtype=bool) & final_score.notna().to_numpy()
    frame = pd.DataFrame(
        {
            "unit_code": unit_code.astype(TEXT).to_numpy()[ranked],
            "score": final_score.to_numpy(dtype=np.float64)[ranked],
            "nip": nip.astype(TEXT).to_numpy()[ranked],
        },
        index=final_score.index[ranked],
    )
    frame = frame.sort_values(
        ["unit_code", "score", "nip"], ascending=[True, False, True], kind="stable"
    )
    rank = frame.groupby("unit_code", sort=False, observed=True).cumcount() + 1
    out = pd.Series(pd.NA, index=final_score.index, dtype="Int64")
    out.loc[rank.index] = rank.to_numpy(dtype=np.int64)
    return out


def build_appraisal(
    employees: pd.DataFrame,
    attendance: pd.DataFrame,
    results_score: pd.Series,
    latest: pd.DataFrame,
    iku_score: pd.Series,
    rules: ScoringRules,
) -> pd.DataFrame:
    """fact_appraisal (without agency/period keys), one row per employee in `employees`' order.

    `attendance` is aligned with `employees`; `results_score` is indexed by nip, `latest` by nip,
    `iku_score` by unit_code.
    """
    nip = employees["nip"].astype(TEXT)
    unit_code = employees["unit_code"].astype(TEXT)
    rating = latest.reindex(pd.Index(nip))
    rating.index = employees.index
    out = pd.DataFrame(index=employees.index)
    out["nip"] = nip
    out["unit_code"] = unit_code
    out["results_score"] = results_score.reindex(pd.Index(nip)).to_numpy(dtype=np.float64)
    out["behavior_score"] = behavior_scores(rating, rules).to_numpy(dtype=np.float64)
    out["discipline_score"] = attendance["discipline_score"].to_numpy(dtype=np.float64)
    out["unit_score"] = iku_score.reindex(pd.Index(unit_code)).to_numpy(dtype=np.float64)
    out["results_rating"] = rating["results_rating"].astype(TEXT)
    out["behavior_rating"] = rating["behavior_rating"].astype(TEXT)
    status = statuses(attendance["working_days"], rating["results_rating"].notna())
    final = final_scores(out, rules)
    out["final_score"] = final.where(status != INACTIVE)
    appraised = status == APPRAISED
    out["predikat"] = predikat_of(out["results_rating"], out["behavior_rating"], rules).where(
        appraised
    )
    out["rank_in_unit"] = ranks_in_unit(unit_code, nip, out["final_score"], appraised)
    out["status"] = status
    return out
