"""Sources: the landing zone's files and configured SQL queries read into raw text frames
(`extract`, `sql_source`), split into NIP partitions for attendance (`partition`), and validated
into accepted typed frames and quarantined rows (`validate`). Imports `schemas/` and `kinerja/`
only: nothing here knows the warehouse or the reports."""
