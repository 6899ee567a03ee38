"""Sinks: deterministic files on any Beam filesystem. Records go to a file by a stable hash and are
sorted inside it (Beam's own shard assignment is not deterministic); every expected file is written,
empty ones included, so readers find a complete set. The formats are :mod:`kilm.records`'."""

from __future__ import annotations

import json
import os
import tempfile
import typing
from collections.abc import Callable, Iterable

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from kilm.indexed import write_indexed
from kilm.records import jsonl_gz, row_record, rows_name, sharded_name
from pipeline.splits import stable_bucket


def write_bytes(path: str, data: bytes) -> None:
    with FileSystems.create(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
        f.write(data)


def write_indexed_file(prefix: str, rows: Iterable[typing.Sequence[int]], vocab_size: int) -> None:
    """fairseq ``prefix.bin``/``prefix.idx`` on any Beam filesystem (built locally, then copied)."""
    with tempfile.TemporaryDirectory() as tmp:
        local = os.path.join(tmp, "rows")
        write_indexed(local, rows, vocab_size)
        for ext in ("bin", "idx"):
            with open(f"{local}.{ext}", "rb") as f:
                write_bytes(f"{prefix}.{ext}", f.read())


def sorted_rows(rows: Iterable) -> list:
    """Rows of one file in key order (Beam's grouping order is not deterministic)."""
    return sorted(rows, key=lambda r: r[0])


class _WriteMissingFn(beam.DoFn):
    """Writes each expected group that no record reached, empty, with the group's own writer."""

    def __init__(self, write: beam.DoFn) -> None:
        self.write = write

    def process(self, key, written: list, *side_inputs):
        if key not in written:
            yield from self.write.process((key, []), *side_inputs)


class WriteGroups(beam.PTransform):
    """``(key, record)`` → one ``write((key, records))`` per key; every expected key is written, empty
    ones included. The missing ones are found from the written keys (a side input), not by flattening
    placeholders into the records: a Flatten would materialise every record once more. ``write``
    yields ``(key, n)``; so does this transform."""

    def __init__(self, write: beam.DoFn, expected: list, *side_inputs) -> None:
        super().__init__()
        self.write = write
        self.expected = expected
        self.side_inputs = side_inputs

    def expand(self, keyed):
        written = keyed | "Group" >> beam.GroupByKey() | "Write" >> beam.ParDo(self.write, *self.side_inputs)
        written_keys = beam.pvalue.AsList(written | "WrittenKeys" >> beam.Keys())
        missing = (
            keyed.pipeline
            | "Expected" >> beam.Create(self.expected, reshuffle=False)  # a few names: no fan-out needed
            | "WriteMissing" >> beam.ParDo(_WriteMissingFn(self.write), written_keys, *self.side_inputs)
        )
        return (written, missing) | "FlattenCounts" >> beam.Flatten()


def _vocab_size(tokenizer_json: str) -> int:
    return len(json.loads(tokenizer_json)["symbols"])


class WriteKnowledgeRowsFn(beam.DoFn):
    """All rows of one (shard, split) → fairseq ``.bin/.idx`` pairs + ``rows.jsonl.gz``, sorted by key."""

    def __init__(self, output: str) -> None:
        self.output = output

    def process(self, element, tokenizer_json: str):
        (shard, split), rows = element
        rows = sorted_rows(rows)
        vocab = _vocab_size(tokenizer_json)
        directory = FileSystems.join(self.output, "bin", shard)
        for side, column in (("source", 1), ("target", 2)):
            write_indexed_file(FileSystems.join(directory, f"{split}.{side}"), (r[column] for r in rows), vocab)
        write_bytes(FileSystems.join(directory, rows_name(split)),
                    jsonl_gz(row_record(i, r[0], r[3]) for i, r in enumerate(rows)))
        yield (shard, split), len(rows)


class WritePlainRowsFn(beam.DoFn):
    """All plain rows of one split → ``bin/plain/{split}.bin/.idx`` (for fairseq's ``denoising``)."""

    def __init__(self, output: str) -> None:
        self.output = output

    def process(self, element, tokenizer_json: str):
        split, rows = element
        rows = sorted_rows(rows)
        write_indexed_file(FileSystems.join(self.output, "bin", "plain", split), (r[1] for r in rows),
                           _vocab_size(tokenizer_json))
        yield split, len(rows)


class _WriteJsonlFn(beam.DoFn):
    def __init__(self, output: str, sort_key: Callable) -> None:
        self.output = output
        self.sort_key = sort_key

    def process(self, element):
        name, records = element
        records = sorted(records, key=self.sort_key)
        write_bytes(FileSystems.join(self.output, name), jsonl_gz(records))
        yield name, len(records)


class WriteJsonl(beam.PTransform):
    """Records → ``{prefix}-SSSSS-of-NNNNN.jsonl.gz`` by a stable hash of ``shard_key``, sorted by
    ``sort_key`` inside each file; ``project`` turns an element into its record."""

    def __init__(self, output: str, prefixes: list[str], num_files: int, prefix_of: Callable, shard_key: Callable,
                 sort_key: Callable, project: Callable | None = None) -> None:
        super().__init__()
        self.project = project or (lambda record: record)
        self.output = output
        self.prefixes = prefixes
        self.num_files = num_files
        self.prefix_of = prefix_of
        self.shard_key = shard_key
        self.sort_key = sort_key

    def expand(self, records):
        every_file = [sharded_name(p, k, self.num_files) for p in self.prefixes for k in range(self.num_files)]
        return (
            records
            | "KeyByFile" >> beam.Map(
                lambda r: (sharded_name(self.prefix_of(r), stable_bucket(self.shard_key(r), self.num_files),
                                        self.num_files), self.project(r)))
            | "WriteFiles" >> WriteGroups(_WriteJsonlFn(self.output, self.sort_key), every_file)
        )
