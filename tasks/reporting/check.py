"""Runs the data-quality suite of `schemas/quality.py` over one agency-period's publication.

The suite checks what is on the warehouse, not what the run meant to write: the tables are read
back with SQLAlchemy in one read transaction and validated as DataFrames through Great
Expectations' pandas datasource, the same on SQLite and PostgreSQL (GX's SQL datasources would
need a query asset per table and dialect, and would read each table at a different moment). An
ephemeral GX context keeps nothing between runs; its Data Docs site is written to
`<reports>/datadocs/<agency>_<period>/index.html`.

The verdict is recorded on the run that published the checked rows (`pipeline_run.quality_*`,
migration 0002). A failed expectation is a finding, not an error: the publication stays, the run
keeps status `published`, and the HR report shows what failed.
"""

from __future__ import annotations

import html
import json
import logging
import math
import shutil
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from kinerja.identifiers import InvalidIdentifier
from kinerja.memory import hand_back_freed
from kinerja.period import Period
from kinerja.policy import Policy, codes_of, load_policy
from schemas.quality import (
    QUALITY_TABLES,
    build_suites,
    quality_frames,
    suite_name,
)
from tasks.reporting.report import output_stem, publishing_run, snapshot
from tasks.warehouse import database as warehouse
from tasks.warehouse import run_ledger

if TYPE_CHECKING:
    from tasks.score.rules import PolicyCodes

log = logging.getLogger(__name__)

# Bounds what a run's quality_summary holds: enough for HR to see what broke; the Data Docs
# have the rest.
MAX_FAILURES = 200
MAX_SAMPLE = 10
_DOCS_SITE = "kinerja"
DATA_DOCS_FOLDER = "datadocs"
# GX keeps its current context in a module global; checks in one process take turns.
_GX_LOCK = threading.Lock()


@dataclass(frozen=True)
class Publication:
    """The run whose rows are the agency-period's current publication."""

    run_id: str
    policy_name: str | None
    policy_hash: str | None
    employees_accepted: int
    units_accepted: int


def data_docs_dir(reports_dir: str | Path, agency_code: str, period_id: str) -> Path:
    return Path(reports_dir) / DATA_DOCS_FOLDER / output_stem(agency_code, period_id)


def current_publication(conn: Connection, agency_code: str, period_id: str) -> Publication:
    """The agency-period's current publication (`report.publishing_run`) and what its run accepted.
    Raises ValueError when nothing is published."""
    run = publishing_run(conn, agency_code, period_id)
    files = warehouse.reflect_table(conn, "source_file")
    accepted = dict(conn.execute(
        sa.select(files.c.dataset, sa.func.sum(files.c.rows_accepted))
        .where(files.c.run_id == run["run_id"])
        .group_by(files.c.dataset)
    ).all())
    return Publication(
        run_id=run["run_id"],
        policy_name=run["policy_name"],
        policy_hash=run["policy_hash"],
        employees_accepted=int(accepted.get("employees") or 0),
        units_accepted=int(accepted.get("units") or 0),
    )


def read_quality_tables(conn: Connection, agency_code: str,
                        period_id: str) -> dict[str, pd.DataFrame]:
    """The published rows the suite checks: the agency-period's facts and their dimensions."""
    tables = {name: warehouse.select_rows(conn, name, agency_code=agency_code, period_id=period_id)
              for name in QUALITY_TABLES if name.startswith("fact_")}
    tables["dim_agency"] = warehouse.select_rows(conn, "dim_agency", agency_code=agency_code)
    tables["dim_period"] = warehouse.select_rows(conn, "dim_period", period_id=period_id)
    tables["dim_unit"] = warehouse.select_rows(conn, "dim_unit", agency_code=agency_code)
    # The agency's employees, and those its facts name whose row now carries the agency they
    # moved to (a NIP is national): both are this period's dimension rows. The second are
    # read by themselves (`report.employees_of` would read the agency's own a second time).
    own = warehouse.select_rows(conn, "dim_employee", agency_code=agency_code)
    appraisal = warehouse.reflect_table(conn, "fact_appraisal")
    nips = sa.select(appraisal.c.nip).where(appraisal.c.agency_code == agency_code,
                                            appraisal.c.period_id == period_id)
    moved = warehouse.select_rows(conn, "dim_employee",
                                  lambda t: t.c.nip.in_(nips.scalar_subquery()),
                                  lambda t: t.c.agency_code != agency_code)
    tables["dim_employee"] = (pd.concat([own, moved], ignore_index=True)
                              .sort_values("nip", kind="stable").reset_index(drop=True))
    return tables


