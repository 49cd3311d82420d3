"""`kinerja explain`'s derivation on a hand-built landing zone (tests/landing.py, extended): the
day-level detail with its source lines (a late day, a merged day, a day a letter outranks, a day
without any row, a missing check-in), a re-rating, a MIN-polarity indicator, a sanction from
consecutive absence, the promotion chain, the quarantined rows; and the small scoring functions
that explain relies on agree with scoring."""

from __future__ import annotations

import copy
import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kinerja.period import Period
from kinerja.policy import load_policy
from schemas.sources import VALIDATION_ORDER
from tasks.explain.command import to_json
from tasks.explain.compare import differences
from tasks.explain.derive import Explainer, ExplainError, Lineage
from tasks.explain.render import (
    day_text,
    explanation_text,
    formula,
    render_slips,
    short_day,
    short_formula,
    wib,
)
from tasks.explain.sources import evidence_from
from tasks.score.appraisal import counting_rows, latest_ratings
from tasks.score.attendance import longest_run_span, longest_runs
from tasks.sources.extract import extract_dataset
from tests.landing import FILES, NIP_A, NIP_B, NIP_C, write_period

PERIOD = Period.parse("2025-S1")
HOLIDAYS = {date(2025, 1, 1)}
HEADER = "nip,date,status,check_in,check_out"
NIP_D = "198801012010012004"  # left before the period: INACTIVE


def working_days(first: date = PERIOD.start, last: date = PERIOD.end) -> list[date]:
    days, day = [], first
    while day <= last:
        if day.weekday() < 5 and day not in HOLIDAYS:
            days.append(day)
        day += timedelta(days=1)
    return days


def on_time(nip: str, day: date) -> str:
    end = "16:35" if day.weekday() == 4 else "16:05"
    return f"{nip},{day.isoformat()},H,07:20,{end}"


class Landing:
    """The files and the line of every row a test names."""

    def __init__(self) -> None:
        self.lines: dict[str, int] = {}
        mesin_01 = [HEADER]

        def add(rows: list[str], key: str | None, row: str) -> None:
            rows.append(row)
            if key:
                self.lines[key] = len(rows)  # header is line 1

        special_b = {date(2025, 1, d) for d in (6, 7, 8, 9, 10, 13)}
        for day in working_days():
            if day not in special_b:
                add(mesin_01, None, on_time(NIP_A, day))
                add(mesin_01, None, on_time(NIP_B, day))
        add(mesin_01, "late", f"{NIP_B},2025-01-06,H,08:12:00,16:00:00")
        add(mesin_01, "merged_1", f"{NIP_B},2025-01-07,H,07:50,")
        add(mesin_01, "outranked", f"{NIP_B},2025-01-08,H,09:00,16:05")
        add(mesin_01, "no_check_in", f"{NIP_B},2025-01-13,H,,16:05")
        add(mesin_01, "bad_status", f"{NIP_B},2025-02-03,X,07:20,16:05")
        run = {date(2025, 6, d) for d in (9, 10, 11, 12, 13, 16, 17, 18, 19, 20)}
        add(mesin_01, "before_active", f"{NIP_C},2025-05-30,H,09:30,16:35")
        for day in working_days(date(2025, 6, 2)):
            if day not in run:
                add(mesin_01, None, on_time(NIP_C, day))
        mesin_02 = [HEADER]
        add(mesin_02, "merged_2", f"{NIP_B},2025-01-07,H,07:40:00,15:50:00")
        surat = ["nip,date,status"]
        add(surat, "letter", f"{NIP_B},2025-01-08,DL")
        add(surat, "tk_mark", f"{NIP_B},2025-01-10,TK")
        self.files = {
            "employees.csv": FILES["employees.csv"].replace(",2025-03-01,", ",2025-06-02,")
            + f"{NIP_D},Dewi Lestari,PNS,U1,PELAKSANA,Pengadministrasi,II/a,{NIP_A},,"
              "2024-12-31\n",
            "attendance/mesin_01.csv": "\n".join(mesin_01) + "\n",
            "attendance/mesin_02.csv": "\n".join(mesin_02) + "\n",
            "attendance/surat.csv": "\n".join(surat) + "\n",
            "skp.csv": (
                "nip,indicator_id,indicator,target,realization,unit_of_measure,polarity,weight\n"
                f"{NIP_A},1,Cakupan imunisasi,100,95,%,MAX,2\n"
                f"{NIP_B},1,Waktu tunggu,30,20,menit,min,\n"
                f"{NIP_B},2,Kunjungan rumah,10,8,kunjungan,,3\n"
            ),
            "ratings.csv": (
                "nip,rater_nip,rated_at,results_rating,behavior_rating,kompeten,harmonis\n"
                f"{NIP_B},{NIP_A},2025-05-02 09:00,Di Bawah Ekspektasi,sesuai ekspektasi,,\n"
                f"{NIP_B},{NIP_A},2025-06-20 09:00,Sesuai Ekspektasi,diatas ekspektasi,"
                "DIBAWAH_EKSPEKTASI,DIATAS_EKSPEKTASI\n"
                f"{NIP_C},{NIP_A},2025-06-25 10:00,DIATAS_EKSPEKTASI,DIATAS_EKSPEKTASI,,\n"
            ),
        }


