"""A tiny binarized KILM corpus in the pipeline's output layout, for the trainer's tests and benchmark.

The layout is the data contract (``OUT/tokenizer``, ``OUT/bin/shardK``, ``OUT/bin/plain``). When the
pipeline lands, ``build_corpus`` becomes one call to ``python -m pipeline.run --train-tokenizer``.
"""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass
from pathlib import Path

from kilm import sequence as seq
from kilm.indexed import write_indexed
from kilm.tokenizer import KilmTokenizer

_SYLLABLES = ("ka", "lor", "ven", "dra", "mi", "thos", "bel", "run", "sa", "quil", "or", "nem", "tav", "ix")
_KINDS = (
    ("river", "river in the {region} of {land}"),
    ("town", "market town on the coast of {land}"),
    ("person", "{land} painter and sculptor"),
    ("company", "shipping company based in {land}"),
    ("mountain", "volcano in the {region} of {land}"),
)
_REGIONS = ("north", "south", "east", "west", "highlands")
_TEMPLATES = (
    "Travellers from {a} often stop in {b} before the long road home.",
    "In the old stories, {a} and {b} were rivals for many years.",
    "The archive lists {a} next to {b} in its second volume.",
    "A letter written in {b} mentions {a} twice.",
    "Few maps show {a}, although it lies close to {b}.",
)


@dataclass(frozen=True)
class Entity:
    title: str
    description: str


def make_world(num_entities: int = 24, seed: int = 0) -> list[Entity]:
    """Entities with made-up names and short descriptions (deterministic for a seed)."""
    rng = random.Random(seed)
    lands = ["".join(rng.choice(_SYLLABLES) for _ in range(2)).capitalize() for _ in range(4)]
    entities: list[Entity] = []
    names: set[str] = set()
    while len(entities) < num_entities:
        name = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
        if name in names:
            continue
        names.add(name)
        kind, pattern = rng.choice(_KINDS)
        description = pattern.format(region=rng.choice(_REGIONS), land=rng.choice(lands))
        title = f"{name} ({kind})" if rng.random() < 0.3 else name
        entities.append(Entity(title, description))
    return entities


def _surface(entity: Entity) -> str:
    return entity.title.split(" (")[0]


def make_windows(entities: list[Entity], count: int, seed: int) -> list[seq.Window]:
    """Two-sentence paragraphs, each with one mention chosen for knowledge infilling."""
    rng = random.Random(seed)
    windows = []
    for _ in range(count):
        a, b, c = rng.sample(entities, 3)
        first = rng.choice(_TEMPLATES)
        second = rng.choice(_TEMPLATES).format(a=_surface(c), b=_surface(b))
        head, tail = first.split("{a}")
        head = head.format(b=_surface(b))
        tail = tail.format(b=_surface(b))
        text = f"{head}{_surface(a)}{tail} {second}"
        windows.append(seq.Window(text, len(head), len(head) + len(_surface(a)), a.title, a.description))
    return windows


def build_corpus(
    out: Path,
    *,
    num_shards: int = 2,
    train: int = 400,
    valid: int = 40,
    test: int = 20,
    plain_share: float = 0.2,
    vocab_size: int = 600,
    seed: int = 0,
) -> Path:
    """Write ``out/tokenizer``, ``out/bin/shardK`` and ``out/bin/plain``; returns ``out``."""
    entities = make_world(seed=seed)
    splits = {"train": train, "valid": valid, "test": test}
    windows = {split: make_windows(entities, n, seed + i + 1) for i, (split, n) in enumerate(splits.items())}
    texts = sorted({w.text for ws in windows.values() for w in ws} | {e.title for e in entities}
                   | {e.description for e in entities})
    tokenizer = KilmTokenizer.train_bpe(texts, vocab_size=vocab_size, min_frequency=1)
    tokenizer.save(out / "tokenizer")
    rng = random.Random(seed)
    vocab = len(tokenizer)
    shards = [out / "bin" / f"shard{k}" for k in range(num_shards)]
    plain_dir = out / "bin" / "plain"
    for directory in (*shards, plain_dir):
        directory.mkdir(parents=True, exist_ok=True)
        shutil.copy(out / "tokenizer" / "dict.txt", directory / "dict.txt")
    for split, split_windows in windows.items():
        pairs = []
        for window in split_windows:
            if rng.random() < plain_share:
                row = tokenizer.encode_plain(window.text)
                pairs.append((row, row))
            else:
                encoded = tokenizer.encode_window(window)
                pairs.append((encoded.source, encoded.target))
        targets = shards if split == "train" else shards[:1]
        for k, directory in enumerate(targets):
            part = pairs[k :: len(targets)]
            write_indexed(directory / f"{split}.source", [s for s, _ in part], vocab)
            write_indexed(directory / f"{split}.target", [t for _, t in part], vocab)
        write_indexed(plain_dir / split, [tokenizer.encode_plain(w.text) for w in split_windows], vocab)
    return out


def build_base_data(corpus: Path, out: Path) -> Path:
    """``bin/plain`` under an original-style BART dictionary: ``dict.txt`` without ``<mask>`` and the
    KILM tokens (fairseq's ``denoising`` adds ``<mask>`` itself), as ``bart.base`` ships it.
    """
    out.mkdir(parents=True, exist_ok=True)
    symbols = seq.read_dict_symbols(corpus / "bin" / "plain" / "dict.txt")
    seq.write_dict(out / "dict.txt", symbols[: symbols.index(seq.MASK)])
    for file in (corpus / "bin" / "plain").glob("*.*"):
        if file.suffix in (".bin", ".idx"):
            shutil.copy(file, out / file.name)
    return out
