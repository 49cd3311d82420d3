"""HR views in sql/views/: created with the tables, re-created only when their file changes."""

from __future__ import annotations

import shutil

import sqlalchemy as sa

from tasks.warehouse.database import MIGRATIONS_DIR, ensure_schema, make_engine


def test_views_follow_their_files(warehouse_url, tmp_path):
    sql = tmp_path / "sql"
    shutil.copytree(MIGRATIONS_DIR, sql / "migrations")
    (sql / "views").mkdir()
    view = sql / "views" / "v_periode.sql"
    view.write_text("CREATE VIEW v_periode AS SELECT period_id AS periode FROM dim_period;\n")
    engine = make_engine(warehouse_url)
    ensure_schema(engine, sql / "migrations")
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO dim_period VALUES ('2025-S1', '2025-01-01', "
                             "'2025-06-30')"))
        # an analyst's own view on ours must survive runs that change nothing
        conn.execute(sa.text("CREATE VIEW v_analis AS SELECT periode FROM v_periode"))
    ensure_schema(engine, sql / "migrations")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT periode FROM v_analis")).scalar_one() == "2025-S1"
    with engine.begin() as conn:
        conn.execute(sa.text("DROP VIEW v_analis"))
    view.write_text("CREATE VIEW v_periode AS SELECT period_id AS periode, start_date AS mulai "
                    "FROM dim_period;\n")
    ensure_schema(engine, sql / "migrations")
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT periode, mulai FROM v_periode")).one()
    assert row[0] == "2025-S1" and str(row[1]) == "2025-01-01"
    engine.dispose()
