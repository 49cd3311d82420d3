"""The derivation of one employee's published values (interface.md `kinerja explain`), pure.

Every number comes from the scoring functions of `tasks/score/`, run again: once over the whole
agency (`score_period`, for what depends on colleagues: rank, the unit's appraised count, the
reward quota) and once over the rows of the employees being explained (`score_attendance`,
`build_appraisal`, `build_followup`, and the per-day grid functions of `tasks/score/attendance.py`
for the day-level detail), in one vectorised pass per set of employees.
What this module adds is provenance: which source row decided each value (`<path>:<line>`, the
same reference as the quarantine's record_ref), and the sentences that say why.

Decisions where the spec is silent (docs/decisions.md, issue 12):
- A merged day's `source` is the row whose status won; among several rows of the winning status
  of a present day, the row that gave the day its check_in when the day is late (or has no
  check_in at all), else the row that gave its check_out when it left early, else the first row.
  `rows` lists every accepted row merged into the day.
- `days` lists the active working days with a deduction, a TL or PSW hit, or the absent status
  (so a grace-period policy's unpunished late day is not listed, and an absent day is listed even
  under a policy that deducts nothing for it).
- The JSON is a superset of interface.md's example: every key shown there, plus the values the
  issue asks for that the example leaves out (an indicator's weight and unclamped value, the
  rating's aspects and history, the unit's IKU, the component weights, the reward quota, the
  longest absence run, the promotion chain, the employee's quarantined rows).
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kinerja.period import Period
from kinerja.policy import Policy
from schemas.outputs import TEXT
from tasks.reporting.report import (
    ASPECT_LABELS,
    PREDIKAT_LABELS,
    RATING_LABELS,
    SANCTION_LABELS,
    format_date,
    format_number,
)
from tasks.score import ScoringInputs, score_period
from tasks.score.achievement import achievement, unclamped_achievement, weighted_mean
from tasks.score.appraisal import (
    APPRAISED,
    COMPONENT_COLUMNS,
    INACTIVE,
    behavior_scores,
    build_appraisal,
    counting_rows,
    latest_ratings,
)
from tasks.score.attendance import (
    daily_deductions,
    longest_run_span,
    merged_grid,
    monthly_discipline,
    monthly_scores,
    present_penalties,
    score_attendance,
)
from tasks.score.calendar import WorkingDays, working_days
from tasks.score.followup import build_followup, reward_quota
from tasks.score.rules import COMPONENTS, ScoringRules
from tasks.score.units import iku_scores


class ExplainError(ValueError):
    """The employee cannot be explained from this publication (not in it, not accepted)."""


@dataclass
class Evidence:
    """The run's inputs as re-read from its sources, with each accepted row's origin.

    `refs[dataset]` holds `<path>:<line>` for every row of `inputs.<dataset>`, in the same order;
    `quarantine` the rows validation set aside (dataset, record_ref, reasons, payload).
    """

    inputs: ScoringInputs
    refs: Mapping[str, Sequence[str]]
    quarantine: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["dataset", "record_ref", "reasons",
                                                      "payload"]))


@dataclass(frozen=True)
class Lineage:
    """What the explanation names as its origin: the run, its policy, its source files."""

    run_id: str
    policy_name: str
    policy_hash: str
    sources: tuple[Mapping[str, Any], ...] = ()  # dataset, path, sha256, unchanged


# Plain JSON values ------------------------------------------------------------------------------


def number(value: Any) -> float | None:
    """A float for JSON: None for a missing value or NaN (JSON has no NaN)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    result = float(value)
    return None if math.isnan(result) else result


def integer(value: Any) -> int | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return int(value)


def text(value: Any) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)


def clock(seconds: Any) -> str | None:
    """Seconds after midnight as `HH:MM:SS`; None when missing."""
    value = number(seconds)
    if value is None:
        return None
    whole = int(round(value))
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def iso_day(value: Any) -> str | None:
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            return None
        return str(value.astype("datetime64[D]"))
    return pd.Timestamp(value).date().isoformat()


