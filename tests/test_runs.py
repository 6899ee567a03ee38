"""Sorted runs on disk: a join through them gives what ``beam.CoGroupByKey`` gives, the lowest records
come out in order, and no run is left behind."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipeline.runs import DiskCoGroupByKey, LowestRecords, RunSpill

PAGES = [(f"Title {i % 23}", {"page": i, "text": "ü" * (i % 5)}) for i in range(50)]
LINKS = [(f"Title {i % 31}", (i, f"target {i}")) for i in range(80)]


def canonical(joined):
    key, groups = joined
    return key, {tag: sorted(values, key=repr) for tag, values in groups.items()}


def test_a_join_through_runs_equals_cogroupbykey(tmp_path):
    spill = RunSpill(str(tmp_path / "runs"), buffer_bytes=300, buckets=3)  # many runs a bucket
    with BeamTestPipeline() as p:
        inputs = {"page": p | "Pages" >> beam.Create(PAGES), "links": p | "Links" >> beam.Create(LINKS),
                  "none": p | "Nothing" >> beam.Create([])}
        expected = inputs | "InMemory" >> beam.CoGroupByKey() | "Canonical" >> beam.Map(canonical)
        joined = inputs | "OnDisk" >> DiskCoGroupByKey(spill)
        assert_that(joined | beam.Map(canonical), equal_to(list(_collect(expected_pages=PAGES, links=LINKS))))
        assert_that(expected, equal_to(list(_collect(expected_pages=PAGES, links=LINKS))), label="reference")
        # values come in one order, whatever the runs: the runs are sorted, then merged
        assert_that(joined | "Ordered" >> beam.Map(lambda kv: kv[1]["links"] == sorted(kv[1]["links"])),
                    equal_to([True] * 31), label="ordered")
    assert list((tmp_path / "runs").iterdir()) == []


def _collect(expected_pages, links):
    keys = sorted({k for k, _ in expected_pages} | {k for k, _ in links})
    for key in keys:
        yield key, {"page": sorted((v for k, v in expected_pages if k == key), key=repr),
                    "links": sorted((v for k, v in links if k == key), key=repr), "none": []}


def test_lowest_records_in_order_and_an_empty_list_for_none(tmp_path):
    spill = RunSpill(str(tmp_path / "runs"), buffer_bytes=100, buckets=2)
    records = [((i * 7919 % 101) / 101, f"r{i}".encode()) for i in range(60)]
    with BeamTestPipeline() as p:
        lowest = p | "Records" >> beam.Create(records) | "Lowest" >> LowestRecords(spill, 9)
        assert_that(lowest, equal_to([sorted(records)[:9]]))
        nothing = p | "NoRecords" >> beam.Create([]) | "NoneLowest" >> LowestRecords(spill, 9)
        assert_that(nothing, equal_to([[]]), label="empty")
    assert list((tmp_path / "runs").iterdir()) == []


def test_a_tag_fed_by_several_pcollections_joins_them_all(tmp_path):
    spill = RunSpill(str(tmp_path / "runs"), buffer_bytes=100, buckets=2)
    with BeamTestPipeline() as p:
        ranges = p | "Ranges" >> beam.Create([("x", 1), ("y", 2)])
        whole = p | "Whole" >> beam.Create([("x", 3)])
        other = p | "Other" >> beam.Create([("y", "c")])
        joined = {"pages": (ranges, whole), "other": other} | DiskCoGroupByKey(spill)
        assert_that(joined, equal_to([("x", {"pages": [1, 3], "other": []}), ("y", {"pages": [2], "other": ["c"]})]))
