"""A tiny KILM run for the eval tests: the real pipeline's output for a small generated world (unseen
entities and test pages included) and a small fairseq BART trained in-process on its knowledge rows,
saved as a fairseq checkpoint.
"""

from __future__ import annotations

import argparse
import random
from dataclasses import dataclass
from pathlib import Path

import torch

from kilm import sequence as seq
from kilm.indexed import read_indexed
from kilm.tokenizer import KilmTokenizer
from tests.world_runs import copy_output, pipeline_output

#: The world and the pipeline options of the eval tests' run.
ENTITIES = 80  # the smallest generated world whose test pages hold ambiguous mentions (ED items)
OPTIONS = ("--train-tokenizer", "--vocab-size", "600", "--max-tokens", "128", "--text-scope", "article",
           "--num-shards", "1", "--unseen-entity-fraction", "0.2", "--test-fraction", "0.3",
           "--valid-fraction", "0.05")


@dataclass(frozen=True)
class World:
    """Where the tiny run lives: the OUT directory and the tokenizer written into it."""

    out: Path
    tokenizer: KilmTokenizer


def make_world(out: Path, seed: int = 0) -> World:
    """The pipeline's output for a generated world, copied to ``out``."""
    copy_output(pipeline_output(ENTITIES, seed, *OPTIONS), out)
    return World(out, KilmTokenizer.load(out / "tokenizer"))


# --------------------------------------------------------------------------------------------------
# A tiny fairseq BART, trained in-process on knowledge-infilling pairs.
# --------------------------------------------------------------------------------------------------

TINY_ARCH = {"encoder_embed_dim": 48, "encoder_ffn_embed_dim": 96, "encoder_layers": 2, "encoder_attention_heads": 4,
             "decoder_layers": 2, "decoder_attention_heads": 4, "max_source_positions": 256,
             "max_target_positions": 256, "dropout": 0.0}


def _training_pairs(world: World) -> list[tuple[list[int], list[int]]]:
    """The pipeline's train rows (source, target), ``<s>`` prepended as fairseq's BART tasks do."""
    pairs = []
    for shard in sorted((world.out / "bin").glob("shard*")):
        sources, targets = read_indexed(shard / "train.source"), read_indexed(shard / "train.target")
        pairs += [(seq.model_row(s.tolist()), seq.model_row(t.tolist())) for s, t in zip(sources, targets)]
    return pairs


def build_tiny_bart(num_symbols: int):
    """A fairseq ``BARTModel`` of arch ``bart_base`` with tiny dimensions."""
    from fairseq.data import Dictionary
    from fairseq.models.bart import BARTModel
    from fairseq.models.bart.model import bart_base_architecture

    args = argparse.Namespace(arch="bart_base", **TINY_ARCH)
    bart_base_architecture(args)
    dictionary = Dictionary()
    for i in range(num_symbols - len(dictionary)):
        dictionary.add_symbol(f"tok{i}")
    task = argparse.Namespace(source_dictionary=dictionary, target_dictionary=dictionary)
    return BARTModel.build_model(args, task), args


def train_tiny_bart(world: World, path: Path, steps: int = 150, seed: int = 0) -> Path:
    """Train a tiny BART for a few steps and save it the way fairseq-train does (``cfg.model`` a Namespace)."""
    torch.manual_seed(seed)
    model, args = build_tiny_bart(len(world.tokenizer))
    pairs = _training_pairs(world)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    rng = random.Random(seed)
    model.train()
    for _ in range(steps):
        batch = rng.sample(pairs, 16)
        src = _pad([s for s, _ in batch])
        prev = _pad([[seq.EOS, *t[:-1]] for _, t in batch])
        logits, _ = model(src, src.ne(seq.PAD).sum(1), prev)
        loss = torch.nn.functional.cross_entropy(logits.transpose(1, 2), _pad([t for _, t in batch]),
                                                 ignore_index=seq.PAD)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    state = {"args": None, "model": model.state_dict(), "optimizer_history": [], "extra_state": {},
             "last_optimizer_state": None,
             "cfg": {"_name": None, "model": args, "task": {"_name": "kilm", "data": str(world.out)},
                     "common": {"seed": seed}}}
    torch.save(state, path)
    return path


def _pad(rows: list[list[int]]) -> torch.Tensor:
    width = max(len(r) for r in rows)
    return torch.tensor([r + [seq.PAD] * (width - len(r)) for r in rows], dtype=torch.long)