PRIOR = pd.DataFrame({
    "nip": [NIP_C, NIP_C, NIP_C, NIP_B, NIP_B, NIP_B],
    "period_id": ["2024-S2", "2024-S1", "2023-S2", "2024-S2", "2024-S1", "2023-S2"],
    "predikat": ["BAIK", "SANGAT_BAIK", "BAIK", "BAIK", "KURANG", "BAIK"],
})


@pytest.fixture(scope="module")
def landing() -> Landing:
    return Landing()


@pytest.fixture(scope="module")
def explainer(landing, tmp_path_factory) -> Explainer:
    folder = write_period(tmp_path_factory.mktemp("explain") / "3374" / "2025-S1", landing.files)
    raws = {d: extract_dataset(folder, d) for d in VALIDATION_ORDER}
    evidence = evidence_from(raws, "3374", PERIOD, prior_predikat=PRIOR)
    policy = load_policy()
    return Explainer(evidence, policy, Lineage("run-1", policy.name, policy.hash, (
        {"dataset": "skp", "path": "skp.csv", "sha256": "0" * 64, "unchanged": True},)))


@pytest.fixture(scope="module")
def sri(explainer) -> dict:
    return explainer.explain(NIP_B)


def day(explanation: dict, iso: str) -> dict | None:
    found = [d for m in explanation["discipline"]["months"] for d in m["days"]
             if d["date"] == iso]
    return found[0] if found else None


def test_a_late_day_names_the_row_that_made_it_late(sri, landing):
    assert day(sri, "2025-01-06") == {
        "date": "2025-01-06", "status": "H", "check_in": "08:12:00", "check_out": "16:00:00",
        "late_minutes": 42, "early_minutes": 0, "late_deduction": 1.0, "early_deduction": 0.0,
        "deduction": 1.0, "source": f"attendance/mesin_01.csv:{landing.lines['late']}",
        "rows": [f"attendance/mesin_01.csv:{landing.lines['late']}"]}


def test_a_merged_day_takes_the_earliest_check_in_and_names_its_row(sri, landing):
    merged = day(sri, "2025-01-07")
    # mesin_01 has 07:50 and no check_out, mesin_02 07:40-15:50: 07:40 is 10 minutes late
    # (0.5) and 15:50 is 10 minutes early (0.5); the check_in came from mesin_02.
    assert (merged["check_in"], merged["check_out"]) == ("07:40:00", "15:50:00")
    assert (merged["late_minutes"], merged["early_minutes"]) == (10, 10)
    assert (merged["late_deduction"], merged["early_deduction"], merged["deduction"]) == (
        0.5, 0.5, 1.0)
    assert merged["source"] == f"attendance/mesin_02.csv:{landing.lines['merged_2']}"
    assert merged["rows"] == [f"attendance/mesin_01.csv:{landing.lines['merged_1']}",
                              f"attendance/mesin_02.csv:{landing.lines['merged_2']}"]


def test_a_letter_outranks_a_late_fingerprint_and_costs_nothing(sri):
    assert day(sri, "2025-01-08") is None  # DL (surat.csv) beat H 09:00: no deduction


def test_absent_days_with_and_without_a_row(sri, landing):
    no_row = day(sri, "2025-01-09")
    assert (no_row["status"], no_row["deduction"], no_row["source"], no_row["rows"]) == (
        "TK", 3.0, None, [])
    marked = day(sri, "2025-01-10")
    assert (marked["status"], marked["deduction"]) == ("TK", 3.0)
    assert marked["source"] == f"attendance/surat.csv:{landing.lines['tk_mark']}"


def test_a_missing_check_in_is_the_highest_tier_without_minutes(sri, landing):
    missing = day(sri, "2025-01-13")
    assert (missing["check_in"], missing["check_out"], missing["late_minutes"]) == (
        None, "16:05:00", 0)
    assert (missing["late_deduction"], missing["deduction"]) == (1.5, 1.5)
    assert missing["source"] == f"attendance/mesin_01.csv:{landing.lines['no_check_in']}"


