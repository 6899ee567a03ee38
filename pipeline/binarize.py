"""Binarize: examples → rows, fairseq's ``(source, target)`` pairs. A paragraph gives up to
``max_infills`` knowledge rows (one chosen mention each, the window fitted around it by
:func:`kilm.sequence.fit_window`), or, with none, a plain row for a share of paragraphs; every
paragraph also gives plain rows for ``bin/plain``. Rows go to a shard by a stable hash of their key."""

from __future__ import annotations

import array
import collections
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field

import apache_beam as beam
from apache_beam import pvalue

from kilm import sequence as seq
from kilm.tokenizer import EncodedText, KilmTokenizer
from pipeline.outcomes import STATS, CountingDoFn
from pipeline.runs import RunSpill, SortedRuns
from pipeline.sinks import WriteKnowledgeRowsFn, WritePlainRowsFn, pack_row
from pipeline.splits import SplitConfig, stable_bucket, stable_unit


@dataclass(frozen=True)
class RowRules:
    """Options that decide an example's rows (picklable; built once from the pipeline options).
    ``max_tokens`` counts ``<s>`` and ``</s>`` (see :func:`kilm.sequence.row_limit`)."""

    splits: SplitConfig
    max_infills: int
    max_tokens: int
    plain_fraction: float
    num_shards: int

    def shard(self, split: str, key: str) -> str:
        """Train rows spread over the shards; valid and test live in shard0 (fairseq reads them there)."""
        return f"shard{stable_bucket(key, self.num_shards)}" if split == "train" else "shard0"


@dataclass(frozen=True)
class Row:
    """One binarized pair; ``meta`` is its ``rows.jsonl.gz`` record (see :func:`kilm.records.row_record`)."""

    shard: str
    split: str
    key: str
    source: array.array
    target: array.array
    meta: dict


@dataclass
class ExampleRows:
    """What one example gives: knowledge (or plain) rows, plain-text rows, and what was counted."""

    rows: list[Row] = field(default_factory=list)
    plain: list[tuple[str, array.array]] = field(default_factory=list)
    stats: collections.Counter = field(default_factory=collections.Counter)


def compact(ids: Sequence[int]) -> array.array:
    """Token ids as a machine array: 4 bytes a token where a list of ints takes ~36; rows travel to
    their writers' runs in this form (:func:`pipeline.sinks.pack_row`)."""
    return array.array("i", ids)


def choose_mentions(example_id: str, mentions: Sequence[dict], usable: Sequence[bool], limit: int) -> list[int]:
    """Up to ``limit`` usable mentions, one per entity, in a stable pseudo-random order."""
    order = sorted((i for i, ok in enumerate(usable) if ok), key=lambda i: stable_unit(f"{example_id}#{i}", "pick"))
    chosen, entities = [], set()
    for i in order:
        if mentions[i]["entity"] in entities:
            continue
        chosen.append(i)
        entities.add(mentions[i]["entity"])
        if len(chosen) == limit:
            break
    return sorted(chosen)


