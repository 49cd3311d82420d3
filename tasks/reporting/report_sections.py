"""The sections of the report pages: each is one function that builds its template's context,
registered for a page, and one template `templates/sections/<page>/<id>.html.j2`.

Pages: `index` (the agency report, whose size must not grow with the number of employees: it
shows counts, per-OPD rows and the N lowest and highest, never lists of people), `opd` (one
top-level unit: its units nested, its people and follow-ups in full) and `quality` (every
quarantine reason and every expectation of the suite).

To add a section (as the agency page's rater calibration, `kalibrasi`, was added): write

    @section("index", "kalibrasi", "Kalibrasi penilai")
    def _index_calibration(scope: Scope) -> dict[str, Any]:
        return {...}                          # what the template shows

and `templates/sections/index/kalibrasi.html.j2`, which receives it as `s` (and `scope`, `links`,
`data`). Sections appear in the order they are registered; the table of contents follows.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from schemas.sources import BERAKHLAK_ASPECTS
from tasks.reporting.report import Links, ReportData, opd_file
from tasks.reporting.report_charts import (
    Point,
    Row,
    bar_list_chart,
    column_chart,
    dot_chart,
    scatter_chart,
)
from tasks.reporting.report_text import (
    ASPECT_LABELS,
    DATASET_LABELS,
    PREDIKAT_COLORS,
    PREDIKAT_LABELS,
    PREDIKAT_ORDER,
    SANCTION_LABELS,
    SANCTION_LEVELS,
    format_int,
    format_number,
    format_pct,
    missing,
    period_title,
    rule_sentence,
    rule_text,
    translate_reasons,
)

# Charts of a long list show this many lowest and highest; the rest is in the tables/pages.
CHART_ENDS = 10
# Units named beside the agency's IKU/budget scatter (the lowest IKU scores).
SCATTER_MARKS = 10
# Quarantine reason kinds on the index (all are on the quality page).
INDEX_REASONS = 12
# Lenient raters named in sentences on the index (all are in the workbook's Kalibrasi Penilai).
CALIBRATION_SENTENCES = 100
# Quarantined rows shown per dataset on the quality page; the workbook and the quarantine
# table hold every row.
QUARANTINE_SAMPLE = 50


@dataclass
class Scope:
    """What one page shows: the whole agency (`opd` None) or one OPD's part of it."""

    page: str
    data: ReportData
    links: Links
    opd: dict[str, Any] | None
    employees: pd.DataFrame  # the agency's frames (all rows) on the index and quality pages
    units: pd.DataFrame
    checks: pd.DataFrame
    # The page's rows as dicts (the OPD's on an OPD page), converted once per report.
    people: list[dict[str, Any]]
    unit_list: list[dict[str, Any]]
    check_list: list[dict[str, Any]]


@dataclass(frozen=True)
class Section:
    page: str
    id: str
    title: str
    build: Callable[[Scope], dict[str, Any]]

    @property
    def template(self) -> str:
        return f"sections/{self.page}/{self.id}.html.j2"


SECTIONS: list[Section] = []


def section(page: str, id: str, title: str) -> Callable[[Callable[[Scope], dict[str, Any]]],
                                                       Callable[[Scope], dict[str, Any]]]:
    """Register a section builder for `page` (`index`, `opd` or `quality`)."""
    def register(build: Callable[[Scope], dict[str, Any]]) -> Callable[[Scope], dict[str, Any]]:
        SECTIONS.append(Section(page, id, title, build))
        return build
    return register


def page_context(page: str, data: ReportData, links: Links,
                 opd: dict[str, Any] | None) -> dict[str, Any]:
    scope = _scope(page, data, links, opd)
    sections = [{"id": s.id, "title": s.title, "template": s.template, "s": s.build(scope)}
                for s in SECTIONS if s.page == page]
    titles = {"index": "Laporan Penilaian Kinerja ASN",
              "opd": f"Laporan Penilaian Kinerja ASN — {opd['unit_name']}" if opd else "",
              "quality": "Mutu Data Penilaian Kinerja ASN"}
    return {
        "page": page,
        "heading": titles[page],
        "title": f"{titles[page]} {data.agency_name} {data.period.id}",
        "data": data,
        "links": links,
        "opd": opd,
        "period_title": period_title(data.period),
        "sections": sections,
    }


