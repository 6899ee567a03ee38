"""Wikimedia's multistream dumps read in parallel: the index beside a dump names where its bz2 streams
start, and each read task takes a run of them (:func:`pipeline.dump.read_range`) so that one big file
fans out to many workers; an index that does not fit its file is caught before any range is read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO


@dataclass(frozen=True)
class ReadTask:
    """One unit of reading: ``file`` (a whole file, its checksum with it), ``range`` (the bz2
    streams of a multistream file in ``[start, end)``) or ``checksum`` (of a file read in ranges)."""

    path: str
    kind: str = "file"
    start: int = 0
    end: int | None = None


_MULTISTREAM_NAME = re.compile(r"(.*)\.xml(-p\d+p\d+)?\.bz2$")
_NUMBERED_PART = re.compile(r"(.*-multistream)(\d+)$")


def index_path(path: str) -> str | None:
    """The multistream index Wikimedia ships beside a dump: ``X.xml.bz2`` → ``X-index.txt.bz2``, and
    for the split files ``X-multistream3.xml-p151574p311329.bz2`` →
    ``X-multistream-index3.txt-p151574p311329.bz2``."""
    match = _MULTISTREAM_NAME.match(path)
    if match is None:
        return None
    stem, pages = match.group(1), match.group(2) or ""
    numbered = _NUMBERED_PART.match(stem)
    index = f"{numbered.group(1)}-index{numbered.group(2)}" if numbered else f"{stem}-index"
    return f"{index}.txt{pages}.bz2"


def stream_offsets(lines: Iterable[str]) -> list[int]:
    """Distinct bz2 stream offsets of a multistream index (``offset:page_id:title`` a line), sorted.
    A line that does not start with ``offset:page_id:`` raises ValueError naming it."""
    offsets = set()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        offset, page_id, _ = line.split(":", 2) if line.count(":") >= 2 else (None, None, None)
        if offset is None or not offset.isdigit() or not page_id.isdigit():
            raise ValueError(f"line {number} is not offset:page_id:title: {line[:80]!r}")
        offsets.add(int(offset))
    return sorted(offsets)


def read_tasks(path: str, offsets: list[int], streams_per_read: int) -> list[ReadTask]:
    """Ranges of ``streams_per_read`` streams: the first starts at 0 (the siteinfo), the last runs to
    the end of the file (what follows the last indexed stream); plus the file's checksum."""
    starts = sorted({0, *offsets[streams_per_read::streams_per_read]})
    ends = [*starts[1:], None]
    ranges = [ReadTask(path, "range", start, end) for start, end in zip(starts, ends, strict=True)]
    return [*ranges, ReadTask(path, "checksum")]


#: a bz2 stream starts with "BZh", the block size digit and the block magic (pi in BCD)
_BZ2_STREAM_START = re.compile(rb"BZh[1-9]\x31\x41\x59\x26\x53\x59")


def at_stream_start(raw: BinaryIO, offset: int) -> bool:
    raw.seek(offset)
    return _BZ2_STREAM_START.match(raw.read(10)) is not None


def check_stream_starts(raw: BinaryIO, starts: Iterable[int], size: int) -> str | None:
    """Why an index does not fit its file (an offset past the end or not at a bz2 stream start: a
    truncated download, or the index of another dump), or None."""
    for start in starts:
        if start >= size:
            return f"offset {start} is past the end of the file ({size} bytes)"
        if not at_stream_start(raw, start):
            return f"offset {start} is not the start of a bz2 stream"
    return None
