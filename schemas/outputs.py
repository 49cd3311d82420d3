"""pandera schemas of the seven fact tables that scoring produces (shared/spec/warehouse.md).

`FACT_COLUMNS` is the column order and dtype of every table as `tasks.score.score_period` returns
it (warehouse.md's columns, without run_id). `output_schemas(policy)` derives the code sets and
score bounds from the policy's typed rules (`Policy.codes`), so an agency with its own policy file
validates against its own codes; there is no second copy of the policy's codes here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import pandera.pandas as pa

from kinerja.policy import codes_of

TEXT = pd.StringDtype("pyarrow")
INT = "int64"
NULLABLE_INT = "Int64"
FLOAT = "float64"
BOOL = "bool"

FACT_COLUMNS: dict[str, dict[str, Any]] = {
    "fact_attendance": {
        "agency_code": TEXT,
        "period_id": TEXT,
        "nip": TEXT,
        "unit_code": TEXT,
        "working_days": INT,
        "present_days": INT,
        "sick_days": INT,
        "permit_days": INT,
        "leave_days": INT,
        "duty_days": INT,
        "absent_days": INT,
        "late_count": INT,
        "late_minutes": INT,
        "early_count": INT,
        "early_minutes": INT,
        "deduction_pct": FLOAT,
        "discipline_score": FLOAT,
    },
    "fact_skp": {
        "agency_code": TEXT,
        "period_id": TEXT,
        "nip": TEXT,
        "indicator_id": TEXT,
        "target": FLOAT,
        "realization": FLOAT,
        "polarity": TEXT,
        "weight": FLOAT,
        "achievement": FLOAT,
    },
    "fact_unit_performance": {
        "agency_code": TEXT,
        "period_id": TEXT,
        "unit_code": TEXT,
        "iku_score": FLOAT,
        "budget_pagu": FLOAT,
        "budget_realisasi": FLOAT,
        "absorption_pct": FLOAT,
        "efficiency_pct": FLOAT,
        "org_predikat": TEXT,
        "headcount": INT,
        "appraised_count": INT,
    },
    "fact_appraisal": {
        "agency_code": TEXT,
        "period_id": TEXT,
        "nip": TEXT,
        "unit_code": TEXT,
        "results_score": FLOAT,
        "behavior_score": FLOAT,
        "discipline_score": FLOAT,
        "unit_score": FLOAT,
        "final_score": FLOAT,
        "results_rating": TEXT,
        "behavior_rating": TEXT,
        "predikat": TEXT,
        "rank_in_unit": NULLABLE_INT,
        "status": TEXT,
    },
    "fact_predikat_distribution": {
        "agency_code": TEXT,
        "period_id": TEXT,
        "unit_code": TEXT,
        "predikat": TEXT,
        "employee_count": INT,
        "share": FLOAT,
    },
    "fact_distribution_check": {
        "agency_code": TEXT,
        "period_id": TEXT,
        "unit_code": TEXT,
        "org_predikat": TEXT,
        "rule": TEXT,
        "predikat_set": TEXT,
        "employee_count": INT,
        "share": FLOAT,
        "min_share": FLOAT,
        "max_share": FLOAT,
        "min_count": INT,
        "breach": BOOL,
    },
    "fact_followup": {
        "agency_code": TEXT,
        "period_id": TEXT,
        "nip": TEXT,
        "reward_candidate": BOOL,
        "coaching_required": BOOL,
        "training_needs": TEXT,
        "absent_days_ytd": INT,
        "discipline_sanction": TEXT,
        "promotion_eligible": BOOL,
    },
}

# The fact tables in warehouse.md's order.
FACT_TABLES: tuple[str, ...] = tuple(FACT_COLUMNS)

FACT_KEYS: dict[str, list[str]] = {
    "fact_attendance": ["period_id", "agency_code", "nip"],
    "fact_skp": ["period_id", "agency_code", "nip", "indicator_id"],
    "fact_unit_performance": ["period_id", "agency_code", "unit_code"],
    "fact_appraisal": ["period_id", "agency_code", "nip"],
    "fact_predikat_distribution": ["period_id", "agency_code", "unit_code", "predikat"],
    "fact_distribution_check": ["period_id", "agency_code", "unit_code", "rule"],
    "fact_followup": ["period_id", "agency_code", "nip"],
}

STATUSES = ("INACTIVE", "NOT_RATED", "APPRAISED")
POLARITIES = ("MAX", "MIN")

def _text(*checks: pa.Check, nullable: bool = False) -> pa.Column:
    return pa.Column(TEXT, checks=list(checks), nullable=nullable)


def _count(nullable: bool = False) -> pa.Column:
    return pa.Column(INT, checks=pa.Check.ge(0), nullable=nullable)


def _score(upper: float, nullable: bool = True) -> pa.Column:
    return pa.Column(FLOAT, checks=pa.Check.in_range(0.0, upper), nullable=nullable)


def _share(nullable: bool = False) -> pa.Column:
    return pa.Column(FLOAT, checks=pa.Check.in_range(0.0, 1.0), nullable=nullable)


def _flag() -> pa.Column:
    return pa.Column(BOOL)


def _is_subset_list(allowed: tuple[str, ...]) -> pa.Check:
    """A `,`-joined list of allowed names in their policy order, each at most once, or empty."""
    order = {name: i for i, name in enumerate(allowed)}

    def check(value: str) -> bool:
        if value == "":
            return True
        names = value.split(",")
        if any(name not in order for name in names):
            return False
        positions = [order[name] for name in names]
        return positions == sorted(set(positions))

    return pa.Check(check, element_wise=True, error="not a ,-joined ordered subset of the list")


def _frame_checks(table: str) -> list[pa.Check]:
    if table == "fact_attendance":
        return [
            pa.Check(
                lambda df: (
                    df["present_days"]
                    + df["sick_days"]
                    + df["permit_days"]
                    + df["leave_days"]
                    + df["duty_days"]
                    + df["absent_days"]
                    == df["working_days"]
                ),
                error="day counts must add up to working_days",
            ),
            pa.Check(lambda df: df["late_count"] <= df["present_days"], error="late_count"),
            pa.Check(lambda df: df["early_count"] <= df["present_days"], error="early_count"),
            pa.Check(
                lambda df: df["discipline_score"].isna() == (df["working_days"] == 0),
                error="discipline_score is null exactly when working_days is 0",
            ),
        ]
    if table == "fact_unit_performance":
        return [
            pa.Check(lambda df: df["appraised_count"] <= df["headcount"], error="appraised_count"),
            pa.Check(
                lambda df: df["org_predikat"].isna() == df["iku_score"].isna(),
                error="org_predikat is null exactly when iku_score is null",
            ),
        ]
    if table == "fact_appraisal":
        return [
            pa.Check(
                lambda df: df["predikat"].isna() == (df["status"] != "APPRAISED"),
                error="predikat is set exactly for APPRAISED employees",
            ),
            pa.Check(
                lambda df: ~((df["status"] == "INACTIVE") & df["final_score"].notna()),
                error="INACTIVE employees have no final_score",
            ),
            pa.Check(
                lambda df: (
                    ~(df["rank_in_unit"].notna() & (df["status"] != "APPRAISED")).astype(bool)
                ),
                error="only APPRAISED employees are ranked",
            ),
            pa.Check(
                lambda df: (
                    ~df.dropna(subset=["rank_in_unit"])
                    .duplicated(["unit_code", "rank_in_unit"])
                    .any()
                ),
                error="rank_in_unit is unique within a unit",
            ),
        ]
    if table == "fact_distribution_check":
        return [
            pa.Check(
                lambda df: (
                    df["breach"]
                    == (
                        (df["employee_count"] < df["min_count"])
                        | (df["share"] < df["min_share"])
                        | (df["share"] > df["max_share"])
                    )
                ),
                error="breach must follow count/share against the bounds",
            )
        ]
    return []


def output_schemas(policy: Any = None) -> dict[str, pa.DataFrameSchema]:
    """The seven fact-table schemas; codes and score bounds from `policy` (anything
    `kinerja.policy.codes_of` takes), or the default policy's when None."""
    codes = codes_of(policy)
    score_max = codes.score_max
    period_id = pa.Check.str_matches(r"^\d{4}-S[12]$")
    nip = pa.Check.str_matches(r"^\d{18}$")
    common = {"agency_code": _text(pa.Check.str_length(min_value=1)), "period_id": _text(period_id)}

    columns: dict[str, dict[str, pa.Column]] = {
        "fact_attendance": {
            **common,
            "nip": _text(nip),
            "unit_code": _text(),
            **{c: _count() for c in list(FACT_COLUMNS["fact_attendance"])[4:15]},
            "deduction_pct": pa.Column(FLOAT, checks=pa.Check.ge(0.0)),
            "discipline_score": _score(codes.discipline_max),
        },
        "fact_skp": {
            **common,
            "nip": _text(nip),
            "indicator_id": _text(),
            "target": pa.Column(FLOAT, checks=pa.Check.gt(0.0)),
            "realization": pa.Column(FLOAT, checks=pa.Check.ge(0.0), nullable=True),
            "polarity": _text(pa.Check.isin(POLARITIES)),
            "weight": pa.Column(FLOAT, checks=pa.Check.gt(0.0)),
            "achievement": _score(score_max, nullable=False),
        },
        "fact_unit_performance": {
            **common,
            "unit_code": _text(),
            "iku_score": _score(score_max),
            "budget_pagu": pa.Column(FLOAT, checks=pa.Check.ge(0.0)),
            "budget_realisasi": pa.Column(FLOAT, checks=pa.Check.ge(0.0)),
            "absorption_pct": pa.Column(FLOAT, checks=pa.Check.ge(0.0), nullable=True),
            "efficiency_pct": pa.Column(FLOAT, checks=pa.Check.ge(0.0), nullable=True),
            "org_predikat": _text(pa.Check.isin(codes.org_predikat), nullable=True),
            "headcount": _count(),
            "appraised_count": _count(),
        },
        "fact_appraisal": {
            **common,
            "nip": _text(nip),
            "unit_code": _text(),
            "results_score": _score(score_max),
            "behavior_score": _score(score_max),
            "discipline_score": _score(codes.discipline_max),
            "unit_score": _score(score_max),
            "final_score": _score(score_max),
            "results_rating": _text(pa.Check.isin(codes.ratings), nullable=True),
            "behavior_rating": _text(pa.Check.isin(codes.ratings), nullable=True),
            "predikat": _text(pa.Check.isin(codes.predikat), nullable=True),
            "rank_in_unit": pa.Column(NULLABLE_INT, checks=pa.Check.ge(1), nullable=True),
            "status": _text(pa.Check.isin(STATUSES)),
        },
        "fact_predikat_distribution": {
            **common,
            "unit_code": _text(),
            "predikat": _text(pa.Check.isin(codes.predikat)),
            "employee_count": _count(),
            "share": _share(),
        },
        "fact_distribution_check": {
            **common,
            "unit_code": _text(),
            "org_predikat": _text(pa.Check.isin(codes.org_predikat)),
            "rule": _text(pa.Check.isin(codes.rules)),
            "predikat_set": _text(pa.Check.isin(codes.predikat_sets)),
            "employee_count": _count(),
            "share": _share(),
            "min_share": _share(),
            "max_share": _share(),
            "min_count": _count(),
            "breach": _flag(),
        },
        "fact_followup": {
            **common,
            "nip": _text(nip),
            "reward_candidate": _flag(),
            "coaching_required": _flag(),
            "training_needs": _text(_is_subset_list(codes.aspects)),
            "absent_days_ytd": _count(),
            "discipline_sanction": _text(pa.Check.isin(codes.sanctions)),
            "promotion_eligible": _flag(),
        },
    }
    schemas: dict[str, pa.DataFrameSchema] = {}
    for table, cols in columns.items():
        assert list(cols) == list(FACT_COLUMNS[table]), table
        schemas[table] = pa.DataFrameSchema(
            cols,
            checks=_frame_checks(table),
            unique=FACT_KEYS[table],
            strict=True,
            ordered=True,
            name=table,
        )
    return schemas


def validate_facts(
    facts: Mapping[str, pd.DataFrame], policy: Any = None, lazy: bool = True
) -> dict[str, pd.DataFrame]:
    """Validate every fact table (all errors at once when lazy) and check the exact dtypes, which
    pandera's string check alone does not pin (it accepts `str` and object for string[pyarrow])."""
    schemas = output_schemas(policy)
    missing = set(schemas) - set(facts)
    if missing:
        raise ValueError(f"fact tables missing: {sorted(missing)}")
    out: dict[str, pd.DataFrame] = {}
    for table, schema in schemas.items():
        frame = facts[table]
        wrong = {
            col: str(frame[col].dtype)
            for col, dtype in FACT_COLUMNS[table].items()
            if col in frame and frame[col].dtype != dtype
        }
        if wrong:
            raise TypeError(f"{table}: unexpected dtypes {wrong}")
        out[table] = schema.validate(frame, lazy=lazy)
    return out
