"""A tiny KILM run for the eval tests: an OUT directory in the pipeline's record formats and a small
fairseq BART trained in-process on its knowledge-infilling pairs, saved as a fairseq checkpoint.

When the real pipeline and trainer outputs exist, the end-to-end tests only swap ``make_world``'s
output directory and ``train_tiny_bart``'s checkpoint for theirs.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
from dataclasses import dataclass
from pathlib import Path

import torch

from kilm import sequence as seq
from kilm.indexed import write_indexed
from kilm.tokenizer import KilmTokenizer

# (title, surface forms, description, split). Ambiguous surfaces ("Arlen", "Corvo", "Mira") give ED items.
ENTITIES: list[tuple[str, tuple[str, ...], str, str]] = [
    ("Arlen (city)", ("Arlen", "Arlen city"), "City in the north of Norland", "seen"),
    ("Arlen (river)", ("Arlen", "Arlen river"), "River flowing through Estia", "seen"),
    ("Corvo (band)", ("Corvo",), "Rock band from Valdor", "seen"),
    ("Corvo Lind", ("Corvo", "Lind"), "Singer and painter from Estia", "seen"),
    ("Mira (moon)", ("Mira",), "Moon of the planet Tessa", "seen"),
    ("Mira Holt", ("Mira", "Holt"), "Writer of mystery novels", "seen"),
    ("Norland", ("Norland",), "Country in the north", "seen"),
    ("Estia", ("Estia",), "Country in the south", "seen"),
    ("Valdor", ("Valdor",), "Island in the western sea", "seen"),
    ("Tessa (planet)", ("Tessa",), "Planet with two moons", "seen"),
    ("Brenna Vale", ("Brenna",), "Valley with old vineyards", "unseen"),
    ("Osk", ("Osk",), "Port town in Valdor", "unseen"),
]

SENTENCES = [
    "{a} is often compared with {b}.",
    "Visitors to {a} also travel to {b}.",
    "The history of {a} is closely tied to {b}.",
    "Many songs were written about {a} and {b}.",
    "A famous painting shows {a} next to {b}.",
]


@dataclass(frozen=True)
class World:
    """Where the tiny run lives: the OUT directory and the tokenizer written into it."""

    out: Path
    tokenizer: KilmTokenizer


def _paragraph(rng: random.Random) -> tuple[str, list[dict]]:
    """One paragraph of two sentences with four linked mentions (offsets in code points)."""
    text, mentions = "", []
    for _ in range(2):
        template = rng.choice(SENTENCES)
        picks = rng.sample(ENTITIES, 2)
        pieces = template.split("{a}")
        before_b, after_b = pieces[1].split("{b}")
        for piece, entity in ((pieces[0], picks[0]), (before_b, picks[1])):
            text += piece
            surface = rng.choice(entity[1])
            mentions.append({"start": len(text), "end": len(text) + len(surface), "surface": surface,
                             "entity": entity[0]})
            text += surface
        text += after_b + " "
    return text.strip(), mentions


def _pages(seed: int) -> dict[str, list[dict]]:
    """Example records per split: train pages, and test pages (valid kept tiny)."""
    rng = random.Random(seed)
    splits: dict[str, list[dict]] = {"train": [], "valid": [], "test": []}
    counts = {"train": 40, "valid": 2, "test": 12}
    for split, n_pages in counts.items():
        for p in range(n_pages):
            title = f"{split.capitalize()} page {p}"
            for paragraph in range(2):
                text, mentions = _paragraph(rng)
                splits[split].append({"id": f"{title}#{paragraph}", "page_id": hash_id(title),
                                      "page_title": title, "paragraph": paragraph, "text": text,
                                      "mentions": mentions})
    return splits


def hash_id(title: str) -> int:
    """A stable page id (never Python's salted ``hash``)."""
    return sum((i + 1) * ord(c) for i, c in enumerate(title))


def _write_jsonl_gz(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")


def _alias_table(train: list[dict]) -> list[dict]:
    counts: dict[str, dict[str, int]] = {}
    for record in train:
        for m in record["mentions"]:
            by_entity = counts.setdefault(m["surface"], {})
            by_entity[m["entity"]] = by_entity.get(m["entity"], 0) + 1
    return [{"surface": s, "entities": [{"entity": e, "count": n} for e, n in sorted(c.items(), key=lambda x: -x[1])]}
            for s, c in sorted(counts.items())]


def make_world(out: Path, seed: int = 0) -> World:
    """Write a tiny OUT directory in the pipeline's record formats."""
    splits = _pages(seed)
    texts = sorted({r["text"] for records in splits.values() for r in records}
                   | {f"{t} {d}" for t, _, d, _ in ENTITIES})
    tokenizer = KilmTokenizer.train_bpe(texts, vocab_size=400, min_frequency=2)
    tokenizer.save(out / "tokenizer")
    entities = [{"title": t, "page_id": hash_id(t), "description": d, "description_source": "short_description",
                 "redirects": [], "aliases": [{"surface": s, "count": 1} for s in surfaces], "split": split}
                for t, surfaces, d, split in ENTITIES]
    _write_jsonl_gz(out / "entities" / "entities-00000-of-00001.jsonl.gz", entities)
    for split, records in splits.items():
        _write_jsonl_gz(out / "examples" / f"{split}-00000-of-00001.jsonl.gz", records)
        (out / "bin" / "plain").mkdir(parents=True, exist_ok=True)
        write_indexed(out / "bin" / "plain" / split, [tokenizer.encode_plain(r["text"]) for r in records],
                      len(tokenizer))
    (out / "bin" / "plain" / "dict.txt").write_text((out / "tokenizer" / "dict.txt").read_text())
    _write_jsonl_gz(out / "alias" / "alias-00000-of-00001.jsonl.gz", _alias_table(splits["train"]))
    manifest = {"format_version": 1, "examples": {k: len(v) for k, v in splits.items()},
                "tokenizer": {"kind": tokenizer.kind, "symbols": len(tokenizer)}}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return World(out, tokenizer)


# --------------------------------------------------------------------------------------------------
# A tiny fairseq BART, trained in-process on knowledge-infilling pairs.
# --------------------------------------------------------------------------------------------------

TINY_ARCH = {"encoder_embed_dim": 48, "encoder_ffn_embed_dim": 96, "encoder_layers": 2, "encoder_attention_heads": 4,
             "decoder_layers": 2, "decoder_attention_heads": 4, "max_source_positions": 256,
             "max_target_positions": 256, "dropout": 0.0}


def _training_pairs(world: World) -> list[tuple[list[int], list[int]]]:
    """(source, target) rows of the train split, BOS prepended as fairseq's BART tasks do."""
    entities = {t: (d, split) for t, _, d, split in ENTITIES}
    pairs = []
    with gzip.open(next((world.out / "examples").glob("train-*.jsonl.gz")), "rt") as f:
        for line in f:
            record = json.loads(line)
            for m in record["mentions"]:
                description, split = entities[m["entity"]]
                if split != "seen":
                    continue
                window = seq.Window(record["text"], m["start"], m["end"], m["entity"], description)
                enc = world.tokenizer.encode_window(window)
                pairs.append(([seq.BOS, *enc.source], [seq.BOS, *enc.target]))
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
