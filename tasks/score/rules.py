"""The policy's rules (kinerja/policies/*.yaml) read once into typed, checked objects.

Scoring never hard-codes a number of scoring.md: everything comes from here, so an agency can
ship another policy file. A malformed policy fails here with the key that is wrong, before any
frame is touched.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
COMPONENTS = ("results", "behavior", "discipline", "unit")


class PolicyError(ValueError):
    """The policy file does not hold what scoring needs."""


@dataclass(frozen=True)
class Tier:
    min_minutes: int
    max_minutes: int | None  # None: open-ended
    deduction: float


@dataclass(frozen=True)
class AttendanceRules:
    # weekday (Monday 0) -> seconds after midnight; the keys are the working weekdays
    start_seconds: Mapping[int, float]
    end_seconds: Mapping[int, float]
    merge_precedence: tuple[str, ...]
    present_status: str
    absent_status: str
    status_deduction: Mapping[str, float]
    late_tiers: tuple[Tier, ...]
    early_tiers: tuple[Tier, ...]
    missing_check_in_deduction: float
    missing_check_out_deduction: float
    monthly_base: float
    monthly_floor: float


@dataclass(frozen=True)
class AchievementRules:
    scale: float
    min_pivot: float
    lower: float
    upper: float
    not_reported: float


@dataclass(frozen=True)
class CurveRule:
    org_predikat: str
    rule: str
    predikat_set: tuple[str, ...]
    min_share: float
    max_share: float
    min_count: int


@dataclass(frozen=True)
class PolicyCodes:
    """What a policy allows in the published tables: the code set of every code column and the
    bounds of the scores (scoring.md; warehouse.md's columns). The output schemas
    (schemas/outputs.py), the quality suite (schemas/quality.py) and the reports' code orders
    derive from it, so no second copy of the policy's codes exists."""

    ratings: tuple[str, ...]
    predikat: tuple[str, ...]
    org_predikat: tuple[str, ...]  # thresholds' predikat, highest first, then `otherwise`
    rules: tuple[str, ...]  # distribution-curve rule names, first appearance order
    # joined in the rule table's order (KURANG,BUTUH_PERBAIKAN for K_BP_MIN), not predikat order
    predikat_sets: tuple[str, ...]
    sanctions: tuple[str, ...]  # most severe first
    aspects: tuple[str, ...]
    score_max: float  # the highest score any component can reach
    discipline_max: float


@dataclass(frozen=True)
class ScoringRules:
    attendance: AttendanceRules
    achievement: AchievementRules
    rating_points: Mapping[str, float]
    behavior_aspects: tuple[str, ...]
    component_weights: Mapping[str, float]
    predikat: tuple[str, ...]
    predikat_matrix: Mapping[tuple[str, str], str]  # (results_rating, behavior_rating)
    org_thresholds: tuple[tuple[float, str], ...]  # (min_score, org_predikat), highest first
    org_otherwise: str
    curve: tuple[CurveRule, ...]
    reward_predikat: tuple[str, ...]
    reward_share: Fraction  # exact: in float, ceil(0.07 * 100) would be 8
    coaching_predikat: tuple[str, ...]
    training_need_rating: str
    promotion_periods: int
    promotion_predikat: tuple[str, ...]
    sanction_bands: tuple[tuple[int, str], ...]  # (min_days, sanction), most severe first
    consecutive_absence_days: int
    consecutive_absence_sanction: str

    @property
    def codes(self) -> PolicyCodes:
        """The code sets and score bounds these rules produce (`PolicyCodes`)."""
        discipline_max = self.attendance.monthly_base
        return PolicyCodes(
            ratings=tuple(self.rating_points),
            predikat=self.predikat,
            org_predikat=tuple(name for _, name in self.org_thresholds) + (self.org_otherwise,),
            rules=tuple(dict.fromkeys(r.rule for r in self.curve)),
            predikat_sets=tuple(dict.fromkeys(",".join(r.predikat_set) for r in self.curve)),
            sanctions=tuple(sanction for _, sanction in self.sanction_bands),
            aspects=self.behavior_aspects,
            score_max=max([self.achievement.upper, discipline_max,
                           *self.rating_points.values()]),
            discipline_max=discipline_max,
        )

    @classmethod
    def from_policy(cls, policy: Any) -> ScoringRules:
        """From a `kinerja.policy.Policy` (its rules, parsed once and kept on it), its `rules`
        mapping, or rules already parsed."""
        if isinstance(policy, ScoringRules):
            return policy
        if isinstance(getattr(policy, "scoring", None), ScoringRules):
            return policy.scoring
        rules = getattr(policy, "rules", policy)
        name = rules.get("name", "?") if isinstance(rules, Mapping) else "?"
        try:
            return _parse(rules)
        except PolicyError as error:
            raise PolicyError(f"policy {name!r}: {error}") from None
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise PolicyError(f"policy {name!r}: missing or malformed entry ({error!r})") from None


def parse_time(value: Any) -> float:
    """`HH:MM` or `HH:MM:SS` -> seconds after midnight."""
    parts = str(value).strip().split(":")
    if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
        raise PolicyError(f"time {value!r} is not HH:MM or HH:MM:SS")
    hours, minutes, seconds = (int(p) for p in (parts + ["0"])[:3])
    if hours > 23 or minutes > 59 or seconds > 59:
        raise PolicyError(f"time {value!r} is out of range")
    return float(hours * 3600 + minutes * 60 + seconds)


def _tiers(raw: list[Mapping[str, Any]], key: str) -> tuple[Tier, ...]:
    tiers = tuple(
        Tier(
            int(t["min_minutes"]),
            None if t.get("max_minutes") is None else int(t["max_minutes"]),
            float(t["deduction"]),
        )
        for t in raw
    )
    if not tiers:
        raise PolicyError(f"{key} is empty")
    for previous, tier in zip(tiers, tiers[1:], strict=False):
        if previous.max_minutes is None or tier.min_minutes <= previous.max_minutes:
            raise PolicyError(f"{key} must be ascending and must not overlap")
    for tier in tiers:
        if tier.min_minutes < 1 or (
            tier.max_minutes is not None and tier.max_minutes < tier.min_minutes
        ):
            raise PolicyError(f"{key}: bad tier {tier}")
    return tiers


def _parse(rules: Mapping[str, Any]) -> ScoringRules:
    schedule = rules["schedule"]
    unknown_days = set(schedule) - set(WEEKDAYS)
    if unknown_days or not schedule:
        raise PolicyError(f"schedule: unknown weekdays {sorted(unknown_days)}")
    start = {WEEKDAYS.index(day): parse_time(v["start"]) for day, v in schedule.items()}
    end = {WEEKDAYS.index(day): parse_time(v["end"]) for day, v in schedule.items()}
    if any(end[d] <= start[d] for d in start):
        raise PolicyError("schedule: every end must be after its start")

    att = rules["attendance"]
    precedence = tuple(str(s) for s in att["merge_precedence"])
    present, absent = str(att["present_status"]), str(att["absent_status"])
    if len(set(precedence)) != len(precedence) or not {present, absent} <= set(precedence):
        raise PolicyError("attendance.merge_precedence must list each status once, H and TK too")
    status_deduction = {str(k): float(v) for k, v in att["status_deduction"].items()}
    if set(status_deduction) != set(precedence) - {present}:
        raise PolicyError("attendance.status_deduction must cover every status but the present one")
    discipline = rules["discipline"]
    attendance = AttendanceRules(
        start_seconds=start,
        end_seconds=end,
        merge_precedence=precedence,
        present_status=present,
        absent_status=absent,
        status_deduction=status_deduction,
        late_tiers=_tiers(att["late_tiers"], "attendance.late_tiers"),
        early_tiers=_tiers(att["early_tiers"], "attendance.early_tiers"),
        missing_check_in_deduction=float(att["missing_check_in_deduction"]),
        missing_check_out_deduction=float(att["missing_check_out_deduction"]),
        monthly_base=float(discipline["monthly_base"]),
        monthly_floor=float(discipline["monthly_floor"]),
    )

    ach = rules["achievement"]
    achievement = AchievementRules(
        scale=float(ach["scale"]),
        min_pivot=float(ach["min_pivot"]),
        lower=float(ach["min"]),
        upper=float(ach["max"]),
        not_reported=float(ach["not_reported"]),
    )
    if achievement.lower > achievement.upper:
        raise PolicyError("achievement.min is above achievement.max")

    points = {str(k): float(v) for k, v in rules["rating_points"].items()}
    weights = {str(k): float(v) for k, v in rules["component_weights"].items()}
    if set(weights) != set(COMPONENTS) or any(w < 0 for w in weights.values()):
        raise PolicyError(f"component_weights must give {COMPONENTS} a weight >= 0")
    if sum(weights.values()) <= 0:
        raise PolicyError("component_weights must not all be 0")

    predikat = tuple(str(p) for p in rules["predikat"])
    matrix: dict[tuple[str, str], str] = {}
    for results_rating, row in rules["predikat_matrix"].items():
        for behavior_rating, value in row.items():
            matrix[(str(results_rating), str(behavior_rating))] = str(value)
    expected_cells = {(r, b) for r in points for b in points}
    if set(matrix) != expected_cells or not set(matrix.values()) <= set(predikat):
        raise PolicyError("predikat_matrix must map every pair of ratings to a predikat")

    org = rules["org_predikat"]
    thresholds = tuple((float(t["min_score"]), str(t["org_predikat"])) for t in org["thresholds"])
    if [t[0] for t in thresholds] != sorted((t[0] for t in thresholds), reverse=True):
        raise PolicyError("org_predikat.thresholds must be highest first")

    curve = tuple(
        CurveRule(
            org_predikat=str(r["org_predikat"]),
            rule=str(r["rule"]),
            predikat_set=tuple(str(p) for p in r["predikat_set"]),
            min_share=float(r["min_share"]),
            max_share=float(r["max_share"]),
            min_count=int(r["min_count"]),
        )
        for r in rules["distribution_curve"]
    )
    if len({(r.org_predikat, r.rule) for r in curve}) != len(curve):
        raise PolicyError("distribution_curve: a rule name repeats within one org_predikat")
    if any(not set(r.predikat_set) <= set(predikat) or not r.predikat_set for r in curve):
        raise PolicyError("distribution_curve: unknown predikat in a predikat_set")

    fu = rules["followup"]
    bands = tuple(
        (int(b["min_days"]), str(b["sanction"])) for b in fu["discipline_sanction"]["bands"]
    )
    mins = [b[0] for b in bands]
    if mins != sorted(set(mins), reverse=True) or mins[-1] != 0:
        raise PolicyError("discipline_sanction.bands must be strictly descending and end at 0")
    consecutive = fu["discipline_sanction"]["consecutive_absence"]
    consecutive_sanction = str(consecutive["sanction"])
    if consecutive_sanction not in {b[1] for b in bands}:
        raise PolicyError("consecutive_absence.sanction must be one of the bands' sanctions")
    promotion = fu["promotion"]
    if int(promotion["periods"]) < 1:
        raise PolicyError("followup.promotion.periods must be 1 or more")
    # str() first: the YAML float 0.1 becomes exactly 1/10
    reward_share = Fraction(str(fu["reward"]["top_share"]))
    if not 0 <= reward_share <= 1:
        raise PolicyError("followup.reward.top_share must be in [0, 1]")

    return ScoringRules(
        attendance=attendance,
        achievement=achievement,
        rating_points=points,
        behavior_aspects=tuple(str(a) for a in rules["behavior_aspects"]),
        component_weights=weights,
        predikat=predikat,
        predikat_matrix=matrix,
        org_thresholds=thresholds,
        org_otherwise=str(org["otherwise"]),
        curve=curve,
        reward_predikat=tuple(str(p) for p in fu["reward"]["predikat"]),
        reward_share=reward_share,
        coaching_predikat=tuple(str(p) for p in fu["coaching_predikat"]),
        training_need_rating=str(fu["training_need_rating"]),
        promotion_periods=int(promotion["periods"]),
        promotion_predikat=tuple(str(p) for p in promotion["predikat"]),
        sanction_bands=bands,
        consecutive_absence_days=int(consecutive["min_days"]),
        consecutive_absence_sanction=consecutive_sanction,
    )
