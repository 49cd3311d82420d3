"""Benchmark: N agencies of M employees in one run, sequential and on a two-worker Dask cluster.

Run by hand:

    .venv/bin/python bench/bench_agencies.py --cache .kinerja/bench-agencies \\
        [--agencies 8] [--employees 5000] [--workers 2]

The agencies (codes 3301, 3302, ..., seed = their index, 1% bad rows) are generated once with
kinerja's generator into the --cache folder and reused. One Prefect server serves every run
(so no run pays for a temporary one), and each run is the real command line:

1. one agency alone, for its peak memory: `kinerja run --agency <first>` (the command's
   process), and the same agency as `--agency all` of a configuration naming only it, with
   `--executor dask` on a one-worker LocalCluster (the worker process, which also holds Dask);
2. `kinerja run --agency all --executor local`: the agencies one after the other;
3. `kinerja run --agency all --executor dask --dask-address ...` on a LocalCluster of --workers
   single-threaded worker processes started beforehand (its start is timed apart).

Each into its own SQLite warehouse (with --postgres URL, its own new database on that server,
dropped afterwards). The LocalClusters are the ones `kinerja run --executor dask`
would start (`flows.agencies.local_cluster_kwargs` and `worker_environ`: the workers preload
the pipeline), started beforehand as a running cluster would be: the run's wall time and CPU
exclude the cluster's start, printed apart (and the wall time with it).

It prints wall time, agencies per minute, CPU seconds (of the command, of each Dask worker
during the run, and of the Prefect server) and each agency's peak resident memory as its run
recorded it (`run_peaks`: the kernel's high-water mark during the run; a worker's peak is the
highest of its agencies') side by side with the targets of issue 13, and whether every fact
table of the Dask run equals the sequential run's (run ids aside). For each Dask run, each
worker's schedule from the scheduler's task stream: when it ran which agency, and how long it
had none (`print_schedule`); and how many requests the Prefect server answered 503 (its
database busy: each makes a client wait about 2 s, then 4, 8). `--prefect-postgres URL` runs
the Prefect server on a new database on that PostgreSQL server (dropped afterwards) instead of
SQLite, as Prefect advises for production. `--runs` runs only some of
the four (no table then). Record the load average beside the figures: the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kinerja.synthetic import generate_landing  # noqa: E402
from schemas.outputs import FACT_TABLES  # noqa: E402
from tasks.warehouse.database import make_engine  # noqa: E402
from tests.prefect_server import prefect_server, retryable_answers  # noqa: E402

PERIOD = "2025-S1"
KINERJA = str(Path(sys.executable).with_name("kinerja"))
MIB = 1 << 20
TARGET_SPEEDUP = 1.6
RUNS = ("single", "single_dask", "local", "dask")


def agency_codes(n: int) -> list[str]:
    return [f"{3301 + i}" for i in range(n)]


def cached_landing(cache: Path, codes: list[str], employees: int) -> Path:
    """The landing zone of `codes` at `employees` each, generated once per size."""
    root = cache / f"landing-{employees}"
    for seed, code in enumerate(codes, start=1):
        done = root / code / f".generated-{PERIOD}"
        if done.exists():
            continue
        started = time.monotonic()
        generate_landing(root, code, employees, [PERIOD], seed=seed, bad_rows=0.01)
        done.write_text("ok\n", encoding="utf-8")
        print(f"generated {code}: {employees} employees in {time.monotonic() - started:.0f} s",
              flush=True)
    return root


def run_cli(args: list[str], env: dict[str, str], log: Path) -> dict[str, float]:
    """Wall seconds, exit code, CPU seconds and peak resident memory (bytes) of one `kinerja`
    command's process (its own rusage, from wait4: exact, not sampled)."""
    started = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen([KINERJA, *args], env=env, stdout=out,
                                   stderr=subprocess.STDOUT, cwd=log.parent)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    return {"seconds": time.monotonic() - started, "exit": process.returncode,
            "cpu": usage.ru_utime + usage.ru_stime, "peak": usage.ru_maxrss * 1024}


def server_cpu() -> float:
    """CPU seconds so far of the Prefect server this benchmark started (one API for all runs)."""
    import psutil

    total = 0.0
    for child in psutil.Process().children(recursive=True):
        try:
            if "server" in child.cmdline() and any("prefect" in a for a in child.cmdline()):
                times = child.cpu_times()
                total += times.user + times.system
        except psutil.Error:
            continue
    return total


