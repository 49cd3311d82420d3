"""Dry runs (issue 11): the pure parts, and what a dry run leaves behind in the work folder."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd
import pytest

from kinerja.config import DEFAULT_WORK, default_work, load_settings
from kinerja.period import Period
from tasks import steps
from tasks.warehouse import run_ledger
from tasks.warehouse.database import ensure_schema, load_prior, make_engine, utcnow
from tasks.warehouse.preview import overlay_prior, quarantine_preview


@pytest.fixture()
def empty_prior() -> tuple[pd.DataFrame, pd.DataFrame]:
    engine = make_engine("sqlite://")
    ensure_schema(engine)
    try:
        return load_prior(engine, "3374", Period.parse("2025-S2"))
    finally:
        engine.dispose()


def _predikat(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["nip", "period_id", "predikat"])


def test_a_dry_backfill_reads_its_own_earlier_periods_over_the_warehouse(empty_prior):
    absent, predikat = empty_prior
    warehouse_predikat = pd.concat([predikat, _predikat([
        ("1", "2024-S1", "BAIK"), ("1", "2024-S2", "BAIK"), ("2", "2024-S2", "KURANG"),
        ("1", "2025-S1", "BAIK"), ("3", "2025-S1", "BAIK"),
    ]).astype(predikat.dtypes.to_dict())], ignore_index=True)
    warehouse_absent = pd.concat([absent, pd.DataFrame({"nip": ["1"], "absent_days": [9]})
                                  .astype(absent.dtypes.to_dict())], ignore_index=True)
    # The dry backfill re-ran 2025-S1: its results replace every 2025-S1 row of the warehouse
    # (employee 3 is gone from it), the older periods stay as published.
    earlier = {"2025-S1": (pd.DataFrame({"nip": ["1", "4"], "absent_days": [2, 0]}),
                           _predikat([("1", "2025-S1", "CUKUP"), ("4", "2025-S1", "BAIK")]))}
    new_absent, new_predikat = overlay_prior(warehouse_absent, warehouse_predikat,
                                             Period.parse("2025-S2"), earlier)
    assert new_absent.to_dict(orient="list") == {"nip": ["1", "4"], "absent_days": [2, 0]}
    assert list(new_absent.dtypes) == list(absent.dtypes)
    assert list(new_predikat.itertuples(index=False, name=None)) == [
        ("1", "2024-S1", "BAIK"), ("1", "2024-S2", "BAIK"), ("1", "2025-S1", "CUKUP"),
        ("2", "2024-S2", "KURANG"), ("4", "2025-S1", "BAIK"),
    ]
    assert list(new_predikat.dtypes) == list(predikat.dtypes)
    # An S1 reads no absences, and periods outside the three before it are not taken.
    s1_absent, s1_predikat = overlay_prior(warehouse_absent.iloc[0:0], warehouse_predikat,
                                           Period.parse("2026-S1"),
                                           {**earlier, "2023-S2": earlier["2025-S1"]})
    assert s1_absent.empty
    assert "2023-S2" not in set(s1_predikat["period_id"])
    assert set(s1_predikat.loc[s1_predikat["period_id"] == "2025-S1", "nip"]) == {"1", "4"}


def test_the_quarantine_preview_counts_rules_not_values():
    quarantine = pd.DataFrame({
        "dataset": ["attendance"] * 3 + ["employees"],
        "record_ref": ["a.csv:2", "a.csv:5", "a.csv:9", "employees.csv:4"],
        "reasons": ["status: not one of H, S ('A')", "status: not one of H, S ('L'); "
                    "date: required value is empty", "status: not one of H, S ('A')",
                    "nip: not a valid NIP ('12')"],
        "payload": ["{}"] * 4,
    })
    preview = quarantine_preview(quarantine, rows=2)
    assert preview["rows"] == 4
    assert preview["reasons"][0] == {"dataset": "attendance",
                                     "reason": "status: not one of H, S", "rows": 3}
    assert {(r["dataset"], r["reason"], r["rows"]) for r in preview["reasons"][1:]} == {
        ("attendance", "date: required value is empty", 1),
        ("employees", "nip: not a valid NIP", 1)}
    assert [r["record_ref"] for r in preview["first_rows"]] == ["a.csv:2", "a.csv:5"]
    assert quarantine_preview(quarantine.iloc[0:0]) == {"rows": 0, "reasons": [],
                                                        "first_rows": []}


def test_work_folders_default_to_the_sqlite_warehouses_folder(tmp_path, monkeypatch):
    assert default_work(f"sqlite:///{tmp_path / 'w.db'}") == tmp_path / DEFAULT_WORK
    assert default_work("sqlite:///warehouse.db") == Path(DEFAULT_WORK)
    assert default_work("postgresql+psycopg://u@h/db") == Path(DEFAULT_WORK)
    monkeypatch.chdir(tmp_path)
    for name in ("KINERJA_CONFIG", "KINERJA_WORK", "KINERJA_WORK_RETENTION_DAYS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KINERJA_WAREHOUSE_URL", f"sqlite:///{tmp_path / 'data' / 'w.db'}")
    settings = load_settings()
    assert settings.work == tmp_path / "data" / DEFAULT_WORK
    assert settings.work_retention_days == 14
    (tmp_path / "kinerja.toml").write_text('work = "elsewhere"\nwork_retention_days = 3\n')
    settings = load_settings()
    assert settings.work == tmp_path / "elsewhere" and settings.work_retention_days == 3


def test_old_work_folders_of_failed_runs_and_dry_runs_are_removed(tmp_path):
    url = f"sqlite:///{tmp_path / 'w.db'}"
    engine = make_engine(url)
    ensure_schema(engine)
    work = tmp_path / "work"
    record = {"agency_code": "3374", "period_id": "2025-S1", "kind": "manual",
              "policy_name": "p", "policy_hash": "h", "code_version": "v",
              "flow_run_id": None}
    days_ago = {"old": 30, "recent": 2}
    for name, days in days_ago.items():
        run_ledger.start_run(engine, run_id=f"failed-{name}", **record)
        run_ledger.fail_run(engine, f"failed-{name}", "boom")
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "UPDATE pipeline_run SET finished_at = ? WHERE run_id = ?",
                (utcnow() - pd.Timedelta(days=days), f"failed-{name}"))
        (work / f"failed-{name}").mkdir(parents=True)
        dry = work / f"{steps.DRY_RUN_PREFIX}{name}"
        dry.mkdir()
        stamp = time.time() - days * 86400
        os.utime(dry, (stamp, stamp))
    (work / "unknown-folder").mkdir()  # not a run of this warehouse: never touched
    engine.dispose()

    steps.open_run.fn(url, str(work), abandon=True, retention_days=14, run_id="new", **record)

    assert sorted(p.name for p in work.iterdir()) == [
        f"{steps.DRY_RUN_PREFIX}recent", "failed-recent", "unknown-folder"]


def test_a_preview_prints_source_text_as_itself(capsys):
    """Names, file names and reasons come from source files: no markup, no control character
    reaches the terminal."""
    from kinerja.cli import _print_preview

    changes = {"description": "3374 2025-S1: dry run against run r1: 1 change(s)",
               "replaced_run_id": "r1", "change_rows": 1}
    first = [{"nip": "199001012015031001", "name": "[bold]Budi[/bold] [/]", "unit_code": "U1",
              "unit_name": "[link=http://x]Puskesmas[/link]", "field": "predikat",
              "old_value": "BAIK", "new_value": "KURANG"}]
    quarantine = {"rows": 1, "reasons": [{"dataset": "attendance", "rows": 1,
                                          "reason": "status: not one of H\x1b[31m"}],
                  "first_rows": [{"dataset": "attendance", "record_ref": "a\x1b[2J.csv:2",
                                  "reasons": "status: bad\nnext line"}]}
    _print_preview("3374", "2025-S1", changes, first, quarantine)
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert "a\\x1b[2J.csv:2: status: bad\\nnext line" in out
    flat = "".join(out.split())
    assert "[bold]Budi[/bold][/]" in flat and "[link=http://x]Puskesmas[/link]" in flat
