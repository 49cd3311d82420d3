"""SQL sources: a dataset read from a database by a query under `sql/sources/`, into the same
`RawDataset` shape that `extract.py` makes of files, so validation cannot tell them apart.

- Every value becomes text the way a landing-zone CSV would spell it (dates `YYYY-MM-DD`,
  timestamps `YYYY-MM-DD HH:MM:SS`, times `HH:MM:SS`, decimals with a dot), so a typed column
  and a text column of a legacy application both go through the same rules.
- `_file` is the query's reference (`sql:sources/ekinerja_mariadb/skp.sql`) and `_line` the row
  number (1 = the first row), so a quarantined row is found as "the query and row number".
- Lineage: the query's `source_file` row has the reference as path, and the SHA-256 and size of
  the rows' canonical text (the column names, then one JSON array of the text values per row),
  so a corrected row in the source database changes the fingerprint as a corrected file would.
  Row numbers and the hash follow the query's order: queries must ORDER BY a key.
- Rows are fetched in chunks of `chunk_rows` with a server-side cursor where the driver has one,
  so the driver never buffers a whole attendance table.

Queries may use the bind parameters `:agency_code`, `:period_id`, `:period_start` and
`:period_end` (dates). A source URL may hold `${VAR}` references to environment variables, so a
password can stay out of the configuration file; the URL is only ever logged with its password
masked.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from kinerja.config import InputLimits, SqlSource
from kinerja.period import Period
from kinerja.redact import redact_url
from schemas.sources import DATASETS
from tasks.run_log import run_logger
from tasks.sources.extract import (
    FILE_COLUMN,
    LINE_COLUMN,
    DatasetError,
    RawDataset,
    SourceFile,
    _normalise_header,
    extract_dataset,
    size_text,
)
from tasks.transient import is_transient

log = logging.getLogger(__name__)

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"
SOURCES_DIR = SQL_DIR / "sources"
_ENV_REF_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def extract_raw(dataset: str, folder: str | Path, source: SqlSource | None = None,
                agency_code: str = "", period: Period | None = None,
                limits: InputLimits | None = None) -> RawDataset:
    """One dataset of a run: from its SQL source when the agency configures one, else from the
    landing-zone period folder."""
    if source is None:
        return extract_dataset(Path(folder), dataset, limits)
    if source.dataset != dataset:
        raise ValueError(f"the SQL source of {source.dataset} cannot give {dataset}")
    if period is None:
        raise ValueError("a SQL source needs the period for its query parameters")
    return extract_sql(source, agency_code, period, limits)


def query_path(query: str) -> Path:
    path = Path(query)
    return path if path.is_absolute() else SOURCES_DIR / path


def query_ref(query: str) -> str:
    """How record_ref and source_file name the query: `sql:sources/<dir>/<name>.sql`."""
    path = query_path(query)
    try:
        return "sql:" + path.resolve().relative_to(SQL_DIR.resolve()).as_posix()
    except ValueError:
        return "sql:" + path.as_posix()


def expand_url(url: str, ref: str) -> str:
    """`${VAR}` references replaced from the environment; a missing one is named, not shown."""
    missing = sorted({m for m in _ENV_REF_RE.findall(url) if m not in os.environ})
    if missing:
        raise DatasetError(ref, f"environment variable(s) {', '.join(missing)} used in the "
                                "source URL are not set")
    return _ENV_REF_RE.sub(lambda m: os.environ[m.group(1)], url)


def query_parameters(sql: str, agency_code: str, period: Period) -> dict[str, Any]:
    """The bind parameters the query uses, out of the ones a source query may use."""
    available: dict[str, Any] = {
        "agency_code": agency_code,
        "period_id": period.id,
        "period_start": period.start,
        "period_end": period.end,
    }
    used = sa.text(sql).compile().params
    unknown = sorted(set(used) - set(available))
    if unknown:
        raise ValueError(f"unknown bind parameter(s) {', '.join(':' + u for u in unknown)}; "
                         f"available: {', '.join(':' + a for a in available)}")
    return {name: available[name] for name in used}


def sql_text(value: Any) -> str | None:
    """A database value as the landing zone would write it."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # NaN and infinities stay visible ("nan", "inf"): validation quarantines them as not a
        # number instead of reading NaN as an empty (a weight of 1) or inf as a value.
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        # Always with the time: a rating at midnight is still a timestamp (rated_at needs one).
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):  # MySQL's TIME columns arrive as durations
        seconds = int(value.total_seconds())
        sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
        return f"{sign}{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def _text_column(values: tuple[Any, ...]) -> list[str | None]:
    return [v if v is None or type(v) is str else sql_text(v) for v in values]


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def extract_sql(source: SqlSource, agency_code: str, period: Period,
                limits: InputLimits | None = None) -> RawDataset:
    """Run the source's query for one agency-period and return its rows as a raw text dataset.

    A transient database fault propagates as it is (the task retries it); any other failure of
    the query or its result is a `DatasetError` naming the query, never the URL's password.
    The rows' text counts as a file against `limits.max_file_bytes`: reading stops there.
    """
    max_bytes = (limits or InputLimits()).max_file_bytes
    dataset = DATASETS[source.dataset]
    ref = query_ref(source.query)
    path = query_path(source.query)
    if not path.is_file():
        raise DatasetError(ref, f"query file not found ({path})")
    sql = path.read_text(encoding="utf-8")
    try:
        params = query_parameters(sql, agency_code, period)
    except ValueError as error:
        raise DatasetError(ref, str(error)) from error
    url = expand_url(source.url, ref)
    logger = run_logger(log)
    logger.info("%s: reading %s from %s", dataset.name, ref, redact_url(url))

    digest = hashlib.sha256()
    size = 0
    frames: list[pd.DataFrame] = []
    try:
        # One connection, closed afterwards: a source database is read once per run.
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    except (sa.exc.ArgumentError, ImportError) as error:
        raise DatasetError(ref, f"unusable source URL {redact_url(url)}: "
                                f"{type(error).__name__}") from None
    try:
        with engine.connect() as conn:
            result = conn.execution_options(
                stream_results=True, yield_per=source.chunk_rows
            ).execute(sa.text(sql), params)
            keys = result.keys()  # a result's keys: iterating the result itself reads rows
            names = _normalise_header([str(k) for k in keys], ref)
            missing = [c for c in dataset.required_columns if c not in names]
            if missing:
                raise DatasetError(ref, f"required column missing: {', '.join(missing)}")
            header = (json.dumps(names, ensure_ascii=False) + "\n").encode()
            digest.update(header)
            size += len(header)
            first_line = 1
            for rows in result.partitions():
                texts = [_text_column(col) for col in zip(*rows, strict=True)]
                canonical = "".join(
                    json.dumps(record, ensure_ascii=False) + "\n"
                    for record in zip(*texts, strict=True)
                ).encode()
                digest.update(canonical)
                size += len(canonical)
                if size > max_bytes:
                    raise DatasetError(ref, f"the query's rows exceed the limit of "
                                            f"{size_text(max_bytes)} of text (setting "
                                            "limits.max_file_mb)")
                frame = pd.DataFrame({name: pd.Series(values, dtype="str")
                                      for name, values in zip(names, texts, strict=True)})
                frame[LINE_COLUMN] = pd.RangeIndex(first_line, first_line + len(frame))
                first_line += len(frame)
                frames.append(frame)
    except DatasetError:
        raise
    except sa.exc.SQLAlchemyError as error:
        if is_transient(error):
            raise  # a dropped connection or a lock: Prefect retries the task
        cause = getattr(error, "orig", None) or error
        raise DatasetError(ref, f"query failed: {_one_line(cause)}") from error
    finally:
        engine.dispose()

    frame = (pd.concat(frames, ignore_index=True) if frames
             else pd.DataFrame({n: pd.Series([], dtype="str") for n in names}
                               | {LINE_COLUMN: pd.Series([], dtype="int64")}))
    for column in dataset.column_names:
        if column not in frame.columns:
            frame[column] = pd.Series(pd.NA, index=frame.index, dtype="str")
    frame[FILE_COLUMN] = ref
    if dataset.name == "employees" and frame.empty:
        raise DatasetError(ref, "the employees query returned no rows")
    logger.info("%s: %d rows from %s", dataset.name, len(frame), ref)
    return RawDataset(dataset.name, frame,
                      [SourceFile(dataset.name, ref, digest.hexdigest(), size, len(frame))])
