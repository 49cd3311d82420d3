"""Partitioned attendance (issue 8, tasks/sources/partition.py) gives exactly what the whole dataset
gives: the accepted rows, the quarantine (record_ref file:line, reasons, payload, in file and line
order), the row accounting per file and every fact table.

The reference is the unpartitioned path: `extract_dataset` + `validate_dataset` over the whole
dataset and `score_period` over the whole frames. The partitioned path is the run's own steps
(`validate_source`, `score`) with a partition size small enough to force several partitions.

Read by two processes (a large agency, tasks/second_process.py), the partitions are those of one
process row for row, and so is everything else: wherever the two meet (in one process, every
meeting point) and with a real second process (Prefect's process pool).
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

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
from tasks.sources.extract import DatasetError, extract_dataset, period_dir
from tasks.sources.partition import (
    PartitionedFrames,
    merge_halves,
    partition_of,
    plan_split,
    validate_first_half,
    validate_partitioned,
    validate_second_half,
)
from tasks.sources.validate import context_after, validate_dataset
from tests.landing import FILES, NIP_A, NIP_B, NIP_C, write_period
from tests.reliability.test_properties_scoring import BASE, scoring_inputs
from tests.two_processes import second_process_takes_blocks, second_process_takes_partitions
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
        steps.score_attendance.fn(PERIOD.id, load_policy(POLICY_NAME), str(work_root))
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


# --- two processes -------------------------------------------------------------------------


def assert_same_partitions(two: PartitionedFrames, one: PartitionedFrames) -> None:
    """Row for row, partition by partition: the same rows in the same (file and line) order."""
    assert two.count == one.count
    for index in range(one.count):
        pd.testing.assert_frame_equal(two.read(index), one.read(index), check_exact=True)


def attendance_context(folder: Path) -> ValidationContext:
    """The context attendance is validated in: units and employees accepted."""
    ctx = ValidationContext(PERIOD).with_limits(InputLimits())
    for name in ("units", "employees"):
        ctx = context_after(ctx, validate_dataset(extract_dataset(folder, name), ctx))
    return ctx


def test_two_halves_equal_one_process_wherever_they_meet(generated, tmp_path):
    # In this process, both halves one after the other: the first takes `meet` blocks, the
    # second the rest from the last back, merged as the run merges them.
    ctx, limits = attendance_context(generated), InputLimits()
    rows = 2_000
    expected, expected_files = validate_partitioned(
        "attendance", generated, None, AGENCY, PERIOD, limits, ctx, tmp_path / "one", rows)
    one = PartitionedFrames(tmp_path / "one" / "accepted" / "attendance")
    assert one.count >= 4 and expected.rows_quarantined > 20
    blocks = None
    for meet in itertools.count():
        accepted = PartitionedFrames(tmp_path / f"two-{meet}" / "accepted" / "attendance")
        plan = plan_split("attendance", generated, limits, accepted, rows, 10**6)
        blocks = len(plan.blocks)
        calls = itertools.count()
        first, first_files, taken = validate_first_half(plan, limits, ctx,
                                                        lambda: next(calls) >= meet)  # noqa: B023
        other = validate_second_half(plan, limits, ctx)
        assert taken == list(range(meet)) and other.blocks == list(range(meet, blocks))
        validated, files = merge_halves(plan, first, first_files, other)

        assert_same_partitions(accepted, one)
        assert accepted.blocks == other.blocks
        pd.testing.assert_frame_equal(validated.quarantine, expected.quarantine)
        pd.testing.assert_frame_equal(validated.file_counts, expected.file_counts)
        assert files == expected_files  # hashes, sizes, rows read, in file order
        # The claims and the second process's quarantine are gone: partitions only.
        assert {p.name for p in accepted.folder.iterdir()
                if not p.name.startswith("part-")} == {"partitions.json"}
        if meet == blocks:
            break
    assert blocks is not None and blocks >= 8  # 13 files of about equal size


@pytest.fixture
def two_processes(prefect_harness, monkeypatch):
    """Both processes take part: attendance's blocks, then its partitions' figures."""
    return SimpleNamespace(plans=second_process_takes_blocks(monkeypatch),
                           scored=second_process_takes_partitions(monkeypatch))


def crashed_task_runs(name: str) -> int:
    """How many task runs named `name` Prefect holds as Crashed with the second process's
    message (tasks/second_process.py `mark_crashed`)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterName

    from tasks.second_process import CRASHED_MESSAGE

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            task_run_filter=TaskRunFilter(name=TaskRunFilterName(any_=[name])))
    return sum(1 for r in runs if r.state is not None and r.state.type.value == "CRASHED"
               and r.state.message == CRASHED_MESSAGE)


