-- The warehouse of warehouse.md: dimensions, facts, runs, lineage, quarantine, history, changes.
--
-- One text runs unchanged on SQLite and PostgreSQL: only types both accept (TEXT, BIGINT,
-- DOUBLE PRECISION, BOOLEAN, DATE, TIMESTAMP) and IF NOT EXISTS everywhere, so a half-applied
-- file can simply be applied again. SQLite stores BOOLEAN as 0/1 and DATE / TIMESTAMP as ISO
-- text; SQLAlchemy's types convert both ways. Timestamps are UTC without a time zone.
--
-- Key columns are declared NOT NULL because SQLite, unlike PostgreSQL, accepts NULL in a
-- composite primary key.
--
-- No foreign keys: a publication replaces a whole agency-period in one transaction and the
-- data-quality suite checks references afterwards; row-by-row FK checks would slow COPY and
-- impose a delete order on the publisher.
--
-- Fact keys start with (period_id, agency_code), so the primary-key index already serves the
-- publisher's "delete this agency-period" and HR's "this agency, this period" queries; the extra
-- indexes below are for per-employee and per-run look-ups.

-- Dimensions (type 1: latest known state) -------------------------------------------------------

CREATE TABLE IF NOT EXISTS dim_agency (
    agency_code TEXT NOT NULL,
    agency_name TEXT NOT NULL,
    PRIMARY KEY (agency_code)
);

CREATE TABLE IF NOT EXISTS dim_unit (
    agency_code TEXT NOT NULL,
    unit_code TEXT NOT NULL,
    unit_name TEXT,
    parent_unit_code TEXT,
    PRIMARY KEY (agency_code, unit_code)
);

CREATE TABLE IF NOT EXISTS dim_employee (
    nip TEXT NOT NULL,
    agency_code TEXT NOT NULL,
    name TEXT,
    employee_type TEXT,
    unit_code TEXT,
    position_type TEXT,
    position_name TEXT,
    grade TEXT,
    supervisor_nip TEXT,
    gender TEXT CHECK (gender IN ('L', 'P')),
    birth_date DATE,
    appointed_month TEXT,
    active_from DATE,
    active_to DATE,
    PRIMARY KEY (nip)
);

CREATE INDEX IF NOT EXISTS ix_dim_employee_agency_unit ON dim_employee (agency_code, unit_code);

CREATE TABLE IF NOT EXISTS dim_period (
    period_id TEXT NOT NULL,
    start_date DATE NOT NULL,
    end_date DATE NOT NULL,
    PRIMARY KEY (period_id)
);

-- Facts (one version per agency and period) ----------------------------------------------------

CREATE TABLE IF NOT EXISTS fact_attendance (
    agency_code TEXT NOT NULL,
    period_id TEXT NOT NULL,
    nip TEXT NOT NULL,
    unit_code TEXT,
    working_days BIGINT,
    present_days BIGINT,
    sick_days BIGINT,
    permit_days BIGINT,
    leave_days BIGINT,
    duty_days BIGINT,
    absent_days BIGINT,
    late_count BIGINT,
    late_minutes BIGINT,
    early_count BIGINT,
    early_minutes BIGINT,
    deduction_pct DOUBLE PRECISION,
    discipline_score DOUBLE PRECISION,
    run_id TEXT NOT NULL,
    PRIMARY KEY (period_id, agency_code, nip)
);

CREATE TABLE IF NOT EXISTS fact_skp (
    agency_code TEXT NOT NULL,
    period_id TEXT NOT NULL,
    nip TEXT NOT NULL,
    indicator_id TEXT NOT NULL,
    target DOUBLE PRECISION,
    realization DOUBLE PRECISION,
    polarity TEXT,
    weight DOUBLE PRECISION,
    achievement DOUBLE PRECISION,
    run_id TEXT NOT NULL,
    PRIMARY KEY (period_id, agency_code, nip, indicator_id)
);

CREATE TABLE IF NOT EXISTS fact_unit_performance (
    agency_code TEXT NOT NULL,
    period_id TEXT NOT NULL,
    unit_code TEXT NOT NULL,
    iku_score DOUBLE PRECISION,
    budget_pagu DOUBLE PRECISION,
    budget_realisasi DOUBLE PRECISION,
    absorption_pct DOUBLE PRECISION,
    efficiency_pct DOUBLE PRECISION,
    org_predikat TEXT,
    headcount BIGINT,
    appraised_count BIGINT,
    run_id TEXT NOT NULL,
    PRIMARY KEY (period_id, agency_code, unit_code)
);

CREATE TABLE IF NOT EXISTS fact_appraisal (
    agency_code TEXT NOT NULL,
    period_id TEXT NOT NULL,
    nip TEXT NOT NULL,
    unit_code TEXT,
    results_score DOUBLE PRECISION,
    behavior_score DOUBLE PRECISION,
    discipline_score DOUBLE PRECISION,
    unit_score DOUBLE PRECISION,
    final_score DOUBLE PRECISION,
    results_rating TEXT,
    behavior_rating TEXT,
    predikat TEXT,
    rank_in_unit BIGINT,
    status TEXT,
    run_id TEXT NOT NULL,
    PRIMARY KEY (period_id, agency_code, nip)
);

