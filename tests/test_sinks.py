"""Sinks: files come out the same however many runs their records spilled into, and nothing of the
runs is left behind."""

from __future__ import annotations

import gzip

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from kilm.indexed import IndexedWriter, read_indexed, write_indexed
from kilm.records import gzip_chunks, read_jsonl_gz, sharded_name
from pipeline.runs import RemoveRuns, RunSpill
from pipeline.sinks import WriteJsonl

RECORDS = [{"name": f"n{i:03d}", "order": (i * 37) % 101, "text": "é" * (i % 7)} for i in range(60)]


def write(output, spill: RunSpill, records=RECORDS, num_files=3) -> None:
    with BeamTestPipeline() as p:
        counts = (p | beam.Create(records)
                  | WriteJsonl(output, spill, ["things/thing", "other/other"], num_files, lambda r: "things/thing",
                               lambda r: r["name"], lambda r: r["order"]))
        assert_that(counts | beam.Map(lambda kv: kv[1]) | beam.CombineGlobally(sum), equal_to([len(records)]))
        _ = counts | RemoveRuns(spill)


@pytest.mark.parametrize("buffer_bytes", [1, 500])
def test_files_are_the_same_whatever_the_runs(tmp_path, buffer_bytes):
    held = tmp_path / "held"
    write(str(held), RunSpill.under(str(held), 64))  # everything in one run a file
    spilled = tmp_path / "spilled"
    write(str(spilled), RunSpill(str(spilled / "_runs"), buffer_bytes))  # a run every record or few
    names = sorted(p.relative_to(held) for p in held.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(spilled) for p in spilled.rglob("*") if p.is_file())
    assert len(names) == 6  # every expected file, the empty "other" ones included
    for name in names:
        assert (held / name).read_bytes() == (spilled / name).read_bytes(), name
    lines = [r for k in range(3) for r in read_jsonl_gz([held / sharded_name("things/thing", k, 3)])]
    assert sorted(r["name"] for r in lines) == [r["name"] for r in RECORDS]
    for k in range(3):
        orders = [r["order"] for r in read_jsonl_gz([held / sharded_name("things/thing", k, 3)])]
        assert orders == sorted(orders)
    assert not (spilled / "_runs").exists() and not (held / "_sort_runs").exists()


def test_the_indexed_writer_streams_what_write_indexed_writes(tmp_path):
    rows = [[5, 6, 7], [], [1], list(range(40)), [2, 3]]
    write_indexed(tmp_path / "whole", rows, vocab_size=50)
    with open(tmp_path / "streamed.bin", "wb") as data:
        writer = IndexedWriter(data, vocab_size=50, block_tokens=4)
        for row in rows:
            writer.add(row)
        with open(tmp_path / "streamed.idx", "wb") as index:
            assert writer.write_index(index) == len(rows)
    for ext in ("bin", "idx"):
        assert (tmp_path / f"streamed.{ext}").read_bytes() == (tmp_path / f"whole.{ext}").read_bytes()
    assert [r.tolist() for r in read_indexed(tmp_path / "streamed")] == rows
    with open(tmp_path / "bad.bin", "wb") as data, pytest.raises(ValueError, match=r"bad.*vocabulary of 50"):
        writer = IndexedWriter(data, vocab_size=50, name="bad", block_tokens=2)
        writer.add([1, 2, 50])


def test_gzip_chunks_are_gzip_of_the_lines():
    lines = [f"line {i} ü\n".encode() for i in range(1000)]
    assert b"".join(gzip_chunks(lines)) == gzip.compress(b"".join(lines), compresslevel=6, mtime=0)
    assert gzip.decompress(b"".join(gzip_chunks([]))) == b""