def _scope(page: str, data: ReportData, links: Links, opd: dict[str, Any] | None) -> Scope:
    rows = _rows_by_opd(data)
    if opd is None:
        return Scope(page, data, links, None, data.employees, data.units, data.checks,
                     rows["people"][None], rows["units"][None], rows["checks"][None])
    code = opd["unit_code"]
    return Scope(page, data, links, opd, data.employees, data.units, data.checks,
                 *(rows[name].get(code, []) for name in ("people", "units", "checks")))


def _rows_by_opd(data: ReportData) -> dict[str, dict[str | None, list[dict[str, Any]]]]:
    """People, units and checks as dicts, all (key None) and per OPD: converted once per
    report, not once per page (pandas costs a fixed time per call, per OPD it adds up)."""
    cache = data.__dict__.setdefault("_rows_by_opd", {})
    if not cache:
        frames = {"people": data.employees[[c for c in PEOPLE_COLUMNS
                                            if c in data.employees.columns]],
                  "units": data.units, "checks": data.checks}
        for name, frame in frames.items():
            every = records(frame)
            split: dict[str | None, list[dict[str, Any]]] = {None: every}
            for row in every:
                split.setdefault(row["opd_code"], []).append(row)
            cache[name] = split
    return cache


# Helpers --------------------------------------------------------------------------------------


def _memo(data: ReportData, key: Any, compute: Callable[[], Any]) -> Any:
    """`compute()` once per report: the index is rendered twice (in its folder and as the
    `_laporan.html` copy) and several sections, pages and workbooks show the same figures,
    each a pass over every employee at province scale."""
    cache = data.__dict__.setdefault("_section_memo", {})
    if key not in cache:
        cache[key] = compute()
    return cache[key]


def opd_headline(data: ReportData, opd_code: str | None) -> dict[str, Any]:
    """`headline` of the agency (None) or of one OPD, from the report's rows."""
    def compute() -> dict[str, Any]:
        rows = _rows_by_opd(data)
        return headline(*(rows[name].get(opd_code, []) for name in ("people", "units",
                                                                     "checks")))
    return _memo(data, ("headline", opd_code), compute)


def calibration_records(data: ReportData) -> list[dict[str, Any]]:
    """The rater calibration's rows (its sentences on lenient raters written with the
    employees' and units' names), for the index and the workbook."""
    def compute() -> list[dict[str, Any]]:
        calibration = data.calibration
        assert calibration is not None
        names = dict(zip(data.employees["nip"].astype(str),
                         data.employees["name"].astype(str), strict=True))
        unit_names = dict(zip(data.units["unit_code"].astype(str),
                              data.units["unit_name"].astype(str), strict=True))
        calibration.with_names(names, unit_names)
        return calibration.records()
    return _memo(data, "calibration_records", compute)


