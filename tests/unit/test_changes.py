"""Change detection between two publications (tasks/warehouse/changes.py), on hand-made frames."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from tasks.warehouse.changes import (
    CHANGE_FIELDS,
    appraisal_changes,
    employee_outcomes,
    source_file_changes,
    value_text,
)

A, B, C, D = "199001012015031001", "198505152010122002", "199212302019031003", "197001012000011004"


def frame(nips: list[str], **columns: list) -> pd.DataFrame:
    return pd.DataFrame({"nip": pd.array(nips, dtype="string"), **columns})


def rows(changes: pd.DataFrame) -> list[tuple]:
    return [tuple(r) for r in changes.itertuples(index=False)]


def test_numbers_within_1e9_are_equal_and_beyond_are_not() -> None:
    old = frame([A, B, C], final_score=[90.0, 90.0, 1e6])
    new = frame([A, B, C], final_score=[90.0 + 0.9e-9, 90.0 + 2e-9, 1e6 + 0.5e-9])
    changes = appraisal_changes(old, new, ["final_score"])
    # The text is exact (repr), so a difference just above the tolerance is visible.
    assert rows(changes) == [(B, "final_score", "90.0", repr(90.0 + 2e-9))]
    assert repr(90.0 + 2e-9) != "90.0"


def test_missing_equals_missing_and_differs_from_a_value() -> None:
    old = frame([A, B, C, D], results_score=[math.nan, math.nan, 75.5, None],
                predikat=pd.array([None, "BAIK", None, "KURANG"], dtype="string"))
    new = frame([A, B, C, D], results_score=[math.nan, 80.25, math.nan, None],
                predikat=pd.array([None, "BAIK", "BAIK", "KURANG"], dtype="string"))
    changes = appraisal_changes(old, new, ["results_score", "predikat"])
    assert rows(changes) == [
        (B, "results_score", None, "80.25"),
        (C, "results_score", "75.5", None),
        (C, "predikat", None, "BAIK"),
    ]


def test_employees_who_appear_or_disappear_are_one_star_row_each() -> None:
    old = frame([A, B], final_score=[90.0, 80.0], predikat=["BAIK", "BAIK"])
    new = frame([B, C], final_score=[80.0, 70.0], predikat=["BAIK", "BUTUH_PERBAIKAN"])
    changes = appraisal_changes(old, new, ["final_score", "predikat"])
    assert rows(changes) == [(A, "*", "present", "absent"), (C, "*", "absent", "present")]


def test_booleans_integers_and_text_print_in_their_own_form() -> None:
    old = frame([A, B], promotion_eligible=[True, False],
                rank_in_unit=pd.array([1, None], dtype="Int64"),
                absent_days_ytd=np.array([3, 30], dtype="int64"),
                training_needs=["", "akuntabel,loyal"])
    new = frame([A, B], promotion_eligible=[False, False],
                rank_in_unit=pd.array([2, 1], dtype="Int64"),
                absent_days_ytd=np.array([3, 12], dtype="int64"),
                training_needs=["kompeten", "akuntabel,loyal"])
    changes = appraisal_changes(
        old, new, ["promotion_eligible", "rank_in_unit", "absent_days_ytd", "training_needs"])
    assert rows(changes) == [
        (B, "rank_in_unit", None, "1"),
        (B, "absent_days_ytd", "30", "12"),
        (A, "rank_in_unit", "1", "2"),
        (A, "training_needs", "", "kompeten"),
        (A, "promotion_eligible", "true", "false"),
    ]


def test_booleans_read_back_as_0_and_1_compare_with_booleans() -> None:
    old = frame([A, B], reward_candidate=pd.array([1, 0], dtype="Int64"))
    new = frame([A, B], reward_candidate=[True, True])
    assert rows(appraisal_changes(old, new, ["reward_candidate"])) == [
        (B, "reward_candidate", "0", "true")]


def test_identical_frames_give_no_rows_with_the_change_columns() -> None:
    old = frame([A, B], final_score=[1 / 3, math.nan], status=["APPRAISED", "INACTIVE"])
    changes = appraisal_changes(old, old.copy(), ["final_score", "status"])
    assert changes.empty
    assert list(changes.columns) == ["nip", "field", "old_value", "new_value"]


def test_rows_are_ordered_by_nip_then_table_order() -> None:
    old = frame([B, A], final_score=[1.0, 1.0], predikat=["BAIK", "BAIK"],
                promotion_eligible=[True, True])
    new = frame([A, B], final_score=[2.0, 2.0], predikat=["KURANG", "KURANG"],
                promotion_eligible=[False, False])
    changes = appraisal_changes(old, new, ["promotion_eligible", "predikat", "final_score"])
    assert [(r[0], r[1]) for r in rows(changes)] == [
        (B, "final_score"), (B, "predikat"), (B, "promotion_eligible"),
        (A, "final_score"), (A, "predikat"), (A, "promotion_eligible"),
    ]


def test_employee_outcomes_joins_appraisal_and_followup_fields() -> None:
    appraisal = pd.DataFrame({"agency_code": "3374", "period_id": "2025-S1", "nip": [A],
                              "run_id": "r1",
                              **{f: [None] for f in CHANGE_FIELDS[:11]}})
    followup = pd.DataFrame({"agency_code": "3374", "period_id": "2025-S1", "nip": [A],
                             "run_id": "r1", **{f: [None] for f in CHANGE_FIELDS[11:]}})
    outcomes = employee_outcomes(appraisal, followup)
    assert list(outcomes.columns) == ["nip", *CHANGE_FIELDS]
    with pytest.raises(ValueError, match="more than once"):
        employee_outcomes(pd.concat([appraisal, appraisal]), followup)


def test_frames_without_a_field_or_with_a_repeated_nip_are_refused() -> None:
    with pytest.raises(ValueError, match="lacks column"):
        appraisal_changes(frame([A], final_score=[1.0]), frame([A]), ["final_score"])
    with pytest.raises(ValueError, match="more than once"):
        appraisal_changes(frame([A, A], final_score=[1.0, 2.0]), frame([A], final_score=[1.0]),
                          ["final_score"])


def test_value_text() -> None:
    assert value_text(pd.Series([0.1 + 0.2, 100.0, math.nan])).tolist() == [
        "0.30000000000000004", "100.0", None]
    assert value_text(pd.Series([True, None], dtype="boolean")).tolist() == ["true", None]
    assert value_text(pd.Series(["BAIK", None], dtype="string")).tolist() == ["BAIK", None]


def test_source_file_changes_by_path_and_sha256() -> None:
    old = pd.DataFrame({"dataset": ["ratings", "budget", "attendance"],
                        "path": ["ratings.csv", "budget.xlsx", "attendance/mesin_01.csv"],
                        "sha256": ["r1", "b1", "a1"], "bytes": [1, 2, 3]})
    new = pd.DataFrame({"dataset": ["ratings", "budget", "attendance"],
                        "path": ["ratings.csv", "budget.csv", "attendance/susulan.csv"],
                        "sha256": ["r2", "b1", "a2"]})
    changes = source_file_changes(old, new)
    assert rows(changes) == [
        ("attendance", "attendance/mesin_01.csv", "removed", "a1", None),
        ("attendance", "attendance/susulan.csv", "added", None, "a2"),
        ("budget", "budget.csv", "added", None, "b1"),
        ("budget", "budget.xlsx", "removed", "b1", None),
        ("ratings", "ratings.csv", "changed", "r1", "r2"),
    ]
    assert source_file_changes(old, old).empty


def test_the_views_labels_are_the_commands_labels():
    """ref_change_label (migration 0003, read by v_perubahan) holds exactly the labels of
    tasks/warehouse/change_labels.py, which `kinerja changes` prints."""
    import re

    from tasks.warehouse.change_labels import FIELD_LABELS, label_rows
    from tasks.warehouse.changes import CHANGE_FIELDS
    from tasks.warehouse.database import MIGRATIONS_DIR

    sql = (MIGRATIONS_DIR / "0003_change_labels.sql").read_text(encoding="utf-8")
    inserted = re.findall(r"VALUES \('((?:[^']|'')*)', '((?:[^']|'')*)', '((?:[^']|'')*)'\);", sql)
    unquote = [tuple(v.replace("''", "'") for v in row) for row in inserted]
    assert sorted(unquote) == sorted(label_rows())
    assert set(CHANGE_FIELDS) <= set(FIELD_LABELS)  # every change-tracked field has a name
