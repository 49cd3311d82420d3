-- e-kinerja on MariaDB / MySQL -> skp (sources.md): the employees' SKP indicators of one period.
--
-- Source table skp_indikator: kode_pemda (agency code), periode (period id, e.g. 2025-S1), nip,
-- kode_indikator, uraian, target, realisasi, satuan, polaritas, bobot.
-- Bind parameters: agency_code, period_id. ORDER BY keeps row numbers and lineage stable.
SELECT
    nip,
    kode_indikator AS indicator_id,
    uraian         AS indicator,
    target,
    realisasi      AS realization,
    satuan         AS unit_of_measure,
    polaritas      AS polarity,
    bobot          AS weight
FROM skp_indikator
WHERE kode_pemda = :agency_code
  AND periode = :period_id
ORDER BY id
