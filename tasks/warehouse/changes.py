"""What changed between two publications of one agency-period (warehouse.md, "History").

Pure pandas, no I/O: `tasks/warehouse/publish.py` calls `appraisal_changes` inside the publishing
transaction, against the rows it is about to replace; `kinerja changes` and the backfill flow
call `source_file_changes` to say which corrected files a run read.

Text form of `old_value` / `new_value` (the table's columns are text, and an analyst must be able
to see every difference that counts, down to 1e-9):

- floats: the shortest text that reads back to the same double (Python `repr`: `87.5`,
  `100.0`, `94.70000000000002`), so two values 1e-8 apart never print alike;
- integers: decimal digits (`12`); booleans: `true` / `false`; text: as published;
- a missing value: SQL NULL (None), never the text `nan` or `None`;
- an employee who appears or disappears: one row with field `*`, old/new `absent` / `present`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from schemas.outputs import FACT_COLUMNS

KEY_COLUMNS = ("agency_code", "period_id", "nip")
# Every column of fact_appraisal and of fact_followup but the keys and run_id, in table order.
APPRAISAL_FIELDS: tuple[str, ...] = tuple(
    c for c in FACT_COLUMNS["fact_appraisal"] if c not in KEY_COLUMNS
)
FOLLOWUP_FIELDS: tuple[str, ...] = tuple(
    c for c in FACT_COLUMNS["fact_followup"] if c not in KEY_COLUMNS
)
CHANGE_FIELDS: tuple[str, ...] = APPRAISAL_FIELDS + FOLLOWUP_FIELDS
EMPLOYEE_FIELD = "*"
PRESENT, ABSENT = "present", "absent"
TOLERANCE = 1e-9
CHANGE_COLUMNS = ("nip", "field", "old_value", "new_value")
FILE_CHANGE_COLUMNS = ("dataset", "path", "change", "old_sha256", "new_sha256")
FILE_CHANGES = ("added", "removed", "changed")

_FIELD_ORDER = {name: i for i, name in enumerate((EMPLOYEE_FIELD, *CHANGE_FIELDS))}


def employee_outcomes(appraisal: pd.DataFrame, followup: pd.DataFrame) -> pd.DataFrame:
    """One row per nip with the change-tracked fields of fact_appraisal and fact_followup.

    Extra columns (keys, run_id) are dropped. Both tables hold one row per accepted employee, so
    the outer join only leaves gaps in broken input, where they then show as changes.
    """
    left = appraisal.loc[:, ["nip", *APPRAISAL_FIELDS]]
    right = followup.loc[:, ["nip", *FOLLOWUP_FIELDS]]
    for name, frame in (("fact_appraisal", left), ("fact_followup", right)):
        if frame["nip"].duplicated().any():
            raise ValueError(f"{name}: a nip appears more than once")
    return left.merge(right, on="nip", how="outer", sort=True)


def appraisal_changes(
    old: pd.DataFrame,
    new: pd.DataFrame,
    fields: Sequence[str] = CHANGE_FIELDS,
    *,
    tolerance: float = TOLERANCE,
) -> pd.DataFrame:
    """One row per (nip, field) whose value differs between `old` and `new`.

    `old` and `new` have a `nip` column (unique) and every field of `fields`. Numbers within
    `tolerance` of each other are equal; two missing values are equal, a missing value and a
    present one are not. An employee only in `new` gives one row (nip, `*`, `absent`,
    `present`), one only in `old` the reverse, and no per-field rows. Returns columns nip, field,
    old_value, new_value (text or None, see the module docstring), ordered by nip and field.
    """
    fields = list(fields)
    for name, frame in (("old", old), ("new", new)):
        missing = [c for c in ["nip", *fields] if c not in frame.columns]
        if missing:
            raise ValueError(f"{name} frame lacks column(s) {', '.join(missing)}")
        if frame["nip"].duplicated().any():
            raise ValueError(f"{name} frame: a nip appears more than once")
    before = old.set_index(old["nip"].astype(str))[fields]
    after = new.set_index(new["nip"].astype(str))[fields]
    appeared = after.index.difference(before.index)
    gone = before.index.difference(after.index)
    both = before.index.intersection(after.index)
    before, after = before.reindex(both), after.reindex(both)

    pieces = [
        _rows(appeared, EMPLOYEE_FIELD, ABSENT, PRESENT),
        _rows(gone, EMPLOYEE_FIELD, PRESENT, ABSENT),
    ]
    for field in fields:
        differs = _differs(before[field], after[field], tolerance)
        if differs.any():
            pieces.append(
                _rows(
                    both[differs],
                    field,
                    value_text(before[field][differs]),
                    value_text(after[field][differs]),
                )
            )
    pieces = [p for p in pieces if not p.empty]
    if not pieces:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in CHANGE_COLUMNS})
    changes = pd.concat(pieces, ignore_index=True)
    changes = (
        changes.assign(_order=field_rank(changes["field"]))
        .sort_values(["nip", "_order"], kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )
    return changes.astype(object).where(changes.notna(), None)


def field_rank(fields: pd.Series) -> pd.Series:
    """A sort key putting `*` first, then the fields in table order, then anything else."""
    return fields.map(_FIELD_ORDER).astype("float64").fillna(len(_FIELD_ORDER))


def _rows(nips: pd.Index, field: str, old: object, new: object) -> pd.DataFrame:
    n = len(nips)

    def column(values: object) -> pd.Series:
        # Explicitly object: pandas 3 would infer its string dtype and turn None into NaN.
        if isinstance(values, pd.Series):
            return pd.Series(values.to_numpy(dtype=object), dtype=object)
        return pd.Series([values] * n, dtype=object)

    return pd.DataFrame({
        "nip": pd.Series(np.asarray(nips, dtype=object), dtype=object),
        "field": column(field),
        "old_value": column(old),
        "new_value": column(new),
    })


def _kind(series: pd.Series) -> str:
    """`bool`, `integer`, `number`, `text` or `empty` (all missing, untyped): how a column's
    values compare and print."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_numeric_dtype(dtype):
        return "integer" if pd.api.types.is_integer_dtype(dtype) else "number"
    if pd.api.types.is_object_dtype(dtype):
        # Frames read without the warehouse's typing (all missing, or Python objects).
        inferred = pd.api.types.infer_dtype(series, skipna=True)
        if inferred == "boolean":
            return "bool"
        if inferred == "integer":
            return "integer"
        if inferred in ("floating", "mixed-integer-float", "decimal"):
            return "number"
        if inferred == "empty":
            return "empty"
    return "text"


