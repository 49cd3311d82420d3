"""The one loader of the warehouse: a frame's rows into a table, inside the caller's transaction.

COPY through psycopg 3 on PostgreSQL (the rows formatted column-wise by Arrow), executemany
inserts elsewhere; values are converted by the target column's SQL type. Publication, lineage,
the change log and the dimensions' staging all load through `load_frame`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tasks.warehouse import database as warehouse

# Bounds the Python objects alive at once while a large frame is converted and sent.
_CHUNK_ROWS = 20_000


def load_frame(
    conn: Connection, table_name: str, frame: pd.DataFrame, *, into: str | None = None
) -> int:
    """Append `frame`'s rows to `table_name` (or to the table `into`, with the same columns).

    The single path every published row takes (call it as `loader.load_frame`, so tests can
    make it fail on a chosen table).
    Values are converted by the target column's SQL type: NaN / NA / NaT become NULL, numpy and
    nullable pandas scalars become Python ones, datetimes become dates for DATE columns.
    """
    if frame.empty:
        return 0
    target = warehouse.reflect_table(conn, table_name)
    unknown = [c for c in frame.columns if c not in target.c]
    if unknown:
        raise ValueError(f"{table_name} has no column(s) {unknown}")
    columns = [target.c[c] for c in frame.columns]
    destination = into or table_name
    if conn.dialect.name == "postgresql":
        _copy_rows(conn, destination, columns, frame)
    else:
        _insert_rows(conn, destination, columns, frame)
    return len(frame)


def _copy_rows(
    conn: Connection, destination: str, columns: list[sa.Column[Any]], frame: pd.DataFrame
) -> None:
    preparer = conn.dialect.identifier_preparer
    statement = (
        f"COPY {preparer.quote(destination)} "
        f"({', '.join(preparer.quote(c.name) for c in columns)}) FROM STDIN"
    )
    # The psycopg connection underneath is inside the SQLAlchemy transaction, so the COPY
    # commits or rolls back with everything else.
    driver_connection = conn.connection.driver_connection
    utf8 = driver_connection.info.encoding.replace("-", "").lower() == "utf8"
    with driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
        for start in range(0, len(frame), _CHUNK_ROWS):
            block = _copy_text(frame.iloc[start : start + _CHUNK_ROWS], columns)
            # Our bytes are UTF-8; a server configured otherwise needs psycopg to re-encode.
            copy.write(block if utf8 else bytes(block).decode("utf-8"))


def _copy_text(frame: pd.DataFrame, columns: list[sa.Column[Any]]) -> memoryview:
    """`frame` in COPY's text format (tab-separated, `\\N` for NULL, backslash escapes).

    Encoded column by column with Arrow, whose number formatting is the shortest text that
    reads back to the same double, so scores stay exact; writing row by row in Python would
    cost several times the whole COPY.
    """
    fields = [_copy_field(frame.iloc[:, i], c.type) for i, c in enumerate(columns)]
    tab, newline, empty = (pa.scalar(t, pa.large_string()) for t in ("\t", "\n", ""))
    lines = pc.binary_join_element_wise(*fields, tab)
    lines = pc.binary_join_element_wise(lines, empty, newline)
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    # The joined lines lie back to back in the array's data buffer: that is the whole block.
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)
    first, last = offsets[lines.offset], offsets[lines.offset + len(lines)]
    return memoryview(lines.buffers()[2])[first:last]


def _copy_field(series: pd.Series, sqltype: sa.types.TypeEngine[Any]) -> pa.Array:
    if isinstance(sqltype, sa.Boolean):
        array = pa.array(series.astype("boolean"))  # true / false
    elif isinstance(sqltype, sa.Integer):
        array = pa.array(series.astype("Int64"))
    elif isinstance(sqltype, sa.Float | sa.Numeric):
        array = pa.array(_floats(series), from_pandas=True)
    elif isinstance(sqltype, sa.Date | sa.DateTime):
        array = pa.array(_naive_timestamps(series)).cast(pa.timestamp("us"), safe=False)
        if not isinstance(sqltype, sa.DateTime):
            array = array.cast(pa.date32())
    else:
        if isinstance(series.dtype, pd.StringDtype):
            array = pa.array(series, from_pandas=True).cast(pa.large_string())
        else:
            array = pa.array(_texts(series), type=pa.large_string(), from_pandas=True)
        if pc.any(pc.match_substring_regex(array, r"[\\\t\n\r]")).as_py():
            for char, escaped in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")):
                array = pc.replace_substring(array, char, escaped)
    return pc.fill_null(array.cast(pa.large_string()), "\\N")


def _insert_rows(
    conn: Connection, destination: str, columns: list[sa.Column[Any]], frame: pd.DataFrame
) -> None:
    preparer = conn.dialect.identifier_preparer
    names = [c.name for c in columns]
    style = conn.dialect.paramstyle
    placeholders = {
        "qmark": ["?"] * len(names),
        "format": ["%s"] * len(names),
        "numeric": [f":{i + 1}" for i in range(len(names))],
        "named": [f":{n}" for n in names],
        "pyformat": [f"%({n})s" for n in names],
    }[style]
    statement = (
        f"INSERT INTO {preparer.quote(destination)} "
        f"({', '.join(preparer.quote(n) for n in names)}) VALUES ({', '.join(placeholders)})"
    )
    # The columns' own bind processors store dates and booleans the dialect's way (ISO text
    # and 0/1 on SQLite), applied per column instead of through SQLAlchemy's per-row machinery,
    # which would cost more than the inserts themselves.
    processors = [c.type.dialect_impl(conn.dialect).bind_processor(conn.dialect) for c in columns]
    for start in range(0, len(frame), _CHUNK_ROWS):
        chunk = frame.iloc[start : start + _CHUNK_ROWS]
        values = [
            _python_values(chunk.iloc[:, i], column.type, processors[i])
            for i, column in enumerate(columns)
        ]
        rows = list(zip(*values, strict=True))
        if style in ("named", "pyformat"):
            conn.exec_driver_sql(statement, [dict(zip(names, r, strict=True)) for r in rows])
        else:
            conn.exec_driver_sql(statement, rows)


def _python_values(
    series: pd.Series,
    sqltype: sa.types.TypeEngine[Any],
    processor: Callable[[Any], Any] | None = None,
) -> list[Any]:
    """`series` as plain Python values for a column of `sqltype`, None for missing."""
    missing = series.isna().to_numpy(dtype=bool)
    if missing.all():
        return [None] * len(series)
    values: list[Any]
    if isinstance(sqltype, sa.Boolean):
        values = series.astype("boolean").to_numpy(dtype=bool, na_value=False).tolist()
    elif isinstance(sqltype, sa.Integer):
        values = series.astype("Int64").to_numpy(dtype=np.int64, na_value=0).tolist()
    elif isinstance(sqltype, sa.Float | sa.Numeric):
        values = _floats(series).tolist()
    elif isinstance(sqltype, sa.DateTime):
        values = list(_naive_timestamps(series).dt.to_pydatetime())
    elif isinstance(sqltype, sa.Date):
        values = _naive_timestamps(series).dt.date.tolist()
    else:
        values = _texts(series).tolist()
    if missing.any():
        values = [None if m else v for v, m in zip(values, missing, strict=True)]
    if processor is not None:
        values = [None if v is None else processor(v) for v in values]
    return values


def _floats(series: pd.Series) -> np.ndarray:
    if series.dtype == np.float64:
        return series.to_numpy()
    return pd.to_numeric(series.astype(object)).to_numpy(dtype=np.float64, na_value=np.nan)


def _naive_timestamps(series: pd.Series) -> pd.Series:
    stamps = series if pd.api.types.is_datetime64_any_dtype(series) else pd.to_datetime(series)
    if getattr(stamps.dtype, "tz", None) is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return stamps


def _texts(series: pd.Series) -> np.ndarray:
    """Text values as str objects (missing as None); dicts and lists become JSON."""
    if isinstance(series.dtype, pd.StringDtype):
        # An array, not a Series: pandas would infer its strings back to Arrow.
        return series.to_numpy(dtype=object, na_value=None)
    texts = series.astype(object).map(_text_value, na_action="ignore")
    return texts.where(series.notna(), None).to_numpy(dtype=object)


def _text_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        # Quarantine payloads: the raw row as JSON (warehouse.md).
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, np.generic):
        value = value.item()
    return str(value)
