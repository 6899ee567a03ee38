"""ED scoring throughput: all candidates of a batch of mentions in one pass vs one candidate at a time.

    python bench/eval_throughput.py [--data OUT --model PATH] [--batch-size 16] [--runs 3] [--limit 64]

Without ``--data``/``--model`` it builds the tests' tiny world and model in a temporary directory.
Prints mentions/s of each way (median of ``--runs``) and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eval.data import ed_items, load_alias, load_entities  # noqa: E402
from eval.ed import EdInput, prepare, score_batched, score_one_at_a_time  # noqa: E402
from eval.models import KilmModel, load_model  # noqa: E402
from kilm.tokenizer import KilmTokenizer  # noqa: E402


def tiny_setup(directory: Path) -> tuple[Path, Path]:
    """The tests' fixture: a tiny OUT directory and a tiny fairseq BART trained on it."""
    sys.path.insert(0, str(ROOT / "tests"))
    from eval_fixtures import make_world, train_tiny_bart

    world = make_world(directory / "out")
    return world.out, train_tiny_bart(world, directory / "tiny.pt", steps=30)


def median_rate(fn: Callable[[], object], mentions: int, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return mentions / statistics.median(times)


def batched(model: KilmModel, inputs: list[EdInput], batch_size: int) -> None:
    for i in range(0, len(inputs), batch_size):
        score_batched(model, inputs[i : i + batch_size])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path)
    p.add_argument("--model", type=Path)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--limit", type=int, default=64, help="ED mentions to score")
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)
    if args.runs < 3:
        p.error("--runs must be at least 3 (medians)")
    with tempfile.TemporaryDirectory() as tmp:
        data, model_path = (args.data, args.model) if args.data and args.model else tiny_setup(Path(tmp))
        model = load_model(model_path, KilmTokenizer.load(data / "tokenizer"), args.device)
        edset = ed_items(data, load_alias(data), args.limit)
        inputs = prepare(model, edset.items, load_entities(data))
        if not inputs:
            print("no ED mentions to score", file=sys.stderr)
            return 1
        candidates = sum(len(x.spans) for x in inputs)
        with torch.inference_mode():
            one = median_rate(lambda: score_one_at_a_time(model, inputs), len(inputs), args.runs)
            many = median_rate(lambda: batched(model, inputs, args.batch_size), len(inputs), args.runs)
    print(f"threads={torch.get_num_threads()} device={args.device} mentions={len(inputs)} candidates={candidates}")
    print(f"one candidate at a time: {one:.1f} mentions/s")
    print(f"batched (batch {args.batch_size} mentions, one pass): {many:.1f} mentions/s")
    print(f"ratio: {many / one:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