def _headline(scope: Scope) -> dict[str, Any]:
    return opd_headline(scope.data, None if scope.opd is None else scope.opd["unit_code"])


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts with None for every missing value (NaN would print as `nan`)."""
    if frame.empty:
        return []
    columns = [_objects(frame[name]) for name in frame.columns]
    names = list(frame.columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def _objects(column: pd.Series) -> list[Any]:
    """The column's values as Python objects, None for missing ones. Arrow text (labels,
    codes) would become one new string per row, 100,000 copies of a handful of labels at
    province scale: each distinct text is made once and shared by its rows."""
    if isinstance(column.dtype, pd.StringDtype):
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
        if len(uniques) * 4 <= len(column):
            shared = np.empty(len(uniques) + 1, dtype=object)
            shared[:-1] = uniques.to_numpy(dtype=object)
            shared[-1] = None  # code -1: missing
            return shared[codes].tolist()
    return column.to_numpy(dtype=object, na_value=None).tolist()


def _flag(frame: pd.DataFrame, column: str) -> pd.Series:
    return frame[column].fillna(False).astype(bool)


def headline(people: list[dict[str, Any]], units: list[dict[str, Any]],
             checks: list[dict[str, Any]]) -> dict[str, Any]:
    appraised = [p for p in people if p["status"] == "APPRAISED"]
    finals = [p["final_score"] for p in appraised if p["final_score"] is not None]
    checked: dict[str, bool] = {}
    for check in checks:
        checked[check["unit_code"]] = checked.get(check["unit_code"], False) or \
            bool(check["breach"])
    return {
        "employees": len(people),
        "appraised": len(appraised),
        "not_rated": sum(p["status"] == "NOT_RATED" for p in people),
        "inactive": sum(p["status"] == "INACTIVE" for p in people),
        "mean_final": sum(finals) / len(finals) if finals else None,
        "units": len(units),
        "rewards": sum(bool(p["reward_candidate"]) for p in people),
        "coaching": sum(bool(p["coaching_required"]) for p in people),
        "training": sum(bool(p["training_needs"]) for p in people),
        "sanctioned": sum((p["discipline_sanction"] or "NONE") != "NONE" for p in people),
        "promotion": sum(bool(p["promotion_eligible"]) for p in people),
        "checked_units": len(checked),
        "breach_units": sum(checked.values()),
    }


def predikat_rows(people: list[dict[str, Any]]) -> list[dict[str, Any]]:
    counts = Counter(p["predikat"] for p in people if p["status"] == "APPRAISED")
    total = sum(counts.values())
    return [{"code": p, "label": PREDIKAT_LABELS[p], "colour": PREDIKAT_COLORS[p],
             "count": counts.get(p, 0),
             "share": counts.get(p, 0) / total if total else None} for p in PREDIKAT_ORDER]


def predikat_chart(rows: list[dict[str, Any]], title: str) -> Any:
    return column_chart([(r["label"], r["count"], r["colour"]) for r in rows], title)


def stack(counts: dict[str, int]) -> list[dict[str, Any]]:
    """Segments of a 100% bar of predikat counts (for the per-OPD and per-unit rows)."""
    total = sum(counts.values())
    if not total:
        return []
    return [{"code": p, "label": PREDIKAT_LABELS[p], "count": counts[p],
             "width": round(100 * counts[p] / total, 2)} for p in PREDIKAT_ORDER if counts[p]]


def ends(rows: list[Any], key: Callable[[Any], float], n: int = CHART_ENDS) -> list[Any]:
    """All rows sorted by `key` when there are few; else the n lowest and the n highest."""
    ordered = sorted(rows, key=key)
    if len(ordered) <= 2 * n:
        return ordered
    return ordered[:n] + ordered[-n:]


_SUMMED = ("working_days", "present_days", "sick_days", "permit_days", "leave_days",
           "duty_days", "absent_days", "late_count", "early_count")


def attendance_by(people: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    """Attendance sums and discipline means per `key`, over employees with working days."""
    out: dict[str, dict[str, Any]] = {}
    for p in people:
        if not p["working_days"]:
            continue
        row = out.setdefault(p[key], {**dict.fromkeys(_SUMMED, 0), "employees": 0,
                                      "_discipline": [], })
        row["employees"] += 1
        for column in _SUMMED:
            row[column] += p[column] or 0
        if p["discipline_score"] is not None:
            row["_discipline"].append(p["discipline_score"])
    for row in out.values():
        scores = row.pop("_discipline")
        row["discipline"] = sum(scores) / len(scores) if scores else None
        row["attendance_pct"] = 100 * row["present_days"] / row["working_days"]
        row["absent_per_employee"] = row["absent_days"] / row["employees"]
        row["late_per_employee"] = row["late_count"] / row["employees"]
    return out


def _check_groups(checks: list[dict[str, Any]],
                  units: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per checked unit (not one per rule): its org predikat and IKU beside every
    rule sentence of its checks."""
    info = {u["unit_code"]: u for u in units}
    out: dict[str, dict[str, Any]] = {}
    for check in checks:
        code = check["unit_code"]
        group = out.get(code)
        if group is None:
            unit = info.get(code, {})
            group = out[code] = {
                "unit_code": code, "unit_name": check["unit_name"],
                "org_predikat": check["org_predikat"], "iku_score": unit.get("iku_score"),
                "appraised": int(unit.get("appraised_count") or 0), "breach": False,
                "anchor": f"u-{unit['unit_order']}" if unit else None, "checks": []}
        breach = bool(check["breach"])
        group["checks"].append({"sentence": rule_sentence(check), "breach": breach})
        group["breach"] = group["breach"] or breach
    return list(out.values())


# The agency report (index) --------------------------------------------------------------------


@section("index", "ringkasan", "Ringkasan")
def _index_summary(scope: Scope) -> dict[str, Any]:
    data = scope.data
    files = data.source_files
    rows = predikat_rows(scope.people)
    return {
        "h": _headline(scope),
        "opds": len(data.opds),
        "rows_read": int(files["rows_read"].sum()),
        "rows_quarantined": int(files["rows_quarantined"].sum()),
        "quality": data.quality,
        "predikat_rows": rows,
        "predikat_chart": predikat_chart(rows, "Distribusi predikat pegawai yang dinilai"),
    }


