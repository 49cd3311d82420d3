"""Partitioned attendance (issue 8, tasks/sources/partition.py) gives exactly what the whole dataset
gives: the accepted rows, the quarantine (record_ref file:line, reasons, payload, in file and line
order), the row accounting per file and every fact table.

The reference is the unpartitioned path: `extract_dataset` + `validate_dataset` over the whole
dataset and `score_period` over the whole frames. The partitioned path is the run's own steps
(`validate_source`, `score`) with a partition size small enough to force several partitions.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prefect.logging import disable_run_logger

from kinerja.config import InputLimits
from kinerja.period import Period
from kinerja.policy import load_policy
from kinerja.synthetic import generate_landing
from schemas.outputs import FACT_TABLES
from schemas.sources import VALIDATION_ORDER, ValidationContext
from tasks import steps
from tasks.score import ScoringInputs, attendance_figures, score_period
from tasks.sources.extract import extract_dataset, period_dir
from tasks.sources.partition import partition_of
from tasks.sources.validate import context_after, validate_dataset
from tests.landing import FILES, NIP_A, NIP_B, NIP_C, write_period
from tests.reliability.test_properties_scoring import BASE, scoring_inputs
from tests.unit.test_score_support import POLICY

AGENCY = "3374"
PERIOD = Period.parse("2025-S1")
POLICY_NAME = "permenpanrb-6-2022"
ATTENDANCE_ORDER = ["nip", "date", "status", "check_in", "check_out"]


def whole(folder: Path) -> tuple[dict, dict[str, pd.DataFrame]]:
    """The unpartitioned reference: every dataset validated whole, then scored whole."""
    ctx = ValidationContext(PERIOD).with_limits(InputLimits())
    validated = {}
    for name in VALIDATION_ORDER:
        validated[name] = validate_dataset(extract_dataset(folder, name), ctx)
        ctx = context_after(ctx, validated[name])
    inputs = ScoringInputs(agency_code=AGENCY, period=PERIOD,
                           **{name: v.accepted for name, v in validated.items()})
    return validated, score_period(inputs, load_policy(POLICY_NAME))


def partitioned(folder: Path, work_root: Path, rows: int) -> tuple[list[dict], steps.WorkFolder]:
    """The run's steps, attendance in partitions of `rows` rows."""
    with disable_run_logger():
        summaries = [steps.validate_source.fn(name, str(folder), PERIOD.id, str(work_root),
                                              limits=InputLimits(), partition_rows=rows)
                     for name in VALIDATION_ORDER]
        work = steps.WorkFolder(work_root)
        empty = ScoringInputs(AGENCY, PERIOD, *[pd.DataFrame()] * 8)
        work.write("prior", "absent_days", empty.prior_absent_days)
        work.write("prior", "predikat", empty.prior_predikat)
        steps.score.fn(AGENCY, PERIOD.id, load_policy(POLICY_NAME), str(work_root))
    return summaries, work


