"""Wall time and peak RSS of the synthetic world generator at growing sizes.

Each size runs `python -m synth` as a child process; its peak RSS comes from
`os.wait4` (that child's own rusage), so runs do not mask each other and nothing beyond the
standard library is needed. Flat RSS across sizes shows the generator streams.

    python bench/synth_scaling.py                      # 10k, 100k, 1M entities
    python bench/synth_scaling.py --sizes 2000 20000 --workers 2
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Run:
    entities: int
    workers: int
    wall_s: float
    peak_rss_mib: float  # of the generator process (workers > 1: of the parent, see --help)
    dump_mib: float
    truth_mib: float


def measure(entities: int, seed: int, workers: int, folder: Path) -> Run:
    """Run the generator once in a child process and read that child's rusage."""
    dump = folder / f"world-{entities}.xml.bz2"
    command = [sys.executable, "-m", "synth", "--entities", str(entities), "--seed", str(seed),
               "--workers", str(workers), "--output", str(dump)]
    started = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"generator failed for {entities} entities (exit {child.returncode})")
    truth = folder / f"world-{entities}.truth.jsonl"
    run = Run(entities, workers, wall, usage.ru_maxrss / 1024, dump.stat().st_size / 2**20,
              truth.stat().st_size / 2**20)
    dump.unlink()
    truth.unlink()
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000],
                        help="entity counts to run (default 10000 100000 1000000)")
    parser.add_argument("--seed", type=int, default=0, help="world seed (default 0)")
    parser.add_argument("--workers", type=int, default=1,
                        help="generator processes; with more than 1 the RSS shown is the parent's only, "
                             "each worker holds about the same (default 1)")
    parser.add_argument("--dir", type=Path, default=None, help="scratch folder (default: a temporary one)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.dir) as scratch:
        print(f"{'entities':>10} {'workers':>7} {'wall_s':>9} {'peak_rss_MiB':>12} {'dump_MiB':>9} "
              f"{'truth_MiB':>9} {'entities/s':>10}", flush=True)
        for size in args.sizes:
            run = measure(size, args.seed, args.workers, Path(scratch))
            print(f"{run.entities:>10} {run.workers:>7} {run.wall_s:>9.1f} {run.peak_rss_mib:>12.1f} "
                  f"{run.dump_mib:>9.1f} {run.truth_mib:>9.1f} {run.entities / run.wall_s:>10.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