def test_a_second_process_gives_what_one_gives(generated, tmp_path, two_processes, monkeypatch):
    reference, _ = whole(generated)
    rows = len(reference["attendance"].accepted) // 6
    two_summaries, two = partitioned(generated, tmp_path / "two", rows)
    monkeypatch.setenv("KINERJA_PARALLEL_FROM_EMPLOYEES", str(10**9))
    one_summaries, one = partitioned(generated, tmp_path / "one", rows)

    split = two.partitions("accepted", "attendance")
    assert len(two_processes.plans) == 1
    assert split.blocks and 0 not in split.blocks  # both processes read a part
    [scored] = two_processes.scored  # and both scored a part
    assert scored and 0 not in scored and scored == sorted(scored, reverse=True)
    assert one.partitions("accepted", "attendance").blocks == []
    assert_same_partitions(split, one.partitions("accepted", "attendance"))
    for name, two_summary, one_summary in zip(VALIDATION_ORDER, two_summaries, one_summaries,
                                               strict=True):
        pd.testing.assert_frame_equal(two.read("quarantine", name), one.read("quarantine", name))
        assert ({k: v for k, v in two_summary.items() if k != "timing"}
                == {k: v for k, v in one_summary.items() if k != "timing"})
    for table in FACT_TABLES:
        pd.testing.assert_frame_equal(two.read("facts", table), one.read("facts", table),
                                      check_exact=True)
    # And the whole dataset's reference, as for one process.
    assert_equal_results(generated, tmp_path / "again", rows)


def test_an_unusable_file_in_the_second_process_fails_as_in_one(tmp_path, two_processes,
                                                                monkeypatch):
    # The last file, the second process's first block: its error reaches the run unchanged.
    broken = f"nip,date,status\n{NIP_A},2025-01-06,H\n{NIP_B},2025-01-06,H,extra\n"
    folder = write_period(tmp_path / "landing", {**ODD_FILES, "attendance/mesin_01.csv": None,
                                                  "attendance/surat.csv": None,
                                                  "attendance/zz.csv": broken})
    with pytest.raises(DatasetError) as in_two:
        partitioned(folder, tmp_path / "two", 4)
    monkeypatch.setenv("KINERJA_PARALLEL_FROM_EMPLOYEES", str(10**9))
    with pytest.raises(DatasetError) as in_one:
        partitioned(folder, tmp_path / "one", 4)
    assert str(in_two.value) == str(in_one.value)
    assert in_two.value.path == "attendance/zz.csv" and "line 3 has 4 fields" in str(in_two.value)


def test_a_killed_second_process_leaves_its_part_to_this_one(generated, tmp_path, two_processes,
                                                              monkeypatch):
    # Killed (as the OOM killer would) once it has written its first block: that block and the
    # rest are read again here, and the result is still one process's.
    reference, _ = whole(generated)
    rows = len(reference["attendance"].accepted) // 6
    marker = tmp_path / "killed"
    monkeypatch.setenv("KINERJA_FAULT_POINT", "validate.second_block:kill")
    monkeypatch.setenv("KINERJA_FAULT_MARKER", str(marker))
    crashed = crashed_task_runs("validate-attendance-second-half")
    two_summaries, two = partitioned(generated, tmp_path / "two", rows)
    monkeypatch.delenv("KINERJA_FAULT_POINT")
    assert marker.read_text().startswith("validate.second_block ")
    assert int(marker.read_text().split()[1]) != os.getpid()  # the second process, not this one
    # Its task run is not left Running in Prefect for ever: it crashed, and says so.
    assert crashed_task_runs("validate-attendance-second-half") == crashed + 1
    monkeypatch.setenv("KINERJA_PARALLEL_FROM_EMPLOYEES", str(10**9))
    one_summaries, one = partitioned(generated, tmp_path / "one", rows)

    assert_same_partitions(two.partitions("accepted", "attendance"),
                           one.partitions("accepted", "attendance"))
    pd.testing.assert_frame_equal(two.read("quarantine", "attendance"),
                                  one.read("quarantine", "attendance"))
    attendance = VALIDATION_ORDER.index("attendance")
    assert ({k: v for k, v in two_summaries[attendance].items() if k != "timing"}
            == {k: v for k, v in one_summaries[attendance].items() if k != "timing"})


def test_a_second_process_killed_while_scoring_leaves_its_part_to_this_one(
        generated, tmp_path, two_processes, monkeypatch):
    # Killed (as the OOM killer would) once it has written its first partition's figures: its
    # partitions without figures are scored here, and the facts are still one process's. (An
    # error there takes the same way: the task's result raises.)
    reference, _ = whole(generated)
    rows = len(reference["attendance"].accepted) // 6
    marker = tmp_path / "failed"
    monkeypatch.setenv("KINERJA_FAULT_POINT", "score.second_partition:kill")
    monkeypatch.setenv("KINERJA_FAULT_MARKER", str(marker))
    monkeypatch.setenv("KINERJA_TASK_RETRIES", "0")
    crashed = crashed_task_runs("score-attendance-share")
    _, two = partitioned(generated, tmp_path / "two", rows)
    monkeypatch.delenv("KINERJA_FAULT_POINT")
    point, pid = marker.read_text().split()
    assert point == "score.second_partition" and int(pid) != os.getpid()  # in the other one
    assert crashed_task_runs("score-attendance-share") == crashed + 1
    assert two_processes.scored == [[]]  # nothing of it counted, though one file was written
    assert not (two.root / "figures").exists()
    monkeypatch.setenv("KINERJA_PARALLEL_FROM_EMPLOYEES", str(10**9))
    _, one = partitioned(generated, tmp_path / "one", rows)
    for table in FACT_TABLES:
        pd.testing.assert_frame_equal(two.read("facts", table), one.read("facts", table),
                                      check_exact=True)


