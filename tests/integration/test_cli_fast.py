"""The command answers before Prefect (issue 8): every --help, and every mistake that can be
known before a run starts, without importing Prefect, Great Expectations, pandas or the flows,
and without writing a pipeline_run row."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from kinerja.synthetic import generate_landing

# Runs the command in a fresh interpreter and reports its exit code, its error output and which
# heavy packages it imported.
PROBE = """
import contextlib, io, json, sys
from kinerja.cli import main
sys.argv = ["kinerja", *json.loads(sys.argv[1])]
err = io.StringIO()
with contextlib.redirect_stderr(err):
    try:
        main()
        code = 0
    except SystemExit as exit:
        code = exit.code if isinstance(exit.code, int) else 1
heavy = ("prefect", "great_expectations", "pandas", "sqlalchemy", "flows", "tasks", "pandera")
print(json.dumps({"code": code, "stderr": err.getvalue(),
                  "imported": sorted({m.split(".")[0] for m in sys.modules} & set(heavy))}))
"""
LIGHT = ("prefect", "great_expectations", "pandas", "flows", "tasks", "pandera")


def probe(args: list[str], cwd: Path) -> dict:
    env = {**os.environ, "KINERJA_WORK": "work", "PREFECT_API_URL": "http://127.0.0.1:9/api"}
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def commands() -> list[list[str]]:
    import typer.main

    from kinerja.cli import app

    root = typer.main.get_command(app)
    out = [[]]
    for name, command in root.commands.items():
        out.append([name])
        out += [[name, sub] for sub in getattr(command, "commands", {})]
    return out


def test_every_help_answers_without_importing_the_pipeline(tmp_path):
    found = commands()
    assert ["run"] in found and ["notify", "setup"] in found and ["check"] in found
    for command in found:
        result = probe([*command, "--help"], tmp_path)
        assert result["code"] == 0, (command, result)
        # Not even SQLAlchemy: a help is text.
        assert result["imported"] == [], (command, result["imported"])


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fast-landing")
    generate_landing(root / "landing", "3374", 20, ["2025-S1"], seed=5)
    return root


def test_mistakes_fail_in_one_line_before_prefect_without_a_run_row(landing):
    warehouse = f"sqlite:///{landing / 'warehouse.db'}"
    run = ["run", "--landing", str(landing / "landing"), "--warehouse", warehouse]
    cases = {
        ("--agency", "3374", "--period", "2025-S3"): "invalid period '2025-S3'",
        ("--agency", "3375", "--period", "2025-S1"): "unknown agency 3375",
        ("--agency", "3374", "--period", "2025-S2"): "(periods of 3374: 2025-S1)",
        ("--agency", "3374", "--period", "2025-S1", "--policy", "nope"): "policy nope:",
    }
    for args, expected in cases.items():
        result = probe([*run, *args], landing)
        lines = result["stderr"].strip().splitlines()
        assert result["code"] == 1, (args, result)
        assert len(lines) == 1 and lines[0].startswith("kinerja: error: "), (args, lines)
        assert expected in lines[0], (args, lines)
        assert not set(result["imported"]) & set(LIGHT), (args, result["imported"])
    # The warehouse was never created, let alone given a run.
    assert not (landing / "warehouse.db").exists()
    assert not (landing / "work").exists()


def test_an_unreachable_warehouse_fails_before_prefect(landing, tmp_path):
    for url, expected in (
            ("postgresql+psycopg://kinerja@127.0.0.1:9/none", "does not answer"),
            (f"sqlite:///{tmp_path / 'missing' / 'warehouse.db'}", "does not exist")):
        result = probe(["run", "--agency", "3374", "--period", "2025-S1", "--landing",
                        str(landing / "landing"), "--warehouse", url], landing)
        lines = result["stderr"].strip().splitlines()
        assert result["code"] == 1 and len(lines) == 1 and expected in lines[0], result
        # Asked with SQLAlchemy alone: not Prefect, not even pandas.
        assert not set(result["imported"]) & set(LIGHT), result["imported"]


def test_a_bad_argument_leaves_an_existing_warehouse_without_a_new_run(landing, tmp_path):
    database = tmp_path / "warehouse.db"
    engine = sa.create_engine(f"sqlite:///{database}")
    with engine.begin() as conn:  # a warehouse that exists, with its run table
        conn.execute(sa.text("CREATE TABLE pipeline_run (run_id TEXT PRIMARY KEY)"))
    result = probe(["run", "--agency", "3374", "--period", "2024-S1", "--landing",
                    str(landing / "landing"), "--warehouse", f"sqlite:///{database}"], landing)
    assert result["code"] == 1 and "periods of 3374" in result["stderr"]
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM pipeline_run")).scalar_one() == 0
    engine.dispose()
