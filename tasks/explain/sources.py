"""The I/O of `kinerja explain`: the publication from the warehouse, its sources re-read.

The source files of the publishing run are read again with the run's own extract and validate
code (`extract.py`, `sql_source.py`, `validate.py` of `tasks/sources/`), in the run's order
and context, so every accepted row keeps the `<path>:<line>` that the quarantine would have
given it.
Before anything is parsed, every file's SHA-256 is compared with `source_file`: a file that
changed, disappeared or appeared since the run makes the explanation refuse, naming it, because
what it would explain is not what was published (a backfill must run first). SQL sources are
queried again and compared by the same fingerprint the run recorded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from kinerja.config import SqlSource
from kinerja.period import Period
from kinerja.policy import Policy, load_policy
from schemas.sources import VALIDATION_ORDER, ValidationContext
from tasks.explain.calibration import Calibration, rater_calibration
from tasks.explain.derive import Evidence, Explainer, Lineage
from tasks.reporting.report import publishing_run, snapshot
from tasks.score import ScoringInputs
from tasks.score.rules import ScoringRules
from tasks.sources.extract import (
    FILE_COLUMN,
    LINE_COLUMN,
    DatasetError,
    RawDataset,
    extract_dataset,
    file_hashes,
    period_dir,
)
from tasks.sources.validate import ValidatedDataset, context_after, validate_dataset
from tasks.warehouse import database as warehouse

# The published rows an explanation is compared with.
COMPARED_TABLES = ("fact_appraisal", "fact_followup", "fact_attendance", "fact_skp",
                   "fact_unit_performance")


class ExplainRefused(RuntimeError):
    """The publication cannot be explained as it stands (sources or policy changed)."""


@dataclass(frozen=True)
class SourceCheck:
    """One source file (or query) of the run against what is there now."""

    dataset: str
    path: str
    recorded: str | None  # SHA-256 in source_file; None: the file is new
    current: str | None  # SHA-256 now; None: the file is gone (or unreadable)

    @property
    def state(self) -> str:
        if self.recorded is None:
            return "added"
        if self.current is None:
            return "missing"
        return "unchanged" if self.recorded == self.current else "changed"

    def __str__(self) -> str:
        what = {"added": "not read by the run (added since)",
                "missing": "missing now",
                "changed": f"SHA-256 {self.current[:12] if self.current else ''}… differs from "
                           f"the run's {self.recorded[:12] if self.recorded else ''}…"}
        return f"{self.path} ({self.dataset}): {what.get(self.state, self.state)}"


class SourcesChanged(ExplainRefused):
    def __init__(self, run_id: str, changed: Sequence[SourceCheck], agency_code: str,
                 period_id: str) -> None:
        self.changed = list(changed)
        names = "; ".join(str(c) for c in changed)
        super().__init__(
            f"source file(s) changed since run {run_id} published {agency_code} {period_id}: "
            f"{names}. Nothing is explained from sources that differ from the publication; "
            f"run `kinerja backfill --agency {agency_code} --from {period_id}` first")


@dataclass
class Publication:
    """One agency-period's current publication, as the warehouse holds it."""

    agency_code: str
    agency_name: str
    period: Period
    run: dict[str, Any]
    source_files: pd.DataFrame  # the run's source_file rows
    facts: dict[str, pd.DataFrame]  # COMPARED_TABLES of the agency-period, run_id dropped
    prior_absent_days: pd.DataFrame
    prior_predikat: pd.DataFrame
    checks: list[SourceCheck] = field(default_factory=list)
    _index: dict[str, dict[str, list[int]]] = field(default_factory=dict, repr=False)

    def published_rows(self, nip: str, unit_code: str | None) -> dict[str, pd.DataFrame]:
        """The employee's rows of every compared table (and their unit's performance row)."""
        if not self._index:
            for table, frame in self.facts.items():
                key = "nip" if "nip" in frame.columns else "unit_code"
                self._index[table] = pd.Series(np.arange(len(frame))).groupby(
                    frame[key].astype(str).to_numpy(), sort=False).apply(list).to_dict()
        rows = {}
        for table, frame in self.facts.items():
            key = unit_code if table == "fact_unit_performance" else nip
            rows[table] = frame.iloc[self._index[table].get(str(key), [])].reset_index(drop=True)
        return rows


def read_publication(engine: Engine, agency_code: str, period_id: str) -> Publication:
    """The current publication of the agency-period; ValueError when nothing is published."""
    period = Period.parse(period_id)
    with snapshot(engine) as conn:
        run = publishing_run(conn, agency_code, period.id)
        source_files = warehouse.select_rows(conn, "source_file", run_id=run["run_id"])
        facts = {table: warehouse.select_rows(conn, table, agency_code=agency_code,
                                              period_id=period.id).drop(columns="run_id")
                 for table in COMPARED_TABLES}
        agency = warehouse.select_rows(conn, "dim_agency", agency_code=agency_code)
    prior_absent, prior_predikat = warehouse.load_prior(engine, agency_code, period)
    name = str(agency["agency_name"].iloc[0]) if len(agency) else agency_code
    return Publication(agency_code, name, period, run, source_files, facts, prior_absent,
                       prior_predikat)


