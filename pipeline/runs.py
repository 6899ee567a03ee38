"""Sorted runs on disk: how records wait for a group without being held. A step holds records up to
``buffer_bytes`` and spills them, sorted, to run files in a folder under the output (every worker of a
distributed runner reaches it); a group's consumer merges its runs a record at a time (an external
sort). Beam's local runner keeps everything that crosses a GroupByKey in memory, decoded, until the
consumer runs: through runs, only file paths do. The file sinks (:mod:`pipeline.sinks`) and the joins
of pages with their links (:class:`DiskCoGroupByKey`) wait this way."""

from __future__ import annotations

import collections
import contextlib
import functools
import heapq
import itertools
import pickle
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import apache_beam as beam
from apache_beam.io.filesystem import BeamIOError, CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from pipeline.splits import stable_bucket

#: Runs spill into this folder of the output (every worker of a distributed runner reaches it); the
#: pipeline removes it at its end (:class:`RemoveRuns`).
RUNS_FOLDER = "_sort_runs"


def create(path: str):
    """A new file on any Beam filesystem, written as given (no compression guessed from its name)."""
    return FileSystems.create(path, compression_type=CompressionTypes.UNCOMPRESSED)


@dataclass(frozen=True)
class RunSpill:
    """Where writers spill sorted runs (``directory``, under the output) and after how many bytes of
    records (``buffer_bytes``, per writing step)."""

    directory: str
    buffer_bytes: int
    #: Key buckets of a :class:`DiskCoGroupByKey`: the groups its merges run in parallel as.
    buckets: int = 64

    @classmethod
    def under(cls, output: str, buffer_mb: int) -> RunSpill:
        return cls(FileSystems.join(output, RUNS_FOLDER), buffer_mb << 20)

    def write(self, records: list[tuple]) -> str:
        """``(sort key, payload)`` records → a new run file of them in order, pickled in blocks of
        :data:`RUN_BLOCK`; returns its path."""
        path = FileSystems.join(self.directory, f"{uuid.uuid4().hex}.run")
        records.sort()
        with create(path) as f:
            for start in range(0, len(records), RUN_BLOCK):
                pickle.dump(records[start:start + RUN_BLOCK], f, pickle.HIGHEST_PROTOCOL)
        return path


#: Records pickled together in a run file: one call a record cost more than the pickling; a merge
#: holds a block of each run it reads.
RUN_BLOCK = 256


def read_run(path: str) -> Iterator[tuple]:
    """The records of one run file, in order."""
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
        while True:
            try:
                block = pickle.load(f)
            except EOFError:
                return
            yield from block


def merged_runs(paths: Iterable[str]) -> Iterator[tuple]:
    """The records of sorted runs in one order (``(sort key, payload)``), read a record at a time."""
    return heapq.merge(*(read_run(path) for path in sorted(paths)))


def remove(paths: list[str]) -> None:
    if paths:
        FileSystems.delete(paths)


#: What holding a record costs beyond its payload (its tuples, key and list slot), roughly.
_RECORD_OVERHEAD = 200


class _SpillSortedRunsFn(beam.DoFn):
    """``(group, (sort key, payload bytes))`` (or what ``keyed`` makes of an element) → ``(group, run
    path)``: records are held by group until ``buffer_bytes`` and then written, sorted, a run file per
    group; the rest at the bundle's end."""

    def __init__(self, spill: RunSpill, keyed: Callable | None = None) -> None:
        self.spill = spill
        self.keyed = keyed or (lambda element: element)

    def start_bundle(self):
        self._groups: dict = collections.defaultdict(list)
        self._held = 0

    def process(self, element):
        group, record = self.keyed(element)
        self._groups[group].append(record)
        self._held += len(record[1]) + _RECORD_OVERHEAD
        if self._held >= self.spill.buffer_bytes:
            yield from self._spill()

    def finish_bundle(self):
        for element in self._spill():
            yield WindowedValue(element, MIN_TIMESTAMP, [GlobalWindow()])

    def _spill(self) -> list[tuple]:
        runs = [(group, self.spill.write(records)) for group, records in self._groups.items()]
        self._groups.clear()
        self._held = 0
        return runs


@beam.ptransform_fn
def SortedRuns(elements, spill: RunSpill, keyed: Callable | None = None):
    """``(group, (sort key, payload bytes))``, or what ``keyed`` makes of an element, → ``(group, [run
    paths])``: what a group's writer merges."""
    return (elements
            | "SpillSortedRuns" >> beam.ParDo(_SpillSortedRunsFn(spill, keyed))
            | "GroupRuns" >> beam.GroupByKey())