def iso_moment(value: Any) -> str | None:
    if value is None or value is pd.NaT:
        return None
    moment = pd.Timestamp(value)
    return None if pd.isna(moment) else moment.isoformat()


def _rating_label(value: Any) -> str:
    return RATING_LABELS.get(str(value), str(value)) if text(value) else "–"


def _predikat_label(value: Any) -> str:
    return PREDIKAT_LABELS.get(str(value), str(value)) if text(value) else "–"


# The explainer -------------------------------------------------------------------------------


class Explainer:
    """Explains any employees of one agency-period; the agency-wide scoring runs once, and a set
    of employees is derived in one vectorised pass (the same functions as scoring, on their
    rows only), then annotated employee by employee."""

    def __init__(self, evidence: Evidence, policy: Policy, lineage: Lineage) -> None:
        self.evidence = evidence
        self.inputs = evidence.inputs
        self.policy = policy
        self.rules = ScoringRules.from_policy(policy)
        self.lineage = lineage
        self.period: Period = self.inputs.period
        self.facts = score_period(self.inputs, policy)
        self.days: WorkingDays = working_days(self.period, self.inputs.calendar,
                                              self.rules.attendance)
        inputs = self.inputs
        self._employee_at = _positions_by(inputs.employees, "nip")
        self._attendance_at = _positions_by(inputs.attendance, "nip")
        self._skp_at = _positions_by(inputs.skp, "nip")
        self._ratings_at = _positions_by(inputs.ratings, "nip")
        self._iku_at = _positions_by(inputs.unit_iku, "unit_code")
        self._refs = {name: np.asarray(refs, dtype=object)
                      for name, refs in evidence.refs.items()}
        self._unit_names = dict(zip(inputs.units["unit_code"].astype(str),
                                    inputs.units["unit_name"].astype(str), strict=True))
        self._quarantined = _quarantine_by_nip(evidence.quarantine)
        appraisal = self.facts["fact_appraisal"]
        self._rank = dict(zip(appraisal["nip"].astype(str),
                              (integer(r) for r in appraisal["rank_in_unit"]), strict=True))
        self._units = self.facts["fact_unit_performance"][["unit_code", "org_predikat",
                                                           "appraised_count"]]
        self._unit_rows = {str(r.unit_code): r for r in self._units.itertuples(index=False)}
        self._iku = iku_scores(inputs.unit_iku, self.rules)
        prior = inputs.prior_predikat
        self._prior_predikat = {
            (str(n), str(p)): text(v) for n, p, v in zip(
                prior["nip"], prior["period_id"], prior["predikat"], strict=True)
        } if len(prior) else {}
        self._unit_cache: dict[str, dict[str, Any]] = {}

    @property
    def nips(self) -> list[str]:
        """Every employee of the publication, by nip."""
        return sorted(self._employee_at)

    def refs(self, dataset: str, positions: Sequence[int] | np.ndarray) -> list[str]:
        return [str(r) for r in self._refs[dataset][np.asarray(positions, dtype=np.int64)]]

    def explain(self, nip: str) -> dict[str, Any]:
        return self.explain_many([nip])[0]

    def explain_many(self, nips: Sequence[str]) -> list[dict[str, Any]]:
        """The explanations of `nips`, in that order."""
        missing = [n for n in nips if n not in self._employee_at]
        if missing:
            raise ExplainError(
                f"NIP {missing[0]} is not an accepted employee of {self.inputs.agency_code} "
                f"{self.period.id} (not in employees.csv, or its row was quarantined)")
        batch = _Batch(self, list(dict.fromkeys(nips)))
        return [batch.explanation(nip) for nip in nips]

    # -- the unit (shared by its employees) ------------------------------------------------------

    def unit(self, unit_code: str) -> dict[str, Any]:
        if unit_code not in self._unit_cache:
            positions = self._iku_at.get(unit_code, np.zeros(0, dtype=np.int64))
            frame = self.inputs.unit_iku.iloc[positions].reset_index(drop=True)
            indicators = _indicators(frame, self.refs("unit_iku", positions), "iku_id",
                                     self.rules)
            row = self._unit_rows.get(unit_code)
            appraised = int(row.appraised_count) if row is not None else 0
            score = self._iku.get(unit_code, np.nan)
            self._unit_cache[unit_code] = {
                "unit_code": unit_code,
                "unit_name": self._unit_names.get(unit_code),
                "score": number(score),
                "org_predikat": text(row.org_predikat) if row is not None else None,
                "appraised_count": appraised,
                "reward_quota": int(reward_quota(np.array([appraised]), self.rules)[0]),
                "indicators": indicators,
            }
        return self._unit_cache[unit_code]

    def promotion_chain(self, nip: str, predikat: str | None) -> list[dict[str, Any]]:
        chain = [{"period_id": self.period.id, "predikat": predikat}]
        for k in range(1, self.rules.promotion_periods):
            period_id = self.period.previous(k).id
            chain.append({"period_id": period_id,
                          "predikat": self._prior_predikat.get((nip, period_id))})
        return chain

    # -- sentences (Indonesian: HR and the employee read them) -----------------------------------

    def _reasons(self, f: dict[str, Any], status: str, predikat: str | None,
                 rank: int | None, run: dict[str, Any]) -> list[str]:
        rules = self.rules
        reasons: list[str] = []
        label = _predikat_label(predikat)
        if status != APPRAISED:
            why = ("tidak memiliki hari kerja aktif pada periode ini" if status == INACTIVE
                   else "belum memiliki penilaian atasan yang diterima")
            reasons.append(f"Tidak ada predikat karena pegawai {why}; penghargaan, pembinaan, "
                           "kebutuhan pelatihan dan promosi tidak berlaku.")
        else:
            reward_names = " atau ".join(_predikat_label(p) for p in rules.reward_predikat)
            quota = f"kuota {f['reward_quota']} orang ({_share(rules.reward_share)} dari " \
                    f"{f['appraised_in_unit']} pegawai yang dinilai di unit, dibulatkan ke atas)"
            if f["reward_candidate"]:
                reasons.append(f"Kandidat penghargaan: predikat {label} dan peringkat {rank} "
                               f"di unit, dalam {quota}.")
            elif predikat in rules.reward_predikat:
                reasons.append(f"Bukan kandidat penghargaan: predikat {label}, tetapi peringkat "
                               f"{rank} di unit berada di luar {quota}.")
            else:
                reasons.append(f"Bukan kandidat penghargaan: predikat {label} (penghargaan "
                               f"hanya untuk predikat {reward_names}).")
            coaching = ", ".join(_predikat_label(p) for p in rules.coaching_predikat)
            if f["coaching_required"]:
                reasons.append(f"Perlu pembinaan: predikat {label} (pembinaan untuk predikat "
                               f"{coaching}).")
            else:
                reasons.append(f"Tidak perlu pembinaan: predikat {label}.")
            need = _rating_label(rules.training_need_rating)
            if f["training_needs"]:
                names = ", ".join(ASPECT_LABELS.get(a, a) for a in f["training_needs"])
                reasons.append(f"Kebutuhan pelatihan: {names} (aspek BerAKHLAK yang dinilai "
                               f"{need}).")
            else:
                reasons.append(f"Tidak ada kebutuhan pelatihan: tidak ada aspek BerAKHLAK yang "
                               f"dinilai {need}.")
        reasons.append(self._sanction_text(f, run))
        if status == APPRAISED:
            accepted = {p for p in rules.promotion_predikat}
            names = " atau ".join(_predikat_label(p) for p in rules.promotion_predikat)
            chain = "; ".join(f"{c['period_id']}: {_predikat_label(c['predikat'])}"
                              for c in f["promotion_chain"])
            missing = [c["period_id"] for c in f["promotion_chain"]
                       if c["predikat"] not in accepted]
            if f["promotion_eligible"]:
                reasons.append(f"Memenuhi syarat promosi: predikat {names} pada "
                               f"{len(f['promotion_chain'])} semester berturut-turut ({chain}).")
            else:
                reasons.append(f"Belum memenuhi syarat promosi: perlu predikat {names} pada "
                               f"{len(f['promotion_chain'])} semester berturut-turut; tidak "
                               f"terpenuhi pada {', '.join(missing)} ({chain}).")
        return reasons

    def _sanction_text(self, f: dict[str, Any], run: dict[str, Any]) -> str:
        rules = self.rules
        ytd = f["absent_days_ytd"]
        bands = rules.sanction_bands  # most severe first, descending min_days
        band_index = next(i for i, (min_days, _) in enumerate(bands) if ytd >= min_days)
        band_min, band_sanction = bands[band_index]
        band_max = bands[band_index - 1][0] - 1 if band_index > 0 else None
        span = f"{band_min} hari atau lebih" if band_max is None else (
            f"{band_min} hari" if band_min == band_max else f"{band_min}–{band_max} hari")
        sanction = SANCTION_LABELS.get(f["sanction"], f["sanction"])
        parts = [f"semester ini {f['absent_days']}"]
        if self.period.half == 2:
            parts.append(f"semester I {f['absent_days_earlier']}")
        count = f"{ytd} hari TK dalam tahun berjalan ({', '.join(parts)}), rentang {span}"
        if band_sanction != f["sanction"]:
            count += f": {SANCTION_LABELS.get(band_sanction, band_sanction)}"
        run_text = ""
        if run["days"]:
            first, last = run["dates"][0], run["dates"][-1]
            when = format_date(first) if first == last else \
                f"{format_date(first)} – {format_date(last)}"
            run_text = f"; TK berturut-turut terpanjang {run['days']} hari kerja ({when})"
            if run["days"] >= rules.consecutive_absence_days:
                floor = rules.consecutive_absence_sanction
                run_text += (f", {rules.consecutive_absence_days} hari atau lebih: paling "
                             f"ringan {SANCTION_LABELS.get(floor, floor)}")
        return f"Hukuman disiplin: {sanction} ({count}{run_text})."

    def _final_text(self, e: dict[str, Any]) -> dict[str, Any]:
        """The final score as a sum the employee can redo, and the predikat's matrix cell."""
        counted = [c for c in e["components"] if c["counted"]]
        weight = sum(c["weight"] for c in counted)
        formula = None
        if e["final_score"] is not None and counted:
            terms = " + ".join(f"{format_number(c['weight'])} × {format_number(c['score'])}"
                               for c in counted)
            formula = f"({terms}) / {format_number(weight)} = {format_number(e['final_score'])}"
        cell = None
        if e["predikat"] is not None:
            cell = (f"Rating hasil kerja {_rating_label(e['results_rating'])} dan rating "
                    f"perilaku {_rating_label(e['behavior_rating'])}: predikat "
                    f"{_predikat_label(e['predikat'])}.")
        return {"weight_total": weight, "formula": formula, "matrix": cell}