def run_policy(run: Mapping[str, Any], candidates: Sequence[str | None]) -> Policy:
    """The policy the run used: the first candidate (a name or a path) whose SHA-256 is the
    run's `policy_hash`; then the shipped policy of the run's `policy_name`. A policy with
    another hash would explain other numbers than the published ones: refused."""
    tried: list[str] = []
    for ref in [*candidates, run.get("policy_name")]:
        if not ref or str(ref) in tried:
            continue
        tried.append(str(ref))
        try:
            policy = load_policy(str(ref))
        except (FileNotFoundError, ValueError, OSError):
            continue
        if policy.hash == run.get("policy_hash"):
            return policy
    raise ExplainRefused(
        f"run {run['run_id']} used policy {run.get('policy_name')!r} with SHA-256 "
        f"{str(run.get('policy_hash'))[:12]}…, and no policy file with that hash was found "
        f"(tried {', '.join(tried) or 'none'}); pass --policy with the file the run used")


def check_sources(recorded: pd.DataFrame, folder: Path, sql_sources: Mapping[str, SqlSource],
                  raws: Mapping[str, RawDataset],
                  datasets: Sequence[str] = VALIDATION_ORDER) -> list[SourceCheck]:
    """Every file the run read and every file it would read now, with both SHA-256s.

    Files are hashed without being parsed, so a file that now breaks the parser is still named
    as changed. `raws` holds the datasets already read (SQL sources: the query is the file).
    """
    checks: list[SourceCheck] = []
    for dataset in datasets:
        before = recorded[recorded["dataset"] == dataset]
        was = dict(zip(before["path"].astype(str), before["sha256"].astype(str), strict=True))
        now: dict[str, str | None] = {}
        if dataset in raws:
            now = {f.path: f.sha256 for f in raws[dataset].files}
        elif dataset not in sql_sources:
            try:
                now = file_hashes(folder, dataset)
            except (DatasetError, OSError):
                now = {}
        for path in sorted(set(was) | set(now)):
            checks.append(SourceCheck(dataset, path, was.get(path), now.get(path)))
    return checks


def accepted_refs(raw: RawDataset, validated: ValidatedDataset) -> np.ndarray:
    """`<path>:<line>` of every accepted row, in the accepted frame's order: validation keeps
    the raw rows that are not quarantined, in order, and a (path, line) names one raw row."""
    refs = (raw.frame[FILE_COLUMN].astype(str) + ":"
            + raw.frame[LINE_COLUMN].astype(str)).to_numpy(dtype=object)
    quarantined = set(validated.quarantine["record_ref"].astype(str))
    kept = refs[[ref not in quarantined for ref in refs]] if len(refs) else refs
    if len(kept) != len(validated.accepted):
        raise RuntimeError(f"{raw.name}: {len(kept)} source rows for "
                           f"{len(validated.accepted)} accepted rows")
    return kept


def evidence_from(raws: Mapping[str, RawDataset], agency_code: str, period: Period,
                  prior_absent_days: pd.DataFrame | None = None,
                  prior_predikat: pd.DataFrame | None = None) -> Evidence:
    """Validate the datasets as the run does (units, employees, then the rest with their
    accepted keys) and keep each accepted row's source."""
    context = ValidationContext(period)
    accepted: dict[str, pd.DataFrame] = {}
    refs: dict[str, np.ndarray] = {}
    quarantine: list[pd.DataFrame] = []
    for dataset in VALIDATION_ORDER:
        validated = validate_dataset(raws[dataset], context)
        context = context_after(context, validated)
        accepted[dataset] = validated.accepted
        refs[dataset] = accepted_refs(raws[dataset], validated)
        quarantine.append(validated.quarantine)
    prior: dict[str, Any] = {}
    if prior_absent_days is not None:
        prior["prior_absent_days"] = prior_absent_days
    if prior_predikat is not None:
        prior["prior_predikat"] = prior_predikat
    inputs = ScoringInputs(agency_code=agency_code, period=period, **accepted, **prior)
    return Evidence(inputs, refs, pd.concat(quarantine, ignore_index=True))


