"""The reports: the agency index and every OPD page open offline in headless Chromium without
errors or network requests, follow the organisation (sub-units nested under their OPD), speak
Indonesian (curve rules as sentences beside the unit's own org predikat, both supervisor ratings
beside each predikat, WIB times), and show the published warehouse's figures."""

from __future__ import annotations

import os
import re
from html import escape, unescape
from pathlib import Path

import pandas as pd
import pytest

from tasks.reporting.report import format_number, format_pct, format_share
from tasks.reporting.report_text import format_share_short
from tests.browser import visit
from tests.reporting import AGENCY, PERIOD, Published, published, query

INDEX_SECTIONS = ["ringkasan", "opd", "kurva", "kehadiran", "iku", "tindak-lanjut", "mutu-data",
                  "asal-usul", "kalibrasi"]
OPD_SECTIONS = ["ringkasan", "unit", "kurva", "kehadiran", "iku", "tindak-lanjut",
                "belum-dinilai", "pegawai"]
PREDIKAT = {"SANGAT_BAIK": "Sangat Baik", "BAIK": "Baik", "BUTUH_PERBAIKAN": "Butuh Perbaikan",
            "KURANG": "Kurang/Misconduct", "SANGAT_KURANG": "Sangat Kurang"}
ORG = {"ISTIMEWA": "Istimewa", "BAIK": "Baik", "BUTUH_PERBAIKAN": "Butuh Perbaikan",
       "KURANG": "Kurang", "SANGAT_KURANG": "Sangat Kurang"}
RATING = {"DIATAS_EKSPEKTASI": "Di Atas Ekspektasi", "SESUAI_EKSPEKTASI": "Sesuai Ekspektasi",
          "DIBAWAH_EKSPEKTASI": "Di Bawah Ekspektasi"}
PAGE_CHECKS = {
    "title": "document.title",
    "lang": "document.documentElement.lang",
    "sections": "[...document.querySelectorAll('main > section')].map(s => s.id)",
    "charts": "document.querySelectorAll('svg').length",
    "collapsed": "[...document.querySelectorAll('details')].filter(d => !d.open).length",
    "loaded": "performance.getEntriesByType('resource').map(e => e.name)",
    "remote": "[...document.querySelectorAll('[src],[href]')]"
              ".map(e => e.getAttribute('src') || e.getAttribute('href'))"
              ".filter(u => /^([a-z]+:)?\\/\\//i.test(u))",
    "width": "document.documentElement.scrollWidth",
}


@pytest.fixture(scope="module")
def run(prefect_harness, tmp_path_factory) -> Published:
    return published(tmp_path_factory)


@pytest.fixture(scope="module")
def folder(run) -> Path:
    return run.reports / f"{AGENCY}_{PERIOD}"


