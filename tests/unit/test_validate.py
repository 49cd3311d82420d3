import json

import pandas as pd
import pytest

from kinerja.period import Period
from schemas.sources import VALIDATION_ORDER, ValidationContext
from tasks.sources.extract import DatasetError, extract_dataset
from tasks.sources.validate import check_quarantine_share, context_after, validate_dataset
from tests.landing import FILES, NIP_A, NIP_B, NIP_C, write_period

PERIOD = Period.parse("2025-S1")


def validate_all(folder):
    ctx = ValidationContext(PERIOD)
    out = {}
    for name in VALIDATION_ORDER:
        out[name] = validate_dataset(extract_dataset(folder, name), ctx)
        ctx = context_after(ctx, out[name])
    return out


def reasons_by_ref(validated):
    return dict(zip(validated.quarantine["record_ref"], validated.quarantine["reasons"],
                    strict=True))


def test_clean_landing_accepts_everything_typed(tmp_path):
    result = validate_all(write_period(tmp_path))
    for name, validated in result.items():
        assert validated.rows_quarantined == 0, name
        assert len(validated.accepted) == validated.rows_read
    attendance = result["attendance"].accepted
    assert attendance["check_in"].tolist()[:2] == [26400.0, 27910.0]  # 07:20, 07:45:10
    assert attendance["date"].dtype.kind == "M"
    skp = result["skp"].accepted
    assert skp["polarity"].tolist() == ["MAX", "MIN"]  # `min` upper-cased
    assert skp["weight"].tolist() == [2.0, 1.0]  # empty weight is 1
    ratings = result["ratings"].accepted
    assert ratings.loc[0, "results_rating"] == "SESUAI_EKSPEKTASI"
    assert ratings.loc[0, "behavior_rating"] == "DIATAS_EKSPEKTASI"
    assert ratings.loc[0, "rated_at"] == pd.Timestamp("2025-06-20 09:00")
    employees = result["employees"].accepted
    assert employees.loc[2, "active_from"] == pd.Timestamp("2025-03-01")
    assert pd.isna(employees.loc[0, "active_to"])


def test_every_bad_row_is_quarantined_with_every_reason(tmp_path):
    attendance = (
        "nip,date,status,check_in,check_out\n"
        f"{NIP_A},2025-01-02,H,07:20,16:05\n"          # line 2: fine
        f"{NIP_A},2025-07-01,H,07:20,16:05\n"          # 3: outside the period
        f"{NIP_A},2025-01-03,X,,\n"                    # 4: unknown status
        f"{NIP_A},2025-01-06,H,08:00,07:00\n"          # 5: check_out before check_in
        "199001012015031009,2025-01-06,H,07:00,16:00\n"  # 6: nip not in employees
        "12345,2025/01/07,H,7.30,\n"                   # 7: bad nip, bad date, bad time
        f",2025-01-08,TK,,\n"                          # 8: nip empty
    )
    skp = (
        "nip,indicator_id,target,realization,polarity,weight\n"
        f"{NIP_A},1,10,5,MAX,1\n"       # 2: duplicate key with line 3
        f"{NIP_A},1,12,6,MAX,1\n"       # 3
        f"{NIP_B},1,0,-1,UP,abc\n"      # 4: four reasons
        f"{NIP_B},2,ten,,,\n"           # 5: target not a number
    )
    folder = write_period(tmp_path, {"attendance/mesin_01.csv": attendance, "skp.csv": skp})
    result = validate_all(folder)

    att = reasons_by_ref(result["attendance"])
    assert set(att) == {f"attendance/mesin_01.csv:{n}" for n in (3, 4, 5, 6, 7, 8)}
    assert "date: outside the period 2025-S1" in att["attendance/mesin_01.csv:3"]
    assert att["attendance/mesin_01.csv:4"] == "status: not one of H, S, I, C, DL, TK ('X')"
    assert att["attendance/mesin_01.csv:5"] == "check_out is before check_in"
    assert att["attendance/mesin_01.csv:6"] == (
        "nip: not an accepted nip of employees.csv ('199001012015031009')")
    seven = att["attendance/mesin_01.csv:7"].split("; ")
    assert "nip: not a valid NIP ('12345')" in seven
    assert "date: not a valid date (YYYY-MM-DD) ('2025/01/07')" in seven
    assert "check_in: not a valid time (HH:MM or HH:MM:SS) ('7.30')" in seven
    assert att["attendance/mesin_01.csv:8"] == "nip: required value is empty"
    assert result["attendance"].rows_read == 8  # 7 rows of mesin_01 + 1 of surat
    assert len(result["attendance"].accepted) == 2

    skp_reasons = reasons_by_ref(result["skp"])
    duplicate = "duplicate key (nip, indicator_id): every row of it is quarantined"
    assert skp_reasons["skp.csv:2"] == duplicate and skp_reasons["skp.csv:3"] == duplicate
    assert skp_reasons["skp.csv:4"].split("; ") == [
        "target: must be greater than 0 ('0')",
        "realization: must be at least 0 ('-1')",
        "polarity: not one of MAX, MIN ('UP')",
        "weight: not a number ('abc')",
    ]
    assert skp_reasons["skp.csv:5"] == "target: not a number ('ten')"
    assert result["skp"].accepted.empty


