"""The people tables' rows written in Python (tasks/reporting/report_rows.py) are the rows the Jinja
templates wrote, byte for byte, whatever the values: missing ones of every kind, markup in
names, negative zero, large numbers, unknown codes."""

from __future__ import annotations

import math

import pandas as pd
from markupsafe import Markup

from tasks.reporting.report import _environment
from tasks.reporting.report_rows import RowWriter

# The rows as the templates wrote them before tasks/reporting/report_rows.py (pegawai.html.j2
# and the people_table macro of macros.html.j2).
PEGAWAI = (
    '<tr><td class="n">{{ r.rank_in_unit | int }}</td><td class="nip">{{ r.nip }}</td>'
    '<td>{{ r.name }}</td><td>{{ r.position_name | text }}</td>'
    '<td class="n">{{ r.results_score | num }}</td><td class="n">{{ r.behavior_score | num }}'
    '</td><td class="n">{{ r.discipline_score | num }}</td><td class="n">'
    '{{ r.unit_score | num }}</td><td class="n">{{ r.final_score | num }}</td>'
    '<td class="rating">{{ r.results_rating | rating }}</td><td class="rating">'
    '{{ r.behavior_rating | rating }}</td><td>{{ r.predikat | predikat }}</td>'
    '<td>{{ r.status | status }}</td></tr>')
PEOPLE = (
    '{% macro ratings(r) %}<span class="rating">Hasil kerja: {{ r.results_rating | rating }}'
    '<br>Perilaku: {{ r.behavior_rating | rating }}</span>{% endmacro %}'
    '<tr>{% if unit %}<td>{{ r.unit_name }}</td>{% endif %}<td class="nip">{{ r.nip }}</td>'
    '<td>{{ r.name }}</td><td>{{ r.position_name | text }}</td><td class="n">'
    '{{ r.final_score | num }}</td><td>{{ ratings(r) }}</td><td>{{ r.predikat | predikat }}'
    '</td>{% if extra == "absent" %}<td class="n">{{ r.absent_days_ytd | int }}</td>'
    '<td class="n">{{ r.absent_days | int }}</td><td>{{ r.discipline_sanction | sanction }}'
    '</td>{% endif %}</tr>')


def people() -> list[dict]:
    base = {"rank_in_unit": 3, "nip": "199001012015031001", "name": "Ani, S.Kom",
            "position_name": "Analis", "results_score": 101.255, "behavior_score": 100.0,
            "discipline_score": 97.5, "unit_score": 88.125, "final_score": 99.99999,
            "results_rating": "DIATAS_EKSPEKTASI", "behavior_rating": "SESUAI_EKSPEKTASI",
            "predikat": "SANGAT_BAIK", "status": "APPRAISED", "unit_name": "Dinas & Co",
            "absent_days_ytd": 12, "absent_days": 1234567,
            "discipline_sanction": "TEGURAN_LISAN"}
    odd = []
    for missing in (None, math.nan, pd.NA, pd.NaT):
        odd.append({k: (missing if k not in ("nip", "name", "unit_name") else v)
                    for k, v in base.items()})
    return [
        base,
        {**base, "name": "<img src=x onerror=alert('x')>", "unit_name": '"Unit" <b>',
         "position_name": "", "final_score": -0.0, "results_score": -0.004,
         "predikat": "LUAR_BIASA", "status": "UNKNOWN", "rank_in_unit": 1234567,
         "discipline_sanction": "HUKUMAN_BARU", "nip": Markup("<i>ok</i>")},
        {**base, "rank_in_unit": 7.0, "final_score": 1e12, "absent_days_ytd": 2.5},
        *odd,
        base,  # again: from the cache
    ]


def test_rows_are_the_templates_rows():
    env = _environment()
    pegawai = env.from_string(PEGAWAI)
    table = env.from_string(PEOPLE)
    rows = RowWriter(env.filters)
    for r in people():
        assert rows.pegawai_row(r) == pegawai.render(r=r), r
        for unit in (True, False):
            for extra in (None, "absent"):
                assert rows.people_row(r, unit, extra) == table.render(r=r, unit=unit,
                                                                        extra=extra), r


def test_the_pages_use_them():
    env = _environment()
    assert "pegawai_row" in env.filters and "people_row" in env.filters
    for name in ("sections/opd/pegawai.html.j2", "macros.html.j2"):
        source = env.loader.get_source(env, name)[0]
        assert "r.final_score | num" not in source  # the rows are no longer Jinja's
