"""The source datasets of sources.md and their pandera schemas.

The schemas validate the landed text (trimmed, empty -> NA, codes upper case, rating labels
canonical) rather than typed values, so that a value that does not parse is a named failure of its
own row instead of an error of the whole dataset. Each check's `error` text is the reason an
analyst reads in the quarantine.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow as arrow

from kinerja.config import InputLimits
from kinerja.period import Period
from schemas.parsing import (
    RATING_LABELS,
    has_control_character,
    has_line_break,
    is_member,
    nip_is_valid,
    parse_date,
    parse_decimal,
    parse_time,
    parse_timestamp,
    text_values,
)

BERAKHLAK_ASPECTS = (
    "berorientasi_pelayanan",
    "akuntabel",
    "kompeten",
    "harmonis",
    "loyal",
    "adaptif",
    "kolaboratif",
)
PRESENSI_STATUSES = ("H", "S", "I", "C", "DL", "TK")
EMPLOYEE_TYPES = ("PNS", "PPPK")
POSITION_TYPES = ("JPT", "ADMINISTRATOR", "PENGAWAS", "FUNGSIONAL", "PELAKSANA")
POLARITIES = ("MAX", "MIN")
_DEFAULT_LIMITS = InputLimits()


@dataclass(frozen=True)
class SourceColumn:
    name: str
    kind: str  # text, code, nip, date, time, timestamp, decimal, rating
    required: bool = False
    allowed: tuple[str, ...] = ()
    multiline: bool = False  # wording that may hold line breaks (a quoted CSV value)


@dataclass(frozen=True)
class SourceDataset:
    name: str
    pattern: str  # where it lands in the period folder, as the docs name it
    columns: tuple[SourceColumn, ...]
    key: tuple[str, ...] = ()  # duplicate-key rule: every row of a repeated key is quarantined

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def columns_of_kind(self, *kinds: str) -> list[str]:
        return [c.name for c in self.columns if c.kind in kinds]


def _c(name: str, kind: str = "text", required: bool = False,
       allowed: tuple[str, ...] = (), multiline: bool = False) -> SourceColumn:
    return SourceColumn(name, kind, required, allowed, multiline)


DATASETS: dict[str, SourceDataset] = {
    d.name: d
    for d in (
        SourceDataset(
            "units", "units.csv",
            (_c("unit_code", required=True), _c("unit_name", required=True),
             _c("parent_unit_code")),
            key=("unit_code",),
        ),
        SourceDataset(
            "employees", "employees.csv",
            (_c("nip", "nip", True), _c("name", required=True),
             _c("employee_type", "code", True, EMPLOYEE_TYPES),
             _c("unit_code", required=True),
             _c("position_type", "code", True, POSITION_TYPES),
             _c("position_name"), _c("grade"), _c("supervisor_nip", "nip"),
             _c("active_from", "date"), _c("active_to", "date")),
            key=("nip",),
        ),
        SourceDataset(
            "calendar", "calendar.csv",
            (_c("date", "date", True), _c("description", multiline=True)),
            key=("date",),
        ),
        SourceDataset(
            "attendance", "attendance/*.csv",
            (_c("nip", "nip", True), _c("date", "date", True),
             _c("status", "code", True, PRESENSI_STATUSES),
             _c("check_in", "time"), _c("check_out", "time")),
        ),
        SourceDataset(
            "skp", "skp.csv",
            (_c("nip", "nip", True), _c("indicator_id", required=True),
             _c("indicator", multiline=True),
             _c("target", "decimal", True), _c("realization", "decimal"),
             _c("unit_of_measure"), _c("polarity", "code", allowed=POLARITIES),
             _c("weight", "decimal")),
            key=("nip", "indicator_id"),
        ),
        SourceDataset(
            "ratings", "ratings.csv",
            (_c("nip", "nip", True), _c("rater_nip", "nip"),
             _c("rated_at", "timestamp", True),
             _c("results_rating", "rating", True), _c("behavior_rating", "rating", True),
             *(_c(aspect, "rating") for aspect in BERAKHLAK_ASPECTS)),
            key=("nip", "rated_at"),
        ),
        SourceDataset(
            "unit_iku", "unit_iku.csv",
            (_c("unit_code", required=True), _c("iku_id", required=True),
             _c("indicator", multiline=True),
             _c("target", "decimal", True), _c("realization", "decimal"),
             _c("polarity", "code", allowed=POLARITIES), _c("weight", "decimal")),
            key=("unit_code", "iku_id"),
        ),
        SourceDataset(
            "budget", "budget.xlsx or budget.csv",
            (_c("unit_code", required=True), _c("program_code", required=True),
             _c("activity_code", required=True), _c("activity_name", multiline=True),
             _c("pagu", "decimal", True), _c("realisasi", "decimal", True)),
            key=("unit_code", "program_code", "activity_code"),
        ),
    )
}

# References point backwards in this order, so each dataset is checked against accepted rows.
# The reference datasets come first and one after the other; every other dataset refers only to
# them, so the rest may be validated at the same time.
REFERENCE_DATASETS = ("units", "employees")
VALIDATION_ORDER = ("units", "employees", "calendar", "attendance", "skp", "ratings", "unit_iku",
                    "budget")


@dataclass(frozen=True)
class ValidationContext:
    """What a dataset's rules need to know beyond its own rows."""

    period: Period
    unit_codes_in_file: pd.Index = field(default_factory=lambda: pd.Index([], dtype=object))
    accepted_unit_codes: pd.Index = field(default_factory=lambda: pd.Index([], dtype=object))
    nips_in_file: pd.Index = field(default_factory=lambda: pd.Index([], dtype=object))
    accepted_nips: pd.Index = field(default_factory=lambda: pd.Index([], dtype=object))
    # Bounds of kinerja.config.InputLimits that rows are checked against.
    max_field_chars: int = _DEFAULT_LIMITS.max_field_chars
    max_decimal: float = _DEFAULT_LIMITS.max_decimal

    def with_limits(self, limits: InputLimits) -> ValidationContext:
        return replace(self, max_field_chars=limits.max_field_chars,
                       max_decimal=limits.max_decimal)


