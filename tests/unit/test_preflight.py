"""Checks before a run starts (kinerja/preflight.py): one line, what is wrong and what is there."""

from __future__ import annotations

import socket
import time

import pytest

from kinerja.preflight import PreflightError, check_landing, check_policy, check_warehouse


def _zone(tmp_path):
    for agency, period in (("3374", "2025-S1"), ("3374", "2025-S2"), ("1171", "2025-S1")):
        (tmp_path / agency / period).mkdir(parents=True)
    (tmp_path / "not-an-agency").mkdir()
    return tmp_path


def test_an_existing_period_folder_passes(tmp_path):
    check_landing(_zone(tmp_path), "3374", "2025-S2")


def test_an_unknown_agency_is_named_with_the_agencies_there(tmp_path):
    with pytest.raises(PreflightError) as caught:
        check_landing(_zone(tmp_path), "3375", "2025-S1")
    assert str(caught.value) == (f"{tmp_path}/3375/2025-S1: no such period folder in the landing "
                                 f"zone: unknown agency 3375 (agencies in {tmp_path}: 1171, 3374)")


def test_a_missing_period_lists_the_agencys_periods(tmp_path):
    with pytest.raises(PreflightError, match=r"\(periods of 3374: 2025-S1, 2025-S2\)$"):
        check_landing(_zone(tmp_path), "3374", "2026-S1")


def test_a_missing_landing_zone_says_so(tmp_path):
    with pytest.raises(PreflightError, match="the landing zone .*nowhere does not exist"):
        check_landing(tmp_path / "nowhere", "3374", "2025-S1")


def test_sql_sources_for_every_dataset_need_no_folder(tmp_path):
    every = ("units", "employees", "calendar", "attendance", "skp", "ratings", "unit_iku",
             "budget")
    check_landing(tmp_path / "nowhere", "3374", "2025-S1", every)
    with pytest.raises(PreflightError):
        check_landing(tmp_path / "nowhere", "3374", "2025-S1", every[:-1])


def test_an_unknown_policy_is_one_line():
    check_policy("permenpanrb-6-2022")
    with pytest.raises(PreflightError, match="^policy no-such-policy: ") as caught:
        check_policy("no-such-policy")
    assert "\n" not in str(caught.value)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_refused_connection_fails_at_once_with_the_password_masked():
    url = f"postgresql+psycopg://kinerja:pw-1234@127.0.0.1:{_closed_port()}/kinerja"
    started = time.monotonic()
    with pytest.raises(PreflightError) as caught:
        check_warehouse(url)
    # At a terminal a refused connection is an answer, not something to retry for minutes.
    assert time.monotonic() - started < 5
    message = str(caught.value)
    assert message.startswith("warehouse postgresql+psycopg://kinerja:***@127.0.0.1:")
    assert "does not answer" in message and "pw-1234" not in message


def test_sqlite_needs_its_folder(tmp_path):
    check_warehouse(f"sqlite:///{tmp_path / 'w.db'}")
    assert not (tmp_path / "w.db").exists()  # checking creates nothing
    with pytest.raises(PreflightError, match="does not exist"):
        check_warehouse(f"sqlite:///{tmp_path / 'missing' / 'w.db'}")


def test_a_live_postgres_passes(postgres_url):
    check_warehouse(postgres_url)
