"""Settings: environment variables first, then `kinerja.toml` / `kinerja.yaml` in the working
directory, then the defaults of interface.md."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CONFIG_FILES = ("kinerja.toml", "kinerja.yaml", "kinerja.yml")


@dataclass(frozen=True)
class Settings:
    landing: Path = Path("landing")
    warehouse_url: str = "sqlite:///warehouse.db"
    reports: Path = Path("reports")
    work: Path = Path(".kinerja/work")
    policy: str = "permenpanrb-6-2022"
    max_quarantine_share: float = 0.20
    agency_names: dict[str, str] = field(default_factory=dict)

    def agency_name(self, agency_code: str) -> str:
        # warehouse.md: the configured name, or the code itself when none is configured.
        return self.agency_names.get(agency_code, agency_code)


def _read_config_file(directory: Path) -> dict[str, Any]:
    for name in CONFIG_FILES:
        path = directory / name
        if path.is_file():
            if path.suffix == ".toml":
                return tomllib.loads(path.read_text(encoding="utf-8"))
            return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {}


def load_settings(directory: Path | None = None) -> Settings:
    file = _read_config_file(directory or Path.cwd())
    agencies = file.get("agencies", {}) or {}
    names = {str(code): str(spec.get("name", code)) for code, spec in agencies.items()
             if isinstance(spec, dict)}

    def pick(env: str, key: str, default: Any) -> Any:
        return os.environ.get(env) or file.get(key) or default

    return Settings(
        landing=Path(pick("KINERJA_LANDING", "landing", "landing")),
        warehouse_url=str(pick("KINERJA_WAREHOUSE_URL", "warehouse_url", "sqlite:///warehouse.db")),
        reports=Path(pick("KINERJA_REPORTS", "reports", "reports")),
        work=Path(pick("KINERJA_WORK", "work", ".kinerja/work")),
        policy=str(pick("KINERJA_POLICY", "policy", "permenpanrb-6-2022")),
        max_quarantine_share=float(file.get("max_quarantine_share", 0.20)),
        agency_names=names,
    )
