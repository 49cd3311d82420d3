"""Follow-ups (scoring.md section 8): reward, coaching, training needs, discipline, promotion.

Decisions where scoring.md is silent:
- The reward quota ceil(top_share * appraised_count) is computed exactly (the policy's decimal as
  a fraction): 0.10 happens to be safe in float, but a policy's 0.07 * 100 is 7.000000000000001
  in float and would give 8 places; an employee without rank (null final_score, not APPRAISED) is
  never a reward candidate.
- absent_days_ytd adds the same year's S1 only for an S2 period, whatever prior_absent_days holds;
  the consecutive-absence rule looks at this period only (a run across 30 June/1 July is two runs).
- Sanction severity is the order of the policy's bands (most severe first); the consecutive-absence
  rule raises the band's sanction to its own when that is more severe, which is "the first that
  applies" of scoring.md for the default policy.
- promotion_eligible needs a published qualifying predikat for each of the previous periods; a
  missing period (not published, INACTIVE, NOT_RATED) breaks the chain like a KURANG does.
- NOT_RATED employees, like INACTIVE ones, have no predikat, hence every flag false and empty
  training_needs (they have no rating to read aspects from).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kinerja.period import Period
from schemas.outputs import TEXT
from tasks.score.appraisal import APPRAISED
from tasks.score.rules import ScoringRules


def reward_quota(appraised_count: np.ndarray, rules: ScoringRules) -> np.ndarray:
    """ceil(top_share * appraised_count) in exact integer arithmetic (int64)."""
    numerator, denominator = rules.reward_share.numerator, rules.reward_share.denominator
    count = np.asarray(appraised_count, dtype=np.int64)
    return -((-count * numerator) // denominator)


def training_needs(latest: pd.DataFrame, rules: ScoringRules) -> pd.Series:
    """The aspects rated `training_need_rating`, `,`-joined in the policy's aspect order; "" when
    none (indexed like `latest`)."""
    joined = pd.Series("", index=latest.index, dtype=object)
    for aspect in rules.behavior_aspects:
        needed = (latest[aspect] == rules.training_need_rating).fillna(False).to_numpy(dtype=bool)
        joined = joined.where(~needed, joined + aspect + ",")
    return joined.str.rstrip(",").astype(TEXT)


def sanctions(
    absent_days_ytd: np.ndarray, longest_absence_run: np.ndarray, rules: ScoringRules
) -> np.ndarray:
    """PP 94/2021 sanction per employee (object array of labels)."""
    labels = np.array([band[1] for band in rules.sanction_bands], dtype=object)
    # bands are most severe first with descending min_days: count the bands not reached
    mins_ascending = np.array([band[0] for band in rules.sanction_bands][::-1], dtype=np.int64)
    reached = np.searchsorted(mins_ascending, np.asarray(absent_days_ytd, np.int64), side="right")
    severity = len(labels) - reached
    run_severity = list(labels).index(rules.consecutive_absence_sanction)
    long_run = np.asarray(longest_absence_run, np.int64) >= rules.consecutive_absence_days
    severity = np.where(long_run, np.minimum(severity, run_severity), severity)
    return labels[severity]


def promotion_chain(
    nip: pd.Series, prior_predikat: pd.DataFrame | None, period: Period, rules: ScoringRules
) -> np.ndarray:
    """True where each of the previous (periods - 1) periods has a qualifying published predikat."""
    needed = [period.previous(k).id for k in range(1, rules.promotion_periods)]
    if not needed:
        return np.ones(len(nip), dtype=bool)
    if prior_predikat is None or prior_predikat.empty:
        return np.zeros(len(nip), dtype=bool)
    prior = pd.DataFrame(
        {
            "nip": prior_predikat["nip"].astype(TEXT),
            "period_id": prior_predikat["period_id"].astype(TEXT),
            "predikat": prior_predikat["predikat"].astype(TEXT),
        }
    )
    qualifying = prior[
        prior["period_id"].isin(needed)
        & prior["predikat"].isin(rules.promotion_predikat).fillna(False)
    ]
    periods = qualifying.groupby("nip", observed=True)["period_id"].nunique()
    return periods.reindex(pd.Index(nip.astype(TEXT))).fillna(0).to_numpy() == len(needed)


def build_followup(
    appraisal: pd.DataFrame,
    attendance: pd.DataFrame,
    units: pd.DataFrame,
    latest: pd.DataFrame,
    prior_absent_days: pd.DataFrame | None,
    prior_predikat: pd.DataFrame | None,
    period: Period,
    rules: ScoringRules,
) -> pd.DataFrame:
    """fact_followup (without agency/period keys), aligned with `appraisal`'s rows.

    `attendance` is aligned with `appraisal` and carries absent_days and longest_absence_run;
    `units` has unit_code and appraised_count; `latest` is the counting rating by nip.
    """
    nip = appraisal["nip"].astype(TEXT)
    nip_index = pd.Index(nip)
    predikat = appraisal["predikat"]
    appraised = (appraisal["status"] == APPRAISED).to_numpy(dtype=bool)

    quota_by_unit = pd.Series(
        reward_quota(units["appraised_count"].to_numpy(), rules),
        index=pd.Index(units["unit_code"].astype(TEXT)),
    )
    quota = quota_by_unit.reindex(pd.Index(appraisal["unit_code"].astype(TEXT))).to_numpy()
    rank = appraisal["rank_in_unit"]
    within_quota = (rank.notna() & (rank.fillna(0).to_numpy() <= quota)).to_numpy(dtype=bool)
    is_reward = predikat.isin(rules.reward_predikat).fillna(False).to_numpy(dtype=bool)
    is_coaching = predikat.isin(rules.coaching_predikat).fillna(False).to_numpy(dtype=bool)
    is_promotion = predikat.isin(rules.promotion_predikat).fillna(False).to_numpy(dtype=bool)

    needs = training_needs(latest, rules).reindex(nip_index).fillna("").to_numpy()

    absent = attendance["absent_days"].to_numpy(dtype=np.int64)
    earlier = np.zeros(len(absent), dtype=np.int64)
    if period.half == 2 and prior_absent_days is not None and not prior_absent_days.empty:
        s1 = pd.Series(
            # a published count is never null, but a nullable Int64 column must not break this
            pd.to_numeric(prior_absent_days["absent_days"]).fillna(0).to_numpy(dtype=np.int64),
            index=pd.Index(prior_absent_days["nip"].astype(TEXT)),
        )
        earlier = s1.reindex(nip_index).fillna(0).to_numpy(dtype=np.int64)
    absent_ytd = absent + earlier

    out = pd.DataFrame(index=appraisal.index)
    out["nip"] = nip
    out["reward_candidate"] = appraised & is_reward & within_quota
    out["coaching_required"] = appraised & is_coaching
    out["training_needs"] = pd.Series(
        np.where(appraised, needs, ""), index=appraisal.index, dtype=TEXT
    )
    out["absent_days_ytd"] = absent_ytd
    out["discipline_sanction"] = pd.Series(
        sanctions(absent_ytd, attendance["longest_absence_run"].to_numpy(), rules),
        index=appraisal.index,
        dtype=TEXT,
    )
    out["promotion_eligible"] = (
        appraised & is_promotion & promotion_chain(nip, prior_predikat, period, rules)
    )
    return out
