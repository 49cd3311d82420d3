"""The agency report at city scale: the index does not grow with the number of employees (its
people are on the OPD pages, each on exactly one). The speed of the whole report step is
measured by bench/bench_report.py."""

from __future__ import annotations

import re

import pytest

from tasks.reporting.report import assemble_report_data, render_report, write_pages
from tests.reporting import synthetic_publication

# The index of a 2,000- or a 20,000-employee city: the second has ten times the people and
# twice the OPDs (kecamatan grow with the city); the index may grow with the OPDs only.
INDEX_BOUND = 250_000


@pytest.fixture(scope="module")
def small():
    return assemble_report_data(**synthetic_publication(2_000))


@pytest.fixture(scope="module")
def city():
    return assemble_report_data(**synthetic_publication(20_000))


def test_the_index_stays_within_a_fixed_bound_from_2000_to_20000_employees(small, city,
                                                                           tmp_path):
    sizes = {}
    for data in (small, city):
        html = render_report(data, tmp_path)
        sizes[len(data.employees)] = len(html.encode("utf-8"))
        assert not re.search(r"\b\d{18}\b", html)  # no NIP, so no list of people
        assert len(re.findall(r'href="opd/', html)) >= len(data.opds)  # every OPD linked
    (few, few_size), (many, many_size) = sorted(sizes.items())
    assert many >= 9 * few
    assert few_size < INDEX_BOUND and many_size < INDEX_BOUND, sizes
    assert many_size < 2 * few_size, sizes


def test_every_employee_is_on_exactly_one_opd_page_and_workbook(small, tmp_path):
    outputs = write_pages(small, tmp_path)
    folder = tmp_path / outputs["report_folder"].rsplit("/", 1)[-1]
    pages = sorted(p.stem for p in folder.glob("opd/*.html"))
    books = sorted(p.stem for p in folder.glob("opd/*.xlsx"))
    assert pages == books and len(pages) == len(small.opds)
    nips = set(small.employees["nip"])
    seen = []
    for page in folder.glob("opd/*.html"):
        people = page.read_text(encoding="utf-8").split('id="pegawai"')[1]
        seen += re.findall(r'<td class="nip">(\d{18})</td>', people)
    assert len(seen) == len(set(seen)) == len(nips) and set(seen) == nips


def test_markup_from_sources_or_the_suite_is_inert_on_the_pages(small, tmp_path):
    from tasks.reporting.report import _links, render_page

    hostile = "<img src=x onerror=alert(1)>"
    small.quality = {
        "status": "failed", "evaluated": 2, "successful": 1, "failed": 1,
        "checked_at": "2025-07-01T01:00:00",
        "tables": [{"table": "dim_employee", "rows": 1, "evaluated": 2, "failed": 1}],
        "failures": [], "failures_left_out": 0,
        "expectations": [
            {"table": "dim_employee", "expectation": "expect_column_values_to_match_regex",
             "column": "nip", "uraian": "nip 18 angka", "success": False,
             "unexpected_count": 1, "element_count": 1, "sample": [hostile]},
            {"table": "dim_employee", "expectation": "expect_column_values_to_not_be_null",
             "column": "name", "uraian": "name tidak kosong", "success": True}],
    }
    small.quarantine.loc[0, "reasons"] = f"name: some new check ('{hostile}')"
    small.quarantine.loc[0, "payload"] = f'{{"name": "{hostile}"}}'
    html = render_page("quality", small, _links(small, tmp_path))
    assert "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "Alasan lain (pesan validasi: name: some new check)" in html  # a new reason renders
