"""budget.xlsx / budget.csv: pagu and realisasi per activity, as the budget system (SIPD)
exports them. S1 periods are written as XLSX and S2 periods as CSV, so both readers are
exercised by any two consecutive periods.

openpyxl stamps the save time into docProps/core.xml and into every zip entry; the workbook is
therefore re-zipped with fixed timestamps so the same arguments write the same bytes.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime
from pathlib import Path

import numpy as np
from openpyxl import Workbook

from kinerja.period import Period
from kinerja.synthetic import badrows as bad
from kinerja.synthetic import names
from kinerja.synthetic.common import (
    DatasetSummary,
    Seeds,
    Stream,
    draw_style,
    fmt_decimal,
    insertion_order,
    period_key,
    plan_bad,
    write_csv,
)
from kinerja.synthetic.organisation import Organisation

BUDGET_COLUMNS = ("unit_code", "program_code", "activity_code", "activity_name", "pagu",
                  "realisasi")
FIXED_TIME = datetime(2020, 1, 1)
_ZIP_TIME = (2020, 1, 1, 0, 0, 0)
_CORE_TIMES = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")

Row = dict[str, object]  # text, or float for amounts (numbers in the workbook)


def budget_format(period: Period) -> str:
    return "xlsx" if period.half == 1 else "csv"


def budget_rows(seeds: Seeds, org: Organisation, period: Period) -> list[Row]:
    """Several programmes and activities per budgeted unit; realisasi mostly 60-100% of pagu,
    occasionally above it (a warning, not an error) or far behind."""
    rng = seeds.rng(Stream.BUDGET, period_key(period))
    rows: list[Row] = []
    for unit in org.units:
        if not unit.has_budget:
            continue
        urusan = unit.code[:4]
        programs: list[tuple[str, str, tuple[str, ...]]] = [
            (f"{urusan}.01", names.SUPPORT_PROGRAM, names.SUPPORT_ACTIVITIES)]
        sector = names.SECTOR_PROGRAMS.get(unit.domain, names.SECTOR_PROGRAMS["general"])
        n_sector = int(rng.integers(1, len(sector) + 1))
        for k, j in enumerate(sorted(rng.choice(len(sector), n_sector, replace=False))):
            programs.append((f"{urusan}.{k + 2:02d}", sector[j][0], sector[j][1]))
        scale = unit.weight / 20.0
        for program_code, _, activities in programs:
            count = int(rng.integers(2, min(6, len(activities)) + 1)) if len(activities) > 2 \
                else len(activities)
            chosen = sorted(rng.choice(len(activities), count, replace=False))
            for j in chosen:
                u = rng.random(4)
                pagu = float(np.round(np.exp(rng.normal(np.log(4e8 * scale), 0.8)), -3))
                if u[0] < 0.04:
                    ratio = 1.0 + 0.08 * u[1]
                elif u[0] < 0.07:
                    ratio = 0.2 + 0.4 * u[1]
                else:
                    ratio = 0.6 + 0.4 * rng.beta(3.0, 1.5)
                realisasi = round(pagu * ratio, 2 if u[2] < 0.1 else -2)
                rows.append({"unit_code": unit.code, "program_code": program_code,
                             "activity_code": f"{program_code}.2.{j + 1:02d}",
                             "activity_name": activities[j], "pagu": pagu,
                             "realisasi": realisasi,
                             "sumber_dana": names.SOURCES_OF_FUNDS[int(u[3] * 4)]})
    return rows


def _bad_budget(good: list[Row], rate: float, rng: np.random.Generator,
                summary: DatasetSummary) -> list[Row]:
    """Extra activities under fresh activity codes (x.2.9x) of real programmes, each broken."""
    plan = plan_bad(len(good), rate, bad.KINDS["budget"], rng)
    fresh = iter(range(90, 10**7))
    rows: list[Row] = []
    for kind, count in plan.items():
        for _ in range(count):
            row = dict(good[int(rng.integers(len(good)))])
            row["activity_code"] = f"{row['program_code']}.2.{next(fresh)}"
            u = rng.random()
            if kind == bad.UNIT_UNKNOWN:
                row["unit_code"] = bad.UNKNOWN_UNIT_CODES[int(u * len(bad.UNKNOWN_UNIT_CODES))]
            elif kind == bad.EMPTY_REQUIRED:
                row[("unit_code", "program_code", "activity_code", "pagu")[int(u * 4)]] = None
            elif kind == bad.PAGU_NEGATIVE:
                row["pagu"] = -float(row["pagu"])  # type: ignore[arg-type]
            elif kind == bad.REALISASI_NEGATIVE:
                row["realisasi"] = -float(row["realisasi"]) - 1000.0  # type: ignore[arg-type]
            elif kind == bad.DECIMAL_UNPARSEABLE:
                column = "pagu" if u < 0.5 else "realisasi"
                amount = int(float(row[column]))  # type: ignore[arg-type]
                row[column] = f"Rp {amount:,}".replace(",", ".") if u < 0.25 or u > 0.75 \
                    else f"{amount:,}".replace(",", ".")
            elif kind == bad.DUPLICATE_KEY:
                rows.append(dict(row))
                row["realisasi"] = row["pagu"]
            rows.append(row)
        summary.add_bad(kind, count * (2 if kind == bad.DUPLICATE_KEY else 1))
    return rows


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return fmt_decimal(value, 2)
    return str(value)


def deterministic_xlsx(workbook: Workbook) -> bytes:
    """The workbook's bytes with every timestamp pinned (document properties and zip entries)."""
    workbook.properties.created = FIXED_TIME
    workbook.properties.modified = FIXED_TIME
    workbook.properties.creator = "SIPD"
    buffer = io.BytesIO()
    workbook.save(buffer)
    out = io.BytesIO()
    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = _CORE_TIMES.sub(rb"\g<1>" + stamp + rb"\g<3>", data)
            entry = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            target.writestr(entry, data)
    return out.getvalue()


def write_budget(folder: Path, seeds: Seeds, org: Organisation, period: Period,
                 rate: float) -> DatasetSummary:
    key = period_key(period)
    good = budget_rows(seeds, org, period)
    summary = DatasetSummary()
    rng = seeds.rng(Stream.BAD, key, 7)
    extra = _bad_budget(good, rate, rng, summary)
    merged = good + extra
    rows = [merged[i] for i in insertion_order(len(good), len(extra), rng)]
    if budget_format(period) == "xlsx":
        path = folder / "budget.xlsx"
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("Realisasi Anggaran")
        sheet.append(list(BUDGET_COLUMNS))
        for row in rows:
            sheet.append([row.get(c) for c in BUDGET_COLUMNS])
        path.write_bytes(deterministic_xlsx(workbook))
    else:
        path = folder / "budget.csv"
        columns = [*BUDGET_COLUMNS, "sumber_dana"]
        write_csv(path, {c: [_text(r.get(c)) for r in rows] for c in columns},
                  draw_style(seeds.rng(Stream.STYLE, key, 9)))
    summary.rows = len(rows)
    summary.paths = [path]
    return summary
