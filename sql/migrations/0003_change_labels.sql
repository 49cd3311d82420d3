-- Indonesian names of the change log's fields and values, for v_perubahan (issue 11): HR reads
-- "Predikat: Baik -> Sangat Baik", not "predikat: BAIK -> SANGAT_BAIK". field '' labels the
-- fields themselves; other rows label one field's codes. The codes stay in appraisal_change.
-- tasks/warehouse/change_labels.py holds the same labels for `kinerja changes`; a test keeps them equal.

CREATE TABLE ref_change_label (
    field TEXT NOT NULL,
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    PRIMARY KEY (field, code)
);

INSERT INTO ref_change_label (field, code, label) VALUES ('', '*', 'Pegawai');
INSERT INTO ref_change_label (field, code, label) VALUES ('', 'unit_code', 'Unit Kerja');
INSERT INTO ref_change_label (field, code, label) VALUES ('', 'results_score', 'Nilai Hasil Kerja');
INSERT INTO ref_change_label (field, code, label) VALUES ('', 'behavior_score', 'Nilai Perilaku');
INSERT INTO ref_change_label (field, code, label) VALUES ('', 'discipline_score', 'Nilai Disiplin');
INSERT INTO ref_change_label (field, code, label) VALUES ('', 'unit_score', 'Nilai Kinerja Unit');
INSERT INTO ref_change_label (field, code, label) VALUES ('', 'final_score', 'Nilai Akhir');
INSERT INTO ref_change_label (field, code, label) VALUES ('', 'results_rating', 'Rating Hasil Kerja');
INSERT INTO ref_change_label (field, code, label) VALUES ('', 'behavior_rating', 'Rating Perilaku');
INSERT INTO ref_change_label (field, code, label) VALUES ('', 'predikat', 'Predikat');
INSERT INTO ref_change_label (field, code, label) VALUES ('', 'rank_in_unit', 'Peringkat di Unit');
INSERT INTO ref_change_label (field, code, label) VALUES ('', 'status', 'Status Penilaian');
INSERT INTO ref_change_label (field, code, label) VALUES ('', 'reward_candidate', 'Kandidat Penghargaan');
INSERT INTO ref_change_label (field, code, label) VALUES ('', 'coaching_required', 'Perlu Pembinaan');
INSERT INTO ref_change_label (field, code, label) VALUES ('', 'training_needs', 'Kebutuhan Pelatihan');
INSERT INTO ref_change_label (field, code, label) VALUES ('', 'absent_days_ytd', 'Hari TK Tahun Berjalan');
INSERT INTO ref_change_label (field, code, label) VALUES ('', 'discipline_sanction', 'Sanksi Disiplin');
INSERT INTO ref_change_label (field, code, label) VALUES ('', 'promotion_eligible', 'Memenuhi Syarat Promosi');
INSERT INTO ref_change_label (field, code, label) VALUES ('*', 'present', 'ada');
INSERT INTO ref_change_label (field, code, label) VALUES ('*', 'absent', 'tidak ada');
INSERT INTO ref_change_label (field, code, label) VALUES ('results_rating', 'DIATAS_EKSPEKTASI', 'Di Atas Ekspektasi');
INSERT INTO ref_change_label (field, code, label) VALUES ('results_rating', 'SESUAI_EKSPEKTASI', 'Sesuai Ekspektasi');
INSERT INTO ref_change_label (field, code, label) VALUES ('results_rating', 'DIBAWAH_EKSPEKTASI', 'Di Bawah Ekspektasi');
INSERT INTO ref_change_label (field, code, label) VALUES ('behavior_rating', 'DIATAS_EKSPEKTASI', 'Di Atas Ekspektasi');
INSERT INTO ref_change_label (field, code, label) VALUES ('behavior_rating', 'SESUAI_EKSPEKTASI', 'Sesuai Ekspektasi');
INSERT INTO ref_change_label (field, code, label) VALUES ('behavior_rating', 'DIBAWAH_EKSPEKTASI', 'Di Bawah Ekspektasi');
INSERT INTO ref_change_label (field, code, label) VALUES ('predikat', 'SANGAT_BAIK', 'Sangat Baik');
INSERT INTO ref_change_label (field, code, label) VALUES ('predikat', 'BAIK', 'Baik');
INSERT INTO ref_change_label (field, code, label) VALUES ('predikat', 'BUTUH_PERBAIKAN', 'Butuh Perbaikan');
INSERT INTO ref_change_label (field, code, label) VALUES ('predikat', 'KURANG', 'Kurang/Misconduct');
INSERT INTO ref_change_label (field, code, label) VALUES ('predikat', 'SANGAT_KURANG', 'Sangat Kurang');
INSERT INTO ref_change_label (field, code, label) VALUES ('status', 'APPRAISED', 'Dinilai');
INSERT INTO ref_change_label (field, code, label) VALUES ('status', 'NOT_RATED', 'Belum dinilai');
INSERT INTO ref_change_label (field, code, label) VALUES ('status', 'INACTIVE', 'Tidak aktif');
INSERT INTO ref_change_label (field, code, label) VALUES ('discipline_sanction', 'PEMBERHENTIAN', 'Pemberhentian dengan hormat tidak atas permintaan sendiri');
INSERT INTO ref_change_label (field, code, label) VALUES ('discipline_sanction', 'PEMBEBASAN_JABATAN', 'Pembebasan dari jabatan menjadi pelaksana (12 bulan)');
INSERT INTO ref_change_label (field, code, label) VALUES ('discipline_sanction', 'PENURUNAN_JABATAN', 'Penurunan jabatan setingkat lebih rendah (12 bulan)');
INSERT INTO ref_change_label (field, code, label) VALUES ('discipline_sanction', 'POTONG_TUKIN_25_12BLN', 'Pemotongan tunjangan kinerja 25 persen selama 12 bulan');
INSERT INTO ref_change_label (field, code, label) VALUES ('discipline_sanction', 'POTONG_TUKIN_25_9BLN', 'Pemotongan tunjangan kinerja 25 persen selama 9 bulan');
INSERT INTO ref_change_label (field, code, label) VALUES ('discipline_sanction', 'POTONG_TUKIN_25_6BLN', 'Pemotongan tunjangan kinerja 25 persen selama 6 bulan');
INSERT INTO ref_change_label (field, code, label) VALUES ('discipline_sanction', 'PERNYATAAN_TIDAK_PUAS', 'Pernyataan tidak puas secara tertulis');
INSERT INTO ref_change_label (field, code, label) VALUES ('discipline_sanction', 'TEGURAN_TERTULIS', 'Teguran tertulis');
INSERT INTO ref_change_label (field, code, label) VALUES ('discipline_sanction', 'TEGURAN_LISAN', 'Teguran lisan');
INSERT INTO ref_change_label (field, code, label) VALUES ('discipline_sanction', 'NONE', 'Tidak ada');
INSERT INTO ref_change_label (field, code, label) VALUES ('reward_candidate', 'true', 'Ya');
INSERT INTO ref_change_label (field, code, label) VALUES ('reward_candidate', 'false', 'Tidak');
INSERT INTO ref_change_label (field, code, label) VALUES ('coaching_required', 'true', 'Ya');
INSERT INTO ref_change_label (field, code, label) VALUES ('coaching_required', 'false', 'Tidak');
INSERT INTO ref_change_label (field, code, label) VALUES ('promotion_eligible', 'true', 'Ya');
INSERT INTO ref_change_label (field, code, label) VALUES ('promotion_eligible', 'false', 'Tidak');
