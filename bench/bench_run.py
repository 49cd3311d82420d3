"""Benchmark of the whole run against a DuckDB baseline (issue 8).

    .venv/bin/python bench/bench_run.py [--sizes 2000,15000,100000] [--cache DIR]
                                        [--postgres URL] [--profile]

Per size: generates the landing data once (`kinerja generate --agency 9999 --employees N
--periods 2025-S1 --seed 7`, cached under `<cache>/<N>/landing`, default cache
/work/cache/bench), runs `kinerja run` end to end as a subprocess into a fresh SQLite warehouse
(and, with --postgres, into a fresh database created on that server and dropped afterwards),
measuring wall time and the peak resident memory of the process tree (the run and its temporary
Prefect server, sampled every 0.1 s) and of the run's own process; reads the per-step figures
the run recorded (`pipeline_run.timings`); then runs the DuckDB baseline in a process of its
own: one SQL script that reads the same attendance files (and the units, employees and calendar
they depend on), validates the rows by the rules of sources.md and computes `fact_attendance`
per scoring.md section 2. The baseline's result must equal the published fact_attendance (every
row, numbers within 1e-9), so the ratio compares equal work. Prints everything side by side with
the targets of issue 8. Run by hand, not by pytest.

Before the first size, Prefect's own database is created or brought up to date (`prefect server
database upgrade -y`, timed and printed apart): a machine's first Prefect server does that once
(4-5 s on a 2-core machine), and every later command, the user's own as well, finds it done.
Measured inside the first run, it would be counted as if every run paid it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

AGENCY = "9999"
PERIOD = "2025-S1"
SEED = 7
DEFAULT_CACHE = Path("/work/cache/bench")
MB = 1024 * 1024
# Issue 8's targets.
TARGET_RATIO = 3.0  # 100k employees into SQLite: at most 3x the baseline's wall time
TARGET_PEAK_MB = 2048  # peak resident memory under 2 GB
TARGET_15K_S = 30.0  # 15k employees end to end, Prefect's start excluded
BIN = Path(sys.executable).parent
FACT_COLUMNS = ["agency_code", "period_id", "nip", "unit_code", "working_days", "present_days",
                "sick_days", "permit_days", "leave_days", "duty_days", "absent_days",
                "late_count", "late_minutes", "early_count", "early_minutes", "deduction_pct",
                "discipline_score"]


# --- landing data --------------------------------------------------------------------------


def landing_for(cache: Path, employees: int) -> Path:
    """The cached landing zone of `employees`, generated on first use (written under a
    `.partial` name and renamed, so an interrupted generation is never taken for a cache)."""
    done = cache / str(employees)
    if (done / "landing" / AGENCY / PERIOD).is_dir():
        return done / "landing"
    partial = cache / f"{employees}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    print(f"generating {employees:,} employees into {done} ...", flush=True)
    started = time.perf_counter()
    subprocess.run([str(BIN / "kinerja"), "generate", "--agency", AGENCY, "--employees",
                    str(employees), "--periods", PERIOD, "--seed", str(SEED), "--out",
                    str(partial / "landing")], check=True, stdout=subprocess.DEVNULL)
    partial.rename(done)
    print(f"  generated in {time.perf_counter() - started:.1f} s", flush=True)
    return done / "landing"


# --- measuring a process tree ----------------------------------------------------------------


def _rss_by_pid() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, resident bytes) of every process we can read."""
    out = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
            with open(f"/proc/{entry.name}/statm", "rb") as f:
                resident = int(f.read().split()[1]) * page
        except (OSError, IndexError, ValueError):
            continue
        # The command name may hold spaces and parentheses: the fields follow its last ")".
        fields = stat[stat.rindex(b")") + 2:].split()
        out[int(entry.name)] = (int(fields[1]), resident)
    return out


