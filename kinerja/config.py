"""Settings: environment variables first, then `kinerja.toml` / `kinerja.yaml` (the file named by
`KINERJA_CONFIG`, else the one in the working directory), then the defaults of interface.md.

The file also configures agencies: their names, landing roots, policies and SQL sources::

    [agencies.3374]
    name = "Kota Semarang"
    landing = "/data/landing"              # optional, else the global landing
    policy = "permenpanrb-6-2022"          # optional, else the global policy
    [agencies.3374.sources]                # optional; datasets not listed come from files
    skp = { url = "mysql+pymysql://kinerja:${EKINERJA_PW}@db/ekinerja",
            query = "ekinerja_mariadb/skp.sql" }
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kinerja.identifiers import InvalidIdentifier, agency_code
from kinerja.redact import redact_url

CONFIG_FILES = ("kinerja.toml", "kinerja.yaml", "kinerja.yml")
CONFIG_ENV = "KINERJA_CONFIG"
# The datasets of sources.md that a SQL source can replace (schemas.sources.DATASETS; repeated
# here so that reading settings does not import pandas and pandera).
SOURCE_DATASETS = ("units", "employees", "calendar", "attendance", "skp", "ratings", "unit_iku",
                   "budget")
DEFAULT_CHUNK_ROWS = 50_000
# Attendance is read, validated and scored in partitions of about this many rows (issue 8):
# peak memory follows it, not the agency's size (docs/decisions.md, "Issue 8").
DEFAULT_ATTENDANCE_PARTITION_ROWS = 1_000_000
# From this many employees an agency's run splits its heaviest steps over a second process
# (tasks/second_process.py): below it, starting the process costs more than it saves.
DEFAULT_PARALLEL_FROM_EMPLOYEES = 40_000
# A second run of one agency-period waits this long for the first before it fails (6 hours: a
# province's run; a crashed run releases its lock at once, so waiting never outlives a run).
DEFAULT_RUN_LOCK_WAIT_S = 6 * 3600.0
DEFAULT_WORK = ".kinerja/work"
# sqlite:///relative.db, sqlite:////absolute.db, sqlite+pysqlite:///x.db?timeout=5
_SQLITE_FILE_URL = re.compile(r"^sqlite(?:\+\w+)?:///([^?]*)")
# A failed run's work folder is kept for diagnosis this long, then the next run removes it.
DEFAULT_WORK_RETENTION_DAYS = 14.0
_AGENCY_KEYS = ("name", "landing", "policy", "sources")
# Where the agencies of a multi-agency run execute (flows/agencies.py): this process, one after
# the other, or a Dask cluster through prefect-dask's DaskTaskRunner.
EXECUTORS = ("local", "dask")
MIB = 1 << 20
_SOURCE_KEYS = ("url", "query", "chunk_rows")


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class SqlSource:
    """One dataset read from a database: a SQLAlchemy URL and a query file under `sql/sources/`.

    The URL may hold `${VAR}` references, expanded from the environment only when connecting, so
    a password need not be written into the configuration file. It is never shown in full.
    """

    dataset: str
    url: str = field(repr=False)
    query: str
    chunk_rows: int = DEFAULT_CHUNK_ROWS

    def __repr__(self) -> str:
        return (f"SqlSource(dataset={self.dataset!r}, url={self.redacted_url!r}, "
                f"query={self.query!r})")

    @property
    def redacted_url(self) -> str:
        return redact_url(self.url)


@dataclass(frozen=True)
class InputLimits:
    """Bounds on what one run reads, so that a hostile or broken export fails with a clear
    message instead of exhausting the machine (README, "Configuration"; docs/decisions.md)."""

    max_file_bytes: int = 1024 * MIB  # any landing-zone file; a SQL source's rows as text
    max_xlsx_uncompressed_bytes: int = 100 * MIB  # checked in the zip before openpyxl opens it
    max_xlsx_rows: int = 200_000  # data rows of budget.xlsx's first sheet
    max_field_chars: int = 4096  # a longer value quarantines its row
    max_decimal: float = 1e15  # a decimal above it (or non-zero below 1/max_decimal) too


# [limits] key -> (environment variable, InputLimits field, bytes per unit or None for a count)
_LIMIT_KEYS: dict[str, tuple[str, str, int | None]] = {
    "max_file_mb": ("KINERJA_MAX_FILE_MB", "max_file_bytes", MIB),
    "max_xlsx_uncompressed_mb": ("KINERJA_MAX_XLSX_UNCOMPRESSED_MB",
                                 "max_xlsx_uncompressed_bytes", MIB),
    "max_xlsx_rows": ("KINERJA_MAX_XLSX_ROWS", "max_xlsx_rows", 1),
    "max_field_chars": ("KINERJA_MAX_FIELD_CHARS", "max_field_chars", 1),
    "max_decimal": ("KINERJA_MAX_DECIMAL", "max_decimal", None),
}


@dataclass(frozen=True)
class AgencyConfig:
    code: str
    name: str | None = None
    landing: Path | None = None
    policy: str | None = None
    sources: Mapping[str, SqlSource] = field(default_factory=dict)


@dataclass(frozen=True)
class Settings:
    landing: Path = Path("landing")
    warehouse_url: str = "sqlite:///warehouse.db"
    reports: Path = Path("reports")
    work: Path = Path(".kinerja/work")
    policy: str = "permenpanrb-6-2022"
    max_quarantine_share: float = 0.20
    agencies: Mapping[str, AgencyConfig] = field(default_factory=dict)
    run_lock_wait_seconds: float = DEFAULT_RUN_LOCK_WAIT_S
    limits: InputLimits = field(default_factory=InputLimits)
    work_retention_days: float = DEFAULT_WORK_RETENTION_DAYS
    attendance_partition_rows: int = DEFAULT_ATTENDANCE_PARTITION_ROWS
    parallel_from_employees: int = DEFAULT_PARALLEL_FROM_EMPLOYEES
    executor: str = "local"
    # A running Dask scheduler (tcp://host:8786); None: a LocalCluster sized to the machine.
    dask_address: str | None = None

    @property
    def agency_names(self) -> dict[str, str]:
        return {code: a.name for code, a in self.agencies.items() if a.name}

    def agency(self, agency_code: str) -> AgencyConfig:
        """The agency's configuration; an agency not configured gets every default."""
        return self.agencies.get(agency_code) or AgencyConfig(agency_code)

    def agency_name(self, agency_code: str) -> str:
        # warehouse.md: the configured name, or the code itself when none is configured.
        return self.agency(agency_code).name or agency_code

    def agency_landing(self, agency_code: str) -> Path:
        return self.agency(agency_code).landing or self.landing

    def agency_policy(self, agency_code: str) -> str:
        return self.agency(agency_code).policy or self.policy