def test_months_add_up_to_the_discipline_score(sri, explainer):
    d = sri["discipline"]
    january = d["months"][0]
    assert january["month"] == "2025-01" and january["working_days"] == 22
    assert january["deduction"] == 1.0 + 1.0 + 3.0 + 3.0 + 1.5
    assert january["score"] == 100.0 - 9.5
    assert [m["score"] for m in d["months"][1:]] == [100.0] * 5
    assert d["score"] == pytest.approx((90.5 + 500.0) / 6, abs=1e-12)
    facts = explainer.facts["fact_attendance"].set_index("nip").loc[NIP_B]
    assert d["score"] == facts["discipline_score"]
    assert d["deduction_pct"] == facts["deduction_pct"] == 9.5
    assert (d["absent_days"], d["late_count"], d["early_count"]) == (2, 3, 1)
    assert sum(x["deduction"] for m in d["months"] for x in m["days"]) == d["deduction_pct"]


def test_a_min_polarity_indicator_shows_its_formula_and_the_clamp(sri):
    waiting, visits = sri["achievement"]["indicators"]
    assert waiting["polarity"] == "MIN" and waiting["source"] == "skp.csv:3"
    assert waiting["unclamped"] == pytest.approx(100 * (2 - 20 / 30))
    assert (waiting["clamped"], waiting["score"], waiting["weight"]) == (True, 120.0, 1.0)
    assert visits["polarity"] == "MAX" and visits["source"] == "skp.csv:4"
    assert (visits["score"], visits["weight"], visits["clamped"]) == (80.0, 3.0, False)
    assert sri["achievement"]["score"] == (120.0 * 1 + 80.0 * 3) / 4


def test_a_re_rating_names_the_row_used_and_the_one_it_replaced(sri):
    b = sri["behavior"]
    assert b["source"] == "ratings.csv:3" and b["replaced"] == ["ratings.csv:2"]
    assert [h["counted"] for h in b["history"]] == [False, True]
    assert (b["results_rating"], b["behavior_rating"]) == ("SESUAI_EKSPEKTASI",
                                                           "DIATAS_EKSPEKTASI")
    assert b["rated_at"] == "2025-06-20T09:00:00" and b["rater_nip"] == NIP_A
    assert b["points"] == {"kompeten": 60.0, "harmonis": 120.0}
    assert (b["basis"], b["score"]) == ("aspects", 90.0)
    assert sri["predikat"] == "BAIK" and sri["followup"]["training_needs"] == ["kompeten"]


def test_final_score_follows_from_the_components_present(sri):
    weights = {c["component"]: c for c in sri["components"]}
    assert weights["unit"]["counted"] is False  # U2 has no IKU
    expected = (0.5 * 90.0 + 0.2 * 90.0 + 0.2 * sri["discipline"]["score"]) / 0.9
    assert sri["final_score"] == pytest.approx(expected, abs=1e-12)
    assert sri["final"]["weight_total"] == pytest.approx(0.9)


def test_a_sanction_from_consecutive_absence_shows_the_run(explainer):
    agus = explainer.explain(NIP_C)
    d = agus["discipline"]
    assert d["working_days"] == 21 and d["absent_days"] == 10
    assert d["longest_absence_run"] == {"days": 10, "dates": [
        f"2025-06-{n:02d}" for n in (9, 10, 11, 12, 13, 16, 17, 18, 19, 20)]}
    assert [m["month"] for m in d["months"]] == ["2025-06"]
    assert d["score"] == 100.0 - 30.0
    f = agus["followup"]
    # 10 days alone would be PERNYATAAN_TIDAK_PUAS; 10 consecutive working days raise it.
    assert (f["absent_days_ytd"], f["sanction"]) == (10, "PEMBERHENTIAN")
    sanction = next(r for r in f["reasons"] if r.startswith("Hukuman disiplin"))
    assert "rentang 7–10 hari: Pernyataan tidak puas secara tertulis" in sanction
    assert "TK berturut-turut terpanjang 10 hari kerja (9 Juni 2025 – 20 Juni 2025)" in sanction
    # a row dated before the employee became active counts nowhere
    assert all(x["date"] >= "2025-06-02" for m in d["months"] for x in m["days"])