def _codes_for(publication: Publication, policy: Policy | str | None) -> PolicyCodes:
    """Codes of the policy the run scored with: `policy` when given (the flow passes the one it
    loaded; `kinerja check --policy` a name or path), else the shipped policy named on the run,
    else the default policy's."""
    if isinstance(policy, Policy):
        return policy.codes
    ref = policy or publication.policy_name
    if ref is None:
        return codes_of()
    try:
        loaded = load_policy(ref)
        codes = loaded.codes  # PolicyError, a ValueError, when it no longer parses
    except (FileNotFoundError, ValueError) as error:
        log.warning("policy %r of run %s not usable (%s): checking against the default policy",
                    ref, publication.run_id, error)
        return codes_of()
    if publication.policy_hash and loaded.hash != publication.policy_hash:
        log.warning("policy %s has changed since run %s scored with it", ref,
                    publication.run_id)
    return codes


def _plain(value: Any) -> Any:
    """A JSON-friendly version of a value GX reports (numpy scalars, tuples, timestamps)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, datetime | date | pd.Timestamp):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _distinct(values: list[Any]) -> list[Any]:
    seen: set[str] = set()
    out = []
    for value in values:
        key = json.dumps(value, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(value)
    return out


def _expectation(table: str, result: Any) -> dict[str, Any]:
    """One evaluated expectation as the quality page lists it (samples for failures only)."""
    config = result.expectation_config
    kwargs = dict(config.kwargs)
    columns = kwargs.get("column") or kwargs.get("column_list") or [
        c for c in (kwargs.get("column_A"), kwargs.get("column_B")) if c]
    if not result.success:
        return {**_failure(table, result), "success": False}
    details = result.result or {}
    return {
        "table": table,
        "expectation": config.type,
        "column": (", ".join(columns) if isinstance(columns, list) else columns) or None,
        "uraian": (config.meta or {}).get("uraian"),
        "success": True,
        "unexpected_count": _plain(details.get("unexpected_count")),
        "element_count": _plain(details.get("element_count")),
    }


def _failure(table: str, result: Any) -> dict[str, Any]:
    config = result.expectation_config
    kwargs = dict(config.kwargs)
    details = result.result or {}
    exception = result.exception_info or {}
    error = exception.get("exception_message") if exception.get("raised_exception") else None
    columns = kwargs.get("column") or kwargs.get("column_list") or [
        c for c in (kwargs.get("column_A"), kwargs.get("column_B")) if c]
    return {
        "table": table,
        "expectation": config.type,
        "column": (", ".join(columns) if isinstance(columns, list) else columns) or None,
        "uraian": (config.meta or {}).get("uraian"),
        "unexpected_count": _plain(details.get("unexpected_count")),
        "element_count": _plain(details.get("element_count")),
        "observed_value": _plain(details.get("observed_value")),
        # The values as published, not as escaped for the Data Docs (_escaped_for_docs).
        "sample": _distinct([html.unescape(v) if isinstance(v, str) else v for v in _plain(
            details.get("partial_unexpected_list") or [])])[:MAX_SAMPLE],
        "error": error,
    }


_MARKUP = r"[<>&\"']"


def _escaped_for_docs(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with markup characters of its text escaped. Great Expectations writes unexpected
    values into the Data Docs' HTML as they are, so a name such as `<img src=x onerror=...>`
    would run as script in HR's browser. Escaping keeps every expectation's verdict: valid codes,
    NIPs and periods hold no such character, and an invalid value stays invalid."""
    out = frame
    for column in frame.columns:
        values = frame[column]
        if values.dtype != object and not pd.api.types.is_string_dtype(values):
            continue
        text = values.astype("string")
        risky = text.str.contains(_MARKUP, regex=True, na=False)
        if risky.any():
            if out is frame:
                out = frame.copy()
            out.loc[risky, column] = text[risky].map(html.escape)
    return out


