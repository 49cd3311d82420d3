"""`kinerja explain` reads the same publication alike from SQLite and PostgreSQL: booleans,
nullable ranks and floats read back from either database compare equal to the derivation."""

from __future__ import annotations

import json
from dataclasses import asdict

import pandas as pd
import sqlalchemy as sa

from kinerja.period import Period
from kinerja.policy import load_policy
from schemas.sources import VALIDATION_ORDER
from tasks.explain.command import run_explain, to_json
from tasks.explain.derive import Explainer, Lineage
from tasks.explain.sources import evidence_from
from tasks.score import score_period
from tasks.sources.extract import extract_dataset
from tasks.warehouse.publish import publish_period, record_validation
from tasks.warehouse.run_ledger import start_run
from tests.landing import NIP_A, NIP_B, NIP_C, write_period
from tests.unit.test_explain_derive import Landing

PERIOD = Period.parse("2025-S1")


def test_explain_on_either_warehouse(engine: sa.Engine, tmp_path) -> None:
    folder = write_period(tmp_path / "3374" / "2025-S1", Landing().files)
    raws = {d: extract_dataset(folder, d) for d in VALIDATION_ORDER}
    evidence = evidence_from(raws, "3374", PERIOD)
    policy = load_policy()
    facts = score_period(evidence.inputs, policy)
    start_run(engine, run_id="r1", agency_code="3374", period_id=PERIOD.id, flow_run_id=None,
              kind="manual", policy_name=policy.name, policy_hash=policy.hash,
              code_version="test")
    files = pd.DataFrame([asdict(f) for raw in raws.values() for f in raw.files])
    files["rows_accepted"], files["rows_quarantined"] = files["rows_read"], 0
    record_validation(engine, "r1", files, evidence.quarantine)
    publish_period(engine, run_id="r1", agency_code="3374", agency_name="Kota Semarang",
                   period=PERIOD, units=evidence.inputs.units,
                   employees=evidence.inputs.employees, facts=facts,
                   counts={"rows_read": 1, "rows_accepted": 1, "rows_quarantined": 0})

    expected = Explainer(evidence, policy, Lineage("r1", policy.name, policy.hash))

    def same(printed: dict, nip: str) -> None:
        assert printed["sources"] and all(s["unchanged"] for s in printed["sources"])
        derived = json.loads(to_json(expected.explain(nip)))
        assert {k: v for k, v in printed.items() if k != "sources"} == {
            k: v for k, v in derived.items() if k != "sources"}

    one = run_explain(engine, "3374", PERIOD.id, landing_root=tmp_path, nip=NIP_C, fmt="json")
    assert one.inconsistent == [], [str(d) for d in one.explained[0].differences]
    same(json.loads(one.printed), NIP_C)
    unit = run_explain(engine, "3374", PERIOD.id, landing_root=tmp_path, unit="U2", fmt="json",
                       out=tmp_path / "u2")
    assert unit.inconsistent == []
    assert sorted(p.name for p in unit.written) == sorted([f"{NIP_A}.json", f"{NIP_B}.json"])
    for path in unit.written:
        same(json.loads(path.read_text(encoding="utf-8")), path.stem)
