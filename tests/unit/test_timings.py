"""A run's own timings (kinerja/timings.py): wall seconds and peak memory per step."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from kinerja import timings

MB = 1024 * 1024
RESETTABLE = Path("/proc/self/clear_refs").exists()


def allocate(megabytes: int) -> None:
    """Touch `megabytes` of fresh memory, then free it: the peak rises, the resident size not."""
    block = bytearray(megabytes * MB)
    for offset in range(0, len(block), 4096):
        block[offset] = 1
    del block


@pytest.mark.skipif(not RESETTABLE, reason="the per-step peak needs Linux's clear_refs")
def test_each_step_reports_its_own_peak():
    with timings.measure() as big:
        allocate(150)
    with timings.measure() as small:
        time.sleep(0.05)
    assert big["peak_kind"] == small["peak_kind"] == "step"
    # The second step does not inherit the first one's peak: the mark was reset between them.
    assert big["peak_rss_mb"] - small["peak_rss_mb"] >= 120
    assert small["seconds"] >= 0.05
    assert not big["shared"] and not small["shared"]


def test_overlapping_steps_share_their_peak():
    started, release = threading.Event(), threading.Event()
    figures: dict[str, dict] = {}

    def worker() -> None:
        with timings.measure() as figures["worker"]:
            started.set()
            release.wait(5)

    thread = threading.Thread(target=worker)
    thread.start()
    started.wait(5)
    with timings.measure() as figures["main"]:
        allocate(100)
    release.set()
    thread.join()
    assert figures["main"]["shared"] and figures["worker"]["shared"]
    # The worker ran while the main thread allocated: its peak is no less than the main's.
    assert figures["worker"]["peak_rss_mb"] >= figures["main"]["peak_rss_mb"]


def test_timed_adds_the_figures_to_a_steps_result():
    @timings.timed("extract+validate", key="dataset")
    def step(dataset: str, rows: int) -> dict:
        return {"dataset": dataset, "rows": rows}

    result = step("attendance", rows=3)
    assert result["rows"] == 3
    assert result["timing"]["step"] == "extract+validate attendance"
    assert result["timing"]["seconds"] >= 0 and result["timing"]["peak_rss_mb"] > 0


def test_a_run_clock_lists_its_laps_and_the_whole_run():
    clock = timings.RunClock()
    time.sleep(0.02)
    clock.lap("score", [{"step": "part", "seconds": 0.01, "peak_rss_mb": 1.0}, None])
    allocate(80)
    clock.lap("report")
    steps = clock.steps()
    assert [s["step"] for s in steps] == ["score", "report", "run"]
    assert steps[0]["parts"] == [{"step": "part", "seconds": 0.01, "peak_rss_mb": 1.0}]
    run = steps[-1]
    assert run["seconds"] >= steps[0]["seconds"] + steps[1]["seconds"]
    assert run["peak_rss_mb"] == max(s["peak_rss_mb"] for s in steps)
    if RESETTABLE:
        assert steps[1]["peak_rss_mb"] - steps[0]["peak_rss_mb"] >= 60
    text = timings.describe(steps)
    assert text.splitlines()[0].startswith("score") and "  part" in text
    clock.close()
    clock.close()
    with pytest.raises(RuntimeError):
        clock.lap("late")
