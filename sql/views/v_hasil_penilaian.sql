-- v_hasil_penilaian: the appraisal of every employee and period, for HR (warehouse.md "Views for
-- HR"), with Indonesian column names and labels. One row per (kode_instansi, periode, nip): the
-- facts' key, joined to the dimensions (type 1, so name and position are the latest known) and to
-- the follow-ups. Unit name comes from the unit the employee was appraised in (fact_appraisal).
-- Scores are unrounded; flags are 'Ya' / 'Tidak'. One portable statement (SQLite, PostgreSQL).
CREATE VIEW v_hasil_penilaian AS
SELECT
    a.agency_code AS kode_instansi,
    ag.agency_name AS nama_instansi,
    a.period_id AS periode,
    a.unit_code AS kode_unit,
    u.unit_name AS nama_unit,
    a.nip AS nip,
    e.name AS nama,
    e.employee_type AS jenis_pegawai,
    CASE e.position_type
        WHEN 'JPT' THEN 'Jabatan Pimpinan Tinggi'
        WHEN 'ADMINISTRATOR' THEN 'Administrator'
        WHEN 'PENGAWAS' THEN 'Pengawas'
        WHEN 'FUNGSIONAL' THEN 'Fungsional'
        WHEN 'PELAKSANA' THEN 'Pelaksana'
        ELSE e.position_type
    END AS jenis_jabatan,
    e.position_name AS jabatan,
    e.grade AS golongan,
    a.results_score AS nilai_hasil_kerja,
    a.behavior_score AS nilai_perilaku,
    a.discipline_score AS nilai_disiplin,
    a.unit_score AS nilai_kinerja_unit,
    a.final_score AS nilai_akhir,
    CASE a.results_rating
        WHEN 'DIATAS_EKSPEKTASI' THEN 'Di Atas Ekspektasi'
        WHEN 'SESUAI_EKSPEKTASI' THEN 'Sesuai Ekspektasi'
        WHEN 'DIBAWAH_EKSPEKTASI' THEN 'Di Bawah Ekspektasi'
        ELSE a.results_rating
    END AS rating_hasil_kerja,
    CASE a.behavior_rating
        WHEN 'DIATAS_EKSPEKTASI' THEN 'Di Atas Ekspektasi'
        WHEN 'SESUAI_EKSPEKTASI' THEN 'Sesuai Ekspektasi'
        WHEN 'DIBAWAH_EKSPEKTASI' THEN 'Di Bawah Ekspektasi'
        ELSE a.behavior_rating
    END AS rating_perilaku,
    CASE a.predikat
        WHEN 'SANGAT_BAIK' THEN 'Sangat Baik'
        WHEN 'BAIK' THEN 'Baik'
        WHEN 'BUTUH_PERBAIKAN' THEN 'Butuh Perbaikan'
        WHEN 'KURANG' THEN 'Kurang/Misconduct'
        WHEN 'SANGAT_KURANG' THEN 'Sangat Kurang'
        ELSE a.predikat
    END AS predikat,
    CASE a.status
        WHEN 'APPRAISED' THEN 'Dinilai'
        WHEN 'NOT_RATED' THEN 'Belum dinilai'
        WHEN 'INACTIVE' THEN 'Tidak aktif'
        ELSE a.status
    END AS status_penilaian,
    a.rank_in_unit AS peringkat_di_unit,
    CASE WHEN f.reward_candidate THEN 'Ya' ELSE 'Tidak' END AS kandidat_penghargaan,
    CASE WHEN f.coaching_required THEN 'Ya' ELSE 'Tidak' END AS perlu_pembinaan,
    -- the aspects in domain.md's order, as labels: 'Akuntabel, Kompeten'
    REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(f.training_needs,
        'berorientasi_pelayanan', 'Berorientasi Pelayanan'),
        'akuntabel', 'Akuntabel'),
        'kompeten', 'Kompeten'),
        'harmonis', 'Harmonis'),
        'loyal', 'Loyal'),
        'adaptif', 'Adaptif'),
        'kolaboratif', 'Kolaboratif'),
        ',', ', ') AS kebutuhan_pelatihan,
    f.absent_days_ytd AS hari_tanpa_keterangan_tahun_berjalan,
    CASE f.discipline_sanction
        WHEN 'PEMBERHENTIAN' THEN 'Pemberhentian dengan hormat tidak atas permintaan sendiri'
        WHEN 'PEMBEBASAN_JABATAN' THEN 'Pembebasan dari jabatan menjadi pelaksana (12 bulan)'
        WHEN 'PENURUNAN_JABATAN' THEN 'Penurunan jabatan setingkat lebih rendah (12 bulan)'
        WHEN 'POTONG_TUKIN_25_12BLN' THEN 'Pemotongan tunjangan kinerja 25 persen selama 12 bulan'
        WHEN 'POTONG_TUKIN_25_9BLN' THEN 'Pemotongan tunjangan kinerja 25 persen selama 9 bulan'
        WHEN 'POTONG_TUKIN_25_6BLN' THEN 'Pemotongan tunjangan kinerja 25 persen selama 6 bulan'
        WHEN 'PERNYATAAN_TIDAK_PUAS' THEN 'Pernyataan tidak puas secara tertulis'
        WHEN 'TEGURAN_TERTULIS' THEN 'Teguran tertulis'
        WHEN 'TEGURAN_LISAN' THEN 'Teguran lisan'
        WHEN 'NONE' THEN 'Tidak ada'
        ELSE f.discipline_sanction
    END AS sanksi_disiplin,
    CASE WHEN f.promotion_eligible THEN 'Ya' ELSE 'Tidak' END AS memenuhi_syarat_promosi
FROM fact_appraisal a
LEFT JOIN fact_followup f
    ON f.period_id = a.period_id AND f.agency_code = a.agency_code AND f.nip = a.nip
LEFT JOIN dim_employee e ON e.nip = a.nip
LEFT JOIN dim_unit u ON u.agency_code = a.agency_code AND u.unit_code = a.unit_code
LEFT JOIN dim_agency ag ON ag.agency_code = a.agency_code;
