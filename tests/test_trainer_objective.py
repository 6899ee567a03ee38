"""The training objective as KILM's, checked on the ``kilm`` task loaded as fairseq-train loads it, over
the real pipeline's output for the tiny synthetic world: text infilling at 0.30 with one ``<mask>`` per
masked run, one row per paragraph per pass with mentions taking turns, and ``--shuffle-knowledge``."""

from __future__ import annotations

import gzip
import json
import statistics
from collections import defaultdict
from pathlib import Path

import pytest
import torch
from fairseq import options, tasks
from fairseq.dataclass.utils import convert_namespace_to_omegaconf

from kilm import sequence as seq
from kilm.indexed import read_indexed
from pipeline.run import main as pipeline_main

TRAINER_DIR = Path(__file__).resolve().parents[1] / "trainer"
TINY_WORLD = Path(__file__).parent / "data" / "tiny_world.xml.bz2"


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every eligible mention kept (up to 3 a paragraph), whole articles: paragraphs with several candidates."""
    out = tmp_path_factory.mktemp("objective") / "out"
    assert pipeline_main(["--input", str(TINY_WORLD), "--output", str(out), "--train-tokenizer", "--vocab-size",
                          "1000", "--text-scope", "article", "--max-infills-per-paragraph", "3"]) == 0
    return out


def setup(data: Path, *flags: str, seed: int = 7):
    parser = options.get_training_parser()
    args = options.parse_args_and_arch(parser, [str(data), "--user-dir", str(TRAINER_DIR), "--task", "kilm",
                                                "--arch", "bart_tiny", "--criterion", "kilm_cross_entropy",
                                                "--seed", str(seed), *flags])
    return tasks.setup_task(convert_namespace_to_omegaconf(args).task)


def epoch_rows(task, epoch: int, split: str = "train") -> list[dict]:
    """The items of one epoch as fairseq-train gets them from one shard: the split loaded once, then each
    epoch's batches from ``get_batch_iterator(epoch=...)`` (its size filter included)."""
    if split not in task.datasets:
        task.load_dataset(split, epoch=1)
    iterator = task.get_batch_iterator(task.dataset(split), max_sentences=16, max_positions=task.max_positions(),
                                       seed=7, epoch=epoch)
    return [task.dataset(split)[i] for batch in iterator.next_epoch_itr(shuffle=False) for i in batch["id"].tolist()]


def rows_meta(out: Path, split: str = "train") -> list[dict]:
    with gzip.open(out / "bin" / "shard0" / f"{split}.rows.jsonl.gz", "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_text_infilling_share_and_one_mask_per_run(out: Path) -> None:
    task = setup(out / "bin" / "shard0")
    raw = read_indexed(out / "bin" / "shard0" / "train.source")
    noise = task.build_noise()
    shares, adjacent, epoch = [], 0, 0
    while len(shares) < 1000:
        epoch += 1
        for item in epoch_rows(task, epoch):
            before = torch.tensor([seq.BOS, *raw[item["id"]].tolist()])
            maskable = int((~noise.is_special[before]).sum())
            source = item["source"]
            kept = int((~noise.is_special[source]).sum())
            shares.append(1 - kept / maskable)
            adjacent += int(((source[1:] == task.special.mask) & (source[:-1] == task.special.mask)).sum())
            assert [t for t in source.tolist() if noise.is_special[t] and t != task.special.mask] == \
                   [t for t in before.tolist() if noise.is_special[t] and t != task.special.mask]
    assert 0.29 <= statistics.mean(shares) <= 0.31
    assert adjacent == 0


def test_one_row_per_paragraph_per_pass_and_mentions_take_turns(out: Path) -> None:
    task = setup(out / "bin" / "shard0")
    meta = rows_meta(out)
    candidates = defaultdict(set)
    for m in meta:
        candidates[m["example"]].add(m["row"])
    train_paragraphs = 0
    for path in (out / "examples").glob("train-*.jsonl.gz"):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            train_paragraphs += sum(1 for _ in f)
    assert len(candidates) == train_paragraphs  # every train paragraph has a row (plain if no usable mention)
    assert len(meta) > train_paragraphs  # some paragraphs have several candidate rows
    seen = defaultdict(set)
    for epoch in (1, 2, 3):
        rows = epoch_rows(task, epoch)
        paragraphs = [meta[item["id"]]["example"] for item in rows]
        assert len(rows) == len(set(paragraphs)) == train_paragraphs
        for item in rows:
            seen[meta[item["id"]]["example"]].add(item["id"])
        for example, rows_of in candidates.items():
            if len(rows_of) == epoch:
                assert seen[example] == rows_of, example
    assert all(len(rows_of) <= 3 for rows_of in candidates.values())
    valid = epoch_rows(task, 1, "valid")  # valid keeps every row
    assert len(valid) == len(rows_meta(out, "valid"))


def test_plain_share_is_zero_by_default(out: Path) -> None:
    task = setup(out / "bin" / "shard0")
    assert task.cfg.plain_share == 0
    meta = rows_meta(out)
    for item in epoch_rows(task, 1):
        assert (item["span"] is None) == (meta[item["id"]]["entity"] is None)


def test_shuffled_knowledge_is_another_entitys_and_deterministic(out: Path) -> None:
    meta = rows_meta(out)
    targets = read_indexed(out / "bin" / "shard0" / "train.target")
    span_of = {}  # entity -> its knowledge span's ids
    for m, target in zip(meta, targets):
        if m["entity"] is not None:
            start, end = m["span"]
            span_of.setdefault(m["entity"], tuple(target[start:end].tolist()))
    owner = {span: entity for entity, span in span_of.items()}
    runs = []
    for seed in (7, 7, 8):
        task = setup(out / "bin" / "shard0", "--shuffle-knowledge", seed=seed)
        task.load_dataset("train")
        pairs = task.dataset("train").dataset.dataset  # below the draw and the noise
        swapped = {}
        for i, m in enumerate(meta):
            item = pairs[i]
            if m["entity"] is None:
                assert item["span"] is None
                continue
            span = tuple(item["target"][item["span"][0] : item["span"][1]].tolist())
            assert owner[span] != m["entity"]  # another entity's true span, never the row's own
            assert len(item["target"]) == pairs.tgt_sizes[i]
            own = targets[i].tolist()
            start, end = m["span"]
            assert item["target"].tolist() == [seq.BOS, *own[:start], *span, *own[end:]]
            swapped[i] = span
        runs.append(swapped)
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