def facts(url: str) -> dict[str, pd.DataFrame]:
    """Every fact table's rows without run ids, in a stable order."""
    engine = make_engine(url)
    out = {}
    try:
        with engine.connect() as conn:
            for table in FACT_TABLES:
                frame = pd.read_sql(sa.text(f"SELECT * FROM {table}"), conn)
                columns = sorted(c for c in frame.columns if c != "run_id")
                out[table] = frame[columns].sort_values(columns).reset_index(drop=True)
    finally:
        engine.dispose()
    return out


def run_peaks(url: str) -> dict[str, float]:
    """Each agency's peak resident memory during its run (MiB), as the run recorded it
    (`pipeline_run.timings`, step "run"): the kernel's high-water mark of the process that ran
    it (VmHWM, kinerja/timings.py). This is the per-worker figure: a worker's peak is the highest
    of its agencies'. `ru_maxrss` is not: kinerja resets the high-water mark at every step
    (/proc/self/clear_refs), and the kernel then reports as `ru_maxrss` only the marks seen
    since, or when a thread ended."""
    import json

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT agency_code, timings FROM pipeline_run "
                                        "WHERE status = 'published'")).all()
    finally:
        engine.dispose()
    peaks = {}
    for code, timings in rows:
        steps = json.loads(timings) if isinstance(timings, str) else timings
        peaks[code] = max(s["peak_rss_mb"] for s in steps if s["step"] == "run")
    return peaks


def same_facts(left: str, right: str) -> tuple[bool, str]:
    a, b = facts(left), facts(right)
    for table in FACT_TABLES:
        try:
            pd.testing.assert_frame_equal(a[table], b[table], obj=table)
        except AssertionError as error:
            return False, f"{table}: {str(error).splitlines()[0]}"
    rows = sum(len(frame) for frame in a.values())
    return True, f"{len(FACT_TABLES)} fact tables, {rows} rows, equal"


def worker_usage(client) -> dict[str, tuple[int, float]]:
    """Each worker process's highest resident memory of its life (bytes) and CPU seconds."""
    def usage() -> tuple[int, float]:
        import resource

        own = resource.getrusage(resource.RUSAGE_SELF)
        return own.ru_maxrss * 1024, own.ru_utime + own.ru_stime

    return client.run(usage)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, required=True,
                        help="folder for the generated landing zones (reused)")
    parser.add_argument("--agencies", type=int, default=8)
    parser.add_argument("--employees", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--postgres", metavar="URL",
                        help="put each run's warehouse in a new database on this PostgreSQL "
                        "server (dropped afterwards) instead of SQLite")
    parser.add_argument("--prefect-postgres", metavar="URL",
                        help="run the Prefect server on a new database on this PostgreSQL "
                        "server (dropped afterwards) instead of SQLite, as Prefect advises for "
                        "production")
    parser.add_argument("--runs", default=",".join(RUNS),
                        help=f"which runs, comma-separated (default all: {','.join(RUNS)}); "
                        "the table needs all four")
    args = parser.parse_args()
    runs = [r.strip() for r in args.runs.split(",") if r.strip()]
    unknown = set(runs) - set(RUNS)
    if unknown:
        parser.error(f"--runs: unknown {', '.join(sorted(unknown))}")

    codes = agency_codes(args.agencies)
    landing = cached_landing(args.cache.resolve(), codes, args.employees)
    print(f"load before: {os.getloadavg()}", flush=True)
    scratch = Path(tempfile.mkdtemp(prefix="bench-agencies-"))
    drops: list[Any] = []
    from bench_run import fresh_postgres

    try:
        # Every database made here is dropped, whatever fails after it was made.
        if args.postgres:
            urls = {}
            for name in RUNS:
                urls[name], drop = fresh_postgres(args.postgres)
                drops.append(drop)
        else:
            urls = {name: f"sqlite:///{scratch / name}.db" for name in RUNS}
        prefect_database = None
        if args.prefect_postgres:
            created, drop = fresh_postgres(args.prefect_postgres)
            drops.append(drop)
            prefect_database = sa.make_url(created).set(drivername="postgresql+asyncpg") \
                .render_as_string(hide_password=False)
        _measure_all(args, runs, codes, landing, scratch, urls, prefect_database)
    finally:
        for drop in drops:
            drop()


