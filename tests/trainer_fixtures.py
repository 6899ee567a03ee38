"""A tiny binarized KILM corpus in the pipeline's output layout, for the trainer's tests and benchmark.

The layout is the data contract (``OUT/tokenizer``, ``OUT/bin/shardK``, ``OUT/bin/plain``). When the
pipeline lands, ``build_corpus`` becomes one call to ``python -m pipeline.run --train-tokenizer``.
"""

from __future__ import annotations

import gzip
import json
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
    language_tokens: tuple[str, ...] = (),
) -> Path:
    """Write ``out/tokenizer``, ``out/bin/shardK`` and ``out/bin/plain``; returns ``out``. With
    ``language_tokens`` the dictionary is mBART's layout: they come before ``<mask>``."""
    entities = make_world(seed=seed)
    splits = {"train": train, "valid": valid, "test": test}
    windows = {split: make_windows(entities, n, seed + i + 1) for i, (split, n) in enumerate(splits.items())}
    texts = sorted({w.text for ws in windows.values() for w in ws} | {e.title for e in entities}
                   | {e.description for e in entities})
    tokenizer = KilmTokenizer.train_bpe(texts, vocab_size=vocab_size, min_frequency=1)
    if language_tokens:
        base = tokenizer.symbols[len(seq.FAIRSEQ_SPECIALS) : tokenizer.symbols.index(seq.MASK)]
        symbols = seq.build_dictionary_symbols(base, language_tokens=language_tokens)
        tokenizer = KilmTokenizer(tokenizer.tokenizer, [*seq.FAIRSEQ_SPECIALS, *symbols], tokenizer.symbol_mode,
                                  tokenizer.kind)
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
        for i, window in enumerate(split_windows):
            meta = {"example": f"{split}-{i}", "mention": None, "entity": None, "window": [0, len(window.text)],
                    "span": None}
            if rng.random() < plain_share:
                row = tokenizer.encode_plain(window.text)
                pairs.append((row, row, {**meta, "key": f"{split}-{i}:0"}))
            else:
                encoded = tokenizer.encode_window(window)
                pairs.append((encoded.source, encoded.target, {**meta, "key": f"{split}-{i}#0", "mention": 0,
                              "entity": window.title, "span": [encoded.span_start, encoded.span_end]}))
        targets = shards if split == "train" else shards[:1]
        for k, directory in enumerate(targets):
            part = pairs[k :: len(targets)]
            write_indexed(directory / f"{split}.source", [s for s, _, _ in part], vocab)
            write_indexed(directory / f"{split}.target", [t for _, t, _ in part], vocab)
            with gzip.open(directory / f"{split}.rows.jsonl.gz", "wt", encoding="utf-8") as f:
                f.writelines(json.dumps({"row": r, **meta}) + "\n" for r, (_, _, meta) in enumerate(part))
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


#: A tiny mBART as fairseq's mBART releases declare theirs (``mbart_large`` with pre-norm layers).
TINY_MBART = ("--arch", "mbart_large", "--encoder-embed-dim", "64", "--encoder-ffn-embed-dim", "256",
              "--encoder-layers", "2", "--decoder-layers", "2", "--encoder-attention-heads", "4",
              "--decoder-attention-heads", "4", "--encoder-normalize-before", "--decoder-normalize-before",
              "--layernorm-embedding")


def build_mbart_standin(texts: dict[str, list[str]], out: Path, *, vocab_size: int = 1000,
                        updates: int = 20) -> Path:
    """A stand-in ``mbart.cc25`` directory at tiny width: ``sentence.bpe.model``, ``dict.txt`` (the pieces
    only: the language tokens and ``<mask>`` are added by fairseq's tasks) and ``model.pt``, pretrained
    for a few updates with fairseq's own ``multilingual_denoising --add-lang-token`` on ``texts`` (per
    mBART language code, e.g. ``{"en_XX": [...], "uk_UA": [...]}``).
    """
    import subprocess
    import sys

    from kilm.spm import from_spm_model, train_spm_model

    out.mkdir(parents=True, exist_ok=True)
    model = train_spm_model(sorted(t for lines in texts.values() for t in lines), vocab_size, out / "sentence")
    model.rename(out / "sentence.bpe.model")
    pieces = from_spm_model(out / "sentence.bpe.model")
    seq.write_dict(out / "dict.txt", pieces.symbols[len(seq.FAIRSEQ_SPECIALS) : pieces.symbols.index(seq.MASK)])
    languages = sorted(texts)
    tokenizer = from_spm_model(out / "sentence.bpe.model", out / "dict.txt", [f"[{lang}]" for lang in languages])
    data = out.parent / f"{out.name}.data"
    for lang, lines in texts.items():
        (data / lang).mkdir(parents=True, exist_ok=True)
        write_indexed(data / lang / "train", [tokenizer.encode_plain(t) for t in lines], len(tokenizer))
    shutil.copy(out / "dict.txt", data / "dict.txt")
    save = out.parent / f"{out.name}.train"
    subprocess.run(
        [sys.executable, "-m", "fairseq_cli.train", str(data), "--task", "multilingual_denoising", "--langs",
         ",".join(languages), "--add-lang-token", *TINY_MBART, "--mask", "0.3", "--mask-length", "span-poisson",
         "--rotate", "0", "--permute-sentences", "0", "--sample-break-mode", "complete", "--tokens-per-sample",
         "256", "--optimizer", "adam", "--lr", "1e-3", "--batch-size", "16", "--required-batch-size-multiple", "1",
         "--max-update", str(updates), "--num-workers", "0", "--disable-validation", "--save-dir", str(save),
         "--no-epoch-checkpoints", "--no-save-optimizer-state", "--cpu"],
        check=True, capture_output=True, cwd=Path(__file__).resolve().parents[1],
    )
    (save / "checkpoint_last.pt").rename(out / "model.pt")
    return out