def test_promotion_chain_and_reward_come_from_the_published_periods(explainer):
    agus, sri = explainer.explain(NIP_C), explainer.explain(NIP_B)
    assert agus["predikat"] == "SANGAT_BAIK" and agus["rank_in_unit"] == 1
    assert agus["followup"]["promotion_chain"] == [
        {"period_id": "2025-S1", "predikat": "SANGAT_BAIK"},
        {"period_id": "2024-S2", "predikat": "BAIK"},
        {"period_id": "2024-S1", "predikat": "SANGAT_BAIK"},
        {"period_id": "2023-S2", "predikat": "BAIK"}]
    assert agus["followup"]["promotion_eligible"] is True
    assert agus["followup"]["reward_candidate"] is True
    assert (agus["followup"]["reward_quota"], agus["followup"]["appraised_in_unit"]) == (1, 1)
    assert sri["followup"]["promotion_eligible"] is False
    assert any("tidak terpenuhi pada 2024-S1" in r for r in sri["followup"]["reasons"])


def test_not_rated_and_quarantined_rows(explainer, sri, landing):
    budi = explainer.explain(NIP_A)
    assert (budi["status"], budi["predikat"], budi["behavior"]["source"]) == (
        "NOT_RATED", None, None)
    assert budi["final_score"] is not None  # only INACTIVE has no final score
    assert [q["source"] for q in sri["quarantined"]] == [
        f"attendance/mesin_01.csv:{landing.lines['bad_status']}"]
    assert "status" in sri["quarantined"][0]["reasons"]


def test_an_inactive_employee_has_no_final_score_and_no_month(explainer):
    dewi = json.loads(to_json(explainer.explain(NIP_D)))
    assert (dewi["status"], dewi["final_score"], dewi["predikat"], dewi["rank_in_unit"]) == (
        "INACTIVE", None, None, None)
    assert (dewi["discipline"]["score"], dewi["discipline"]["months"]) == (None, [])
    assert dewi["discipline"]["longest_absence_run"] == {"days": 0, "dates": []}
    assert dewi["followup"]["sanction"] == "NONE"
    assert dewi["followup"]["reasons"][0].startswith("Tidak ada predikat karena pegawai tidak "
                                                     "memiliki hari kerja aktif")


def test_the_explanation_reproduces_the_scoring_of_the_whole_agency(explainer):
    facts = explainer.facts
    for nip in explainer.nips:
        e = explainer.explain(nip)
        rows = {t: f[f["nip"] == nip].reset_index(drop=True)
                for t, f in facts.items() if "nip" in f.columns}
        units = facts["fact_unit_performance"]
        rows["fact_unit_performance"] = units[units["unit_code"] == e["employee"]["unit_code"]]
        assert differences(e, rows) == [], nip


def test_a_changed_published_value_is_a_difference(explainer, sri):
    facts = explainer.facts
    rows = {t: f[f["nip"] == NIP_B].reset_index(drop=True)
            for t, f in facts.items() if "nip" in f.columns}
    rows["fact_unit_performance"] = facts["fact_unit_performance"].iloc[:0]
    rows["fact_appraisal"].loc[0, "final_score"] += 1e-6
    rows["fact_followup"].loc[0, "discipline_sanction"] = "TEGURAN_LISAN"
    found = [(d.table, d.column) for d in differences(sri, rows)]
    assert found == [("fact_appraisal", "final_score"), ("fact_followup", "discipline_sanction")]


def test_json_has_every_key_of_interface_md(sri):
    e = json.loads(to_json(sri))
    assert {"agency_code", "period_id", "nip", "run_id", "policy", "discipline", "achievement",
            "behavior", "final_score", "predikat", "status", "rank_in_unit", "followup",
            "sources"} <= set(e)
    assert set(e["policy"]) == {"name", "sha256"}
    assert {"score", "months"} <= set(e["discipline"])
    assert {"month", "working_days", "deduction", "score", "days"} <= set(
        e["discipline"]["months"][0])
    assert {"date", "status", "check_in", "check_out", "late_minutes", "early_minutes",
            "late_deduction", "early_deduction", "deduction", "source"} <= set(
        e["discipline"]["months"][0]["days"][0])
    assert {"indicator_id", "polarity", "target", "realisation", "score", "source"} <= set(
        e["achievement"]["indicators"][0])
    assert {"score", "results_rating", "behavior_rating", "source", "replaced"} <= set(
        e["behavior"])
    assert {"reward_candidate", "coaching_required", "training_needs", "absent_days",
            "absent_days_ytd", "sanction", "promotion_eligible", "reasons"} <= set(e["followup"])
    assert set(e["sources"][0]) == {"dataset", "path", "sha256", "unchanged"}
    assert isinstance(e["rank_in_unit"], int) and isinstance(e["followup"]["training_needs"], list)


