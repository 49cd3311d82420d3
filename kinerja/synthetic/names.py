"""Shared vocabulary of the synthetic agency: people's names, degrees, place names, units,
positions, indicators and budget programmes, as Indonesian local-government exports spell them.

Everything here is plain data; the generators pick from it with seeded random draws, so the order
of every list matters for reproducibility: append, do not reorder.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- people ------------------------------------------------------------------------------------

MALE_FIRST = (
    "Agus", "Ahmad", "Andi", "Arif", "Bambang", "Budi", "Dedi", "Dwi", "Eko", "Fajar", "Hadi",
    "Hendra", "Heru", "Imam", "Joko", "Muhammad", "Nanang", "Rahmat", "Rizki", "Slamet", "Sugeng",
    "Teguh", "Wahyu", "Yusuf", "Yudi", "Adi", "Bayu", "Dimas", "Gilang", "Hari", "Irfan",
    "Lukman", "Mulyadi", "Asep", "Ujang", "Cecep", "Dadang", "Iwan", "Rudi", "Sutrisno",
    "Hasan", "Ilham", "Reza", "Taufik", "Syahrul", "Fauzi", "Ridwan", "Andri", "Yoga", "Aditya",
    "Firman", "Gunawan", "Kurnia", "Nur", "Priyo", "Sigit", "Tri", "Wawan", "Yanto", "Zainal",
    "I Made", "I Wayan", "I Ketut", "I Nyoman", "I Gede", "Daniel", "Yohanes", "Fransiskus",
    "Petrus", "Markus", "Benny", "Robert", "Hotman", "Maruli", "Togar", "Andreas", "Stefanus",
)
FEMALE_FIRST = (
    "Ani", "Dewi", "Dian", "Eka", "Endang", "Fitri", "Indah", "Kartika", "Lestari", "Maya",
    "Nur", "Novi", "Putri", "Rina", "Ratna", "Sari", "Siti", "Sri", "Tri", "Wulan", "Yuni",
    "Ayu", "Rini", "Retno", "Nurul", "Anisa", "Dina", "Erna", "Fatimah", "Hana", "Ika", "Intan",
    "Juwita", "Lia", "Mega", "Nia", "Oktaviani", "Puspita", "Rahma", "Rosa", "Susi", "Tuti",
    "Umi", "Vivi", "Wati", "Yanti", "Yulia", "Zahra", "Aisyah", "Diah", "Evi", "Heni", "Imas",
    "Neneng", "Euis", "Cucu", "Ni Luh", "Ni Made", "Ni Putu", "Ni Wayan", "Maria", "Elisabeth",
    "Theresia", "Agustina", "Yohana", "Martha", "Debora", "Rosmawati", "Lina", "Mira", "Suci",
)
# Family or second names; Batak marga and most Sundanese/Javanese second names are unisex.
LAST_UNISEX = (
    "Santoso", "Wibowo", "Saputra", "Pratama", "Hidayat", "Kurniawan", "Setiawan", "Nugroho",
    "Susanto", "Wijaya", "Rahman", "Hasibuan", "Siregar", "Nasution", "Lubis", "Harahap",
    "Simanjuntak", "Situmorang", "Pangaribuan", "Tampubolon", "Manurung", "Sinaga", "Ginting",
    "Tarigan", "Sembiring", "Purba", "Saragih", "Damanik", "Hutapea", "Sukmana", "Permana",
    "Supriatna", "Hermawan", "Gunawan", "Firmansyah", "Ramadhan", "Hakim", "Syahputra",
    "Prasetyo", "Utomo", "Wicaksono", "Purnomo", "Hartono", "Suryadi", "Haryanto", "Sulistyo",
    "Chaniago", "Piliang", "Tanjung", "Koto", "Pane", "Batubara", "Daulay", "Pohan", "Sitepu",
    "Mahendra", "Kusuma", "Hutagalung", "Simatupang", "Pardede", "Rangkuti", "Matondang",
)
LAST_FEMALE = (
    "Rahmawati", "Handayani", "Wulandari", "Lestari", "Permatasari", "Susanti", "Puspitasari",
    "Yulianti", "Anggraini", "Kusumawati", "Safitri", "Maharani", "Purwaningsih", "Setyowati",
    "Hastuti", "Rahayu", "Suryani", "Mulyani", "Wahyuni", "Fitriani", "Nurhayati", "Kurniasih",
    "Sulastri", "Indriani", "Novitasari", "Astuti", "Utami", "Pertiwi", "Damayanti", "Pratiwi",
)
MIDDLE_MALE = ("Nur", "Dwi", "Tri", "Eka", "Adi", "Budi", "Hadi", "Putra", "Rahmat", "Agung",
               "Dwi", "Catur", "Ahmad", "Muhammad", "Bagus")
MIDDLE_FEMALE = ("Nur", "Dwi", "Tri", "Eka", "Sri", "Ayu", "Dewi", "Putri", "Rahma", "Indah",
                 "Kartika", "Nurul", "Puji", "Endah", "Wahyu")
# Javanese often carry one name only.
MONONYM_MALE = ("Suparman", "Sumarno", "Sukirno", "Paijo", "Sarwono", "Suwarno", "Jumadi",
                "Karyono", "Tukiman", "Wagiman", "Sutarno", "Mardiyono")
MONONYM_FEMALE = ("Sumiati", "Suparmi", "Sulastri", "Tukinah", "Wartini", "Sumarni", "Painem",
                  "Sundari", "Ngatini", "Suyatmi", "Marsinah", "Karsih")

DEGREE_MASTER = ("M.Si", "M.M", "M.T", "M.Pd", "M.Kes", "M.Ak", "M.H", "M.AP", "M.Kom", "M.E")
DEGREE_BACHELOR = ("S.E", "S.H", "S.Sos", "S.Kom", "S.T", "S.IP", "S.AP", "S.Ak", "S.Pd",
                   "S.Psi", "S.STP", "S.Tr.A.P")
DEGREE_BACHELOR_BY_DOMAIN = {
    "health": ("S.Kep., Ns", "S.KM", "S.Farm", "S.Tr.Keb", "S.Gz", "S.Tr.Kes"),
    "education": ("S.Pd", "S.Pd.I", "S.Pd.SD", "S.Si", "S.Pd", "S.Pd"),
}
DEGREE_DIPLOMA = ("A.Md", "A.Md.Kom", "A.Md.Ak", "A.Md.T")
DEGREE_DIPLOMA_BY_DOMAIN = {
    "health": ("A.Md.Kep", "A.Md.Keb", "A.Md.Farm", "A.Md.Kes", "A.Md.AK", "A.Md.Gz"),
}

# --- places --------------------------------------------------------------------------------------

PLACE_NAMES = (
    "Banyumanik", "Tembalang", "Candisari", "Gajahmungkur", "Genuk", "Gayamsari", "Pedurungan",
    "Mijen", "Gunungpati", "Ngaliyan", "Tugu", "Ngemplak", "Srondol", "Sumurboto", "Jatingaleh",
    "Karangrejo", "Sidomulyo", "Tanjungsari", "Wonosari", "Kalibening", "Sukamaju", "Sukajadi",
    "Cibeunying", "Cicendo", "Sumbersari", "Kaliwungu", "Purwosari", "Rejosari", "Tlogosari",
    "Kedungmundu", "Sendangmulyo", "Bulusan", "Meteseh", "Rowosari", "Kramas", "Tandang",
    "Pudakpayung", "Padangsari", "Gedawang", "Jabungan", "Ngesrep", "Tinjomoyo", "Bendan",
)
PLACE_PREFIXES = (
    "Sumber", "Karang", "Tanjung", "Suka", "Banyu", "Kali", "Sido", "Tegal", "Wono", "Gunung",
    "Pasir", "Mekar", "Jati", "Rejo", "Kedung", "Ngali", "Tlogo", "Purwo", "Sendang", "Cempaka",
    "Margo", "Mulyo", "Bojong", "Ciri", "Pandan", "Harjo", "Tanah", "Batu", "Sri", "Bumi",
)
PLACE_SUFFIXES = (
    "rejo", "mulyo", "sari", "jaya", "makmur", "agung", "asri", "harjo", "wangi", "mukti",
    "sari", "rahayu", "kerto", "wetan", "kulon", "lor", "kidul", "anyar", "baru", "indah",
    "mekar", "maju", "asih", "luhur", "tengah", "raya", "manik", "bening", "timur", "permai",
)
PLACE_QUALIFIERS = ("Utara", "Selatan", "Barat", "Timur", "Tengah", "Baru", "Lama", "Indah")

# --- units ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpdSpec:
    """A top-level OPD: its name, government-affairs code (urusan), relative size, domain (which
    picks its fungsional positions and indicators) and the title of its head."""

    name: str
    urusan: str
    weight: float
    domain: str = "general"
    head_title: str = ""  # empty: "Kepala " + name
    fungsional: tuple[str, ...] = ()  # extra fungsional positions typical of the OPD
    bidang: tuple[str, ...] = ()


SETDA = "Sekretariat Daerah"
DINKES = "Dinas Kesehatan"
DISDIK = "Dinas Pendidikan dan Kebudayaan"
BKPSDM = "Badan Kepegawaian dan Pengembangan Sumber Daya Manusia"

GENERIC_BIDANG = (
    "Bidang Perencanaan dan Pengendalian", "Bidang Pelayanan", "Bidang Pembinaan dan Pengawasan",
    "Bidang Pengembangan", "Bidang Sarana dan Prasarana", "Bidang Data dan Informasi",
)

# Ordered by how early a small agency gets them: a 100-employee agency has the first few only.
OPDS = (
    OpdSpec(SETDA, "4.01", 3.0, head_title="Sekretaris Daerah"),
    OpdSpec(BKPSDM, "5.03", 1.6, fungsional=("Analis Sumber Daya Manusia Aparatur",
                                             "Asesor Sumber Daya Manusia Aparatur"),
            bidang=("Bidang Pengadaan, Pemberhentian dan Informasi", "Bidang Mutasi dan Promosi",
                    "Bidang Pengembangan Kompetensi Aparatur",
                    "Bidang Penilaian Kinerja Aparatur dan Penghargaan")),
    OpdSpec(DINKES, "1.02", 3.0, "health",
            bidang=("Bidang Kesehatan Masyarakat", "Bidang Pencegahan dan Pengendalian Penyakit",
                    "Bidang Pelayanan Kesehatan", "Bidang Sumber Daya Kesehatan")),
    OpdSpec(DISDIK, "1.01", 3.0, "education",
            bidang=("Bidang Pembinaan Sekolah Dasar", "Bidang Pembinaan Sekolah Menengah Pertama",
                    "Bidang Pendidikan Anak Usia Dini dan Pendidikan Nonformal",
                    "Bidang Kebudayaan", "Bidang Guru dan Tenaga Kependidikan")),
    OpdSpec("Inspektorat Daerah", "6.01", 1.4, head_title="Inspektur",
            fungsional=("Auditor", "Pengawas Penyelenggaraan Urusan Pemerintahan di Daerah")),
    OpdSpec("Badan Perencanaan Pembangunan Daerah", "5.01", 1.4, fungsional=("Perencana",)),
    OpdSpec("Badan Pengelolaan Keuangan dan Aset Daerah", "5.02", 2.2,
            fungsional=("Analis Keuangan Pusat dan Daerah", "Analis Anggaran")),
    OpdSpec("Rumah Sakit Umum Daerah", "1.02", 6.0, "health",
            head_title="Direktur Rumah Sakit Umum Daerah",
            bidang=("Bidang Pelayanan Medik", "Bidang Keperawatan", "Bidang Penunjang")),
    OpdSpec("Dinas Pekerjaan Umum dan Penataan Ruang", "1.03", 2.4,
            fungsional=("Teknik Jalan dan Jembatan", "Penata Ruang")),
    OpdSpec("Satuan Polisi Pamong Praja", "1.05", 2.6,
            head_title="Kepala Satuan Polisi Pamong Praja", fungsional=("Polisi Pamong Praja",)),
    OpdSpec("Dinas Kependudukan dan Pencatatan Sipil", "2.12", 1.4,
            fungsional=("Administrator Database Kependudukan",)),
    OpdSpec("Dinas Sosial", "1.06", 1.2, fungsional=("Pekerja Sosial",)),
    OpdSpec("Sekretariat Dewan Perwakilan Rakyat Daerah", "4.02", 1.6,
            head_title="Sekretaris Dewan Perwakilan Rakyat Daerah"),
    OpdSpec("Badan Pendapatan Daerah", "5.02", 1.6),
    OpdSpec("Dinas Lingkungan Hidup", "2.11", 2.0, fungsional=("Pengendali Dampak Lingkungan",)),
    OpdSpec("Dinas Perhubungan", "2.15", 1.8, fungsional=("Penguji Kendaraan Bermotor",)),
    OpdSpec("Dinas Komunikasi dan Informatika", "2.16", 1.1,
            fungsional=("Pranata Komputer", "Pranata Hubungan Masyarakat")),
    OpdSpec("Dinas Perumahan dan Kawasan Permukiman", "1.04", 1.1),
    OpdSpec("Badan Penanggulangan Bencana Daerah", "1.05", 1.0),
    OpdSpec("Dinas Pemadam Kebakaran dan Penyelamatan", "1.05", 1.6,
            fungsional=("Pemadam Kebakaran",)),
    OpdSpec("Dinas Tenaga Kerja", "2.07", 1.0, fungsional=("Pengantar Kerja", "Mediator Hubungan "
                                                           "Industrial")),
    OpdSpec("Dinas Pemberdayaan Perempuan dan Perlindungan Anak", "2.08", 0.9),
    OpdSpec("Dinas Ketahanan Pangan", "2.09", 0.9),
    OpdSpec("Dinas Pengendalian Penduduk dan Keluarga Berencana", "2.14", 1.1,
            fungsional=("Penyuluh Keluarga Berencana",)),
    OpdSpec("Dinas Koperasi dan Usaha Mikro", "2.17", 0.9),
    OpdSpec("Dinas Penanaman Modal dan Pelayanan Terpadu Satu Pintu", "2.18", 1.0),
    OpdSpec("Dinas Kepemudaan dan Olahraga", "2.19", 0.8),
    OpdSpec("Dinas Perpustakaan dan Kearsipan", "2.23", 0.9, fungsional=("Pustakawan",
                                                                        "Arsiparis")),
    OpdSpec("Dinas Pariwisata", "3.26", 0.8, fungsional=("Pamong Budaya",)),
    OpdSpec("Dinas Pertanian", "3.27", 1.6, fungsional=("Penyuluh Pertanian",)),
    OpdSpec("Dinas Perikanan", "3.25", 0.9),
    OpdSpec("Dinas Perdagangan", "3.30", 1.2),
    OpdSpec("Dinas Perindustrian", "3.31", 0.8),
    OpdSpec("Badan Kesatuan Bangsa dan Politik", "8.01", 0.8),
)

SETDA_ASISTEN = ("Asisten Pemerintahan dan Kesejahteraan Rakyat",
                 "Asisten Perekonomian dan Pembangunan", "Asisten Administrasi Umum")
SETDA_BAGIAN = (
    "Bagian Umum", "Bagian Hukum", "Bagian Organisasi", "Bagian Perekonomian dan Sumber Daya Alam",
    "Bagian Pengadaan Barang dan Jasa", "Bagian Tata Pemerintahan", "Bagian Kesejahteraan Rakyat",
    "Bagian Protokol dan Komunikasi Pimpinan",
)
KECAMATAN_URUSAN = "7.01"

# Child-unit kinds with their relative size (employees per unit) for the allocation.
CHILD_WEIGHTS = {"bagian": 0.55, "kecamatan": 0.9, "kelurahan": 0.4, "puskesmas": 1.3,
                 "sd": 0.65, "smp": 1.25}
OPD_WEIGHT_SCALE = 20.0  # an OpdSpec weight of 1.0 is about 20 employees at the head office

# --- positions -----------------------------------------------------------------------------------

PENGAWAS_SEKRETARIAT = ("Kepala Sub Bagian Umum dan Kepegawaian", "Kepala Sub Bagian Keuangan",
                        "Kepala Sub Bagian Perencanaan dan Pelaporan")
SEKSI_SUFFIXES = ("Pelayanan", "Pembinaan", "Pengawasan", "Data dan Informasi", "Perencanaan",
                  "Evaluasi dan Pelaporan", "Pengembangan", "Kerja Sama")
KECAMATAN_SEKSI = ("Kepala Seksi Pemerintahan", "Kepala Seksi Ketenteraman dan Ketertiban Umum",
                   "Kepala Seksi Pemberdayaan Masyarakat", "Kepala Seksi Pelayanan Umum",
                   "Kepala Seksi Kesejahteraan Sosial")
KELURAHAN_SEKSI = ("Kepala Seksi Pemerintahan",
                   "Kepala Seksi Pemberdayaan Masyarakat dan Kesejahteraan Sosial",
                   "Kepala Seksi Ketenteraman dan Ketertiban")

# (name, track): track "ahli" ranks Ahli Pertama/Muda/Madya, "terampil" Terampil/Mahir/Penyelia.
FUNGSIONAL_BY_DOMAIN: dict[str, tuple[tuple[str, str], ...]] = {
    "health": (
        ("Perawat", "ahli"), ("Perawat", "terampil"), ("Perawat", "terampil"), ("Bidan", "ahli"),
        ("Bidan", "terampil"), ("Bidan", "terampil"), ("Dokter", "ahli"), ("Dokter", "ahli"),
        ("Apoteker", "ahli"), ("Asisten Apoteker", "terampil"),
        ("Pranata Laboratorium Kesehatan", "terampil"), ("Nutrisionis", "terampil"),
        ("Sanitarian", "terampil"), ("Epidemiolog Kesehatan", "ahli"),
        ("Penyuluh Kesehatan Masyarakat", "ahli"), ("Perekam Medis", "terampil"),
        ("Radiografer", "terampil"), ("Fisioterapis", "terampil"), ("Dokter Gigi", "ahli"),
    ),
    "education": (
        ("Guru", "ahli"), ("Guru", "ahli"), ("Guru", "ahli"), ("Guru", "ahli"), ("Guru", "ahli"),
        ("Guru", "ahli"), ("Pustakawan", "terampil"), ("Pengawas Sekolah", "ahli"),
    ),
    "general": (
        ("Analis Kebijakan", "ahli"), ("Perencana", "ahli"),
        ("Analis Sumber Daya Manusia Aparatur", "ahli"), ("Pranata Komputer", "ahli"),
        ("Pranata Komputer", "terampil"), ("Arsiparis", "terampil"), ("Arsiparis", "ahli"),
        ("Pengelola Pengadaan Barang/Jasa", "ahli"), ("Analis Keuangan Pusat dan Daerah", "ahli"),
        ("Pranata Hubungan Masyarakat", "ahli"), ("Statistisi", "ahli"),
        ("Penyuluh Hukum", "ahli"), ("Perancang Peraturan Perundang-undangan", "ahli"),
    ),
}
JENJANG = {"ahli": ("Ahli Pertama", "Ahli Muda", "Ahli Madya"),
           "terampil": ("Terampil", "Mahir", "Penyelia")}
PELAKSANA_BY_DOMAIN = {
    "general": ("Penata Layanan Operasional", "Pengadministrasi Perkantoran",
                "Operator Layanan Operasional", "Pengelola Layanan Operasional",
                "Penelaah Teknis Kebijakan", "Pengolah Data dan Informasi",
                "Pengelola Umum Operasional", "Teknisi Sarana dan Prasarana"),
    "health": ("Operator Layanan Kesehatan", "Pengadministrasi Perkantoran",
               "Pengelola Layanan Kesehatan", "Pengolah Data dan Informasi",
               "Pengelola Umum Operasional"),
    "education": ("Pengadministrasi Perkantoran", "Operator Layanan Operasional",
                  "Pengelola Layanan Operasional", "Pengolah Data dan Informasi"),
}

PNS_GRADES = ("I/a", "I/b", "I/c", "I/d", "II/a", "II/b", "II/c", "II/d", "III/a", "III/b",
              "III/c", "III/d", "IV/a", "IV/b", "IV/c", "IV/d", "IV/e")
PPPK_GRADES = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII",
               "XIV", "XV", "XVI", "XVII")

# --- e-kinerja -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class IndicatorSpec:
    """One indicator template: wording, unit of measure, polarity and the range of targets."""

    text: str
    unit_of_measure: str
    polarity: str  # MAX or MIN
    low: float
    high: float
    decimals: int = 0


SKP_INDICATORS: dict[str, tuple[IndicatorSpec, ...]] = {
    "general": (
        IndicatorSpec("Jumlah dokumen perencanaan yang disusun", "dokumen", "MAX", 2, 12),
        IndicatorSpec("Persentase layanan administrasi yang diselesaikan tepat waktu", "%",
                      "MAX", 80, 100),
        IndicatorSpec("Jumlah laporan kinerja yang disampaikan", "laporan", "MAX", 4, 12),
        IndicatorSpec("Jumlah kegiatan koordinasi yang dilaksanakan", "kegiatan", "MAX", 4, 24),
        IndicatorSpec("Persentase realisasi anggaran kegiatan", "%", "MAX", 85, 100),
        IndicatorSpec("Jumlah data yang diverifikasi", "berkas", "MAX", 50, 600),
        IndicatorSpec("Indeks kepuasan masyarakat atas layanan", "indeks", "MAX", 78, 90, 1),
        IndicatorSpec("Rata-rata waktu penyelesaian layanan", "hari", "MIN", 2, 14),
        IndicatorSpec("Jumlah pengaduan masyarakat yang belum ditindaklanjuti", "kasus", "MIN",
                      2, 20),
        IndicatorSpec("Persentase keterlambatan penyampaian laporan", "%", "MIN", 5, 20),
        IndicatorSpec("Jumlah temuan audit yang belum ditindaklanjuti", "temuan", "MIN", 1, 10),
    ),
    "health": (
        IndicatorSpec("Jumlah pasien yang dilayani", "orang", "MAX", 300, 3000),
        IndicatorSpec("Cakupan imunisasi dasar lengkap", "%", "MAX", 85, 98),
        IndicatorSpec("Persentase balita yang ditimbang", "%", "MAX", 80, 95),
        IndicatorSpec("Jumlah kunjungan rumah yang dilakukan", "kunjungan", "MAX", 20, 120),
        IndicatorSpec("Jumlah penyuluhan kesehatan yang dilaksanakan", "kegiatan", "MAX", 6, 24),
        IndicatorSpec("Rata-rata waktu tunggu pelayanan rawat jalan", "menit", "MIN", 15, 60),
        IndicatorSpec("Angka kejadian infeksi nosokomial", "%", "MIN", 1, 5, 1),
        IndicatorSpec("Jumlah rekam medis yang tidak lengkap", "berkas", "MIN", 5, 40),
    ),
    "education": (
        IndicatorSpec("Jumlah jam tatap muka yang terlaksana", "jam", "MAX", 300, 480),
        IndicatorSpec("Persentase peserta didik yang mencapai KKM", "%", "MAX", 75, 95),
        IndicatorSpec("Jumlah perangkat pembelajaran yang disusun", "dokumen", "MAX", 4, 16),
        IndicatorSpec("Jumlah penilaian hasil belajar yang dilaksanakan", "kali", "MAX", 4, 12),
        IndicatorSpec("Nilai rata-rata asesmen peserta didik", "nilai", "MAX", 70, 85, 1),
        IndicatorSpec("Persentase ketidakhadiran peserta didik", "%", "MIN", 2, 10, 1),
        IndicatorSpec("Jumlah peserta didik yang mengulang kelas", "orang", "MIN", 1, 8),
    ),
}

IKU_INDICATORS: dict[str, tuple[IndicatorSpec, ...]] = {
    "general": (
        IndicatorSpec("Nilai SAKIP perangkat daerah", "nilai", "MAX", 65, 80, 2),
        IndicatorSpec("Indeks kepuasan masyarakat", "indeks", "MAX", 78, 88, 2),
        IndicatorSpec("Persentase capaian kinerja program", "%", "MAX", 85, 100, 1),
        IndicatorSpec("Indeks reformasi birokrasi", "nilai", "MAX", 60, 80, 2),
        IndicatorSpec("Persentase temuan pemeriksaan yang ditindaklanjuti", "%", "MAX", 80, 100),
        IndicatorSpec("Jumlah pengaduan layanan publik", "kasus", "MIN", 10, 80),
        IndicatorSpec("Rata-rata waktu penyelesaian perizinan", "hari", "MIN", 3, 14),
    ),
    "health": (
        IndicatorSpec("Angka kematian ibu", "per 100.000 KH", "MIN", 60, 120, 1),
        IndicatorSpec("Angka kematian bayi", "per 1.000 KH", "MIN", 5, 15, 1),
        IndicatorSpec("Prevalensi stunting", "%", "MIN", 10, 25, 1),
        IndicatorSpec("Cakupan pelayanan kesehatan dasar", "%", "MAX", 85, 100, 1),
        IndicatorSpec("Persentase fasilitas kesehatan terakreditasi", "%", "MAX", 70, 100),
    ),
    "education": (
        IndicatorSpec("Angka partisipasi murni SD/MI", "%", "MAX", 92, 99, 1),
        IndicatorSpec("Angka partisipasi murni SMP/MTs", "%", "MAX", 75, 90, 1),
        IndicatorSpec("Angka putus sekolah", "%", "MIN", 0.2, 1.5, 2),
        IndicatorSpec("Rata-rata lama sekolah", "tahun", "MAX", 8, 11, 2),
        IndicatorSpec("Persentase guru bersertifikat pendidik", "%", "MAX", 60, 90, 1),
    ),
}

# --- ratings -------------------------------------------------------------------------------------

RATING_SPELLINGS = {
    "DIATAS_EKSPEKTASI": ("DIATAS_EKSPEKTASI", "Di Atas Ekspektasi", "diatas ekspektasi",
                          "Diatas Ekspektasi", "DI ATAS EKSPEKTASI", "di_atas_ekspektasi"),
    "SESUAI_EKSPEKTASI": ("SESUAI_EKSPEKTASI", "Sesuai Ekspektasi", "sesuai ekspektasi",
                          "SESUAI EKSPEKTASI", "SesuaiEkspektasi"),
    "DIBAWAH_EKSPEKTASI": ("DIBAWAH_EKSPEKTASI", "Di Bawah Ekspektasi", "dibawah ekspektasi",
                           "Dibawah Ekspektasi", "DI BAWAH EKSPEKTASI"),
}
RATING_LABELS = tuple(RATING_SPELLINGS)
BERAKHLAK_ASPECTS = ("berorientasi_pelayanan", "akuntabel", "kompeten", "harmonis", "loyal",
                     "adaptif", "kolaboratif")

# --- budget --------------------------------------------------------------------------------------

SUPPORT_PROGRAM = "PROGRAM PENUNJANG URUSAN PEMERINTAHAN DAERAH KABUPATEN/KOTA"
SUPPORT_ACTIVITIES = (
    "Perencanaan, Penganggaran, dan Evaluasi Kinerja Perangkat Daerah",
    "Administrasi Keuangan Perangkat Daerah",
    "Administrasi Barang Milik Daerah pada Perangkat Daerah",
    "Administrasi Kepegawaian Perangkat Daerah",
    "Administrasi Umum Perangkat Daerah",
    "Pengadaan Barang Milik Daerah Penunjang Urusan Pemerintah Daerah",
    "Penyediaan Jasa Penunjang Urusan Pemerintahan Daerah",
    "Pemeliharaan Barang Milik Daerah Penunjang Urusan Pemerintahan Daerah",
)
SECTOR_PROGRAMS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "health": (
        ("PROGRAM PEMENUHAN UPAYA KESEHATAN PERORANGAN DAN UPAYA KESEHATAN MASYARAKAT",
         ("Penyediaan Fasilitas Pelayanan Kesehatan", "Penyediaan Layanan Kesehatan",
          "Pengelolaan Pelayanan Kesehatan Ibu dan Anak", "Pengelolaan Imunisasi")),
        ("PROGRAM PENINGKATAN KAPASITAS SUMBER DAYA MANUSIA KESEHATAN",
         ("Perencanaan Kebutuhan Sumber Daya Manusia Kesehatan",
          "Pengembangan Mutu dan Peningkatan Kompetensi Teknis Sumber Daya Manusia Kesehatan")),
    ),
    "education": (
        ("PROGRAM PENGELOLAAN PENDIDIKAN",
         ("Pengelolaan Pendidikan Sekolah Dasar", "Pengelolaan Pendidikan Sekolah Menengah "
          "Pertama", "Pengelolaan Pendidikan Anak Usia Dini")),
        ("PROGRAM PENDIDIK DAN TENAGA KEPENDIDIKAN",
         ("Pemerataan Kuantitas dan Kualitas Pendidik dan Tenaga Kependidikan",)),
        ("PROGRAM PENGEMBANGAN KEBUDAYAAN",
         ("Pelestarian Kesenian Tradisional", "Pembinaan Kelembagaan Kebudayaan")),
    ),
    "general": (
        ("PROGRAM PENYELENGGARAAN PEMERINTAHAN DAN PELAYANAN PUBLIK",
         ("Pelaksanaan Pelayanan Publik", "Penataan Kelembagaan dan Ketatalaksanaan",
          "Fasilitasi Pelaksanaan Reformasi Birokrasi")),
        ("PROGRAM PENGEMBANGAN SUMBER DAYA MANUSIA",
         ("Pengembangan Kompetensi Aparatur", "Sertifikasi, Kelembagaan, Pengembangan "
          "Kompetensi Manajerial dan Fungsional")),
        ("PROGRAM PEMBINAAN DAN PENGAWASAN",
         ("Penyelenggaraan Pengawasan Internal", "Pengawasan dan Evaluasi Pelaksanaan Program")),
        ("PROGRAM PENGELOLAAN INFORMASI DAN KOMUNIKASI PUBLIK",
         ("Pengelolaan Konten dan Perencanaan Media Komunikasi Publik",
          "Pengelolaan Sistem Informasi Pemerintahan")),
    ),
    "area": (
        ("PROGRAM PENYELENGGARAAN PEMERINTAHAN DAN PELAYANAN PUBLIK",
         ("Koordinasi Penyelenggaraan Kegiatan Pemerintahan di Tingkat Kecamatan",
          "Penyelenggaraan Urusan Pemerintahan yang Tidak Dilaksanakan oleh Unit Kerja "
          "Perangkat Daerah")),
        ("PROGRAM PEMBERDAYAAN MASYARAKAT DESA DAN KELURAHAN",
         ("Pemberdayaan Masyarakat di Kelurahan", "Pembangunan Sarana dan Prasarana "
          "Kelurahan")),
    ),
}
SOURCES_OF_FUNDS = ("DAU", "DAK", "PAD", "DBH", "BLUD")

# --- attendance letters --------------------------------------------------------------------------

LETTER_NOTES = {
    "S": ("Sakit dengan surat dokter", "Sakit", "Rawat inap"),
    "I": ("Izin keperluan keluarga", "Izin", "Izin menghadiri pernikahan keluarga"),
    "C": ("Cuti tahunan", "Cuti alasan penting", "Cuti besar", "Cuti sakit"),
    "DL": ("Dinas luar kota", "Dinas luar dalam kota", "Bimbingan teknis",
           "Rapat koordinasi di provinsi"),
}
