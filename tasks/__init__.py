"""The steps of a run, in rooms by concern.

- `sources/`: reading the landing zone and SQL sources, and validating them into accepted frames
  and quarantined rows. May import `schemas/` and `kinerja/`; never the warehouse or reporting.
- `score/`: the policy of scoring.md, pure pandas: no I/O, no Prefect, no database.
- `warehouse/`: the database: engines and migrations (`database`), the run ledger, the run lock,
  dimensions, publication, history and the change log. May import `score/`'s output schemas
  through `schemas/`; never sources or reporting.
- `reporting/`: what HR and data engineers read: the reports, workbooks and the quality check.
  Reads the warehouse through `warehouse.database`, `warehouse.run_ledger` and
  `warehouse.change_labels`; never sources or score.
- `explain/`: `kinerja explain`, one employee's numbers re-derived from the sources and compared
  with the publication: the one room that reads sources, score, warehouse and reporting, through
  their public functions.
- `steps.py` (with `transient.py`, `run_log.py`): the Prefect tasks around the rooms' functions,
  the only modules here that import Prefect besides the run log; flows call only these.
"""