# --- check builders -------------------------------------------------------------------------
# Column checks receive the column's non-null values (pandera drops nulls first), so "empty"
# is reported once, by not_nullable, and a value that does not parse is reported once, by its
# parse check: range checks pass values they cannot parse.


def _parses(parser, error: str) -> pa.Check:
    return pa.Check(lambda s: parser(s).notna(), error=error)


_KIND_CHECKS = {
    "nip": lambda: pa.Check(nip_is_valid, error="not a valid NIP"),
    "date": lambda: _parses(parse_date, "not a valid date (YYYY-MM-DD)"),
    "time": lambda: _parses(parse_time, "not a valid time (HH:MM or HH:MM:SS)"),
    "timestamp": lambda: _parses(parse_timestamp, "not a valid timestamp (YYYY-MM-DD HH:MM[:SS])"),
    "decimal": lambda: _parses(parse_decimal, "not a number"),
}


def _decimal_at_least(bound: float, strict: bool) -> pa.Check:
    def check(s: pd.Series) -> pd.Series:
        value = parse_decimal(s)
        ok = value > bound if strict else value >= bound
        return ok | value.isna()

    return pa.Check(check, error=f"must be {'greater than' if strict else 'at least'} {bound:g}")


def _decimal_magnitude(largest: float) -> pa.Check:
    """Finite is not enough: 1e308 is finite, but a score or an absorption derived from it is
    not. Bounding both ends keeps every ratio and weighted sum of scoring finite."""
    smallest = 1.0 / largest

    def check(s: pd.Series) -> pd.Series:
        size = parse_decimal(s).abs()
        return size.isna() | (size == 0) | ((size >= smallest) & (size <= largest))

    return pa.Check(check, error=f"must be 0 or between {smallest:g} and {largest:g}")


def _text_checks(column: SourceColumn, max_chars: int) -> list[pa.Check]:
    """What every value must be, whatever its column: not absurdly long, no control characters
    (a NUL cannot be stored by PostgreSQL or written to a workbook), and one line unless the
    column is wording."""
    checks = [
        pa.Check(lambda s: s.str.len() <= max_chars, error=f"longer than {max_chars} characters"),
        pa.Check(lambda s: ~has_control_character(s), error="contains a control character"),
    ]
    if not column.multiline:
        checks.append(pa.Check(lambda s: ~has_line_break(s), error="contains a line break"))
    return checks


def _date_in_period(period: Period) -> pa.Check:
    start, end = np.datetime64(period.start, "ns"), np.datetime64(period.end, "ns")

    def check(s: pd.Series) -> pd.Series:
        value = parse_date(s)
        return value.isna() | ((value >= start) & (value <= end))

    return pa.Check(check, error=f"outside the period {period.id} ({period.start}..{period.end})")


def _member_of(keys: pd.Index, error: str) -> pa.Check:
    # pandas' isin on Arrow strings turns every key into a scalar on each call, a second per
    # 100,000 NIPs paid again for every attendance partition: Arrow's lookup takes them once.
    value_set = text_values(pd.Series(keys, dtype="str").dropna())
    if isinstance(value_set, arrow.ChunkedArray):
        value_set = value_set.combine_chunks()
    return pa.Check(lambda s: is_member(s, value_set), error=error)


