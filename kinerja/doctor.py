"""`kinerja doctor`: is everything a run needs there and answering? Each check says OK with what
it found, or the one-line reason; nothing is written anywhere (no migration is applied, no run
recorded), and every connection has a short timeout, so the whole check takes seconds."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from kinerja.config import ConfigError, Settings, config_path, load_settings
from kinerja.identifiers import AGENCY_CODE_RE
from kinerja.preflight import CONNECT_TIMEOUT_S, PreflightError, check_policy, check_warehouse
from kinerja.redact import mask_secrets, redact_url

PREFECT_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class Finding:
    check: str
    ok: bool
    detail: str


def _guarded(check: str, probe: Callable[[], str]) -> Finding:
    try:
        return Finding(check, True, probe())
    except Exception as error:  # every failure is a finding, never a traceback
        return Finding(check, False, mask_secrets(" ".join(str(error).split()))
                       or type(error).__name__)


def _configuration() -> str:
    path = config_path()
    return f"{path}" if path else "no kinerja.toml: defaults and environment variables"


def _landing(root: Path) -> str:
    if not root.is_dir():
        raise FileNotFoundError(f"{root} does not exist")
    found = []
    for agency in sorted(p for p in root.iterdir()
                         if p.is_dir() and AGENCY_CODE_RE.fullmatch(p.name)):
        periods = sorted(p.name for p in agency.iterdir() if p.is_dir())
        found.append(f"{agency.name} ({', '.join(periods) or 'no period'})")
    return f"{root}: " + ("; ".join(found) if found else "no agency folder")


def _migrations(url: str) -> str:
    import sqlalchemy as sa

    from tasks.warehouse.database import make_engine, migrations

    check_warehouse(url)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("schema_migrations"):
                applied: set[str] = set()
            else:
                applied = {v for (v,) in conn.execute(
                    sa.text("SELECT version FROM schema_migrations"))}
    finally:
        engine.dispose()
    known = [m.version for m in migrations()]
    pending = [v for v in known if v not in applied]
    state = (f"all {len(known)} migrations applied" if not pending else
             f"{len(pending)} migration(s) pending ({', '.join(pending)}): the next run applies "
             "them")
    return f"{redact_url(url)} answers; {state}"


def _prefect() -> str:
    import httpx

    api = os.environ.get("PREFECT_API_URL") or _profile_api_url()
    if not api:
        return "no PREFECT_API_URL: each run starts a temporary Prefect server"
    response = httpx.get(api.rstrip("/") + "/health", timeout=PREFECT_TIMEOUT_S)
    response.raise_for_status()
    return f"{api} answers"


def _profile_api_url() -> str | None:
    """PREFECT_API_URL of the active Prefect profile: read from its file, because importing
    Prefect to ask would take seconds of the doctor's time."""
    import tomllib

    home = Path(os.environ.get("PREFECT_HOME", Path.home() / ".prefect"))
    path = Path(os.environ.get("PREFECT_PROFILES_PATH", home / "profiles.toml"))
    try:
        profiles = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return None
    active = os.environ.get("PREFECT_PROFILE") or profiles.get("active", "ephemeral")
    value = profiles.get("profiles", {}).get(active, {}).get("PREFECT_API_URL")
    return str(value) if value else None


def _source(url: str, query: str) -> str:
    import sqlalchemy as sa

    from tasks.sources.sql_source import expand_url, query_path

    path = query_path(query)
    if not path.is_file():
        raise FileNotFoundError(f"query file {path} not found")
    expanded = sa.make_url(expand_url(url, query))
    if "connect_timeout" not in expanded.query:
        expanded = expanded.update_query_dict({"connect_timeout": str(CONNECT_TIMEOUT_S)})
    engine = sa.create_engine(expanded, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    finally:
        engine.dispose()
    return f"{redact_url(url)} answers; query {path.name}"


def _checks(settings: Settings) -> Iterator[tuple[str, Callable[[], str]]]:
    yield "landing zone", lambda: _landing(settings.landing)
    for code, agency in sorted(settings.agencies.items()):
        if agency.landing is not None:
            yield f"landing zone of {code}", lambda root=agency.landing: _landing(root)
    yield "warehouse", lambda: _migrations(settings.warehouse_url)
    policies = sorted({settings.policy, *(a.policy for a in settings.agencies.values()
                                          if a.policy)})
    for policy in policies:
        yield f"policy {policy}", lambda ref=policy: (check_policy(ref), "loads")[1]
    yield "Prefect API", _prefect
    for code, agency in sorted(settings.agencies.items()):
        for dataset, source in sorted(agency.sources.items()):
            yield (f"source {code}.{dataset}",
                   lambda s=source: _source(s.url, s.query))


def diagnose() -> list[Finding]:
    """Every check, in order; the configuration first (without it nothing else can be read)."""
    config = _guarded("configuration", _configuration)
    if not config.ok:
        return [config]
    try:
        settings = load_settings()
    except ConfigError as error:
        return [Finding("configuration", False, str(error))]
    return [config, *(_guarded(name, probe) for name, probe in _checks(settings))]


__all__ = ["Finding", "PreflightError", "diagnose"]
