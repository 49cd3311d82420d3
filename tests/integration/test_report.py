"""The semester report: opens offline in headless Chromium without errors or network requests,
has every section of interface.md "Reports", and shows the published warehouse's figures."""

from __future__ import annotations

import os
import re
from html import escape
from pathlib import Path

import pytest

from tasks.report import format_number, format_pct, format_share
from tests.browser import visit
from tests.reporting import AGENCY, PERIOD, Published, published, query

SECTIONS = ["ringkasan", "predikat", "kehadiran", "unit", "tindak-lanjut", "belum-dinilai",
            "hasil", "mutu-data", "asal-usul", "kalibrasi"]


@pytest.fixture(scope="module")
def run(prefect_harness, tmp_path_factory) -> Published:
    return published(tmp_path_factory)


@pytest.fixture(scope="module")
def html(run) -> str:
    return Path(run.summary["report"]).read_text(encoding="utf-8")


def section(html: str, name: str) -> str:
    """The HTML of one `<section id=...>`."""
    start = html.index(f'<section id="{name}">')
    return html[start: html.index("</section>", start)]


def test_report_opens_offline_in_chromium(run, tmp_path_factory):
    report = Path(run.summary["report"])
    assert report.name == f"{AGENCY}_{PERIOD}_laporan.html"
    # KINERJA_SCREENSHOTS keeps the pictures somewhere a person can look at them.
    shots = Path(os.environ.get("KINERJA_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    pictures = {
        "viewport": shots / "laporan_atas.png",
        "full": shots / "laporan_penuh.png",
        "#predikat": shots / "laporan_predikat.png",
        "#unit": shots / "laporan_iku_anggaran.png",
    }
    page = visit(report, screenshots=pictures, evaluate={
        "title": "document.title",
        "lang": "document.documentElement.lang",
        "sections": "[...document.querySelectorAll('main > section')].map(s => s.id)",
        "charts": "document.querySelectorAll('svg').length",
        "collapsed": "[...document.querySelectorAll('details')].filter(d => !d.open).length",
        "loaded": "performance.getEntriesByType('resource').map(e => e.name)",
        "remote": "[...document.querySelectorAll('[src],[href]')]"
                  ".map(e => e.getAttribute('src') || e.getAttribute('href'))"
                  ".filter(u => /^([a-z]+:)?\\/\\//i.test(u))",
    })
    assert page.console_errors == []
    assert page.exceptions == []
    assert page.log_errors == []
    assert page.foreign_requests == []
    assert page.requests == [report.resolve().as_uri()]
    assert page.values["loaded"] == []
    assert page.values["remote"] == []
    assert page.values["title"] == f"Laporan Penilaian Kinerja ASN Kota Semarang {PERIOD}"
    assert page.values["lang"] == "id"
    assert page.values["sections"] == SECTIONS
    assert page.values["charts"] >= 6
    assert page.values["collapsed"] > 10  # per-unit lists start folded
    for path in pictures.values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path
        assert path.stat().st_size > 10_000, path


def test_report_is_self_contained(html):
    assert "<script" not in html
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:[a-z]+:)?//""", html, re.I)
    assert not re.search(r"url\(\s*['\"]?(?:[a-z]+:)?//", html, re.I)
    assert "@import" not in html


