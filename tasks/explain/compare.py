"""The derived values of an explanation against the published rows, pure.

`kinerja explain` is also a consistency check of the warehouse: every value it derives must equal
the published one. Numbers are equal within 1e-9 (the change log's rule, docs/decisions.md); two
missing values are equal; a boolean read back as 0/1 equals false/true.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

TOLERANCE = 1e-9

# fact column -> where the explanation holds the value (a path of keys)
APPRAISAL_FIELDS = {
    "unit_code": ("employee", "unit_code"),
    "results_score": ("achievement", "score"),
    "behavior_score": ("behavior", "score"),
    "discipline_score": ("discipline", "score"),
    "unit_score": ("unit", "score"),
    "final_score": ("final_score",),
    "results_rating": ("results_rating",),
    "behavior_rating": ("behavior_rating",),
    "predikat": ("predikat",),
    "rank_in_unit": ("rank_in_unit",),
    "status": ("status",),
}
FOLLOWUP_FIELDS = {
    "reward_candidate": ("followup", "reward_candidate"),
    "coaching_required": ("followup", "coaching_required"),
    "training_needs": ("followup", "training_needs"),
    "absent_days_ytd": ("followup", "absent_days_ytd"),
    "discipline_sanction": ("followup", "sanction"),
    "promotion_eligible": ("followup", "promotion_eligible"),
}
ATTENDANCE_FIELDS = {
    column: ("discipline", column)
    for column in ("working_days", "present_days", "sick_days", "permit_days", "leave_days",
                   "duty_days", "absent_days", "late_count", "late_minutes", "early_count",
                   "early_minutes", "deduction_pct")
} | {"discipline_score": ("discipline", "score")}
SKP_FIELDS = {"target": "target", "realization": "realisation", "polarity": "polarity",
              "weight": "weight", "achievement": "score"}
UNIT_FIELDS = {"iku_score": "score", "org_predikat": "org_predikat",
               "appraised_count": "appraised_count"}


@dataclass(frozen=True)
class Difference:
    """One published value that the recomputation does not give."""

    table: str
    column: str
    key: str
    published: Any
    recomputed: Any

    def __str__(self) -> str:
        where = f"{self.table}.{self.column}" + (f"[{self.key}]" if self.key else "")
        return f"{where}: published {_shown(self.published)}, recomputed {_shown(self.recomputed)}"


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _shown(value: Any) -> str:
    if _missing(value):
        return "NULL"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def same(published: Any, recomputed: Any) -> bool:
    """Equal as the change log compares: numbers within 1e-9, missing equals missing."""
    published, recomputed = _plain(published), _plain(recomputed)
    if _missing(published) or _missing(recomputed):
        return _missing(published) and _missing(recomputed)
    if isinstance(published, bool) or isinstance(recomputed, bool):
        return bool(published) == bool(recomputed)
    if isinstance(published, int | float) and isinstance(recomputed, int | float):
        return abs(float(published) - float(recomputed)) <= TOLERANCE
    return str(published) == str(recomputed)


def _at(explanation: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = explanation
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    if isinstance(value, list):  # training_needs
        return ",".join(value)
    return value


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return value


def differences(explanation: Mapping[str, Any],
                published: Mapping[str, pd.DataFrame]) -> list[Difference]:
    """Every published value of the employee (rows of fact_appraisal, fact_followup,
    fact_attendance, fact_skp and their unit's fact_unit_performance, filtered to the employee
    and unit) that the explanation does not reproduce."""
    nip = str(explanation["nip"])
    found: list[Difference] = []

    def one_row(table: str) -> pd.Series | None:
        frame = published.get(table)
        if frame is None or frame.empty:
            found.append(Difference(table, "*", nip, "absent", "present"))
            return None
        return frame.iloc[0]

    for table, fields in (("fact_appraisal", APPRAISAL_FIELDS),
                          ("fact_followup", FOLLOWUP_FIELDS),
                          ("fact_attendance", ATTENDANCE_FIELDS)):
        row = one_row(table)
        if row is None:
            continue
        for column, path in fields.items():
            value, derived = _plain(row[column]), _at(explanation, path)
            if column == "training_needs" and _missing(value):
                value = ""
            if not same(value, derived):
                found.append(Difference(table, column, nip, value, derived))

    skp = published.get("fact_skp")
    skp = skp if skp is not None else pd.DataFrame(columns=["indicator_id"])
    derived_indicators = {str(i["indicator_id"]): i
                          for i in explanation["achievement"]["indicators"]}
    published_ids = [str(i) for i in skp["indicator_id"]]
    for indicator_id in sorted(set(published_ids) | set(derived_indicators)):
        if indicator_id not in derived_indicators or indicator_id not in published_ids:
            found.append(Difference(
                "fact_skp", "*", f"{nip}/{indicator_id}",
                "present" if indicator_id in published_ids else "absent",
                "present" if indicator_id in derived_indicators else "absent"))
            continue
        row = skp.iloc[published_ids.index(indicator_id)]
        for column, key in SKP_FIELDS.items():
            value, derived = _plain(row[column]), derived_indicators[indicator_id][key]
            if not same(value, derived):
                found.append(Difference("fact_skp", column, f"{nip}/{indicator_id}", value,
                                        derived))

    unit = published.get("fact_unit_performance")
    if unit is not None and not unit.empty:
        row = unit.iloc[0]
        for column, key in UNIT_FIELDS.items():
            value, derived = _plain(row[column]), explanation["unit"][key]
            if not same(value, derived):
                found.append(Difference("fact_unit_performance", column,
                                        str(explanation["unit"]["unit_code"]), value, derived))
    return found
