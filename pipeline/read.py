"""Read: dump files → raw pages, fanned out to all workers. A file, or a range of a multistream file's
bz2 streams (when Wikimedia's index lies beside it), is read by one worker; the reading itself
(schemas, encodings, damage) is :mod:`pipeline.dump`'s."""

from __future__ import annotations

import bz2
import logging
import typing

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from pipeline.dump import checksum, read_dump, read_range
from pipeline.multistream import ReadTask, check_stream_starts, index_path, read_tasks, stream_offsets
from pipeline.outcomes import DEAD_LETTER, STATS, CountingDoFn


def open_raw(path: str):
    """Bytes of a file as stored (we decompress ourselves, to keep what precedes damage)."""
    return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)


def plan_reads(path: str, streams_per_read: int) -> list[ReadTask]:
    """One file → its read tasks: ranges of bz2 streams when Wikimedia's multistream index lies
    beside it (``X.xml.bz2`` + ``X-index.txt.bz2``), so that workers share one big file; else the
    whole file. An index that cannot be read or does not fit the file (every range start is checked:
    a truncated download, another dump's index) is logged and the file is read whole."""
    index = index_path(path)
    if streams_per_read == 0 or index is None or not FileSystems.exists(index):
        return [ReadTask(path)]
    try:
        with open_raw(index) as raw, bz2.open(raw, "rt", encoding="utf-8") as lines:  # enwiki's: ~24M lines
            offsets = stream_offsets(lines)
        tasks = read_tasks(path, offsets, streams_per_read)
        with open_raw(path) as raw:
            size = raw.seek(0, 2)
            mismatch = check_stream_starts(raw, (t.start for t in tasks if t.kind == "range" and t.start), size)
        if mismatch:
            raise ValueError(mismatch)
    except (OSError, ValueError, UnicodeDecodeError) as err:
        logging.warning("%s: multistream index not usable (%s); reading the file whole", index, err)
        return [ReadTask(path)]
    logging.info("%s: %d bz2 streams in %d read tasks (index %s)", path, len(offsets), len(tasks) - 1, index)
    return tasks


@beam.typehints.with_output_types(typing.Any)  # mixes main and tagged outputs
class _ReadDumpFn(CountingDoFn):
    """Pages of a range of streams on the main output (the ranges are spread already); pages of a file
    read whole on ``WHOLE_FILE_PAGES``, to be spread."""

    ERRORS = "errors"
    INPUTS = "inputs"
    WHOLE_FILE_PAGES = "whole_file_pages"

    def __init__(self, max_page_bytes: int) -> None:
        self.max_page_bytes = max_page_bytes

    def process(self, task: ReadTask):
        if task.kind == "checksum":
            yield pvalue.TaggedOutput(self.INPUTS, checksum(task.path, open_raw))
            return
        events = (read_range(task.path, open_raw, self.max_page_bytes, task.start, task.end)
                  if task.kind == "range" else read_dump(task.path, open_raw, self.max_page_bytes))
        for event in events:
            if event.kind == "page":
                yield event.value if task.kind == "range" else pvalue.TaggedOutput(self.WHOLE_FILE_PAGES, event.value)
            elif event.kind == "dead_letter":
                yield pvalue.TaggedOutput(DEAD_LETTER, event.value)
                self.stat("outcomes", f"dead_letter_{event.value['reason']}")
            elif event.kind == "error":
                yield pvalue.TaggedOutput(self.ERRORS, event.value)
            elif event.kind == "input":
                yield pvalue.TaggedOutput(self.INPUTS, event.value)


class ReadPages(beam.PTransform):
    """File paths → ``{"pages", "errors", "inputs", DEAD_LETTER, STATS}``: raw pages spread over the
    workers (two PCollections: pages of ranges, pages of files read whole), damaged inputs, each input's
    size and checksum. Only the pages of files read whole are
    shuffled to spread them: a shuffle holds every page's wikitext at once on a local runner, and the
    pages of a range of streams are spread with their range."""

    def __init__(self, max_page_bytes: int, streams_per_read: int) -> None:
        super().__init__()
        self.max_page_bytes = max_page_bytes
        self.streams_per_read = streams_per_read

    def expand(self, paths):
        read = (
            paths
            | "PlanReads" >> beam.FlatMap(plan_reads, self.streams_per_read)
            | "SpreadReads" >> beam.Reshuffle()
            | "ReadDump" >> beam.ParDo(_ReadDumpFn(self.max_page_bytes)).with_outputs(
                _ReadDumpFn.ERRORS, _ReadDumpFn.INPUTS, _ReadDumpFn.WHOLE_FILE_PAGES, DEAD_LETTER, STATS,
                main="pages")
        )
        spread = read[_ReadDumpFn.WHOLE_FILE_PAGES] | "SpreadPages" >> beam.Reshuffle()
        return {
            "pages": (read.pages, spread),  # not flattened: see ParsePages
            "errors": read[_ReadDumpFn.ERRORS],
            "inputs": read[_ReadDumpFn.INPUTS],
            DEAD_LETTER: read[DEAD_LETTER],
            STATS: read[STATS],
        }
