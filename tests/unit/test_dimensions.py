"""Dimension rows: NIP-derived columns checked by hand against domain.md."""

from __future__ import annotations

import pandas as pd
import pytest

from kinerja.period import Period
from tasks.warehouse.dimensions import (
    DIM_EMPLOYEE_COLUMNS,
    DIM_PERIOD_COLUMNS,
    DIM_UNIT_COLUMNS,
    build_dim_employee,
    build_dim_period,
    build_dim_unit,
    parse_nip,
)

TEXT = pd.StringDtype("pyarrow")


def employees(nips: list[str], **columns: list[object]) -> pd.DataFrame:
    n = len(nips)
    frame = pd.DataFrame(
        {
            "nip": pd.Series(nips, dtype=TEXT),
            "name": pd.Series([f"Pegawai {i}" for i in range(n)], dtype=TEXT),
            "employee_type": pd.Series(["PNS"] * n, dtype=TEXT),
            "unit_code": pd.Series(["U1"] * n, dtype=TEXT),
            "position_type": pd.Series(["PELAKSANA"] * n, dtype=TEXT),
            "position_name": pd.Series(["Analis"] * n, dtype=TEXT),
            "grade": pd.Series(["III/a"] * n, dtype=TEXT),
            "supervisor_nip": pd.Series([pd.NA] * n, dtype=TEXT),
            "active_from": pd.Series([pd.NaT] * n, dtype="datetime64[ns]"),
            "active_to": pd.Series([pd.NaT] * n, dtype="datetime64[ns]"),
        }
    )
    for name, values in columns.items():
        frame[name] = values
    return frame


def test_employee_derives_gender_birth_date_and_appointment_from_the_nip() -> None:
    # domain.md: 199001012015031001 is a man born on 1 January 1990, appointed in March 2015.
    dim = build_dim_employee(
        "3374", employees(["199001012015031001", "198505152010122002", "200002292020011001"])
    )

    assert list(dim.columns) == DIM_EMPLOYEE_COLUMNS
    assert dim["gender"].tolist() == ["L", "P", "L"]
    assert dim["birth_date"].tolist() == [
        pd.Timestamp("1990-01-01"),
        pd.Timestamp("1985-05-15"),
        pd.Timestamp("2000-02-29"),  # 2000 is a leap year
    ]
    assert dim["appointed_month"].tolist() == ["2015-03", "2010-12", "2020-01"]
    assert dim["agency_code"].tolist() == ["3374"] * 3


def test_employee_keeps_the_master_columns() -> None:
    frame = employees(
        ["199001012015031001", "198505152010122002"],
        supervisor_nip=pd.Series([pd.NA, "199001012015031001"], dtype=TEXT),
        active_from=pd.to_datetime(["2025-03-10", None]),
        active_to=pd.to_datetime([None, "2025-05-31"]),
    )
    dim = build_dim_employee("3374", frame)

    first, second = dim.iloc[0], dim.iloc[1]
    assert first["name"] == "Pegawai 0"
    assert first["employee_type"] == "PNS"
    assert first["grade"] == "III/a"
    assert pd.isna(first["supervisor_nip"])
    assert second["supervisor_nip"] == "199001012015031001"
    assert first["active_from"] == pd.Timestamp("2025-03-10")
    assert pd.isna(first["active_to"])
    assert pd.isna(second["active_from"])
    assert second["active_to"] == pd.Timestamp("2025-05-31")


def test_employee_without_optional_columns_gets_missing_values() -> None:
    frame = pd.DataFrame(
        {
            "nip": ["199001012015031001"],
            "name": ["Budi"],
            "employee_type": ["PPPK"],
            "unit_code": ["U1"],
            "position_type": ["FUNGSIONAL"],
        }
    )
    dim = build_dim_employee("1174", frame)

    assert list(dim.columns) == DIM_EMPLOYEE_COLUMNS
    row = dim.iloc[0]
    assert row["employee_type"] == "PPPK"
    for column in ("position_name", "grade", "supervisor_nip", "active_from", "active_to"):
        assert pd.isna(row[column]), column


@pytest.mark.parametrize(
    "nip",
    [
        "199002312015031001",  # 31 February
        "190002292015031001",  # 1900 is not a leap year
        "199001012015131001",  # appointment month 13
        "199001012015033001",  # gender digit 3
        "19900101201503100",  # 17 digits
        "19900101201503100A",
        "",
    ],
)
def test_invalid_nip_is_refused(nip: str) -> None:
    with pytest.raises(ValueError, match="invalid NIP"):
        parse_nip(pd.Series([nip], dtype=TEXT))


def test_parse_nip_keeps_the_index() -> None:
    parsed = parse_nip(pd.Series(["198505152010122002"], index=[7], dtype=TEXT))
    assert parsed.index.tolist() == [7]
    assert parsed.loc[7, "gender"] == "P"


def test_duplicate_nip_is_refused() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        build_dim_employee("3374", employees(["199001012015031001", "199001012015031001"]))


def test_unit_rows() -> None:
    units = pd.DataFrame(
        {
            "unit_code": ["DINKES", "PUSK01"],
            "unit_name": ["Dinas Kesehatan", "Puskesmas Halmahera"],
            "parent_unit_code": [None, "DINKES"],
        }
    )
    dim = build_dim_unit("3374", units)

    assert list(dim.columns) == DIM_UNIT_COLUMNS
    assert dim["agency_code"].tolist() == ["3374", "3374"]
    assert dim["unit_code"].tolist() == ["DINKES", "PUSK01"]
    assert dim["unit_name"].tolist() == ["Dinas Kesehatan", "Puskesmas Halmahera"]
    assert pd.isna(dim.loc[0, "parent_unit_code"])
    assert dim.loc[1, "parent_unit_code"] == "DINKES"


def test_unit_without_parent_column_and_duplicates() -> None:
    dim = build_dim_unit("3374", pd.DataFrame({"unit_code": ["A"], "unit_name": ["Unit A"]}))
    assert pd.isna(dim.loc[0, "parent_unit_code"])
    with pytest.raises(ValueError, match="duplicate"):
        build_dim_unit("3374", pd.DataFrame({"unit_code": ["A", "A"], "unit_name": ["x", "y"]}))


@pytest.mark.parametrize(
    ("period_id", "start", "end"),
    [("2025-S1", "2025-01-01", "2025-06-30"), ("2024-S2", "2024-07-01", "2024-12-31")],
)
def test_period_row(period_id: str, start: str, end: str) -> None:
    dim = build_dim_period(Period.parse(period_id))

    assert list(dim.columns) == DIM_PERIOD_COLUMNS
    assert dim.to_dict("records") == [
        {"period_id": period_id, "start_date": pd.Timestamp(start), "end_date": pd.Timestamp(end)}
    ]
