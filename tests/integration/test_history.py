"""History and change log of a re-publication, written inside `publish_period`'s transaction, and
what `kinerja changes` and v_perubahan show of it, on SQLite and PostgreSQL.

The fact frames are small and hand-made (the builders of test_publish), so that every expected
change row can be written out by hand.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from kinerja.cli import app
from kinerja.period import Period
from tasks.warehouse import loader
from tasks.warehouse.change_log import change_log, run_changes
from tasks.warehouse.database import read_table
from tasks.warehouse.publish import publish_period, record_validation
from tasks.warehouse.run_ledger import current_run_id, fail_run, replaced_run_id, start_run
from tests.integration.test_publish import NIPS, employees_frame, make_facts, units_frame

A, B = "3374", "1174"
P = "2025-S1"
N0, N1, N2 = NIPS
NEW = "198001012005011005"
runner = CliRunner()


def files(**sha: str) -> pd.DataFrame:
    paths = {"employees": "employees.csv", "ratings": "ratings.csv",
             "attendance": "attendance/mesin_01.csv", "late": "attendance/susulan.csv"}
    return pd.DataFrame({
        "dataset": ["attendance" if k == "late" else k for k in sha],
        "path": [paths[k] for k in sha],
        "sha256": list(sha.values()),
        "bytes": 10, "rows_read": 1, "rows_accepted": 1, "rows_quarantined": 0,
    })


def publish_run(engine: sa.Engine, run_id: str, facts: dict[str, pd.DataFrame],
                nips: list[str] = NIPS, agency: str = A,
                sources: pd.DataFrame | None = None) -> None:
    start_run(engine, run_id=run_id, agency_code=agency, period_id=P, flow_run_id=None,
              kind="backfill", policy_name=None, policy_hash=None, code_version=None)
    if sources is not None:
        record_validation(engine, run_id, sources, pd.DataFrame())
    publish_period(engine, run_id=run_id, agency_code=agency, agency_name=None,
                   period=Period.parse(P), units=units_frame(),
                   employees=employees_frame(nips), facts=facts, counts={})


def corrected_facts() -> dict[str, pd.DataFrame]:
    """The first publication's frames with N2 gone, NEW arrived and a few values corrected."""
    facts = make_facts(A, P, nips=[N0, N1, NEW])
    appraisal = facts["fact_appraisal"].set_index("nip")
    appraisal.loc[N0, "final_score"] += 1e-12  # within 1e-9: not a change
    appraisal.loc[N1, "behavior_score"] += 1e-6
    appraisal.loc[N1, "rank_in_unit"] = pd.NA
    followup = facts["fact_followup"].set_index("nip")
    followup.loc[N0, "promotion_eligible"] = False
    followup.loc[N1, "training_needs"] = ""
    facts["fact_appraisal"] = appraisal.reset_index()[facts["fact_appraisal"].columns]
    facts["fact_followup"] = followup.reset_index()[facts["fact_followup"].columns]
    return facts


EXPECTED = {
    (N0, "promotion_eligible", "true", "false"),
    (N1, "behavior_score", "100.0", repr(100.0 + 1e-6)),
    (N1, "rank_in_unit", "1", None),
    (N1, "training_needs", "akuntabel,loyal", ""),
    (N2, "*", "present", "absent"),
    (NEW, "*", "absent", "present"),
}


def change_rows(engine: sa.Engine, run_id: str) -> set[tuple]:
    rows = read_table(engine, "appraisal_change")
    rows = rows[rows["run_id"] == run_id]
    assert set(rows["agency_code"]) <= {A} and set(rows["period_id"]) <= {P}
    return {tuple(None if pd.isna(v) else v for v in r)
            for r in rows[["nip", "field", "old_value", "new_value"]].itertuples(index=False)}


def test_first_publication_records_no_history_and_no_changes(engine: sa.Engine) -> None:
    publish_run(engine, "r1", make_facts(A, P))
    assert read_table(engine, "fact_appraisal_history").empty
    assert read_table(engine, "appraisal_change").empty
    assert replaced_run_id(engine, "r1") is None


