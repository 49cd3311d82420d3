-- The data-quality suite's verdict on a publication (interface.md "Reports", issue #4).
--
-- The suite runs after a run has published, so its result is recorded on the run that published
-- the checked rows: quality_status 'passed' or 'failed' (NULL: not checked yet, e.g. runs from
-- before this migration or a run whose check itself could not run), when it was checked, and a
-- JSON summary (counts per table, every failed expectation with a sample of its unexpected
-- values, where the Data Docs are). A failed check never un-publishes the run.
--
-- ALTER TABLE ... ADD COLUMN is the one form both SQLite and PostgreSQL accept; the migration runs
-- in one transaction, so it is never half applied.

ALTER TABLE pipeline_run ADD COLUMN quality_status TEXT
    CHECK (quality_status IN ('passed', 'failed'));

ALTER TABLE pipeline_run ADD COLUMN quality_checked_at TIMESTAMP;

ALTER TABLE pipeline_run ADD COLUMN quality_summary TEXT;
