"""Which rows a pass trains, from the pipeline's ``{split}.rows.jsonl.gz`` (pure numpy, no fairseq).

The pipeline keeps up to ``--max-infills-per-paragraph`` candidate rows per paragraph (one mention
each); KILM trains ONE row per paragraph per epoch and draws a new mention each epoch.
``draw_rows`` does that: per (seed, paragraph, cycle) a pseudo-random order of the paragraph's rows,
of which pass ``p`` takes position ``p mod n``, so over ``n`` passes a paragraph's ``n`` candidates each
take a turn. ``draw_donors`` picks, for ``control_shuffled``, another entity's knowledge span for every
knowledge row.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@dataclass(frozen=True)
class RowTable:
    """Per binarized row: its paragraph and entity as integer codes (entity ``-1``: a plain row), and the
    length of its knowledge span in tokens (0 for plain rows)."""

    paragraph: np.ndarray
    entity: np.ndarray
    span_length: np.ndarray

    def __len__(self) -> int:
        return len(self.paragraph)


def read_rows(path: str | Path) -> RowTable:
    """``{split}.rows.jsonl.gz`` (one line per row, in row order: ``row``, ``example``, ``entity``, ``span``)."""
    examples: list[str] = []
    entities: list[str | None] = []
    lengths: list[int] = []
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for number, line in enumerate(f):
                record = json.loads(line)
                if record["row"] != number:
                    raise ValueError(f"line {number + 1} describes row {record['row']}")
                span = record["span"]
                examples.append(record["example"])
                entities.append(record["entity"])
                lengths.append(0 if span is None else span[1] - span[0])
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: missing (the pipeline writes it beside each split's .bin/.idx)") from None
    except (OSError, ValueError, KeyError, TypeError, IndexError) as error:
        raise ValueError(f"{path}: not a rows file of the pipeline ({error})") from None
    _, paragraph = np.unique(np.array(examples, dtype=object), return_inverse=True)
    named = [e for e in entities if e is not None]
    codes = {e: i for i, e in enumerate(sorted(set(named)))}
    entity = np.array([-1 if e is None else codes[e] for e in entities], dtype=np.int64)
    return RowTable(paragraph.astype(np.int64).reshape(-1), entity, np.array(lengths, dtype=np.int64))


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, elementwise on uint64 (wraps around, as it should)."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def _hash(*columns: np.ndarray | int) -> np.ndarray:
    """A 64-bit hash of several integer columns (broadcast), stable across runs and machines."""
    state = np.uint64(0)
    with np.errstate(over="ignore"):
        for column in columns:
            state = _mix(np.asarray(state, dtype=np.uint64) + _GOLDEN + np.asarray(column).astype(np.uint64))
    return np.asarray(state, dtype=np.uint64)


def draw_rows(paragraphs: np.ndarray, seed: int, pass_index: int) -> np.ndarray:
    """Row indices, one per paragraph, for pass ``pass_index`` (0-based), in ascending order.

    Paragraph ``g`` with ``n`` rows takes position ``pass_index mod n`` of an order of its rows that is
    fresh for every cycle of ``n`` passes (seeded by seed, paragraph, cycle).
    """
    if len(paragraphs) == 0:
        return np.zeros(0, dtype=np.int64)
    counts = np.bincount(paragraphs)
    n = counts[paragraphs]
    rows = np.arange(len(paragraphs))
    keys = _hash(seed, paragraphs, pass_index // n, rows)
    order = np.lexsort((rows, keys, paragraphs))  # by paragraph, then by key (rows break ties)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    grouped = paragraphs[order]
    position = np.arange(len(order)) - starts[grouped]
    chosen = order[position == pass_index % counts[grouped]]
    return np.sort(chosen)


def draw_donors(entity: np.ndarray, seed: int) -> np.ndarray:
    """For every knowledge row (``entity >= 0``), a knowledge row of ANOTHER entity drawn uniformly from
    the others (so spans keep their frequencies and lengths); ``-1`` for plain rows. Deterministic in
    ``seed``; a split whose knowledge rows name fewer than two entities cannot be shuffled."""
    knowledge = np.flatnonzero(entity >= 0)
    donors = np.full(len(entity), -1, dtype=np.int64)
    if len(knowledge) == 0:
        return donors
    if len(np.unique(entity[knowledge])) < 2:
        raise ValueError("--shuffle-knowledge needs knowledge rows of at least two entities")
    rng = np.random.default_rng([seed, 0x5EED])
    pending = knowledge
    while len(pending):
        picked = knowledge[rng.integers(len(knowledge), size=len(pending))]
        ok = entity[picked] != entity[pending]
        donors[pending[ok]] = picked[ok]
        pending = pending[~ok]
    return donors
