-- v_kinerja_unit: every unit's performance per period, for HR (warehouse.md "Views for HR"), with
-- Indonesian column names and labels. One row per (kode_instansi, periode, kode_unit) of
-- fact_unit_performance, with the unit's predikat counts (fact_predikat_distribution; 0 for a
-- unit without appraised employees) and how many distribution-curve checks it breaches.
-- SUMs are cast to BIGINT because PostgreSQL sums BIGINT as NUMERIC. One portable statement.
CREATE VIEW v_kinerja_unit AS
SELECT
    p.agency_code AS kode_instansi,
    ag.agency_name AS nama_instansi,
    p.period_id AS periode,
    p.unit_code AS kode_unit,
    u.unit_name AS nama_unit,
    u.parent_unit_code AS kode_unit_induk,
    p.iku_score AS nilai_iku,
    p.budget_pagu AS pagu_anggaran,
    p.budget_realisasi AS realisasi_anggaran,
    p.absorption_pct AS penyerapan_anggaran_persen,
    p.efficiency_pct AS efisiensi_persen,
    CASE p.org_predikat
        WHEN 'ISTIMEWA' THEN 'Istimewa'
        WHEN 'BAIK' THEN 'Baik'
        WHEN 'BUTUH_PERBAIKAN' THEN 'Butuh Perbaikan'
        WHEN 'KURANG' THEN 'Kurang'
        WHEN 'SANGAT_KURANG' THEN 'Sangat Kurang'
        ELSE p.org_predikat
    END AS predikat_organisasi,
    p.headcount AS jumlah_pegawai,
    p.appraised_count AS jumlah_dinilai,
    COALESCE(d.sangat_baik, 0) AS jumlah_sangat_baik,
    COALESCE(d.baik, 0) AS jumlah_baik,
    COALESCE(d.butuh_perbaikan, 0) AS jumlah_butuh_perbaikan,
    COALESCE(d.kurang, 0) AS jumlah_kurang_misconduct,
    COALESCE(d.sangat_kurang, 0) AS jumlah_sangat_kurang,
    COALESCE(c.pelanggaran, 0) AS jumlah_pelanggaran_kurva
FROM fact_unit_performance p
LEFT JOIN dim_unit u ON u.agency_code = p.agency_code AND u.unit_code = p.unit_code
LEFT JOIN dim_agency ag ON ag.agency_code = p.agency_code
LEFT JOIN (
    SELECT
        period_id,
        agency_code,
        unit_code,
        CAST(SUM(CASE WHEN predikat = 'SANGAT_BAIK' THEN employee_count ELSE 0 END) AS BIGINT)
            AS sangat_baik,
        CAST(SUM(CASE WHEN predikat = 'BAIK' THEN employee_count ELSE 0 END) AS BIGINT) AS baik,
        CAST(SUM(CASE WHEN predikat = 'BUTUH_PERBAIKAN' THEN employee_count ELSE 0 END) AS BIGINT)
            AS butuh_perbaikan,
        CAST(SUM(CASE WHEN predikat = 'KURANG' THEN employee_count ELSE 0 END) AS BIGINT)
            AS kurang,
        CAST(SUM(CASE WHEN predikat = 'SANGAT_KURANG' THEN employee_count ELSE 0 END) AS BIGINT)
            AS sangat_kurang
    FROM fact_predikat_distribution
    GROUP BY period_id, agency_code, unit_code
) d ON d.period_id = p.period_id AND d.agency_code = p.agency_code AND d.unit_code = p.unit_code
LEFT JOIN (
    SELECT
        period_id,
        agency_code,
        unit_code,
        CAST(SUM(CASE WHEN breach THEN 1 ELSE 0 END) AS BIGINT) AS pelanggaran
    FROM fact_distribution_check
    GROUP BY period_id, agency_code, unit_code
) c ON c.period_id = p.period_id AND c.agency_code = p.agency_code AND c.unit_code = p.unit_code;
