"""Sinks: deterministic files on any Beam filesystem. Records go to a file by a stable hash and are
sorted inside it (Beam's own shard assignment is not deterministic); every expected file is written,
empty ones included, so readers find a complete set. The formats are :mod:`kilm.records`'."""

from __future__ import annotations

import array
import json
import os
import struct
import tempfile
import typing
from collections.abc import Callable, Iterable

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from kilm.indexed import write_indexed
from kilm.records import ROW_META_FIELDS, gzip_lines, jsonl_line, row_record, rows_name, sharded_name
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


_ROW_SIZES = struct.Struct("<II")


def pack_row(source: array.array, target: array.array, meta: dict) -> bytes:
    """A knowledge row as the one bytes object it carries to its shard's writer: the two token counts,
    the ids (4 bytes each) and its ``rows.jsonl.gz`` fields as JSON. A shard's rows all wait there at
    once; as arrays and a dict each they took about twice the memory."""
    fields = json.dumps([meta[k] for k in ROW_META_FIELDS], ensure_ascii=False).encode("utf-8")
    return _ROW_SIZES.pack(len(source), len(target)) + source.tobytes() + target.tobytes() + fields


def packed_ids(packed: bytes, column: int) -> array.array:
    """The source (``column`` 0) or target (1) ids of a :func:`pack_row`, read without the rest."""
    n_source, n_target = _ROW_SIZES.unpack_from(packed)
    start = _ROW_SIZES.size + 4 * (n_source if column else 0)
    ids = array.array("i")
    ids.frombytes(packed[start:start + 4 * (n_target if column else n_source)])
    return ids


def packed_meta(packed: bytes) -> dict:
    """The ``rows.jsonl.gz`` fields of a :func:`pack_row`."""
    n_source, n_target = _ROW_SIZES.unpack_from(packed)
    return dict(zip(ROW_META_FIELDS, json.loads(packed[_ROW_SIZES.size + 4 * (n_source + n_target):])))


def unpack_row(packed: bytes) -> tuple[array.array, array.array, dict]:
    """:func:`pack_row`'s ``(source, target, meta)``."""
    return packed_ids(packed, 0), packed_ids(packed, 1), packed_meta(packed)


class WriteKnowledgeRowsFn(beam.DoFn):
    """All rows of one (shard, split), ``(key, pack_row(...))`` → fairseq ``.bin/.idx`` pairs +
    ``rows.jsonl.gz``, sorted by key."""

    def __init__(self, output: str) -> None:
        self.output = output

    def process(self, element, tokenizer_json: str):
        (shard, split), rows = element
        rows = sorted_rows(rows)
        vocab = _vocab_size(tokenizer_json)
        directory = FileSystems.join(self.output, "bin", shard)
        for side, column in (("source", 0), ("target", 1)):
            write_indexed_file(FileSystems.join(directory, f"{split}.{side}"),
                               (packed_ids(packed, column) for _, packed in rows), vocab)
        write_bytes(FileSystems.join(directory, rows_name(split)),
                    gzip_lines(jsonl_line(row_record(i, key, packed_meta(packed))) for i, (key, packed) in
                               enumerate(rows)))
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
    """``(file name, [(sort key, line)])`` → the file, its lines in sort-key order."""

    def __init__(self, output: str) -> None:
        self.output = output

    def process(self, element):
        name, keyed_lines = element
        keyed_lines = sorted(keyed_lines)
        write_bytes(FileSystems.join(self.output, name), gzip_lines(line for _, line in keyed_lines))
        yield name, len(keyed_lines)


class WriteJsonl(beam.PTransform):
    """Records → ``{prefix}-SSSSS-of-NNNNN.jsonl.gz`` by a stable hash of ``shard_key``, sorted by
    ``sort_key`` inside each file; ``project`` turns an element into its record. A record travels to
    its file's writer as ``(sort key, JSON line)``: a file's records wait there all at once, and a line
    takes a fraction of the memory of the dict it came from."""

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

    def _keyed_line(self, element) -> tuple[str, tuple]:
        record = self.project(element)
        name = sharded_name(self.prefix_of(element), stable_bucket(self.shard_key(element), self.num_files),
                            self.num_files)
        return name, (self.sort_key(record), jsonl_line(record))

    def expand(self, records):
        every_file = [sharded_name(p, k, self.num_files) for p in self.prefixes for k in range(self.num_files)]
        return (
            records
            | "KeyByFile" >> beam.Map(self._keyed_line)
            | "WriteFiles" >> WriteGroups(_WriteJsonlFn(self.output), every_file)
        )
