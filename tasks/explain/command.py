"""`kinerja explain`, behind the command line: read once, explain, compare, render, write.

The command line (kinerja/cli.py) checks its arguments first and imports this module only then,
so a mistyped NIP does not wait for pandas.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from kinerja import identifiers
from kinerja.config import SqlSource
from tasks.explain.compare import Difference, differences
from tasks.explain.derive import Explainer, ExplainError
from tasks.explain.render import explanation_text, render_slips
from tasks.explain.sources import Publication, load_explainer

FORMATS = ("text", "json", "html")
SUFFIXES = {"text": ".txt", "json": ".json", "html": ".html"}


@dataclass
class Explained:
    """One employee's explanation and what in it differs from the publication."""

    explanation: dict[str, Any]
    differences: list[Difference] = field(default_factory=list)


@dataclass
class ExplainResult:
    publication: Publication
    explained: list[Explained]
    written: list[Path] = field(default_factory=list)
    printed: str | None = None

    @property
    def inconsistent(self) -> list[Explained]:
        return [e for e in self.explained if e.differences]

    def failure(self) -> str | None:
        """The one-line reason to exit 1, or None when every value equals the published one."""
        bad = self.inconsistent
        if not bad:
            return None
        shown = "; ".join(f"{e.explanation['nip']}: " + ", ".join(str(d) for d in e.differences[:5])
                          + (f" (+{len(e.differences) - 5} more)" if len(e.differences) > 5
                             else "")
                          for e in bad[:5])
        more = f"; and {len(bad) - 5} more employee(s)" if len(bad) > 5 else ""
        return (f"recomputed values differ from the published ones of run "
                f"{self.publication.run['run_id']} for {len(bad)} employee(s): {shown}{more}")


def to_json(explanation: Mapping[str, Any]) -> str:
    """interface.md: one object, numbers unrounded, dates ISO, no NaN."""
    return json.dumps(explanation, ensure_ascii=False, indent=2, allow_nan=False) + "\n"


def explain_all(explainer: Explainer, publication: Publication,
                nips: Sequence[str]) -> list[Explained]:
    out = []
    for nip in nips:
        explanation = explainer.explain(nip)
        rows = publication.published_rows(nip, explanation["employee"]["unit_code"])
        out.append(Explained(explanation, differences(explanation, rows)))
    return out


def render(items: Sequence[Explained], fmt: str, explainer: Explainer,
           publication: Publication) -> str:
    if fmt == "json":
        if len(items) != 1:
            raise ValueError("JSON holds one employee per document")
        return to_json(items[0].explanation)
    if fmt == "text":
        return "".join(explanation_text(i.explanation, publication.agency_name, i.differences)
                       for i in items)
    return render_slips([i.explanation for i in items], publication.agency_name,
                        {i.explanation["nip"]: i.differences for i in items},
                        explainer.rules.predikat_matrix,
                        run_finished_at=publication.run.get("finished_at"))


def _write(path: Path, content: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Whole or not at all: a slip half written must not be printed.
    partial = path.with_name(path.name + ".partial")
    partial.write_text(content, encoding="utf-8")
    partial.replace(path)
    return path


def run_explain(engine: Engine, agency_code: str, period_id: str, *, landing_root: Path,
                nip: str | None = None, unit: str | None = None, fmt: str = "text",
                out: Path | None = None, sql_sources: Mapping[str, SqlSource] | None = None,
                policy_candidates: Sequence[str | None] = ()) -> ExplainResult:
    """Explain one employee (`nip`; printed, or written to `out`) or every employee of a unit
    (`unit`; one file per employee in the folder `out`, plus all of the unit's slips in one
    printable file for the html format)."""
    if fmt not in FORMATS:
        raise ValueError(f"--format must be one of {', '.join(FORMATS)}")
    if (nip is None) == (unit is None):
        raise ValueError("give exactly one of --nip and --unit")
    explainer, publication = load_explainer(engine, agency_code, period_id, landing_root,
                                            sql_sources, policy_candidates)
    if nip is not None:
        published_nips = set(publication.facts["fact_appraisal"]["nip"].astype(str))
        if nip not in published_nips:
            raise ExplainError(f"NIP {nip} has no published appraisal in {agency_code} "
                               f"{publication.period.id} (run {publication.run['run_id']})")
        items = explain_all(explainer, publication, [nip])
        result = ExplainResult(publication, items)
        content = render(items, fmt, explainer, publication)
        if out is None:
            result.printed = content
        else:
            result.written.append(_write(out, content))
        return result

    assert unit is not None and out is not None
    appraisal = publication.facts["fact_appraisal"]
    nips = sorted(appraisal.loc[appraisal["unit_code"].astype(str) == unit, "nip"].astype(str))
    if not nips:
        units = sorted(set(appraisal["unit_code"].astype(str)))
        raise ExplainError(f"unit {identifiers.shown(unit)} has no employee in the publication "
                           f"of {agency_code} {publication.period.id} (units: "
                           f"{', '.join(units[:10])}{' ...' if len(units) > 10 else ''})")
    items = explain_all(explainer, publication, nips)
    result = ExplainResult(publication, items)
    for item in items:
        name = identifiers.file_component(item.explanation["nip"]) + SUFFIXES[fmt]
        result.written.append(_write(out / name, render([item], fmt, explainer, publication)))
    if fmt == "html":
        name = f"slip_{identifiers.file_component(unit)}.html"
        result.written.append(_write(out / name, render(items, fmt, explainer, publication)))
    return result