def opd_rows(data: ReportData, links: Links) -> list[dict[str, Any]]:
    """One row per OPD: its own unit's figures and its whole subtree's counts."""
    return _memo(data, ("opd_rows", links), lambda: _opd_rows(data, links))


def _opd_rows(data: ReportData, links: Links) -> list[dict[str, Any]]:
    employees, units = data.employees, data.units
    appraised = employees[employees["status"] == "APPRAISED"]
    counts = (appraised.groupby(["opd_code", "predikat"]).size().unstack(fill_value=0)
              .reindex(columns=list(PREDIKAT_ORDER), fill_value=0))
    staff = employees.groupby("opd_code").size()
    mean = appraised.groupby("opd_code")["final_score"].mean()
    unit_count = units.groupby("opd_code").size()
    checked = (data.checks.assign(breach=data.checks["breach"].astype(bool))
               .groupby(["opd_code", "unit_code"])["breach"].any().reset_index())
    n_checked = checked.groupby("opd_code").size()
    n_breach = checked.groupby("opd_code")["breach"].sum()
    # Plain dicts: a pandas lookup per OPD and predikat costs a fixed time that adds up.
    by_opd = counts.to_dict("index")
    own = units.set_index("unit_code")[["org_predikat", "iku_score"]]
    own = own[~own.index.duplicated(keep="first")].to_dict("index")
    out = []
    for number, opd in enumerate(data.opds.to_dict("records"), start=1):
        code = opd["unit_code"]
        c = {p: int(by_opd[code][p]) if code in by_opd else 0 for p in PREDIKAT_ORDER}
        unit = own.get(code)
        out.append({
            "no": number, "unit_code": code, "unit_name": opd["unit_name"],
            "href": links.opd(code), "workbook": links.opd_workbook(code),
            "org_predikat": None if unit is None else unit["org_predikat"],
            "iku_score": None if unit is None or missing(unit["iku_score"])
            else unit["iku_score"],
            "units": int(unit_count.get(code, 0)), "employees": int(staff.get(code, 0)),
            "appraised": sum(c.values()), "counts": c, "stack": stack(c),
            "mean_final": mean.get(code),
            "checked": int(n_checked.get(code, 0)), "breach": int(n_breach.get(code, 0)),
        })
    return out


@section("index", "opd", "Hasil per OPD")
def _index_opds(scope: Scope) -> dict[str, Any]:
    return {"rows": opd_rows(scope.data, scope.links)}


@section("index", "kurva", "Kurva distribusi")
def _index_curve(scope: Scope) -> dict[str, Any]:
    checks = scope.checks
    rules = []
    if len(checks):
        for _, rows in checks.groupby(["org_predikat", "rule"], sort=False):
            first = records(rows.head(1))[0]
            rules.append({"text": rule_text(first), "units": rows["unit_code"].nunique(),
                          "breach": int(rows.loc[rows["breach"].astype(bool),
                                                 "unit_code"].nunique())})
    by_opd = sorted((r for r in opd_rows(scope.data, scope.links) if r["breach"]),
                    key=lambda r: (-r["breach"], r["unit_name"]))
    return {"h": _headline(scope), "rules": rules,
            "worst": by_opd[:CHART_ENDS], "more": max(0, len(by_opd) - CHART_ENDS)}


@section("index", "kehadiran", "Kehadiran dan disiplin")
def _index_attendance(scope: Scope) -> dict[str, Any]:
    data, links = scope.data, scope.links
    names = dict(zip(data.opds["unit_code"], data.opds["unit_name"], strict=True))
    rows = [{"unit_code": code, "unit_name": names.get(code, code), "href": links.opd(code),
             **record} for code, record in _memo(
                 data, "attendance_by_opd",
                 lambda: attendance_by(scope.people, "opd_code")).items()]
    rows.sort(key=lambda r: r["unit_name"])
    return _attendance_charts(rows, "OPD") | {"rows": rows}