def _unique_key(columns: tuple[str, ...], parsed: dict[str, object]) -> pa.Check:
    """Every row of a repeated key fails: the pipeline must not pick one at random."""

    def check(df: pd.DataFrame) -> pd.Series:
        keys = pd.DataFrame({c: parsed.get(c, lambda s: s)(df[c]) for c in columns})
        complete = keys.notna().all(axis=1)
        return ~(keys.duplicated(keep=False) & complete)

    return pa.Check(check, error=f"duplicate key ({', '.join(columns)}): every row of it is "
                    "quarantined", ignore_na=False)


def _not_before(later: str, earlier: str, parser) -> pa.Check:
    def check(df: pd.DataFrame) -> pd.Series:
        a, b = parser(df[later]), parser(df[earlier])
        return a.isna() | b.isna() | (a >= b)

    return pa.Check(check, error=f"{later} is before {earlier}", ignore_na=False)


def _differs(column: str, other: str) -> pa.Check:
    def check(df: pd.DataFrame) -> pd.Series:
        return df[column].isna() | (df[column] != df[other]).fillna(True)

    return pa.Check(check, error=f"{column} is the employee's own nip", ignore_na=False)


# --- schemas ----------------------------------------------------------------------------------


def _column_checks(dataset: SourceDataset, ctx: ValidationContext) -> dict[str, list[pa.Check]]:
    checks: dict[str, list[pa.Check]] = {
        c.name: _text_checks(c, ctx.max_field_chars) for c in dataset.columns}
    for col in dataset.columns:
        if col.kind in _KIND_CHECKS:
            checks[col.name].append(_KIND_CHECKS[col.kind]())
        if col.kind == "decimal":
            checks[col.name].append(_decimal_magnitude(ctx.max_decimal))
        if col.kind == "code":
            checks[col.name].append(
                pa.Check.isin(col.allowed, error=f"not one of {', '.join(col.allowed)}"))
        if col.kind == "rating":
            checks[col.name].append(
                pa.Check.isin(RATING_LABELS, error="not a rating label (Diatas / Sesuai / "
                              "Dibawah Ekspektasi)"))

    name = dataset.name
    if name in ("calendar", "attendance"):
        checks["date"].append(_date_in_period(ctx.period))
    if name in ("skp", "unit_iku"):
        checks["target"].append(_decimal_at_least(0, strict=True))
        checks["realization"].append(_decimal_at_least(0, strict=False))
        checks["weight"].append(_decimal_at_least(0, strict=True))
    if name == "budget":
        checks["pagu"].append(_decimal_at_least(0, strict=False))
        checks["realisasi"].append(_decimal_at_least(0, strict=False))
    if name == "units":
        checks["parent_unit_code"].append(
            _member_of(ctx.unit_codes_in_file, "not a unit_code of units.csv"))
    if name == "employees":
        checks["unit_code"].append(
            _member_of(ctx.accepted_unit_codes, "not an accepted unit_code of units.csv"))
        checks["supervisor_nip"].append(
            _member_of(ctx.nips_in_file, "not a nip of employees.csv"))
    if name in ("attendance", "skp", "ratings"):
        checks["nip"].append(
            _member_of(ctx.accepted_nips, "not an accepted nip of employees.csv"))
    if name == "ratings":
        checks["rater_nip"].append(_member_of(ctx.nips_in_file, "not a nip of employees.csv"))
    if name in ("unit_iku", "budget"):
        checks["unit_code"].append(
            _member_of(ctx.accepted_unit_codes, "not an accepted unit_code of units.csv"))
    return checks


def _dataframe_checks(dataset: SourceDataset) -> list[pa.Check]:
    out: list[pa.Check] = []
    if dataset.key:
        parsed = {"rated_at": parse_timestamp, "date": parse_date}
        out.append(_unique_key(dataset.key, parsed))
    if dataset.name == "attendance":
        out.append(_not_before("check_out", "check_in", parse_time))
    if dataset.name == "employees":
        out.append(_not_before("active_to", "active_from", parse_date))
        out.append(_differs("supervisor_nip", "nip"))
    return out


def source_schema(name: str, ctx: ValidationContext) -> pa.DataFrameSchema:
    """The pandera schema of one source dataset's normalised text."""
    dataset = DATASETS[name]
    checks = _column_checks(dataset, ctx)
    return pa.DataFrameSchema(
        {
            col.name: pa.Column(nullable=not col.required, checks=checks[col.name],
                                required=True)
            for col in dataset.columns
        },
        checks=_dataframe_checks(dataset),
        name=name,
    )