def sorted_rows(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(ATTENDANCE_ORDER, kind="stable").reset_index(drop=True)


def assert_equal_results(folder: Path, work_root: Path, rows: int) -> int:
    """Compares everything; returns the number of partitions the run made."""
    reference, facts = whole(folder)
    summaries, work = partitioned(folder, work_root, rows)
    parts = work.partitions("accepted", "attendance")

    accepted = parts.read_all()
    pd.testing.assert_frame_equal(sorted_rows(accepted),
                                  sorted_rows(reference["attendance"].accepted))
    for name, summary in zip(VALIDATION_ORDER, summaries, strict=True):
        pd.testing.assert_frame_equal(work.read("quarantine", name),
                                      reference[name].quarantine.reset_index(drop=True))
        counts = pd.DataFrame(summary["files"])[["path", "rows_read", "rows_accepted",
                                                  "rows_quarantined"]]
        pd.testing.assert_frame_equal(counts, reference[name].file_counts, check_dtype=False)
        assert summary["rows_accepted"] == len(reference[name].accepted)
        assert summary["rows_quarantined"] == reference[name].rows_quarantined
    for table in FACT_TABLES:
        pd.testing.assert_frame_equal(work.read("facts", table), facts[table], check_exact=True)
    return parts.count


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("landing")
    generate_landing(root, AGENCY, 60, [PERIOD.id], seed=23, bad_rows=0.02)
    return period_dir(root, AGENCY, PERIOD)


def test_generated_data_with_bad_rows_partitioned_equals_whole(generated, tmp_path):
    reference, _ = whole(generated)
    rows = len(reference["attendance"].accepted)
    assert reference["attendance"].rows_quarantined > 20  # the bad rows are there to compare
    assert len(reference["attendance"].file_counts) > 1

    partitions = assert_equal_results(generated, tmp_path / "work", rows // 6)

    assert partitions >= 6
    work = steps.WorkFolder(tmp_path / "work")
    sizes = [len(work.partitions("accepted", "attendance").read(i)) for i in range(partitions)]
    assert min(sizes) > 0 and max(sizes) < rows / 2  # spread, not one partition doing it all
    assert not (tmp_path / "work" / "raw" / "attendance").exists()  # scratch removed


def test_one_partition_is_the_whole(generated, tmp_path):
    assert assert_equal_results(generated, tmp_path / "work", 10**9) == 1


# Files with different columns (an unknown one, one without check_out), a blank line, a value
# spanning lines, a record of empty fields, the same day in two files and rejected rows: the
# payload keeps each file's own columns and the quarantine comes back in file and line order.
ODD_FILES = {
    "attendance/a.csv": (
        "nip,date,status,check_in,check_out,terminal\n"
        f"{NIP_A},2025-01-02,H,07:20,16:05,T1\n"
        "\n"
        f"{NIP_B},2025-01-02,H,07:45:10,16:00:00,\"T\n2\"\n"
        f"{NIP_C},2025-13-02,H,07:00,16:00,T3\n"
        ",,,,,\n"
        f"{NIP_A},2025-01-03,X,07:20,16:05,\n"
        f"{NIP_B},2025-01-06,H,17:00,16:00,T1\n"
    ),
    "attendance/b.csv": (
        "date,nip,status,check_in\n"
        f"2025-01-02,{NIP_A},S,\n"
        f"2025-01-07,199001012015031999,H,07:00\n"
        f"2025-01-08, {NIP_B} ,h,08:10\n"
        f"2025-01-09,{NIP_C},C,\n"
    ),
    "attendance/c.csv": "nip,date,status,note\n" + "".join(
        f"{nip},2025-02-{day:02d},TK,\"catatan, {day}\"\n"
        for day in range(3, 8) for nip in (NIP_A, NIP_B, NIP_C)),
}


@pytest.mark.parametrize("rows", [1, 4])
def test_odd_files_partitioned_equal_whole(tmp_path, rows):
    folder = write_period(tmp_path / "landing", {**ODD_FILES,
                                                  "attendance/mesin_01.csv": None,
                                                  "attendance/surat.csv": None})
    assert set(FILES) - set(ODD_FILES)  # the other datasets are the tiny landing's
    reference, _ = whole(folder)
    assert reference["attendance"].rows_quarantined == 5
    partitions = assert_equal_results(folder, tmp_path / "work", rows)
    assert partitions == max(1, -(-27 // rows))  # 27 lines after the headers


def test_a_clean_landing_in_one_row_partitions(tmp_path):
    folder = write_period(tmp_path / "landing")
    assert assert_equal_results(folder, tmp_path / "work", 1) == 3


def test_every_employee_row_in_the_employee_partition():
    nips = pd.Series([NIP_A, f" {NIP_A} ", NIP_B, None, NIP_C, f"{NIP_C}\t"], dtype="str")
    part = partition_of(nips, 7)
    assert part[0] == part[1] and part[4] == part[5] and part[3] == 0
    assert ((part >= 0) & (part < 7)).all()


def test_partitions_are_the_same_in_another_process():
    # Python's own str hash differs from process to process (PYTHONHASHSEED): a partition
    # computed with it would send the employees' and their rows' NIPs apart.
    nips = [f"1990010120150310{i:02d}" for i in range(40)]
    script = ("import sys, pandas as pd; from tasks.sources.partition import partition_of; "
              "print(partition_of(pd.Series(sys.argv[1:], dtype='str'), 5).tolist())")
    other = subprocess.run([sys.executable, "-c", script, *nips], capture_output=True,
                           text=True, check=True, env={**os.environ, "PYTHONHASHSEED": "123"},
                           cwd=Path(__file__).parents[2])
    here = partition_of(pd.Series(nips, dtype="str"), 5)
    assert other.stdout.strip() == str([int(p) for p in here])
    assert len(set(here)) == 5  # and they spread


PARTITION_EXAMPLES = 15


@settings(BASE, max_examples=PARTITION_EXAMPLES)
@given(scoring_inputs(), st.integers(1, 6))
def test_scoring_by_partitions_equals_scoring_whole(inputs, partitions):
    part = partition_of(inputs.employees["nip"], partitions)
    rows = partition_of(inputs.attendance["nip"], partitions)
    figures = pd.concat(
        [attendance_figures(inputs.employees[part == p], inputs.attendance[rows == p],
                            inputs.period, inputs.calendar, POLICY)
         for p in range(partitions)], ignore_index=True)
    whole_facts = score_period(inputs, POLICY)
    inputs.attendance_figures = figures
    by_parts = score_period(inputs, POLICY)
    for table in FACT_TABLES:
        pd.testing.assert_frame_equal(by_parts[table], whole_facts[table], check_exact=True)
