"""The period a scheduled run appraises, from its scheduled time in Asia/Jakarta."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from flows.scheduled import closed_period

WIB = ZoneInfo("Asia/Jakarta")


@pytest.mark.parametrize(
    ("scheduled", "period"),
    [
        # 02:00 WIB on 15 January is still 14 January in UTC: the local date decides.
        (datetime(2026, 1, 14, 19, 0, tzinfo=UTC), "2025-S2"),
        (datetime(2026, 1, 15, 2, 0, tzinfo=WIB), "2025-S2"),
        (datetime(2026, 7, 14, 19, 0, tzinfo=UTC), "2026-S1"),
        (datetime(2026, 7, 15, 2, 0, tzinfo=WIB), "2026-S1"),
        # Naive times are UTC, as Prefect reports them.
        (datetime(2026, 1, 14, 19, 0), "2025-S2"),
        # A half-year's first local day closes the previous half-year.
        (datetime(2026, 6, 30, 17, 0, tzinfo=UTC), "2026-S1"),  # 1 July 00:00 WIB
        (datetime(2026, 6, 30, 16, 59, tzinfo=UTC), "2025-S2"),  # 30 June 23:59 WIB
        (datetime(2026, 12, 31, 17, 0, tzinfo=UTC), "2026-S2"),  # 1 January 2027 WIB
        # A late run still appraises the period it was scheduled for.
        (datetime(2026, 3, 2, 9, 0, tzinfo=WIB), "2025-S2"),
        (datetime(2026, 11, 23, 9, 0, tzinfo=WIB), "2026-S1"),
    ],
)
def test_closed_period(scheduled, period):
    assert closed_period(scheduled).id == period