def print_schedule(stream: list[dict[str, Any]], wall_start: float, seconds: float) -> None:
    """When each worker ran each agency, in seconds from the command's start, and how long it
    had nothing to run before the command ended: where a Dask run's wall time went."""
    spans: dict[str, list[tuple[float, float]]] = {}
    for task in stream:
        for part in task["startstops"]:
            if part["action"] == "compute":
                spans.setdefault(task["worker"], []).append(
                    (part["start"] - wall_start, part["stop"] - wall_start))
    for worker, runs in sorted(spans.items()):
        runs.sort()
        busy = sum(stop - start for start, stop in runs)
        counted = f"{len(runs)} agency" if len(runs) == 1 else f"{len(runs)} agencies"
        print(f"  worker {worker}: " + ", ".join(f"{a:.1f}-{b:.1f}" for a, b in runs)
              + f" s; {counted}, idle {seconds - busy:.1f} s of {seconds:.1f}", flush=True)


def _measure_all(args: argparse.Namespace, runs: list[str], codes: list[str], landing: Path,
                 scratch: Path, urls: dict[str, str], prefect_database: str | None) -> None:

    from distributed import Client, LocalCluster

    from flows.agencies import agency_scheduling, local_cluster_kwargs, worker_environ

    def cluster_kwargs(workers: int) -> dict[str, Any]:
        # The LocalCluster `kinerja run --executor dask` would start (its workers preload the
        # pipeline; started within `worker_environ`), with the number of workers asked for.
        return {**local_cluster_kwargs(workers), "n_workers": workers}

    (scratch / "prefect").mkdir()
    results: dict[str, dict[str, Any]] = {}
    print(f"Prefect server's database: {'PostgreSQL' if prefect_database else 'SQLite'}",
          flush=True)
    with prefect_server(scratch / "prefect", prefect_database) as prefect_env:

        def env_for(name: str, only: str | None = None) -> dict[str, str]:
            folder = scratch / name
            folder.mkdir(exist_ok=True)
            config = folder / "kinerja.toml"
            config.write_text(f'landing = "{landing}"\nreports = "{folder / "reports"}"\n'
                              f'work = "{folder / "work"}"\n'
                              + (f"[agencies.{only}]\n" if only else ""), encoding="utf-8")
            return {**prefect_env, "KINERJA_CONFIG": str(config),
                    "KINERJA_WAREHOUSE_URL": urls[name], "KINERJA_TASK_RETRIES": "0"}

        def measured(name: str, args_: list[str], env: dict[str, str],
                     client=None, started: float | None = None) -> dict[str, Any]:
            server_before = server_cpu()
            busy_before = retryable_answers(scratch / "prefect")
            before = worker_usage(client) if client is not None else {}
            if client is not None:
                client.get_task_stream(count=0)  # the scheduler records task times from now
            wall_start = time.time()
            result = run_cli(args_, env, scratch / name / "run.log")
            if client is not None:
                print_schedule(client.get_task_stream(start=wall_start), wall_start,
                               result["seconds"])
            result["server_cpu"] = server_cpu() - server_before
            # Each made a Prefect client wait about 2 s (then 4, 8, with jitter) before it
            # asked again. On SQLite a locked database; on PostgreSQL any driver error.
            result["busy_answers"] = retryable_answers(scratch / "prefect") - busy_before
            result["command_cpu"] = result["cpu"]
            result["command_peak"] = result["peak"]
            if client is not None:  # the work ran on the Dask workers
                usage = worker_usage(client)
                # CPU of the run only: the workers' start (and preload) is reported apart.
                result["worker_cpu"] = [round(cpu - before.get(w, (0, 0.0))[1], 1)
                                        for w, (_, cpu) in usage.items()]
                result["worker_start_cpu"] = [round(before.get(w, (0, 0.0))[1], 1)
                                              for w in usage]
                result["cpu"] += sum(result["worker_cpu"])
            if started is not None:
                result["with_start"] = time.monotonic() - started
            peaks = run_peaks(urls[name])
            result["agency_peaks"] = peaks
            result["peak"] = max(peaks.values()) * MIB if peaks else result["peak"]
            print(f"{name}: {result['seconds']:.1f} s"
                  + (f" ({result['with_start']:.1f} s with the cluster's start)"
                     if started is not None else "")
                  + f", exit {result['exit']}, CPU {result['cpu']:.0f} s (command "
                  f"{result['command_cpu']:.1f} s, workers {result.get('worker_cpu', '-')}, "
                  f"their start {result.get('worker_start_cpu', '-')}; Prefect server "
                  f"{result['server_cpu']:.0f} s, 503 answers {result['busy_answers']}), "
                  "peak of an agency's run "
                  f"{result['peak'] / MIB:.0f} MiB (each: "
                  f"{', '.join(f'{c} {p:.0f}' for c, p in sorted(peaks.items()))}), "
                  f"load {os.getloadavg()[0]:.2f}", flush=True)
            return result

        if "single" in runs:
            results["single"] = measured(
                "single", ["run", "--agency", codes[0], "--period", PERIOD], env_for("single"))
        # The workers inherit this process's environment: each Dask run's configuration and
        # warehouse, as a data engineer would give them to `dask worker`.
        if "single_dask" in runs:
            single_env = env_for("single_dask", only=codes[0])
            os.environ.update(single_env)
            started = time.monotonic()
            with worker_environ(), agency_scheduling(), \
                    LocalCluster(**cluster_kwargs(1)) as cluster, \
                    Client(cluster) as client:
                results["single_dask"] = measured(
                    "single_dask", ["run", "--agency", "all", "--period", PERIOD, "--executor",
                                    "dask", "--dask-address", cluster.scheduler_address],
                    single_env, client, started)
        if "local" in runs:
            results["local"] = measured(
                "local", ["run", "--agency", "all", "--period", PERIOD, "--executor", "local"],
                env_for("local"))
        if "dask" in runs:
            dask_env = env_for("dask")
            os.environ.update(dask_env)
            started = time.monotonic()
            with worker_environ(), agency_scheduling(), \
                    LocalCluster(**cluster_kwargs(args.workers)) as cluster, \
                    Client(cluster) as client:
                print(f"LocalCluster of {args.workers} workers started (pipeline preloaded) "
                      f"in {time.monotonic() - started:.1f} s", flush=True)
                results["dask"] = measured(
                    "dask", ["run", "--agency", "all", "--period", PERIOD, "--executor", "dask",
                             "--dask-address", cluster.scheduler_address], dask_env, client,
                    started)

    print(f"\nscratch folder (logs, warehouses): {scratch}")
    if set(runs) != set(RUNS):
        return
    equal, detail = same_facts(urls["local"], urls["dask"])
    load = os.getloadavg()
    n = args.agencies
    local, dask, alone, alone_dask = (results[k] for k in ("local", "dask", "single",
                                                            "single_dask"))
    speedup = local["seconds"] / dask["seconds"]
    speedup_started = local["seconds"] / dask["with_start"]

    def verdict(ok: bool) -> str:
        return "met" if ok else "missed"

    rows = [
        ("wall time", f"{local['seconds']:.1f} s",
         f"{dask['seconds']:.1f} s ({dask['with_start']:.1f} s with the cluster's start)",
         f"dask >= {TARGET_SPEEDUP}x faster: {speedup:.2f}x "
         f"({verdict(speedup >= TARGET_SPEEDUP)}; {speedup_started:.2f}x with the start)"),
        ("agencies per minute", f"{n * 60 / local['seconds']:.2f}",
         f"{n * 60 / dask['seconds']:.2f}", ""),
        ("CPU seconds (kinerja processes)", f"{local['cpu']:.0f}",
         f"{dask['cpu']:.0f} (command {dask['command_cpu']:.0f}, workers "
         f"{' + '.join(f'{c:.0f}' for c in dask['worker_cpu'])}; their start "
         f"{' + '.join(f'{c:.0f}' for c in dask['worker_start_cpu'])} apart)", ""),
        ("CPU seconds (Prefect server)", f"{local['server_cpu']:.0f}",
         f"{dask['server_cpu']:.0f}", ""),
        ("Prefect server's 503 answers (database busy; the client waits about 2 s, 4, 8)",
         f"{local['busy_answers']} times", f"{dask['busy_answers']} times", ""),
        ("peak memory of an agency's run", f"{local['peak'] / MIB:.0f} MiB (the command)",
         f"{dask['peak'] / MIB:.0f} MiB (the highest on a worker)",
         "per worker <= one agency alone: "
         f"{alone_dask['peak'] / MIB:.0f} MiB on a Dask worker "
         f"({verdict(dask['peak'] <= alone_dask['peak'])}), "
         f"{alone['peak'] / MIB:.0f} MiB in `kinerja run --agency {codes[0]}` "
         f"({verdict(dask['peak'] <= alone['peak'])})"),
        ("exit code", str(local["exit"]), str(dask["exit"]), "0 and 0"),
        ("fact tables", "", "", f"equal to the sequential run: {detail}"),
    ]
    print(f"\n{n} agencies x {args.employees} employees, {args.workers} Dask workers, Prefect "
          f"server on {'PostgreSQL' if prefect_database else 'SQLite'}; "
          f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"| | sequential (local) | dask ({args.workers} workers) | target |")
    print("| --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    if not equal:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
