"""`kinerja generate`: a synthetic landing zone that looks like real exports of an Indonesian local
government (sources.md), of any size, reproducible byte for byte from a seed, optionally with a
share of deliberately broken rows of every kind sources.md names.

    from kinerja.synthetic import generate_landing
    summary = generate_landing(Path("landing"), "3374", 2000, ["2025-S1", "2025-S2"], seed=7,
                               bad_rows=0.01)
    summary.dataset("2025-S1", "attendance").bad_by_kind

Modules: `names` (vocabulary), `organisation` (units, positions), `population` (people across
periods, NIPs), `master` (units, employees, calendar), `attendance`, `ekinerja` (skp, ratings,
unit_iku), `budget`, `badrows` (kinds of broken rows), `landing` (the entry point).
"""

from kinerja.synthetic.common import DatasetSummary, GenerationSummary, PeriodSummary
from kinerja.synthetic.landing import DATASETS, generate_landing

__all__ = ["DATASETS", "DatasetSummary", "GenerationSummary", "PeriodSummary", "generate_landing"]