def config_path(directory: Path | None = None) -> Path | None:
    """The configuration file in use: `KINERJA_CONFIG`, else the first of CONFIG_FILES in
    `directory` (default: the working directory), else None."""
    named = os.environ.get(CONFIG_ENV)
    if named:
        path = Path(named)
        if not path.is_file():
            raise ConfigError(f"{CONFIG_ENV}={named}: no such configuration file")
        return path
    for name in CONFIG_FILES:
        path = (directory or Path.cwd()) / name
        if path.is_file():
            return path
    return None


def _read_config_file(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, yaml.YAMLError) as error:
        raise ConfigError(f"{path}: cannot read the configuration: {error}") from error
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the configuration must be a table of settings")
    return data


def _parse_source(where: str, dataset: str, spec: Any) -> SqlSource:
    if dataset not in SOURCE_DATASETS:
        # A misspelt dataset would silently fall back to the landing zone.
        raise ConfigError(f"{where}: unknown dataset {dataset!r}; one of "
                          f"{', '.join(SOURCE_DATASETS)}")
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}.{dataset}: expected a table with url and query")
    unknown = sorted(set(spec) - set(_SOURCE_KEYS))
    missing = [k for k in ("url", "query") if not spec.get(k)]
    if unknown or missing:
        raise ConfigError(f"{where}.{dataset}: " + "; ".join(
            ([f"unknown key(s) {', '.join(unknown)}"] if unknown else [])
            + ([f"missing {', '.join(missing)}"] if missing else [])))
    chunk_rows = int(spec.get("chunk_rows", DEFAULT_CHUNK_ROWS))
    if chunk_rows < 1:
        raise ConfigError(f"{where}.{dataset}: chunk_rows must be at least 1")
    return SqlSource(dataset, str(spec["url"]), str(spec["query"]), chunk_rows)


def _parse_agencies(path: Path | None, raw: Any, base: Path) -> dict[str, AgencyConfig]:
    if not raw:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: agencies must be a table of [agencies.<code>]")
    agencies: dict[str, AgencyConfig] = {}
    for key, spec in raw.items():
        try:
            code = agency_code(str(key))
        except InvalidIdentifier as error:
            raise ConfigError(f"{path}: agencies: {error}") from None
        where = f"{path}: agencies.{code}"
        spec = spec or {}
        if not isinstance(spec, dict):
            raise ConfigError(f"{where}: expected a table")
        unknown = sorted(set(spec) - set(_AGENCY_KEYS))
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: "
                              f"{', '.join(_AGENCY_KEYS)}")
        sources = spec.get("sources") or {}
        if not isinstance(sources, dict):
            raise ConfigError(f"{where}.sources: expected a table of datasets")
        agencies[code] = AgencyConfig(
            code=code,
            name=str(spec["name"]) if spec.get("name") else None,
            landing=base / str(spec["landing"]) if spec.get("landing") else None,
            policy=str(spec["policy"]) if spec.get("policy") else None,
            sources={d: _parse_source(f"{where}.sources", d, s) for d, s in sources.items()},
        )
    return agencies


