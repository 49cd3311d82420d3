"""Benchmark of `kinerja generate`: one period of a synthetic agency into a temporary folder.

    python bench/bench_generate.py --employees 100000

Prints the elapsed seconds, the rows written per dataset and the peak resident memory. Run by
hand, not by pytest.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from kinerja.synthetic import generate_landing


def _peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux (bytes on macOS).
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _tree_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=100_000)
    parser.add_argument("--period", default="2025-S1")
    parser.add_argument("--agency", default="3374")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bad-rows", type=float, default=0.0)
    parser.add_argument("--out", type=Path, default=None,
                        help="write here and keep the files (default: a temporary folder)")
    args = parser.parse_args(argv)

    out = args.out or Path(tempfile.mkdtemp(prefix="kinerja-bench-"))
    started = time.perf_counter()
    try:
        summary = generate_landing(out, args.agency, args.employees, [args.period],
                                   seed=args.seed, bad_rows=args.bad_rows,
                                   progress=lambda line: print(
                                       f"  [{time.perf_counter() - started:7.1f}s] {line}",
                                       flush=True))
        elapsed = time.perf_counter() - started
        period = summary.periods[args.period]
        size = _tree_bytes(period.path)
    finally:
        if args.out is None:
            shutil.rmtree(out, ignore_errors=True)

    print(f"employees:     {args.employees:,}")
    print(f"period:        {args.period}")
    for name, dataset in period.datasets.items():
        print(f"  {name:<11} {dataset.rows:>12,} rows  {dataset.bad_rows:>9,} bad  "
              f"{len(dataset.paths):>3} files")
    print(f"rows written:  {period.rows:,}")
    print(f"bytes written: {size / 1e6:,.1f} MB")
    print(f"elapsed:       {elapsed:,.1f} s")
    print(f"peak RSS:      {_peak_rss_mb():,.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
