"""The data-quality suite over the published tables of one agency-period (Great Expectations 1.x).

What it asserts (interface.md "Reports", issue #4): unique keys; the range of every score, share
and count; the allowed values of every code column (from the run's policy); row counts equal to
the run's accepted employees and units (source_file); the predikat shares of each unit summing
to 1; no fact row without its dimension rows; every fact row coming from the publication on
record (run_id).

Great Expectations validates one table at a time, so the suite is one expectation suite per table
(`kinerja.<table>`). Checks that span rows or tables (shares per unit, references to dimensions,
the breach flag against its bounds) are expressed on derived columns (`qc_*`) that
`quality_frames` adds to the published rows, so each stays an ordinary column expectation whose
failures list the offending values in the Data Docs. What depends on the run (its id, its
accepted counts) enters as expectation parameters (`PARAMETERS`), so the suite itself is fixed.

This module only defines; `tasks/reporting/check.py` reads the warehouse, runs the suite, writes
the Data Docs and records the result on the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import great_expectations as gx
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from kinerja.policy import codes_of
from schemas.outputs import FACT_KEYS, STATUSES
from schemas.sources import EMPLOYEE_TYPES, POSITION_TYPES

if TYPE_CHECKING:
    from tasks.score.rules import PolicyCodes

SUITE_PREFIX = "kinerja"
# Tables checked, dimensions first: a reference check needs its dimension read.
QUALITY_TABLES: tuple[str, ...] = (
    "dim_agency",
    "dim_period",
    "dim_unit",
    "dim_employee",
    "fact_attendance",
    "fact_skp",
    "fact_unit_performance",
    "fact_appraisal",
    "fact_predikat_distribution",
    "fact_distribution_check",
    "fact_followup",
)
# Expectation parameters, filled per check by tasks/reporting/check.py.
PARAMETERS = ("run_id", "employees_accepted", "units_accepted")
# Shares are stored unrounded; their sum may differ from 1 by float rounding only.
SHARE_TOLERANCE = 1e-9
NIP_REGEX = r"^\d{18}$"
PERIOD_REGEX = r"^\d{4}-S[12]$"


def _param(name: str) -> dict[str, str]:
    return {"$PARAMETER": name}


# Expectation builders: each carries an Indonesian one-line `uraian` in its meta, which the HR
# report shows for a failed expectation (Data Docs keep GX's own English rendering).


def _unique(columns: list[str]) -> gx.expectations.Expectation:
    meta = {"uraian": f"kunci ({', '.join(columns)}) unik"}
    if len(columns) == 1:
        return gx.expectations.ExpectColumnValuesToBeUnique(column=columns[0], meta=meta)
    return gx.expectations.ExpectCompoundColumnsToBeUnique(column_list=columns, meta=meta)


def _not_null(column: str) -> gx.expectations.Expectation:
    return gx.expectations.ExpectColumnValuesToNotBeNull(
        column=column, meta={"uraian": f"{column} tidak kosong"})


def _null(column: str, uraian: str) -> gx.expectations.Expectation:
    return gx.expectations.ExpectColumnValuesToBeNull(column=column, meta={"uraian": uraian})


def _between(column: str, low: float | None = None, high: float | None = None, *,
             strict_min: bool = False, uraian: str | None = None) -> gx.expectations.Expectation:
    if uraian is not None:
        text = uraian
    elif high is None:
        text = f"{column} {'>' if strict_min else '>='} {low:g}"
    else:
        text = f"{column} antara {low:g} dan {high:g}"
    return gx.expectations.ExpectColumnValuesToBeBetween(
        column=column, min_value=low, max_value=high, strict_min=strict_min,
        meta={"uraian": text})


def _in_set(column: str, values: tuple[str, ...] | list[str]) -> gx.expectations.Expectation:
    return gx.expectations.ExpectColumnValuesToBeInSet(
        column=column, value_set=list(values),
        meta={"uraian": f"{column} hanya berisi kode yang sah"})


def _matches(column: str, regex: str, uraian: str) -> gx.expectations.Expectation:
    return gx.expectations.ExpectColumnValuesToMatchRegex(
        column=column, regex=regex, meta={"uraian": uraian})


def _row_count(parameter: str, uraian: str) -> gx.expectations.Expectation:
    return gx.expectations.ExpectTableRowCountToEqual(
        value=_param(parameter), meta={"uraian": uraian})


def _pair_equal(a: str, b: str, uraian: str) -> gx.expectations.Expectation:
    return gx.expectations.ExpectColumnPairValuesToBeEqual(
        column_A=a, column_B=b, meta={"uraian": uraian})


def _published_by_run() -> gx.expectations.Expectation:
    return gx.expectations.ExpectColumnValuesToBeInSet(
        column="run_id", value_set=_param("run_id"),
        meta={"uraian": "semua baris berasal dari publikasi run yang tercatat"})


def _ordered_subset_regex(names: tuple[str, ...]) -> str:
    """Empty, or some of `names` in their order, each at most once, `,`-joined (training_needs)."""
    body = "".join(f"(?:{name}(?:,|$))?" for name in names)
    return rf"^$|^(?!.*,$){body}$"


def _key(table: str) -> list[gx.expectations.Expectation]:
    key = FACT_KEYS[table]
    return [_unique(key), *(_not_null(c) for c in key), _published_by_run()]


def _references(*dims: str) -> list[gx.expectations.Expectation]:
    texts = {
        "dim_employee": "setiap nip ada di dim_employee",
        "dim_unit": "setiap unit_code ada di dim_unit instansi ini",
        "dim_period": "periode ada di dim_period",
    }
    return [_null(f"qc_missing_{dim}", texts[dim]) for dim in dims]


def _score_columns(codes: PolicyCodes, *columns: str) -> list[gx.expectations.Expectation]:
    return [_between(c, 0.0, codes.discipline_max if "discipline" in c else codes.score_max)
            for c in columns]


def _counts(*columns: str) -> list[gx.expectations.Expectation]:
    return [_between(c, 0) for c in columns]


def build_suites(codes: PolicyCodes | None = None) -> dict[str, list[gx.expectations.Expectation]]:
    """The expectations of every table of `QUALITY_TABLES`, by table."""
    c = codes_of(codes)
    employees = "jumlah baris = pegawai yang diterima dari employees.csv"
    return {
        "dim_agency": [
            gx.expectations.ExpectTableRowCountToEqual(
                value=1, meta={"uraian": "instansi ada di dim_agency"}),
            _not_null("agency_name"),
        ],
        "dim_period": [
            gx.expectations.ExpectTableRowCountToEqual(
                value=1, meta={"uraian": "periode ada di dim_period"}),
            _matches("period_id", PERIOD_REGEX, "period_id berbentuk YYYY-S1/S2"),
            _not_null("start_date"),
            _not_null("end_date"),
        ],
        "dim_unit": [
            _unique(["agency_code", "unit_code"]),
            _not_null("unit_code"),
            _not_null("unit_name"),
        ],
        "dim_employee": [
            _unique(["nip"]),
            _matches("nip", NIP_REGEX, "nip 18 digit"),
            _not_null("name"),
            _in_set("employee_type", EMPLOYEE_TYPES),
            _in_set("position_type", POSITION_TYPES),
            _in_set("gender", ("L", "P")),
        ],
        "fact_attendance": [
            *_key("fact_attendance"),
            _row_count("employees_accepted", employees),
            *_counts("working_days", "present_days", "sick_days", "permit_days", "leave_days",
                     "duty_days", "absent_days", "late_count", "late_minutes", "early_count",
                     "early_minutes", "deduction_pct"),
            *_score_columns(c, "discipline_score"),
            _between("qc_day_balance", 0, 0,
                     uraian="hari H + S + I + C + DL + TK = working_days"),
            *_references("dim_employee", "dim_unit", "dim_period"),
        ],
        "fact_skp": [
            *_key("fact_skp"),
            _between("target", 0, strict_min=True),
            _between("weight", 0, strict_min=True),
            _between("realization", 0),
            *_score_columns(c, "achievement"),
            _not_null("achievement"),
            _in_set("polarity", ("MAX", "MIN")),
            *_references("dim_employee", "dim_period"),
        ],
        "fact_unit_performance": [
            *_key("fact_unit_performance"),
            _row_count("units_accepted", "jumlah baris = unit yang diterima dari units.csv"),
            *_score_columns(c, "iku_score"),
            *_counts("budget_pagu", "budget_realisasi", "absorption_pct", "efficiency_pct",
                     "headcount", "appraised_count"),
            _in_set("org_predikat", c.org_predikat),
            _pair_equal("headcount", "qc_appraisal_rows",
                        "headcount = jumlah pegawai unit di fact_appraisal"),
            _pair_equal("appraised_count", "qc_appraised_rows",
                        "appraised_count = jumlah pegawai unit berstatus APPRAISED"),
            *_references("dim_unit", "dim_period"),
        ],
        "fact_appraisal": [
            *_key("fact_appraisal"),
            _row_count("employees_accepted", employees),
            *_score_columns(c, "results_score", "behavior_score", "discipline_score",
                            "unit_score", "final_score"),
            _in_set("results_rating", c.ratings),
            _in_set("behavior_rating", c.ratings),
            _in_set("predikat", c.predikat),
            _in_set("status", STATUSES),
            _between("rank_in_unit", 1),
            *_references("dim_employee", "dim_unit", "dim_period"),
        ],
        "fact_predikat_distribution": [
            *_key("fact_predikat_distribution"),
            _in_set("predikat", c.predikat),
            *_counts("employee_count"),
            _between("share", 0.0, 1.0),
            _between("qc_unit_share_total", 1.0 - SHARE_TOLERANCE, 1.0 + SHARE_TOLERANCE,
                     uraian="jumlah share per unit = 1"),
            _between("qc_unit_predikat_rows", len(c.predikat), len(c.predikat),
                     uraian=f"setiap unit punya {len(c.predikat)} baris predikat"),
            _pair_equal("qc_unit_employee_total", "qc_unit_appraised_count",
                        "jumlah pegawai per unit = appraised_count unit"),
            *_references("dim_unit", "dim_period"),
        ],
        "fact_distribution_check": [
            *_key("fact_distribution_check"),
            _in_set("org_predikat", c.org_predikat),
            _in_set("rule", c.rules),
            _in_set("predikat_set", c.predikat_sets),
            *_counts("employee_count", "min_count"),
            *(_between(col, 0.0, 1.0) for col in ("share", "min_share", "max_share")),
            _pair_equal("breach", "qc_expected_breach",
                        "breach sesuai jumlah/proporsi terhadap batasnya"),
            *_references("dim_unit", "dim_period"),
        ],
        "fact_followup": [
            *_key("fact_followup"),
            _row_count("employees_accepted", employees),
            _in_set("discipline_sanction", c.sanctions),
            *_counts("absent_days_ytd"),
            _matches("training_needs", _ordered_subset_regex(c.aspects),
                     "training_needs berisi aspek BerAKHLAK yang sah, berurutan"),
            *_references("dim_employee", "dim_period"),
        ],
    }


def suite_name(table: str) -> str:
    return f"{SUITE_PREFIX}.{table}"


# Derived columns ------------------------------------------------------------------------------


def _missing(values: pd.Series, known: pd.Series) -> pd.Series:
    """`values` where not in `known`, else NA: the non-null values are the orphans."""
    keyed = values.astype("string[pyarrow]")
    # Arrow's hash lookup: pandas' isin on Arrow strings goes through Python objects (seconds
    # for 100,000 NIPs, per reference column).
    data = keyed.array.__arrow_array__()
    value_set = pa.array(known.dropna().astype(str).unique().tolist(), type=pa.string())
    found = pc.is_in(data, value_set=value_set.cast(data.type))
    return keyed.where(~pd.Series(found.to_numpy(zero_copy_only=False), index=keyed.index,
                                  dtype=bool), pd.NA)


def quality_frames(tables: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The published rows of one agency-period, each with the derived `qc_*` columns its suite
    checks. `tables` maps every name of `QUALITY_TABLES` to that table's rows of the
    agency-period (dimensions: the agency's rows, dim_period: the period's row)."""
    employees = tables["dim_employee"]["nip"]
    units = tables["dim_unit"]["unit_code"]
    periods = tables["dim_period"]["period_id"]
    out = {name: tables[name].copy() for name in QUALITY_TABLES}

    def refs(frame: pd.DataFrame, *dims: str) -> None:
        known = {"dim_employee": ("nip", employees), "dim_unit": ("unit_code", units),
                 "dim_period": ("period_id", periods)}
        for dim in dims:
            column, values = known[dim]
            frame[f"qc_missing_{dim}"] = _missing(frame[column], values)

    attendance = out["fact_attendance"]
    day_columns = ["present_days", "sick_days", "permit_days", "leave_days", "duty_days",
                   "absent_days"]
    attendance["qc_day_balance"] = (
        attendance[day_columns].sum(axis=1) - attendance["working_days"]).astype("Int64")
    refs(attendance, "dim_employee", "dim_unit", "dim_period")
    refs(out["fact_skp"], "dim_employee", "dim_period")

    appraisal = out["fact_appraisal"]
    refs(appraisal, "dim_employee", "dim_unit", "dim_period")
    appraised = (appraisal["status"] == "APPRAISED").fillna(False).astype(bool)
    per_unit = pd.DataFrame({
        "qc_appraisal_rows": appraisal.groupby("unit_code", observed=True).size(),
        "qc_appraised_rows": appraised.groupby(appraisal["unit_code"], observed=True).sum(),
    })
    units_frame = out["fact_unit_performance"]
    joined = units_frame[["unit_code"]].join(per_unit, on="unit_code")
    units_frame["qc_appraisal_rows"] = joined["qc_appraisal_rows"].fillna(0).astype("int64")
    units_frame["qc_appraised_rows"] = joined["qc_appraised_rows"].fillna(0).astype("int64")
    refs(units_frame, "dim_unit", "dim_period")

    distribution = out["fact_predikat_distribution"]
    by_unit = distribution.groupby("unit_code", observed=True)
    distribution["qc_unit_share_total"] = by_unit["share"].transform("sum")
    distribution["qc_unit_predikat_rows"] = by_unit["predikat"].transform("size").astype("int64")
    distribution["qc_unit_employee_total"] = (
        by_unit["employee_count"].transform("sum").astype("Int64"))
    appraised = units_frame.set_index("unit_code")["appraised_count"]
    distribution["qc_unit_appraised_count"] = (
        distribution["unit_code"].map(appraised).astype("Int64"))
    refs(distribution, "dim_unit", "dim_period")

    checks = out["fact_distribution_check"]
    checks["qc_expected_breach"] = (
        (checks["employee_count"] < checks["min_count"])
        | (checks["share"] < checks["min_share"])
        | (checks["share"] > checks["max_share"])
    ).astype(bool)
    refs(checks, "dim_unit", "dim_period")
    refs(out["fact_followup"], "dim_employee", "dim_period")
    return out
