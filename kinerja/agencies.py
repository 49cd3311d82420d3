"""Which agencies an `--agency` value names: `3374`, `3374,3322` or `all` (issue 13).

Kept free of Prefect and pandas: the command line resolves the agencies before Prefect starts.
"""

from __future__ import annotations

from pathlib import Path

from kinerja import identifiers
from kinerja.config import Settings
from kinerja.identifiers import AGENCY_CODE_RE

ALL = "all"


def several(value: str) -> bool:
    """Whether an --agency value names several agencies (`A,B` or `all`)."""
    return "," in value or value.strip().lower() == ALL


def landing_agencies(landing: Path) -> list[str]:
    """The agency folders of a landing zone (names that are agency codes), sorted."""
    if not landing.is_dir():
        return []
    return sorted(p.name for p in landing.iterdir()
                  if p.is_dir() and AGENCY_CODE_RE.fullmatch(p.name))


def resolve_agencies(value: str, settings: Settings, landing: Path | None = None) -> list[str]:
    """The agency codes an --agency value names: a comma-separated list (each checked,
    duplicates dropped, order kept), or `all`: every agency configured in kinerja.toml, or every
    agency folder of the landing zone (`landing`, else the configured one) when none is."""
    if value.strip().lower() == ALL:
        root = landing or settings.landing
        codes = sorted(settings.agencies) or landing_agencies(root)
        if not codes:
            raise ValueError("--agency all: no agency configured in kinerja.toml "
                             f"([agencies.<code>]) and no agency folder in the landing zone {root}")
        return codes
    codes = identifiers.agency_codes(v.strip() for v in value.split(",") if v.strip())
    if not codes:
        raise ValueError("--agency: no agency code given")
    return list(dict.fromkeys(codes))