@dataclass
class TreeSampler:
    """Samples the resident memory of a process and its descendants until stopped."""

    root: int
    interval: float = 0.1
    tree_peak: int = 0
    root_peak: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            procs = _rss_by_pid()
            tree, frontier = {self.root}, [self.root]
            children: dict[int, list[int]] = {}
            for pid, (ppid, _) in procs.items():
                children.setdefault(ppid, []).append(pid)
            while frontier:
                for child in children.get(frontier.pop(), []):
                    if child not in tree:
                        tree.add(child)
                        frontier.append(child)
            total = sum(procs[p][1] for p in tree if p in procs)
            self.tree_peak = max(self.tree_peak, total)
            self.root_peak = max(self.root_peak, procs.get(self.root, (0, 0))[1])
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Measured:
    seconds: float
    tree_peak_mb: float
    process_peak_mb: float
    returncode: int
    output: str = ""


def measure(args: list[str], cwd: Path, env: dict[str, str]) -> Measured:
    started = time.perf_counter()
    with open(cwd / "output.log", "w", encoding="utf-8") as log:
        process = subprocess.Popen(args, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        sampler = TreeSampler(process.pid)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        sampler.stop()
    process.returncode = os.waitstatus_to_exitcode(status)
    # ru_maxrss (KiB) of the process itself catches a peak between two samples, unless the
    # process reset its mark (the run does, per step: its recorded figures cover that).
    process_peak = max(sampler.root_peak, usage.ru_maxrss * 1024)
    return Measured(seconds, sampler.tree_peak / MB, process_peak / MB, process.returncode,
                    (cwd / "output.log").read_text(encoding="utf-8", errors="replace"))


# --- the run -----------------------------------------------------------------------------------


@dataclass
class RunResult:
    backend: str
    measured: Measured
    steps: list[dict[str, Any]]
    run_id: str
    rows_read: int
    attendance_rows: int
    fact_attendance: Any  # pandas DataFrame


def run_kinerja(landing: Path, workdir: Path, url: str, backend: str,
                profile: bool = False) -> RunResult:
    import pandas as pd
    import sqlalchemy as sa

    env = {**os.environ, "KINERJA_WORK": str(workdir / "work"), "PREFECT_LOGGING_LEVEL": "INFO",
           "KINERJA_WAREHOUSE_URL": url}
    command = [str(BIN / "kinerja"), "run", "--agency", AGENCY, "--period", PERIOD,
               "--landing", str(landing), "--reports", str(workdir / "reports")]
    if profile:
        command = [str(BIN / "pyinstrument"), "-r", "html", "-o",
                   str(workdir / "profile.html"), str(BIN / "kinerja"), *command[1:]]
    print(f"  kinerja run into {backend} ...", flush=True)
    measured = measure(command, workdir, env)
    if measured.returncode != 0:
        raise SystemExit(f"kinerja run failed ({measured.returncode}):\n"
                         + measured.output[-3000:])
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            run_id, read, timings = conn.execute(sa.text(
                "SELECT run_id, rows_read, timings FROM pipeline_run WHERE status = 'published' "
                "ORDER BY started_at DESC")).first()
            attendance = conn.execute(sa.text(
                "SELECT SUM(rows_read) FROM source_file WHERE run_id = :r AND dataset = "
                "'attendance'"), {"r": run_id}).scalar_one()
            facts = pd.read_sql(sa.text(
                f"SELECT {', '.join(FACT_COLUMNS)} FROM fact_attendance WHERE run_id = :r"),
                conn, params={"r": run_id})
    finally:
        engine.dispose()
    return RunResult(backend, measured, json.loads(timings) if timings else [], run_id,
                     int(read), int(attendance), facts)


# --- the DuckDB baseline -----------------------------------------------------------------------

# What sources.md asks of every value: at most max_field_chars (4096), no control character,
# one line (none of these columns is wording).
_TEXT_OK = """
CREATE MACRO text_ok(v) AS v IS NULL OR (length(v) <= 4096
    AND NOT regexp_matches(v, '[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x{9f}]')
    AND NOT regexp_matches(v, '[\\n\\r\\x{2028}\\x{2029}]'));
CREATE MACRO clean(v) AS nullif(trim(v), '');
CREATE MACRO nip_ok(n) AS n IS NOT NULL AND regexp_full_match(n, '[0-9]{18}')
    AND substr(n, 15, 1) IN ('1', '2')
    AND try_strptime(substr(n, 1, 8), '%Y%m%d') IS NOT NULL
    AND CAST(substr(n, 13, 2) AS INTEGER) BETWEEN 1 AND 12
    AND CAST(substr(n, 9, 4) AS INTEGER) >= 1900;
CREATE MACRO date_of(v) AS CASE WHEN regexp_full_match(v, '[0-9]{4}-[0-9]{2}-[0-9]{2}')
    THEN try_strptime(v, '%Y-%m-%d')::DATE END;
CREATE MACRO seconds_of(v) AS CASE
    WHEN regexp_full_match(v, '[0-9]{1,2}:[0-9]{2}(:[0-9]{2})?')
     AND CAST(split_part(v, ':', 1) AS INTEGER) <= 23
     AND CAST(split_part(v, ':', 2) AS INTEGER) <= 59
     AND coalesce(CAST(nullif(split_part(v, ':', 3), '') AS INTEGER), 0) <= 59
    THEN CAST(split_part(v, ':', 1) AS INTEGER) * 3600
       + CAST(split_part(v, ':', 2) AS INTEGER) * 60
       + coalesce(CAST(nullif(split_part(v, ':', 3), '') AS INTEGER), 0) END;
"""


ATTENDANCE_COLUMNS = ("nip", "date", "status", "check_in", "check_out")


def attendance_files(folder: Path) -> str:
    """One query over every attendance file. Each file's header is read here and handed to
    DuckDB with the columns as text: its CSV sniffer, run per file by `union_by_name`, took
    nine tenths of the read (columns differ in order, case and presence between files)."""
    import csv

    parts = []
    for path in sorted(folder.glob("*.csv")):
        with open(path, encoding="utf-8-sig", newline="") as f:
            names = [n.strip().lower() for n in next(csv.reader(f))]
        columns = ", ".join(f"'{n.replace(chr(39), chr(39) * 2)}': 'VARCHAR'" for n in names)
        chosen = ", ".join(f'"{c}"' if c in names else f"NULL::VARCHAR AS {c}"
                           for c in ATTENDANCE_COLUMNS)
        parts.append(f"SELECT {chosen} FROM read_csv('{str(path).replace(chr(39), chr(39) * 2)}', "
                     f"header = true, auto_detect = false, delim = ',', quote = '\"', "
                     f"escape = '\"', columns = {{{columns}}})")
    return "\nUNION ALL ".join(parts)


def baseline_sql(folder: Path, period_start: str, period_end: str) -> str:
    """fact_attendance of the period folder, per sources.md (validation) and scoring.md section
    2 under the default policy (Monday-Thursday 07:30-16:00, Friday 07:30-16:30; tiers 1-30,
    31-60, 61-90, 91+ minutes: 0.5, 1.0, 1.25, 1.5; TK 3.0; monthly base 100, floor 0)."""
    # Column names match case-insensitively in DuckDB, as sources.md asks.
    csv = "all_varchar = true, header = true"

    def path(name: str) -> str:
        return str(folder / name).replace("'", "''")

    return f"""
CREATE TEMP TABLE units_raw AS SELECT clean(r.unit_code) AS unit_code,
    clean(r.unit_name) AS unit_name, clean(r.parent_unit_code) AS parent_unit_code,
    text_ok(r.unit_code) AND text_ok(r.unit_name) AND text_ok(r.parent_unit_code) AS text_ok
    FROM read_csv('{path("units.csv")}', {csv}) AS r;
CREATE TEMP TABLE units AS SELECT unit_code FROM units_raw u
    WHERE text_ok AND unit_code IS NOT NULL AND unit_name IS NOT NULL
      AND (parent_unit_code IS NULL
           OR parent_unit_code IN (SELECT unit_code FROM units_raw WHERE unit_code IS NOT NULL))
      AND (SELECT count(*) FROM units_raw d WHERE d.unit_code = u.unit_code) = 1;

CREATE TEMP TABLE employees_raw AS SELECT clean(r.nip) AS nip, clean(r.name) AS name,
    upper(clean(r.employee_type)) AS employee_type, clean(r.unit_code) AS unit_code,
    upper(clean(r.position_type)) AS position_type, clean(r.supervisor_nip) AS supervisor_nip,
    clean(r.active_from) AS active_from, clean(r.active_to) AS active_to,
    text_ok(r.nip) AND text_ok(r.name) AND text_ok(r.employee_type) AND text_ok(r.unit_code)
      AND text_ok(r.position_type) AND text_ok(r.position_name) AND text_ok(r.grade)
      AND text_ok(r.supervisor_nip) AND text_ok(r.active_from) AND text_ok(r.active_to) AS text_ok
    FROM read_csv('{path("employees.csv")}', {csv}) AS r;
CREATE TEMP TABLE employees AS
WITH keyed AS (SELECT *, count(*) OVER (PARTITION BY nip) AS copies FROM employees_raw)
SELECT nip, unit_code, date_of(active_from) AS active_from, date_of(active_to) AS active_to
FROM keyed
WHERE text_ok AND nip_ok(nip) AND name IS NOT NULL
  AND employee_type IN ('PNS', 'PPPK')
  AND position_type IN ('JPT', 'ADMINISTRATOR', 'PENGAWAS', 'FUNGSIONAL', 'PELAKSANA')
  AND unit_code IN (SELECT unit_code FROM units)
  AND (supervisor_nip IS NULL OR (nip_ok(supervisor_nip) AND supervisor_nip <> nip
       AND supervisor_nip IN (SELECT nip FROM employees_raw WHERE nip IS NOT NULL)))
  AND (active_from IS NULL OR date_of(active_from) IS NOT NULL)
  AND (active_to IS NULL OR date_of(active_to) IS NOT NULL)
  AND (date_of(active_from) IS NULL OR date_of(active_to) IS NULL
       OR date_of(active_to) >= date_of(active_from))
  AND copies = 1;

CREATE TEMP TABLE holidays AS
WITH raw AS (SELECT clean(r.date) AS v, text_ok(r.date) AND text_ok(r.description) AS text_ok
             FROM read_csv('{path("calendar.csv")}', {csv}) AS r),
     keyed AS (SELECT *, date_of(v) AS d, count(*) OVER (PARTITION BY date_of(v)) AS copies
               FROM raw)
SELECT d FROM keyed WHERE text_ok AND d BETWEEN DATE '{period_start}' AND DATE '{period_end}'
  AND (copies = 1 OR d IS NULL);

CREATE TEMP TABLE working_days AS
SELECT d::DATE AS d, date_trunc('month', d)::DATE AS month, 27000 AS start_s,
       CASE WHEN isodow(d) = 5 THEN 59400 ELSE 57600 END AS end_s
FROM generate_series(DATE '{period_start}', DATE '{period_end}', INTERVAL 1 DAY) AS t(d)
WHERE isodow(d) <= 5 AND d::DATE NOT IN (SELECT d FROM holidays WHERE d IS NOT NULL);

-- Attendance: the raw text once, then every rule on the distinct values (a few thousand times
-- and dates, the employees' NIPs), as the pipeline's parsers do, joined back.
CREATE TEMP TABLE attendance_raw AS
SELECT clean(r.nip) AS nip, clean(r.date) AS date, upper(clean(r.status)) AS status,
       clean(r.check_in) AS check_in, clean(r.check_out) AS check_out
FROM ({attendance_files(folder / "attendance")}) AS r;
-- Distinct values first, in tables of their own: a filter on a DISTINCT subquery would be
-- pushed below it by the optimizer and run on every row again.
CREATE TEMP TABLE distinct_nips AS SELECT DISTINCT nip FROM attendance_raw;
CREATE TEMP TABLE distinct_dates AS SELECT DISTINCT date FROM attendance_raw;
CREATE TEMP TABLE distinct_times AS SELECT DISTINCT check_in AS v FROM attendance_raw
    UNION SELECT DISTINCT check_out FROM attendance_raw;
CREATE TEMP TABLE attendance_nips AS
SELECT nip FROM distinct_nips
WHERE text_ok(nip) AND nip_ok(nip) AND nip IN (SELECT nip FROM employees);
CREATE TEMP TABLE attendance_dates AS
SELECT date, date_of(date) AS d FROM distinct_dates
WHERE text_ok(date) AND date_of(date) BETWEEN DATE '{period_start}' AND DATE '{period_end}';
CREATE TEMP TABLE attendance_times AS
SELECT v, seconds_of(v) AS s FROM distinct_times
WHERE v IS NOT NULL AND text_ok(v) AND seconds_of(v) IS NOT NULL;
CREATE TEMP TABLE attendance AS
SELECT a.nip, d.d, a.status, i.s AS cin, o.s AS cout
FROM attendance_raw a
JOIN attendance_nips USING (nip)
JOIN attendance_dates d USING (date)
LEFT JOIN attendance_times i ON i.v = a.check_in
LEFT JOIN attendance_times o ON o.v = a.check_out
WHERE a.status IN ('H', 'S', 'I', 'C', 'DL', 'TK')
  AND (a.check_in IS NULL OR i.v IS NOT NULL) AND (a.check_out IS NULL OR o.v IS NOT NULL)
  AND (i.s IS NULL OR o.s IS NULL OR o.s >= i.s);
DROP TABLE attendance_raw;

CREATE TEMP TABLE fact AS
WITH merged AS (
    SELECT nip, d,
           min(list_position(['DL', 'C', 'S', 'I', 'H', 'TK'], status)) AS rank,
           min(cin) FILTER (WHERE status = 'H') AS cin,
           max(cout) FILTER (WHERE status = 'H') AS cout
    FROM attendance GROUP BY nip, d),
days AS (
    SELECT e.nip, w.d, w.month, w.start_s, w.end_s,
           coalesce(['DL', 'C', 'S', 'I', 'H', 'TK'][m.rank], 'TK') AS status, m.cin, m.cout
    FROM employees e
    JOIN working_days w ON (e.active_from IS NULL OR w.d >= e.active_from)
                       AND (e.active_to IS NULL OR w.d <= e.active_to)
    LEFT JOIN merged m ON m.nip = e.nip AND m.d = w.d),
minutes AS (
    SELECT *,
           CASE WHEN status = 'H' AND cin > start_s THEN ceil((cin - start_s) / 60.0)
                ELSE 0 END::BIGINT AS late_m,
           CASE WHEN status = 'H' AND cout < end_s THEN ceil((end_s - cout) / 60.0)
                ELSE 0 END::BIGINT AS early_m
    FROM days),
tiers AS (
    SELECT *,
           CASE WHEN status <> 'H' THEN 0.0 WHEN cin IS NULL THEN 1.5
                WHEN late_m >= 91 THEN 1.5 WHEN late_m >= 61 THEN 1.25
                WHEN late_m >= 31 THEN 1.0 WHEN late_m >= 1 THEN 0.5 ELSE 0.0 END AS late_ded,
           CASE WHEN status <> 'H' THEN 0.0 WHEN cout IS NULL THEN 1.5
                WHEN early_m >= 91 THEN 1.5 WHEN early_m >= 61 THEN 1.25
                WHEN early_m >= 31 THEN 1.0 WHEN early_m >= 1 THEN 0.5 ELSE 0.0 END AS early_ded
    FROM minutes),
daily AS (
    SELECT *, CASE status WHEN 'H' THEN late_ded + early_ded WHEN 'TK' THEN 3.0 ELSE 0.0 END
              AS deduction
    FROM tiers),
monthly AS (
    SELECT nip, avg(greatest(0.0, 100.0 - month_deduction)) AS discipline_score
    FROM (SELECT nip, month, sum(deduction) AS month_deduction FROM daily
          GROUP BY nip, month) GROUP BY nip),
per_employee AS (
    SELECT nip, count(*) AS working_days,
           count(*) FILTER (WHERE status = 'H') AS present_days,
           count(*) FILTER (WHERE status = 'S') AS sick_days,
           count(*) FILTER (WHERE status = 'I') AS permit_days,
           count(*) FILTER (WHERE status = 'C') AS leave_days,
           count(*) FILTER (WHERE status = 'DL') AS duty_days,
           count(*) FILTER (WHERE status = 'TK') AS absent_days,
           count(*) FILTER (WHERE late_ded > 0) AS late_count, sum(late_m) AS late_minutes,
           count(*) FILTER (WHERE early_ded > 0) AS early_count,
           sum(early_m) AS early_minutes, sum(deduction) AS deduction_pct
    FROM daily GROUP BY nip)
SELECT '{AGENCY}' AS agency_code, '{PERIOD}' AS period_id, e.nip, e.unit_code,
       coalesce(p.working_days, 0) AS working_days, coalesce(p.present_days, 0) AS present_days,
       coalesce(p.sick_days, 0) AS sick_days, coalesce(p.permit_days, 0) AS permit_days,
       coalesce(p.leave_days, 0) AS leave_days, coalesce(p.duty_days, 0) AS duty_days,
       coalesce(p.absent_days, 0) AS absent_days, coalesce(p.late_count, 0) AS late_count,
       coalesce(p.late_minutes, 0) AS late_minutes, coalesce(p.early_count, 0) AS early_count,
       coalesce(p.early_minutes, 0) AS early_minutes,
       coalesce(p.deduction_pct, 0.0) AS deduction_pct, m.discipline_score
FROM employees e LEFT JOIN per_employee p USING (nip) LEFT JOIN monthly m USING (nip);
"""


def baseline_child(folder: str, out: str) -> None:
    """The baseline itself, in its own process: timed from the import of duckdb to the written
    result; prints its figures as JSON."""
    started = time.perf_counter()
    import duckdb

    from kinerja.period import Period

    period = Period.parse(PERIOD)
    conn = duckdb.connect()
    conn.execute(_TEXT_OK)
    conn.execute(baseline_sql(Path(folder), period.start.isoformat(), period.end.isoformat()))
    conn.execute(f"COPY fact TO '{out}' (FORMAT parquet)")
    accepted = conn.execute("SELECT count(*) FROM attendance").fetchone()[0]
    conn.close()
    print(json.dumps({"seconds": time.perf_counter() - started, "attendance_accepted": accepted,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


@dataclass
class BaselineResult:
    measured: Measured
    inner_seconds: float
    attendance_accepted: int
    fact_attendance: Any


def run_baseline(landing: Path, workdir: Path) -> BaselineResult:
    import pandas as pd

    print("  DuckDB baseline ...", flush=True)
    out = workdir / "baseline_fact_attendance.parquet"
    folder = landing / AGENCY / PERIOD
    measured = measure([sys.executable, __file__, "--baseline-child", str(folder), str(out)],
                       workdir, {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    if measured.returncode != 0:
        raise SystemExit("the DuckDB baseline failed:\n" + measured.output[-3000:])
    figures = json.loads(measured.output.strip().splitlines()[-1])
    return BaselineResult(measured, figures["seconds"], figures["attendance_accepted"],
                          pd.read_parquet(out))


def same_facts(published: Any, baseline: Any) -> str | None:
    """None when both frames hold the same rows (numbers within 1e-9), else what differs."""
    import numpy as np

    a = published[FACT_COLUMNS].sort_values("nip").reset_index(drop=True)
    b = baseline[FACT_COLUMNS].sort_values("nip").reset_index(drop=True)
    if len(a) != len(b):
        return f"{len(a)} published rows, {len(b)} baseline rows"
    for column in FACT_COLUMNS:
        x, y = a[column], b[column]
        if column in ("deduction_pct", "discipline_score"):
            xv, yv = x.astype(float).to_numpy(), y.astype(float).to_numpy()
            bad = ~((np.isnan(xv) & np.isnan(yv)) | (np.abs(xv - yv) <= 1e-9))
        elif x.dtype.kind in "iuf" or y.dtype.kind in "iuf":
            bad = (x.astype("int64").to_numpy() != y.astype("int64").to_numpy())
        else:
            bad = (x.astype(str).to_numpy() != y.astype(str).to_numpy())
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            return (f"{int(bad.sum())} rows differ in {column}, e.g. nip {a['nip'][i]}: "
                    f"published {x[i]!r}, baseline {y[i]!r}")
    return None


# --- PostgreSQL ----------------------------------------------------------------------------------


def fresh_postgres(url: str) -> tuple[str, Any]:
    """A new database on the server of `url`: its URL and a function dropping it."""
    import sqlalchemy as sa

    name = f"kinerja_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    target = sa.make_url(url).set(database=name)
    return target.render_as_string(hide_password=False), drop


# --- printing --------------------------------------------------------------------------------


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def report(employees: int, runs: list[RunResult], baseline: BaselineResult,
           load_before: str) -> list[str]:
    lines = [f"## {employees:,} employees ({runs[0].rows_read:,} rows read, "
             f"{runs[0].attendance_rows:,} attendance rows); load average before {load_before}, "
             f"after {_load()}", ""]
    base = baseline.measured
    head = "| | " + " | ".join(f"kinerja run, {r.backend}" for r in runs) + " | DuckDB baseline |"
    lines += [head, "|---" * (len(runs) + 2) + "|"]

    def row(label: str, values: list[str], base_value: str) -> None:
        lines.append(f"| {label} | " + " | ".join(values) + f" | {base_value} |")

    row("wall time, whole command", [f"{r.measured.seconds:.1f} s" for r in runs],
        f"{base.seconds:.1f} s")
    flow = {r.backend: next((s for s in r.steps if s["step"] == "run"), None) for r in runs}
    row("wall time, the flow (Prefect start and imports excluded)",
        [f"{flow[r.backend]['seconds']:.1f} s" if flow[r.backend] else "-" for r in runs],
        f"{baseline.inner_seconds:.1f} s")
    row("peak RSS, process tree", [f"{r.measured.tree_peak_mb:,.0f} MB" for r in runs],
        f"{base.tree_peak_mb:,.0f} MB")
    row("peak RSS, the run's process",
        [f"{max(r.measured.process_peak_mb, flow[r.backend]['peak_rss_mb'] if flow[r.backend] else 0):,.0f} MB"  # noqa: E501
         for r in runs], f"{base.process_peak_mb:,.0f} MB")
    row("ratio run / baseline (wall, whole command)",
        [f"{r.measured.seconds / base.seconds:.2f}x" for r in runs], "1x")
    row("attendance rows per second (whole command)",
        [f"{r.attendance_rows / r.measured.seconds:,.0f}" for r in runs],
        f"{runs[0].attendance_rows / base.seconds:,.0f}")
    row("fact_attendance equals the baseline's",
        [same_facts(r.fact_attendance, baseline.fact_attendance) or "yes" for r in runs], "-")
    lines.append("")

    # Per step, side by side.
    names: list[str] = []
    for r in runs:
        for s in r.steps:
            for label in [s["step"], *(f"  {p['step']}" for p in s.get("parts", []))]:
                if label not in names:
                    names.append(label)
    lines += ["| step | " + " | ".join(f"{r.backend}: wall | {r.backend}: peak RSS"
                                        for r in runs) + " |",
              "|---" * (2 * len(runs) + 1) + "|"]
    for name in names:
        cells = []
        for r in runs:
            found = None
            for s in r.steps:
                if s["step"] == name.strip() and not name.startswith("  "):
                    found = s
                for p in s.get("parts", []):
                    if name.startswith("  ") and p["step"] == name.strip():
                        found = p
            shared = " (shared)" if found and found.get("shared") else ""
            cells += [f"{found['seconds']:.2f} s" if found else "-",
                      f"{found['peak_rss_mb']:,.0f} MB{shared}" if found else "-"]
        label = name.replace("  ", "&nbsp;&nbsp;") if name.startswith("  ") else name
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("")

    # Targets.
    sqlite = next(r for r in runs if r.backend == "sqlite")
    ratio = sqlite.measured.seconds / base.seconds
    lines.append("Targets (issue 8):")
    if employees >= 100_000:
        lines.append(f"- 100k into SQLite at most {TARGET_RATIO:g}x the baseline: "
                     f"{ratio:.2f}x, {_verdict(ratio <= TARGET_RATIO)}")
    else:
        lines.append(f"- (the {TARGET_RATIO:g}x target is for 100k employees; here {ratio:.2f}x)")
    for r in runs:
        peak = r.measured.tree_peak_mb
        lines.append(f"- {r.backend}: peak RSS of the process tree under {TARGET_PEAK_MB:,} MB: "
                     f"{peak:,.0f} MB, {_verdict(peak < TARGET_PEAK_MB)}")
    if employees == 15_000:
        for r in runs:
            seconds = flow[r.backend]["seconds"] if flow[r.backend] else float("nan")
            lines.append(f"- {r.backend}: 15k end to end under {TARGET_15K_S:g} s, Prefect's "
                         f"start excluded: {seconds:.1f} s, {_verdict(seconds < TARGET_15K_S)}")
    lines.append("")
    return lines


def prepare_prefect_database() -> float:
    """Create or upgrade Prefect's database (PREFECT_HOME) as a machine's first server would;
    the seconds it took."""
    started = time.perf_counter()
    subprocess.run([str(BIN / "prefect"), "server", "database", "upgrade", "-y"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                   env={**os.environ, "DO_NOT_TRACK": "1",
                        "PREFECT_SERVER_ANALYTICS_ENABLED": "false"})
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,15000,100000",
                        help="comma-separated numbers of employees")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                        help="folder caching the generated landing data")
    parser.add_argument("--postgres", metavar="URL",
                        help="also run into a fresh database on this PostgreSQL server")
    parser.add_argument("--profile", action="store_true",
                        help="run kinerja under pyinstrument (profile.html in the run folder)")
    parser.add_argument("--keep", action="store_true", help="keep the run folders")
    parser.add_argument("--baseline-child", nargs=2, metavar=("FOLDER", "OUT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.baseline_child:
        baseline_child(*args.baseline_child)
        return 0

    cpus = os.cpu_count()
    with open("/proc/meminfo", encoding="ascii") as f:
        memory_gb = int(f.readline().split()[1]) / 1024 / 1024
    print(f"# kinerja run vs DuckDB baseline, {time.strftime('%Y-%m-%d %H:%M %Z')}")
    print(f"machine: {cpus} CPUs, {memory_gb:.1f} GB RAM, load average {_load()}")
    print(f"Prefect's database created or upgraded first, outside the measurements: "
          f"{prepare_prefect_database():.1f} s\n", flush=True)
    for employees in (int(s) for s in args.sizes.split(",")):
        landing = landing_for(args.cache, employees)
        root = Path(tempfile.mkdtemp(prefix=f"run-{employees}-", dir=args.cache / str(employees)))
        load_before = _load()
        try:
            print(f"{employees:,} employees (work in {root})", flush=True)
            runs = []
            (root / "sqlite").mkdir()
            runs.append(run_kinerja(landing, root / "sqlite",
                                    f"sqlite:///{root / 'sqlite' / 'warehouse.db'}", "sqlite",
                                    args.profile))
            if args.postgres:
                url, drop = fresh_postgres(args.postgres)
                try:
                    (root / "postgres").mkdir()
                    runs.append(run_kinerja(landing, root / "postgres", url, "postgresql",
                                            args.profile))
                finally:
                    drop()
            baseline = run_baseline(landing, root)
            lines = report(employees, runs, baseline, load_before)
            print("\n".join(lines), flush=True)
        finally:
            if not args.keep and not args.profile:
                shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