def _attendance_charts(rows: list[dict[str, Any]], what: str) -> dict[str, Any]:
    shown = ends([r for r in rows if r["discipline"] is not None], key=lambda r: r["discipline"])
    many = len(rows) > 2 * CHART_ENDS
    discipline = [Row(r["unit_name"], r["discipline"], format_number(r["discipline"]),
                      gap_before=many and i == CHART_ENDS) for i, r in enumerate(shown)]
    caption = (f"{CHART_ENDS} {what} dengan rata-rata nilai disiplin terendah dan {CHART_ENDS} "
               f"tertinggi dari {len(rows)}" if many
               else f"Rata-rata nilai disiplin per {what}")
    absent = sorted(rows, key=lambda r: -(r["absent_per_employee"] or 0))[:CHART_ENDS]
    return {
        "discipline_chart": dot_chart(discipline, caption, axis_label="Nilai disiplin (0–100)")
        if discipline else None,
        "discipline_caption": caption + " (sumbu disesuaikan dengan rentang nilai)",
        "absent_chart": bar_list_chart(
            [Row(r["unit_name"], r["absent_per_employee"],
                 format_number(r["absent_per_employee"])) for r in absent],
            "Hari tanpa keterangan per pegawai", colour="#c0582b") if absent else None,
        "absent_caption": (f"{len(absent)} {what} dengan hari tanpa keterangan (TK) per pegawai "
                           f"aktif terbanyak" + (f" dari {len(rows)}" if len(rows) > len(absent)
                                                  else "")),
    }


def _unit_points(units: pd.DataFrame, marks: dict[str, str]) -> tuple[list[Point], int]:
    plotted = units[units["iku_score"].notna() & units["absorption_pct"].notna()]
    points = [Point(r["absorption_pct"], r["iku_score"], r["unit_name"], r["org_predikat"],
                    marks.get(r["unit_code"])) for r in records(plotted)]
    return points, len(units) - len(plotted)


@section("index", "iku", "Nilai IKU dan penyerapan anggaran")
def _index_iku(scope: Scope) -> dict[str, Any]:
    units = scope.units
    # The chart shows the OPDs' own figures (as many points as OPDs, whatever the size of the
    # agency); every unit is on its OPD's page.
    opds = units[units["depth"] == 0]
    ranked = opds[opds["iku_score"].notna()].sort_values(["iku_score", "unit_name"])
    marks = {code: str(n) for n, code in enumerate(ranked["unit_code"], start=1)}
    points, unplotted = _unit_points(opds, marks)
    with_iku = units[units["iku_score"].notna()].sort_values(["iku_score", "unit_name"])
    lowest = records(with_iku.head(SCATTER_MARKS))
    for row in lowest:
        row["href"] = scope.links.opd(row["opd_code"])
    opd_rows_ = records(ranked)
    for row in opd_rows_:
        row["mark"] = marks[row["unit_code"]]
        row["href"] = scope.links.opd(row["unit_code"])
    return {
        "scatter": scatter_chart(points, "Nilai IKU terhadap penyerapan anggaran per OPD",
                                 x_label="Penyerapan anggaran (%)", y_label="Nilai IKU")
        if points else None,
        "plotted": len(points), "unplotted": unplotted, "opds": len(opds),
        "opd_rows": opd_rows_[:SCATTER_MARKS], "lowest": lowest, "with_iku": len(with_iku),
    }


def followup_counts(people: list[dict[str, Any]]) -> dict[str, Any]:
    needs = Counter(a for p in people for a in str(p["training_needs"] or "").split(",") if a)
    training = [{"aspect": a, "label": ASPECT_LABELS[a], "count": needs.get(a, 0)}
                for a in BERAKHLAK_ASPECTS]
    sanctions = Counter(p["discipline_sanction"] for p in people)
    return {
        "training": training,
        "training_chart": bar_list_chart(
            [Row(t["label"], t["count"], format_int(t["count"])) for t in training],
            "Pegawai yang perlu pelatihan per aspek BerAKHLAK", colour="#7b5ea7",
            label_width=190),
        "sanctions": [{"code": code, "label": text, "level": SANCTION_LEVELS[code],
                       "count": sanctions.get(code, 0)}
                      for code, text in SANCTION_LABELS.items()],
    }


@section("index", "tindak-lanjut", "Tindak lanjut")
def _index_followups(scope: Scope) -> dict[str, Any]:
    employees = scope.employees
    per_opd = employees.assign(
        reward=_flag(employees, "reward_candidate"),
        coaching=_flag(employees, "coaching_required"),
        training=employees["training_needs"].fillna("").astype(str) != "",
        sanction=employees["discipline_sanction"].fillna("NONE") != "NONE",
        promotion=_flag(employees, "promotion_eligible"),
        not_rated=employees["status"] == "NOT_RATED",
    ).groupby("opd_code")[["reward", "coaching", "training", "sanction", "promotion",
                           "not_rated"]].sum()
    rows = []
    for opd in scope.data.opds.to_dict("records"):
        code = opd["unit_code"]
        counts = {k: int(v) for k, v in per_opd.loc[code].items()} if code in per_opd.index \
            else dict.fromkeys(per_opd.columns, 0)
        rows.append({"unit_name": opd["unit_name"], "href": scope.links.opd(code), **counts})
    return {"h": _headline(scope), "rows": rows,
            **_memo(scope.data, "followup_counts", lambda: followup_counts(scope.people))}


