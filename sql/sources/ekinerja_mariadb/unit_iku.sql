-- e-kinerja on MariaDB / MySQL -> unit_iku (sources.md): the units' (OPD) key performance
-- indicators of one period.
--
-- Source table iku_perangkat_daerah: kode_pemda, periode, kode_opd, kode_iku, uraian, target,
-- realisasi, polaritas, bobot. Bind parameters: agency_code, period_id.
SELECT
    kode_opd  AS unit_code,
    kode_iku  AS iku_id,
    uraian    AS indicator,
    target,
    realisasi AS realization,
    polaritas AS polarity,
    bobot     AS weight
FROM iku_perangkat_daerah
WHERE kode_pemda = :agency_code
  AND periode = :period_id
ORDER BY id
