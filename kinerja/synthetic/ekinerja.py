"""The e-kinerja exports of a period: skp.csv, ratings.csv and unit_iku.csv."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from kinerja.period import Period
from kinerja.synthetic import badrows as bad
from kinerja.synthetic import names
from kinerja.synthetic.common import (
    DatasetSummary,
    Seeds,
    Stream,
    draw_style,
    fmt_decimal,
    period_key,
    plan_bad,
    write_csv,
)
from kinerja.synthetic.master import Columns, with_bad_rows
from kinerja.synthetic.organisation import ADMINISTRATOR, JPT, Organisation
from kinerja.synthetic.population import People, Roster

SKP_COLUMNS = ("nip", "indicator_id", "indicator", "target", "realization", "unit_of_measure",
               "polarity", "weight")
RATING_COLUMNS = ("nip", "rater_nip", "rated_at", "results_rating", "behavior_rating",
                  *names.BERAKHLAK_ASPECTS)
IKU_COLUMNS = ("unit_code", "iku_id", "indicator", "target", "realization", "polarity", "weight")

NO_SKP_SHARE = 0.03
NOT_RATED_SHARE = 0.04
RERATED_SHARE = 0.04


def _active_days(roster: Roster) -> np.ndarray:
    """Calendar days each employee is in post during the period (0 for stale leavers)."""
    start = np.datetime64(roster.period.start, "D")
    end = np.datetime64(roster.period.end, "D")
    first = np.where(np.isnat(roster.active_from), start,
                     np.maximum(roster.active_from, start))
    last = np.where(np.isnat(roster.active_to), end, np.minimum(roster.active_to, end))
    return np.maximum((last - first).astype(np.int64) + 1, 0)


def _polarity_text(polarity: str, u: float) -> str:
    """MAX is often left empty (the default) or typed in any case; MIN always says so."""
    if polarity == "MAX":
        return "MAX" if u < 0.55 else "max" if u < 0.65 else "Max" if u < 0.75 else ""
    return "MIN" if u < 0.75 else "min" if u < 0.9 else "Min"


def _realization(spec: names.IndicatorSpec, target: float, achievement: float) -> float:
    """The realisation that gives `achievement` percent under the indicator's polarity."""
    ratio = achievement / 100 if spec.polarity == "MAX" else 2 - achievement / 100
    return round(max(target * ratio, 0.0), spec.decimals)


def _weights(count: int, u: np.ndarray) -> list[str]:
    """Per-employee weighting habit: none, all 1, percentages summing to 100, or fractions."""
    if u[0] < 0.4:
        return [""] * count
    if u[0] < 0.55:
        return ["1"] * count
    raw = 1 + np.floor(u[1:count + 1] * 4)
    if u[0] < 0.9:
        # Whole multiples of 5 summing to 100, each at least 5 (largest remainder).
        share = (20 - count) * raw / raw.sum()
        units = np.floor(share)
        units[np.argsort(-(share - units), kind="stable")[: int(20 - count - units.sum())]] += 1
        return [fmt_decimal(5 * (1 + k), 0) for k in units]
    return [fmt_decimal(w, 2) for w in raw / raw.sum()]


# --- skp -----------------------------------------------------------------------------------------