@pytest.fixture(scope="module")
def html(folder) -> str:
    return (folder / "index.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def tree(run) -> pd.DataFrame:
    """dim_unit with each unit's OPD (its top-level ancestor), computed here, not by the code
    under test."""
    units = query(run.url, "SELECT unit_code, unit_name, parent_unit_code FROM dim_unit "
                  "WHERE agency_code = :a", a=AGENCY).set_index("unit_code")
    parent = units["parent_unit_code"].where(units["parent_unit_code"].isin(units.index))

    def path(code: str) -> list[str]:
        chain = [code]
        while isinstance(parent.get(chain[-1]), str) and parent[chain[-1]] not in chain:
            chain.append(parent[chain[-1]])
        return chain

    units["opd"] = [path(c)[-1] for c in units.index]
    units["depth"] = [len(path(c)) - 1 for c in units.index]
    return units


def opd_page(folder: Path, opd: str) -> str:
    return (folder / "opd" / f"{opd}.html").read_text(encoding="utf-8")


def section(html: str, name: str) -> str:
    """The HTML of one `<section ... id=...>`."""
    start = html.index(f'id="{name}">')
    return html[start: html.index("</section>", start)]


def test_index_and_opd_pages_open_offline_in_chromium(run, folder, tree, tmp_path_factory):
    shots = Path(os.environ.get("KINERJA_SCREENSHOTS") or tmp_path_factory.mktemp("shots"))
    opd = tree.loc[tree["opd"] != tree.index].iloc[0]["opd"]  # an OPD with sub-units
    pages = {
        # KINERJA_SCREENSHOTS=docs writes the README's two pictures.
        folder / "index.html": (INDEX_SECTIONS, {"viewport": shots / "laporan_index.png"}),
        folder / "opd" / f"{opd}.html": (OPD_SECTIONS, {"#unit": shots / "laporan_opd.png"}),
        folder / "mutu-data.html": (["karantina", "pemeriksaan", "berkas"], {}),
    }
    for page, (sections, pictures) in pages.items():
        seen = visit(page, screenshots=pictures, evaluate=PAGE_CHECKS)
        assert seen.console_errors == [], page
        assert seen.exceptions == [], page
        assert seen.log_errors == [], page
        assert seen.foreign_requests == [], page
        assert seen.requests == [page.resolve().as_uri()]
        assert seen.values["loaded"] == [] and seen.values["remote"] == []
        assert seen.values["lang"] == "id"
        assert seen.values["sections"] == sections
        assert seen.values["collapsed"] == 0  # nothing to expand: every section is open
        assert seen.values["width"] <= 1280, page  # wide tables scroll inside the page
        assert seen.values["title"].endswith(f"Kota Semarang {PERIOD}")
        for path in pictures.values():
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path
            assert path.stat().st_size > 10_000, path


def test_every_page_is_self_contained_and_links_work_offline(run, folder):
    pages = [folder / "index.html", folder / "mutu-data.html",
             run.reports / f"{AGENCY}_{PERIOD}_laporan.html", *sorted(folder.glob("opd/*.html"))]
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "<script" not in text, page
        assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:[a-z]+:)?//""", text, re.I), page
        assert not re.search(r"url\(\s*['\"]?(?:[a-z]+:)?//", text, re.I), page
        assert "@import" not in text
        assert "@page { size: A4" in text  # prints on A4
        for link in set(re.findall(r'href="([^"#]+)', text)):
            assert (page.parent / unescape(link)).exists(), (page, link)
    # The one-page report's old name is the index again, its links pointing into the folder.
    copy = (run.reports / f"{AGENCY}_{PERIOD}_laporan.html").read_text(encoding="utf-8")
    assert f'href="{AGENCY}_{PERIOD}/opd/' in copy
    assert Path(run.summary["report"]).name == f"{AGENCY}_{PERIOD}_laporan.html"


def test_sub_units_are_nested_under_their_opd(folder, tree):
    opds = sorted(tree.loc[tree["opd"] == tree.index].index)
    assert sorted(p.stem for p in folder.glob("opd/*.html")) == opds
    index = (folder / "index.html").read_text(encoding="utf-8")
    for opd in opds:
        assert f'href="opd/{opd}.html"' in section(index, "opd")
        page = opd_page(folder, opd)
        rows = re.findall(r'<tr data-depth="(\d+)"[^>]*><td[^>]*>.*?<span class="muted mono">'
                          r"([^<]+)</span>", section(page, "unit"))
        listed = {code: int(depth) for depth, code in rows}
        members = tree[tree["opd"] == opd]
        assert set(listed) == set(members.index), opd  # every sub-unit, no other OPD's
        assert listed[opd] == 0 and rows[0][1] == opd  # the OPD first
        for code, depth in listed.items():
            assert depth == members.loc[code, "depth"], code
    nested = tree[tree["opd"] != tree.index]
    assert len(nested) > 0  # the generated agency has sub-units (kelurahan, puskesmas...)


