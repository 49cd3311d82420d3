"""Checks a run can start, made before Prefect starts and before a `pipeline_run` row is written.

A mistyped agency, a period without a folder, an unknown policy or a warehouse that does not
answer should cost the person at the terminal a second, not a temporary Prefect server, retries
and a failed run on record for an agency that does not exist. Each check raises
`PreflightError` with one line that names what is wrong and, where it helps, what is there.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from kinerja.config import SOURCE_DATASETS
from kinerja.identifiers import AGENCY_CODE_RE, agency_code, period_id
from kinerja.redact import mask_secrets, redact_url, remember_secret

# A warehouse that does not answer within this many seconds is reported, not waited for: the
# scheduled runs keep their retries for a restarting database (tasks/transient.py).
CONNECT_TIMEOUT_S = 2


class PreflightError(ValueError):
    """A run that cannot start; the message is one line."""


def _listing(names: Iterable[str]) -> str:
    found = sorted(names)
    if not found:
        return "none"
    return ", ".join(found[:20]) + (f" and {len(found) - 20} more" if len(found) > 20 else "")


def check_landing(landing_root: Path, agency: str, period: str,
                  sql_datasets: Iterable[str] = ()) -> None:
    """The period folder exists, unless every dataset comes from a SQL source. When it does
    not, say whether the agency or only the period is missing, and what the zone holds."""
    agency, period = agency_code(agency), period_id(period)
    if set(SOURCE_DATASETS) <= set(sql_datasets):
        return
    folder = Path(landing_root) / agency / period
    if folder.is_dir():
        return
    where = f"{folder}: no such period folder in the landing zone"
    root = Path(landing_root)
    if not root.is_dir():
        raise PreflightError(f"{where} (the landing zone {root} does not exist)")
    if not (root / agency).is_dir():
        agencies = [p.name for p in root.iterdir()
                    if p.is_dir() and AGENCY_CODE_RE.fullmatch(p.name)]
        raise PreflightError(f"{where}: unknown agency {agency} (agencies in {root}: "
                             f"{_listing(agencies)})")
    periods = [p.name for p in (root / agency).iterdir() if p.is_dir()]
    raise PreflightError(f"{where} (periods of {agency}: {_listing(periods)})")


def check_policy(policy_ref: str) -> None:
    from kinerja.policy import load_policy

    try:
        load_policy(policy_ref)
    except Exception as error:  # a missing file, broken YAML or an unknown name: one line
        raise PreflightError(f"policy {policy_ref}: {' '.join(str(error).split())}") from None


def check_warehouse(url: str) -> None:
    """The warehouse URL parses and the database answers (without retries)."""
    import sqlalchemy as sa

    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        from tasks.warehouse.database import make_engine

        make_engine(url)  # raises the masked "not a valid warehouse URL" message
        raise
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            folder = Path(database).parent
            if not folder.is_dir():
                raise PreflightError(f"warehouse {redact_url(url)}: the folder {folder} does "
                                     "not exist")
        return
    if backend in ("postgresql", "mysql", "mariadb") and "connect_timeout" not in parsed.query:
        parsed = parsed.update_query_dict({"connect_timeout": str(CONNECT_TIMEOUT_S)})
    # As tasks.warehouse.database.make_engine connects, without importing it (pandas): the
    # answer to a wrong URL should not wait for the pipeline's imports.
    remember_secret(parsed.password)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    engine = sa.create_engine(parsed)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as error:
        cause = getattr(error, "orig", None) or error
        reason = mask_secrets(" ".join(str(cause).split()))
        raise PreflightError(f"warehouse {redact_url(url)} does not answer: {reason}") from None
    finally:
        engine.dispose()
