"""The warehouse: engines, migrations and typed reads (`database`), the run ledger
(`run_ledger`: every read and write of pipeline_run, the current publication defined once),
one run per agency-period
(`run_lock`), dimensions and atomic publication (`dimensions`, `publish`, through the one
loader `loader`), history and the change log (`changes`: pure comparisons; `change_log`: their
reads; `change_labels`; `preview`: a dry run's pure parts). Imports `schemas/` and `kinerja/`;
never sources or reporting (but for the wording of codes, see tasks/__init__.py)."""