class RemoveRuns(beam.PTransform):
    """Removes the runs folder once every writer is done (``done``: all their counts, a side input)."""

    def __init__(self, spill: RunSpill) -> None:
        super().__init__()
        self.spill = spill

    def expand(self, done):
        return (done.pipeline
                | "RunsFolder" >> beam.Create([self.spill.directory], reshuffle=False)
                | "RemoveRunsFolder" >> beam.Map(_remove_folder, beam.pvalue.AsList(done)))


def _remove_folder(directory: str, _done: list) -> str:
    with contextlib.suppress(BeamIOError):  # nothing left to match
        remove([m.path for m in FileSystems.match([FileSystems.join(directory, "*")])[0].metadata_list])
    if FileSystems.exists(directory):
        remove([directory])
    return directory


def _tagged(element: tuple, tag: int, buckets: int) -> tuple[int, tuple[tuple, bytes]]:
    """A join's input ``(key, value)`` → its key bucket and record ``((key, tag), pickled value)``."""
    key, value = element
    return stable_bucket(key, buckets), ((key, tag), pickle.dumps(value, pickle.HIGHEST_PROTOCOL))


def joined_groups(runs: Iterable[str], tags: list[str]) -> Iterator[tuple[str, dict[str, list]]]:
    """The merged runs of one bucket → ``(key, {tag: [values]})`` per key, keys in order, each tag's
    values in a stable order; one key's values are held at a time."""
    key, groups = None, None
    for (record_key, tag), packed in merged_runs(runs):
        if groups is None or record_key != key:
            if groups is not None:
                yield key, groups
            key, groups = record_key, {t: [] for t in tags}
        groups[tags[tag]].append(pickle.loads(packed))
    if groups is not None:
        yield key, groups


def _join_bucket(element: tuple[int, list[str]], tags: list[str]) -> Iterator[tuple[str, dict[str, list]]]:
    _, runs = element
    yield from joined_groups(runs, tags)
    remove(list(runs))


def _lowest(element: tuple[int, list], limit: int) -> list[tuple]:
    runs = [path for path in element[1] if path]
    kept = list(itertools.islice(merged_runs(runs), limit))
    remove(runs)
    return kept


class LowestRecords(beam.PTransform):
    """``(sort key, payload bytes)`` → a single element: the ``limit`` lowest records in order (``[]``
    for none). They wait in sorted runs, so only the records kept are ever held at once."""

    def __init__(self, spill: RunSpill, limit: int) -> None:
        super().__init__()
        self.spill = spill
        self.limit = limit

    def expand(self, records):
        runs = (records
                | "OneGroup" >> beam.Map(lambda record: (0, record))
                | "SpillSortedRuns" >> beam.ParDo(_SpillSortedRunsFn(self.spill)))
        no_run = records.pipeline | "NoRun" >> beam.Create([(0, "")])  # one group even without records
        return ((runs, no_run)
                | "FlattenRuns" >> beam.Flatten()
                | "GroupRuns" >> beam.GroupByKey()
                | "Lowest" >> beam.Map(_lowest, self.limit))


class DiskCoGroupByKey(beam.PTransform):
    """``{tag: (key, value)}`` → ``(key, {tag: [values]})`` as ``beam.CoGroupByKey`` gives, string keys,
    the values waiting in sorted runs (pickled) instead of in the runner: each input (a tag's input may
    be a tuple of PCollections) spills its own runs, so it fuses with the step that made it; only run
    paths are grouped, by key bucket, and each bucket's runs are merged into groups."""

    def __init__(self, spill: RunSpill) -> None:
        super().__init__()
        self.spill = spill

    def expand(self, tagged: dict):
        tags = list(tagged)
        runs = [
            source | f"Spill{tag.title()}{k or ''}" >> beam.ParDo(_SpillSortedRunsFn(
                self.spill, functools.partial(_tagged, tag=index, buckets=self.spill.buckets)))
            for index, tag in enumerate(tags)
            for k, source in enumerate(tagged[tag] if isinstance(tagged[tag], tuple) else (tagged[tag],))
        ]
        return (runs
                | "FlattenRuns" >> beam.Flatten()
                | "GroupRuns" >> beam.GroupByKey()
                | "MergeRuns" >> beam.FlatMap(_join_bucket, tags))