def test_payload_is_the_raw_row(tmp_path):
    attendance = "NIP,Date,Status,terminal\n12345, 2025-01-02 ,h,T7\n"
    result = validate_all(write_period(tmp_path, {"attendance/mesin_01.csv": attendance}))
    row = result["attendance"].quarantine.iloc[0]
    assert json.loads(row["payload"]) == {"nip": "12345", "date": " 2025-01-02 ", "status": "h",
                                          "terminal": "T7"}


def test_references_cascade_units_employees_rest(tmp_path):
    units = "unit_code,unit_name,parent_unit_code\nU1,Dinas Kesehatan,\nU2,Puskesmas,U1\nU2,Dup,\n"
    result = validate_all(write_period(tmp_path, {"units.csv": units}))
    # U2 is duplicated: both rows quarantined, so both employees of U2 are rejected, and with
    # them every row that points at them.
    assert result["units"].rows_quarantined == 2
    assert result["employees"].accepted["nip"].tolist() == [NIP_C]
    assert set(result["employees"].quarantine["reasons"]) == {
        "unit_code: not an accepted unit_code of units.csv ('U2')"}
    assert result["attendance"].rows_quarantined == 3
    assert result["skp"].rows_quarantined == 2
    assert result["ratings"].rows_quarantined == 1
    # a rater or supervisor only has to be a NIP of the file, so no further cascade
    assert result["unit_iku"].rows_quarantined == 0


def test_employee_rules(tmp_path):
    employees = (
        "nip,name,employee_type,unit_code,position_type,supervisor_nip,active_from,active_to\n"
        f"{NIP_A},Budi,pns,U2,pengawas,,,\n"
        f"{NIP_B},Sri,TKK,U2,FUNGSIONAL,{NIP_B},2025-05-01,2025-04-30\n"
        f"{NIP_C},,PPPK,U9,MANAGER,199001012015031009,,\n"
        f"{NIP_A},Budi lagi,PNS,U2,PENGAWAS,,,\n"
    )
    result = validate_all(write_period(tmp_path, {"employees.csv": employees}))
    reasons = reasons_by_ref(result["employees"])
    assert reasons["employees.csv:2"] == reasons["employees.csv:5"] == (
        "duplicate key (nip): every row of it is quarantined")
    assert set(reasons["employees.csv:3"].split("; ")) == {
        "employee_type: not one of PNS, PPPK ('TKK')",
        "active_to is before active_from",
        "supervisor_nip is the employee's own nip",
    }
    assert set(reasons["employees.csv:4"].split("; ")) == {
        "name: required value is empty",
        "unit_code: not an accepted unit_code of units.csv ('U9')",
        "position_type: not one of JPT, ADMINISTRATOR, PENGAWAS, FUNGSIONAL, PELAKSANA "
        "('MANAGER')",
        "supervisor_nip: not a nip of employees.csv ('199001012015031009')",
    }


