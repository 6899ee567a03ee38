"""Training cost per pass: the ``bart-base`` preset against the KILM reference recipe, on the same rows.

For each pipeline output, per pass over the train paragraphs (the paper's epoch), both recipes:
rows, target tokens, padded positions as a share of all source + target positions, and optimizer
updates on ``--devices`` devices (batches / devices / gradient accumulation, unrounded), averaged over
enough passes for each of a paragraph's candidate rows to take the same number of turns.

- ours: the ``kilm`` task loaded as fairseq-train loads it from the launcher's own ``bart-base``
  command (``--gpus DEVICES``): each epoch's rows in the dataset's ``ordered_indices`` (by length),
  batched by fairseq's ``get_batch_iterator`` with the command's --max-tokens/--batch-size/
  --required-batch-size-multiple, sources as long as that epoch's text infilling leaves them.
- reference (alexa/kilm ``scripts/run_pretraining.sh``, ``src/data/wiki_data_utils.py``,
  ``src/data/collators.py``): one row per paragraph chunk of <= 512 tokens per epoch, with a fresh
  mention each epoch (drawn uniformly here from ``{split}.rows.jsonl.gz``, which names each row's
  paragraph and mention; a plain paragraph's windows are its chunks; target tokens are the draw's
  expectation), shuffled, 8 rows per device per batch, each batch padded to its
  longest row, source cut at 512 tokens and target at 640, gradient accumulation 128. Its rows have
  our lengths and our noise, so the recipes differ in which rows a pass trains and how they are
  batched, nothing else.

Goals (issue 20): padded positions <= 5% of all positions, and no more target tokens per pass than
the reference.

    python bench/train_cost.py [--data OUT ...] [--entities 1000] [--devices 8] [--passes N] [--workdir DIR]
        [--text-scope {lead,article}]

Without ``--data`` it builds two outputs first: the shared enwiki sample and a synthetic world of
``--entities`` entities (``python -m synth``), both through ``python -m pipeline.run --train-tokenizer``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import math
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.dumps import SHARED_DATA  # noqa: E402
from trainer.launch import make_plan, parse_args  # noqa: E402

ENWIKI = SHARED_DATA / "enwiki-pages-articles-sample.xml.bz2"
#: The reference recipe (alexa/kilm scripts/run_pretraining.sh and its collator).
REFERENCE_BATCH = 8
REFERENCE_ACCUMULATION = 128
REFERENCE_MAX_SOURCE = 512
REFERENCE_MAX_TARGET = 640
PADDING_GOAL = 0.05


@dataclass
class PassCost:
    """One recipe's cost summed over the passes measured."""

    rows: int = 0
    target_tokens: float = 0.0
    tokens: np.ndarray = field(default_factory=lambda: np.zeros(2, np.int64))  # (source, target), no padding
    positions: np.ndarray = field(default_factory=lambda: np.zeros(2, np.int64))  # padding included
    updates: float = 0.0

    def pad(self, batches: list[np.ndarray], source: np.ndarray, target: np.ndarray) -> None:
        """Batches of row indices into ``source``/``target`` lengths, each padded to its longest row."""
        for batch in batches:
            self.tokens += [source[batch].sum(), target[batch].sum()]
            self.positions += [len(batch) * source[batch].max(), len(batch) * target[batch].max()]

    def padded_share(self, side: slice | int = slice(None)) -> float:
        """Padded positions over all positions, of both sides (default), the source (0) or the target (1)."""
        positions = self.positions[side].sum()
        return float(1 - self.tokens[side].sum() / positions) if positions else 0.0