-- An employee's appraisals over the years (HR look-ups, promotion eligibility, v_perubahan).
CREATE INDEX IF NOT EXISTS ix_fact_appraisal_nip ON fact_appraisal (nip, period_id);

CREATE TABLE IF NOT EXISTS fact_predikat_distribution (
    agency_code TEXT NOT NULL,
    period_id TEXT NOT NULL,
    unit_code TEXT NOT NULL,
    predikat TEXT NOT NULL,
    employee_count BIGINT,
    share DOUBLE PRECISION,
    run_id TEXT NOT NULL,
    PRIMARY KEY (period_id, agency_code, unit_code, predikat)
);

CREATE TABLE IF NOT EXISTS fact_distribution_check (
    agency_code TEXT NOT NULL,
    period_id TEXT NOT NULL,
    unit_code TEXT NOT NULL,
    org_predikat TEXT,
    rule TEXT NOT NULL,
    predikat_set TEXT,
    employee_count BIGINT,
    share DOUBLE PRECISION,
    min_share DOUBLE PRECISION,
    max_share DOUBLE PRECISION,
    min_count BIGINT,
    breach BOOLEAN,
    run_id TEXT NOT NULL,
    PRIMARY KEY (period_id, agency_code, unit_code, rule)
);

CREATE TABLE IF NOT EXISTS fact_followup (
    agency_code TEXT NOT NULL,
    period_id TEXT NOT NULL,
    nip TEXT NOT NULL,
    reward_candidate BOOLEAN,
    coaching_required BOOLEAN,
    training_needs TEXT,
    absent_days_ytd BIGINT,
    discipline_sanction TEXT,
    promotion_eligible BOOLEAN,
    run_id TEXT NOT NULL,
    PRIMARY KEY (period_id, agency_code, nip)
);

-- Runs and lineage -------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS pipeline_run (
    run_id TEXT NOT NULL,
    agency_code TEXT NOT NULL,
    period_id TEXT NOT NULL,
    flow_run_id TEXT,
    kind TEXT NOT NULL CHECK (kind IN ('scheduled', 'manual', 'backfill')),
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    status TEXT NOT NULL CHECK (status IN ('running', 'published', 'failed')),
    policy_name TEXT,
    policy_hash TEXT,
    code_version TEXT,
    source_fingerprint TEXT,
    rows_read BIGINT,
    rows_accepted BIGINT,
    rows_quarantined BIGINT,
    message TEXT,
    PRIMARY KEY (run_id)
);

-- The publisher's "latest published period of this agency" and the runs of one agency-period.
CREATE INDEX IF NOT EXISTS ix_pipeline_run_agency_status_period
    ON pipeline_run (agency_code, status, period_id);

CREATE TABLE IF NOT EXISTS source_file (
    run_id TEXT NOT NULL,
    dataset TEXT NOT NULL,
    path TEXT NOT NULL,
    sha256 TEXT,
    bytes BIGINT,
    rows_read BIGINT,
    rows_accepted BIGINT,
    rows_quarantined BIGINT,
    PRIMARY KEY (run_id, dataset, path)
);

CREATE TABLE IF NOT EXISTS quarantine (
    run_id TEXT NOT NULL,
    agency_code TEXT,
    period_id TEXT,
    dataset TEXT NOT NULL,
    record_ref TEXT NOT NULL,
    reasons TEXT,
    payload TEXT,
    PRIMARY KEY (run_id, dataset, record_ref)
);

CREATE INDEX IF NOT EXISTS ix_quarantine_agency_period ON quarantine (agency_code, period_id);

-- History and corrections ------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS fact_appraisal_history (
    agency_code TEXT NOT NULL,
    period_id TEXT NOT NULL,
    nip TEXT NOT NULL,
    unit_code TEXT,
    results_score DOUBLE PRECISION,
    behavior_score DOUBLE PRECISION,
    discipline_score DOUBLE PRECISION,
    unit_score DOUBLE PRECISION,
    final_score DOUBLE PRECISION,
    results_rating TEXT,
    behavior_rating TEXT,
    predikat TEXT,
    rank_in_unit BIGINT,
    status TEXT,
    run_id TEXT NOT NULL,
    superseded_by_run_id TEXT,
    PRIMARY KEY (run_id, period_id, agency_code, nip)
);

CREATE INDEX IF NOT EXISTS ix_fact_appraisal_history_agency_period
    ON fact_appraisal_history (agency_code, period_id, nip);

CREATE TABLE IF NOT EXISTS appraisal_change (
    run_id TEXT NOT NULL,
    agency_code TEXT NOT NULL,
    period_id TEXT NOT NULL,
    nip TEXT NOT NULL,
    field TEXT NOT NULL,
    old_value TEXT,
    new_value TEXT,
    PRIMARY KEY (run_id, period_id, nip, field)
);

CREATE INDEX IF NOT EXISTS ix_appraisal_change_agency_period
    ON appraisal_change (agency_code, period_id);
