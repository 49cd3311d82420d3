"""A tiny, valid landing-zone period folder written from literal rows, for unit tests that need
exact files and line numbers."""

from __future__ import annotations

from pathlib import Path

NIP_A = "199001012015031001"  # head of unit U2
NIP_B = "199105052016032002"
NIP_C = "198512122010011003"

FILES = {
    "units.csv": (
        "unit_code,unit_name,parent_unit_code\nU1,Dinas Kesehatan,\nU2,Puskesmas Ngaliyan,U1\n"
    ),
    "employees.csv": (
        "nip,name,employee_type,unit_code,position_type,position_name,grade,supervisor_nip,"
        "active_from,active_to\n"
        f"{NIP_A},Budi Santoso,PNS,U2,PENGAWAS,Kepala Puskesmas,III/d,,,\n"
        f"{NIP_B},Sri Wahyuni,PNS,U2,FUNGSIONAL,Perawat,III/b,{NIP_A},,\n"
        f"{NIP_C},Agus Salim,PPPK,U1,PELAKSANA,Pengadministrasi,IX,{NIP_A},2025-03-01,\n"
    ),
    "calendar.csv": "date,description\n2025-01-01,Tahun Baru Masehi\n",
    "attendance/mesin_01.csv": (
        "nip,date,status,check_in,check_out\n"
        f"{NIP_A},2025-01-02,H,07:20,16:05\n"
        f"{NIP_B},2025-01-02,H,07:45:10,16:00:00\n"
    ),
    "attendance/surat.csv": f"nip,date,status\n{NIP_B},2025-01-03,S\n",
    "skp.csv": (
        "nip,indicator_id,indicator,target,realization,unit_of_measure,polarity,weight\n"
        f"{NIP_A},1,Cakupan imunisasi,100,95,%,MAX,2\n"
        f"{NIP_B},1,Waktu tunggu,30,20,menit,min,\n"
    ),
    "ratings.csv": (
        "nip,rater_nip,rated_at,results_rating,behavior_rating,kompeten\n"
        f"{NIP_B},{NIP_A},2025-06-20 09:00,Sesuai Ekspektasi,diatas ekspektasi,\n"
    ),
    "unit_iku.csv": "unit_code,iku_id,indicator,target,realization,polarity,weight\n"
                    "U1,IKU1,Angka kematian ibu,10,8,MIN,\n",
    "budget.csv": "unit_code,program_code,activity_code,activity_name,pagu,realisasi\n"
                  "U1,P01,A01,Imunisasi,1000000,900000\n",
}


def write_period(folder: Path, overrides: dict[str, str | None] | None = None) -> Path:
    """Write the files above (a None override removes a file) and return the folder."""
    files = {**FILES, **(overrides or {})}
    for rel, content in files.items():
        if content is None:
            continue
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return folder