def reread_sources(publication: Publication, landing_root: Path,
                   sql_sources: Mapping[str, SqlSource],
                   datasets: Sequence[str] = VALIDATION_ORDER) -> dict[str, RawDataset]:
    """The run's sources read again, refusing (SourcesChanged) when any differs from the run's
    lineage. The checks are kept on the publication (`checks`)."""
    run, period = publication.run, publication.period
    folder = period_dir(landing_root, publication.agency_code, period)
    recorded = publication.source_files
    queried = {}
    if any(d in sql_sources for d in datasets):
        # Only then: SQL sources bring in their drivers and the retry machinery.
        from tasks.sources.sql_source import extract_sql

        queried = {d: extract_sql(sql_sources[d], publication.agency_code, period)
                   for d in datasets if d in sql_sources}
    checks = check_sources(recorded, folder, sql_sources, queried, datasets)
    changed = [c for c in checks if c.state != "unchanged"]
    if changed:
        raise SourcesChanged(run["run_id"], changed, publication.agency_code, period.id)
    raws = dict(queried)
    for dataset in datasets:
        if dataset not in raws:
            raws[dataset] = extract_dataset(folder, dataset)
    # Read after the check: a file replaced in between is caught by the hash read with it.
    again = check_sources(recorded, folder, sql_sources, raws, datasets)
    changed = [c for c in again if c.state != "unchanged"]
    if changed:
        raise SourcesChanged(run["run_id"], changed, publication.agency_code, period.id)
    publication.checks = again
    return raws


def lineage_of(publication: Publication, policy: Policy) -> Lineage:
    files = publication.source_files.sort_values(["dataset", "path"], key=lambda s: s.map(
        {d: i for i, d in enumerate(VALIDATION_ORDER)}) if s.name == "dataset" else s)
    states = {(c.dataset, c.path): c.state for c in publication.checks}
    return Lineage(
        run_id=str(publication.run["run_id"]),
        policy_name=policy.name,
        policy_hash=policy.hash,
        sources=tuple(
            {"dataset": str(r.dataset), "path": str(r.path), "sha256": str(r.sha256),
             "unchanged": states.get((str(r.dataset), str(r.path))) == "unchanged"}
            for r in files.itertuples(index=False)),
    )


def load_explainer(engine: Engine, agency_code: str, period_id: str, landing_root: Path,
                   sql_sources: Mapping[str, SqlSource] | None = None,
                   policy_candidates: Sequence[str | None] = ()) -> tuple[Explainer, Publication]:
    """Everything `kinerja explain` needs, read once for any number of employees."""
    publication = read_publication(engine, agency_code, period_id)
    policy = run_policy(publication.run, policy_candidates)
    raws = reread_sources(publication, landing_root, sql_sources or {})
    evidence = evidence_from(raws, agency_code, publication.period,
                             publication.prior_absent_days, publication.prior_predikat)
    return Explainer(evidence, policy, lineage_of(publication, policy)), publication


def report_calibration(engine: Engine, agency_code: str, period_id: str, *,
                       ratings: pd.DataFrame | None = None, policy: Policy | None = None,
                       landing_root: Path | None = None,
                       sql_sources: Mapping[str, SqlSource] | None = None,
                       policy_candidates: Sequence[str | None] = ()) -> Calibration:
    """The rater calibration of the agency-period's current publication, for the report and
    the workbook: from `ratings` (the run's accepted ratings, which the flow still has) or else
    re-read from the publication's sources. The warehouse does not hold rater_nip, so when the
    sources cannot be re-read as they were (changed since, moved), the calibration says why
    instead: it must never stop a report."""
    try:
        if ratings is not None and policy is not None:
            # The flow: everything but the published appraisal and units is at hand.
            appraisal = warehouse.read_table(engine, "fact_appraisal", agency_code, period_id)
            units = warehouse.read_table(engine, "fact_unit_performance", agency_code,
                                         period_id)
        else:
            publication = read_publication(engine, agency_code, period_id)
            policy = policy or run_policy(publication.run, policy_candidates)
            if ratings is None:
                if landing_root is None:
                    raise ExplainRefused("no landing zone given to re-read ratings.csv from")
                ratings = _accepted_ratings(publication, landing_root, sql_sources or {})
            appraisal = publication.facts["fact_appraisal"]
            units = publication.facts["fact_unit_performance"]
        rules = ScoringRules.from_policy(policy)
        return Calibration(rater_calibration(ratings, appraisal, units, rules), rules)
    except Exception as error:  # a report without calibration beats no report
        return Calibration(None, note="data penilaian atasan run ini tidak dapat dibaca ulang "
                                      f"({' '.join(str(error).split())})")


def _accepted_ratings(publication: Publication, landing_root: Path,
                      sql_sources: Mapping[str, SqlSource]) -> pd.DataFrame:
    datasets = ("units", "employees", "ratings")
    raws = reread_sources(publication, landing_root, sql_sources, datasets)
    context = ValidationContext(publication.period)
    for dataset in datasets:
        validated = validate_dataset(raws[dataset], context)
        context = context_after(context, validated)
    return validated.accepted


def publication_ratings(engine: Engine, agency_code: str, period_id: str, landing_root: Path,
                        sql_sources: Mapping[str, SqlSource] | None = None) -> pd.DataFrame:
    """The accepted ratings the publishing run scored, re-read from its sources (units and
    employees first, for the references), refusing when they changed since the run."""
    publication = read_publication(engine, agency_code, period_id)
    return _accepted_ratings(publication, landing_root, sql_sources or {})
