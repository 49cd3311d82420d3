"""Expectations of the quality suite proven on a pandas frame, in Great Expectations' result shape.

GX's own validation builds a metric graph for every expectation and filters a copy of the frame
for each (about ten seconds for the suite whatever the agency's size, and more per row). Here each
expectation of the kinds the suite uses is one vectorised test on the frame the check holds.

Only a pass is decided here. An expectation that fails, is of a kind not known here, or meets an
input this module is not sure about gives None, and the caller validates that table with GX
itself: a failure's counts, samples and indexes are GX's, as HR and the Data Docs have always
seen them. A passing result carries no values, so it is built with GX's own formatter
(`_format_map_output`): the fields GX gives a pass. tests/integration/test_quality_fast.py holds
both to the same results on clean and on broken publications.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from great_expectations.expectations.expectation import _format_map_output
from great_expectations.expectations.expectation_configuration import (
    ExpectationConfiguration,
    parse_result_format,
)

RESULT_FORMAT = "SUMMARY"

# Counts of unexpected rows, or None when unsure; `nonnull` is the number of rows the
# expectation looks at (None: every row, reported without missing counts, as GX does for the
# null checks).
Outcome = tuple[int, int | None] | None


def _present(series: pd.Series) -> pd.Series:
    return series[series.notna()]


def _numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _unique(frame: pd.DataFrame, kwargs: dict[str, Any]) -> Outcome:
    values = _present(frame[kwargs["column"]])
    return int(values.duplicated(keep=False).sum()), len(values)


def _compound_unique(frame: pd.DataFrame, kwargs: dict[str, Any]) -> Outcome:
    if kwargs.get("ignore_row_if", "all_values_are_missing") != "all_values_are_missing":
        return None
    columns = frame[list(kwargs["column_list"])]
    kept = columns[~columns.isna().all(axis=1)]
    return int(kept.duplicated(keep=False).sum()), len(kept)


def _not_null(frame: pd.DataFrame, kwargs: dict[str, Any]) -> Outcome:
    return int(frame[kwargs["column"]].isna().sum()), None


def _null(frame: pd.DataFrame, kwargs: dict[str, Any]) -> Outcome:
    return int(frame[kwargs["column"]].notna().sum()), None


def _between(frame: pd.DataFrame, kwargs: dict[str, Any]) -> Outcome:
    column = frame[kwargs["column"]]
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    bounds = [b for b in (low, high) if b is not None]
    if not _numeric(column) or not bounds or not all(
            isinstance(b, int | float) and not isinstance(b, bool) for b in bounds):
        return None
    values = _present(column).to_numpy(dtype=np.float64)
    ok = np.ones(len(values), dtype=bool)
    if low is not None:
        ok &= values > low if kwargs.get("strict_min") else values >= low
    if high is not None:
        ok &= values < high if kwargs.get("strict_max") else values <= high
    return int((~ok).sum()), len(values)


def _in_set(frame: pd.DataFrame, kwargs: dict[str, Any]) -> Outcome:
    value_set = kwargs.get("value_set")
    if not isinstance(value_set, list | tuple | set) or not all(
            isinstance(v, str) for v in value_set):
        return None
    values = _present(frame[kwargs["column"]])
    if not (pd.api.types.is_string_dtype(values) or values.dtype == object):
        return None
    return int((~values.isin(list(value_set))).sum()), len(values)


def _matches(frame: pd.DataFrame, kwargs: dict[str, Any]) -> Outcome:
    values = _present(frame[kwargs["column"]])
    # GX's own test on pandas: the text of the value contains a match.
    found = values.astype(str).str.contains(kwargs["regex"])
    return int((~found.astype(bool)).sum()), len(values)


def _pair_equal(frame: pd.DataFrame, kwargs: dict[str, Any]) -> Outcome:
    if kwargs.get("ignore_row_if", "both_values_are_missing") != "both_values_are_missing":
        return None
    a, b = frame[kwargs["column_A"]], frame[kwargs["column_B"]]
    kept = ~(a.isna() & b.isna())
    a, b = a[kept], b[kept]
    if a.isna().any() or b.isna().any():
        return None  # one side missing: GX's comparison with a missing value decides, not this
    return int((a.to_numpy() != b.to_numpy()).sum()), int(kept.sum())


_MAP_CHECKS: dict[str, Callable[[pd.DataFrame, dict[str, Any]], Outcome]] = {
    "expect_column_values_to_be_unique": _unique,
    "expect_compound_columns_to_be_unique": _compound_unique,
    "expect_column_values_to_not_be_null": _not_null,
    "expect_column_values_to_be_null": _null,
    "expect_column_values_to_be_between": _between,
    "expect_column_values_to_be_in_set": _in_set,
    "expect_column_values_to_match_regex": _matches,
    "expect_column_pair_values_to_be_equal": _pair_equal,
}


def passing_result(config: ExpectationConfiguration, frame: pd.DataFrame) -> dict[str, Any] | None:
    """GX's result (`{"success": True, "result": {...}}`) of an expectation, with its
    parameters already substituted, that holds on `frame`; None when it fails or when this
    module cannot tell."""
    kwargs = dict(config.kwargs)
    if kwargs.get("mostly", 1) != 1 or any(
            isinstance(v, dict) and "$PARAMETER" in v for v in kwargs.values()):
        return None
    if config.type == "expect_table_row_count_to_equal":
        value = kwargs.get("value")
        if isinstance(value, bool) or not isinstance(value, int) or len(frame) != value:
            return None
        return {"success": True, "result": {"observed_value": len(frame)}}
    check = _MAP_CHECKS.get(config.type)
    if check is None:
        return None
    columns = [kwargs.get(k) for k in ("column", "column_A", "column_B")] + list(
        kwargs.get("column_list") or [])
    if any(c is not None and c not in frame.columns for c in columns):
        return None  # GX reports a missing column as an error: let it
    outcome = check(frame, kwargs)
    if outcome is None or outcome[0] != 0:
        return None
    _, nonnull = outcome
    return _format_map_output(
        result_format=parse_result_format(RESULT_FORMAT),
        success=True,
        element_count=len(frame),
        nonnull_count=nonnull,
        unexpected_count=0,
        unexpected_list=[],
        unexpected_index_list=[],
    )