def test_report_shows_the_published_figures(run, html):
    appraisal = query(run.url, "SELECT a.*, e.name FROM fact_appraisal a JOIN dim_employee e "
                      "ON e.nip = a.nip WHERE a.agency_code = :a AND a.period_id = :p",
                      a=AGENCY, p=PERIOD)
    units = query(run.url, "SELECT p.*, u.unit_name FROM fact_unit_performance p JOIN dim_unit u"
                  " ON u.agency_code = p.agency_code AND u.unit_code = p.unit_code "
                  "WHERE p.agency_code = :a AND p.period_id = :p", a=AGENCY, p=PERIOD)
    checks = query(run.url, "SELECT * FROM fact_distribution_check WHERE agency_code = :a "
                   "AND period_id = :p", a=AGENCY, p=PERIOD)
    followup = query(run.url, "SELECT * FROM fact_followup WHERE agency_code = :a "
                     "AND period_id = :p", a=AGENCY, p=PERIOD)
    files = query(run.url, "SELECT dataset, SUM(rows_read) AS r, SUM(rows_quarantined) AS q "
                  "FROM source_file WHERE run_id = :r GROUP BY dataset", r=run.summary["run_id"])

    headline = section(html, "ringkasan")
    assert f'<div class="v">{len(appraisal)}</div>' in headline
    assert "Lulus" in headline  # the suite passed on a fresh publication

    # Distribution: every breach is highlighted, and the agency's counts are the facts'.
    curve = section(html, "predikat")
    breaches = int(checks["breach"].sum())
    assert breaches > 0
    every = curve[curve.index('id="kurva-semua"'):]
    assert every.count("<tr") - 1 == len(checks)
    assert every.count('<tr class="breach">') == breaches
    assert every.count('<span class="badge bad">Melanggar</span>') == breaches
    listed = curve[curve.index('id="kurva-melanggar"'):curve.index('id="kurva-semua"')]
    assert listed.count('<tr class="breach">') == breaches
    for predikat, count in appraisal["predikat"].value_counts().items():
        label = {"SANGAT_BAIK": "Sangat Baik", "BAIK": "Baik", "BUTUH_PERBAIKAN":
                 "Butuh Perbaikan", "KURANG": "Kurang/Misconduct",
                 "SANGAT_KURANG": "Sangat Kurang"}[predikat]
        assert re.search(rf"{re.escape(escape(label))}</td><td class=\"n\">{count}</td>", curve)

    # Units: IKU and absorption, as the scatter's table shows them.
    unit_section = section(html, "unit")
    assert "<svg" in unit_section
    for unit in units.itertuples():
        assert escape(unit.unit_name) in unit_section
        assert format_number(unit.iku_score) in unit_section
        assert format_pct(unit.absorption_pct) in unit_section

    # Every employee's final score, rounded for display, in their unit's list.
    results = section(html, "hasil")
    for row in appraisal.itertuples():
        found = re.search(rf"<td class=\"nip\">{row.nip}</td>.*?</tr>", results)
        assert found, row.nip
        assert f'<td class="n">{format_number(row.final_score)}</td>' in found.group(0)

    # Follow-ups and employees not rated.
    followups = section(html, "tindak-lanjut")
    for nip in followup.loc[followup["reward_candidate"].astype(bool), "nip"]:
        assert nip in followups
    for nip in followup.loc[followup["coaching_required"].astype(bool), "nip"]:
        assert nip in followups
    not_rated = section(html, "belum-dinilai")
    assert set(appraisal.loc[appraisal["status"] == "NOT_RATED", "nip"]) <= set(
        re.findall(r"\d{18}", not_rated))

    # Data quality: quarantine per dataset, the suite's verdict and its Data Docs.
    quality = section(html, "mutu-data")
    for dataset in files.itertuples():
        assert re.search(rf"\({dataset.dataset}\)</td><td class=\"n\">"
                         rf"{re.escape(format_number(dataset.r, 0))}</td>", quality)
    assert '<span class="badge good">Lulus</span>' in quality
    docs = re.search(r'<a href="([^"]+)">Data Docs</a>', quality).group(1)
    assert docs == f"datadocs/{AGENCY}_{PERIOD}/index.html"
    assert (Path(run.summary["report"]).parent / docs).is_file()

    # Lineage: the run, its policy and every source file.
    lineage = section(html, "asal-usul")
    assert run.summary["run_id"] in lineage
    assert "permenpanrb-6-2022" in lineage
    for path in query(run.url, "SELECT path FROM source_file WHERE run_id = :r",
                      r=run.summary["run_id"])["path"]:
        assert escape(path) in lineage


def test_display_formats_are_indonesian():
    assert format_number(1234567.891) == "1.234.567,89"
    assert format_number(-0.001) == "0,00"
    assert format_number(None) == "–"
    assert format_number(float("nan")) == "–"
    assert format_number(12, 0) == "12"
    assert format_share(0.875) == "87,50%"
    assert format_pct(86.73255) == "86,73%"