def run_suite(frames: Mapping[str, pd.DataFrame], codes: PolicyCodes,
              parameters: Mapping[str, Any], docs_dir: Path, run_name: str) -> dict[str, Any]:
    """Validate every table of `frames` against its suite; write the Data Docs to `docs_dir`
    (replacing what was there); return the summary recorded on the run."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    suites = build_suites(codes)
    # GX's filesystem store takes absolute paths only (reports default to ./reports).
    _refuse_foreign_docs_dir(Path(docs_dir))
    docs_dir = Path(docs_dir).resolve()
    tables: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    # Every expectation with its verdict: the report's quality page lists them offline (GX's
    # Data Docs need scripts from the internet to show theirs). Bounded by the suite's size.
    expectations: list[dict[str, Any]] = []
    with _GX_LOCK:
        # The site holds exactly this check: a page left from an earlier check would list
        # results that no longer describe the publication. Only ever a site folder of ours is
        # replaced (checked above, before links were resolved).
        shutil.rmtree(docs_dir, ignore_errors=True)
        docs_dir.mkdir(parents=True, exist_ok=True)
        context = gx.get_context(mode="ephemeral", project_config=DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
            data_docs_sites={_DOCS_SITE: {
                "class_name": "SiteBuilder",
                "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                                  "base_directory": str(docs_dir)},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }},
            # Progress bars would interleave with Prefect's log lines on a terminal.
            progress_bars=ProgressBarsConfig(globally=False),
        ))
        source = context.data_sources.add_pandas("warehouse")
        identifier = gx.RunIdentifier(run_name=run_name)
        for table in QUALITY_TABLES:
            # Given whole: adding expectations one by one re-saves the suite each time.
            suite = context.suites.add(
                gx.ExpectationSuite(name=suite_name(table), expectations=suites[table]))
            batch = source.add_dataframe_asset(table).add_batch_definition_whole_dataframe(
                "published")
            definition = context.validation_definitions.add(
                gx.ValidationDefinition(name=suite_name(table), data=batch, suite=suite))
            result = _validate(definition, frames[table], parameters, identifier)
            failed = [r for r in result.results if not r.success]
            tables.append({"table": table, "rows": len(frames[table]),
                           "evaluated": len(result.results), "failed": len(failed)})
            failures += [_failure(table, r) for r in failed]
            expectations += [_expectation(table, r) for r in result.results]
        sites = context.build_data_docs(site_names=[_DOCS_SITE])
    evaluated = sum(t["evaluated"] for t in tables)
    failed_count = sum(t["failed"] for t in tables)
    index = docs_dir / "index.html"
    if _DOCS_SITE not in sites or not index.is_file():
        raise RuntimeError(f"Great Expectations wrote no Data Docs to {docs_dir}")
    return {
        "status": "passed" if failed_count == 0 else "failed",
        "evaluated": evaluated,
        "successful": evaluated - failed_count,
        "failed": failed_count,
        "tables": tables,
        "failures": failures[:MAX_FAILURES],
        "failures_left_out": max(0, len(failures) - MAX_FAILURES),
        "expectations": expectations,
        "data_docs": str(index),
    }


def _validate(definition: Any, frame: pd.DataFrame, parameters: Mapping[str, Any],
              run_id: Any) -> Any:
    """`definition.run` on `frame`, stored for the Data Docs, with the same result. When every
    expectation of the table holds (expectations.py proves it on the frame, vectorised),
    the result is put together here as GX's Validator would, without GX's metric graph; a
    table with a failed or an unproven expectation is validated by GX itself, on the frame
    with its markup escaped (`_escaped_for_docs`: only a failure shows values, and escaping
    changes no verdict)."""
    import copy

    from great_expectations import __version__ as gx_version
    from great_expectations.constants import DATAFRAME_REPLACEMENT_STR
    from great_expectations.core import ExpectationSuiteValidationResult
    from great_expectations.core.expectation_validation_result import (
        ExpectationValidationResult,
    )
    from great_expectations.util import convert_to_json_serializable
    from great_expectations.validator.v1_validator import Validator
    from great_expectations.validator.validator import calc_validation_statistics

    from tasks.reporting.expectations import RESULT_FORMAT, passing_result

    batch_parameters = {"dataframe": frame}
    validator = Validator(batch_definition=definition.batch_definition,
                          batch_parameters=batch_parameters, result_format=RESULT_FORMAT)
    inner = validator._wrapped_validator
    # GX's order and parameter substitution (expectations grouped by column).
    configs = inner.process_expectations_for_validation(
        definition.suite.expectation_configurations, dict(parameters))
    results = []
    for config in configs:
        evaluated = copy.deepcopy(config)
        evaluated.kwargs.update({"batch_id": inner.active_batch_id})
        passed = passing_result(evaluated, frame)
        if passed is None:
            return definition.run(batch_parameters={"dataframe": _escaped_for_docs(frame)},
                                  expectation_parameters=dict(parameters),
                                  result_format=RESULT_FORMAT, run_id=run_id)
        results.append(ExpectationValidationResult(
            success=True, result=passed["result"], expectation_config=evaluated))
    statistics = calc_validation_statistics(results)
    suite_result = ExpectationSuiteValidationResult(
        results=results,
        success=statistics.success,
        suite_name=definition.suite.name,
        statistics={
            "evaluated_expectations": statistics.evaluated_expectations,
            "successful_expectations": statistics.successful_expectations,
            "unsuccessful_expectations": statistics.unsuccessful_expectations,
            "success_percent": statistics.success_percent,
        },
        meta={
            "great_expectations_version": gx_version,
            "batch_spec": convert_to_json_serializable(inner.active_batch_spec),
            "batch_markers": inner.active_batch_markers,
            "active_batch_definition": convert_to_json_serializable(
                inner.active_batch_definition),
        },
        batch_id=validator.active_batch_id,
    )
    # As ValidationDefinition.run finishes a result and stores it for the Data Docs.
    suite_result.meta["validation_id"] = definition.id
    suite_result.meta["checkpoint_id"] = None
    suite_result.meta["run_id"] = run_id
    suite_result.meta["validation_time"] = run_id.run_time
    suite_result.meta["batch_parameters"] = {"dataframe": DATAFRAME_REPLACEMENT_STR}
    suite_id, result_id = definition._get_expectation_suite_and_validation_result_ids(
        validator=validator, run_id=run_id)
    definition._validation_results_store.store_validation_results(
        suite_validation_result=suite_result,
        suite_validation_result_identifier=result_id,
        expectation_suite_identifier=suite_id,
    )
    return suite_result


def _refuse_foreign_docs_dir(docs_dir: Path) -> None:
    agency, _, period = docs_dir.name.partition("_")
    output_stem(agency, period)  # raises on anything but <agency>_<period>
    if docs_dir.parent.name != DATA_DOCS_FOLDER or docs_dir.is_symlink() or (
            docs_dir.exists() and not docs_dir.is_dir()):
        raise InvalidIdentifier(f"refusing to replace {docs_dir}: not a Data Docs folder of "
                                f"<reports>/{DATA_DOCS_FOLDER}/")


def check_publication(engine: Engine, agency_code: str, period_id: str,
                      reports_dir: str | Path,
                      policy: Policy | str | None = None) -> dict[str, Any]:
    """Run the suite over the agency-period's current publication, write its Data Docs, record
    the verdict on the publishing run. Returns the summary, with `run_id` added."""
    period_id = Period.parse(period_id).id
    with snapshot(engine) as conn:
        publication = current_publication(conn, agency_code, period_id)
        tables = read_quality_tables(conn, agency_code, period_id)
    frames = quality_frames(tables)
    # `frames` holds copies: the rows as read go now, and what reading them left behind (the
    # driver's rows, freed but kept by malloc) is handed back before the suite adds its own.
    del tables
    hand_back_freed()
    parameters = {
        "run_id": [publication.run_id],
        "employees_accepted": publication.employees_accepted,
        "units_accepted": publication.units_accepted,
    }
    summary = run_suite(
        frames, _codes_for(publication, policy), parameters,
        data_docs_dir(reports_dir, agency_code, period_id),
        run_name=f"{agency_code}_{period_id}_{publication.run_id}",
    )
    summary = {"run_id": publication.run_id, "checked_at": warehouse.utcnow().isoformat(
        timespec="seconds"), **summary}
    run_ledger.record_quality(engine, publication.run_id, summary)
    level = logging.INFO if summary["status"] == "passed" else logging.WARNING
    log.log(level, "quality of %s %s (run %s): %s, %d of %d expectations failed; Data Docs %s",
            agency_code, period_id, publication.run_id, summary["status"], summary["failed"],
            summary["evaluated"], summary["data_docs"])
    return summary
