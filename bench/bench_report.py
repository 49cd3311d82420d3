"""Benchmark: the report step (HTML pages and workbooks) of one published agency-period.

Run by hand:

    .venv/bin/python bench/bench_report.py [--employees 20000] [--cache DIR] [--checkout DIR]

The first run for a size generates a landing zone (`kinerja generate`, seed 7, 1% bad rows) and
publishes it with `kinerja run` into a SQLite warehouse, both cached under `--cache` (default
`.kinerja/bench-report/`). Then the report step alone runs in a fresh Python process:
`tasks.reporting.report.write_reports` on that warehouse, into an empty reports folder. Wall time is
measured around the call (imports excluded, printed apart), peak resident memory is the child's
(`wait4`'s ru_maxrss, imports included). `--checkout` runs the step from another checkout of
the project (e.g. `git worktree add /tmp/before <commit>`), to measure before and after with the
same data; `--repeat` runs it several times and keeps the fastest.

Issue 8's figures for the report step, printed beside: 70 s at 20,000 employees and 4 min 23 s
(263 s) at 100,000 (HTML 55 MB, workbook 30 MB), on this 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AGENCY = "3374"
PERIOD = "2025-S1"
SEED = 7
ISSUE_FIGURES_S = {20_000: 70.0, 100_000: 263.0}

# Runs in the child: imports first (timed apart), then the step.
_CHILD = r"""
import json, resource, sys, time
started = time.perf_counter()
from tasks.reporting import report
from tasks.warehouse.database import make_engine
imported = time.perf_counter()
engine = make_engine(sys.argv[1])
steps = {}
if hasattr(report, "report_timings"):
    outputs = report.write_reports(engine, sys.argv[2], sys.argv[3], sys.argv[4], timings=steps)
else:
    outputs = report.write_reports(engine, sys.argv[2], sys.argv[3], sys.argv[4])
done = time.perf_counter()
print(json.dumps({"import_s": imported - started, "step_s": done - imported, "steps": steps,
                  "outputs": {k: str(v) for k, v in outputs.items()}}))
"""


def _kinerja() -> str:
    return str(Path(sys.executable).with_name("kinerja"))


def prepare(cache: Path, employees: int) -> str:
    """A SQLite warehouse with the size's publication (generated and run once, then cached)."""
    folder = cache / str(employees)
    database = folder / "warehouse.db"
    done = folder / "published"
    url = f"sqlite:///{database}"
    if done.is_file():
        return url
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    started = time.perf_counter()
    subprocess.run([_kinerja(), "generate", "--agency", AGENCY, "--employees", str(employees),
                    "--periods", PERIOD, "--out", str(folder / "landing"), "--seed", str(SEED),
                    "--bad-rows", "0.01"], check=True, cwd=folder)
    subprocess.run([_kinerja(), "run", "--agency", AGENCY, "--period", PERIOD,
                    "--landing", str(folder / "landing"), "--warehouse", url,
                    "--reports", str(folder / "reports")], check=True, cwd=folder,
                   env={**os.environ, "KINERJA_WORK": str(folder / "work")})
    done.write_text(f"prepared in {time.perf_counter() - started:.0f} s\n")
    return url


def measure(url: str, checkout: Path, reports: Path) -> dict:
    """One report step in a fresh process: its timings, peak RSS and output sizes."""
    shutil.rmtree(reports, ignore_errors=True)
    reports.mkdir(parents=True)
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    process = subprocess.Popen(
        [sys.executable, "-c", _CHILD, url, AGENCY, PERIOD, str(reports)],
        cwd=checkout, env=env, stdout=subprocess.PIPE, text=True)
    wall_started = time.perf_counter()
    out = process.stdout.read() if process.stdout else ""
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - wall_started
    if status != 0:
        raise SystemExit(f"the report step failed (status {status})")
    result = json.loads(out.strip().splitlines()[-1])
    result["wall_s"] = wall
    result["peak_rss_mb"] = usage.ru_maxrss / 1024  # Linux: kilobytes
    result["cpu_s"] = usage.ru_utime + usage.ru_stime
    sizes: dict[str, int] = {}
    for path in reports.rglob("*"):
        if path.is_file():
            kind = "html" if path.suffix == ".html" else path.suffix.lstrip(".")
            if "datadocs" not in path.parts:
                sizes[kind] = sizes.get(kind, 0) + path.stat().st_size
                sizes[f"{kind}_files"] = sizes.get(f"{kind}_files", 0) + 1
    result["sizes"] = sizes
    index = [p for p in reports.rglob("index.html") if "datadocs" not in p.parts]
    legacy = list(reports.glob("*_laporan.html"))
    result["index_bytes"] = (index or legacy or [None])[0].stat().st_size if (
        index or legacy) else None
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--employees", type=int, default=20_000)
    parser.add_argument("--cache", type=Path, default=ROOT / ".kinerja" / "bench-report")
    parser.add_argument("--checkout", type=Path, default=ROOT,
                        help="project checkout whose report code runs (default: this one)")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()

    url = prepare(args.cache.resolve(), args.employees)
    runs = []
    with tempfile.TemporaryDirectory(prefix="kinerja-bench-report-") as scratch:
        for _ in range(args.repeat):
            runs.append(measure(url, args.checkout.resolve(), Path(scratch) / "reports"))
    best = min(runs, key=lambda r: r["step_s"])
    issue = ISSUE_FIGURES_S.get(args.employees)
    mb = 1024 * 1024
    print(f"report step, {args.employees:,} employees, code of {args.checkout.resolve()}")
    issue_text = f"{issue:.0f} s" if issue else "not measured at this size"
    all_runs = ", ".join(f"{r['step_s']:.1f}" for r in runs)
    print(f"  time        {best['step_s']:7.1f} s   (issue 8: {issue_text}; imports "
          f"{best['import_s']:.1f} s apart; runs: {all_runs}; load average "
          f"{os.getloadavg()[0]:.1f})")
    print(f"  CPU time    {best['cpu_s']:7.1f} s   (user + system of the child, imports "
          "included: steadier than wall time on a shared machine)")
    print(f"  peak memory {best['peak_rss_mb']:7.0f} MB  (resident, whole child process)")
    for name, seconds in best["steps"].items():
        print(f"    {name:<22} {seconds:6.1f} s")
    sizes = best["sizes"]
    print(f"  HTML        {sizes.get('html', 0) / mb:7.1f} MB in {sizes.get('html_files', 0)} "
          f"files; index {(best['index_bytes'] or 0) / 1024:.0f} KB")
    print(f"  workbooks   {sizes.get('xlsx', 0) / mb:7.1f} MB in {sizes.get('xlsx_files', 0)} "
          f"files")


if __name__ == "__main__":
    main()
