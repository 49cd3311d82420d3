"""kinerja.toml / kinerja.yaml: global settings, agencies, per-agency landing, policy and SQL
sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from kinerja.config import ConfigError, load_settings

TOML = """
landing = "landing"
warehouse_url = "postgresql+psycopg://kinerja@db/kinerja"
reports = "/data/reports"
policy = "permenpanrb-6-2022"
max_quarantine_share = 0.1
run_lock_wait_seconds = 0

[agencies.3374]
name = "Kota Semarang"
landing = "/data/landing-semarang"
policy = "semarang-2026.yaml"

[agencies.3374.sources]
skp = { url = "mysql+pymysql://kinerja:s3cret@db/ekinerja", query = "ekinerja_mariadb/skp.sql" }

[agencies.3374.sources.ratings]  # the long form of a source
url = "mysql+pymysql://kinerja:${EKINERJA_PW}@db/ekinerja"
query = "x.sql"
chunk_rows = 1000

[agencies.1171]
name = "Kota Banda Aceh"
"""

YAML = """
landing: /data/landing
agencies:
  3374:
    name: Kota Semarang
    sources:
      attendance:
        url: mysql+pymysql://presensi@db/presensi
        query: ekinerja_mariadb/attendance.sql
"""

_ENV = ("KINERJA_CONFIG", "KINERJA_LANDING", "KINERJA_WAREHOUSE_URL", "KINERJA_REPORTS",
        "KINERJA_WORK", "KINERJA_POLICY", "KINERJA_RUN_LOCK_WAIT")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_agencies_with_names_landing_policy_and_sql_sources(tmp_path):
    write(tmp_path, "kinerja.toml", TOML)
    settings = load_settings(tmp_path)
    assert settings.landing == tmp_path / "landing"  # relative to the file
    assert settings.reports == Path("/data/reports")
    assert settings.max_quarantine_share == 0.1
    assert settings.run_lock_wait_seconds == 0
    assert sorted(settings.agencies) == ["1171", "3374"]
    assert settings.agency_names == {"3374": "Kota Semarang", "1171": "Kota Banda Aceh"}

    assert settings.agency_landing("3374") == Path("/data/landing-semarang")
    assert settings.agency_landing("1171") == tmp_path / "landing"
    assert settings.agency_policy("3374") == "semarang-2026.yaml"
    assert settings.agency_policy("1171") == "permenpanrb-6-2022"
    assert settings.agency_name("9999") == "9999"  # warehouse.md: the code when unconfigured

    sources = settings.agency("3374").sources
    assert sorted(sources) == ["ratings", "skp"]
    assert sources["skp"].query == "ekinerja_mariadb/skp.sql"
    assert sources["ratings"].chunk_rows == 1000
    assert settings.agency("1171").sources == {}
    # The password never shows, even when the settings are printed or logged.
    assert "s3cret" not in repr(settings)
    assert "mysql+pymysql://kinerja:***@db/ekinerja" in repr(sources["skp"])


def test_yaml_and_the_file_named_by_kinerja_config(tmp_path, monkeypatch):
    path = write(tmp_path, "anywhere.yaml", YAML)
    monkeypatch.setenv("KINERJA_CONFIG", str(path))
    settings = load_settings(tmp_path / "elsewhere")
    assert settings.landing == Path("/data/landing")
    assert list(settings.agency("3374").sources) == ["attendance"]

    monkeypatch.setenv("KINERJA_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="missing.toml"):
        load_settings(tmp_path)


def test_environment_overrides_the_file(tmp_path, monkeypatch):
    write(tmp_path, "kinerja.toml", TOML)
    monkeypatch.setenv("KINERJA_LANDING", "/env/landing")
    monkeypatch.setenv("KINERJA_RUN_LOCK_WAIT", "30")
    settings = load_settings(tmp_path)
    assert settings.landing == Path("/env/landing")
    assert settings.run_lock_wait_seconds == 30


def test_defaults_without_a_file(tmp_path):
    settings = load_settings(tmp_path)
    assert settings.warehouse_url == "sqlite:///warehouse.db"
    assert settings.agencies == {}
    assert settings.run_lock_wait_seconds == 6 * 3600


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[agencies.3374.sources]\nskpp = { url = "sqlite://", query = "q.sql" }\n',
         "unknown dataset 'skpp'"),
        ('[agencies.3374.sources]\nskp = { url = "sqlite://" }\n', "missing query"),
        ('[agencies.3374.sources]\nskp = { url = "sqlite://", query = "q.sql", x = 1 }\n',
         "unknown key"),
        ('[agencies.3374]\nsource = {}\n', "unknown key(s) source"),
        ("landing = [\n", "cannot read the configuration"),
        ("run_lock_wait_seconds = -1\n", "must not be negative"),
    ],
)
def test_broken_configuration_names_the_problem(tmp_path, text, message):
    write(tmp_path, "kinerja.toml", text)
    with pytest.raises(ConfigError) as raised:
        load_settings(tmp_path)
    assert message in str(raised.value)


@pytest.mark.parametrize("key, default, in_file, in_env, wrong", [
    ("attendance_partition_rows", 1_000_000, 250_000, 5000,
     (("0", "must be at least 1"), ("many", "must be a whole number"))),
    ("parallel_from_employees", 40_000, 0, 250_000,  # 0: always
     (("-1", "must be at least 0"), ("1.5", "must be a whole number"))),
])
def test_whole_number_settings_from_the_file_and_the_environment(tmp_path, monkeypatch, key,
                                                                 default, in_file, in_env,
                                                                 wrong):
    env = f"KINERJA_{key.upper()}"
    monkeypatch.delenv(env, raising=False)
    assert getattr(load_settings(tmp_path), key) == default
    write(tmp_path, "kinerja.toml", f"{key} = {in_file}\n")
    assert getattr(load_settings(tmp_path), key) == in_file
    monkeypatch.setenv(env, str(in_env))
    assert getattr(load_settings(tmp_path), key) == in_env
    for value, message in wrong:
        monkeypatch.setenv(env, value)
        with pytest.raises(ConfigError, match=message):
            load_settings(tmp_path)
