"""Vectorised parsers for landed text: NIPs, dates, times, timestamps, decimals and rating labels.

Source columns repeat few distinct values (180 dates and a few thousand times over millions of
attendance rows), so every parser works on the unique values and maps the result back: the cost
follows the number of distinct values, not of rows.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from kinerja.identifiers import valid_nip as _nip_valid_one

RATING_LABELS = ("DIATAS_EKSPEKTASI", "SESUAI_EKSPEKTASI", "DIBAWAH_EKSPEKTASI")
_RATING_BY_SQUEEZED = {label.replace("_", ""): label for label in RATING_LABELS}
_SQUEEZE_RE = re.compile(r"[\s_\-]+")
_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$")
# Control characters (C0 but tab, CR and LF; DEL; C1): never part of a value (issue 10).
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Line breaks, including the Unicode line and paragraph separators that many tools break on.
_LINE_BREAK_RE = re.compile("[\n\r\u2028\u2029]")
# How `printable` writes a control character or line break: Python's escapes.
_ESCAPES = {code: f"\\x{code:02x}" for code in (*range(0x20), *range(0x7F, 0xA0))} | {
    0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r", 0x2028: "\\u2028", 0x2029: "\\u2029"}


def map_unique(series: pd.Series, parse: Callable[[pd.Series], object],
               missing: object = np.nan) -> pd.Series:
    """Apply `parse` to the distinct non-null values of `series` and spread the result back;
    null inputs get `missing`."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    parsed = np.asarray(parse(pd.Series(uniques, dtype=object)))
    # factorize marks nulls with -1, which picks the appended `missing` value.
    parsed = np.append(parsed, np.asarray([missing], dtype=parsed.dtype))
    return pd.Series(parsed[codes], index=series.index)


