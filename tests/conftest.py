"""Shared fixtures: real PostgreSQL / MariaDB databases and one Prefect test harness per session.

A test that needs a database server skips when the server is not answering, except under
CI=true, where it fails: a skipped real-database test in CI would hide a broken product.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

POSTGRES_ADMIN_URL = os.environ.get(
    "KINERJA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
MARIADB_ADMIN_URL = os.environ.get(
    "KINERJA_TEST_MARIADB_URL", "mysql+pymysql://root:@127.0.0.1:3306/test"
)


def _server_missing(name: str, error: Exception) -> None:
    message = f"{name} server is not answering: {error}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " (CI=true: real-database tests must not be skipped)")
    pytest.skip(message)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"kinerja_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as error:
        admin.dispose()
        _server_missing("PostgreSQL", error)
    url = admin.url.set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def mariadb_url() -> Iterator[str]:
    """A fresh, empty MariaDB database for one test, dropped afterwards."""
    admin = sa.create_engine(MARIADB_ADMIN_URL)
    name = f"kinerja_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f"CREATE DATABASE `{name}`"))
    except sa.exc.OperationalError as error:
        admin.dispose()
        _server_missing("MariaDB", error)
    url = admin.url.set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouse_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """The same test on the embedded SQLite warehouse and on the real PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'warehouse.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def engine(warehouse_url: str) -> Iterator[sa.Engine]:
    """An engine on `warehouse_url` with the warehouse schema in place."""
    from tasks.warehouse.database import ensure_schema, make_engine

    engine = make_engine(warehouse_url)
    ensure_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One Prefect test harness (a temporary database and API server) for the whole session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def prefect_server_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """One real Prefect server for the session (tests/prefect_server.py) with the `kinerja`
    process work pool and prefect.yaml deployed (`prefect deploy --all`); yields the
    environment that talks to it. Shared by the tests that need a worker or the server's
    automations, so the suite starts one server, not one per test."""
    from tests.prefect_server import prefect_cli, prefect_server

    home = tmp_path_factory.mktemp("prefect-home")
    with prefect_server(home) as env:
        prefect_cli(env, "work-pool", "create", "kinerja", "--type", "process")
        prefect_cli(env, "deploy", "--all")
        yield env