def test_ratings_duplicate_key_and_labels(tmp_path):
    ratings = (
        "nip,rated_at,results_rating,behavior_rating,loyal\n"
        f"{NIP_B},2025-06-20 09:00,Sesuai Ekspektasi,sesuai ekspektasi,\n"
        f"{NIP_B},2025-06-20 09:00:00,Di Atas Ekspektasi,sesuai ekspektasi,\n"
        f"{NIP_C},2025-06-21 10:00,luar biasa,SESUAI_EKSPEKTASI,DIBAWAH EKSPEKTASI\n"
        f"{NIP_C},2025-06-22 10:00,DIBAWAH_EKSPEKTASI,SESUAI_EKSPEKTASI,jelek\n"
    )
    result = validate_all(write_period(tmp_path, {"ratings.csv": ratings}))
    reasons = reasons_by_ref(result["ratings"])
    # the same instant written two ways is one key: both rows go
    assert reasons["ratings.csv:2"].startswith("duplicate key (nip, rated_at)")
    assert reasons["ratings.csv:3"].startswith("duplicate key (nip, rated_at)")
    assert reasons["ratings.csv:4"] == (
        "results_rating: not a rating label (Diatas / Sesuai / Dibawah Ekspektasi) "
        "('luar biasa')")
    assert reasons["ratings.csv:5"].startswith("loyal: not a rating label")
    assert result["ratings"].accepted.empty


def test_row_accounting_per_file(tmp_path):
    attendance = f"nip,date,status\n{NIP_A},2025-01-02,H\n{NIP_A},2025-13-02,H\n"
    result = validate_all(write_period(tmp_path, {"attendance/mesin_01.csv": attendance}))
    counts = result["attendance"].file_counts.set_index("path")
    assert counts.loc["attendance/mesin_01.csv"].tolist() == [2, 1, 1]
    assert counts.loc["attendance/surat.csv"].tolist() == [1, 1, 0]
    for validated in result.values():
        assert validated.rows_read == len(validated.accepted) + validated.rows_quarantined


def test_budget_above_pagu_is_a_warning_not_a_quarantine(tmp_path):
    budget = ("unit_code,program_code,activity_code,pagu,realisasi\n"
              "U1,P01,A01,1000,1200\nU1,P01,A01,5,5\nU2,P01,A01,-1,0\n")
    result = validate_all(write_period(tmp_path, {"budget.csv": budget}))
    assert result["budget"].rows_quarantined == 3  # two duplicates, one negative pagu
    budget = "unit_code,program_code,activity_code,pagu,realisasi\nU1,P01,A01,1000,1200\n"
    result = validate_all(write_period(tmp_path, {"budget.csv": budget}))
    assert result["budget"].rows_quarantined == 0
    assert result["budget"].warnings == ["budget: 1 activities with realisasi above pagu"]


def test_quarantine_share_limit(tmp_path):
    units = "unit_code,unit_name\nU1,Dinas Kesehatan\nU2,Puskesmas\nU3,\nU4,\nU5,\n"
    validated = validate_dataset(extract_dataset(write_period(tmp_path, {"units.csv": units}),
                                                 "units"), ValidationContext(PERIOD))
    check_quarantine_share(validated, limit=0.6)  # 3 of 5 is 60%: at the limit is fine
    with pytest.raises(DatasetError) as caught:
        check_quarantine_share(validated, limit=0.2)
    assert caught.value.path == "units.csv"
    assert "3 of 5 rows quarantined (60.0%), above the limit of 20%" in str(caught.value)


def test_fixture_is_what_the_tests_assume():
    assert FILES["units.csv"].count("\n") == 3


