"""Identifiers that reach a path, a file name or a page: checked before any use.

An agency code is joined into the landing path, the reports' file names, the Data Docs folder
that a check replaces, and HTML pages. Anything but the strict pattern is refused at every entry
point (command line, flow parameters, configuration), so no code can name a folder outside the
configured ones, nor carry markup into a page. Imports nothing heavy: the command line checks its
arguments before it loads Prefect.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from pathlib import Path

from kinerja.period import Period

# domain.md: an agency is identified by its 4-digit BPS region code (3374 Kota Semarang). A
# province's own staff run under its 2-digit province code (33 Jawa Tengah).
AGENCY_CODE_RE = re.compile(r"[0-9]{2}(?:[0-9]{2})?")
# What a source-supplied code (a unit code) may be to stand in a file name as it is.
_SAFE_COMPONENT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_SHOWN = 40
_MARKUP_ESCAPES = str.maketrans({"<": "\\x3c", ">": "\\x3e", "&": "\\x26"})


class InvalidIdentifier(ValueError):
    """A code that must not reach a path; the message shows it escaped and shortened."""


def shown(value: object) -> str:
    """A value as it may appear in a one-line message: escaped (no markup, no control
    character, no line break) and at most 40 characters."""
    text = str(value)
    cut = ascii(text[:_SHOWN]).translate(_MARKUP_ESCAPES)
    return cut + (f" (+{len(text) - _SHOWN} characters)" if len(text) > _SHOWN else "")


def agency_code(value: object) -> str:
    """The agency code, or InvalidIdentifier when it is not 2 or 4 digits (BPS region code)."""
    text = value if isinstance(value, str) else ""
    if not AGENCY_CODE_RE.fullmatch(text):
        raise InvalidIdentifier(
            f"invalid agency code {shown(value)}: expected the 4-digit BPS region code "
            "(e.g. 3374), or 2 digits for a province")
    return text


def agency_codes(values: object) -> list[str]:
    """Several agency codes (an iterable), each checked."""
    return [agency_code(v) for v in values]  # type: ignore[union-attr]


def period_id(value: object) -> str:
    """The canonical period id (`2025-S1`), or InvalidIdentifier."""
    if not isinstance(value, str):
        raise InvalidIdentifier(f"invalid period {shown(value)}: expected YYYY-S1 or YYYY-S2")
    try:
        return Period.parse(value).id
    except ValueError:
        raise InvalidIdentifier(
            f"invalid period {shown(value)}: expected YYYY-S1 or YYYY-S2") from None


def valid_nip(text: str) -> bool:
    """domain.md: 18 digits, a real birth date (YYYYMMDD), a real appointment month (YYYYMM,
    year 1900 or later), gender digit 1 or 2."""
    if len(text) != 18 or not text.isascii() or not text.isdigit() or text[14] not in "12":
        return False
    try:
        date(int(text[0:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return False
    return 1 <= int(text[12:14]) <= 12 and int(text[8:12]) >= 1900


def nip(value: object) -> str:
    """The NIP, or InvalidIdentifier when it is not a valid 18-digit NIP (domain.md)."""
    text = value.strip() if isinstance(value, str) else ""
    if not valid_nip(text):
        raise InvalidIdentifier(
            f"invalid NIP {shown(value)}: expected the 18-digit NIP (birth date, appointment "
            "month, gender 1/2, sequence)")
    return text


def file_component(value: str) -> str:
    """`value` as one file-name component: itself when it is plainly safe (letters, digits,
    `.`, `_`, `-`, not starting with a dot, at most 64 characters), else a readable stem plus a
    hash of the whole, so two different codes never share a file and none leaves its folder."""
    if _SAFE_COMPONENT_RE.fullmatch(value):
        return value
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", value).strip("-")[:40] or "x"
    return f"{stem}-{hashlib.sha256(value.encode('utf-8', 'surrogatepass')).hexdigest()[:12]}"


def inside(root: str | Path, path: str | Path) -> Path:
    """`path` resolved, or InvalidIdentifier when it does not lie strictly below `root`: the
    last guard before writing or deleting."""
    base = Path(root).resolve()
    target = Path(path).resolve()
    if target == base or base not in target.parents:
        raise InvalidIdentifier(f"refusing to touch {target}: it is not inside {base}")
    return target
