"""Multistream dumps with Wikimedia's index are read in ranges of bz2 streams, so that workers share
one big file; the ranges give exactly the pages of the whole file, and damage inside a range is
recorded with the stream it is in."""

from __future__ import annotations

import bz2
import itertools
import logging
from pathlib import Path

import pytest

from pipeline.dump import index_path, read_dump, read_range, read_tasks, stream_offsets
from pipeline.transforms import open_raw, plan_reads
from tests.dumps import Page, dump_xml

MAX_PAGE = 1 << 20


def write_multistream(tmp: Path, pages: list[Page], per_stream: int = 10, cut_last: bool = False) -> Path:
    """A bz2 of one stream for the siteinfo, then ``per_stream`` pages a stream, and its index;
    ``cut_last``: the download ends halfway through the last stream of pages."""
    xml = dump_xml(pages)
    starts = [i for i in range(len(xml)) if xml.startswith("  <page>", i)]
    bounds = [0, *starts[::per_stream], xml.index("</mediawiki>"), len(xml)]
    streams = [bz2.compress(xml[a:b].encode()) for a, b in itertools.pairwise(bounds)]
    if cut_last:
        streams = [*streams[:-2], streams[-2][: len(streams[-2]) // 2]]
    path = tmp / "testwiki-multistream.xml.bz2"
    path.write_bytes(b"".join(streams))
    offsets = list(itertools.accumulate(len(s) for s in streams))
    lines = [f"{offsets[k // per_stream]}:{k + 1}:{p.title}\n" for k, p in enumerate(pages)]
    with bz2.open(index_path(str(path)), "wt", encoding="utf-8") as index:
        index.writelines(lines)
    return path


def pages_of(events) -> list:
    return [e.value for e in events if e.kind == "page"]


def ranges_of(path: Path, streams_per_read: int) -> list:
    with bz2.open(index_path(str(path)), "rt", encoding="utf-8") as index:
        offsets = stream_offsets(index)
    return [t for t in read_tasks(str(path), offsets, streams_per_read) if not t.checksum_only]


@pytest.mark.parametrize("streams_per_read", [1, 3, 100])
def test_ranges_give_the_pages_of_the_whole_file(tmp_path, streams_per_read):
    pages = [Page(f"Page {i}", f"'''Page {i}''' links to [[Page {i + 1}]].") for i in range(47)]
    path = write_multistream(tmp_path, pages)
    whole = pages_of(read_dump(str(path), open_raw, MAX_PAGE))
    tasks = ranges_of(path, streams_per_read)
    assert len(tasks) == -(-5 // streams_per_read)  # 47 pages in 5 streams of 10
    ranged = [p for t in tasks for p in pages_of(read_range(str(path), open_raw, MAX_PAGE, t.start, t.end))]
    assert [(p.title, p.page_id, p.text) for p in ranged] == [(p.title, p.page_id, p.text) for p in whole]
    for page in ranged:  # stream_offset + offset find the page: decompress from that stream on
        with path.open("rb") as f:
            f.seek(page.stream_offset)
            data = bz2.decompress(f.read())
        assert data[page.offset :].startswith(b"<page>\n    <title>" + page.title.encode())


def test_damage_inside_a_range_is_recorded_with_its_stream(tmp_path):
    pages = [Page(f"Page {i}", f"'''Page {i}''' is about [[Page 0]]. " * 30) for i in range(30)]
    path = write_multistream(tmp_path, pages, cut_last=True)
    tasks = ranges_of(path, 1)
    last = list(read_range(str(path), open_raw, MAX_PAGE, tasks[-1].start, tasks[-1].end))
    errors = [e.value for e in last if e.kind == "error"]
    assert errors and all(e["stream_offset"] == tasks[-1].start for e in errors)
    assert "truncated_compressed_stream" in {e["reason"] for e in errors}
    earlier = [p for t in tasks[:-1] for p in pages_of(read_range(str(path), open_raw, MAX_PAGE, t.start, t.end))]
    assert [p.title for p in earlier] == [f"Page {i}" for i in range(20)]


def test_index_lines_are_checked():
    assert stream_offsets(["597:10:A\n", "597:12:B: with a colon\n", "\n", "9000:13:C\n"]) == [597, 9000]
    with pytest.raises(ValueError, match="line 2"):
        stream_offsets(["597:10:A\n", "not an index line\n"])


def test_files_without_a_usable_index_are_read_whole(tmp_path, caplog):
    pages = [Page(f"Page {i}", "Text.") for i in range(25)]
    path = write_multistream(tmp_path, pages)
    assert len(plan_reads(str(path), 1)) == 3 + 1  # three ranges and the checksum
    assert len(plan_reads(str(path), 0)) == 1
    Path(index_path(str(path))).write_bytes(bz2.compress(b"597:1:A\nbroken\n"))
    with caplog.at_level(logging.WARNING):
        assert len(plan_reads(str(path), 1)) == 1
    assert "multistream index not usable" in caplog.text and "line 2" in caplog.text


def test_an_index_offset_that_is_no_stream_start_is_an_error(tmp_path):
    path = write_multistream(tmp_path, [Page(f"Page {i}", "Text.") for i in range(25)])
    tasks = ranges_of(path, 1)
    events = list(read_range(str(path), open_raw, MAX_PAGE, tasks[1].start + 7, tasks[1].end))
    assert [(e.kind, e.value["reason"]) for e in events] == [("error", "index_offset_is_not_a_bz2_stream")]
