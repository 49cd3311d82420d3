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

Each into its own SQLite warehouse. It prints wall time, agencies per minute and peak resident
memory (the command's process for 1 and 2, every Dask worker process for 3: the highest
`ru_maxrss` of its life) side by side with the targets of issue 13, and whether every fact table
of the Dask run equals the sequential run's (run ids aside). Record `uptime` beside the figures:
the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kinerja.synthetic import generate_landing  # noqa: E402
from schemas.outputs import FACT_TABLES  # noqa: E402
from tasks.warehouse import make_engine  # noqa: E402
from tests.prefect_server import prefect_server  # noqa: E402

PERIOD = "2025-S1"
KINERJA = str(Path(sys.executable).with_name("kinerja"))
MIB = 1 << 20
TARGET_SPEEDUP = 1.6


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


class PeakRss:
    """The highest resident memory of one process, sampled every 50 ms in a thread."""

    def __init__(self, pid: int) -> None:
        import psutil

        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self.process.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(0.05)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def run_cli(args: list[str], env: dict[str, str], log: Path) -> tuple[float, int, int]:
    """Wall seconds, exit code and peak RSS (bytes) of one `kinerja` command."""
    started = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen([KINERJA, *args], env=env, stdout=out,
                                   stderr=subprocess.STDOUT, cwd=log.parent)
        peak = PeakRss(process.pid)
        code = process.wait()
    return time.monotonic() - started, code, peak.stop()


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


def same_facts(left: str, right: str) -> tuple[bool, str]:
    a, b = facts(left), facts(right)
    for table in FACT_TABLES:
        try:
            pd.testing.assert_frame_equal(a[table], b[table], obj=table)
        except AssertionError as error:
            return False, f"{table}: {str(error).splitlines()[0]}"
    rows = sum(len(frame) for frame in a.values())
    return True, f"{len(FACT_TABLES)} fact tables, {rows} rows, equal"


def worker_peaks(client) -> dict[str, int]:
    """Each worker process's highest resident memory of its life (Linux ru_maxrss, KiB)."""
    def peak() -> int:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    return client.run(peak)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, required=True,
                        help="folder for the generated landing zones (reused)")
    parser.add_argument("--agencies", type=int, default=8)
    parser.add_argument("--employees", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    codes = agency_codes(args.agencies)
    landing = cached_landing(args.cache.resolve(), codes, args.employees)
    print(f"load before: {os.getloadavg()}", flush=True)
    scratch = Path(tempfile.mkdtemp(prefix="bench-agencies-"))
    urls = {name: f"sqlite:///{scratch / name}.db"
            for name in ("single", "single_dask", "local", "dask")}

    from distributed import Client, LocalCluster

    (scratch / "prefect").mkdir()
    with prefect_server(scratch / "prefect") as prefect_env:
        results: dict[str, dict[str, float]] = {}

        def env_for(name: str, only: str | None = None) -> dict[str, str]:
            folder = scratch / name
            folder.mkdir(exist_ok=True)
            config = folder / "kinerja.toml"
            config.write_text(f'landing = "{landing}"\nreports = "{folder / "reports"}"\n'
                              f'work = "{folder / "work"}"\n'
                              + (f"[agencies.{only}]\n" if only else ""), encoding="utf-8")
            return {**prefect_env, "KINERJA_CONFIG": str(config),
                    "KINERJA_WAREHOUSE_URL": urls[name], "KINERJA_TASK_RETRIES": "0"}

        seconds, code, peak = run_cli(["run", "--agency", codes[0], "--period", PERIOD],
                                      env_for("single"), scratch / "single" / "run.log")
        print(f"one agency alone: {seconds:.1f} s, exit {code}, peak {peak / MIB:.0f} MiB",
              flush=True)
        results["single"] = {"seconds": seconds, "peak": peak, "exit": code}

        # The workers inherit this process's environment: each Dask run's configuration and
        # warehouse, as a data engineer would give them to `dask worker`.
        single_env = env_for("single_dask", only=codes[0])
        os.environ.update(single_env)
        with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                          dashboard_address=":0") as cluster, Client(cluster) as client:
            seconds, code, _ = run_cli(
                ["run", "--agency", "all", "--period", PERIOD, "--executor", "dask",
                 "--dask-address", cluster.scheduler_address],
                single_env, scratch / "single_dask" / "run.log")
            [peak] = worker_peaks(client).values()
        print(f"one agency alone on a Dask worker: {seconds:.1f} s, exit {code}, peak "
              f"{peak / MIB:.0f} MiB", flush=True)
        results["single_dask"] = {"seconds": seconds, "peak": peak, "exit": code}

        seconds, code, peak = run_cli(
            ["run", "--agency", "all", "--period", PERIOD, "--executor", "local"],
            env_for("local"), scratch / "local" / "run.log")
        print(f"sequential: {seconds:.1f} s, exit {code}, peak {peak / MIB:.0f} MiB", flush=True)
        results["local"] = {"seconds": seconds, "peak": peak, "exit": code}

        dask_env = env_for("dask")
        os.environ.update(dask_env)
        started = time.monotonic()
        with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                          dashboard_address=":0") as cluster, Client(cluster) as client:
            cluster_seconds = time.monotonic() - started
            seconds, code, _ = run_cli(
                ["run", "--agency", "all", "--period", PERIOD, "--executor", "dask",
                 "--dask-address", cluster.scheduler_address],
                dask_env, scratch / "dask" / "run.log")
            peaks = worker_peaks(client)
        print(f"dask: {seconds:.1f} s, exit {code}, cluster start {cluster_seconds:.1f} s, "
              f"worker peaks {[round(p / MIB) for p in peaks.values()]} MiB", flush=True)
        results["dask"] = {"seconds": seconds, "peak": max(peaks.values()), "exit": code}

    equal, detail = same_facts(urls["local"], urls["dask"])
    load = os.getloadavg()
    n = args.agencies
    speedup = results["local"]["seconds"] / results["dask"]["seconds"]
    rows = [
        ("wall time", f"{results['local']['seconds']:.1f} s", f"{results['dask']['seconds']:.1f} s",
         f"dask >= {TARGET_SPEEDUP}x faster: {speedup:.2f}x "
         f"({'met' if speedup >= TARGET_SPEEDUP else 'missed'})"),
        ("agencies per minute", f"{n * 60 / results['local']['seconds']:.2f}",
         f"{n * 60 / results['dask']['seconds']:.2f}", ""),
        ("peak memory", f"{results['local']['peak'] / MIB:.0f} MiB (the command)",
         f"{results['dask']['peak'] / MIB:.0f} MiB (highest worker)",
         "per worker <= one agency alone: "
         f"{results['single_dask']['peak'] / MIB:.0f} MiB on a Dask worker "
         f"({'met' if results['dask']['peak'] <= results['single_dask']['peak'] else 'missed'}), "
         f"{results['single']['peak'] / MIB:.0f} MiB in `kinerja run` "
         f"({'met' if results['dask']['peak'] <= results['single']['peak'] else 'missed'})"),
        ("exit code", str(results["local"]["exit"]), str(results["dask"]["exit"]), "0 and 0"),
        ("fact tables", "", "", f"equal to the sequential run: {detail}"),
    ]
    print(f"\n{n} agencies x {args.employees} employees, {args.workers} Dask workers; "
          f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"| | sequential (local) | dask ({args.workers} workers) | target |")
    print("| --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(f"\nscratch folder (logs, warehouses): {scratch}")
    if not equal:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
