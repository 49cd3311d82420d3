"""Rater calibration (issue 12), pure: how each rater's ratings compare with their unit's and the
agency's, and which raters give the top predikat more often than their unit's curve allows.

Not part of scoring.md (it changes no published value): it reads the counting rating of every
appraised employee (the row scoring used, `tasks.score.appraisal.counting_rows`) with its
`rater_nip` from ratings.csv, and the published predikat, unit and org_predikat.

Decisions (docs/decisions.md, issue 12):
- A rater is counted per unit of the employees they rated: a head who rates the heads of three
  sub-units appears once per sub-unit, each row beside that unit's figures and checked against
  that unit's curve, because the curve bounds a unit's distribution.
- Only APPRAISED employees count (their rating decided a predikat); a rating replaced by a later
  one, or quarantined, does not count. A counting rating without rater_nip is grouped under an
  empty rater.
- "Share of each rating": the shares of the three labels in the results rating and in the
  behavior rating, each beside the unit's and the agency's shares.
- "Exceeds the curve of their unit": the share of the employees they rated who got the top
  predikat (the policy's first, SANGAT_BAIK: both ratings DIATAS_EKSPEKTASI) is above the
  smallest max_share of the unit's curve rules (by its org_predikat) whose predikat set holds the
  top predikat. A unit whose curve does not bound the top predikat (org_predikat BAIK or none
  under the default policy) lists no rater; its raters are still in the table. The comparison
  uses unrounded shares, and a rater of a single employee is compared like any other (the table
  shows how many employees each share is of).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from schemas.outputs import TEXT
from tasks.reporting.report import ORG_PREDIKAT_LABELS, PREDIKAT_LABELS, RATING_LABELS, format_share
from tasks.score.appraisal import APPRAISED, counting_rows
from tasks.score.rules import ScoringRules

KINDS = ("results", "behavior")
NO_RATER = ""


@dataclass
class Calibration:
    """What the report and the workbook show: the table, the policy rules it was checked
    against, or why it is missing (`note`)."""

    table: pd.DataFrame | None
    rules: ScoringRules | None = None
    note: str | None = None
    lenient: list[str] = field(default_factory=list)
    # (unit_code, rater_nip) -> the sentence on that lenient rater
    sentences: dict[tuple[str, str], str] = field(default_factory=dict)

    @property
    def available(self) -> bool:
        return self.table is not None and self.rules is not None

    def with_names(self, rater_names: Mapping[str, str],
                   unit_names: Mapping[str, str]) -> Calibration:
        """The same, with the sentences on lenient raters written out."""
        if self.available:
            assert self.table is not None and self.rules is not None
            self.sentences = lenient_sentences(self.table, self.rules, rater_names, unit_names)
            self.lenient = list(self.sentences.values())
        return self

    def unbounded_units(self) -> list[str]:
        """Units in the table whose curve does not bound the top predikat."""
        if not self.available:
            return []
        assert self.table is not None
        return sorted(set(self.table.loc[self.table["top_bound"].isna(), "unit_code"]))

    def rating_labels(self) -> list[str]:
        return list(self.rules.rating_points) if self.rules is not None else []

    def records(self) -> list[dict[str, Any]]:
        if not self.available:
            return []
        assert self.table is not None
        return [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
                for r in self.table.to_dict("records")]


def share_columns(rules: ScoringRules, prefix: str = "") -> list[str]:
    """`results_DIATAS_EKSPEKTASI`, ... one per kind and rating label, then `top_share`."""
    return [f"{prefix}{kind}_{label}" for kind in KINDS for label in rules.rating_points] + [
        f"{prefix}top_share"]


def top_bounds(rules: ScoringRules) -> dict[str, float]:
    """Per org_predikat, the largest share of the top predikat its curve allows (only the
    org_predikat whose curve bounds it)."""
    top = rules.predikat[0]
    bounds: dict[str, float] = {}
    for rule in rules.curve:
        if top in rule.predikat_set:
            bounds[rule.org_predikat] = min(bounds.get(rule.org_predikat, 1.0), rule.max_share)
    return bounds


def _shares(frame: pd.DataFrame, by: list[str], rules: ScoringRules, prefix: str) -> pd.DataFrame:
    """Employee count and the share of each rating label (and of the top predikat) per group."""
    top = rules.predikat[0]
    parts = {"employees": ("nip", "size")}
    data = frame.copy()
    for kind in KINDS:
        for label in rules.rating_points:
            column = f"{kind}_{label}"
            data[column] = (data[f"{kind}_rating"] == label).fillna(False).astype("float64")
            parts[column] = (column, "mean")
    data["top_share"] = (data["predikat"] == top).fillna(False).astype("float64")
    parts["top_share"] = ("top_share", "mean")
    if by:
        out = data.groupby(by, sort=True, observed=True, dropna=False).agg(**parts)
    else:
        out = pd.DataFrame({name: [getattr(data[col], how)() if how == "mean" else len(data)]
                            for name, (col, how) in parts.items()})
    out = out.rename(columns={c: prefix + c for c in out.columns})
    return out.reset_index() if by else out


def rater_calibration(ratings: pd.DataFrame, appraisal: pd.DataFrame, units: pd.DataFrame,
                      rules: ScoringRules) -> pd.DataFrame:
    """One row per (unit_code, rater_nip): the employees rated, the share of each rating label
    (results and behavior) and of the top predikat; the same for the unit and the agency; the
    unit's org_predikat, the curve's bound on the top predikat, and whether the rater exceeds it.

    `ratings`: the accepted ratings of the run (nip, rater_nip, rated_at, results_rating,
    behavior_rating); `appraisal`: fact_appraisal (nip, unit_code, status, predikat); `units`:
    fact_unit_performance (unit_code, org_predikat). Rows are ordered by unit, then by the
    rater's top share (highest first), then rater_nip.
    """
    columns = ["unit_code", "rater_nip", "employees", *share_columns(rules), "unit_employees",
               *share_columns(rules, "unit_"), "agency_employees",
               *share_columns(rules, "agency_"), "org_predikat", "top_bound", "exceeds"]
    if ratings.empty or appraisal.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    counting = ratings.iloc[counting_rows(ratings)]
    used = pd.DataFrame({
        "nip": counting["nip"].astype(TEXT).to_numpy(),
        "rater_nip": counting["rater_nip"].astype(TEXT).fillna(NO_RATER).to_numpy()
        if "rater_nip" in counting else NO_RATER,
        "results_rating": counting["results_rating"].astype(TEXT).to_numpy(),
        "behavior_rating": counting["behavior_rating"].astype(TEXT).to_numpy(),
    })
    appraised = appraisal.loc[appraisal["status"] == APPRAISED,
                              ["nip", "unit_code", "predikat"]].astype(TEXT)
    rated = appraised.merge(used, on="nip", how="inner")
    if rated.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})

    per_rater = _shares(rated, ["unit_code", "rater_nip"], rules, "")
    per_unit = _shares(rated, ["unit_code"], rules, "unit_")
    agency = _shares(rated, [], rules, "agency_")
    out = per_rater.merge(per_unit, on="unit_code", how="left")
    for column in agency.columns:
        out[column] = agency[column].iloc[0]
    org = units[["unit_code", "org_predikat"]].astype(TEXT)
    out = out.merge(org, on="unit_code", how="left")
    bounds = top_bounds(rules)
    out["top_bound"] = out["org_predikat"].map(bounds).astype("float64")
    out["exceeds"] = (out["top_share"] > out["top_bound"]).fillna(False).astype(bool)
    out["employees"] = out["employees"].astype("int64")
    out["unit_employees"] = out["unit_employees"].astype("int64")
    out["agency_employees"] = out["agency_employees"].astype("int64")
    out = out.sort_values(["unit_code", "top_share", "rater_nip"], ascending=[True, False, True],
                          kind="stable").reset_index(drop=True)
    return out[columns]


def lenient_sentences(calibration: pd.DataFrame, rules: ScoringRules,
                      rater_names: Mapping[str, str] | None = None,
                      unit_names: Mapping[str, str] | None = None
                      ) -> dict[tuple[str, str], str]:
    """The raters above their unit's curve, each in one plain Indonesian sentence, by
    (unit_code, rater_nip), in the table's order."""
    top = rules.predikat[0]
    top_label = PREDIKAT_LABELS.get(top, top)
    best = next(iter(rules.rating_points))
    best_label = RATING_LABELS.get(best, best)
    sentences: dict[tuple[str, str], str] = {}
    for row in calibration[calibration["exceeds"].astype(bool)].itertuples(index=False):
        rater = str(row.rater_nip)
        name = (rater_names or {}).get(rater)
        who = f"{name} (NIP {rater})" if name else (f"NIP {rater}" if rater else
                                                      "Penilai tanpa NIP")
        unit = (unit_names or {}).get(str(row.unit_code)) or str(row.unit_code)
        count = int(round(row.top_share * row.employees))
        org = ORG_PREDIKAT_LABELS.get(row.org_predikat, row.org_predikat)
        sentences[(str(row.unit_code), rater)] = (
            f"{who} menilai {row.employees} pegawai di {unit}: {count} di antaranya "
            f"({format_share(row.top_share)}) mendapat predikat {top_label} (rating hasil kerja "
            f"dan perilaku {best_label}), sedangkan kurva distribusi unit berpredikat "
            f"organisasi {org} membolehkan paling banyak {format_share(row.top_bound)}. "
            f"Proporsi {top_label} di unit ini {format_share(row.unit_top_share)}, di seluruh "
            f"instansi {format_share(row.agency_top_share)}.")
    return sentences


