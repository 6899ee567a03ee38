"""Sinks: deterministic files on any Beam filesystem. Records go to a file by a stable hash and are
sorted inside it (Beam's own shard assignment is not deterministic); every expected file is written,
empty ones included, so readers find a complete set. A file's records wait in sorted runs
(:mod:`pipeline.runs`) that its writer merges as it writes: none is ever held whole. The formats are
:mod:`kilm.records`'."""

from __future__ import annotations

import array
import collections
import contextlib
import json
import struct
from collections.abc import Callable, Iterable

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from kilm.indexed import IndexedWriter
from kilm.records import ROW_META_FIELDS, gzip_chunks, jsonl_line, row_record, rows_name, sharded_name
from pipeline.runs import RunSpill, SortedRuns, create, merged_runs, remove
from pipeline.splits import stable_bucket


def write_bytes(path: str, data: bytes) -> None:
    with create(path) as f:
        f.write(data)


def write_chunks(path: str, chunks: Iterable[bytes]) -> None:
    with create(path) as f:
        for chunk in chunks:
            f.write(chunk)


class _WriteMissingFn(beam.DoFn):
    """Writes each expected group that no record reached, empty, with the group's own writer."""

    def __init__(self, write: beam.DoFn) -> None:
        self.write = write

    def process(self, key, written: list, *side_inputs):
        if key not in written:
            yield from self.write.process((key, []), *side_inputs)


class WriteGroups(beam.PTransform):
    """``(key, (sort key, payload bytes))`` (or what ``keyed`` makes of an element) → one ``write((key, run
    paths))`` per key, which merges the runs (:func:`merged_runs`); every expected key is written, empty ones
    (no runs) included. The missing ones are found from the written keys (a side input), not by flattening
    placeholders into the records. ``write`` yields ``(key, n)``; so does this transform."""

    def __init__(self, write: beam.DoFn, spill: RunSpill, expected: list, *side_inputs,
                 keyed: Callable | None = None) -> None:
        super().__init__()
        self.write = write
        self.spill = spill
        self.keyed = keyed
        self.expected = expected
        self.side_inputs = side_inputs

    def expand(self, keyed):
        written = (keyed
                   | "SortedRuns" >> SortedRuns(self.spill, self.keyed)
                   | "Write" >> beam.ParDo(self.write, *self.side_inputs))
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
    """A knowledge row as the one bytes object it carries to its shard's runs: the two token counts,
    the ids (4 bytes each) and its ``rows.jsonl.gz`` fields as JSON."""
    fields = json.dumps([meta[k] for k in ROW_META_FIELDS], ensure_ascii=False).encode("utf-8")
    return _ROW_SIZES.pack(len(source), len(target)) + source.tobytes() + target.tobytes() + fields


def packed_ids(packed: bytes, column: int) -> array.array:
    """The source (``column`` 0) or target (1) ids of a :func:`pack_row`, read without the rest."""
    n_source, n_target = _ROW_SIZES.unpack_from(packed)
    start = _ROW_SIZES.size + 4 * (n_source if column else 0)
    return ids_of(packed[start:start + 4 * (n_target if column else n_source)])


def ids_of(data: bytes) -> array.array:
    """Token ids from their 4-byte machine form (``array.array("i").tobytes()``)."""
    ids = array.array("i")
    ids.frombytes(data)
    return ids


def packed_meta(packed: bytes) -> dict:
    """The ``rows.jsonl.gz`` fields of a :func:`pack_row`."""
    n_source, n_target = _ROW_SIZES.unpack_from(packed)
    return dict(zip(ROW_META_FIELDS, json.loads(packed[_ROW_SIZES.size + 4 * (n_source + n_target):])))


def unpack_row(packed: bytes) -> tuple[array.array, array.array, dict]:
    """:func:`pack_row`'s ``(source, target, meta)``."""
    return packed_ids(packed, 0), packed_ids(packed, 1), packed_meta(packed)


def _indexed(prefix: str, vocab_size: int, stack: contextlib.ExitStack) -> IndexedWriter:
    return IndexedWriter(stack.enter_context(create(f"{prefix}.bin")), vocab_size, prefix)


def _write_index(prefix: str, writer: IndexedWriter) -> int:
    with create(f"{prefix}.idx") as index:
        return writer.write_index(index)


class WriteKnowledgeRowsFn(beam.DoFn):
    """The runs of one (shard, split)'s ``(key, pack_row(...))`` → fairseq ``.bin/.idx`` pairs +
    ``rows.jsonl.gz``, in key order, in one pass."""

    def __init__(self, output: str) -> None:
        self.output = output

    def process(self, element, tokenizer_json: str):
        (shard, split), runs = element
        directory = FileSystems.join(self.output, "bin", shard)
        prefixes = [FileSystems.join(directory, f"{split}.{side}") for side in ("source", "target")]
        with contextlib.ExitStack() as stack:
            columns = [_indexed(prefix, _vocab_size(tokenizer_json), stack) for prefix in prefixes]

            def lines():
                for i, (key, packed) in enumerate(merged_runs(runs)):
                    for column, writer in enumerate(columns):
                        writer.add(packed_ids(packed, column))
                    yield jsonl_line(row_record(i, key, packed_meta(packed)))

            write_chunks(FileSystems.join(directory, rows_name(split)), gzip_chunks(lines()))
            count, _ = (_write_index(prefix, writer) for prefix, writer in zip(prefixes, columns))
        remove(runs)
        yield (shard, split), count


class WritePlainRowsFn(beam.DoFn):
    """The runs of one split's plain rows ``(key, ids as 4-byte ints)`` → ``bin/plain/{split}.bin/.idx``
    (for fairseq's ``denoising``)."""

    def __init__(self, output: str) -> None:
        self.output = output

    def process(self, element, tokenizer_json: str):
        split, runs = element
        prefix = FileSystems.join(self.output, "bin", "plain", split)
        with contextlib.ExitStack() as stack:
            writer = _indexed(prefix, _vocab_size(tokenizer_json), stack)
            for _, ids in merged_runs(runs):
                writer.add(ids_of(ids))
            count = _write_index(prefix, writer)
        remove(runs)
        yield split, count


class _WriteJsonlFn(beam.DoFn):
    """``(file name, run paths)`` → the file, its lines in sort-key order."""

    def __init__(self, output: str) -> None:
        self.output = output

    def process(self, element):
        name, runs = element
        counted = collections.Counter()

        def lines():
            for _, line in merged_runs(runs):
                counted["lines"] += 1
                yield line

        write_chunks(FileSystems.join(self.output, name), gzip_chunks(lines()))
        remove(runs)
        yield name, counted["lines"]


class WriteJsonl(beam.PTransform):
    """Records → ``{prefix}-SSSSS-of-NNNNN.jsonl.gz`` by a stable hash of ``shard_key``, sorted by
    ``sort_key`` inside each file; ``project`` turns an element into its record. A record travels to
    its file's runs as ``(sort key, JSON line)``."""

    def __init__(self, output: str, spill: RunSpill, prefixes: list[str], num_files: int, prefix_of: Callable,
                 shard_key: Callable, sort_key: Callable, project: Callable | None = None) -> None:
        super().__init__()
        self.project = project or (lambda record: record)
        self.output = output
        self.spill = spill
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
            | "WriteFiles" >> WriteGroups(_WriteJsonlFn(self.output), self.spill, every_file, keyed=self._keyed_line)
        )
