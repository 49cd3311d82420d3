"""The appraisal policy: every number and table of scoring.md, as data (a versioned YAML file)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

POLICY_DIR = Path(__file__).parent / "policies"
DEFAULT_POLICY = "permenpanrb-6-2022"


@dataclass(frozen=True)
class Policy:
    name: str
    hash: str  # SHA-256 of the file's bytes, recorded on every run
    rules: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.rules[key]


def resolve_policy_path(name_or_path: str | Path = DEFAULT_POLICY) -> Path:
    """A shipped policy by name, or a YAML file by path."""
    candidate = Path(name_or_path)
    if candidate.suffix in {".yaml", ".yml"} or candidate.exists():
        if not candidate.is_file():
            raise FileNotFoundError(f"policy file not found: {candidate}")
        return candidate
    shipped = POLICY_DIR / f"{name_or_path}.yaml"
    if not shipped.is_file():
        known = ", ".join(sorted(p.stem for p in POLICY_DIR.glob("*.yaml")))
        raise FileNotFoundError(f"unknown policy {name_or_path!r} (shipped: {known})")
    return shipped


def load_policy(name_or_path: str | Path = DEFAULT_POLICY) -> Policy:
    path = resolve_policy_path(name_or_path)
    raw = path.read_bytes()
    rules = yaml.safe_load(raw)
    if not isinstance(rules, dict) or "name" not in rules:
        raise ValueError(f"policy file {path} has no 'name'")
    return Policy(name=str(rules["name"]), hash=hashlib.sha256(raw).hexdigest(), rules=rules)
