"""Outcomes and statistics travel as data: every page ends in exactly one outcome (``article``,
``redirect``, ``disambiguation``, ``skipped_namespace``, ``dead_letter_<reason>``, ...), and link and
redirect statistics likewise, so the manifest's counts come from the data itself; each is also a Beam
counter for the runner's UI. DoFns tally them per bundle and emit ``(section, key, n)`` on their
``STATS`` output; unusable pages and links go to ``DEAD_LETTER``.
"""

from __future__ import annotations

import collections
import logging
import time

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import GlobalWindows

STATS = "stats"
DEAD_LETTER = "dead_letter"
#: Seconds between two progress lines of a worker.
PROGRESS_INTERVAL = 30.0


class Progress:
    """Pages this process has finished so far, by outcome, logged every ``interval`` seconds: a long
    local run shows that it moves (each worker process of ``multi_processing`` speaks for itself)."""

    def __init__(self, interval: float = PROGRESS_INTERVAL) -> None:
        self.interval = interval
        self.counts: collections.Counter = collections.Counter()
        self.started = self.last = time.monotonic()

    def add(self, outcome: str, n: int = 1) -> None:
        self.counts[outcome] += n
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            logging.getLogger("pipeline.progress").info(self.line(now))

    def line(self, now: float) -> str:
        outcomes = ", ".join(f"{n:,} {outcome}" for outcome, n in self.counts.most_common())
        return (f"{sum(self.counts.values()):,} pages done in {now - self.started:.0f} s by this worker "
                f"({outcomes})")


PROGRESS = Progress()


class CountingDoFn(beam.DoFn):
    """A DoFn that tallies outcomes and statistics (:meth:`stat`) over a bundle and emits the tally
    once, in ``finish_bundle``, as ``(section, key, n)`` on its ``STATS`` output (and Beam counters):
    a record per event would cost more to move between stages than the work it counts."""

    def start_bundle(self) -> None:
        self._stats: collections.Counter = collections.Counter()

    def stat(self, section: str, key: str, n: int = 1) -> None:
        self._stats[section, key] += n
        if section == "outcomes":
            PROGRESS.add(key, n)

    def finish_bundle(self):
        for (section, key), n in sorted(self._stats.items()):
            Metrics.counter(f"kilm.{section}", key).inc(n)
            yield pvalue.TaggedOutput(STATS, GlobalWindows.windowed_value((section, key, n)))
        self._stats.clear()
