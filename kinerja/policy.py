"""The appraisal policy: every number and table of scoring.md, as data (a versioned YAML file).

A run loads its policy once (`load_policy`) and hands the `Policy` on; its rules are parsed once
into the typed rule objects (`Policy.scoring`, tasks/score/rules.py), and the code sets the
schemas, the quality suite and the reports check against derive from those (`Policy.codes`).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from tasks.score.rules import PolicyCodes, ScoringRules

POLICY_DIR = Path(__file__).parent / "policies"
DEFAULT_POLICY = "permenpanrb-6-2022"


@dataclass(frozen=True)
class Policy:
    name: str
    hash: str  # SHA-256 of the file's bytes, recorded on every run
    rules: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.rules[key]

    @functools.cached_property
    def scoring(self) -> ScoringRules:
        """The rules as typed, checked objects, parsed on first use and kept (PolicyError when
        the file does not hold what scoring needs)."""
        # Imported here: the CLI loads a policy to fail fast without importing scoring's pandas.
        from tasks.score.rules import ScoringRules

        return ScoringRules.from_policy(self.rules)

    @property
    def codes(self) -> PolicyCodes:
        """The code sets and score bounds the published tables may hold under this policy."""
        return self.scoring.codes


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


@functools.lru_cache(maxsize=1)
def default_policy() -> Policy:
    """The shipped default policy, loaded once per process (the code sets of the schemas and the
    reports' code orders when no run's policy is at hand)."""
    return load_policy(DEFAULT_POLICY)


def codes_of(policy: Any = None) -> PolicyCodes:
    """The code sets of `policy`: a `Policy`, its rules mapping, parsed rules or the codes
    themselves; the shipped default policy's when None."""
    from tasks.score.rules import PolicyCodes, ScoringRules

    if policy is None:
        return default_policy().codes
    if isinstance(policy, PolicyCodes):
        return policy
    return ScoringRules.from_policy(policy).codes