def test_republication_keeps_history_and_logs_each_changed_value(engine: sa.Engine) -> None:
    publish_run(engine, "r1", make_facts(A, P),
                sources=files(employees="e1", ratings="r1", attendance="a1"))
    publish_run(engine, "other", make_facts(B, P, shift=1.0), agency=B)
    first = read_table(engine, "fact_appraisal", A, P)
    publish_run(engine, "r2", corrected_facts(), nips=[N0, N1, NEW],
                sources=files(employees="e1", ratings="r2", late="l1"))

    history = read_table(engine, "fact_appraisal_history")
    assert set(history["superseded_by_run_id"]) == {"r2"}
    pd.testing.assert_frame_equal(history.drop(columns="superseded_by_run_id"), first,
                                  check_exact=True)
    assert change_rows(engine, "r2") == EXPECTED
    assert replaced_run_id(engine, "r2") == "r1"
    assert current_run_id(engine, A, P) == "r2"

    found = run_changes(engine, "r2")
    assert found.change_rows == len(EXPECTED) and found.employees_changed == 4
    assert (found.appeared, found.disappeared) == ([NEW], [N2])
    assert found.predikat.empty
    assert [tuple(r) for r in found.files[["path", "change"]].itertuples(index=False)] == [
        ("attendance/mesin_01.csv", "removed"), ("attendance/susulan.csv", "added"),
        ("ratings.csv", "changed")]
    log = change_log(engine, "r2")
    # ordered by nip, then `*`, then the fields in table order
    assert log[["nip", "field"]].values.tolist() == [
        [NEW, "*"], [N1, "behavior_score"], [N1, "rank_in_unit"], [N1, "training_needs"],
        [N0, "promotion_eligible"], [N2, "*"]]
    assert log.set_index("nip").loc[N2, "unit_name"] == "Dinas Kesehatan"

    # Another re-publication supersedes r2's rows in turn; r1's stay in history as they were.
    publish_run(engine, "r3", corrected_facts(), nips=[N0, N1, NEW])
    history = read_table(engine, "fact_appraisal_history")
    assert history.groupby("run_id")["superseded_by_run_id"].unique().map(list).to_dict() == {
        "r1": ["r2"], "r2": ["r3"]}
    assert change_rows(engine, "r3") == set()


def test_v_perubahan_names_the_employee_unit_and_run(engine: sa.Engine) -> None:
    publish_run(engine, "r1", make_facts(A, P))
    publish_run(engine, "r2", corrected_facts(), nips=[N0, N1, NEW])
    with engine.connect() as conn:
        view = pd.read_sql(sa.text("SELECT * FROM v_perubahan ORDER BY nip, kolom"), conn)
    assert list(view.columns) == [
        "run_id", "jenis_run", "waktu_terbit", "kode_instansi", "periode", "nip", "nama",
        "kode_unit", "unit_kerja", "kolom", "nilai_lama", "nilai_baru", "jenis_perubahan",
        "kode_kolom", "kode_nilai_lama", "kode_nilai_baru"]
    assert len(view) == len(EXPECTED)
    assert set(view["run_id"]) == {"r2"} and set(view["jenis_run"]) == {"backfill"}
    assert set(view["kode_instansi"]) == {A} and set(view["periode"]) == {P}
    assert view["waktu_terbit"].notna().all()
    rows = {(r.nip, r.kode_kolom): r for r in view.itertuples(index=False)}
    gone = rows[(N2, "*")]
    assert (gone.nama, gone.unit_kerja, gone.jenis_perubahan) == (
        f"Pegawai {N2[-3:]}", "Dinas Kesehatan", "Pegawai hilang")
    assert rows[(NEW, "*")].jenis_perubahan == "Pegawai muncul"
    # Indonesian names and labels; the codes beside them.
    assert (gone.kolom, gone.nilai_baru, gone.kode_nilai_baru) == ("Pegawai", "tidak ada",
                                                                    "absent")
    labelled = {r.kolom for r in view.itertuples(index=False)}
    assert "training_needs" not in labelled and "Kebutuhan Pelatihan" in labelled
    changed = rows[(N1, "training_needs")]
    assert (changed.nama, changed.kode_unit, changed.unit_kerja) == (
        f"Pegawai {N1[-3:]}", "DISDIK", "Dinas Pendidikan")
    assert (changed.nilai_lama, changed.nilai_baru, changed.jenis_perubahan) == (
        "akuntabel,loyal", "", "Nilai berubah")
    assert pd.isna(rows[(N1, "rank_in_unit")].nilai_baru)


