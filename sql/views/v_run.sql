-- v_run: every run of pipeline_run with which one is the agency-period's current publication and
-- which run superseded a replaced one (interface.md `kinerja status`, issue 11).
--
-- A replaced run keeps status 'published' in pipeline_run (it did publish); here is_current is 1
-- only for the agency-period's last publication, and superseded_by_run_id names the publication
-- that came right after a replaced one. Runs of one agency-period publish one at a time (the run
-- lock), so finished_at orders their publications. is_current is 0/1, not a boolean, so that the
-- same text runs on SQLite and PostgreSQL.

CREATE VIEW v_run AS
SELECT
    r.run_id AS run_id,
    r.agency_code AS agency_code,
    r.period_id AS period_id,
    r.kind AS kind,
    r.status AS status,
    r.started_at AS started_at,
    r.finished_at AS finished_at,
    r.quality_status AS quality_status,
    r.rows_read AS rows_read,
    r.rows_accepted AS rows_accepted,
    r.rows_quarantined AS rows_quarantined,
    r.policy_name AS policy_name,
    r.flow_run_id AS flow_run_id,
    r.message AS message,
    CASE
        WHEN r.status = 'published' AND NOT EXISTS (
            SELECT 1 FROM pipeline_run AS n
            WHERE n.agency_code = r.agency_code AND n.period_id = r.period_id
                AND n.status = 'published' AND n.finished_at > r.finished_at
        ) THEN 1
        ELSE 0
    END AS is_current,
    (
        SELECT n.run_id FROM pipeline_run AS n
        WHERE r.status = 'published' AND n.agency_code = r.agency_code
            AND n.period_id = r.period_id AND n.status = 'published'
            AND n.finished_at > r.finished_at
        ORDER BY n.finished_at
        LIMIT 1
    ) AS superseded_by_run_id
FROM pipeline_run AS r;