def test_figures_shared_at_every_meeting_point_are_one_process_s(generated, tmp_path):
    # In one process: this one takes the first `meet` partitions, the "other" the rest from
    # the last back; and a partition the other claimed but never wrote (it died) is scored
    # here. Every way, the figures are those of all partitions scored at once.
    from tasks.attendance_share import FigureParts, gathered, score_partitions, second_share

    reference, _ = whole(generated)
    _, work = partitioned(generated, tmp_path / "one", len(reference["attendance"].accepted) // 5)
    attendance = work.partitions("accepted", "attendance")
    staff, calendar = work.read("accepted", "employees"), work.read("accepted", "calendar")
    policy = load_policy(POLICY_NAME)
    expected = work.read(*steps.FIGURES)
    assert attendance.count >= 5 and len(expected) == len(staff)
    parts = FigureParts(tmp_path / "figures")
    for meet in range(attendance.count + 1):
        for died in (None, meet):
            parts.start()
            own = dict(score_partitions(attendance, staff, calendar, PERIOD, policy,
                                        take=lambda i, meet=meet: i < meet
                                        and parts.claims.take(i)))
            if died is not None and died < attendance.count:
                assert parts.claims.take(died)  # claimed, never written
            done = second_share(attendance, staff, calendar, PERIOD, policy, parts)
            assert sorted(own) == list(range(meet))
            stop = meet + (died is not None and died < attendance.count)
            assert done == list(range(attendance.count - 1, stop - 1, -1))
            figures = gathered(attendance, staff, calendar, PERIOD, policy, own, parts)
            pd.testing.assert_frame_equal(figures, expected, check_exact=True)


def test_blocks_cut_files_in_order_by_size():
    from tasks.sources.partition import split_blocks

    assert split_blocks([10] * 8, 4) == [(0, 2), (2, 4), (4, 6), (6, 8)]
    assert split_blocks([1, 1, 1, 97], 4) == [(0, 3), (3, 4)]  # one file is one block at most
    assert split_blocks([5, 5], 16) == [(0, 1), (1, 2)]
    assert split_blocks([0, 0, 0], 2) == [(0, 1), (1, 3)]
    assert split_blocks([], 4) == []


def test_partitions_sized_from_each_file_s_line_feeds(tmp_path):
    # A file over 1 MiB: its records are counted the same way when it is surveyed for two
    # processes and when it is fingerprinted for one.
    from tasks.sources.extract import open_dataset, survey_dataset

    rows = 60_000
    body = "".join(f"{NIP_A},2025-01-{1 + i % 28:02d},H,07:{i % 60:02d},16:00\n"
                   for i in range(rows))
    folder = write_period(tmp_path / "landing", {
        "attendance/mesin_01.csv": "nip,date,status,check_in,check_out\n" + body,
        "attendance/surat.csv": "nip,date,status\n" + f"{NIP_B},2025-01-03,S\n" * 3})
    assert (folder / "attendance" / "mesin_01.csv").stat().st_size > 2 * 1024 * 1024
    survey = survey_dataset(folder, "attendance")
    with open_dataset(folder, "attendance") as stream:
        assert stream.records_estimate == survey.records_estimate
    assert abs(survey.records_estimate - (rows + 3)) <= rows / 100
    assert survey.paths == ["attendance/mesin_01.csv", "attendance/surat.csv"]


def test_dataset_error_survives_pickling():
    import pickle

    error = DatasetError("attendance/a.csv", "not valid CSV")
    again = pickle.loads(pickle.dumps(error))
    assert (type(again), str(again), again.path, again.reason) == (
        DatasetError, str(error), error.path, error.reason)


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


def test_long_first_lines_do_not_shrink_the_partitions(tmp_path):
    """A file whose first MiB holds few long lines and the rest many short ones: the records
    are counted, not estimated from the start, so the partitions (and the run's memory) follow
    the rows there are. 300 lines of 4,000 bytes then 60,000 short ones: 60,300 records, where
    the first MiB alone would have suggested about 700."""
    from tasks.sources.extract import open_dataset, survey_dataset

    long_rows = "".join(f"{NIP_A},2025-01-02,H,07:00,16:00,{'x' * 3950}\n" for _ in range(300))
    short_rows = "".join(f"{NIP_A},2025-01-{1 + i % 28:02d},H,07:00,16:00,\n"
                         for i in range(60_000))
    folder = write_period(tmp_path / "landing", {
        "attendance/mesin_01.csv": "nip,date,status,check_in,check_out,catatan\n" + long_rows
        + short_rows})
    survey = survey_dataset(folder, "attendance")
    with open_dataset(folder, "attendance") as stream:
        # 60,300 rows of mesin_01.csv and the one of write_period's own attendance file.
        assert stream.records_estimate == survey.records_estimate == 60_301
