"""Training throughput of the ``kilm`` task against fairseq's own ``denoising`` (the reference).

Both runs start from ``python -m trainer.launch`` with the same preset, model and paragraphs: ``kilm``
on ``bin/shard*`` (knowledge rows, noise applied by our wrapper, our criterion), ``denoising`` on
``bin/plain`` (``--mode base``; blocks of whole paragraphs, at most one row each, so batches have
the shapes ``kilm`` sees). The runs alternate; each reports fairseq's words/s (target tokens per
second) over its updates after the first log window; the ratio compares medians.

    python bench/train_throughput.py [--data OUT/bin] [--runs 3] [--updates 150] [--gpus 0]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kilm.indexed import read_indexed  # noqa: E402
from tests.trainer_fixtures import build_corpus  # noqa: E402


def words_per_second(data: Path, mode: str, *, preset: str, gpus: int, updates: int, tokens_per_sample: int,
                     save_dir: Path) -> tuple[float, float]:
    """Median words/s and words/batch of one run's log windows after the first (warm-up excluded)."""
    window = max(updates // 5, 1)
    extra = ["--max-update", str(updates), "--log-interval", str(window), "--disable-validation", "--no-save"]
    if mode == "base":
        extra += ["--tokens-per-sample", str(tokens_per_sample)]
    argv = [sys.executable, "-m", "trainer.launch", "--data", str(data), "--save-dir", str(save_dir),
            "--preset", preset, "--gpus", str(gpus), "--mode", mode, "--", *extra]
    result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{mode} run failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    records = [json.loads(line.split("| train_inner | ", 1)[1])
               for line in result.stdout.splitlines() if "| train_inner | " in line]
    if len(records) < 2:
        raise SystemExit(f"{mode}: too few log windows; raise --updates")
    return (statistics.median(float(r["wps"]) for r in records[1:]),
            statistics.median(float(r["wpb"]) for r in records[1:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="the pipeline's OUT/bin (default: a synthetic corpus)")
    parser.add_argument("--preset", default="cpu-tiny", help="trainer.launch preset (default: cpu-tiny)")
    parser.add_argument("--gpus", type=int, default=0, help="GPUs (default: 0, the CPU)")
    parser.add_argument("--runs", type=int, default=3, help="runs per objective (default: 3)")
    parser.add_argument("--updates", type=int, default=150, help="updates per run (default: 150)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data or build_corpus(Path(tmp) / "corpus", entities=400) / "bin"
        longest = max(len(row) for row in read_indexed(data / "plain" / "train"))
        wps: dict[str, list[float]] = {"kilm": [], "base": []}
        for run in range(args.runs):
            for mode in ("kilm", "base") if run % 2 == 0 else ("base", "kilm"):
                speed, batch = words_per_second(data, mode, preset=args.preset, gpus=args.gpus,
                                                updates=args.updates, tokens_per_sample=longest + 2,
                                                save_dir=Path(tmp) / f"{mode}{run}")
                wps[mode].append(speed)
                name = "kilm" if mode == "kilm" else "denoising"
                print(f"run {run} {name:>9}: {speed:9.0f} words/s, {batch:6.0f} words/batch", flush=True)
    kilm, reference = statistics.median(wps["kilm"]), statistics.median(wps["base"])
    print(f"kilm      median {kilm:9.0f} words/s")
    print(f"denoising median {reference:9.0f} words/s (reference)")
    print(f"ratio kilm/denoising = {kilm / reference:.3f} (goal >= 0.95)")


if __name__ == "__main__":
    main()