def test_failed_republication_writes_no_history_and_no_changes(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_run(engine, "r1", make_facts(A, P))
    load_frame = loader.load_frame
    loaded: list[str] = []

    def crash_after_the_change_log(conn: Any, table_name: str, frame: Any, **kw: Any) -> int:
        loaded.append(table_name)
        if table_name == "fact_skp":
            raise RuntimeError("connection lost while loading")
        return load_frame(conn, table_name, frame, **kw)

    monkeypatch.setattr(loader, "load_frame", crash_after_the_change_log)
    with pytest.raises(RuntimeError, match="connection lost"):
        publish_run(engine, "r2", corrected_facts(), nips=[N0, N1, NEW])
    fail_run(engine, "r2", "publish: connection lost while loading")

    assert loaded.index("appraisal_change") < loaded.index("fact_skp")
    assert read_table(engine, "fact_appraisal_history").empty
    assert read_table(engine, "appraisal_change").empty
    assert set(read_table(engine, "fact_appraisal", A, P)["run_id"]) == {"r1"}


def test_changes_command(engine: sa.Engine, warehouse_url: str) -> None:
    publish_run(engine, "r1", make_facts(A, P),
                sources=files(employees="e1", ratings="r1", attendance="a1"))

    def changes(*args: str) -> Any:
        return runner.invoke(app, ["changes", "--agency", A, "--period", P,
                                   "--warehouse", warehouse_url, *args])

    first = changes()
    assert first.exit_code == 0, first.output
    assert "first publication of this agency-period: nothing replaced" in first.stdout

    publish_run(engine, "r2", corrected_facts(), nips=[N0, N1, NEW],
                sources=files(employees="e1", ratings="r2", late="l1"))
    shown = changes()
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines[0].startswith(f"{A} {P}: run r2 (backfill, published ")
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in lines
             if line.startswith("│")]
    # The employee is named on the first of their rows only.
    assert cells == [
        [NEW, f"Pegawai {NEW[-3:]}", "Dinas Kesehatan", "Pegawai", "tidak ada", "ada",
         "*: absent -> present"],
        [N1, f"Pegawai {N1[-3:]}", "Dinas Pendidikan", "Nilai Perilaku", "100.0",
         repr(100.0 + 1e-6), f"behavior_score: 100.0 -> {100.0 + 1e-6!r}"],
        ["", "", "", "Peringkat di Unit", "1", "NULL", "rank_in_unit: 1 -> NULL"],
        ["", "", "", "Kebutuhan Pelatihan", "akuntabel,loyal", "",
         "training_needs: akuntabel,loyal ->"],
        [N0, f"Pegawai {N0[-3:]}", "Dinas Kesehatan", "Memenuhi Syarat Promosi", "Ya", "Tidak",
         "promotion_eligible: true -> false"],
        [N2, f"Pegawai {N2[-3:]}", "Dinas Kesehatan", "Pegawai", "ada", "tidak ada",
         "*: present -> absent"],
    ]
    assert "6 change(s) for 4 employee(s); predikat changed for 0; appeared 1, disappeared 1" \
        in shown.stdout
    assert "  removed  attendance: attendance/mesin_01.csv" in lines
    assert "  added    attendance: attendance/susulan.csv" in lines
    assert "  changed  ratings: ratings.csv" in lines

    limited = changes("--limit", "2", "--run", "r2")
    assert limited.exit_code == 0, limited.output
    assert "... 4 more row(s) (--limit 0 shows all)" in limited.stdout

    unknown = changes("--run", "nope")
    assert unknown.exit_code == 1
    assert unknown.stderr.strip() == "kinerja: error: no run nope in the warehouse"
    wrong = runner.invoke(app, ["changes", "--agency", B, "--period", P, "--run", "r2",
                                "--warehouse", warehouse_url])
    assert wrong.exit_code == 1
    assert wrong.stderr.strip() == f"kinerja: error: run r2 is for {A} {P}, not {B} {P}"
    none = runner.invoke(app, ["changes", "--agency", B, "--period", P,
                               "--warehouse", warehouse_url])
    assert none.stderr.strip() == f"kinerja: error: {B} {P} has no published run"