def _differs(old: pd.Series, new: pd.Series, tolerance: float) -> np.ndarray:
    """Element-wise "is not the same value" of two aligned series, missing == missing."""
    old_missing = old.isna().to_numpy(dtype=bool)
    new_missing = new.isna().to_numpy(dtype=bool)
    kinds = {_kind(old), _kind(new)} - {"empty"}
    if kinds and kinds <= {"bool", "integer", "number"}:
        # bool beside a number happens when one side came through a driver as 0/1.
        a = pd.to_numeric(old.astype(object), errors="coerce").to_numpy(dtype=float)
        b = pd.to_numeric(new.astype(object), errors="coerce").to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            unequal = ~((a == b) | (np.abs(a - b) <= tolerance))
    else:
        a = old.astype("string").fillna("").to_numpy(dtype=object)
        b = new.astype("string").fillna("").to_numpy(dtype=object)
        unequal = a != b
    return np.where(old_missing | new_missing, old_missing != new_missing, unequal)


def value_text(series: pd.Series) -> pd.Series:
    """The values of `series` as change-log text (module docstring); missing values as None."""
    kind = _kind(series)
    present = series[series.notna()]
    if kind == "bool":
        text = present.astype(bool).map({True: "true", False: "false"})
    elif kind == "integer":
        text = present.map(lambda v: str(int(v)))
    elif kind == "number":
        # repr of a Python float is the shortest text that reads back to the same double.
        text = present.map(lambda v: repr(float(v)))
    else:
        text = present.map(str)
    return text.astype(object).reindex(series.index).where(series.notna(), None)


def source_file_changes(old_files: pd.DataFrame, new_files: pd.DataFrame) -> pd.DataFrame:
    """Which files differ between the source_file rows of two runs.

    Files are matched by (dataset, path), the path being relative to the period folder, so a
    landing zone moved elsewhere compares file by file. Returns dataset, path, change (`added`,
    `removed` or `changed`, the last when the SHA-256 differs), old_sha256, new_sha256; files
    read unchanged are left out.
    """
    keys = ["dataset", "path"]
    left = old_files.loc[:, [*keys, "sha256"]].astype(object)
    right = new_files.loc[:, [*keys, "sha256"]].astype(object)
    merged = left.merge(right, on=keys, how="outer", suffixes=("_old", "_new"), indicator=True)
    change = np.select(
        [merged["_merge"] == "right_only", merged["_merge"] == "left_only",
         merged["sha256_old"] != merged["sha256_new"]],
        ["added", "removed", "changed"],
        default="",
    )
    out = pd.DataFrame(
        {
            "dataset": merged["dataset"],
            "path": merged["path"],
            "change": change,
            "old_sha256": merged["sha256_old"],
            "new_sha256": merged["sha256_new"],
        }
    )
    out = out[out["change"] != ""].sort_values(keys, kind="stable").reset_index(drop=True)
    return out.astype(object).where(out.notna(), None)