def _column(frame: pd.DataFrame, name: str) -> list[Any]:
    """A column as plain Python values (None for missing), or Nones when absent."""
    if name not in frame.columns:
        return [None] * len(frame)
    return [text(v) if isinstance(v, str) or v is pd.NA else v for v in frame[name].tolist()]


def _indicators(frame: pd.DataFrame, refs: Sequence[str], id_column: str,
                rules: ScoringRules) -> list[dict[str, Any]]:
    """SKP or IKU rows with the formula's value before and after the clamp, in frame order."""
    if frame.empty:
        return []
    polarity = frame["polarity"].astype(TEXT).str.upper().fillna("MAX")
    raw = unclamped_achievement(frame["target"], frame["realization"], polarity,
                                rules.achievement).tolist()
    clamped = achievement(frame["target"], frame["realization"], polarity,
                          rules.achievement).tolist()
    ids, names, units = (_column(frame, c) for c in (id_column, "indicator", "unit_of_measure"))
    targets = frame["target"].tolist()
    realisations = frame["realization"].tolist()
    weights = frame["weight"].astype("float64").fillna(1.0).tolist()
    out = []
    for i, code in enumerate(polarity.tolist()):
        realisation = number(realisations[i])
        unclamped = number(raw[i])
        out.append({
            id_column: text(ids[i]),
            "indicator": text(names[i]),
            "polarity": str(code),
            "target": number(targets[i]),
            "realisation": realisation,
            "weight": number(weights[i]),
            "unit_of_measure": text(units[i]),
            "reported": realisation is not None,
            "unclamped": unclamped,
            "clamped": realisation is not None and unclamped != float(clamped[i]),
            "score": float(clamped[i]),
            "source": str(refs[i]),
        })
    return out


