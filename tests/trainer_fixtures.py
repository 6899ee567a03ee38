"""A tiny binarized KILM corpus, made by the real pipeline from a small generated world, for the
trainer's tests and benchmark: ``OUT/tokenizer``, ``OUT/bin/shardK``, ``OUT/bin/plain``."""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

from kilm import records
from kilm import sequence as seq
from kilm.dictionary import read_dict_symbols, write_dict
from kilm.indexed import write_indexed
from tests.world_runs import copy_output, pipeline_output, world_dump

#: Entities of the default world: a few hundred knowledge rows, seconds to build.
ENTITIES = 40


def pass_rows(shard: Path) -> int:
    """Rows one pass trains from a shard, counted from its rows file: a paragraph's knowledge rows take
    turns (one a pass), each window of a plain paragraph is trained every pass."""
    rows = records.read_jsonl_gz([shard / "train.rows.jsonl.gz"])
    return len({r["example"] if r["entity"] is not None else r["key"] for r in rows})


def corpus_options(num_shards: int = 2) -> tuple[str, ...]:
    return ("--train-tokenizer", "--vocab-size", "600", "--num-shards", str(num_shards), "--max-tokens", "128",
            "--plain-fraction", "0.2", "--text-scope", "article")


def world_texts(entities: int = ENTITIES, seed: int = 0, split: str = "train") -> list[str]:
    """The paragraphs of a world's pipeline run (sorted)."""
    return sorted(e["text"] for e in records.read_examples(pipeline_output(entities, seed, *corpus_options()), split))


@functools.cache
def _spm_dir(entities: int, seed: int) -> Path:
    """A SentencePiece model trained on a world's train paragraphs, with its pieces as ``dict.txt``
    (fairseq mBART's layout: language tokens and ``<mask>`` are added by the tasks)."""
    from kilm.spm import from_spm_model, train_spm_model

    directory = world_dump(entities, seed).parent / "spm"
    directory.mkdir()
    model = train_spm_model(world_texts(entities, seed), 600, directory / "sentence")
    model.rename(directory / "sentence.bpe.model")
    pieces = from_spm_model(directory / "sentence.bpe.model")
    write_dict(directory / "dict.txt", pieces.symbols[len(seq.FAIRSEQ_SPECIALS) : pieces.symbols.index(seq.MASK)])
    return directory


def build_corpus(out: Path, *, num_shards: int = 2, entities: int = ENTITIES, seed: int = 0,
                 language_tokens: tuple[str, ...] = ()) -> Path:
    """The pipeline's output for a generated world, copied to ``out``; returns ``out``. With
    ``language_tokens`` the tokenizer is an mBART-style SentencePiece model whose dictionary has them
    before ``<mask>``."""
    options = corpus_options(num_shards)
    if language_tokens:
        spm = _spm_dir(entities, seed)
        options = (*options[3:], "--spm-model", str(spm / "sentence.bpe.model"), "--dict", str(spm / "dict.txt"),
                   "--language-tokens", ",".join(language_tokens), "--dump-language-token", language_tokens[0])
    return copy_output(pipeline_output(entities, seed, *options), out)


def build_base_data(corpus: Path, out: Path) -> Path:
    """``bin/plain`` under an original-style BART dictionary: ``dict.txt`` without ``<mask>`` and the
    KILM tokens (fairseq's ``denoising`` adds ``<mask>`` itself), as ``bart.base`` ships it.
    """
    out.mkdir(parents=True, exist_ok=True)
    symbols = read_dict_symbols(corpus / "bin" / "plain" / "dict.txt")
    write_dict(out / "dict.txt", symbols[: symbols.index(seq.MASK)])
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
    write_dict(out / "dict.txt", pieces.symbols[len(seq.FAIRSEQ_SPECIALS) : pieces.symbols.index(seq.MASK)])
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
