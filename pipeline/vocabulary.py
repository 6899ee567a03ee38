"""The tokenizer: a pretrained one passed through, or one trained on a sample of the train paragraphs;
saved under ``tokenizer/`` with the ``dict.txt`` every ``bin/`` directory gets."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from kilm import sequence as seq
from kilm.tokenizer import KilmTokenizer
from pipeline.runs import LowestRecords, RunSpill
from pipeline.sinks import write_bytes
from pipeline.splits import stable_unit


def in_tokenizer_sample(example: dict, fraction: float) -> bool:
    """Whether an example's text trains the tokenizer: a stable ``fraction`` of the train paragraphs,
    so that held-out pages (an unseen entity's own page among them) never shape the vocabulary."""
    return example["split"] == "train" and stable_unit(example["id"], "tokenizer") < fraction


def sample_rank(example: dict) -> tuple[float, str]:
    """Where an example's text stands in the tokenizer sample: the ``limit`` lowest ranks are kept."""
    return stable_unit(example["id"], "tokenizer"), example["id"]


def tokenizer_sample(examples: Iterable[dict], fraction: float, limit: int) -> list[str]:
    """The texts a tokenizer trains on (what :func:`TrainTokenizer` collects, for a reader to check)."""
    kept = sorted((sample_rank(e), e["text"]) for e in examples if in_tokenizer_sample(e, fraction))
    return [text for _, text in kept[:limit]]


def train_tokenizer(texts: list[str], kind: str, vocab_size: int) -> str:
    """Train on the sorted sample (deterministic); returns the tokenizer as JSON."""
    if kind != "bpe":
        from kilm.spm import train_spm_tokenizer

        return train_spm_tokenizer(sorted(texts), vocab_size).to_json()
    return KilmTokenizer.train_bpe(sorted(texts), vocab_size=vocab_size).to_json()


@beam.ptransform_fn
def TrainTokenizer(examples, kind: str, vocab_size: int, sample_fraction: float, sample_limit: int, spill: RunSpill):
    """Examples (their ``id``, ``split`` and ``text``: :func:`pipeline.knowledge.example_texts`) → the
    tokenizer JSON (a single element) trained on their sample (:func:`tokenizer_sample`), collected
    through sorted runs that never hold more than ``sample_limit`` texts."""
    return (
        examples
        | "TokenizerSample" >> beam.Filter(in_tokenizer_sample, sample_fraction)
        | "RankText" >> beam.Map(lambda e: (sample_rank(e), e["text"].encode("utf-8")))
        | "CollectSample" >> LowestRecords(spill, sample_limit)
        | "SampleTexts" >> beam.Map(lambda ranked: [text.decode("utf-8") for _, text in ranked])
        | "TrainTokenizer" >> beam.Map(train_tokenizer, kind, vocab_size)
    )


class _SaveTokenizerFn(beam.DoFn):
    def __init__(self, output: str, num_shards: int) -> None:
        self.output = output
        self.num_shards = num_shards

    def process(self, tokenizer_json: str):
        tokenizer = KilmTokenizer.from_json(tokenizer_json)
        with tempfile.TemporaryDirectory() as tmp:
            tokenizer.save(tmp)
            for name in sorted(p.name for p in Path(tmp).iterdir()):
                write_bytes(FileSystems.join(self.output, "tokenizer", name), (Path(tmp) / name).read_bytes())
            dictionary = (Path(tmp) / "dict.txt").read_bytes()
        for directory in [*(f"shard{k}" for k in range(self.num_shards)), "plain"]:
            write_bytes(FileSystems.join(self.output, "bin", directory, "dict.txt"), dictionary)
        yield {"kind": tokenizer.kind, "symbol_mode": tokenizer.symbol_mode, "dictionary_size": len(tokenizer),
               "special_tokens": list(seq.SPECIAL_TOKENS)}


@beam.ptransform_fn
def SaveTokenizer(tokenizer_json, output: str, num_shards: int):
    """The tokenizer JSON → its files; returns what the manifest records about it."""
    return tokenizer_json | "SaveTokenizerFiles" >> beam.ParDo(_SaveTokenizerFn(output, num_shards))
