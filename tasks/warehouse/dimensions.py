"""The dimension rows of warehouse.md, built from the accepted master data (pure pandas).

Text columns use the pipeline's string dtype, dates are datetime64 at midnight.
"""

from __future__ import annotations

import pandas as pd

from kinerja.period import Period

TEXT_DTYPE = pd.StringDtype("pyarrow")

DIM_UNIT_COLUMNS = ["agency_code", "unit_code", "unit_name", "parent_unit_code"]
DIM_EMPLOYEE_COLUMNS = [
    "nip",
    "agency_code",
    "name",
    "employee_type",
    "unit_code",
    "position_type",
    "position_name",
    "grade",
    "supervisor_nip",
    "gender",
    "birth_date",
    "appointed_month",
    "active_from",
    "active_to",
]
DIM_PERIOD_COLUMNS = ["period_id", "start_date", "end_date"]

_GENDER_BY_DIGIT = {"1": "L", "2": "P"}


def build_dim_unit(agency_code: str, units_df: pd.DataFrame) -> pd.DataFrame:
    """dim_unit rows of one agency from its accepted units frame."""
    _require_columns(units_df, ["unit_code", "unit_name"], "units")
    out = pd.DataFrame(
        {
            "agency_code": _constant(agency_code, units_df.index),
            "unit_code": _text(units_df, "unit_code"),
            "unit_name": _text(units_df, "unit_name"),
            "parent_unit_code": _text(units_df, "parent_unit_code"),
        }
    )
    _require_unique(out, ["unit_code"], "units")
    return out.reset_index(drop=True)


def build_dim_employee(agency_code: str, employees_df: pd.DataFrame) -> pd.DataFrame:
    """dim_employee rows of one agency, with gender, birth date and appointment from the NIP.

    Validation has already quarantined invalid NIPs, so one reaching this point is a bug and
    raises rather than being published with empty derived columns.
    """
    _require_columns(employees_df, ["nip"], "employees")
    nip = _text(employees_df, "nip").str.strip()
    derived = parse_nip(nip)
    out = pd.DataFrame(
        {
            "nip": nip,
            "agency_code": _constant(agency_code, employees_df.index),
            "name": _text(employees_df, "name"),
            "employee_type": _text(employees_df, "employee_type"),
            "unit_code": _text(employees_df, "unit_code"),
            "position_type": _text(employees_df, "position_type"),
            "position_name": _text(employees_df, "position_name"),
            "grade": _text(employees_df, "grade"),
            "supervisor_nip": _text(employees_df, "supervisor_nip"),
            "gender": derived["gender"],
            "birth_date": derived["birth_date"],
            "appointed_month": derived["appointed_month"],
            "active_from": _date(employees_df, "active_from"),
            "active_to": _date(employees_df, "active_to"),
        }
    )
    _require_unique(out, ["nip"], "employees")
    return out.reset_index(drop=True)


def build_dim_period(period: Period) -> pd.DataFrame:
    """The one dim_period row of `period`."""
    return pd.DataFrame(
        {
            "period_id": pd.Series([period.id], dtype=TEXT_DTYPE),
            "start_date": pd.Series([pd.Timestamp(period.start)], dtype="datetime64[ns]"),
            "end_date": pd.Series([pd.Timestamp(period.end)], dtype="datetime64[ns]"),
        }
    )


def parse_nip(nip: pd.Series) -> pd.DataFrame:
    """gender (`L`/`P`), birth_date and appointed_month (`YYYY-MM`) of each NIP (domain.md).

    Raises ValueError naming the NIPs that are not 18 digits with real embedded dates and a
    gender digit of 1 or 2.
    """
    text = nip.astype(TEXT_DTYPE)
    well_formed = text.str.fullmatch(r"\d{18}").fillna(False).astype(bool)
    birth = pd.to_datetime(text.str.slice(0, 8), format="%Y%m%d", errors="coerce")
    appointed = pd.to_datetime(text.str.slice(8, 14) + "01", format="%Y%m%d", errors="coerce")
    gender = text.str.slice(14, 15).map(_GENDER_BY_DIGIT, na_action="ignore").astype(TEXT_DTYPE)
    invalid = ~well_formed | birth.isna() | appointed.isna() | gender.isna()
    if invalid.any():
        bad = text[invalid].astype(object).tolist()
        shown = ", ".join(repr(v) for v in bad[:5])
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise ValueError(f"invalid NIP: {shown}{more}")
    return pd.DataFrame(
        {
            "gender": gender,
            "birth_date": birth.astype("datetime64[ns]"),
            "appointed_month": appointed.dt.strftime("%Y-%m").astype(TEXT_DTYPE),
        },
        index=nip.index,
    )


def _constant(value: str, index: pd.Index) -> pd.Series:
    return pd.Series(value, index=index, dtype=TEXT_DTYPE)


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    # Optional source columns (position_name, grade, ...) may be absent altogether.
    if column not in frame.columns:
        return pd.Series(pd.NA, index=frame.index, dtype=TEXT_DTYPE)
    return frame[column].astype(TEXT_DTYPE)


def _date(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    return pd.to_datetime(frame[column]).dt.normalize().astype("datetime64[ns]")


def _require_columns(frame: pd.DataFrame, columns: list[str], dataset: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{dataset} frame lacks column(s) {', '.join(missing)}")


def _require_unique(frame: pd.DataFrame, key: list[str], dataset: str) -> None:
    duplicated = frame.duplicated(key, keep=False)
    if duplicated.any():
        values = frame.loc[duplicated, key].drop_duplicates().head(5).to_dict("records")
        raise ValueError(f"{dataset}: duplicate key {key}: {values}")
