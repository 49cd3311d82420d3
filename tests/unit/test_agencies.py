"""Which agencies `--agency` names (A,B or all), the executor settings, and the LocalCluster's
size (issue 13)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kinerja.agencies import landing_agencies, resolve_agencies, several
from kinerja.config import ConfigError, load_settings
from kinerja.identifiers import InvalidIdentifier


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("KINERJA_CONFIG", "KINERJA_EXECUTOR", "KINERJA_DASK_ADDRESS",
                 "KINERJA_LANDING"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(("value", "expected"), [
    ("3374", False), ("3374,3322", True), ("all", True), (" ALL ", True), ("3374,", True)])
def test_several(value, expected):
    assert several(value) is expected


def test_a_list_is_checked_deduplicated_and_kept_in_order(folder):
    settings = load_settings()
    assert resolve_agencies("3374, 3322,3374", settings) == ["3374", "3322"]
    with pytest.raises(InvalidIdentifier, match="invalid agency code '../33'"):
        resolve_agencies("3374,../33", settings)
    with pytest.raises(ValueError, match="no agency code given"):
        resolve_agencies(",", settings)


def test_all_is_the_configured_agencies_else_the_landing_folders(folder):
    landing = folder / "landing"
    for name in ("3374", "3322", "33", "not-an-agency", "12345"):
        (landing / name).mkdir(parents=True)
    (landing / "3301").write_text("a file, not a folder", encoding="utf-8")
    assert landing_agencies(landing) == ["33", "3322", "3374"]
    assert resolve_agencies("all", load_settings()) == ["33", "3322", "3374"]

    (folder / "kinerja.toml").write_text('[agencies.3374]\n[agencies.1171]\n', encoding="utf-8")
    assert resolve_agencies("all", load_settings()) == ["1171", "3374"]


def test_all_without_any_agency_fails_clearly(folder):
    with pytest.raises(ValueError, match="no agency configured in kinerja.toml .* and no agency "
                                         "folder in the landing zone landing"):
        resolve_agencies("all", load_settings())


def test_executor_and_dask_address_settings(folder, monkeypatch):
    settings = load_settings()
    assert (settings.executor, settings.dask_address) == ("local", None)
    (folder / "kinerja.toml").write_text(
        'executor = "dask"\ndask_address = "tcp://10.0.0.5:8786"\n', encoding="utf-8")
    settings = load_settings()
    assert (settings.executor, settings.dask_address) == ("dask", "tcp://10.0.0.5:8786")
    monkeypatch.setenv("KINERJA_EXECUTOR", "local")
    monkeypatch.setenv("KINERJA_DASK_ADDRESS", "tcp://127.0.0.1:8786")
    settings = load_settings()
    assert (settings.executor, settings.dask_address) == ("local", "tcp://127.0.0.1:8786")
    monkeypatch.setenv("KINERJA_EXECUTOR", "spark")
    with pytest.raises(ConfigError, match="KINERJA_EXECUTOR must be one of local, dask"):
        load_settings()


def test_the_local_cluster_is_sized_to_the_machine_and_the_agencies():
    from flows.agencies import local_cluster_kwargs

    cores = os.cpu_count() or 1
    assert local_cluster_kwargs(1)["n_workers"] == 1
    assert local_cluster_kwargs(500)["n_workers"] == cores
    assert local_cluster_kwargs(500)["threads_per_worker"] == 1  # one agency at a time


def test_the_workers_preload_the_pipeline_and_get_one_malloc_arena():
    from flows.agencies import WORKER_CONFIG, WORKER_ENVIRON, WORKER_PRELOAD, local_cluster_kwargs

    assert local_cluster_kwargs(2)["preload"] == [WORKER_PRELOAD] == ["flows.dask_worker"]
    assert WORKER_ENVIRON == {"MALLOC_ARENA_MAX": "1", "ARROW_DEFAULT_MEMORY_POOL": "system"}
    assert WORKER_CONFIG == {"distributed.worker.profile.enabled": False}


def test_the_preload_imports_every_module_it_names(caplog):
    """A name the libraries no longer have would only be logged on the worker: caught here."""
    from flows import dask_worker

    with caplog.at_level("WARNING", logger=dask_worker.__name__):
        dask_worker.preload()
    assert not caplog.records
    assert all(name in sys.modules for name in dask_worker.LAZY_IMPORTS)


def test_dask_gets_the_largest_agencies_first(folder):
    from flows.agencies import largest_first, semester_job

    landing = folder / "landing"
    for code, size in (("3301", 10), ("3302", 300), ("3303", 0), ("3304", 300)):
        (landing / code / "2025-S1").mkdir(parents=True)
        (landing / code / "2025-S1" / "attendance.csv").write_bytes(b"x" * size)
    job = semester_job("2025-S1", landing=str(landing))
    # 3305 has no folder (its run will fail on its own): counted as empty; ties keep the order.
    assert largest_first(["3301", "3302", "3303", "3304", "3305"], job) == [
        "3302", "3304", "3301", "3303", "3305"]


def test_a_wrong_executor_fails_before_prefect_starts(folder):
    (folder / "landing" / "3374").mkdir(parents=True)
    env = {**os.environ, "PREFECT_API_URL": "http://127.0.0.1:9/api"}
    done = subprocess.run(
        [str(Path(sys.executable).with_name("kinerja")), "run", "--agency", "3374,3322",
         "--period", "2025-S1", "--executor", "spark"],
        cwd=folder, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip() == ("kinerja: error: --executor must be one of local, dask, "
                                   "not 'spark'")
    assert not (folder / "warehouse.db").exists()


@pytest.mark.parametrize("command", [["run", "--period", "2025-S1"],
                                     ["backfill", "--from", "2025-S1"]])
def test_a_dry_run_of_several_agencies_is_refused_before_prefect_starts(folder, command):
    env = {**os.environ, "PREFECT_API_URL": "http://127.0.0.1:9/api"}
    done = subprocess.run(
        [str(Path(sys.executable).with_name("kinerja")), *command, "--agency", "3374,3322",
         "--dry-run"], cwd=folder, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.startswith("kinerja: error: --dry-run previews one agency at a time")
    assert not (folder / "warehouse.db").exists()


def test_an_agency_leaves_no_parsed_values_behind(monkeypatch):
    """A worker runs agency after agency: the values one parsed (NIP validity, clock times) are
    forgotten when it ends, whether it published or failed."""
    import pandas as pd

    from flows import agencies
    from schemas import parsing

    def parses(agency_code, job):
        parsing.nip_is_valid(pd.Series(["199001012015011001", "123"]))
        parsing.parse_time(pd.Series(["07:30", "16:05"]))
        raise agencies.AgencyFailed(agency_code, "broken")

    monkeypatch.setattr(agencies, "_run_agency", parses)
    with pytest.raises(agencies.AgencyFailed):
        agencies.run_agency("3301", {})
    assert parsing._nip_valid_cached.cache_info().currsize == 0
    assert parsing._time_seconds_one.cache_info().currsize == 0
    parsing.nip_is_valid(pd.Series(["199001012015011001"]))
    assert parsing._nip_valid_cached.cache_info().currsize == 1  # still a cache


def test_agencies_on_dask_without_a_prefect_server_get_a_note_about_its_database():
    """Prefect's temporary server keeps its records in SQLite, which answers busy to agencies
    running at once (each a wait of about 2 s, then 4, 8): the data engineer is told, once per
    run, and not when PREFECT_API_URL names a server of their own."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.agencies import TEMPORARY_SERVER_NOTE, temporary_server_note

    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        assert temporary_server_note() == TEMPORARY_SERVER_NOTE
    with temporary_settings(updates={PREFECT_API_URL: "http://10.0.0.5:4200/api"}):
        assert temporary_server_note() is None
    assert "PostgreSQL" in TEMPORARY_SERVER_NOTE and "about 2 s" in TEMPORARY_SERVER_NOTE