def skp_columns(seeds: Seeds, org: Organisation, people: People, roster: Roster) -> Columns:
    rng = seeds.rng(Stream.SKP, period_key(roster.period))
    n = len(roster)
    active = _active_days(roster)
    u = rng.random((n, 3))
    has_skp = (active > 0) & (u[:, 0] >= NO_SKP_SHARE) & ((active >= 30) | (u[:, 1] < 0.5))
    out: Columns = {c: [] for c in SKP_COLUMNS}
    for i in np.flatnonzero(has_skp):
        person = roster.person[i]
        position = org.positions[int(roster.position[i])]
        pool = names.SKP_INDICATORS.get(position.domain, names.SKP_INDICATORS["general"])
        pool = pool + names.SKP_INDICATORS["general"][:3]
        senior = position.position_type in (JPT, ADMINISTRATOR)
        count = int(rng.integers(4, 8) if senior else rng.integers(3, 7))
        chosen = rng.choice(len(pool), size=min(count, len(pool)), replace=False)
        draws = rng.random((len(chosen), 4))
        noise = rng.standard_normal(len(chosen))
        weights = _weights(len(chosen), rng.random(9))
        quality = people.results[person]
        for k, (j, d) in enumerate(zip(chosen, draws, strict=True)):
            spec = pool[j]
            target = round(spec.low + (spec.high - spec.low) * d[0], spec.decimals)
            target = max(target, 10.0 ** -spec.decimals)
            achievement = float(np.clip(95 + 7 * quality + 9 * noise[k], 20, 125))
            realization = _realization(spec, target, achievement)
            out["nip"].append(roster.nip[i])
            out["indicator_id"].append(f"IKI-{k + 1:02d}")
            out["indicator"].append(spec.text)
            out["target"].append(fmt_decimal(target, spec.decimals))
            out["realization"].append("" if d[1] < 0.03 else fmt_decimal(realization,
                                                                          spec.decimals))
            out["unit_of_measure"].append(spec.unit_of_measure)
            out["polarity"].append(_polarity_text(spec.polarity, d[2]))
            out["weight"].append(weights[k])
    return out


def _bad_skp(good: Columns, rate: float, rng: np.random.Generator,
             summary: DatasetSummary) -> list[dict[str, str]]:
    """Extra indicators under fresh ids (IKI-9xx) of real employees, each broken one way."""
    plan = plan_bad(len(good["nip"]), rate, bad.KINDS["skp"], rng)
    unknown = iter(bad.reserved_nips(rng, plan.get(bad.NIP_UNKNOWN, 0), bad.UNKNOWN_SEQ))
    fresh = iter(range(900, 10**7))
    rows: list[dict[str, str]] = []
    for kind, count in plan.items():
        for _ in range(count):
            base = int(rng.integers(len(good["nip"])))
            row = {c: values[base] for c, values in good.items()}
            row["indicator_id"] = f"IKI-{next(fresh)}"
            if not row["realization"]:
                row["realization"] = row["target"]
            u = rng.random()
            if kind in bad.NIP_KINDS:
                row["nip"] = bad.corrupt_nip(row["nip"], kind, u)
            elif kind == bad.NIP_UNKNOWN:
                row["nip"] = next(unknown)
            elif kind == bad.EMPTY_REQUIRED:
                row[("indicator_id", "target", "nip")[int(u * 3)]] = ""
            elif kind == bad.TARGET_ZERO:
                row["target"] = "0" if u < 0.7 else "0.00"
            elif kind == bad.TARGET_NEGATIVE:
                row["target"] = "-" + row["target"]
            elif kind == bad.REALIZATION_NEGATIVE:
                row["realization"] = "-" + row["realization"] if row["realization"] != "0" \
                    else "-1"
            elif kind == bad.DECIMAL_UNPARSEABLE:
                column = ("target", "realization", "weight")[int(u * 3)]
                row[column] = bad.BAD_DECIMALS[int(u * 1e3) % len(bad.BAD_DECIMALS)]
            elif kind == bad.POLARITY_UNKNOWN:
                row["polarity"] = bad.UNKNOWN_POLARITIES[int(u * len(bad.UNKNOWN_POLARITIES))]
            elif kind == bad.WEIGHT_NOT_POSITIVE:
                row["weight"] = "0" if u < 0.5 else "-10"
            elif kind == bad.DUPLICATE_KEY:
                rows.append(dict(row))
                row["realization"] = row["target"]
            rows.append(row)
        summary.add_bad(kind, count * (2 if kind == bad.DUPLICATE_KEY else 1))
    return rows


def write_skp(path: Path, seeds: Seeds, org: Organisation, people: People, roster: Roster,
              rate: float) -> DatasetSummary:
    key = period_key(roster.period)
    good = skp_columns(seeds, org, people, roster)
    summary = DatasetSummary()
    rng = seeds.rng(Stream.BAD, key, 4)
    columns = with_bad_rows(good, _bad_skp(good, rate, rng, summary), rng)
    summary.rows = write_csv(path, columns, draw_style(seeds.rng(Stream.STYLE, key, 6)))
    summary.paths = [path]
    return summary