def build_outputs(workdir: Path, entities: int, pipeline_options: list[str]) -> list[tuple[str, Path]]:
    """The enwiki sample and a synthetic world, each through the pipeline with a trained tokenizer:
    (label, output directory) pairs; outputs already in ``workdir`` are reused."""
    inputs = []
    if ENWIKI.is_file():
        inputs.append(("enwiki-sample", ENWIKI))
    else:
        print(f"{ENWIKI} not found (set KILM_SHARED_DATA): the enwiki sample is skipped", file=sys.stderr)
    world = workdir / f"world-{entities}" / "world.xml.bz2"
    if not world.is_file():
        world.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "synth", "--entities", str(entities), "--seed", "0",
                        "--output", str(world)], cwd=ROOT, check=True, capture_output=True)
    inputs.append((f"world-{entities}", world))
    label = " ".join(["--train-tokenizer", *pipeline_options])
    outputs = []
    for name, dump in inputs:
        out = workdir / name / "-".join(["out", *(option.lstrip("-") for option in pipeline_options)])
        if not (out / "manifest.json").is_file():
            command = [sys.executable, "-m", "pipeline.run", "--input", str(dump), "--output", str(out),
                       "--train-tokenizer", *pipeline_options]
            result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise SystemExit(f"pipeline on {dump} failed:\n{result.stderr[-3000:]}")
        outputs.append((f"{name} ({label})", out))
    return outputs


def fairseq_setup(data: Path, devices: int):
    """The launcher's ``bart-base`` command for ``devices`` GPUs, parsed by fairseq: (cfg, task, world)."""
    from fairseq import options, tasks
    from fairseq.dataclass.utils import convert_namespace_to_omegaconf

    opts, extra = parse_args(["--data", str(data / "bin"), "--save-dir", "/nonexistent", "--preset", "bart-base",
                              "--gpus", str(devices)])
    argv = make_plan(opts, extra, {}).argv
    args = options.parse_args_and_arch(options.get_training_parser(), argv[argv.index("fairseq_cli.train") + 1 :])
    cfg = convert_namespace_to_omegaconf(args)
    return cfg, tasks.setup_task(cfg.task), args


def reference_units(shard: Path) -> np.ndarray:
    """Each train row's unit of the reference recipe (an integer code), from ``train.rows.jsonl.gz``: the
    knowledge rows of a paragraph are one unit (one mention of it is drawn per epoch); each plain row is
    a unit of its own (a window of a long paragraph is a chunk the reference trains every epoch)."""
    path = shard / "train.rows.jsonl.gz"
    if not path.is_file():
        raise SystemExit(f"{path}: missing (the pipeline writes it beside the binarized rows)")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    units = [r["example"] if r["mention"] is not None else r["key"] for r in records]
    return np.unique(np.array(units, dtype=object), return_inverse=True)[1].reshape(-1)