def test_the_fast_path_gives_what_pandera_gives_on_every_row(tmp_path, monkeypatch):
    """pandera validates only the rows `suspect_rows` cannot clear: for every dataset, the
    accepted rows, the quarantine (rows, reasons, payloads, order) and the accounting must be
    those of pandera validating every row."""
    from tasks.sources import validate as validate_module

    nul, long_value = "\x00", "7" * 300
    attendance = (
        "nip,date,status,check_in,check_out,terminal\n"
        f"{NIP_A},2025-01-02,H,07:20,16:05,T1\n"
        f"{NIP_A},2025-07-01,h,07:20,16:05,T1\n"
        f"{NIP_A},2025-01-03,X,,,T1\n"
        f"{NIP_A},2025-01-06,H,08:00,07:00,T1\n"
        "199001012015031009,2025-01-06,H,07:00,16:00,T1\n"
        "12345,2025/01/07,H,7.30,,T1\n"
        ",2025-01-08,TK,,,T1\n"
        ",,,,,\n"
        f" {NIP_B} , 2025-01-09 , dl ,,,T2\n"
        f"{NIP_B},2025-01-10,H,07:00{nul},16:00,T2\n"
        f"{NIP_B},2025-01-13,H,{long_value},16:00,T2\n"
        f'{NIP_B},2025-01-14,"H\nS",07:00,16:00,T2\n'
        f"{NIP_B},2025-01-15,S,24:00,,T2\n"
        f"{NIP_C},2025-01-15,C,,,T3\n"
        f"{NIP_A},2025-01-02,H,07:25,16:00,T3\n"
    )
    skp = (
        "nip,indicator_id,target,realization,polarity,weight\n"
        f"{NIP_A},1,10,5,MAX,1\n"
        f"{NIP_A},1,12,6,MAX,1\n"      # duplicate key with the row above
        f"{NIP_A}, 1 ,12,x,MAX,1\n"    # the same key once trimmed, and a bad number
        f"{NIP_B},1,0,-1,UP,abc\n"
        f"{NIP_B},2,ten,,,\n"
        f"{NIP_B},3,1e400,,min,\n"
        f"{NIP_C},1,5,5,,\n"
    )
    folder = write_period(tmp_path, {"attendance/mesin_01.csv": attendance, "skp.csv": skp})
    fast = validate_all(folder)
    plain_typed = validate_module.to_typed
    monkeypatch.setattr(validate_module, "suspect_rows", lambda *args: None)
    monkeypatch.setattr(validate_module, "to_typed",
                        lambda name, frame, *coded: plain_typed(name, frame))
    whole = validate_all(folder)
    assert fast["attendance"].rows_quarantined >= 10 and fast["skp"].rows_quarantined >= 5
    for name in VALIDATION_ORDER:
        pd.testing.assert_frame_equal(fast[name].quarantine, whole[name].quarantine)
        pd.testing.assert_frame_equal(fast[name].accepted, whole[name].accepted)
        pd.testing.assert_frame_equal(fast[name].file_counts, whole[name].file_counts)
        pd.testing.assert_index_equal(fast[name].keys_in_file, whole[name].keys_in_file)


@pytest.mark.parametrize("kind", ["text", "code", "rating"])
def test_normalise_by_distinct_values_is_normalise_by_row(kind):
    from schemas.parsing import canonical_rating
    from tasks.sources.validate import _normalise_column

    raw = pd.Series([" a", "a", "", None, "  ", "b\x00", "Di Atas  Ekspektasi",
                     "sesuai_ekspektasi", " h ", "H"], dtype="str", index=range(3, 13))
    by_row = raw.astype("str").str.strip()
    by_row = by_row.mask(by_row == "")
    if kind == "code":
        by_row = by_row.str.upper()
    elif kind == "rating":
        by_row = canonical_rating(by_row)
    pd.testing.assert_series_equal(_normalise_column(raw, kind)[0], by_row)
    empty = pd.Series([None, None], dtype="str")
    assert _normalise_column(empty, kind)[0].isna().all()


def test_suspect_rows_leaves_what_spans_values_to_pandera():
    """A rule over several values (a unique column, a dtype, strictness) cannot be cleared one
    distinct value at a time: pandera validates every row then."""
    import pandera.pandas as pa

    from tasks.sources.validate import suspect_rows

    frame = pd.DataFrame({"code": pd.Series(["A", "A"], dtype="str")})
    plain = pa.DataFrameSchema({"code": pa.Column(checks=pa.Check.str_length(1, 5))})
    assert suspect_rows(frame, plain).tolist() == [False, False]
    for schema in (pa.DataFrameSchema({"code": pa.Column(unique=True)}),
                   pa.DataFrameSchema({"code": pa.Column(str)}),
                   pa.DataFrameSchema({"code": pa.Column()}, strict=True),
                   pa.DataFrameSchema({"code": pa.Column()}, unique=["code"])):
        assert suspect_rows(frame, schema) is None


def test_chunks_of_a_read_end_without_an_empty_chunk():
    from tasks.sources.partition import _chunks

    batch = pd.DataFrame({"a": pd.Series(["1", "2"], dtype="str")})
    assert [len(c) for c in _chunks([batch], ["a"], 2)] == [2]
    assert [len(c) for c in _chunks([batch, batch.copy()], ["a"], 3)] == [4]
    assert [len(c) for c in _chunks([], ["a"], 2)] == [0]