# --- ratings -------------------------------------------------------------------------------------


def _label(latent: np.ndarray, high: float, low: float) -> np.ndarray:
    return np.where(latent > high, 0, np.where(latent < low, 2, 1))


def _spell(label: int, style: float) -> str:
    spellings = names.RATING_SPELLINGS[names.RATING_LABELS[label]]
    index = 0 if style < 0.45 else 1 + int((style - 0.45) / 0.55 * (len(spellings) - 1))
    return spellings[min(index, len(spellings) - 1)]


def _timestamp(moment: datetime, seconds: bool) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def _rating_row(nip: str, rater: str, moment: datetime, results: int, behaviour: int,
                aspects: list[int | None], style: float, seconds: bool) -> dict[str, str]:
    row = {"nip": nip, "rater_nip": rater, "rated_at": _timestamp(moment, seconds),
           "results_rating": _spell(results, style), "behavior_rating": _spell(behaviour, style)}
    for aspect, value in zip(names.BERAKHLAK_ASPECTS, aspects, strict=True):
        row[aspect] = "" if value is None else _spell(value, style)
    return row


def rating_rows(seeds: Seeds, people: People, roster: Roster) -> list[dict[str, str]]:
    """Each rated employee's final rating in the last four weeks of the period; some were rated
    earlier too (the later one replaces it); some are not rated at all."""
    period = roster.period
    rng = seeds.rng(Stream.RATINGS, period_key(period))
    n = len(roster)
    person = roster.person
    active = _active_days(roster)
    u = rng.random((n, 8))
    z = rng.standard_normal((n, 2 + len(names.BERAKHLAK_ASPECTS)))
    rated = (active >= 30) & (u[:, 0] >= NOT_RATED_SHARE) & (
        np.isnat(roster.active_to) | (u[:, 1] < 0.5))
    results = _label(people.results[person] + 0.5 * z[:, 0], 1.3, -1.8)
    behaviour = _label(people.behaviour[person] + 0.5 * z[:, 1], 1.35, -1.9)
    aspects = _label(people.behaviour[person][:, None] + 0.6 * z[:, 2:], 1.2, -1.5)
    aspect_mode = rng.random((n, len(names.BERAKHLAK_ASPECTS)))
    end = datetime(period.end.year, period.end.month, period.end.day, 16)
    rows: list[dict[str, str]] = []
    for i in np.flatnonzero(rated):
        # Aspects: all rated (most), none, or some left empty.
        mode = u[i, 2]
        filled = [True] * 7 if mode < 0.6 else [False] * 7 if mode < 0.8 else \
            list(aspect_mode[i] < 0.5)
        values = [int(aspects[i, k]) if filled[k] else None for k in range(7)]
        moment = end - timedelta(days=int(u[i, 3] * 27), minutes=int(u[i, 4] * 8 * 60))
        final = _rating_row(roster.nip[i], roster.supervisor_nip[i], moment, int(results[i]),
                            int(behaviour[i]), values, u[i, 5], u[i, 6] < 0.5)
        if u[i, 7] < RERATED_SHARE:
            earlier = moment - timedelta(days=28 + int(u[i, 3] * 14), minutes=17)
            first = _rating_row(roster.nip[i], roster.supervisor_nip[i], earlier,
                                (int(results[i]) + 1) % 3, int(behaviour[i]), values, u[i, 5],
                                u[i, 6] < 0.5)
            rows += [first, final] if u[i, 4] < 0.5 else [final, first]
        else:
            rows.append(final)
    return rows