def one_row_per_unit(units: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One row of each unit, uniformly among its rows."""
    order = rng.permutation(len(units))
    _, first = np.unique(units[order], return_index=True)
    return np.sort(order[first])


def turns(units: np.ndarray) -> int:
    """Passes in which every unit's rows can each take the same number of turns (the least common
    multiple of the units' row counts)."""
    return math.lcm(*np.unique(np.bincount(units)).tolist())


def measure(data: Path, devices: int, passes: int | None, seed: int) -> tuple[PassCost, PassCost, int]:
    """(ours, reference) summed over the passes measured, and the number of passes."""
    from fairseq import utils

    cfg, task, args = fairseq_setup(data, devices)
    world = cfg.distributed_training.distributed_world_size
    update_freq = cfg.optimization.update_freq[0]
    max_positions = utils.resolve_max_positions(task.max_positions(),
                                                (args.max_source_positions, args.max_target_positions))
    shards = [Path(shard) for shard in cfg.task.data.split(":")]
    codes = [reference_units(shard) for shard in shards]
    passes = passes or math.lcm(*(turns(c) for c in codes))
    ours, reference = PassCost(), PassCost()
    rng = np.random.default_rng(seed)
    for pass_index in range(passes):
        for k, shard_codes in enumerate(codes):
            epoch = pass_index * len(shards) + k + 1
            task.load_dataset("train", epoch=epoch)
            dataset = task.dataset("train")
            iterator = task.get_batch_iterator(
                dataset, max_tokens=cfg.dataset.max_tokens, max_sentences=cfg.dataset.batch_size,
                max_positions=max_positions, ignore_invalid_inputs=True,
                required_batch_size_multiple=cfg.dataset.required_batch_size_multiple, seed=cfg.common.seed,
                epoch=epoch, disable_iterator_cache=True)
            batches = [np.asarray(b) for b in iterator.frozen_batches]
            drawn = one_row_per_unit(shard_codes, rng)
            source = np.zeros(len(dataset), np.int64)
            for i in np.unique(np.concatenate([drawn, *batches])):
                source[i] = len(dataset[int(i)]["source"])  # after this epoch's text infilling
            target = np.asarray(dataset.sizes)[:, 1]  # targets are never noised
            ours.rows += sum(len(b) for b in batches)
            ours.target_tokens += sum(int(target[b].sum()) for b in batches)
            ours.pad(batches, source, target)
            ours.updates += len(batches) / (world * update_freq)

            cut = np.minimum(target, REFERENCE_MAX_TARGET)
            reference.rows += len(drawn)
            # A unit's expected target: the mean of its rows' (each as likely as the others).
            reference.target_tokens += float((np.bincount(shard_codes, cut) / np.bincount(shard_codes)).sum())
            shuffled = rng.permutation(drawn)
            reference_batches = [shuffled[i : i + REFERENCE_BATCH] for i in range(0, len(shuffled), REFERENCE_BATCH)]
            reference.pad(reference_batches, np.minimum(source, REFERENCE_MAX_SOURCE), cut)
            reference.updates += len(reference_batches) / (devices * REFERENCE_ACCUMULATION)
    return ours, reference, passes


def table(name: str, ours: PassCost, reference: PassCost, passes: int) -> str:
    def row(label: str, cost: PassCost) -> str:
        return (f"| {label} | {cost.rows / passes:,.0f} | {cost.target_tokens / passes:,.0f} | "
                f"{cost.padded_share():.1%} ({cost.padded_share(0):.1%} / {cost.padded_share(1):.1%}) | "
                f"{cost.updates / passes:.3g} |")

    padding = "met" if ours.padded_share() <= PADDING_GOAL else "MISSED"
    tokens = "met" if ours.target_tokens <= reference.target_tokens * (1 + 1e-9) else "MISSED"
    return "\n".join([
        f"{name}: per pass (mean of {passes})",
        "",
        "| recipe | rows | target tokens | padded positions (source / target) | updates |",
        "|---|---|---|---|---|",
        row("ours (bart-base preset)", ours),
        row("reference (alexa/kilm)", reference),
        f"| ours / reference | {ours.rows / reference.rows:.3f} | {ours.target_tokens / reference.target_tokens:.3f} "
        f"| {ours.padded_share() / reference.padded_share():.3f} | {ours.updates / reference.updates:.3f} |",
        "",
        f"padding goal (<= {PADDING_GOAL:.0%}): {padding}; target tokens goal (<= reference): {tokens}",
    ])


def positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return int(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, nargs="+", help="pipeline output directories (default: build two)")
    parser.add_argument("--entities", type=positive, default=1000, help="synthetic world size (default: 1000)")
    parser.add_argument("--devices", type=positive, default=8, help="devices of both recipes (default: 8, the paper's)")
    parser.add_argument("--passes", type=positive,
                        help="passes measured, then averaged (default: enough for each of a paragraph's rows to "
                             "take the same number of turns, e.g. 6 for paragraphs of 1, 2 or 3 rows)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the reference's draws and order (default: 1)")
    parser.add_argument("--workdir", type=Path, help="where built outputs go and are reused (default: a temp dir)")
    parser.add_argument("--text-scope", choices=("lead", "article"),
                        help="the pipeline's --text-scope for built outputs (default: the pipeline's)")
    args = parser.parse_args()
    logging.disable(logging.INFO)  # fairseq's per-dataset log lines
    with tempfile.TemporaryDirectory() as tmp:
        scope = ["--text-scope", args.text_scope] if args.text_scope else []
        if args.data:
            outputs = [(str(out), out) for out in args.data]
        else:
            outputs = build_outputs(args.workdir or Path(tmp), args.entities, scope)
        for label, out in outputs:
            if not (out / "bin").is_dir():
                raise SystemExit(f"--data {out}: no bin/ directory (expected a pipeline output)")
            ours, reference, passes = measure(out, args.devices, args.passes, args.seed)
            print(table(label, ours, reference, passes))
            print()


if __name__ == "__main__":
    main()