def test_curve_breaches_read_as_sentences_beside_the_units_org_predikat(run, folder, tree):
    checks = query(run.url, "SELECT * FROM fact_distribution_check WHERE agency_code = :a "
                   "AND period_id = :p", a=AGENCY, p=PERIOD)
    units = query(run.url, "SELECT unit_code, iku_score FROM fact_unit_performance "
                  "WHERE agency_code = :a AND period_id = :p", a=AGENCY,
                  p=PERIOD).set_index("unit_code")
    breaches = checks[checks["breach"].astype(bool)]
    assert len(breaches) > 0
    for check in breaches.itertuples():
        page = section(opd_page(folder, tree.loc[check.unit_code, "opd"]), "kurva")
        name = escape(tree.loc[check.unit_code, "unit_name"])
        row = re.search(rf"<tr class=\"breach\"><td><a href=\"#u-\d+\">{re.escape(name)}</a>"
                        r"</td>.*?</tr>", page, re.S)
        assert row, check.unit_code
        row = unescape(row.group(0))
        org = ORG[check.org_predikat]
        # The unit's own org predikat (and the IKU score that decided it) beside its checks.
        assert f"<td>{org} <span class=\"muted\">(IKU " \
               f"{format_number(units.loc[check.unit_code, 'iku_score'])})" in row
        who = " atau ".join(PREDIKAT[p] for p in check.predikat_set.split(","))
        if check.max_share <= 0:
            rule, actual = f"tidak boleh ada pegawai {who}", f"{check.employee_count} pegawai"
        elif check.min_count:
            rule, actual = f"harus ada pegawai {who}", f"{check.employee_count} pegawai"
        elif check.max_share < 1:
            rule = f"paling banyak {format_share_short(check.max_share)} pegawai {who}"
            actual = format_share_short(check.share)
        else:
            rule = f"paling sedikit {format_share_short(check.min_share)} pegawai {who}"
            actual = format_share_short(check.share)
        sentence = f"Unit dengan predikat organisasi {org}: {rule}; di unit ini {actual}"
        assert f'<li class="breach">{sentence} — melanggar</li>' in row, (sentence, row)
        assert "B_MAX" not in row and check.rule not in row  # no rule codes in front of HR
    # One row per unit, however many of its rules it breaks.
    for opd in set(tree["opd"]):
        curve = section(opd_page(folder, opd), "kurva")
        names = re.findall(r'<tr(?: class="breach")?><td><a href="#u-\d+">([^<]+)</a>', curve)
        assert len(names) == len(set(names)), opd


def test_both_supervisor_ratings_stand_beside_each_predikat(run, folder, tree):
    appraisal = query(run.url, "SELECT * FROM fact_appraisal WHERE agency_code = :a AND "
                      "period_id = :p", a=AGENCY, p=PERIOD)
    pages = {opd: section(opd_page(folder, opd), "pegawai") for opd in set(tree["opd"])}
    for row in appraisal.itertuples():
        people = pages[tree.loc[row.unit_code, "opd"]]
        found = re.search(rf"<td class=\"nip\">{row.nip}</td>.*?</tr>", people)
        assert found, row.nip
        cells = found.group(0)
        assert f'<td class="n">{format_number(row.final_score)}</td>' in cells
        if row.status == "APPRAISED":
            assert (f'<td class="rating">{RATING[row.results_rating]}</td>'
                    f'<td class="rating">{RATING[row.behavior_rating]}</td>'
                    f"<td>{escape(PREDIKAT[row.predikat])}</td>") in cells, cells


