"""`kinerja explain` on a published generated agency (tests/reporting.py: 200 employees, a few
broken rows): every employee's JSON holds the published numbers, a changed source file or a
published value that the sources do not give makes it exit 1 naming it, and the report and the
workbook carry the rater calibration."""

from __future__ import annotations

import copy
import json
import math
import os
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from kinerja.cli import app
from kinerja.identifiers import file_component
from kinerja.policy import load_policy
from tasks.explain.calibration import rater_calibration
from tasks.explain.command import to_json
from tasks.explain.render import render_slips
from tasks.explain.sources import load_explainer, publication_ratings, report_calibration
from tasks.reporting.report_sections import CALIBRATION_SENTENCES
from tasks.score.rules import ScoringRules
from tasks.warehouse.database import make_engine
from tests.browser import visit
from tests.reporting import AGENCY, PERIOD, Published, copy_warehouse, execute, published, query

runner = CliRunner()


@pytest.fixture(scope="module")
def run(prefect_harness, tmp_path_factory) -> Published:
    return published(tmp_path_factory)


@pytest.fixture(scope="module")
def explained(run) -> dict[str, dict]:
    """Every published employee's explanation, as `explain --format json` prints it."""
    engine = make_engine(run.url)
    try:
        explainer, publication = load_explainer(engine, AGENCY, PERIOD, run.landing)
    finally:
        engine.dispose()
    nips = sorted(publication.facts["fact_appraisal"]["nip"].astype(str))
    return {e["nip"]: json.loads(to_json(e)) for e in explainer.explain_many(nips)}


def explain(run: Published, *args: str, landing: Path | None = None, url: str | None = None):
    return runner.invoke(app, ["explain", "--agency", AGENCY, "--period", PERIOD,
                               "--landing", str(landing or run.landing),
                               "--warehouse", url or run.url, *args])


def equal(published, derived) -> bool:
    """The same value: numbers exactly (the warehouse keeps them unrounded), NULL as null."""
    if published is None or (isinstance(published, float) and math.isnan(published)):
        return derived is None
    if isinstance(derived, bool) or isinstance(published, bool):
        return bool(published) == derived
    return published == derived


def test_every_employee_json_equals_the_published_values(run, explained):
    appraisal = query(run.url, "SELECT * FROM fact_appraisal WHERE agency_code = :a AND "
                      "period_id = :p", a=AGENCY, p=PERIOD).set_index("nip")
    followup = query(run.url, "SELECT * FROM fact_followup WHERE agency_code = :a AND "
                     "period_id = :p", a=AGENCY, p=PERIOD).set_index("nip")
    attendance = query(run.url, "SELECT * FROM fact_attendance WHERE agency_code = :a AND "
                       "period_id = :p", a=AGENCY, p=PERIOD).set_index("nip")
    skp = query(run.url, "SELECT * FROM fact_skp WHERE agency_code = :a AND period_id = :p",
                a=AGENCY, p=PERIOD)
    units = query(run.url, "SELECT * FROM fact_unit_performance WHERE agency_code = :a AND "
                  "period_id = :p", a=AGENCY, p=PERIOD).set_index("unit_code")
    assert sorted(explained) == sorted(appraisal.index)
    assert len(explained) >= 190 and set(appraisal["status"]) >= {"APPRAISED", "NOT_RATED"}
    checked = 0
    for nip, e in explained.items():
        a, f, t = appraisal.loc[nip], followup.loc[nip], attendance.loc[nip]
        pairs = [
            (a["unit_code"], e["employee"]["unit_code"]),
            (a["results_score"], e["achievement"]["score"]),
            (a["behavior_score"], e["behavior"]["score"]),
            (a["discipline_score"], e["discipline"]["score"]),
            (a["unit_score"], e["unit"]["score"]),
            (a["final_score"], e["final_score"]),
            (a["results_rating"], e["results_rating"]),
            (a["behavior_rating"], e["behavior_rating"]),
            (a["results_rating"], e["behavior"]["results_rating"]),
            (a["behavior_rating"], e["behavior"]["behavior_rating"]),
            (a["predikat"], e["predikat"]),
            (a["status"], e["status"]),
            (None if pd.isna(a["rank_in_unit"]) else int(a["rank_in_unit"]), e["rank_in_unit"]),
            (f["reward_candidate"], e["followup"]["reward_candidate"]),
            (f["coaching_required"], e["followup"]["coaching_required"]),
            (f["training_needs"] or "", ",".join(e["followup"]["training_needs"])),
            (f["absent_days_ytd"], e["followup"]["absent_days_ytd"]),
            (f["discipline_sanction"], e["followup"]["sanction"]),
            (f["promotion_eligible"], e["followup"]["promotion_eligible"]),
            (t["absent_days"], e["followup"]["absent_days"]),
            (units.loc[a["unit_code"], "iku_score"], e["unit"]["score"]),
            (units.loc[a["unit_code"], "appraised_count"], e["unit"]["appraised_count"]),
        ]
        pairs += [(t[c], e["discipline"][c]) for c in (
            "working_days", "present_days", "sick_days", "permit_days", "leave_days",
            "duty_days", "absent_days", "late_count", "late_minutes", "early_count",
            "early_minutes", "deduction_pct", "discipline_score") if c != "discipline_score"]
        indicators = skp[skp["nip"] == nip].sort_values("indicator_id")
        assert [i["indicator_id"] for i in e["achievement"]["indicators"]] == \
            indicators["indicator_id"].tolist()
        for row, i in zip(indicators.to_dict("records"), e["achievement"]["indicators"],
                          strict=True):
            pairs += [(row["target"], i["target"]), (row["realization"], i["realisation"]),
                      (row["polarity"], i["polarity"]), (row["weight"], i["weight"]),
                      (row["achievement"], i["score"])]
        for published_value, derived in pairs:
            assert equal(published_value, derived), (nip, published_value, derived)
            checked += 1
        # The derivation adds up to what it explains.
        d = e["discipline"]
        if d["months"]:
            assert sum(m["score"] for m in d["months"]) / len(d["months"]) == \
                pytest.approx(d["score"], abs=1e-9)
            assert sum(x["deduction"] for m in d["months"] for x in m["days"]) == \
                pytest.approx(d["deduction_pct"], abs=1e-9)
        counted = [c for c in e["components"] if c["counted"]]
        if e["final_score"] is not None:
            assert sum(c["weight"] * c["score"] for c in counted) / sum(
                c["weight"] for c in counted) == pytest.approx(e["final_score"], abs=1e-9)
        assert all(s["unchanged"] for s in e["sources"])
    assert checked > 190 * 30


