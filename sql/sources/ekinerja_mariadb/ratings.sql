-- e-kinerja on MariaDB / MySQL -> ratings (sources.md): the supervisors' ratings of one period.
--
-- Source table penilaian_kinerja: kode_pemda, periode, nip, nip_penilai, tanggal_penilaian
-- (DATETIME), predikat_hasil_kerja, predikat_perilaku_kerja and one column per BerAKHLAK value
-- (berorientasi_pelayanan ... kolaboratif), labels as the application writes them.
-- Bind parameters: agency_code, period_id.
SELECT
    nip,
    nip_penilai             AS rater_nip,
    tanggal_penilaian       AS rated_at,
    predikat_hasil_kerja    AS results_rating,
    predikat_perilaku_kerja AS behavior_rating,
    berorientasi_pelayanan,
    akuntabel,
    kompeten,
    harmonis,
    loyal,
    adaptif,
    kolaboratif
FROM penilaian_kinerja
WHERE kode_pemda = :agency_code
  AND periode = :period_id
ORDER BY id
