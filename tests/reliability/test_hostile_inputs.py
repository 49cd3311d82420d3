"""A corpus of hostile inputs (issue 10) and what each must get.

Every case is a small landing zone (tests/landing.py, or the generator for the runs through the
flow) with one hostile mutation, and one of two outcomes:

- the dataset is unusable: a `DatasetError` whose one-line message names the file (and never
  carries content from behind a link);
- the row is quarantined with its file:line and a reason naming the field, and for every file
  rows read = accepted + quarantined.

Most cases run at the extract/validate level (no Prefect); a few run the whole flow on SQLite and
PostgreSQL. Limits are set low in a test (`InputLimits`, or `[limits]` through the environment)
so that no test writes or reads anything big.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import signal
import sqlite3
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from kinerja.config import MIB, ConfigError, InputLimits, SqlSource, load_settings
from kinerja.period import Period
from schemas.sources import VALIDATION_ORDER, ValidationContext
from tasks.sources.extract import DatasetError, extract_dataset
from tasks.sources.sql_source import extract_sql
from tasks.sources.validate import EMPTY_RECORD, context_after, validate_dataset
from tests.landing import FILES, NIP_A, NIP_B, NIP_C, write_period
from tests.reliability import hostile_corpus as corpus

PERIOD = Period.parse("2025-S1")
SECRET = "RAHASIA-7f3c9a-JANGAN-BOCOR"  # content behind a link: must appear nowhere


def validate(folder: Path, limits: InputLimits | None = None, only: str | None = None) -> dict:
    """Every dataset of the folder (or units, employees and `only`), validated in order, with
    the row accounting checked."""
    limits = limits or InputLimits()
    ctx = ValidationContext(PERIOD).with_limits(limits)
    out = {}
    for name in VALIDATION_ORDER:
        if only and name not in ("units", "employees", only):
            continue
        validated = validate_dataset(extract_dataset(folder, name, limits), ctx)
        counts = validated.file_counts
        assert (counts["rows_read"] == counts["rows_accepted"]
                + counts["rows_quarantined"]).all(), name
        assert validated.rows_read == len(validated.accepted) + validated.rows_quarantined
        out[name] = validated
        ctx = context_after(ctx, validated)
    return out


def reasons(validated) -> dict[str, str]:
    return dict(zip(validated.quarantine["record_ref"], validated.quarantine["reasons"],
                    strict=True))


def payloads(validated) -> dict[str, dict]:
    return {ref: json.loads(p) for ref, p in
            zip(validated.quarantine["record_ref"], validated.quarantine["payload"], strict=True)}


def unusable(folder: Path, dataset: str, limits: InputLimits | None = None) -> DatasetError:
    with pytest.raises(DatasetError) as caught:
        extract_dataset(folder, dataset, limits)
    message = str(caught.value)
    assert "\n" not in message and "\r" not in message and "\x00" not in message
    return caught.value


def employees_with(row_2_name: str) -> str:
    lines = FILES["employees.csv"].splitlines(keepends=True)
    return lines[0] + lines[1].replace("Budi Santoso", row_2_name) + "".join(lines[2:])


# --- size bounds ---------------------------------------------------------------------------


def test_a_workbook_declaring_a_huge_member_is_refused_before_openpyxl_opens_it(
        tmp_path, monkeypatch):
    # The 1.5 MB budget.xlsx holding a 1.5 GB cell: declared here, not compressed.
    folder = write_period(tmp_path, {"budget.csv": None})
    bomb = corpus.declare_size(corpus.budget_workbook([["U1", "P01", "A01", "x", 1, 1]]),
                               corpus.SHEET, 1_500_000_000)
    (folder / "budget.xlsx").write_bytes(bomb)
    import openpyxl

    def never(*args, **kwargs):
        raise AssertionError("openpyxl must not open a workbook above the limit")

    monkeypatch.setattr(openpyxl, "load_workbook", never)
    error = unusable(folder, "budget")  # the default limits
    assert error.path == "budget.xlsx"
    assert "unpacks to 1,430.5 MB" in error.reason and "limits.max_xlsx_uncompressed_mb" in (
        error.reason)


def test_a_workbook_with_one_huge_cell_is_refused_by_its_unpacked_size(tmp_path):
    folder = write_period(tmp_path, {"budget.csv": None})
    workbook = corpus.budget_workbook_with_long_cell(300_000)
    (folder / "budget.xlsx").write_bytes(workbook)
    assert len(workbook) < 20_000  # small on disk, big unpacked
    error = unusable(folder, "budget", InputLimits(max_xlsx_uncompressed_bytes=200_000))
    assert error.path == "budget.xlsx"
    assert "unpacks to" in error.reason and "more than the limit of 200,000 bytes" in error.reason


def test_a_long_cell_within_the_workbook_limit_quarantines_its_row(tmp_path):
    folder = write_period(tmp_path, {"budget.csv": None})
    (folder / "budget.xlsx").write_bytes(corpus.budget_workbook_with_long_cell(5000))
    assert reasons(validate(folder)["budget"]) == {
        "budget.xlsx:2": f"activity_name: longer than 4096 characters ('{'x' * 100}…')"}


def test_a_workbook_with_too_many_rows_fails_at_the_row_limit(tmp_path):
    folder = write_period(tmp_path, {"budget.csv": None})
    rows = [["U1", "P01", f"A{i:02d}", "x", 1, 1] for i in range(10)]
    (folder / "budget.xlsx").write_bytes(corpus.budget_workbook(rows))
    error = unusable(folder, "budget", InputLimits(max_xlsx_rows=9))
    assert error.path == "budget.xlsx"
    assert error.reason == ("more than 9 rows on the first sheet (setting "
                            "limits.max_xlsx_rows)")
    assert extract_dataset(folder, "budget", InputLimits(max_xlsx_rows=10)).files[0].rows_read \
        == 10


def test_a_tiny_workbook_of_a_million_sheet_rows_stops_at_the_default_row_limit(tmp_path):
    # One cell at row 1,000,000: the reader walks the rows in between; the default limit
    # (200,000) stops it long before, with the file named.
    folder = write_period(tmp_path, {"budget.csv": None})
    (folder / "budget.xlsx").write_bytes(corpus.budget_workbook_with_cell_at(1_000_000))
    error = unusable(folder, "budget")
    assert (error.path, error.reason) == (
        "budget.xlsx", "more than 200,000 rows on the first sheet (setting limits.max_xlsx_rows)")


def test_a_header_wider_than_256_columns_is_refused(tmp_path):
    # A workbook's rows are padded to the header's width: a cell in column XFD would cost
    # 128 KB per row.
    folder = write_period(tmp_path, {"budget.csv": None})
    (folder / "budget.xlsx").write_bytes(corpus.budget_workbook_with_header_cell_at(16_384))
    error = unusable(folder, "budget")
    assert (error.path, error.reason) == ("budget.xlsx",
                                          "the header row has 16,384 columns, more than 256")
    wide = ",".join(["unit_code", "unit_name"] + [f"c{i}" for i in range(300)]) + "\n"
    error = unusable(write_period(tmp_path / "csv", {"units.csv": wide}), "units")
    assert (error.path, error.reason) == ("units.csv",
                                          "the header row has 302 columns, more than 256")


def test_a_billion_laughs_workbook_fails_as_invalid(tmp_path):
    folder = write_period(tmp_path, {"budget.csv": None})
    workbook = corpus.budget_workbook([["U1", "P01", "A01", "x", 1, 1]])
    with zipfile.ZipFile(io.BytesIO(workbook)) as archive:
        sheet = archive.read(corpus.SHEET)
    (folder / "budget.xlsx").write_bytes(
        corpus.replace_member(workbook, corpus.SHEET, corpus.billion_laughs_sheet(sheet)))
    error = unusable(folder, "budget")
    assert error.path == "budget.xlsx" and error.reason.startswith("not a valid XLSX workbook")


def test_a_csv_renamed_to_xlsx_fails_as_invalid(tmp_path):
    folder = write_period(tmp_path, {"budget.csv": None, "budget.xlsx": FILES["budget.csv"]})
    error = unusable(folder, "budget")
    assert error.path == "budget.xlsx" and error.reason.startswith("not a valid XLSX workbook")


def test_a_csv_above_the_file_size_limit_is_not_read(tmp_path):
    folder = write_period(tmp_path)
    big = FILES["attendance/mesin_01.csv"] + f"{NIP_A},2025-01-03,H,07:20,16:05\n" * 40
    (folder / "attendance" / "mesin_01.csv").write_text(big, encoding="utf-8")
    error = unusable(folder, "attendance", InputLimits(max_file_bytes=1024))
    assert error.path == "attendance/mesin_01.csv"
    assert error.reason == (f"the file is {len(big):,} bytes, larger than the limit of 1,024 "
                            "bytes (setting limits.max_file_mb)")


def test_limits_come_from_kinerja_toml_and_the_environment(tmp_path, monkeypatch):
    for name in ("KINERJA_CONFIG", "KINERJA_MAX_FILE_MB", "KINERJA_MAX_XLSX_ROWS"):
        monkeypatch.delenv(name, raising=False)
    assert load_settings(tmp_path).limits == InputLimits()
    assert InputLimits() == InputLimits(1024 * MIB, 100 * MIB, 200_000, 4096, 1e15)
    (tmp_path / "kinerja.toml").write_text(
        "[limits]\nmax_file_mb = 0.5\nmax_xlsx_uncompressed_mb = 2\nmax_xlsx_rows = 1000\n"
        "max_field_chars = 200\nmax_decimal = 1e12\n", encoding="utf-8")
    assert load_settings(tmp_path).limits == InputLimits(MIB // 2, 2 * MIB, 1000, 200, 1e12)
    monkeypatch.setenv("KINERJA_MAX_XLSX_ROWS", "7")
    assert load_settings(tmp_path).limits.max_xlsx_rows == 7
    for bad, words in (("max_rows = 5", r"unknown key\(s\) max_rows"),
                       ("max_field_chars = 0", "must be a positive number"),
                       ("max_decimal = 'lots'", "must be a number")):
        (tmp_path / "kinerja.toml").write_text(f"[limits]\n{bad}\n", encoding="utf-8")
        with pytest.raises(ConfigError, match=words):
            load_settings(tmp_path)


# --- links and special files ---------------------------------------------------------------


def _outside_secret(tmp_path: Path) -> Path:
    """A file outside the landing zone that would be a valid attendance export."""
    secret = tmp_path / "elsewhere" / "secret.csv"
    secret.parent.mkdir()
    secret.write_text(f"nip,date,status,catatan\n{NIP_A},2025-01-02,H,{SECRET}\n"
                      f"{SECRET},2025-01-02,H,\n", encoding="utf-8")
    return secret


def test_a_link_to_a_file_outside_is_refused_without_reading_it(tmp_path):
    folder = write_period(tmp_path / "landing")
    secret = _outside_secret(tmp_path)
    (folder / "attendance" / "x.csv").symlink_to(secret)
    error = unusable(folder, "attendance")
    assert error.path == "attendance/x.csv"
    assert error.reason.startswith("is a symbolic link")
    assert SECRET not in str(error) and "elsewhere" not in str(error)


def test_a_link_to_etc_passwd_is_refused_without_a_line_of_it(tmp_path):
    folder = write_period(tmp_path, {"units.csv": None})
    (folder / "units.csv").symlink_to("/etc/passwd")
    error = unusable(folder, "units")
    assert error.path == "units.csv" and error.reason.startswith("is a symbolic link")
    assert "root" not in str(error) and "passwd" not in str(error)


def test_a_linked_budget_is_refused_not_skipped(tmp_path):
    folder = write_period(tmp_path, {"budget.csv": None})
    (folder / "budget.csv").symlink_to(_outside_secret(tmp_path))
    assert unusable(folder, "budget").path == "budget.csv"


def test_a_linked_period_folder_is_refused(tmp_path):
    real = write_period(tmp_path / "elsewhere" / "2025-S1")
    linked = tmp_path / "landing" / "3374" / "2025-S1"
    linked.parent.mkdir(parents=True)
    linked.symlink_to(real, target_is_directory=True)
    error = unusable(linked, "units")
    assert error.path == str(linked) and error.reason.startswith("is a symbolic link")


def test_a_linked_attendance_folder_is_refused(tmp_path):
    folder = write_period(tmp_path / "landing", {"attendance/mesin_01.csv": None,
                                                 "attendance/surat.csv": None})
    outside = _outside_secret(tmp_path).parent
    (folder / "attendance").symlink_to(outside, target_is_directory=True)
    error = unusable(folder, "attendance")
    assert error.path == "attendance/" and error.reason.startswith("is a symbolic link")


def test_a_folder_named_like_a_csv_is_refused(tmp_path):
    folder = write_period(tmp_path)
    (folder / "attendance" / "x.csv").mkdir()  # the raw [Errno 21]
    error = unusable(folder, "attendance")
    assert (error.path, error.reason) == ("attendance/x.csv", "is a folder, not a regular file")
    (folder / "units.csv").unlink()
    (folder / "units.csv").mkdir()  # not "required file missing": it is there, and wrong
    assert unusable(folder, "units").reason == "is a folder, not a regular file"


def test_a_fifo_is_refused_without_blocking(tmp_path):
    folder = write_period(tmp_path)
    os.mkfifo(folder / "attendance" / "x.csv")  # opening it to read would wait for a writer

    def stuck(signum, frame):
        raise TimeoutError("extract blocked on a FIFO")

    previous = signal.signal(signal.SIGALRM, stuck)
    signal.alarm(10)
    try:
        error = unusable(folder, "attendance")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert (error.path, error.reason) == ("attendance/x.csv",
                                          "is a named pipe (FIFO), not a regular file")


def test_a_file_name_with_control_characters_or_not_utf8_is_refused(tmp_path):
    folder = write_period(tmp_path)
    (folder / "attendance" / "a\x1bb.csv").write_text(FILES["attendance/surat.csv"])
    error = unusable(folder, "attendance")
    assert error.path == "attendance/a\\x1bb.csv" and "rename the file" in error.reason
    (folder / "attendance" / "a\x1bb.csv").unlink()
    os.close(os.open(os.fsencode(folder / "attendance") + b"/mesin_\xff.csv",
                     os.O_CREAT | os.O_WRONLY))
    error = unusable(folder, "attendance")
    assert error.path == "attendance/mesin_\\udcff.csv" and "not UTF-8" in error.reason


# --- fields --------------------------------------------------------------------------------


def test_an_over_long_field_quarantines_its_row_and_the_payload_is_cut(tmp_path):
    folder = write_period(tmp_path, {"employees.csv": employees_with("B" * 60)})
    result = validate(folder, InputLimits(max_field_chars=50))
    found = reasons(result["employees"])
    assert found == {"employees.csv:2": f"name: longer than 50 characters ('{'B' * 60}')"}
    assert payloads(result["employees"])["employees.csv:2"]["name"] == (
        "B" * 50 + "…[60 characters]")


def test_a_field_beyond_the_default_limit_is_quarantined_and_shown_short(tmp_path):
    skp = FILES["skp.csv"].replace("Cakupan imunisasi", "i" * 10_000)
    result = validate(write_period(tmp_path, {"skp.csv": skp}))
    found = reasons(result["skp"])
    assert list(found) == ["skp.csv:2"]
    assert found["skp.csv:2"] == f"indicator: longer than 4096 characters ('{'i' * 100}…')"
    assert len(payloads(result["skp"])["skp.csv:2"]["indicator"]) == 4096 + len(
        "…[10000 characters]")


@pytest.mark.parametrize(
    ("value", "shown"),
    [("Budi\x00Santoso", "Budi\\x00Santoso"),    # NUL: PostgreSQL cannot store it
     ("Budi\x1b[31mSantoso", "Budi\\x1b[31mSantoso"),  # an escape sequence
     ("Budi\x7fSantoso", "Budi\\x7fSantoso"),    # DEL
     ("Budi\x85Santoso", "Budi\\x85Santoso")],   # C1 next line
)
def test_a_control_character_in_a_name_quarantines_the_row(tmp_path, value, shown):
    folder = write_period(tmp_path, {"employees.csv": employees_with(value)})
    result = validate(folder)
    assert reasons(result["employees"]) == {
        "employees.csv:2": f"name: contains a control character ('{shown}')"}
    assert payloads(result["employees"])["employees.csv:2"]["name"] == value  # JSON-escaped
    assert "\\u00" in result["employees"].quarantine["payload"].iloc[0]
    # Budi's attendance, skp and ratings rows follow him into the quarantine.
    assert result["attendance"].rows_quarantined == 1


def test_a_tab_inside_a_value_is_accepted(tmp_path):
    folder = write_period(tmp_path, {"employees.csv": employees_with("Budi\tSantoso")})
    assert validate(folder)["employees"].rows_quarantined == 0


def test_line_breaks_only_in_wording_columns(tmp_path):
    skp = FILES["skp.csv"].replace("Cakupan imunisasi", '"Cakupan\nimunisasi"')
    employees = employees_with('"Budi\r\nSantoso"')
    result = validate(write_period(tmp_path, {"skp.csv": skp, "employees.csv": employees}))
    assert reasons(result["employees"]) == {
        "employees.csv:2": "name: contains a line break ('Budi\\r\\nSantoso')"}
    # The indicator's wording may span lines; its row is quarantined only because Budi's is.
    assert reasons(result["skp"]) == {
        "skp.csv:2": f"nip: not an accepted nip of employees.csv ('{NIP_A}')"}
    employees_lines = result["employees"].file_counts
    assert employees_lines["rows_read"].tolist() == [3]


@pytest.mark.parametrize(
    ("dataset", "column", "value", "reason"),
    [
        ("skp", "weight", "inf", "not a number"),
        ("skp", "weight", "1e308", "must be 0 or between 1e-15 and 1e+15"),
        ("skp", "weight", "1e-300", "must be 0 or between 1e-15 and 1e+15"),
        ("skp", "target", "nan", "not a number"),
        ("skp", "target", "1e308", "must be 0 or between 1e-15 and 1e+15"),
        ("skp", "realization", "-inf", "not a number"),
        ("skp", "realization", "1e309", "not a number"),  # overflows to inf when read
        ("unit_iku", "weight", "Infinity", "not a number"),
        ("budget", "pagu", "1e308", "must be 0 or between 1e-15 and 1e+15"),
        ("budget", "pagu", "NaN", "not a number"),
        ("budget", "realisasi", "inf", "not a number"),
        ("budget", "realisasi", "2e15", "must be 0 or between 1e-15 and 1e+15"),
    ],
)
def test_non_finite_and_overflowing_numbers_quarantine_the_row(tmp_path, dataset, column, value,
                                                               reason):
    file = f"{dataset}.csv"
    lines = FILES[file].splitlines(keepends=True)
    header = lines[0].strip().split(",")
    fields = lines[1].rstrip("\n").split(",")
    fields[header.index(column)] = value
    content = lines[0] + ",".join(fields) + "\n" + "".join(lines[2:])
    result = validate(write_period(tmp_path, {file: content}), only=dataset)
    assert reasons(result[dataset]) == {f"{file}:2": f"{column}: {reason} ('{value}')"}


def test_the_decimal_bound_is_configurable(tmp_path):
    budget = FILES["budget.csv"].replace("1000000,900000", "1000000,2e6")
    folder = write_period(tmp_path, {"budget.csv": budget})
    assert reasons(validate(folder, InputLimits(max_decimal=1e6))["budget"]) == {
        "budget.csv:2": "realisasi: must be 0 or between 1e-06 and 1e+06 ('2e6')"}
    assert validate(folder)["budget"].rows_quarantined == 0


# --- records and lines -------------------------------------------------------------------


def test_lines_stay_exact_after_a_value_spanning_lines(tmp_path):
    skp = (
        "nip,indicator_id,indicator,target,realization,unit_of_measure,polarity,weight\n"
        f'{NIP_A},1,"Cakupan\nimunisasi\ndasar",100,95,%,MAX,2\n'    # lines 2-4
        "\n"                                                           # 5: blank
        f"{NIP_B},1,Waktu tunggu,30,20,menit,min,\n"                   # 6
        f"{NIP_B},2,Bad,zero,20,menit,min,\n"                          # 7: target not a number
        f'{NIP_C},1,"a ""quoted""\r\nline",5,5,x,MAX,\n'               # 8-9
        f"{NIP_C},2,Neg,5,-1,x,MAX,\n"                                 # 10: negative
    )
    result = validate(write_period(tmp_path, {"skp.csv": skp}))
    found = reasons(result["skp"])
    assert found == {"skp.csv:7": "target: not a number ('zero')",
                     "skp.csv:10": "realization: must be at least 0 ('-1')"}
    accepted = result["skp"].accepted
    assert accepted["indicator"].tolist() == ["Cakupan\nimunisasi\ndasar", "Waktu tunggu",
                                              'a "quoted"\r\nline']
    assert result["skp"].rows_read == 5


def test_an_empty_record_is_counted_and_quarantined_not_dropped(tmp_path):
    units = FILES["units.csv"] + ",,\n" + "\n" + " , ,\n"  # lines 4 (empty), 5 blank, 6 spaces
    result = validate(write_period(tmp_path, {"units.csv": units}))
    assert reasons(result["units"]) == {"units.csv:4": EMPTY_RECORD, "units.csv:6": EMPTY_RECORD}
    counts = result["units"].file_counts.iloc[0]
    assert (counts["rows_read"], counts["rows_accepted"], counts["rows_quarantined"]) == (4, 2, 2)
    assert payloads(result["units"])["units.csv:4"] == {}


def test_invalid_utf8_names_the_file_and_line(tmp_path):
    folder = write_period(tmp_path)
    (folder / "units.csv").write_bytes(b"unit_code,unit_name\nU1,Dinas\nU2,Dinas \xff\xfe\n")
    error = unusable(folder, "units")
    assert (error.path, error.reason) == ("units.csv",
                                          "not valid UTF-8 text (line 3: invalid start byte)")


def test_a_ragged_row_names_its_line_not_its_content(tmp_path):
    units = FILES["units.csv"] + f"U3,{SECRET},U1,extra\n"
    error = unusable(write_period(tmp_path, {"units.csv": units}), "units")
    assert (error.path, error.reason) == ("units.csv",
                                          "not valid CSV: line 4 has 4 fields, the header 3")


def test_a_header_spanning_lines_is_refused(tmp_path):
    units = 'unit_code,"unit\nname",parent_unit_code\nU1,Dinas,\n'
    error = unusable(write_period(tmp_path, {"units.csv": units}), "units")
    assert error.path == "units.csv" and "header" in error.reason


@pytest.mark.parametrize(
    ("file", "content", "expected"),
    [
        ("calendar.csv", "date,description\n2025-01-01,a\n2025-01-01,b\n",
         {"calendar.csv:2", "calendar.csv:3"}),
        ("unit_iku.csv", "unit_code,iku_id,target\nU1,IKU1,10\nU1,IKU1,12\nU1,IKU2,0\n",
         {"unit_iku.csv:2", "unit_iku.csv:3", "unit_iku.csv:4"}),
        ("attendance/surat.csv", f"nip,date,status\n{NIP_B},2025-02-30,S\n{NIP_B} ,,s\n",
         {"attendance/surat.csv:2", "attendance/surat.csv:3"}),
        ("ratings.csv", f"nip,rated_at,results_rating,behavior_rating\n"
                        f"{NIP_B},2025-06-20,Sesuai,Luar Biasa\n",
         {"ratings.csv:2"}),
    ],
)
def test_rows_sources_md_quarantines(tmp_path, file, content, expected):
    # Duplicate keys of the datasets test_validate.py leaves out, an impossible date, a row
    # without its date, a timestamp without a time and labels that are no rating.
    dataset = file.split("/")[0].removesuffix(".csv")
    result = validate(write_period(tmp_path, {file: content}))
    assert set(reasons(result[dataset])) == expected


def test_a_sql_source_gets_the_same_field_checks(tmp_path):
    database = tmp_path / "ekinerja.db"
    with sqlite3.connect(database) as conn:
        conn.execute("CREATE TABLE skp (nip TEXT, indicator_id TEXT, indicator TEXT, "
                     "target REAL, weight REAL)")
        conn.executemany("INSERT INTO skp VALUES (?, ?, ?, ?, ?)", [
            (NIP_A, "1", "Cakupan\x00imunisasi", 100, 1),
            (NIP_A, "2", "Waktu tunggu", 30, float("inf")),
            (NIP_A, "3", "Rapat", 1e308, 1),
            (NIP_B, "1", "x" * 5000, 10, 1),
            (NIP_B, "2", "Laporan", 10, 2),
        ])
    query = tmp_path / "skp.sql"
    query.write_text("SELECT * FROM skp ORDER BY nip, indicator_id", encoding="utf-8")
    source = SqlSource("skp", f"sqlite:///{database}", str(query))
    raw = extract_sql(source, "3374", PERIOD)
    ref = raw.files[0].path
    ctx = ValidationContext(PERIOD, accepted_nips=pd.Index([NIP_A, NIP_B]))
    validated = validate_dataset(raw, ctx)
    assert reasons(validated) == {
        f"{ref}:1": "indicator: contains a control character ('Cakupan\\x00imunisasi')",
        f"{ref}:2": "weight: not a number ('inf')",
        f"{ref}:3": "target: must be 0 or between 1e-15 and 1e+15 ('1e+308')",
        f"{ref}:4": f"indicator: longer than 4096 characters ('{'x' * 100}…')",
    }
    with pytest.raises(DatasetError) as caught:
        extract_sql(source, "3374", PERIOD, InputLimits(max_file_bytes=500))
    assert caught.value.path == ref and "limits.max_file_mb" in caught.value.reason


# --- through the flow ----------------------------------------------------------------------

AGENCY = "3374"
FLOW_PERIOD = "2025-S2"  # budget.csv in the generated S2


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    from kinerja.synthetic import generate_landing

    root = tmp_path_factory.mktemp("generated")
    generate_landing(root, AGENCY, 30, [FLOW_PERIOD], seed=3)
    return root


@pytest.fixture
def landing(generated, tmp_path) -> Path:
    """A fresh copy of the generated landing zone, to mutate."""
    import shutil

    root = tmp_path / "landing"
    shutil.copytree(generated, root)
    return root


@pytest.fixture
def run_flow(prefect_harness, tmp_path, monkeypatch):
    from flows.semester import semester_appraisal

    monkeypatch.setenv("KINERJA_WORK", str(tmp_path / "work"))
    monkeypatch.delenv("KINERJA_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)  # no kinerja.toml of the developer's

    def run(landing: Path, url: str):
        return semester_appraisal(agency_code=AGENCY, period_id=FLOW_PERIOD, landing=str(landing),
                                  warehouse_url=url, reports=str(tmp_path / "reports"))

    return run


def _query(url: str, sql: str, **params) -> pd.DataFrame:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return pd.read_sql(sa.text(sql), conn, params=params)
    finally:
        engine.dispose()


def test_flow_a_nul_in_a_name_and_huge_numbers_are_quarantined_and_the_run_publishes(
        run_flow, landing, warehouse_url):
    folder = landing / AGENCY / FLOW_PERIOD
    corpus.edit_csv_cell(folder / "employees.csv", 7, "name", "Sri\x00Wahyuni")
    corpus.edit_csv_cell(folder / "skp.csv", 5, "weight", "1e308")
    corpus.edit_csv_cell(folder / "budget.csv", 3, "pagu", "inf")
    summary = run_flow(landing, warehouse_url)

    run = _query(warehouse_url, "SELECT * FROM pipeline_run WHERE run_id = :r",
                 r=summary["run_id"]).iloc[0]
    assert run["status"] == "published"
    assert run["rows_read"] == run["rows_accepted"] + run["rows_quarantined"]
    quarantine = _query(warehouse_url, "SELECT record_ref, reasons, payload FROM quarantine "
                        "WHERE run_id = :r", r=summary["run_id"]).set_index("record_ref")
    assert quarantine.at["employees.csv:7", "reasons"] == (
        "name: contains a control character ('Sri\\x00Wahyuni')")
    assert json.loads(quarantine.at["employees.csv:7", "payload"])["name"] == "Sri\x00Wahyuni"
    assert quarantine.at["skp.csv:5", "reasons"] == (
        "weight: must be 0 or between 1e-15 and 1e+15 ('1e308')")
    assert quarantine.at["budget.csv:3", "reasons"] == "pagu: not a number ('inf')"
    appraisal = _query(warehouse_url, "SELECT * FROM fact_appraisal WHERE run_id = :r",
                       r=summary["run_id"])
    scores = appraisal["final_score"].dropna()
    assert len(scores) and all(math.isfinite(v) for v in scores)
    units = _query(warehouse_url, "SELECT * FROM fact_unit_performance WHERE run_id = :r",
                   r=summary["run_id"])
    numbers = units.select_dtypes("number").to_numpy().ravel()
    assert all(math.isfinite(v) for v in numbers if v == v)
    assert Path(summary["workbook"]).is_file() and Path(summary["report"]).is_file()


def test_flow_a_link_to_a_secret_fails_naming_the_file_and_the_secret_is_nowhere(
        run_flow, landing, tmp_path):
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    folder = landing / AGENCY / FLOW_PERIOD
    (folder / "attendance" / "x.csv").symlink_to(_outside_secret(tmp_path))
    with pytest.raises(DatasetError) as caught:
        run_flow(landing, url)
    assert str(caught.value).startswith("attendance/x.csv: is a symbolic link")
    message = _query(url, "SELECT status, message FROM pipeline_run").iloc[0]
    assert message["status"] == "failed"
    assert message["message"].startswith("DatasetError: attendance/x.csv: is a symbolic link")
    # Not in the message, the warehouse, the work folder or the reports.
    for path in [tmp_path / "warehouse.db", *(tmp_path / "work").rglob("*"),
                 *(tmp_path / "reports").rglob("*")]:
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_flow_limits_from_the_environment_reach_the_run(run_flow, landing, tmp_path,
                                                       monkeypatch):
    # 20,971 bytes: only the generated attendance exports are larger.
    monkeypatch.setenv("KINERJA_MAX_FILE_MB", "0.02")
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    with pytest.raises(DatasetError) as caught:
        run_flow(landing, url)
    assert re.fullmatch(r"attendance/\S+\.csv: the file is [\d,]+ bytes, larger than the limit "
                        r"of 20,971 bytes \(setting limits.max_file_mb\)", str(caught.value))
    assert _query(url, "SELECT status FROM pipeline_run")["status"].tolist() == ["failed"]
