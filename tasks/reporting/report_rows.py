"""The rows of the pages' people tables, written in Python instead of Jinja.

An OPD page lists every employee of its units, some of them again in the follow-up tables: at
100,000 employees that is several hundred thousand table rows, and Jinja spent most of the report
step on them (an attribute lookup, a filter call and an escape per cell, a macro call per row).
Here each row is one string join of cells that went through the very filters the templates use
and markupsafe's escape, as Jinja's autoescape does; the text of a label or a count is kept per
distinct value, so it is formatted once per report. The templates call these as filters
(`pegawai_row`, `people_row`), so their HTML stays exactly what the Jinja rows wrote
(tests/integration/test_report_rows.py compares both).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from markupsafe import Markup, escape

Filters = Mapping[str, Callable[[Any], Any]]


# Labels and counts repeat: their cells are kept per (filter, type, value). Each of these types
# is hashable and equals itself (unlike NaN, NaT and pd.NA, which are formatted each time).
_KEPT = frozenset({str, int, bool, type(None)})


class RowWriter:
    """Row HTML for one Jinja environment's filters, with a cache of formatted cells."""

    def __init__(self, filters: Filters) -> None:
        self._filters = filters
        self._cells: dict[tuple[str | None, Any], str] = {}

    def cell(self, value: Any, name: str | None = None) -> str:
        """`{{ value | name }}` (or `{{ value }}`) as Jinja's autoescape writes it."""
        kind = type(value)
        if name is None or kind not in _KEPT:
            # NIPs, names and unrounded scores are one per person: kept, they would hold a
            # province's every value (hundreds of MB) for a few repeats.
            return str(escape(self._filters[name](value) if name else value))
        key = (name, kind, value)
        text = self._cells.get(key)
        if text is None:
            text = self._cells[key] = str(escape(self._filters[name](value)))
        return text

    def pegawai_row(self, r: Mapping[str, Any]) -> Markup:
        c = self.cell
        return Markup(
            f'<tr><td class="n">{c(r["rank_in_unit"], "int")}</td>'
            f'<td class="nip">{c(r["nip"])}</td><td>{c(r["name"])}</td>'
            f'<td>{c(r["position_name"], "text")}</td>'
            f'<td class="n">{c(r["results_score"], "num")}</td>'
            f'<td class="n">{c(r["behavior_score"], "num")}</td>'
            f'<td class="n">{c(r["discipline_score"], "num")}</td>'
            f'<td class="n">{c(r["unit_score"], "num")}</td>'
            f'<td class="n">{c(r["final_score"], "num")}</td>'
            f'<td class="rating">{c(r["results_rating"], "rating")}</td>'
            f'<td class="rating">{c(r["behavior_rating"], "rating")}</td>'
            f'<td>{c(r["predikat"], "predikat")}</td><td>{c(r["status"], "status")}</td></tr>')

    def people_row(self, r: Mapping[str, Any], unit: bool = True,
                   extra: str | None = None) -> Markup:
        c = self.cell
        ratings = (f'<span class="rating">Hasil kerja: {c(r["results_rating"], "rating")}<br>'
                   f'Perilaku: {c(r["behavior_rating"], "rating")}</span>')
        parts = ["<tr>"]
        if unit:
            parts.append(f"<td>{c(r['unit_name'])}</td>")
        parts.append(f'<td class="nip">{c(r["nip"])}</td><td>{c(r["name"])}</td>'
                     f'<td>{c(r["position_name"], "text")}</td>'
                     f'<td class="n">{c(r["final_score"], "num")}</td><td>{ratings}</td>'
                     f'<td>{c(r["predikat"], "predikat")}</td>')
        if extra == "absent":
            parts.append(f'<td class="n">{c(r["absent_days_ytd"], "int")}</td>'
                         f'<td class="n">{c(r["absent_days"], "int")}</td>'
                         f'<td>{c(r["discipline_sanction"], "sanction")}</td>')
        parts.append("</tr>")
        return Markup("".join(parts))