def _groups(keys: Sequence[str]) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        found.setdefault(str(key), []).append(i)
    return found


class _Batch:
    """The scoring functions over a set of employees' rows at once, kept per cell and row."""

    def __init__(self, ex: Explainer, nips: list[str]) -> None:
        self.ex = ex
        rules, inputs, days = ex.rules, ex.inputs, ex.days
        att_rules = rules.attendance
        empty = np.zeros(0, dtype=np.int64)

        def gather(at: Mapping[str, np.ndarray]) -> np.ndarray:
            parts = [at.get(n, empty) for n in nips]
            return np.concatenate(parts) if parts else empty

        self.employees = inputs.employees.iloc[gather(ex._employee_at)].reset_index(drop=True)
        self.employee_refs = ex._refs["employees"][gather(ex._employee_at)]
        self.row_of = {n: i for i, n in enumerate(self.employees["nip"].astype(str))}

        # Attendance: the grid of scoring, for these employees only.
        attendance_at = gather(ex._attendance_at)
        rows = inputs.attendance.iloc[attendance_at].reset_index(drop=True)
        self.attendance_refs = ex._refs["attendance"][attendance_at]
        self.counts = score_attendance(self.employees, rows, days, att_rules)
        self.active, self.status, self.check_in, self.check_out = merged_grid(
            self.employees, rows, days, att_rules)
        (self.late, self.early, self.late_deduction, self.early_deduction, self.late_hit,
         self.early_hit) = present_penalties(self.status, self.check_in, self.check_out, days,
                                             att_rules)
        self.deduction = daily_deductions(self.status, self.late_deduction,
                                          self.early_deduction, self.active, att_rules)
        n = len(self.employees)
        if days.count:
            self.month_deduction, self.month_active, self.month_score = monthly_scores(
                self.deduction, self.active, days.month_starts, att_rules)
        else:
            self.month_deduction = self.month_score = np.zeros((n, 0))
            self.month_active = np.zeros((n, 0), dtype=bool)
        self.discipline = monthly_discipline(self.deduction, self.active, days.month_starts,
                                             att_rules)
        row_employee = np.asarray(
            [self.row_of.get(str(v), -1) for v in rows["nip"].tolist()], dtype=np.int64)
        row_day = days.index_of(rows["date"]) if len(rows) else np.zeros(0, dtype=np.int32)
        self.row_status = np.asarray([str(v) for v in rows["status"].tolist()], dtype=object)
        self.row_in = rows["check_in"].to_numpy(dtype=np.float64)
        self.row_out = rows["check_out"].to_numpy(dtype=np.float64)
        self.rows_at: dict[int, list[int]] = {}
        for i, (e, d) in enumerate(zip(row_employee.tolist(), row_day.tolist(), strict=True)):
            if e >= 0 and d >= 0:
                self.rows_at.setdefault(e * days.count + d, []).append(i)

        # SKP, in score_period's order (nip, indicator_id): a weighted sum in another order
        # could differ in its last bit from the published one.
        skp_at = gather(ex._skp_at)
        skp = inputs.skp.iloc[skp_at].reset_index(drop=True).assign(_ref=ex._refs["skp"][skp_at])
        skp = skp.assign(nip=skp["nip"].astype(TEXT), indicator_id=skp["indicator_id"].astype(TEXT))
        skp = skp.sort_values(["nip", "indicator_id"], kind="stable").reset_index(drop=True)
        self.indicators = _indicators(skp, skp["_ref"].tolist(), "indicator_id", rules)
        self.indicators_of = _groups(skp["nip"].tolist())
        scored = pd.DataFrame({
            "nip": skp["nip"],
            "weight": skp["weight"].astype("float64").fillna(1.0),
            "achievement": pd.Series([i["score"] for i in self.indicators], dtype="float64"),
        })
        self.results = weighted_mean(scored, "nip", "achievement")

        # Ratings: the counting row of each employee and the ones it replaced.
        ratings_at = gather(ex._ratings_at)
        ratings = inputs.ratings.iloc[ratings_at].reset_index(drop=True)
        self.rating_refs = ex._refs["ratings"][ratings_at]
        self.latest = latest_ratings(ratings, rules.behavior_aspects)
        self.behavior = behavior_scores(self.latest, rules) if len(self.latest) else \
            pd.Series(dtype="float64")
        self.ratings_of = _groups(ratings["nip"].astype(str).tolist())
        self.counted = set(counting_rows(ratings).tolist()) if len(ratings) else set()
        self.rating_values = {c: _column(ratings, c) for c in (
            "rated_at", "rater_nip", "results_rating", "behavior_rating")}

        # The appraisal and follow-ups, by the scoring functions; the rank is the agency's.
        appraisal = build_appraisal(self.employees, self.counts, self.results, self.latest,
                                    ex._iku, rules)
        appraisal["rank_in_unit"] = pd.array(
            [ex._rank.get(str(v)) for v in appraisal["nip"].tolist()], dtype="Int64")
        self.appraisal = appraisal
        self.followup = build_followup(appraisal, self.counts, ex._units, self.latest,
                                       inputs.prior_absent_days, inputs.prior_predikat,
                                       ex.period, rules)

    # -- one employee ----------------------------------------------------------------------------

    def explanation(self, nip: str) -> dict[str, Any]:
        ex, i = self.ex, self.row_of[nip]
        row = self.appraisal.iloc[i]
        unit_code = str(row["unit_code"])
        unit = copy.deepcopy(ex.unit(unit_code))  # each explanation owns its dicts
        discipline = self._discipline(i)
        indicators = [self.indicators[k] for k in self.indicators_of.get(nip, [])]
        components = [
            {"component": c, "score": number(row[COMPONENT_COLUMNS[c]]),
             "weight": float(ex.rules.component_weights[c]),
             "counted": number(row[COMPONENT_COLUMNS[c]]) is not None}
            for c in COMPONENTS
        ]
        explanation: dict[str, Any] = {
            "agency_code": ex.inputs.agency_code,
            "period_id": ex.period.id,
            "nip": nip,
            "run_id": ex.lineage.run_id,
            "policy": {"name": ex.lineage.policy_name, "sha256": ex.lineage.policy_hash},
            "employee": self._employee(i),
            "discipline": discipline,
            "achievement": {"score": number(row["results_score"]), "indicators": indicators},
            "behavior": self._behavior(nip),
            "unit": unit,
            "components": components,
            "final_score": number(row["final_score"]),
            "results_rating": text(row["results_rating"]),
            "behavior_rating": text(row["behavior_rating"]),
            "predikat": text(row["predikat"]),
            "status": str(row["status"]),
            "rank_in_unit": integer(row["rank_in_unit"]),
            "followup": self._followup(i, nip, discipline, unit),
            "quarantined": ex._quarantined.get(nip, []),
            "sources": [dict(s) for s in ex.lineage.sources],
        }
        explanation["final"] = ex._final_text(explanation)
        return explanation

    def _employee(self, i: int) -> dict[str, Any]:
        row = self.employees.iloc[i]
        unit_code = str(row["unit_code"])
        return {
            "name": text(row.get("name")),
            "unit_code": unit_code,
            "unit_name": self.ex._unit_names.get(unit_code),
            "employee_type": text(row.get("employee_type")),
            "position_type": text(row.get("position_type")),
            "position_name": text(row.get("position_name")),
            "grade": text(row.get("grade")),
            "supervisor_nip": text(row.get("supervisor_nip")),
            "active_from": iso_day(row.get("active_from")),
            "active_to": iso_day(row.get("active_to")),
            "source": str(self.employee_refs[i]),
        }

    def _discipline(self, i: int) -> dict[str, Any]:
        rules, days = self.ex.rules.attendance, self.ex.days
        precedence = rules.merge_precedence
        absent_rank = precedence.index(rules.absent_status)
        present_rank = precedence.index(rules.present_status)
        status = self.status[i]
        listed = self.active[i] & ((self.deduction[i] > 0) | self.late_hit[i]
                                   | self.early_hit[i] | (status == absent_rank))
        months: list[dict[str, Any]] = []
        bounds = [*days.month_starts.tolist(), days.count]
        for m in range(len(days.month_starts)):
            if not self.month_active[i, m]:
                continue
            start, stop = bounds[m], bounds[m + 1]
            entries = []
            for d in (start + np.flatnonzero(listed[start:stop])).tolist():
                cell_status = int(status[d])
                present = cell_status == present_rank
                on_day = self.rows_at.get(i * days.count + d, [])
                source = _winning_row(on_day, self.row_status, self.row_in, self.row_out,
                                      precedence[cell_status],
                                      present and bool(self.late_hit[i, d]),
                                      present and bool(self.early_hit[i, d]))
                entries.append({
                    "date": str(days.dates[d]),
                    "status": precedence[cell_status],
                    "check_in": clock(self.check_in[i, d]) if present else None,
                    "check_out": clock(self.check_out[i, d]) if present else None,
                    "late_minutes": int(self.late[i, d]),
                    "early_minutes": int(self.early[i, d]),
                    "late_deduction": float(self.late_deduction[i, d]),
                    "early_deduction": float(self.early_deduction[i, d]),
                    "deduction": float(self.deduction[i, d]),
                    "source": None if source is None else str(self.attendance_refs[source]),
                    "rows": [str(self.attendance_refs[r]) for r in on_day],
                })
            months.append({
                "month": str(days.dates[start].astype("datetime64[M]")),
                "working_days": int(self.active[i, start:stop].sum()),
                "deduction": float(self.month_deduction[i, m]),
                "score": float(self.month_score[i, m]),
                "days": entries,
            })
        run_start, run_length = longest_run_span((status == absent_rank) & self.active[i])
        c = self.counts.iloc[i]
        return {
            "score": number(self.discipline[i]),
            **{column: int(c[column]) for column in (
                "working_days", "present_days", "sick_days", "permit_days", "leave_days",
                "duty_days", "absent_days", "late_count", "late_minutes", "early_count",
                "early_minutes")},
            "deduction_pct": float(c["deduction_pct"]),
            "monthly_base": float(rules.monthly_base),
            "monthly_floor": float(rules.monthly_floor),
            "months": months,
            "longest_absence_run": {
                "days": run_length,
                "dates": [str(d) for d in days.dates[run_start:run_start + run_length]],
            },
        }

    def _behavior(self, nip: str) -> dict[str, Any]:
        rules = self.ex.rules
        values = self.rating_values
        history = [{
            "source": str(self.rating_refs[k]),
            "rated_at": iso_moment(values["rated_at"][k]),
            "rater_nip": text(values["rater_nip"][k]),
            "results_rating": text(values["results_rating"][k]),
            "behavior_rating": text(values["behavior_rating"][k]),
            "counted": k in self.counted,
        } for k in self.ratings_of.get(nip, [])]
        history.sort(key=lambda h: (h["rated_at"] or "", h["source"]))
        counted = [h for h in history if h["counted"]]
        if not counted:
            return {"score": None, "results_rating": None, "behavior_rating": None,
                    "rated_at": None, "rater_nip": None, "aspects": {}, "points": {},
                    "basis": None, "source": None, "replaced": [], "history": history}
        used = counted[0]
        latest = self.latest.loc[nip]
        aspects = {a: text(latest[a]) for a in rules.behavior_aspects}
        points = {a: float(rules.rating_points[v]) for a, v in aspects.items() if v is not None}
        return {
            "score": number(self.behavior.get(nip)),
            "results_rating": text(latest["results_rating"]),
            "behavior_rating": text(latest["behavior_rating"]),
            "rated_at": used["rated_at"],
            "rater_nip": used["rater_nip"],
            "aspects": aspects,
            "points": points,
            "basis": "aspects" if points else "behavior_rating",
            "source": used["source"],
            "replaced": [h["source"] for h in history if not h["counted"]],
            "history": history,
        }

    def _followup(self, i: int, nip: str, discipline: dict[str, Any],
                  unit: dict[str, Any]) -> dict[str, Any]:
        ex = self.ex
        result = self.followup.iloc[i]
        absent = int(self.counts["absent_days"].iloc[i])
        run = discipline["longest_absence_run"]
        if run["days"] != int(self.counts["longest_absence_run"].iloc[i]):
            raise RuntimeError(f"{nip}: longest absence run {run['days']} is not scoring's "
                               f"{int(self.counts['longest_absence_run'].iloc[i])}")
        predikat = text(self.appraisal["predikat"].iloc[i])
        status = str(self.appraisal["status"].iloc[i])
        followup: dict[str, Any] = {
            "reward_candidate": bool(result["reward_candidate"]),
            "coaching_required": bool(result["coaching_required"]),
            "training_needs": [a for a in str(result["training_needs"] or "").split(",") if a],
            "absent_days": absent,
            "absent_days_earlier": int(result["absent_days_ytd"]) - absent,
            "absent_days_ytd": int(result["absent_days_ytd"]),
            "sanction": str(result["discipline_sanction"]),
            "promotion_eligible": bool(result["promotion_eligible"]),
            "reward_quota": unit["reward_quota"],
            "appraised_in_unit": unit["appraised_count"],
            "promotion_chain": ex.promotion_chain(nip, predikat),
        }
        followup["reasons"] = ex._reasons(followup, status, predikat,
                                          integer(self.appraisal["rank_in_unit"].iloc[i]), run)
        return followup


