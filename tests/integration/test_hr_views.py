"""The HR views v_hasil_penilaian and v_kinerja_unit (warehouse.md "Views for HR"), on SQLite and
on the real PostgreSQL server: one row per employee / unit and period, Indonesian names and
labels, the facts' values."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.reporting import AGENCY, PERIOD, generated_landing, published, query, run_flow

PREDIKAT = {"SANGAT_BAIK": "Sangat Baik", "BAIK": "Baik", "BUTUH_PERBAIKAN": "Butuh Perbaikan",
            "KURANG": "Kurang/Misconduct", "SANGAT_KURANG": "Sangat Kurang"}
HASIL_COLUMNS = [
    "kode_instansi", "nama_instansi", "periode", "kode_unit", "nama_unit", "nip", "nama",
    "jenis_pegawai", "jenis_jabatan", "jabatan", "golongan", "nilai_hasil_kerja",
    "nilai_perilaku", "nilai_disiplin", "nilai_kinerja_unit", "nilai_akhir",
    "rating_hasil_kerja", "rating_perilaku", "predikat", "status_penilaian",
    "peringkat_di_unit", "kandidat_penghargaan", "perlu_pembinaan", "kebutuhan_pelatihan",
    "hari_tanpa_keterangan_tahun_berjalan", "sanksi_disiplin", "memenuhi_syarat_promosi",
]
UNIT_COLUMNS = [
    "kode_instansi", "nama_instansi", "periode", "kode_unit", "nama_unit", "kode_unit_induk",
    "nilai_iku", "pagu_anggaran", "realisasi_anggaran", "penyerapan_anggaran_persen",
    "efisiensi_persen", "predikat_organisasi", "jumlah_pegawai", "jumlah_dinilai",
    "jumlah_sangat_baik", "jumlah_baik", "jumlah_butuh_perbaikan", "jumlah_kurang_misconduct",
    "jumlah_sangat_kurang", "jumlah_pelanggaran_kurva",
]


@pytest.fixture(params=["sqlite", "postgres"])
def url(request, prefect_harness, tmp_path_factory, tmp_path) -> str:
    if request.param == "sqlite":
        return published(tmp_path_factory).url
    target = request.getfixturevalue("postgres_url")
    run_flow(generated_landing(tmp_path_factory), target, tmp_path / "reports",
             tmp_path / "work")
    return target


def test_hr_views(url):
    # One test per database: on PostgreSQL the flow publishes into a fresh database first.
    check_hasil_penilaian(url)
    check_kinerja_unit(url)


def check_hasil_penilaian(url: str) -> None:
    view = query(url, "SELECT * FROM v_hasil_penilaian WHERE kode_instansi = :a "
                 "AND periode = :p", a=AGENCY, p=PERIOD)
    assert list(view.columns) == HASIL_COLUMNS
    facts = query(url, "SELECT a.*, f.reward_candidate, f.training_needs, f.discipline_sanction,"
                  " f.absent_days_ytd, e.name, u.unit_name FROM fact_appraisal a "
                  "JOIN fact_followup f ON f.nip = a.nip AND f.period_id = a.period_id "
                  "AND f.agency_code = a.agency_code JOIN dim_employee e ON e.nip = a.nip "
                  "JOIN dim_unit u ON u.unit_code = a.unit_code AND u.agency_code = a.agency_code"
                  " WHERE a.agency_code = :a AND a.period_id = :p", a=AGENCY, p=PERIOD)
    assert len(view) == len(facts) == view["nip"].nunique() > 0
    merged = facts.merge(view, on="nip", validate="one_to_one")
    assert (merged["nama"] == merged["name"]).all()
    assert (merged["nama_unit"] == merged["unit_name"]).all()
    assert (merged["nama_instansi"] == "Kota Semarang").all()
    pd.testing.assert_series_equal(merged["nilai_akhir"], merged["final_score"],
                                   check_names=False, check_exact=True)
    pd.testing.assert_series_equal(merged["nilai_disiplin"], merged["discipline_score"],
                                   check_names=False, check_exact=True)
    assert (merged["predikat_y"].fillna("-")
            == merged["predikat_x"].map(PREDIKAT).fillna("-")).all()
    assert set(view["predikat"].dropna()) <= set(PREDIKAT.values())
    assert set(view["status_penilaian"]) <= {"Dinilai", "Belum dinilai", "Tidak aktif"}
    assert (merged["kandidat_penghargaan"]
            == merged["reward_candidate"].astype(bool).map({True: "Ya", False: "Tidak"})).all()
    assert (merged["hari_tanpa_keterangan_tahun_berjalan"] == merged["absent_days_ytd"]).all()
    assert (merged.loc[merged["discipline_sanction"] == "NONE", "sanksi_disiplin"]
            == "Tidak ada").all()
    needs = merged[merged["training_needs"].str.contains("berorientasi_pelayanan")]
    assert len(needs) and needs["kebutuhan_pelatihan"].str.startswith(
        "Berorientasi Pelayanan").all()
    assert "_" not in "".join(view["kebutuhan_pelatihan"].fillna(""))
    ranked = merged.dropna(subset=["rank_in_unit"])
    assert (ranked["peringkat_di_unit"].astype(int) == ranked["rank_in_unit"].astype(int)).all()


def check_kinerja_unit(url: str) -> None:
    view = query(url, "SELECT * FROM v_kinerja_unit WHERE kode_instansi = :a AND periode = :p",
                 a=AGENCY, p=PERIOD)
    assert list(view.columns) == UNIT_COLUMNS
    units = query(url, "SELECT * FROM fact_unit_performance WHERE agency_code = :a "
                  "AND period_id = :p", a=AGENCY, p=PERIOD)
    assert len(view) == len(units) == view["kode_unit"].nunique() > 1
    merged = units.merge(view, left_on="unit_code", right_on="kode_unit",
                         validate="one_to_one")
    pd.testing.assert_series_equal(merged["nilai_iku"], merged["iku_score"], check_names=False)
    pd.testing.assert_series_equal(merged["penyerapan_anggaran_persen"],
                                   merged["absorption_pct"], check_names=False)
    assert (merged["jumlah_pegawai"] == merged["headcount"]).all()
    labels = {"ISTIMEWA": "Istimewa", "BAIK": "Baik", "BUTUH_PERBAIKAN": "Butuh Perbaikan",
              "KURANG": "Kurang", "SANGAT_KURANG": "Sangat Kurang"}
    assert (merged["predikat_organisasi"].fillna("-")
            == merged["org_predikat"].map(labels).fillna("-")).all()

    counts = query(url, "SELECT unit_code, predikat, COUNT(*) AS n FROM fact_appraisal "
                   "WHERE agency_code = :a AND period_id = :p AND status = 'APPRAISED' "
                   "GROUP BY unit_code, predikat", a=AGENCY, p=PERIOD)
    table = counts.pivot(index="unit_code", columns="predikat", values="n")
    for code, column in (("SANGAT_BAIK", "jumlah_sangat_baik"), ("BAIK", "jumlah_baik"),
                         ("BUTUH_PERBAIKAN", "jumlah_butuh_perbaikan"),
                         ("KURANG", "jumlah_kurang_misconduct"),
                         ("SANGAT_KURANG", "jumlah_sangat_kurang")):
        expected = merged["unit_code"].map(table.get(code, {})).fillna(0)
        assert (merged[column].astype(int) == expected.astype(int)).all(), code
    assert (merged[[c for c in UNIT_COLUMNS if c.startswith("jumlah_") and c not in (
        "jumlah_pegawai", "jumlah_dinilai", "jumlah_pelanggaran_kurva")]].sum(axis=1)
        == merged["appraised_count"]).all()
    breaches = query(url, "SELECT unit_code, COUNT(*) AS n FROM fact_distribution_check "
                     "WHERE agency_code = :a AND period_id = :p AND breach "
                     "GROUP BY unit_code", a=AGENCY, p=PERIOD).set_index("unit_code")["n"]
    assert breaches.sum() > 0
    assert (merged["jumlah_pelanggaran_kurva"].astype(int)
            == merged["unit_code"].map(breaches).fillna(0).astype(int)).all()
