-- e-kinerja's presensi module on MariaDB / MySQL -> attendance (sources.md): one row per
-- employee, day and terminal record, dated inside the period.
--
-- Source table presensi: kode_pemda, nip, tanggal (DATE), status_kehadiran, jam_masuk and
-- jam_pulang (TIME). Bind parameters: agency_code, period_start, period_end.
-- Read in chunks (chunk_rows in kinerja.toml): a large city has about 2 million rows a semester.
SELECT
    nip,
    tanggal          AS date,
    status_kehadiran AS status,
    jam_masuk        AS check_in,
    jam_pulang       AS check_out
FROM presensi
WHERE kode_pemda = :agency_code
  AND tanggal BETWEEN :period_start AND :period_end
ORDER BY id
