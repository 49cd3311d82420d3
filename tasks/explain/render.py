"""An explanation (tasks/explain/derive.py) as people read it, in Indonesian: plain text for the
terminal, and the printable appraisal slip (HTML, one A4 page per employee followed by an
appendix with every source row). Pure: dicts in, text out.

The slip's first page is bounded by design so that it always fits one A4 page: at most
`SLIP_INDICATORS` SKP indicators, `SLIP_DAYS` deduction days and `SLIP_IKU` IKU indicators are
shown there, the rest only in the appendix (which has all of them, with their source rows).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import jinja2
import pandas as pd

from kinerja.period import Period
from tasks.explain.compare import Difference
from tasks.reporting.report import (
    ASPECT_LABELS,
    MONTHS,
    ORG_PREDIKAT_LABELS,
    POSITION_TYPE_LABELS,
    PREDIKAT_LABELS,
    RATING_LABELS,
    SANCTION_LABELS,
    STATUS_LABELS,
    _environment,
    format_date,
    format_int,
    format_number,
    label,
    period_title,
)

# Control characters of source text (an escape sequence in a name) must not reach a terminal.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
SLIP_INDICATORS = 5
SLIP_DAYS = 15
WIB = timedelta(hours=7)
STATUS_DAY_LABELS = {"H": "Hadir", "S": "Sakit", "I": "Izin", "C": "Cuti", "DL": "Dinas luar",
                     "TK": "Tanpa keterangan"}
COMPONENT_LABELS = {"results": "Hasil kerja (SKP)", "behavior": "Perilaku kerja (BerAKHLAK)",
                    "discipline": "Disiplin (presensi)", "unit": "Kinerja unit (IKU)"}
SHORT_RATINGS = {"DIATAS_EKSPEKTASI": "Di Atas", "SESUAI_EKSPEKTASI": "Sesuai",
                 "DIBAWAH_EKSPEKTASI": "Di Bawah"}
POLARITY_LABELS = {"MAX": "makin tinggi makin baik", "MIN": "makin rendah makin baik"}


def month_title(month: str) -> str:
    """`2025-01` -> `Januari 2025`."""
    year, number = month.split("-")
    return f"{MONTHS[int(number) - 1]} {year}"


def short_date(day: str) -> str:
    """`2025-01-06` -> `6 Jan`."""
    stamp = pd.Timestamp(day)
    return f"{stamp.day} {MONTHS[stamp.month - 1][:3]}"


def wib(moment: Any) -> str:
    """A UTC timestamp of the warehouse as WIB (UTC+7), as HR reads times."""
    if moment is None or (not isinstance(moment, datetime) and pd.isna(moment)):
        return "–"
    stamp = pd.Timestamp(moment).to_pydatetime()
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(UTC).replace(tzinfo=None)
    local = stamp + WIB
    return f"{format_date(local)} {local:%H:%M} WIB"


def moment_text(value: str | None) -> str:
    """A rated_at (local time as written by e-kinerja) for people."""
    if not value:
        return "–"
    stamp = pd.Timestamp(value)
    return f"{format_date(stamp)} {stamp:%H:%M}"


def formula(indicator: Mapping[str, Any], scale: float = 100.0) -> str:
    """The achievement formula with its numbers, e.g. `100 × (2 − 20 / 30) = 133,33`."""
    if not indicator["reported"]:
        return "realisasi tidak dilaporkan: 0"
    t, r = format_number(indicator["target"]), format_number(indicator["realisation"])
    unclamped = format_number(indicator["unclamped"])
    if indicator["polarity"] == "MIN":
        text = f"100 × (2 − {r} / {t}) = {unclamped}"
    else:
        text = f"100 × {r} / {t} = {unclamped}"
    if indicator["clamped"]:
        text += f" → dibatasi: {format_number(indicator['score'])}"
    return text


def short_formula(indicator: Mapping[str, Any]) -> str:
    """The formula in a table cell: `100×(2−20/30) = 133,33 → 120`."""
    if not indicator["reported"]:
        return "tidak dilaporkan → 0"
    t, r = format_number(indicator["target"]), format_number(indicator["realisation"])
    body = f"100×(2−{r}/{t})" if indicator["polarity"] == "MIN" else f"100×{r}/{t}"
    text = f"{body} = {format_number(indicator['unclamped'])}"
    return text + (f" → {format_number(indicator['score'])}" if indicator["clamped"] else "")


def short_day(day: Mapping[str, Any]) -> str:
    """A deduction day in a list: `TL 42 mnt −1,00`, `TK −3,00` (TL: terlambat, PSW: pulang
    sebelum waktu, TK: tanpa keterangan)."""
    if day["status"] != "H":
        return f"{day['status']} −{format_number(day['deduction'])}"
    parts = []
    if day["late_deduction"]:
        parts.append(f"TL {day['late_minutes']} mnt" if day["check_in"] else "TL tanpa jam")
    if day["early_deduction"]:
        parts.append(f"PSW {day['early_minutes']} mnt" if day["check_out"] else "PSW tanpa jam")
    return f"{' + '.join(parts) or 'H'} −{format_number(day['deduction'])}"


def day_text(day: Mapping[str, Any]) -> str:
    """One deduction day in a few words: `terlambat 42 mnt (−1,00)`."""
    if day["status"] != "H":
        status = STATUS_DAY_LABELS.get(day["status"], day["status"])
        return f"{status} (−{format_number(day['deduction'])})"
    parts = []
    if day["late_deduction"]:
        parts.append(f"terlambat {day['late_minutes']} mnt" if day["check_in"]
                     else "tanpa jam masuk")
    if day["early_deduction"]:
        parts.append(f"pulang cepat {day['early_minutes']} mnt" if day["check_out"]
                     else "tanpa jam pulang")
    return f"{', '.join(parts) or 'hadir'} (−{format_number(day['deduction'])})"


def clip(value: Any, length: int) -> str:
    """Source text cut to `length` characters for the one-page slip (the appendix has it
    whole)."""
    text = "" if value is None else str(value)
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def _rating(value: Any) -> str:
    return label(RATING_LABELS, value)


def _deduction_days(e: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [d for m in e["discipline"]["months"] for d in m["days"]]


# Text ------------------------------------------------------------------------------------------


def explanation_text(e: Mapping[str, Any], agency_name: str,
                     differences: Sequence[Difference] = ()) -> str:
    """The whole derivation as plain Indonesian text, every source row named."""
    period = Period.parse(e["period_id"])
    emp = e["employee"]
    lines: list[str] = []
    add = lines.append
    add(f"PENJELASAN PENILAIAN KINERJA — {agency_name} ({e['agency_code']}), "
        f"{period_title(period)}")
    add(f"Pegawai : {emp['name'] or '–'}, NIP {e['nip']} [{emp['source']}]")
    add(f"Jabatan : {emp['position_name'] or '–'} "
        f"({label(POSITION_TYPE_LABELS, emp['position_type'])}), {emp['grade'] or '–'}")
    add(f"Unit    : {emp['unit_name'] or emp['unit_code']} ({emp['unit_code']})")
    add(f"Run {e['run_id']}; kebijakan {e['policy']['name']} (SHA-256 {e['policy']['sha256']})")
    add("")
    status = label(STATUS_LABELS, e["status"])
    head = f"NILAI AKHIR {format_number(e['final_score'])} — predikat " \
           f"{label(PREDIKAT_LABELS, e['predikat'])} — status {status}"
    if e["rank_in_unit"] is not None:
        head += f" — peringkat {e['rank_in_unit']} dari {e['unit']['appraised_count']} di unit"
    add(head)
    final = e["final"]
    if final["formula"]:
        add(f"  Nilai akhir = jumlah (bobot × nilai) / jumlah bobot komponen yang ada: "
            f"{final['formula']}")
    for c in e["components"]:
        state = "" if c["counted"] else " (tidak ada, tidak dihitung)"
        add(f"    {COMPONENT_LABELS[c['component']]}: {format_number(c['score'])}, "
            f"bobot {format_number(c['weight'])}{state}")
    if final["matrix"]:
        add(f"  Predikat: {final['matrix']}")
    add("")

    a = e["achievement"]
    add(f"1. HASIL KERJA (SKP): {format_number(a['score'])}")
    if not a["indicators"]:
        add("   Tidak ada indikator SKP: komponen ini tidak dihitung.")
    for i in a["indicators"]:
        add(f"   {i['indicator_id']} {i['indicator'] or ''} [{i['polarity']}, "
            f"{POLARITY_LABELS.get(i['polarity'], '')}] target {format_number(i['target'])}, "
            f"realisasi {format_number(i['realisation'])} {i['unit_of_measure'] or ''}: "
            f"{formula(i)}; capaian {format_number(i['score'])}, bobot "
            f"{format_number(i['weight'])} [{i['source']}]")
    if a["indicators"]:
        add(f"   Rata-rata tertimbang capaian: {format_number(a['score'])}")
    add("")

    b = e["behavior"]
    add(f"2. PERILAKU KERJA: {format_number(b['score'])}")
    if b["source"] is None:
        add("   Tidak ada penilaian atasan yang diterima.")
    else:
        add(f"   Penilaian yang dipakai: {b['source']} ({moment_text(b['rated_at'])}, penilai "
            f"{b['rater_nip'] or '–'}): rating hasil kerja {_rating(b['results_rating'])}, "
            f"rating perilaku {_rating(b['behavior_rating'])}")
        for h in b["history"]:
            if not h["counted"]:
                add(f"   Digantikan (lebih awal): {h['source']} ({moment_text(h['rated_at'])}): "
                    f"hasil kerja {_rating(h['results_rating'])}, perilaku "
                    f"{_rating(h['behavior_rating'])}")
        if b["basis"] == "aspects":
            rated = ", ".join(f"{ASPECT_LABELS.get(k, k)} {_rating(b['aspects'][k])} "
                              f"({format_number(v)})" for k, v in b["points"].items())
            add(f"   Rata-rata poin aspek BerAKHLAK yang dinilai: {rated} = "
                f"{format_number(b['score'])}")
        else:
            add(f"   Tidak ada aspek BerAKHLAK yang dinilai: poin rating perilaku "
                f"{_rating(b['behavior_rating'])} = {format_number(b['score'])}")
    add("")

    d = e["discipline"]
    add(f"3. DISIPLIN: {format_number(d['score'])}")
    add(f"   Hari kerja aktif {d['working_days']}: hadir {d['present_days']}, sakit "
        f"{d['sick_days']}, izin {d['permit_days']}, cuti {d['leave_days']}, dinas luar "
        f"{d['duty_days']}, tanpa keterangan {d['absent_days']}; terlambat {d['late_count']} "
        f"kali ({d['late_minutes']} menit), pulang cepat {d['early_count']} kali "
        f"({d['early_minutes']} menit); potongan {format_number(d['deduction_pct'])}")
    for m in d["months"]:
        add(f"   {month_title(m['month'])}: {m['working_days']} hari kerja, potongan "
            f"{format_number(m['deduction'])}, nilai bulan max({format_int(d['monthly_floor'])},"
            f" {format_int(d['monthly_base'])} − {format_number(m['deduction'])}) = "
            f"{format_number(m['score'])}")
        for day in m["days"]:
            times = f" masuk {day['check_in'] or '–'} pulang {day['check_out'] or '–'}" \
                if day["status"] == "H" else ""
            source = day["source"] or "tidak ada baris presensi: TK"
            merged = f" (digabung dari {', '.join(day['rows'])})" if len(day["rows"]) > 1 else ""
            add(f"     {day['date']} {day['status']}{times}: {day_text(day)} [{source}]{merged}")
    if d["months"]:
        add(f"   Nilai disiplin = rata-rata nilai {len(d['months'])} bulan = "
            f"{format_number(d['score'])}")
    add("")

    u = e["unit"]
    add(f"4. KINERJA UNIT (IKU {u['unit_name'] or u['unit_code']}): {format_number(u['score'])}"
        f", predikat organisasi {label(ORG_PREDIKAT_LABELS, u['org_predikat'])}")
    if not u["indicators"]:
        add("   Unit tidak memiliki IKU: komponen ini tidak dihitung.")
    for i in u["indicators"]:
        add(f"   {i['iku_id']} {i['indicator'] or ''} [{i['polarity']}]: {formula(i)}; capaian "
            f"{format_number(i['score'])}, bobot {format_number(i['weight'])} [{i['source']}]")
    add("")

    f = e["followup"]
    add("5. TINDAK LANJUT")
    for reason in f["reasons"]:
        add(f"   - {reason}")
    if e["quarantined"]:
        add("")
        add("6. BARIS SUMBER YANG DIKARANTINA (tidak ikut dihitung)")
        for q in e["quarantined"]:
            add(f"   {q['source']} ({q['dataset']}): {q['reasons']}")
    add("")
    add("SUMBER DATA (SHA-256 diperiksa terhadap catatan run)")
    for s in e["sources"]:
        add(f"   {s['path']} ({s['dataset']}) {s['sha256']} "
            f"{'sama' if s['unchanged'] else 'BERUBAH'}")
    if differences:
        add("")
        add("PERHATIAN: nilai hitung ulang berbeda dengan yang diterbitkan:")
        for diff in differences:
            add(f"   {diff}")
    return _CONTROL.sub("\ufffd", "\n".join(lines)) + "\n"


# The slip (HTML) -------------------------------------------------------------------------------


def _matrix(e: Mapping[str, Any], rules_matrix: Mapping[tuple[str, str], str] | None
            ) -> list[dict[str, Any]]:
    ratings = list(RATING_LABELS)
    rows = []
    for r in ratings:
        cells = []
        for b in ratings:
            value = (rules_matrix or {}).get((r, b))
            cells.append({"predikat": value,
                          "here": r == e["results_rating"] and b == e["behavior_rating"]
                          and e["predikat"] is not None})
        rows.append({"rating": r, "cells": cells})
    return rows


def slip_context(e: Mapping[str, Any], differences: Sequence[Difference] = (),
                 matrix: Mapping[tuple[str, str], str] | None = None) -> dict[str, Any]:
    days = _deduction_days(e)
    indicators = e["achievement"]["indicators"]
    return {
        "e": e,
        "days_shown": days[:SLIP_DAYS],
        "days_more": max(len(days) - SLIP_DAYS, 0),
        "days_total": len(days),
        "indicators_shown": indicators[:SLIP_INDICATORS],
        "indicators_more": max(len(indicators) - SLIP_INDICATORS, 0),
        "matrix": _matrix(e, matrix),
        "differences": [str(d) for d in differences],
    }


def render_slips(explanations: Sequence[Mapping[str, Any]], agency_name: str,
                 differences: Mapping[str, Sequence[Difference]] | None = None,
                 matrix: Mapping[tuple[str, str], str] | None = None,
                 generated_at: datetime | None = None,
                 run_finished_at: Any = None) -> str:
    """One HTML document with a slip (one A4 page) and its appendix per explanation."""
    if not explanations:
        raise ValueError("no employee to render a slip for")
    first = explanations[0]
    period = Period.parse(first["period_id"])
    template = _slip_template()
    title = (f"Slip Penilaian Kinerja {first['employee']['name'] or first['nip']}"
             if len(explanations) == 1 else
             f"Slip Penilaian Kinerja {first['employee']['unit_name'] or ''} "
             f"({len(explanations)} pegawai)")
    return template.render(
        title=title,
        agency_name=agency_name,
        period_title=period_title(period),
        slips=[slip_context(e, (differences or {}).get(e["nip"], ()), matrix)
               for e in explanations],
        generated=wib(generated_at or datetime.now(UTC)),
        run_finished=wib(run_finished_at),
    )


@functools.cache
def _slip_template() -> jinja2.Template:
    """The report's Jinja environment (its filters and autoescaping) with the slip's filters;
    compiled once per process."""
    env = _environment()
    env.filters.update({
        "rating": _rating,
        "month": month_title,
        "short_date": short_date,
        "day_text": day_text,
        "formula": formula,
        "moment": moment_text,
        "aspect": lambda v: ASPECT_LABELS.get(v, v),
        "component": lambda v: COMPONENT_LABELS.get(v, v),
        "day_status": lambda v: STATUS_DAY_LABELS.get(v, v),
        "sanction": lambda v: label(SANCTION_LABELS, v),
        "clip": clip,
        "short_rating": lambda v: SHORT_RATINGS.get(v, "–") if v else "–",
        "short_formula": short_formula,
        "short_day": short_day,
    })
    return env.get_template("slip.html.j2")