def printable(text: str, limit: int | None = None) -> str:
    """`text` as one line of printable text: control characters and line breaks escaped
    (`\\x00`, `\\n`), undecodable file-name bytes too, and cut after `limit` characters.
    For messages and quarantine reasons, which must neither break a line nor carry a NUL into a
    database or a workbook."""
    if limit is not None and len(text) > limit:
        text = text[:limit] + "…"
    text = text.translate(_ESCAPES)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: a file name that is not UTF-8
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _plain_ascii(values: pd.Series) -> np.ndarray | None:
    """True where a text value is printable ASCII only (bytes 0x20-0x7E), by one pass over the
    values' bytes; None when the values are not all text."""
    try:
        array = pa.array(values, type=pa.large_string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if array.null_count or len(array) == 0:
        return None
    _, offsets_buffer, data_buffer = array.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[array.offset:
                                                             array.offset + len(array) + 1]
    data = (np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None
            else np.zeros(0, dtype=np.uint8))
    other = np.concatenate([[0], np.cumsum((data < 0x20) | (data > 0x7E), dtype=np.int64)])
    return other[offsets[1:]] == other[offsets[:-1]]


def _search_each(uniques: pd.Series, pattern: re.Pattern[str]) -> np.ndarray:
    """Whether `pattern` occurs in each value. The patterns searched for here (control
    characters, line breaks) never occur in printable ASCII, the text of nearly every value:
    only the others are searched, in Python."""
    found = np.zeros(len(uniques), dtype=bool)
    plain = _plain_ascii(uniques)
    candidates = range(len(uniques)) if plain is None else np.flatnonzero(~plain)
    values = uniques.to_numpy(dtype=object)
    for i in candidates:
        found[i] = pattern.search(str(values[i])) is not None
    return found


def _flags(series: pd.Series, pattern: re.Pattern[str]) -> pd.Series:
    return map_unique(series, lambda u: _search_each(u, pattern), missing=False).astype(bool)


def has_control_character(series: pd.Series) -> pd.Series:
    """True where a value holds a control character other than tab, CR and LF."""
    return _flags(series, _CONTROL_RE)


def has_line_break(series: pd.Series) -> pd.Series:
    """True where a value holds a line break (CR, LF, or a Unicode line/paragraph separator)."""
    return _flags(series, _LINE_BREAK_RE)


# Cached: every attendance chunk names most of the agency's employees again.
_nip_valid_cached = functools.lru_cache(maxsize=1 << 18)(_nip_valid_one)


def nip_is_valid(series: pd.Series) -> pd.Series:
    """True for an 18-digit NIP with a real birth date, a real appointment month and gender 1/2."""
    return map_unique(
        series, lambda u: np.array([_nip_valid_cached(str(v)) for v in u], dtype=bool),
        missing=False,
    )


def parse_date(series: pd.Series) -> pd.Series:
    """ISO `YYYY-MM-DD` to datetime64; anything else NaT."""

    def parse(uniques: pd.Series) -> pd.Series:
        text = uniques
        shaped = text.map(lambda v: bool(_DATE_RE.match(str(v))))
        out = pd.to_datetime(text.where(shaped), format="%Y-%m-%d", errors="coerce")
        return out.astype("datetime64[ns]")

    return map_unique(series, parse, missing=np.datetime64("NaT", "ns")).astype("datetime64[ns]")


def parse_timestamp(series: pd.Series) -> pd.Series:
    """ISO `YYYY-MM-DD HH:MM[:SS]` to datetime64; anything else NaT."""

    def parse(uniques: pd.Series) -> pd.Series:
        text = uniques
        shaped = text.map(lambda v: bool(_TIMESTAMP_RE.match(str(v))))
        out = pd.to_datetime(text.where(shaped), format="ISO8601", errors="coerce")
        return out.astype("datetime64[ns]")

    return map_unique(series, parse, missing=np.datetime64("NaT", "ns")).astype("datetime64[ns]")


def text_values(values: pd.Series) -> pa.Array | pa.ChunkedArray:
    """The values as Arrow large strings (nulls kept), without Python objects when the series
    is Arrow-backed already."""
    array = pa.array(values, from_pandas=True)
    if pa.types.is_dictionary(array.type):
        array = array.cast(array.type.value_type)
    return array.cast(pa.large_string())


def is_member(series: pd.Series, value_set: pa.Array) -> pd.Series:
    """True where the value is in `value_set` (large strings, as `text_values` makes them)."""
    found = pc.is_in(text_values(series), value_set=value_set).fill_null(False)
    return pd.Series(found.to_numpy(zero_copy_only=False), index=series.index, dtype=bool)


# Cached: an attendance partition repeats most of the day's clock times of the others.
@functools.lru_cache(maxsize=1 << 17)
def _time_seconds_one(value: str) -> float:
    match = _TIME_RE.match(value)
    if not match:
        return np.nan
    hours, minutes, seconds = int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)
    if hours > 23 or minutes > 59 or seconds > 59:
        return np.nan
    return float(hours * 3600 + minutes * 60 + seconds)


def forget_cached_values() -> None:
    """Empty the caches of parsed values (NIP validity, clock times). They are bounded, but an
    agency's values are not the next one's: a Dask worker runs agency after agency, and without
    this its memory grew by about 2 MB an agency until the caches were full (about 50 MB)."""
    _nip_valid_cached.cache_clear()
    _time_seconds_one.cache_clear()


def parse_time(series: pd.Series) -> pd.Series:
    """`HH:MM` or `HH:MM:SS` to float seconds after midnight; anything else NaN."""
    return map_unique(
        series, lambda u: np.array([_time_seconds_one(str(v)) for v in u], dtype=float)
    ).astype(float)


def parse_decimal(series: pd.Series) -> pd.Series:
    """Dot-decimal text to float; text that is no finite number gives NaN."""

    def parse(uniques: pd.Series) -> np.ndarray:
        out = pd.to_numeric(uniques, errors="coerce").astype(float).to_numpy(copy=True)
        out[~np.isfinite(out)] = np.nan
        return out

    return map_unique(series, parse).astype(float)


def canonical_rating(series: pd.Series) -> pd.Series:
    """Rating labels in any case and spacing to their canonical form; unknown text kept as is,
    so that validation can name it."""

    def parse(uniques: pd.Series) -> np.ndarray:
        return np.array(
            [_RATING_BY_SQUEEZED.get(_SQUEEZE_RE.sub("", str(v)).upper(), v) for v in uniques],
            dtype=object,
        )

    return map_unique(series, parse, missing=None).astype(series.dtype)
