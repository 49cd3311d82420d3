import hashlib

import pandas as pd
import pytest
from openpyxl import Workbook

from tasks.sources.extract import DatasetError, extract_dataset, open_dataset
from tests.landing import NIP_A, NIP_B, write_period


def test_reads_every_attendance_file_with_file_and_line(tmp_path):
    raw = extract_dataset(write_period(tmp_path), "attendance")
    assert [f.path for f in raw.files] == ["attendance/mesin_01.csv", "attendance/surat.csv"]
    assert [f.rows_read for f in raw.files] == [2, 1]
    refs = (raw.frame["_file"] + ":" + raw.frame["_line"].astype(str)).tolist()
    assert refs == ["attendance/mesin_01.csv:2", "attendance/mesin_01.csv:3",
                    "attendance/surat.csv:2"]
    # a file without the optional columns still gets them, empty
    assert raw.frame["check_in"].isna().tolist() == [False, False, True]


def test_column_order_case_bom_and_extra_columns(tmp_path):
    content = ("\ufeff Status ,NIP,Terminal,DATE\n"
               f"h,{NIP_A},MESIN-7,2025-01-02\n")
    folder = write_period(tmp_path, {"attendance/mesin_01.csv": content})
    raw = extract_dataset(folder, "attendance")
    row = raw.frame.iloc[0]
    assert (row["nip"], row["date"], row["status"]) == (NIP_A, "2025-01-02", "h")
    assert row["terminal"] == "MESIN-7"  # kept for the quarantine payload


def test_nip_stays_text(tmp_path):
    raw = extract_dataset(write_period(tmp_path), "employees")
    assert raw.frame["nip"].tolist()[:2] == [NIP_A, NIP_B]


def test_blank_lines_do_not_shift_line_numbers(tmp_path):
    content = f"nip,date,status\n{NIP_A},2025-01-02,H\n\n{NIP_B},2025-01-02,S\n"
    folder = write_period(tmp_path, {"attendance/surat.csv": content})
    raw = extract_dataset(folder, "attendance")
    surat = raw.frame[raw.frame["_file"] == "attendance/surat.csv"]
    assert surat["_line"].tolist() == [2, 4]
    assert raw.files[1].rows_read == 2


def test_sha256_and_size_of_each_file(tmp_path):
    folder = write_period(tmp_path)
    raw = extract_dataset(folder, "units")
    data = (folder / "units.csv").read_bytes()
    assert raw.files[0].sha256 == hashlib.sha256(data).hexdigest()
    assert raw.files[0].bytes == len(data)


def test_budget_from_xlsx_first_sheet(tmp_path):
    folder = write_period(tmp_path, {"budget.csv": None})
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Unit_Code", "program_code", "activity_code", "pagu", "realisasi"])
    sheet.append(["U1", "P01", "A01", 1500000, 1250000.5])
    sheet.append([None, None, None, None, None])
    sheet.append(["U2", "P01", "A02", 0, 0])
    workbook.create_sheet("catatan").append(["ignored"])
    workbook.save(folder / "budget.xlsx")
    raw = extract_dataset(folder, "budget")
    assert raw.files[0].path == "budget.xlsx"
    assert raw.frame["pagu"].tolist() == ["1500000", "0"]
    assert raw.frame["realisasi"].tolist() == ["1250000.5", "0"]
    assert raw.frame["_line"].tolist() == [2, 4]


@pytest.mark.parametrize(
    ("overrides", "dataset", "path", "words"),
    [
        ({"skp.csv": None}, "skp", "skp.csv", "required file missing"),
        ({"units.csv": "unit_code\nU1\n"}, "units", "units.csv", "unit_name"),
        ({"employees.csv": "nip,name,employee_type,unit_code,position_type\n"}, "employees",
         "employees.csv", "no rows"),
        ({"calendar.csv": "date,description\n2025-01-01,a,b,c\n"}, "calendar", "calendar.csv",
         "not valid CSV"),
        ({"calendar.csv": ""}, "calendar", "calendar.csv", "no header"),
    ],
)
def test_unusable_dataset_names_the_file(tmp_path, overrides, dataset, path, words):
    folder = write_period(tmp_path, overrides)
    with pytest.raises(DatasetError) as caught:
        extract_dataset(folder, dataset)
    assert caught.value.path == path
    assert words in str(caught.value)


def test_no_attendance_file_fails(tmp_path):
    folder = write_period(tmp_path, {"attendance/mesin_01.csv": None,
                                     "attendance/surat.csv": None})
    (folder / "attendance").mkdir(exist_ok=True)
    with pytest.raises(DatasetError, match="attendance/"):
        extract_dataset(folder, "attendance")


def test_two_budget_files_is_ambiguous(tmp_path):
    folder = write_period(tmp_path)
    Workbook().save(folder / "budget.xlsx")
    with pytest.raises(DatasetError, match="both budget.xlsx and budget.csv"):
        extract_dataset(folder, "budget")


def test_invalid_utf8_fails_naming_the_file(tmp_path):
    folder = write_period(tmp_path)
    (folder / "units.csv").write_bytes(b"unit_code,unit_name\nU1,Dinas \xff\xfe\n")
    with pytest.raises(DatasetError, match="units.csv"):
        extract_dataset(folder, "units")


# Clean lines first, then a blank line, a record of empty fields and a value spanning lines: the
# csv module's line numbers take over mid-file, in whichever batch the first of them falls.
STREAMED = ("nip,date,status,note\n"
            f"{NIP_A},2025-01-02,H,a\n"
            f"{NIP_B},2025-01-02,H,b\n"
            f"{NIP_A},2025-01-03,H,c\n"
            "\n"
            ",,,\n"
            f"{NIP_B},2025-01-03,S,\"two\nlines\"\n"
            f"{NIP_A},2025-01-06,H,d\n")


@pytest.mark.parametrize("batch_rows", [1, 2, 3, 250_000])
def test_streamed_batches_give_the_same_rows_and_lines(tmp_path, batch_rows):
    folder = write_period(tmp_path, {"attendance/surat.csv": STREAMED})
    with open_dataset(folder, "attendance", batch_rows=batch_rows) as stream:
        batches = list(stream.batches())
        files = stream.files
    assert max(len(b) for b in batches) <= batch_rows
    streamed = pd.concat(batches, ignore_index=True)[stream.columns]
    raw = extract_dataset(folder, "attendance")
    pd.testing.assert_frame_equal(streamed, raw.frame)
    assert files == raw.files
    surat = raw.frame[raw.frame["_file"] == "attendance/surat.csv"]
    assert surat["_line"].tolist() == [2, 3, 4, 6, 7, 9]
    assert surat["note"].tolist()[-2:] == ["two\nlines", "d"]
