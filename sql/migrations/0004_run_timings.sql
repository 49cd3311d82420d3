-- A run's own timings (issue 8): per step (extract+validate per dataset, score, publish, check,
-- report) and for the whole run, wall seconds and peak resident memory in MB, as a JSON list
-- (kinerja/timings.py). NULL for runs from before this migration and for runs that failed
-- before their steps ended. Read by bench/bench_run.py and logged at the end of every run.

ALTER TABLE pipeline_run ADD COLUMN timings TEXT;
