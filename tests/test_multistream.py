"""Multistream dumps with Wikimedia's index are read in ranges of bz2 streams, so that workers share
one big file; the ranges give exactly the pages of the whole file, and damage inside a range is
recorded with the stream it is in."""

from __future__ import annotations

import bz2
import itertools
import logging
from pathlib import Path

import pytest

from pipeline.dump import read_dump, read_range
from pipeline.multistream import index_path, read_tasks, stream_offsets
from pipeline.read import open_raw, plan_reads
from tests.dumps import Page, dump_xml

MAX_PAGE = 1 << 20


def write_multistream(tmp: Path, pages: list[Page], per_stream: int = 10, cut_last: bool = False,
                      xml: str | None = None) -> Path:
    """A bz2 of one stream for the siteinfo, then ``per_stream`` pages a stream, and its index;
    ``cut_last``: the download ends halfway through the last stream of pages."""
    xml = xml or dump_xml(pages)
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
    return [t for t in read_tasks(str(path), offsets, streams_per_read) if t.kind == "range"]


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
    pages = [Page(f"Page {i}", f"Page {i} is about [[Page 0]]. " * 30) for i in range(30)]
    path = write_multistream(tmp_path, pages, cut_last=True)
    whole = list(read_dump(str(path), open_raw, MAX_PAGE))
    tasks = ranges_of(path, 1)
    ranged = [e for t in tasks for e in read_range(str(path), open_raw, MAX_PAGE, t.start, t.end)]
    assert [p.title for p in pages_of(ranged)] == [p.title for p in pages_of(whole)] == [f"Page {i}" for i in range(20)]
    truncated = [e.value for e in ranged if e.kind == "error" and e.value["reason"] == "truncated_compressed_stream"]
    assert truncated == [{"file": str(path), "offset": path.stat().st_size, "reason": "truncated_compressed_stream",
                          "stream_offset": tasks[-1].start}]  # compressed damage: its byte in the file


def test_a_damaged_siteinfo_is_reported_once_not_by_every_range(tmp_path):
    pages = [Page(f"Page {i}", "Text.") for i in range(30)]
    xml = dump_xml(pages).replace("<namespaces>", "<namespaces><broken>", 1)
    path = write_multistream(tmp_path, pages, xml=xml)
    whole = list(read_dump(str(path), open_raw, MAX_PAGE))
    ranged = [e for t in ranges_of(path, 1) for e in read_range(str(path), open_raw, MAX_PAGE, t.start, t.end)]
    errors = [e.value for e in ranged if e.kind == "error"]
    assert errors == [e.value for e in whole if e.kind == "error"]
    assert len(errors) == 1 and errors[0]["reason"].startswith("malformed_siteinfo")
    assert [p.title for p in pages_of(ranged)] == [p.title for p in pages_of(whole)]


def test_index_lines_are_checked():
    assert stream_offsets(["597:10:A\n", "597:12:B: with a colon\n", "\n", "9000:13:C\n"]) == [597, 9000]
    with pytest.raises(ValueError, match="line 2"):
        stream_offsets(["597:10:A\n", "not an index line\n"])


@pytest.mark.parametrize(("dump", "index"), [
    ("enwiki-20230501-pages-articles-multistream.xml.bz2", "enwiki-20230501-pages-articles-multistream-index.txt.bz2"),
    ("enwiki-20230501-pages-articles-multistream3.xml-p151574p311329.bz2",
     "enwiki-20230501-pages-articles-multistream-index3.txt-p151574p311329.bz2"),
    ("gs://bucket/world.xml.bz2", "gs://bucket/world-index.txt.bz2"),
    ("world.xml.gz", None),
])
def test_the_index_is_found_by_wikimedias_names(dump, index):
    assert index_path(dump) == index


def test_an_index_that_does_not_fit_the_file_is_not_used(tmp_path, caplog):
    pages = [Page(f"Page {i}", "Text.") for i in range(25)]
    path = write_multistream(tmp_path, pages)
    assert [t.kind for t in plan_reads(str(path), 1)] == ["range"] * 3 + ["checksum"]
    assert [t.kind for t in plan_reads(str(path), 0)] == ["file"]
    (tmp_path / "other").mkdir()
    other = write_multistream(tmp_path / "other", [Page(f"Other {i}", "Longer text. " * 50) for i in range(25)])
    Path(index_path(str(path))).write_bytes(Path(index_path(str(other))).read_bytes())  # another dump's index
    with caplog.at_level(logging.WARNING):
        assert [t.kind for t in plan_reads(str(path), 1)] == ["file"]
    assert "not the start of a bz2 stream" in caplog.text or "past the end of the file" in caplog.text
    Path(index_path(str(path))).write_bytes(bz2.compress(b"597:1:A\nbroken\n"))
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert [t.kind for t in plan_reads(str(path), 1)] == ["file"]
    assert "multistream index not usable" in caplog.text and "line 2" in caplog.text


def test_a_truncated_download_is_read_whole_with_its_damage_recorded(tmp_path, caplog):
    path = write_multistream(tmp_path, [Page(f"Page {i}", "Some text. " * 40) for i in range(40)])
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with caplog.at_level(logging.WARNING):
        assert [t.kind for t in plan_reads(str(path), 1)] == ["file"]
    assert "past the end of the file" in caplog.text


def test_a_range_that_does_not_start_a_bz2_stream_is_an_error(tmp_path):
    path = write_multistream(tmp_path, [Page(f"Page {i}", "Text.") for i in range(25)])
    tasks = ranges_of(path, 1)
    events = list(read_range(str(path), open_raw, MAX_PAGE, tasks[1].start + 7, tasks[1].end))
    assert [(e.kind, e.value["reason"]) for e in events] == [("error", "not_a_bz2_stream_start")]