def test_index_shows_the_published_figures(run, html):
    appraisal = query(run.url, "SELECT * FROM fact_appraisal WHERE agency_code = :a AND "
                      "period_id = :p", a=AGENCY, p=PERIOD)
    checks = query(run.url, "SELECT * FROM fact_distribution_check WHERE agency_code = :a "
                   "AND period_id = :p", a=AGENCY, p=PERIOD)
    files = query(run.url, "SELECT dataset, SUM(rows_read) AS r FROM source_file "
                  "WHERE run_id = :r GROUP BY dataset", r=run.summary["run_id"])
    run_row = query(run.url, "SELECT finished_at FROM pipeline_run WHERE run_id = :r",
                    r=run.summary["run_id"]).iloc[0]

    headline = section(html, "ringkasan")
    assert f'<div class="v">{len(appraisal)}</div>' in headline
    assert "Lulus" in headline  # the suite passed on a fresh publication
    for predikat, count in appraisal["predikat"].value_counts().items():
        label = escape(PREDIKAT[predikat])
        assert re.search(rf"{re.escape(label)}</td><td class=\"n\">{count}</td>", headline)
    share = (appraisal["predikat"] == "BAIK").sum() / (appraisal["status"] == "APPRAISED").sum()
    assert format_share(share) in headline

    curve = section(html, "kurva")
    breach_units = checks.loc[checks["breach"].astype(bool), "unit_code"].nunique()
    assert f"{breach_units} dari {checks['unit_code'].nunique()} unit" in curve
    assert "B_MAX" not in html and "BP_K_PRESENT" not in html and "SB_NONE" not in html

    quality = section(html, "mutu-data")
    for dataset in files.itertuples():
        assert re.search(rf"{dataset.dataset}</span></td><td class=\"n\">"
                         rf"{re.escape(format_number(dataset.r, 0))}</td>", quality)
    assert '<span class="badge good">Lulus</span>' in quality
    assert "not a valid" not in html and "required value" not in html  # reasons in Indonesian

    lineage = section(html, "asal-usul")
    assert run.summary["run_id"] in lineage
    assert "permenpanrb-6-2022" in lineage
    finished = pd.Timestamp(run_row["finished_at"]) + pd.Timedelta(hours=7)
    assert f"{finished:%H:%M} WIB" in lineage and "UTC" not in html
    assert not re.search(r"\b\d{18}\b", html)  # no people on the index


def test_opd_pages_hold_the_follow_ups_in_full(run, folder, tree):
    followup = query(run.url, "SELECT f.*, a.unit_code, a.status FROM fact_followup f "
                     "JOIN fact_appraisal a ON a.nip = f.nip AND a.period_id = f.period_id "
                     "WHERE f.agency_code = :a AND f.period_id = :p", a=AGENCY, p=PERIOD)
    pages = {opd: section(opd_page(folder, opd), "tindak-lanjut") for opd in set(tree["opd"])}
    not_rated = {opd: section(opd_page(folder, opd), "belum-dinilai") for opd in pages}
    for row in followup.itertuples():
        opd = tree.loc[row.unit_code, "opd"]
        block = pages[opd]
        for flag, anchor in (("reward_candidate", "penghargaan"), ("coaching_required",
                                                                   "pembinaan")):
            part = block[block.index(f'id="{anchor}"'):]
            part = part[:part.index("<h3", 5)]
            assert (row.nip in part) == bool(getattr(row, flag)), (row.nip, flag)
        if row.discipline_sanction != "NONE":
            assert row.nip in block[block.index('id="sanksi"'):]
        if row.status == "NOT_RATED":
            assert row.nip in not_rated[opd]


def test_quality_page_lists_every_expectation_and_the_lineage(run, folder):
    page = (folder / "mutu-data.html").read_text(encoding="utf-8")
    summary = query(run.url, "SELECT quality_summary FROM pipeline_run WHERE run_id = :r",
                    r=run.summary["run_id"])["quality_summary"].iloc[0]
    evaluated = int(re.search(r'"evaluated": (\d+)', summary).group(1))
    suite = section(page, "pemeriksaan")
    assert suite.count('<span class="badge good">Lulus</span>') == evaluated + 1  # + status
    assert 'class="badge bad"' not in suite
    docs = re.search(r'<a href="([^"]+)">Data Docs</a>', page).group(1)
    assert docs == f"../datadocs/{AGENCY}_{PERIOD}/index.html"
    assert (folder / docs).is_file()
    for path in query(run.url, "SELECT path FROM source_file WHERE run_id = :r",
                      r=run.summary["run_id"])["path"]:
        assert escape(path) in section(page, "berkas")
    reasons = section(page, "karantina")
    assert "bukan NIP yang sah" in reasons or "wajib diisi" in reasons
    assert "not a valid" in reasons  # the original message stays, for data engineers


def test_display_formats_are_indonesian():
    assert format_number(1234567.891) == "1.234.567,89"
    assert format_number(-0.001) == "0,00"
    assert format_number(None) == "–"
    assert format_number(float("nan")) == "–"
    assert format_number(12, 0) == "12"
    assert format_share(0.875) == "87,50%"
    assert format_pct(86.73255) == "86,73%"