def _winning_row(on_day: np.ndarray, row_status: np.ndarray, row_in: np.ndarray,
                 row_out: np.ndarray, winner: str, late: bool, early: bool) -> int | None:
    """Position, among the employee's rows, of the row that decided a day (None: no row).

    Of the rows with the winning status: the one whose check_in the merged day took when it is
    late (the earliest; the first of equal ones), else the one whose check_out it took when it
    left early (the latest), else the first.
    """
    candidates = [int(i) for i in on_day if row_status[i] == winner]
    if not candidates:
        return None
    if late or early:
        times = (row_in if late else row_out)[candidates]
        if not np.isnan(times).all():
            pick = np.nanargmin(times) if late else np.nanargmax(times)
            return candidates[int(pick)]
    return candidates[0]


def _share(fraction: Any) -> str:
    return format_number(float(fraction) * 100, 0) + "%"


def _positions_by(frame: pd.DataFrame, column: str) -> dict[str, np.ndarray]:
    """Row positions of `frame` per value of `column` (in frame order)."""
    if frame.empty:
        return {}
    keys = frame[column].astype(str).to_numpy()
    groups = pd.Series(np.arange(len(keys), dtype=np.int64)).groupby(keys, sort=False)
    return {str(k): v.to_numpy(dtype=np.int64) for k, v in groups}


def _quarantine_by_nip(quarantine: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """The quarantined rows that name an employee (their payload's nip), per nip."""
    found: dict[str, list[dict[str, Any]]] = {}
    if quarantine is None or quarantine.empty:
        return found
    for dataset, ref, reasons, payload in quarantine[
            ["dataset", "record_ref", "reasons", "payload"]].itertuples(index=False):
        try:
            row = json.loads(payload) if isinstance(payload, str) else dict(payload or {})
        except (TypeError, ValueError):
            continue
        nip = str(row.get("nip") or "").strip()
        if nip:
            found.setdefault(nip, []).append(
                {"dataset": str(dataset), "source": str(ref), "reasons": str(reasons),
                 "row": row})
    return found
