"""Raw text frames -> accepted typed frames and quarantined rows with all their reasons.

Pure: no files, no database. The flow validates in `VALIDATION_ORDER`, handing each dataset the
keys accepted before it (units -> employees -> the rest), so a row that points at a quarantined
unit or employee is quarantined too instead of silently dropping out of scoring.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import pandera.pandas as pa

from schemas.parsing import (
    canonical_rating,
    map_unique,
    parse_date,
    parse_decimal,
    parse_time,
    parse_timestamp,
    printable,
)
from schemas.sources import DATASETS, ValidationContext, source_schema
from tasks.sources.extract import FILE_COLUMN, LINE_COLUMN, DatasetError, RawDataset

QUARANTINE_COLUMNS = ["dataset", "record_ref", "reasons", "payload"]
DEFAULT_MAX_QUARANTINE_SHARE = 0.20
# A value quoted in a reason is cut after this many characters (the payload holds the row).
SHOWN_VALUE_CHARS = 100
EMPTY_RECORD = "empty record: every field is empty"
# JSON escapes C0 controls itself; DEL, C1 and the Unicode line separators are escaped too, so a
# payload is plain printable text wherever it is shown.
_JSON_ESCAPE_RE = re.compile("[\x7f-\x9f\u2028\u2029]")


def _json_escape(text: str) -> str:
    return _JSON_ESCAPE_RE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


_TYPED_PARSERS = {
    "date": parse_date,
    "time": parse_time,
    "timestamp": parse_timestamp,
    "decimal": parse_decimal,
}


@dataclass
class ValidatedDataset:
    name: str
    accepted: pd.DataFrame
    quarantine: pd.DataFrame  # QUARANTINE_COLUMNS
    file_counts: pd.DataFrame  # path, rows_read, rows_accepted, rows_quarantined
    keys_in_file: pd.Index = field(default_factory=lambda: pd.Index([], dtype=object))
    warnings: list[str] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return int(self.file_counts["rows_read"].sum())

    @property
    def rows_quarantined(self) -> int:
        return len(self.quarantine)


@dataclass(frozen=True)
class Coded:
    """A column as the distinct values normalise saw: `values` normalised (they may repeat,
    two raw values trimming to one, and may be missing) and each row's position in them
    (`codes`, -1 for a missing raw value)."""

    codes: np.ndarray
    values: pd.Series


def _normalise_column(raw: pd.Series, kind: str) -> tuple[pd.Series, Coded]:
    text = raw.astype("str")
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    distinct = pd.Series(uniques, dtype="str")
    values = distinct.str.strip()
    values = values.mask(values == "")
    if kind == "code":
        values = values.str.upper()
    elif kind == "rating":
        values = canonical_rating(values)
    if values.equals(distinct):
        # Normalising changed no value (the usual export): the column is its text as read.
        return pd.Series(text.array, index=raw.index), Coded(codes, values)
    # The distinct values spread back: -1 (a missing raw value) takes the fill, missing.
    column = pd.Series(values.array.take(codes, allow_fill=True), index=raw.index)
    return column, Coded(codes, values)


def normalise_coded(raw: RawDataset) -> tuple[pd.DataFrame, dict[str, Coded]]:
    """`normalise`, with every column's distinct values (for `suspect_rows` and `to_typed`):
    the work follows the distinct values, not the rows."""
    dataset = DATASETS[raw.name]
    out = pd.DataFrame(index=raw.frame.index)
    coded: dict[str, Coded] = {}
    for column in dataset.columns:
        out[column.name], coded[column.name] = _normalise_column(raw.frame[column.name],
                                                                 column.kind)
    return out, coded


def normalise(raw: RawDataset) -> pd.DataFrame:
    """Trim every value (empty -> NA), upper-case code values, canonicalise rating labels."""
    return normalise_coded(raw)[0]


def failure_reasons(failure_cases: pd.DataFrame) -> pd.Series:
    """pandera failure cases -> one `; `-joined reasons text per failing row index."""
    cases = failure_cases
    column_level = cases["schema_context"] == "Column"
    # Shown on one line and short: a value may hold a NUL or a line break, or be megabytes long.
    value = map_unique(
        cases["failure_case"].astype(str),
        lambda u: np.array([printable(str(v), SHOWN_VALUE_CHARS) for v in u], dtype=object),
        missing="",
    ).astype(object)
    reason = np.where(
        ~column_level,
        cases["check"].astype(str),
        np.where(
            cases["check"] == "not_nullable",
            cases["column"].astype(str) + ": required value is empty",
            cases["column"].astype(str) + ": " + cases["check"].astype(str) + " ('" + value + "')",
        ),
    )
    frame = pd.DataFrame({"index": cases["index"].astype("int64"), "reason": reason})
    # A dataframe-wide check reports each failing row once per column: keep one.
    frame = frame.drop_duplicates()
    # One pass in index order instead of a groupby with a Python join per group, which took
    # minutes when a hostile file has millions of bad rows.
    order = np.argsort(frame["index"].to_numpy(), kind="stable")
    indexes = frame["index"].to_numpy()[order].tolist()
    texts = frame["reason"].to_numpy(dtype=object)[order].tolist()
    keys = [k for k, _ in itertools.groupby(indexes)]
    joined = ["; ".join(t for _, t in group)
              for _, group in itertools.groupby(zip(indexes, texts, strict=True),
                                                key=lambda pair: pair[0])]
    return pd.Series(joined, index=pd.Index(keys, dtype="int64", name="index"), name="reason",
                     dtype=object)


def _schema_failure(raw: RawDataset, error: pa.errors.SchemaErrors) -> DatasetError:
    cases = error.failure_cases
    whole = cases[cases["index"].isna()]
    what = "; ".join(
        f"{c}: {k}" for c, k in whole[["column", "check"]].astype(str).itertuples(index=False)
    )
    path = raw.files[0].path if len(raw.files) == 1 else f"{raw.name} ({len(raw.files)} files)"
    return DatasetError(path, f"dataset unusable: {what}")


_MISSING = {"date": np.datetime64("NaT", "ns"), "timestamp": np.datetime64("NaT", "ns"),
            "time": np.nan, "decimal": np.nan}


def to_typed(name: str, frame: pd.DataFrame, coded: dict[str, Coded] | None = None,
             rows: np.ndarray | None = None) -> pd.DataFrame:
    """Accepted normalised text -> the typed frame that scoring receives (docs/architecture.md).
    With `coded` (the whole dataset's distinct values) and `rows` (the accepted rows' positions
    in it), a column is parsed once per distinct value."""
    dataset = DATASETS[name]
    out = pd.DataFrame(index=frame.index)
    for column in dataset.columns:
        parser = _TYPED_PARSERS.get(column.kind)
        if parser is None:
            out[column.name] = frame[column.name]
        elif coded is not None and rows is not None:
            parsed = np.asarray(parser(coded[column.name].values))
            parsed = np.append(parsed, np.asarray([_MISSING[column.kind]], dtype=parsed.dtype))
            out[column.name] = pd.Series(parsed[coded[column.name].codes[rows]],
                                         index=frame.index)
        else:
            out[column.name] = parser(frame[column.name])
    if name in ("skp", "unit_iku"):
        out["polarity"] = out["polarity"].fillna("MAX")
        out["weight"] = out["weight"].fillna(1.0)
    return out.reset_index(drop=True)


def _cut(value: str, limit: int) -> str:
    """`value`, or its first `limit` characters and how long it was."""
    return value if len(value) <= limit else f"{value[:limit]}…[{len(value)} characters]"


def _payloads(raw_rows: pd.DataFrame, max_chars: int) -> list[str]:
    """The raw rows as JSON, as read (untrimmed). Empty fields are left out: an empty field and a
    column the file does not have both mean "missing" (sources.md), and several attendance files
    with different columns share one frame. A value longer than `max_chars` is cut (saying how
    long it was), so that one absurd field cannot flood the warehouse and the report. Control
    characters are escaped (`\\u0000`): no NUL reaches a database or a workbook.

    The text is `json.dumps` of each row's dict, built column by column over distinct values:
    a file of millions of bad rows (one hostile export) costs seconds, not minutes."""
    data = raw_rows.drop(columns=[FILE_COLUMN, LINE_COLUMN])
    if data.empty:
        return []
    joined: pd.Series | None = None
    for name in data.columns:
        key = json.dumps(str(name), ensure_ascii=False) + ": "

        def encode(uniques: pd.Series, key: str = key) -> np.ndarray:
            return np.array([_json_escape(key + json.dumps(_cut(v, max_chars),
                                                           ensure_ascii=False))
                             if isinstance(v, str) else "" for v in uniques], dtype=object)

        part = map_unique(data[name], encode, missing="").astype("str")
        if joined is None:
            joined = part
        else:
            gap = pd.Series(np.where((joined != "") & (part != ""), ", ", ""),
                            index=part.index, dtype="str")
            joined = joined + gap + part
    return ("{" + joined + "}").tolist()


def _keys_in_file(name: str, frame: pd.DataFrame) -> pd.Index:
    column = {"units": "unit_code", "employees": "nip"}.get(name)
    if column is None:
        return pd.Index([], dtype=object)
    return pd.Index(frame[column].dropna().unique())


def _passes(check: pa.Check, values: pd.Series | pd.DataFrame) -> np.ndarray | None:
    """Where `check` holds on `values`, by pandera's own evaluation of it; None when its output
    is not one boolean per row (then only pandera's full validation can say)."""
    output = check(values).check_output
    if not isinstance(output, pd.Series) or not output.index.equals(values.index):
        return None
    return output.fillna(False).to_numpy(dtype=bool)  # a missing verdict is no pass


def suspect_rows(frame: pd.DataFrame, schema: pa.DataFrameSchema,
                 coded: dict[str, Coded] | None = None) -> np.ndarray | None:
    """Rows that may fail `schema`: a superset of what pandera would report, exact for every
    row it leaves out. None when this cannot be decided here (pandera validates every row).

    Every column check of the source schemas is a test of one value (schemas/sources.py), so it
    is evaluated once per distinct value of the column instead of once per row (12 million
    attendance rows repeat 180 dates, six statuses and a few thousand clock times), and a row
    fails when one of its values does; the dataframe checks are evaluated on the whole frame, as
    pandera does, and their failures are suspects too. Re-validating only the suspects gives
    pandera's verdict on each of them: the dataframe checks are about one row, but for the
    duplicate key, whose failing rows fail together (every row of a repeated key), so each
    suspect meets in the subset every row that decides its verdict."""
    # What is decided only over several values or the frame's shape is left to pandera.
    if schema.unique or schema.dtype is not None or schema.coerce or schema.strict:
        return None
    if any(column.unique or column.dtype is not None or column.coerce or column.regex
           for column in schema.columns.values()):
        return None
    bad = np.zeros(len(frame), dtype=bool)
    for name, column in schema.columns.items():
        if coded is not None and name in coded:
            codes, distinct = coded[name].codes, coded[name].values
        else:
            codes, uniques = pd.factorize(frame[name], use_na_sentinel=True)
            distinct = pd.Series(uniques, dtype=frame[name].dtype)
        missing = distinct.isna().to_numpy()
        values = distinct[~missing].reset_index(drop=True)
        ok = np.ones(len(values), dtype=bool)
        for check in column.checks:
            if check.element_wise or check.groupby is not None or not check.ignore_na:
                return None
            passed = _passes(check, values)
            if passed is None:
                return None
            ok &= passed
        verdict = np.full(len(distinct), column.nullable, dtype=bool)
        verdict[~missing] = ok
        # factorize marks a missing value with -1: the appended verdict is nullability's.
        verdict = np.append(verdict, column.nullable)
        bad |= ~verdict[codes]
    for check in schema.checks:
        if check.element_wise or check.groupby is not None:
            return None
        passed = _passes(check, frame)
        if passed is None:
            return None
        bad |= ~passed
    return bad


def validate_dataset(raw: RawDataset, ctx: ValidationContext) -> ValidatedDataset:
    """Validate one dataset lazily; every failing row goes to the quarantine with all reasons.

    pandera validates only the rows `suspect_rows` cannot clear: the rows, reasons and their
    order are those of validating every row, in a fraction of the time."""
    frame, coded = normalise_coded(raw)
    keys_in_file = _keys_in_file(raw.name, frame)
    if raw.name == "units":
        ctx = replace(ctx, unit_codes_in_file=keys_in_file)
    elif raw.name == "employees":
        ctx = replace(ctx, nips_in_file=keys_in_file)

    schema = source_schema(raw.name, ctx)
    checked: pd.DataFrame | None = frame
    if len(frame):
        try:
            suspect = suspect_rows(frame, schema, coded)
        except Exception:  # noqa: BLE001 - a check that raises: pandera reports it, as before
            suspect = None
        if suspect is not None:
            # No suspect (the usual chunk): pandera would check no row, and the columns it
            # requires are there (normalise has read every column of the dataset).
            checked = frame[suspect] if suspect.any() else None
    reasons = pd.Series(dtype=object)
    try:
        if checked is not None:
            schema.validate(checked, lazy=True)
    except pa.errors.SchemaErrors as error:
        if error.failure_cases["index"].isna().any():
            raise _schema_failure(raw, error) from error
        reasons = failure_reasons(error.failure_cases)
    # A record of empty fields is read and counted like any other (rows read = accepted +
    # quarantined) and quarantined with one reason instead of one per required column.
    empty = frame.index[frame.isna().all(axis=1)]
    if len(empty):
        reasons = pd.concat([reasons.drop(empty, errors="ignore"),
                             pd.Series(EMPTY_RECORD, index=empty)]).sort_index()

    bad = frame.index.isin(reasons.index)
    raw_bad = raw.frame.loc[reasons.index]
    quarantine = pd.DataFrame({
        "dataset": raw.name,
        "record_ref": (raw_bad[FILE_COLUMN].astype(str) + ":"
                       + raw_bad[LINE_COLUMN].astype(str)).to_numpy(),
        "reasons": reasons.to_numpy(),
        "payload": _payloads(raw_bad, ctx.max_field_chars),
    }, columns=QUARANTINE_COLUMNS)

    accepted = to_typed(raw.name, frame[~bad], coded, np.flatnonzero(~bad))
    counts = pd.DataFrame({"path": raw.frame[FILE_COLUMN], "bad": bad}).groupby(
        "path", sort=False)["bad"].agg(rows_read="size", rows_quarantined="sum")
    counts = counts.reindex([f.path for f in raw.files], fill_value=0).reset_index()
    counts["rows_accepted"] = counts["rows_read"] - counts["rows_quarantined"]

    warnings = []
    if raw.name == "budget":
        over = accepted[accepted["realisasi"] > accepted["pagu"]]
        if len(over):
            warnings.append(f"budget: {len(over)} activities with realisasi above pagu")
    return ValidatedDataset(raw.name, accepted, quarantine,
                            counts[["path", "rows_read", "rows_accepted", "rows_quarantined"]],
                            keys_in_file, warnings)


def context_after(ctx: ValidationContext, validated: ValidatedDataset) -> ValidationContext:
    """The context for the datasets after this one: its accepted keys become references."""
    return with_references(ctx, validated.name, validated.accepted, validated.keys_in_file)


def with_references(ctx: ValidationContext, dataset: str, accepted: pd.DataFrame,
                    keys_in_file: pd.Index) -> ValidationContext:
    """`ctx` with a reference dataset's keys (REFERENCE_DATASETS): those in its file and those
    accepted. Any other dataset leaves `ctx` as it is."""
    if dataset == "units":
        return replace(ctx, unit_codes_in_file=keys_in_file,
                       accepted_unit_codes=pd.Index(accepted["unit_code"].unique()))
    if dataset == "employees":
        return replace(ctx, nips_in_file=keys_in_file,
                       accepted_nips=pd.Index(accepted["nip"].unique()))
    return ctx


def check_quarantine_share(validated: ValidatedDataset,
                           limit: float = DEFAULT_MAX_QUARANTINE_SHARE) -> None:
    """A dataset with more than `limit` of its rows quarantined is unusable."""
    check_file_counts(validated.name, validated.file_counts, limit)


def check_file_counts(dataset: str, file_counts: pd.DataFrame,
                      limit: float = DEFAULT_MAX_QUARANTINE_SHARE) -> None:
    """`check_quarantine_share` from a dataset's row accounting per file (path, rows_read,
    rows_quarantined), as a run records it."""
    read = int(file_counts["rows_read"].sum())
    quarantined = int(file_counts["rows_quarantined"].sum())
    if read and quarantined / read > limit:
        worst = file_counts.sort_values("rows_quarantined").iloc[-1]["path"]
        raise DatasetError(
            worst if len(file_counts) == 1 else f"{dataset} (worst: {worst})",
            f"{quarantined} of {read} rows quarantined "
            f"({quarantined / read:.1%}), above the limit of {limit:.0%}",
        )
