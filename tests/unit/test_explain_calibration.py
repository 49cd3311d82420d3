"""Rater calibration on a hand-built agency: one lenient rater in a unit whose curve bounds the
top predikat, a fair rater beside them, a lenient rater in a unit whose curve does not, and the
ratings that must not count (replaced, of employees not appraised)."""

from __future__ import annotations

import pandas as pd
import pytest

from kinerja.policy import load_policy
from tasks.explain.calibration import (
    Calibration,
    lenient_sentences,
    rater_calibration,
    top_bounds,
)
from tasks.score.rules import ScoringRules

RULES = ScoringRules.from_policy(load_policy())
TOP, OK, LOW = "DIATAS_EKSPEKTASI", "SESUAI_EKSPEKTASI", "DIBAWAH_EKSPEKTASI"
LENIENT, FAIR, OTHER = "197001012000011001", "197502022001022002", "198003032005011003"


def nip(i: int) -> str:
    return f"1990010120150310{i:02d}"


def build() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    ratings, appraisal = [], []

    def employee(i: int, unit: str, rater: str, results: str, behavior: str,
                 predikat: str, status: str = "APPRAISED") -> None:
        ratings.append({"nip": nip(i), "rater_nip": rater, "rated_at": "2025-06-20 09:00",
                        "results_rating": results, "behavior_rating": behavior})
        appraisal.append({"nip": nip(i), "unit_code": unit, "status": status,
                          "predikat": predikat if status == "APPRAISED" else None})

    # U1 (org predikat BUTUH_PERBAIKAN: at most 10% SANGAT_BAIK): the lenient rater gives the
    # top rating to 4 of 5, the fair rater to nobody.
    for i in range(4):
        employee(i, "U1", LENIENT, TOP, TOP, "SANGAT_BAIK")
    employee(4, "U1", LENIENT, OK, OK, "BAIK")
    for i in range(5, 10):
        employee(i, "U1", FAIR, OK if i < 9 else LOW, OK, "BAIK" if i < 9 else "BUTUH_PERBAIKAN")
    # Not counted: an earlier rating replaced by the fair rater's (it was the lenient one's),
    # and an employee rated by the lenient rater who is INACTIVE.
    ratings.append({"nip": nip(5), "rater_nip": LENIENT, "rated_at": "2025-04-01 09:00",
                    "results_rating": TOP, "behavior_rating": TOP})
    employee(10, "U1", LENIENT, TOP, TOP, "SANGAT_BAIK", status="INACTIVE")
    # U2 (org predikat BAIK: the curve does not bound SANGAT_BAIK): all top, not flagged.
    for i in range(11, 14):
        employee(i, "U2", OTHER, TOP, TOP, "SANGAT_BAIK")
    frame = pd.DataFrame(ratings)
    frame["rated_at"] = pd.to_datetime(frame["rated_at"])
    units = pd.DataFrame({"unit_code": ["U1", "U2"], "org_predikat": ["BUTUH_PERBAIKAN", "BAIK"]})
    return frame, pd.DataFrame(appraisal), units


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return rater_calibration(*build(), RULES)


def row(table: pd.DataFrame, unit: str, rater: str) -> pd.Series:
    found = table[(table["unit_code"] == unit) & (table["rater_nip"] == rater)]
    assert len(found) == 1
    return found.iloc[0]


def test_the_curve_bounds_the_top_predikat_per_org_predikat():
    assert top_bounds(RULES) == {"ISTIMEWA": 0.70, "BUTUH_PERBAIKAN": 0.10, "KURANG": 0.10,
                                 "SANGAT_KURANG": 0.0}


def test_each_rater_beside_the_unit_and_the_agency(table):
    assert list(zip(table["unit_code"], table["rater_nip"], strict=True)) == [
        ("U1", LENIENT), ("U1", FAIR), ("U2", OTHER)]
    lenient = row(table, "U1", LENIENT)
    assert lenient["employees"] == 5  # the INACTIVE one and the replaced rating do not count
    assert lenient["results_DIATAS_EKSPEKTASI"] == 0.8
    assert lenient["results_SESUAI_EKSPEKTASI"] == 0.2
    assert lenient["results_DIBAWAH_EKSPEKTASI"] == 0.0
    assert lenient["behavior_DIATAS_EKSPEKTASI"] == 0.8
    assert lenient["top_share"] == 0.8
    fair = row(table, "U1", FAIR)
    assert (fair["employees"], fair["top_share"]) == (5, 0.0)
    assert fair["results_DIBAWAH_EKSPEKTASI"] == 0.2
    for r in (lenient, fair):
        assert r["unit_employees"] == 10
        assert r["unit_results_DIATAS_EKSPEKTASI"] == 0.4
        assert r["unit_top_share"] == 0.4
        assert r["agency_employees"] == 13
        assert r["agency_top_share"] == pytest.approx(7 / 13)
        assert (r["org_predikat"], r["top_bound"]) == ("BUTUH_PERBAIKAN", 0.10)


def test_only_the_lenient_rater_exceeds_their_unit_curve(table):
    assert table.loc[table["exceeds"], "rater_nip"].tolist() == [LENIENT]
    other = row(table, "U2", OTHER)
    assert other["top_share"] == 1.0 and pd.isna(other["top_bound"]) and not other["exceeds"]


def test_the_lenient_rater_in_plain_indonesian(table):
    sentences = lenient_sentences(table, RULES, {LENIENT: "Drs. Bambang Wibisono"},
                                  {"U1": "Kecamatan Tugu"})
    assert list(sentences) == [("U1", LENIENT)]
    assert sentences[("U1", LENIENT)] == (
        f"Drs. Bambang Wibisono (NIP {LENIENT}) menilai 5 pegawai di Kecamatan Tugu: 4 di "
        "antaranya (80,00%) mendapat predikat Sangat Baik (rating hasil kerja dan perilaku "
        "Di Atas Ekspektasi), sedangkan kurva distribusi unit berpredikat organisasi Butuh "
        "Perbaikan membolehkan paling banyak 10,00%. Proporsi Sangat Baik di unit ini 40,00%, "
        "di seluruh instansi 53,85%.")
    calibration = Calibration(table, RULES).with_names({}, {})
    assert len(calibration.lenient) == 1  # without names: the NIP and the unit code
    assert calibration.lenient[0].startswith(f"NIP {LENIENT} menilai 5 pegawai di U1: 4 di ")
    assert calibration.unbounded_units() == ["U2"]


def test_no_ratings_no_rows():
    ratings, appraisal, units = build()
    assert rater_calibration(ratings.iloc[:0], appraisal, units, RULES).empty
    assert not Calibration(None, note="ratings.csv berubah").available