def example_rows(example: dict, tokenizer: KilmTokenizer, rules: RowRules) -> ExampleRows:
    """An example (with ``split`` and ``knowledge``) → its rows. In train, an unseen entity's mention
    is never chosen (:meth:`SplitConfig.shows_knowledge`); a mention whose span alone does not fit is
    counted as ``span_too_long``."""
    out = ExampleRows()
    split, text, mentions = example["split"], example["text"], example["mentions"]
    whole = EncodedText(tokenizer, text)
    plain = seq.plain_rows(text, tokenizer.encode, rules.max_tokens, ids=whole.ids)
    out.plain = [(f"{example['id']}:{k}", compact(p.row)) for k, p in enumerate(plain)]
    shown = [rules.splits.shows_knowledge(split, m["entity"]) for m in mentions]
    usable = [bool(knowledge) and ok for knowledge, ok in zip(example["knowledge"], shown)]
    if not all(shown):
        out.stats["mentions", "unseen_entity_kept_plain_in_train"] += shown.count(False)
    for index in choose_mentions(example["id"], mentions, usable, rules.max_infills):
        mention = mentions[index]
        window = seq.Window(text, mention["start"], mention["end"], mention["entity"], example["knowledge"][index])
        fitted = seq.fit_window(window, tokenizer.encode, tokenizer.special, rules.max_tokens, piece=whole.piece)
        if fitted is None:
            out.stats["mentions", "span_too_long"] += 1
            continue
        encoded, key = fitted.encoded, f"{example['id']}#{index}"
        meta = {"example": example["id"], "mention": index, "entity": mention["entity"],
                "window": [fitted.start, fitted.end], "span": [encoded.span_start, encoded.span_end]}
        # A paragraph's candidate rows share a shard: the trainer draws one of them per pass.
        out.rows.append(Row(rules.shard(split, example["id"]), split, key, compact(encoded.source),
                            compact(encoded.target), meta))
    if not out.rows and stable_unit(example["id"], "plain") < rules.plain_fraction:
        for (key, row), p in zip(out.plain, plain):
            meta = {"example": example["id"], "mention": None, "entity": None, "window": [p.start, p.end],
                    "span": None}
            out.rows.append(Row(rules.shard(split, key), split, key, row, row, meta))
    knowledge_rows = sum(row.meta["entity"] is not None for row in out.rows)
    out.stats["sequences_with_knowledge", split] += knowledge_rows
    out.stats["sequences_without_knowledge", split] += len(out.rows) - knowledge_rows
    out.stats["mentions_by_split", split] += len(mentions)
    out.stats["described_mentions_by_split", split] += sum(bool(k) for k in example["knowledge"])
    return out


@beam.typehints.with_output_types(typing.Any)  # mixes main and tagged outputs
class _RowsFn(CountingDoFn):
    PLAIN = "plain"

    def __init__(self, rules: RowRules) -> None:
        self.rules = rules
        self._tokenizer: KilmTokenizer | None = None
        self._tokenizer_json: str | None = None

    def _load(self, tokenizer_json: str) -> KilmTokenizer:
        if self._tokenizer_json != tokenizer_json:
            self._tokenizer = KilmTokenizer.from_json(tokenizer_json)
            self._tokenizer_json = tokenizer_json
        return self._tokenizer

    def process(self, example: dict, tokenizer_json: str):
        built = example_rows(example, self._load(tokenizer_json), self.rules)
        for key, ids in built.plain:
            yield pvalue.TaggedOutput(self.PLAIN, (example["split"], (key, ids.tobytes())))
        for (section, key), n in built.stats.items():
            self.stat(section, key, n)
        for row in built.rows:
            yield (row.shard, row.split), (row.key, pack_row(row.source, row.target, row.meta))


class Binarize(beam.PTransform):
    """``{"examples", "tokenizer"}`` → ``bin/shardK/{split}.{source,target}`` + ``rows.jsonl.gz`` and
    ``bin/plain/{split}`` (fairseq mmap); returns ``{"counted": (section, split, n), STATS}``."""

    def __init__(self, output: str, spill: RunSpill, rules: RowRules) -> None:
        super().__init__()
        self.output = output
        self.spill = spill
        self.rules = rules

    def expand(self, inputs):
        examples, tokenizer = inputs["examples"], beam.pvalue.AsSingleton(inputs["tokenizer"])
        rows = examples | "MakeRows" >> beam.ParDo(_RowsFn(self.rules), tokenizer).with_outputs(
            _RowsFn.PLAIN, STATS, main="rows")
        # A split with no rows gets no files, as fairseq-preprocess writes none for a split it was not
        # given (fairseq cannot mmap an empty .bin); the manifest's zero tells the trainer and eval why.
        counts = (rows.rows | "ShardRuns" >> SortedRuns(self.spill)
                  | "WriteShards" >> beam.ParDo(WriteKnowledgeRowsFn(self.output), tokenizer))
        plain_counts = (rows[_RowsFn.PLAIN] | "PlainRuns" >> SortedRuns(self.spill)
                        | "WritePlain" >> beam.ParDo(WritePlainRowsFn(self.output), tokenizer))
        stats = (
            (counts | "SequenceStats" >> beam.Map(lambda kv: ("sequences", kv[0][1], kv[1])),
             plain_counts | "PlainStats" >> beam.Map(lambda kv: ("denoising_sequences", kv[0], kv[1])))
            | "FlattenSequenceStats" >> beam.Flatten()
        )
        return {"counted": stats, STATS: rows[STATS]}