def test_text_names_every_source_row(sri, landing):
    text = explanation_text(sri, "Kota Semarang")
    assert f"[attendance/mesin_02.csv:{landing.lines['merged_2']}]" in text
    assert "(digabung dari attendance/mesin_01.csv:" in text
    assert "[tidak ada baris presensi: TK]" in text
    assert "Digantikan (lebih awal): ratings.csv:2" in text
    assert "100 × (2 − 20,00 / 30,00) = 133,33 → dibatasi: 120,00" in text


def test_an_unknown_employee_is_refused(explainer):
    with pytest.raises(ExplainError, match="199912312020121001"):
        explainer.explain("199912312020121001")


# The small scoring functions explain uses ---------------------------------------------------


def test_longest_run_span_agrees_with_longest_runs():
    rng = np.random.default_rng(7)
    masks = rng.random((400, 40)) < 0.55
    lengths = longest_runs(masks)
    for mask, length in zip(masks, lengths, strict=True):
        start, found = longest_run_span(mask)
        assert found == length
        assert mask[start:start + found].all()
        assert found == 0 or start == 0 or not mask[start - 1]
    assert longest_run_span(np.zeros(5, dtype=bool)) == (0, 0)
    assert longest_run_span(np.array([1, 1, 0, 1, 1], dtype=bool)) == (0, 2)  # the first


def test_counting_rows_are_the_rows_latest_ratings_uses():
    ratings = pd.DataFrame({
        "nip": [NIP_B, NIP_A, NIP_B, NIP_A],
        "rated_at": pd.to_datetime(["2025-06-01", "2025-05-01", "2025-03-01", "2025-06-02"]),
        "results_rating": ["A", "B", "C", "D"], "behavior_rating": ["A", "B", "C", "D"]})
    assert counting_rows(ratings).tolist() == [3, 0]  # nip order: NIP_A, NIP_B
    latest = latest_ratings(ratings, ())
    assert latest["results_rating"].tolist() == ["D", "A"]


def test_written_landing_is_the_one_explained(landing, tmp_path):
    folder = write_period(tmp_path, landing.files)
    lines = Path(folder / "attendance" / "mesin_01.csv").read_text().splitlines()
    assert lines[landing.lines["late"] - 1] == f"{NIP_B},2025-01-06,H,08:12:00,16:00:00"


# Rendering ----------------------------------------------------------------------------------


def test_source_text_is_inert_in_the_slip_and_the_terminal(sri):
    hostile = copy.deepcopy(sri)
    hostile["employee"]["name"] = '<script>alert(1)</script>\x1b[2J"Sri"'
    hostile["achievement"]["indicators"][0]["indicator"] = "<img src=x onerror=alert(1)>"
    html = render_slips([hostile], "Kota <b>Semarang</b>")
    assert "<script" not in html and "<img" not in html and "<b>Semarang" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    text = explanation_text(hostile, "Kota Semarang")
    assert "\x1b" not in text and "\ufffd[2J" in text


def test_formulas_and_days_in_words(sri):
    waiting, visits = sri["achievement"]["indicators"]
    assert formula(waiting) == "100 × (2 − 20,00 / 30,00) = 133,33 → dibatasi: 120,00"
    assert formula(visits) == "100 × 8,00 / 10,00 = 80,00"
    assert short_formula(waiting) == "100×(2−20,00/30,00) = 133,33 → 120,00"
    assert formula({**visits, "reported": False}) == "realisasi tidak dilaporkan: 0"
    assert short_day(day(sri, "2025-01-07")) == "TL 10 mnt + PSW 10 mnt −1,00"
    assert short_day(day(sri, "2025-01-13")) == "TL tanpa jam −1,50"
    assert short_day(day(sri, "2025-01-09")) == "TK −3,00"
    assert day_text(day(sri, "2025-01-06")) == "terlambat 42 mnt (−1,00)"
    assert wib(pd.Timestamp("2025-07-01 20:00:00")) == "2 Juli 2025 03:00 WIB"


def test_one_nip_rule_for_the_command_line_and_validation():
    from kinerja import identifiers
    from schemas.parsing import nip_is_valid

    # Full-width digits but an ASCII gender digit: str.isdigit and int() accept them, so this
    # passed validation before the NIP rule required ASCII digits.
    full_width = NIP_B[:14].translate({ord(c): 0xFF10 + int(c) for c in "0123456789"}) \
        + NIP_B[14:]
    samples = pd.Series([NIP_B, full_width, "199113052016032002", "19910505201603200"])
    assert nip_is_valid(samples).tolist() == [True, False, False, False]
    assert identifiers.nip(f" {NIP_B} ") == NIP_B
    for bad in samples[1:]:
        with pytest.raises(identifiers.InvalidIdentifier, match="invalid NIP"):
            identifiers.nip(bad)