def _bad_ratings(good: list[dict[str, str]], period: Period, rate: float,
                 rng: np.random.Generator, summary: DatasetSummary) -> list[dict[str, str]]:
    """Extra ratings of real employees dated 7-10 weeks before the period ends, before any good
    rating, so no (nip, rated_at) collides with a good row and none would win if accepted."""
    plan = plan_bad(len(good), rate, bad.KINDS["ratings"], rng)
    total = sum(plan.values())
    unknown = iter(bad.reserved_nips(rng, total, bad.UNKNOWN_SEQ))
    end = datetime(period.end.year, period.end.month, period.end.day, 9)
    rows: list[dict[str, str]] = []
    for kind, count in plan.items():
        for j in range(count):
            row = dict(good[int(rng.integers(len(good)))])
            moment = end - timedelta(days=49 + int(rng.random() * 21), minutes=j)
            row["rated_at"] = _timestamp(moment, True)
            u = rng.random()
            if kind in bad.NIP_KINDS:
                row["nip"] = bad.corrupt_nip(row["nip"], kind, u)
            elif kind == bad.NIP_UNKNOWN:
                row["nip"] = next(unknown)
            elif kind == bad.RATER_UNKNOWN:
                row["rater_nip"] = next(unknown)
            elif kind == bad.EMPTY_REQUIRED:
                row[("results_rating", "behavior_rating", "rated_at", "nip")[int(u * 4)]] = ""
            elif kind == bad.RATING_LABEL_UNKNOWN:
                column = ("results_rating", "behavior_rating", "kompeten")[int(u * 3)]
                row[column] = bad.UNKNOWN_RATINGS[int(u * 1e3) % len(bad.UNKNOWN_RATINGS)]
            elif kind == bad.TIMESTAMP_UNPARSEABLE:
                variants = (moment.strftime("%d/%m/%Y %H:%M"), moment.strftime("%Y-%m-%d"),
                            moment.strftime("%Y-%m-31 %H:%M") if moment.month in (6, 9, 11, 4)
                            else moment.strftime("%Y-02-30 %H:%M"), moment.strftime("%d %b %Y"))
                row["rated_at"] = variants[int(u * len(variants))]
            elif kind == bad.DUPLICATE_KEY:
                rows.append(dict(row))
                row["results_rating"] = _spell(2, 0.0)
            rows.append(row)
        summary.add_bad(kind, count * (2 if kind == bad.DUPLICATE_KEY else 1))
    return rows


def write_ratings(path: Path, seeds: Seeds, people: People, roster: Roster,
                  rate: float) -> DatasetSummary:
    key = period_key(roster.period)
    good_rows = rating_rows(seeds, people, roster)
    good: Columns = {c: [r[c] for r in good_rows] for c in RATING_COLUMNS}
    summary = DatasetSummary()
    rng = seeds.rng(Stream.BAD, key, 5)
    columns = with_bad_rows(good, _bad_ratings(good_rows, roster.period, rate, rng, summary), rng)
    style = draw_style(seeds.rng(Stream.STYLE, key, 7))
    summary.rows = write_csv(path, columns, style)
    summary.paths = [path]
    return summary


# --- unit IKU ------------------------------------------------------------------------------------

# Unit performance classes (share, lowest and highest base achievement): every org predikat of
# scoring.md section 6 occurs, most units are BAIK.
_UNIT_CLASSES = ((0.12, 111, 118), (0.50, 92, 108), (0.20, 72, 88), (0.12, 52, 68),
                 (0.06, 25, 45))


def unit_achievement(seeds: Seeds, units: int) -> np.ndarray:
    """A persistent base achievement per unit: a strong unit stays strong across periods."""
    rng = seeds.rng(Stream.IKU, 0)
    shares = np.array([c[0] for c in _UNIT_CLASSES])
    cls = rng.choice(len(_UNIT_CLASSES), size=units, p=shares / shares.sum())
    u = rng.random(units)
    low = np.array([c[1] for c in _UNIT_CLASSES])[cls]
    high = np.array([c[2] for c in _UNIT_CLASSES])[cls]
    return low + (high - low) * u


