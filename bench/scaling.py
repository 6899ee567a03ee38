"""Pipeline and generator scaling with dump size: seconds per page and peak RSS, plus a PNG plot.

    python bench/scaling.py [--pages 10000 30000 100000] [--runs 3] [--out bench/scaling.png]
                            [--reference CHECKOUT]

Each size is a synthetic world (``synth``) of about that many pages, generated once and then
run through the pipeline ``--runs`` times (DirectRunner, 1 worker, so the child's peak RSS is the
pipeline's; medians). A world of a few pages, run the same way, measures the fixed start-up (imports,
building the Beam graph), which is also reported subtracted. The goal: seconds per page flat within
20% across sizes, and peak RSS growing ≤ 5 KB a page: (peak at the largest size − at the smallest) /
(pages between them). ``--reference`` runs another checkout of the project (``git worktree add /tmp/ref
main``) on the same worlds, interleaved, and prints its figures and ours/reference.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES_PER_ENTITY = 1443 / 800  # measured on the demo world (redirects, disambiguation, noise pages)


_PEAK_OF_CHILD = (
    "import resource, subprocess, sys; "
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode; "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(code)"
)


def measured(command: list[str], cwd: Path = ROOT) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of one command, measured from a fresh parent so that earlier
    children's peaks do not count."""
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", _PEAK_OF_CHILD, *command], cwd=cwd, check=True,
                            capture_output=True, text=True)
    wall = time.perf_counter() - start
    return wall, int(result.stdout.split()[-1]) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, nargs="+", default=[10_000, 30_000, 100_000])
    parser.add_argument("--runs", type=int, default=3, help="pipeline runs per size (medians)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "scaling.png")
    parser.add_argument("--reference", type=Path, default=None,
                        help="another checkout of the project to run on the same worlds (e.g. main)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        startup = None
        for pages in [5, *args.pages]:
            entities = max(1, round(pages / PAGES_PER_ENTITY))
            world = tmp / f"world-{entities}.xml.bz2"
            gen_s, gen_mib = measured([sys.executable, "-m", "synth", "--entities", str(entities),
                                       "--seed", "1", "--output", str(world)])
            out = tmp / f"out-{entities}"
            command = [sys.executable, "-m", "pipeline.run", "--input", str(world), "--train-tokenizer",
                       "--vocab-size", "8000", "--text-scope", "article"]
            runs, reference_runs = [], []
            for _ in range(args.runs):
                runs.append(measured([*command, "--output", str(out)]))
                if args.reference:
                    reference_runs.append(measured([*command, "--output", str(tmp / "reference")], args.reference))
            run_s, run_mib = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
            read = json.loads((out / "manifest.json").read_text())["counts"]["pages_read"]
            if startup is None:
                startup = run_s
                print(f"start-up ({read} pages): {startup:.2f} s", flush=True)
                continue
            rows.append({"pages": read, "generator_s": gen_s, "generator_mib": gen_mib, "pipeline_s": run_s,
                         "pipeline_mib": run_mib, "ms_per_page": 1000 * run_s / read,
                         "net_ms_per_page": 1000 * (run_s - startup) / read})
            print(f"{read} pages: pipeline {run_s:.1f} s ({1000 * run_s / read:.2f} ms/page), "
                  f"{run_mib:.0f} MiB; generator {gen_s:.1f} s, {gen_mib:.0f} MiB", flush=True)
            if reference_runs:
                ref_s, ref_mib = (statistics.median(r[i] for r in reference_runs) for i in (0, 1))
                rows[-1] |= {"reference_s": ref_s, "reference_mib": ref_mib}
                print(f"  reference: {ref_s:.1f} s, {ref_mib:.0f} MiB; ours/reference peak RSS {run_mib / ref_mib:.2f}",
                      flush=True)
    print(f"\n# scaling — {time.strftime('%Y-%m-%d')}, {platform.machine()}, Python {platform.python_version()}, "
          f"median of {args.runs} pipeline runs per size; start-up {startup:.2f} s")
    print("| pages | pipeline s | ms/page | ms/page after start-up | pipeline peak RSS MiB | generator s | "
          "generator peak RSS MiB |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['pages']} | {r['pipeline_s']:.1f} | {r['ms_per_page']:.2f} | {r['net_ms_per_page']:.2f} | "
              f"{r['pipeline_mib']:.0f} | {r['generator_s']:.1f} | {r['generator_mib']:.0f} |")
    for key, label in (("ms_per_page", "whole run"), ("net_ms_per_page", "after start-up")):
        spread = max(r[key] for r in rows) / min(r[key] for r in rows)
        print(f"per-page time ({label}), largest/smallest: {spread:.2f} (goal ≤ 1.20)")
    if len(rows) > 1:
        for key, label in (("pipeline_mib", "ours"), ("reference_mib", "reference")):
            if key in rows[0]:
                print(f"peak RSS growth ({label}), {rows[0]['pages']} → {rows[-1]['pages']} pages: "
                      f"{kb_per_page(rows, key):.1f} KB/page (goal ≤ 5)")
    plot(rows, args.out)
    print(f"plot: {args.out}")
    return 0


def kb_per_page(rows: list[dict], key: str) -> float:
    """Peak RSS growth per page between the smallest and the largest world."""
    return 1024 * (rows[-1][key] - rows[0][key]) / (rows[-1]["pages"] - rows[0]["pages"])


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pages = [r["pages"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    left.plot(pages, [r["ms_per_page"] for r in rows], "o-", label="whole run")
    left.plot(pages, [r["net_ms_per_page"] for r in rows], "s-", label="after start-up")
    left.set(xscale="log", xlabel="pages", ylabel="pipeline ms per page", title="time per page")
    left.set_ylim(bottom=0)
    left.legend()
    right.plot(pages, [r["pipeline_mib"] for r in rows], "o-", label="pipeline")
    right.plot(pages, [r["generator_mib"] for r in rows], "s-", label="generator")
    right.set(xscale="log", xlabel="pages", ylabel="peak RSS (MiB)", title="memory")
    right.set_ylim(bottom=0)
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    sys.exit(main())
