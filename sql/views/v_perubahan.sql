-- v_perubahan: the change log of every re-publication (appraisal_change) with the employee's
-- name and unit, for analysts checking a correction or a backfill (warehouse.md "Views for HR").
--
-- One row per run, employee and changed field. kolom names the fact_appraisal / fact_followup
-- column that changed in Indonesian ("Predikat", "Sanksi Disiplin"), or "Pegawai" for an employee
-- who appeared or disappeared; jenis_perubahan labels the three cases. nilai_lama / nilai_baru are
-- the values as HR reads them ("Sangat Baik", "Ya"); numbers stay as stored. The codes stay in
-- kode_kolom ('predikat', '*'), kode_nilai_lama and kode_nilai_baru (the text of
-- docs/decisions.md "Corrections and backfills"; 'present' / 'absent' for '*'), so the view can
-- be joined back to the fact tables. A missing value is NULL. Labels: ref_change_label.
--
-- unit_kerja is the employee's unit in the period's current publication, or for an employee
-- who disappeared, in the publication the run replaced; waktu_terbit is when the run published.
-- Portable SQL only: the same text runs on SQLite and PostgreSQL.

CREATE VIEW v_perubahan AS
SELECT
    c.run_id AS run_id,
    r.kind AS jenis_run,
    r.finished_at AS waktu_terbit,
    c.agency_code AS kode_instansi,
    c.period_id AS periode,
    c.nip AS nip,
    e.name AS nama,
    COALESCE(f.unit_code, h.unit_code, e.unit_code) AS kode_unit,
    u.unit_name AS unit_kerja,
    COALESCE(fl.label, c.field) AS kolom,
    COALESCE(ol.label, c.old_value) AS nilai_lama,
    COALESCE(nl.label, c.new_value) AS nilai_baru,
    CASE
        WHEN c.field <> '*' THEN 'Nilai berubah'
        WHEN c.new_value = 'present' THEN 'Pegawai muncul'
        ELSE 'Pegawai hilang'
    END AS jenis_perubahan,
    c.field AS kode_kolom,
    c.old_value AS kode_nilai_lama,
    c.new_value AS kode_nilai_baru
FROM appraisal_change AS c
JOIN pipeline_run AS r
    ON r.run_id = c.run_id
LEFT JOIN fact_appraisal AS f
    ON f.agency_code = c.agency_code AND f.period_id = c.period_id AND f.nip = c.nip
LEFT JOIN fact_appraisal_history AS h
    ON h.superseded_by_run_id = c.run_id AND h.agency_code = c.agency_code
    AND h.period_id = c.period_id AND h.nip = c.nip
LEFT JOIN dim_employee AS e
    ON e.nip = c.nip
LEFT JOIN dim_unit AS u
    ON u.agency_code = c.agency_code
    AND u.unit_code = COALESCE(f.unit_code, h.unit_code, e.unit_code)
LEFT JOIN ref_change_label AS fl
    ON fl.field = '' AND fl.code = c.field
LEFT JOIN ref_change_label AS ol
    ON ol.field = c.field AND ol.code = c.old_value
LEFT JOIN ref_change_label AS nl
    ON nl.field = c.field AND nl.code = c.new_value;