def iku_columns(seeds: Seeds, org: Organisation, period: Period) -> Columns:
    rng = seeds.rng(Stream.IKU, period_key(period))
    base = unit_achievement(seeds, len(org.units))
    out: Columns = {c: [] for c in IKU_COLUMNS}
    for index, unit in enumerate(org.units):
        if not unit.has_iku:
            continue
        pool = names.IKU_INDICATORS.get(unit.domain, names.IKU_INDICATORS["general"])
        if unit.domain != "general":
            pool = pool + names.IKU_INDICATORS["general"][:2]
        count = int(rng.integers(3, 7)) if unit.kind == "opd" else int(rng.integers(1, 4))
        chosen = rng.choice(len(pool), size=min(count, len(pool)), replace=False)
        draws = rng.random((len(chosen), 4))
        drift = rng.normal(0, 3)  # the unit's semester-to-semester variation
        for k, (j, d) in enumerate(zip(chosen, draws, strict=True)):
            spec = pool[j]
            target = round(spec.low + (spec.high - spec.low) * d[0], spec.decimals)
            target = max(target, 10.0 ** -spec.decimals)
            achievement = float(np.clip(base[index] + drift + 8 * (d[1] - 0.5), 5, 120))
            out["unit_code"].append(unit.code)
            out["iku_id"].append(f"IKU-{k + 1:02d}")
            out["indicator"].append(spec.text)
            out["target"].append(fmt_decimal(target, spec.decimals))
            realization = _realization(spec, target, achievement)
            out["realization"].append("" if d[2] < 0.01 else fmt_decimal(realization,
                                                                          spec.decimals))
            out["polarity"].append(_polarity_text(spec.polarity, d[3]))
            out["weight"].append("" if d[3] < 0.6 else "1" if d[3] < 0.8 else
                                 fmt_decimal(10 + 10 * int(d[0] * 3), 0))
    return out


def _bad_iku(good: Columns, rate: float, rng: np.random.Generator,
             summary: DatasetSummary) -> list[dict[str, str]]:
    plan = plan_bad(len(good["unit_code"]), rate, bad.KINDS["unit_iku"], rng)
    fresh = iter(range(90, 10**7))
    rows: list[dict[str, str]] = []
    for kind, count in plan.items():
        for _ in range(count):
            base = int(rng.integers(len(good["unit_code"])))
            row = {c: values[base] for c, values in good.items()}
            row["iku_id"] = f"IKU-{next(fresh)}"
            if not row["realization"]:
                row["realization"] = row["target"]
            u = rng.random()
            if kind == bad.UNIT_UNKNOWN:
                row["unit_code"] = bad.UNKNOWN_UNIT_CODES[int(u * len(bad.UNKNOWN_UNIT_CODES))]
            elif kind == bad.EMPTY_REQUIRED:
                row[("unit_code", "iku_id", "target")[int(u * 3)]] = ""
            elif kind == bad.TARGET_ZERO:
                row["target"] = "0"
            elif kind == bad.TARGET_NEGATIVE:
                row["target"] = "-" + row["target"]
            elif kind == bad.REALIZATION_NEGATIVE:
                row["realization"] = "-" + row["realization"] if row["realization"] != "0" \
                    else "-1"
            elif kind == bad.DECIMAL_UNPARSEABLE:
                column = ("target", "realization", "weight")[int(u * 3)]
                row[column] = bad.BAD_DECIMALS[int(u * 1e3) % len(bad.BAD_DECIMALS)]
            elif kind == bad.POLARITY_UNKNOWN:
                row["polarity"] = bad.UNKNOWN_POLARITIES[int(u * len(bad.UNKNOWN_POLARITIES))]
            elif kind == bad.WEIGHT_NOT_POSITIVE:
                row["weight"] = "0" if u < 0.5 else "-1"
            elif kind == bad.DUPLICATE_KEY:
                rows.append(dict(row))
            rows.append(row)
        summary.add_bad(kind, count * (2 if kind == bad.DUPLICATE_KEY else 1))
    return rows


def write_unit_iku(path: Path, seeds: Seeds, org: Organisation, period: Period,
                   rate: float) -> DatasetSummary:
    key = period_key(period)
    good = iku_columns(seeds, org, period)
    summary = DatasetSummary()
    rng = seeds.rng(Stream.BAD, key, 6)
    columns = with_bad_rows(good, _bad_iku(good, rate, rng, summary), rng)
    summary.rows = write_csv(path, columns, draw_style(seeds.rng(Stream.STYLE, key, 8)))
    summary.paths = [path]
    return summary