def unit_with_both(explained: dict[str, dict]) -> str:
    """A small unit with appraised and not-rated employees (for the command's own runs)."""
    units: dict[str, list[dict]] = {}
    for e in explained.values():
        units.setdefault(e["employee"]["unit_code"], []).append(e)
    fit = [(len(v), u) for u, v in units.items()
           if {"APPRAISED", "NOT_RATED"} <= {e["status"] for e in v} and len(v) >= 3]
    return min(fit)[1]


def test_the_command_writes_the_same_json_for_a_unit(run, explained, tmp_path):
    unit = unit_with_both(explained)
    result = explain(run, "--unit", unit, "--format", "json", "--out", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    members = sorted(n for n, e in explained.items() if e["employee"]["unit_code"] == unit)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{n}.json" for n in members]
    for nip in members:
        assert json.loads((tmp_path / f"{nip}.json").read_text(encoding="utf-8")) == \
            explained[nip]


def test_text_for_one_employee(run, explained):
    nip = next(n for n, e in explained.items() if e["discipline"]["months"]
               and e["status"] == "APPRAISED")
    text = explain(run, "--nip", nip)
    assert text.exit_code == 0, text.stderr
    assert text.stdout.startswith("PENJELASAN PENILAIAN KINERJA — Kota Semarang (3374)")
    assert f"NIP {nip}" in text.stdout and "SUMBER DATA" in text.stdout
    for m in explained[nip]["discipline"]["months"]:
        for d in m["days"]:
            assert f"[{d['source'] or 'tidak ada baris presensi: TK'}]" in text.stdout


def landing_copy(run: Published, target: Path) -> Path:
    shutil.copytree(run.landing, target)
    return target


def test_a_changed_source_file_is_refused_naming_it(run, explained, tmp_path):
    nip = next(iter(explained))
    landing = landing_copy(run, tmp_path / "landing")
    folder = landing / AGENCY / PERIOD
    attendance = sorted((folder / "attendance").glob("*.csv"))[0]
    with attendance.open("a", encoding="utf-8") as handle:
        handle.write(f"{nip},2025-01-06,TK,,\n")
    result = explain(run, "--nip", nip, landing=landing)
    assert result.exit_code == 1
    message = result.stderr.strip()
    assert message.startswith("kinerja: error: source file(s) changed since run ")
    assert f"attendance/{attendance.name} (attendance): SHA-256" in message
    assert f"kinerja backfill --agency {AGENCY} --from {PERIOD}" in message
    assert result.stdout == ""  # nothing explained from a changed file
    assert len(message.splitlines()) == 1

    (folder / "attendance" / "koreksi.csv").write_text("nip,date,status\n", encoding="utf-8")
    (folder / "skp.csv").unlink()
    result = explain(run, "--nip", nip, "--format", "json", landing=landing)
    assert result.exit_code == 1 and result.stdout == ""
    assert "attendance/koreksi.csv (attendance): not read by the run (added since)" in \
        result.stderr
    assert "skp.csv (skp): missing now" in result.stderr


def test_a_published_value_the_sources_do_not_give_exits_1(run, explained, tmp_path):
    copy = copy_warehouse(run, tmp_path / "copy")
    nip = next(n for n, e in explained.items() if e["final_score"] is not None)
    execute(copy.url, f"UPDATE fact_appraisal SET final_score = final_score + 0.25 "
                      f"WHERE nip = '{nip}'",
            f"UPDATE fact_followup SET discipline_sanction = 'TEGURAN_TERTULIS' "
            f"WHERE nip = '{nip}'")
    result = explain(run, "--nip", nip, "--format", "json", url=copy.url)
    assert result.exit_code == 1
    assert json.loads(result.stdout) == explained[nip]  # the derivation is still shown
    message = result.stderr.strip()
    assert "recomputed values differ from the published ones of run" in message
    assert f"fact_appraisal.final_score[{nip}]: published " \
           f"{explained[nip]['final_score'] + 0.25!r}, recomputed " \
           f"{explained[nip]['final_score']!r}" in message
    assert f"fact_followup.discipline_sanction[{nip}]: published TEGURAN_TERTULIS" in message


def test_arguments_are_checked_first(run, tmp_path):
    cases = {
        ("--nip", "12345"): "invalid NIP '12345'",
        ("--nip", "199001012015031001", "--unit", "U1"): "give exactly one of --nip",
        ("--unit", "U1"): "--unit writes one file per employee: give --out DIR",
        ("--nip", "199001012015031001", "--format", "pdf"): "--format must be one of",
        ("--nip", "199913322015031001"): "invalid NIP",  # month 13 of the birth date
        ("--nip", "\uff11" * 18): "invalid NIP",  # full-width digits are no NIP
    }
    for args, message in cases.items():
        result = explain(run, *args)
        assert result.exit_code == 1, args
        assert message in result.stderr, (args, result.stderr)
    missing = explain(run, "--nip", "199912312020121001")
    assert missing.exit_code == 1
    assert "NIP 199912312020121001 has no published appraisal in 3374 2025-S1" in missing.stderr


def test_report_and_workbook_carry_the_rater_calibration(run):
    # The agency index (the report's one-page copy): one summary row per OPD, the lenient
    # raters in sentences; every rater's row is in the workbook.
    html = Path(run.summary["report"]).read_text(encoding="utf-8")
    section = html[html.index('<section class="page" id="kalibrasi">'):]
    section = section[:section.index("</section>")]
    assert "Kalibrasi penilai</h2>" in section and "tidak tersedia" not in section
    engine = make_engine(run.url)
    try:
        ratings = publication_ratings(engine, AGENCY, PERIOD, run.landing)
        appraisal = query(run.url, "SELECT * FROM fact_appraisal WHERE period_id = :p", p=PERIOD)
        units = query(run.url, "SELECT * FROM fact_unit_performance WHERE period_id = :p",
                      p=PERIOD)
        table = rater_calibration(ratings, appraisal, units,
                                  ScoringRules.from_policy(load_policy()))
    finally:
        engine.dispose()
    assert len(table) > 10
    assert table["employees"].sum() == (appraisal["status"] == "APPRAISED").sum()
    assert section.count('<table class="data calibration">') == 1
    opds = re.findall(r'<tr class="kalibrasi-opd[^"]*">(.*?)</tr>', section)
    cells = [[int(v.replace(".", "")) for v in re.findall(r'<td class="n">([\d.]+)</td>', o)]
             for o in opds]
    # Units, raters, employees rated and raters above the curve per OPD add up to the table's.
    assert 0 < len(opds) <= table["unit_code"].nunique()
    assert sum(c[0] for c in cells) == table["unit_code"].nunique()
    assert sum(c[2] for c in cells) == len(table)
    assert sum(c[3] for c in cells) == table["employees"].sum()
    assert sum(c[4] for c in cells) == int(table["exceeds"].sum())
    assert section.count("<li>") == min(int(table["exceeds"].sum()), CALIBRATION_SENTENCES)
    book = load_workbook(run.summary["workbook"])
    sheet = book["Kalibrasi Penilai"]
    rows = [dict(zip([c.value for c in sheet[1]], r, strict=True))
            for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert len(rows) == len(table)
    by_key = {(r["Kode Unit"], r["NIP Penilai"] or ""): r for r in rows}
    for r in table.itertuples(index=False):
        row = by_key[(r.unit_code, r.rater_nip)]
        assert row["Pegawai Dinilai"] == r.employees
        assert row["Hasil Kerja Di Atas Ekspektasi (Penilai)"] == pytest.approx(
            r.results_DIATAS_EKSPEKTASI)
        assert row["Hasil Kerja Di Atas Ekspektasi (Unit)"] == pytest.approx(
            r.unit_results_DIATAS_EKSPEKTASI)
        assert row["Sangat Baik (Instansi)"] == pytest.approx(r.agency_top_share)
        assert row["Melebihi Kurva"] == ("Ya" if r.exceeds else "Tidak")


def test_calibration_says_why_when_ratings_changed(run, tmp_path):
    landing = landing_copy(run, tmp_path / "landing")
    ratings = landing / AGENCY / PERIOD / "ratings.csv"
    ratings.write_text(ratings.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    engine = make_engine(run.url)
    try:
        calibration = report_calibration(engine, AGENCY, PERIOD, landing_root=landing)
    finally:
        engine.dispose()
    assert not calibration.available
    assert "ratings.csv (ratings): SHA-256" in calibration.note


A4_CONTENT_PX = (297 - 2 * 10) / 25.4 * 96  # the slip's @page: A4 with 10 mm margins


def pdf_pages(path: Path) -> list[tuple[float, float]]:
    """Width and height (points) of every page of a PDF Chromium printed."""
    data = path.read_bytes()
    pages = re.findall(rb"/Type\s*/Page(?![s\w])", data)
    boxes = [tuple(float(v) for v in m.split()[2:4])
             for m in re.findall(rb"/MediaBox\s*\[([^\]]*)\]", data)]
    assert len(boxes) == len(pages)
    return boxes


MEASURE = {
    "slips": "document.querySelectorAll('.lembar').length",
    "heights": "[...document.querySelectorAll('.lembar')].map(e => e.getBoundingClientRect()"
               ".height)",
    "without_appendix": "(() => { document.querySelectorAll('.lampiran').forEach(e => "
                        "e.remove()); return document.querySelectorAll('.lampiran').length; })()",
}


def worst_case(explanation: dict) -> dict:
    """An employee with everything at its longest that the first page shows."""
    e = copy.deepcopy(explanation)
    long = ("Persentase penyelesaian dokumen perencanaan dan penganggaran yang disusun tepat "
            "waktu sesuai ketentuan peraturan perundang-undangan yang berlaku")
    indicator = {"indicator_id": "1", "indicator": long, "polarity": "MIN", "target": 30.0,
                 "realisation": 20.0, "weight": 1.0, "unit_of_measure": "dokumen",
                 "reported": True, "unclamped": 133.33333333333334, "clamped": True,
                 "score": 120.0, "source": "skp.csv:2"}
    e["achievement"]["indicators"] = [dict(indicator, indicator_id=str(k)) for k in range(12)]
    e["employee"].update(
        name="Raden Ajeng Siti Nurhaliza Kusumawardhani Prawiranegara, S.Kep., M.Kes.",
        position_name="Kepala Seksi Pelayanan Kesehatan Rujukan dan Kesehatan Tradisional",
        unit_name="Bidang Pelayanan dan Sumber Daya Kesehatan Dinas Kesehatan")
    e["behavior"].update(source="ratings.csv:9", replaced=["ratings.csv:3", "ratings.csv:4"],
                         basis="aspects", results_rating="SESUAI_EKSPEKTASI",
                         behavior_rating="DIBAWAH_EKSPEKTASI", rated_at="2025-06-20T09:00:00")
    e["behavior"]["aspects"] = {k: "DIBAWAH_EKSPEKTASI" for k in e["behavior"]["aspects"]
                                or ASPECTS}
    day = {"date": "2025-01-06", "status": "H", "check_in": "09:45:00", "check_out": "14:00:00",
           "late_minutes": 135, "early_minutes": 120, "late_deduction": 1.5,
           "early_deduction": 1.5, "deduction": 3.0, "source": "attendance/a.csv:2", "rows": []}
    for month in e["discipline"]["months"]:
        month["days"] = [dict(day) for _ in range(20)]
    e["followup"]["reasons"] = [
        "Bukan kandidat penghargaan: predikat Sangat Baik, tetapi peringkat 12 di unit berada "
        "di luar kuota 3 orang (10% dari 25 pegawai yang dinilai di unit, dibulatkan ke atas).",
        "Perlu pembinaan: predikat Kurang/Misconduct (pembinaan untuk predikat Butuh "
        "Perbaikan, Kurang/Misconduct, Sangat Kurang).",
        "Kebutuhan pelatihan: Berorientasi Pelayanan, Akuntabel, Kompeten, Harmonis, Loyal, "
        "Adaptif, Kolaboratif (aspek BerAKHLAK yang dinilai Di Bawah Ekspektasi).",
        "Hukuman disiplin: Pemberhentian dengan hormat tidak atas permintaan sendiri (19 hari "
        "TK dalam tahun berjalan (semester ini 12, semester I 7), rentang 17–20 hari: "
        "Pemotongan tunjangan kinerja 25 persen selama 12 bulan; TK berturut-turut terpanjang "
        "10 hari kerja (9 Juni 2025 – 20 Juni 2025), 10 hari atau lebih: paling ringan "
        "Pemberhentian dengan hormat tidak atas permintaan sendiri).",
        "Belum memenuhi syarat promosi: perlu predikat Sangat Baik atau Baik pada 4 semester "
        "berturut-turut; tidak terpenuhi pada 2025-S1, 2024-S2, 2024-S1, 2023-S2 (2025-S1: "
        "Kurang/Misconduct; 2024-S2: –; 2024-S1: –; 2023-S2: –).",
    ]
    return e


ASPECTS = ("berorientasi_pelayanan", "akuntabel", "kompeten", "harmonis", "loyal", "adaptif",
           "kolaboratif")


def test_slips_print_as_one_a4_page_per_employee(run, explained, tmp_path):
    unit = unit_with_both(explained)
    out = tmp_path / "slips"
    result = explain(run, "--unit", unit, "--out", str(out))
    assert result.exit_code == 0, result.stderr
    members = sorted(n for n, e in explained.items() if e["employee"]["unit_code"] == unit)
    combined = out / f"slip_{file_component(unit)}.html"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{n}.html" for n in members] + [combined.name])

    # The slips alone print as exactly one A4 page each, none overflowing.
    alone = visit(combined, media="print", pdf=tmp_path / "slips.pdf", evaluate=MEASURE)
    assert alone.values["slips"] == len(members) and alone.values["without_appendix"] == 0
    assert max(alone.values["heights"]) <= A4_CONTENT_PX
    pages = pdf_pages(tmp_path / "slips.pdf")
    assert len(pages) == len(members)
    assert all(abs(w - 595.3) < 1 and abs(h - 841.9) < 1 for w, h in pages)  # A4 in points

    # With the appendices: each employee's appendix starts on its own page after the slip;
    # the file opens offline, without errors, and looks like a slip.
    nip = max(members, key=lambda n: (explained[n]["status"] == "APPRAISED",
                                      len(explained[n]["behavior"]["replaced"]),
                                      sum(len(m["days"]) for m in
                                          explained[n]["discipline"]["months"])))
    shots = Path(os.environ.get("KINERJA_SCREENSHOTS") or tmp_path)
    full = visit(out / f"{nip}.html", pdf=tmp_path / "full.pdf", width=900, height=1200,
                 screenshots={f"#slip-{nip}": shots / "slip.png"},
                 evaluate={"lang": "document.documentElement.lang",
                           "first": "document.querySelector('.lembar h1').textContent"})
    assert full.console_errors == [] and full.exceptions == [] and full.log_errors == []
    assert full.requests == [(out / f"{nip}.html").resolve().as_uri()]
    assert full.values == {"lang": "id", "first": "SLIP PENILAIAN KINERJA PEGAWAI"}
    assert len(pdf_pages(tmp_path / "full.pdf")) >= 2
    assert (shots / "slip.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # The longest first page the template can be given still fits one page.
    worst = tmp_path / "worst.html"
    worst.write_text(render_slips([worst_case(explained[nip])], "Pemerintah Kabupaten "
                                  "Kepulauan Seribu Utara", matrix=ScoringRules.from_policy(
                                      load_policy()).predikat_matrix), encoding="utf-8")
    longest = visit(worst, media="print", pdf=tmp_path / "worst.pdf", evaluate=MEASURE)
    assert longest.values["heights"][0] <= A4_CONTENT_PX
    assert len(pdf_pages(tmp_path / "worst.pdf")) == 1