def load_settings(directory: Path | None = None) -> Settings:
    path = config_path(directory)
    file = _read_config_file(path)
    # Relative paths in a file are relative to that file (the working directory for the usual
    # ./kinerja.toml), so a deployment can point KINERJA_CONFIG anywhere.
    base = path.parent if path is not None else Path()

    def pick(env: str, key: str, default: Any) -> Any:
        return os.environ.get(env) or file.get(key) or default

    def pick_path(env: str, key: str, default: str) -> Path:
        if os.environ.get(env):
            return Path(os.environ[env])
        return base / str(file[key]) if file.get(key) else Path(default)

    warehouse_url = str(pick("KINERJA_WAREHOUSE_URL", "warehouse_url", "sqlite:///warehouse.db"))
    return Settings(
        landing=pick_path("KINERJA_LANDING", "landing", "landing"),
        warehouse_url=warehouse_url,
        reports=pick_path("KINERJA_REPORTS", "reports", "reports"),
        work=pick_path("KINERJA_WORK", "work", str(default_work(warehouse_url))),
        policy=str(pick("KINERJA_POLICY", "policy", "permenpanrb-6-2022")),
        max_quarantine_share=float(file.get("max_quarantine_share", 0.20)),
        agencies=_parse_agencies(path, file.get("agencies"), base),
        run_lock_wait_seconds=_run_lock_wait(file),
        limits=_input_limits(path, file.get("limits")),
        work_retention_days=_work_retention(file),
        attendance_partition_rows=_partition_rows(path, file),
        parallel_from_employees=_whole_number(
            path, file, "KINERJA_PARALLEL_FROM_EMPLOYEES", "parallel_from_employees",
            DEFAULT_PARALLEL_FROM_EMPLOYEES, minimum=0),
        executor=_executor(path, pick("KINERJA_EXECUTOR", "executor", "local")),
        dask_address=str(pick("KINERJA_DASK_ADDRESS", "dask_address", "")) or None,
    )


def default_work(warehouse_url: str) -> Path:
    """Where runs stage their files when `work` is not configured: beside a SQLite warehouse
    file (a run's files stay with its warehouse, wherever the command is started), else in the
    working directory."""
    # Parsed by hand: settings are read by every command, even for its --help, which must not
    # wait for SQLAlchemy's import.
    found = _SQLITE_FILE_URL.match(warehouse_url)
    database = found.group(1) if found else ""
    if database and database != ":memory:" and not database.startswith("file:"):
        return Path(database).parent / DEFAULT_WORK
    return Path(DEFAULT_WORK)


def _work_retention(file: Mapping[str, Any]) -> float:
    return _non_negative(file, "KINERJA_WORK_RETENTION_DAYS", "work_retention_days",
                         DEFAULT_WORK_RETENTION_DAYS)


def _partition_rows(path: Path | None, file: Mapping[str, Any]) -> int:
    return _whole_number(path, file, "KINERJA_ATTENDANCE_PARTITION_ROWS",
                         "attendance_partition_rows", DEFAULT_ATTENDANCE_PARTITION_ROWS, minimum=1)


def _whole_number(path: Path | None, file: Mapping[str, Any], env: str, key: str, default: int,
                  *, minimum: int) -> int:
    value = os.environ.get(env) or file.get(key)
    if value in (None, ""):
        return default
    where = env if os.environ.get(env) else f"{path}: {key}"
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where} must be a whole number, not {value!r}") from None
    if number < minimum:
        raise ConfigError(f"{where} must be at least {minimum}")
    return number


def _executor(path: Path | None, value: Any) -> str:
    executor = str(value).strip().lower()
    if executor not in EXECUTORS:
        where = "KINERJA_EXECUTOR" if os.environ.get("KINERJA_EXECUTOR") else f"{path}: executor"
        raise ConfigError(f"{where} must be one of {', '.join(EXECUTORS)}, not {value!r}")
    return executor


def _run_lock_wait(file: Mapping[str, Any]) -> float:
    return _non_negative(file, "KINERJA_RUN_LOCK_WAIT", "run_lock_wait_seconds",
                         DEFAULT_RUN_LOCK_WAIT_S)


def _non_negative(file: Mapping[str, Any], env: str, key: str, default: float) -> float:
    # 0 is meaningful (fail at once instead of waiting; remove at once), hence no `or default`.
    value = os.environ.get(env) or file.get(key)
    number = default if value in (None, "") else float(value)
    if number < 0:
        raise ConfigError(f"{key} must not be negative")
    return number


def _input_limits(path: Path | None, raw: Any) -> InputLimits:
    """`[limits]` of the file, each overridden by its environment variable."""
    raw = raw or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: limits must be a table of [limits]")
    unknown = sorted(set(raw) - set(_LIMIT_KEYS))
    if unknown:
        raise ConfigError(f"{path}: limits: unknown key(s) {', '.join(unknown)}; allowed: "
                          f"{', '.join(_LIMIT_KEYS)}")
    values: dict[str, Any] = {}
    for key, (env, attribute, unit) in _LIMIT_KEYS.items():
        value = os.environ.get(env) or raw.get(key)
        if value in (None, ""):
            continue
        where = env if os.environ.get(env) else f"{path}: limits.{key}"
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where} must be a number, not {value!r}") from None
        if not 0 < number < float("inf"):
            raise ConfigError(f"{where} must be a positive number")
        values[attribute] = number if unit is None else max(1, int(number * unit))
    return InputLimits(**values)