def reason_counts(quarantine: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows per dataset and kind of reason (translated), most frequent first."""
    counts: dict[tuple[str, str], dict[str, Any]] = {}
    for dataset, text in zip(quarantine["dataset"], quarantine["reasons"], strict=True):
        for reason in translate_reasons(text) or []:
            key = (dataset, reason.kind)
            entry = counts.setdefault(key, {"dataset": dataset, "reason": reason.kind,
                                            "count": 0, "example": reason.raw})
            entry["count"] += 1
    order = {name: i for i, name in enumerate(DATASET_LABELS)}
    return sorted(counts.values(), key=lambda r: (order.get(r["dataset"], 99), -r["count"],
                                                  r["reason"]))


def per_dataset(files: pd.DataFrame) -> list[dict[str, Any]]:
    order = {name: i for i, name in enumerate(DATASET_LABELS)}
    frame = (files.groupby("dataset", sort=False)[
        ["rows_read", "rows_accepted", "rows_quarantined"]].sum().reset_index())
    frame["files"] = frame["dataset"].map(files.groupby("dataset").size())
    frame = frame.sort_values("dataset", key=lambda s: s.map(order).fillna(99))
    return records(frame)


@section("index", "mutu-data", "Mutu data")
def _index_quality(scope: Scope) -> dict[str, Any]:
    data = scope.data
    reasons = reason_counts(data.quarantine)
    top = sorted(reasons, key=lambda r: -r["count"])[:INDEX_REASONS]
    return {"datasets": per_dataset(data.source_files), "reasons": top,
            "more_reasons": max(0, len(reasons) - len(top)),
            "rows_read": int(data.source_files["rows_read"].sum()),
            "rows_quarantined": int(data.source_files["rows_quarantined"].sum()),
            "quality": data.quality}


@section("index", "asal-usul", "Asal-usul data")
def _index_lineage(scope: Scope) -> dict[str, Any]:
    return {"run": scope.data.run, "datasets": per_dataset(scope.data.source_files)}


@section("index", "kalibrasi", "Kalibrasi penilai")
def _index_calibration(scope: Scope) -> dict[str, Any]:
    """The rater calibration (issue 12, tasks/explain/calibration.py) summed per OPD, with the
    raters above their unit's curve in sentences (at most CALIBRATION_SENTENCES): the index
    grows with the OPDs, not with the units or raters; every rater's row, with its unit, is in
    the workbook's Kalibrasi Penilai sheet."""
    data = scope.data
    calibration = data.calibration
    if calibration is None or not calibration.available:
        note = calibration.note if calibration is not None and calibration.note else (
            "data penilaian atasan (ratings.csv) run ini tidak tersedia untuk laporan ini")
        return {"available": False, "note": note}
    unit_names = dict(zip(data.units["unit_code"].astype(str),
                          data.units["unit_name"].astype(str), strict=True))
    opd_of = dict(zip(data.units["unit_code"].astype(str), data.units["opd_code"], strict=True))
    opd_names = dict(zip(data.opds["unit_code"], data.opds["unit_name"], strict=True))
    records_ = calibration_records(data)
    opds: dict[str, dict[str, Any]] = {}
    seen_units: set[str] = set()
    for row in records_:
        unit = str(row["unit_code"])
        opd = opd_of.get(unit)
        code = opd if isinstance(opd, str) else unit
        entry = opds.setdefault(code, {
            "unit_name": opd_names.get(code, unit_names.get(code, code)),
            "href": scope.links.opd(code) if code in opd_names else None,
            "units": 0, "bounded": 0, "raters": 0, "employees": 0, "top": 0.0,
            "exceeding": 0, "exceeding_units": set()})
        if unit not in seen_units:
            seen_units.add(unit)
            entry["units"] += 1
            entry["bounded"] += int(row["top_bound"] is not None)
        entry["raters"] += 1
        entry["employees"] += int(row["employees"])
        entry["top"] += float(row["top_share"] or 0.0) * int(row["employees"])
        if row["exceeds"]:
            entry["exceeding"] += 1
            entry["exceeding_units"].add(unit)
    rows = []
    for entry in opds.values():
        entry["top_share"] = entry.pop("top") / entry["employees"] if entry["employees"] else None
        entry["exceeding_units"] = len(entry["exceeding_units"])
        rows.append(entry)
    rows.sort(key=lambda r: (-r["exceeding"], r["unit_name"]))
    return {
        "available": True,
        "rows": rows,
        "raters": len(records_),
        "employees": sum(r["employees"] for r in rows),
        "agency_top_share": records_[0]["agency_top_share"] if records_ else None,
        "lenient": calibration.lenient[:CALIBRATION_SENTENCES],
        "lenient_total": len(calibration.lenient),
        "unbounded": len(calibration.unbounded_units()),
    }


# One OPD --------------------------------------------------------------------------------------


def unit_rows(scope: Scope) -> list[dict[str, Any]]:
    """The OPD's units in tree order, each with its figures and curve verdict."""
    verdict: dict[str, bool] = {}
    for check in scope.check_list:
        code = check["unit_code"]
        verdict[code] = verdict.get(code, False) or bool(check["breach"])
    staff = Counter(p["unit_code"] for p in scope.people)
    rows = []
    for unit in scope.unit_list:
        code = unit["unit_code"]
        counts = {p: int(unit[f"n_{p}"]) for p in PREDIKAT_ORDER}
        rows.append({**unit, "anchor": f"u-{unit['unit_order']}", "counts": counts,
                     "stack": stack(counts), "staff": staff.get(code, 0),
                     "checked": code in verdict, "breach": verdict.get(code, False)})
    return rows


@section("opd", "ringkasan", "Ringkasan")
def _opd_summary(scope: Scope) -> dict[str, Any]:
    own = [u for u in scope.unit_list if u["unit_code"] == scope.opd["unit_code"]]
    rows = predikat_rows(scope.people)
    return {"h": _headline(scope), "own": own[0] if own else None, "predikat_rows": rows,
            "predikat_chart": predikat_chart(rows, "Distribusi predikat pegawai yang dinilai")}


@section("opd", "unit", "Unit kerja")
def _opd_units(scope: Scope) -> dict[str, Any]:
    return {"rows": unit_rows(scope)}


@section("opd", "kurva", "Kurva distribusi per unit")
def _opd_curve(scope: Scope) -> dict[str, Any]:
    groups = _check_groups(scope.check_list, scope.unit_list)
    return {"groups": groups, "breach": sum(g["breach"] for g in groups)}


@section("opd", "kehadiran", "Kehadiran dan disiplin")
def _opd_attendance(scope: Scope) -> dict[str, Any]:
    per_unit = attendance_by(scope.people, "unit_code")
    rows = [{**unit, **per_unit[unit["unit_code"]]} for unit in scope.unit_list
            if unit["unit_code"] in per_unit]
    charts = _attendance_charts(rows, "unit") if len(rows) > 1 else {
        "discipline_chart": None, "absent_chart": None}
    return {"rows": rows, **charts}


@section("opd", "iku", "Nilai IKU dan anggaran per unit")
def _opd_iku(scope: Scope) -> dict[str, Any]:
    rows = [dict(unit, no=number) for number, unit in enumerate(scope.unit_list, start=1)]
    points = [Point(r["absorption_pct"], r["iku_score"], r["unit_name"], r["org_predikat"],
                    str(r["no"])) for r in rows
              if r["iku_score"] is not None and r["absorption_pct"] is not None]
    return {"rows": rows, "unplotted": len(rows) - len(points),
            "scatter": scatter_chart(points, "Nilai IKU terhadap penyerapan anggaran per unit",
                                     x_label="Penyerapan anggaran (%)", y_label="Nilai IKU")
            if len(points) >= 2 else None}


PEOPLE_COLUMNS = ("nip", "name", "position_name", "opd_code", "unit_code", "unit_name",
                  "unit_order", "rank_in_unit", "final_score", "results_rating",
                  "behavior_rating", "predikat", "status", "absent_days_ytd", "absent_days",
                  "discipline_sanction", "training_needs", "results_score", "behavior_score",
                  "discipline_score", "unit_score", "reward_candidate", "coaching_required",
                  "promotion_eligible", *(c for c in _SUMMED if c != "absent_days"))


def _page_people(scope: Scope) -> list[dict[str, Any]]:
    return scope.people


@section("opd", "tindak-lanjut", "Tindak lanjut")
def _opd_followups(scope: Scope) -> dict[str, Any]:
    people = _page_people(scope)
    training = []
    for aspect in BERAKHLAK_ASPECTS:
        chosen = [p for p in people if aspect in str(p["training_needs"] or "").split(",")]
        if chosen:
            training.append({"label": ASPECT_LABELS[aspect], "rows": chosen})
    band = {code: i for i, code in enumerate(SANCTION_LABELS)}
    sanctioned = sorted((p for p in people if (p["discipline_sanction"] or "NONE") != "NONE"),
                        key=lambda p: (band.get(p["discipline_sanction"], 99),
                                       -(p["absent_days_ytd"] or 0), p["unit_order"], p["nip"]))
    coaching = sorted((p for p in people if p["coaching_required"]),
                      key=lambda p: (p["unit_order"], p["final_score"] is None,
                                     p["final_score"] or 0, p["nip"]))
    return {
        **followup_counts(people),
        "rewards": [p for p in people if p["reward_candidate"]],
        "coaching": coaching,
        "training_people": training,
        "sanctioned": sanctioned,
        "promotion": [p for p in people if p["promotion_eligible"]],
    }


@section("opd", "belum-dinilai", "Pegawai belum dinilai")
def _opd_not_rated(scope: Scope) -> dict[str, Any]:
    people = _page_people(scope)
    return {"not_rated": [p for p in people if p["status"] == "NOT_RATED"],
            "inactive": [p for p in people if p["status"] == "INACTIVE"]}


@section("opd", "pegawai", "Hasil penilaian pegawai per unit")
def _opd_people(scope: Scope) -> dict[str, Any]:
    people: dict[str, list[dict[str, Any]]] = {}
    for person in _page_people(scope):
        people.setdefault(person["unit_code"], []).append(person)
    units = [{**row, "people": people[row["unit_code"]]} for row in unit_rows(scope)
             if row["unit_code"] in people]
    return {"units": units}


# The quality page -----------------------------------------------------------------------------


@section("quality", "karantina", "Baris sumber yang dikarantina")
def _quality_quarantine(scope: Scope) -> dict[str, Any]:
    data = scope.data
    samples = []
    order = {name: i for i, name in enumerate(DATASET_LABELS)}
    for dataset, rows in data.quarantine.groupby("dataset", sort=False):
        shown = records(rows.head(QUARANTINE_SAMPLE))
        for row in shown:
            row["translated"] = [r.text for r in translate_reasons(row["reasons"])]
        samples.append({"dataset": dataset, "total": len(rows), "rows": shown})
    samples.sort(key=lambda s: order.get(s["dataset"], 99))
    return {"datasets": per_dataset(data.source_files), "reasons": reason_counts(
        data.quarantine), "samples": samples, "sample_size": QUARANTINE_SAMPLE,
        "rows_read": int(data.source_files["rows_read"].sum()),
        "rows_quarantined": int(data.source_files["rows_quarantined"].sum())}


def expectation_rows(quality: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Every expectation the suite evaluated, per table, failures first. A summary recorded
    before expectations were kept whole lists its failures only (and says so)."""
    if not quality:
        return []
    listed = quality.get("expectations")
    if listed is None:
        listed = [{**f, "success": False} for f in quality.get("failures", [])]
    keys = ("expectation", "column", "uraian", "success", "unexpected_count", "element_count",
            "observed_value", "sample", "error")
    listed = [{**dict.fromkeys(keys), **e} for e in listed]
    tables = []
    for table in [t["table"] for t in quality.get("tables", [])]:
        rows = [e for e in listed if e.get("table") == table]
        rows.sort(key=lambda e: bool(e.get("success")))
        tables.append({"table": table, "rows": rows,
                       "failed": sum(not e.get("success") for e in rows)})
    return tables


@section("quality", "pemeriksaan", "Pemeriksaan mutu tabel terbit")
def _quality_suite(scope: Scope) -> dict[str, Any]:
    quality = scope.data.quality
    return {"quality": quality, "tables": expectation_rows(quality),
            "complete": bool(quality and "expectations" in quality)}


@section("quality", "berkas", "Berkas sumber")
def _quality_files(scope: Scope) -> dict[str, Any]:
    return {"files": records(scope.data.source_files), "run": scope.data.run}


def opd_href(links: Links, unit_code: str) -> str:
    return links.opd(unit_code)


__all__ = ["SECTIONS", "Scope", "Section", "opd_file", "page_context", "section",
           "format_pct", "math"]
