"""Reading a pipeline output directory (``OUT``) into the items each task evaluates.

Only the record formats of DESIGN.md are read: ``entities/``, ``examples/{split}-*``, ``alias/``,
``bin/plain/``; nothing is re-derived from the dump.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kilm import sequence as seq
from kilm.tokenizer import KilmTokenizer


class DataError(ValueError):
    """A missing or malformed part of the data directory; the message names the path."""


@dataclass(frozen=True)
class Entity:
    title: str
    description: str
    split: str  # "seen" | "unseen"


@dataclass(frozen=True)
class ProbeItem:
    """One mention of a test page whose entity has a description."""

    id: str
    window: seq.Window
    split: str


@dataclass(frozen=True)
class EdItem:
    """One ambiguous test mention: candidates from the train alias table, most counted first."""

    id: str
    text: str
    start: int
    end: int
    gold: str
    candidates: tuple[str, ...]


@dataclass(frozen=True)
class EdSet:
    """ED items plus what candidate recall needs: every test mention, how many have their gold among the
    alias table's candidates of their surface, and how many are ambiguous (≥ 2 candidates)."""

    items: list[EdItem]
    ambiguous: int
    mentions: int = 0
    covered: int = 0


def check_data_dir(out: Path) -> None:
    """Fail early, naming what is missing, before any model is loaded."""
    if not out.is_dir():
        raise DataError(f"--data {out}: no such directory")
    missing = [str(out / name) for name in ("tokenizer", "entities", "examples") if not (out / name).exists()]
    if missing:
        raise DataError(f"--data {out}: not a kilm pipeline output (missing {', '.join(missing)})")


def read_jsonl_gz(paths: list[Path]) -> Iterator[dict]:
    for path in paths:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as e:
                    raise DataError(f"{path}:{lineno}: {e}") from None


def _files(directory: Path, pattern: str) -> list[Path]:
    files = sorted(directory.glob(pattern))
    if not files:
        raise DataError(f"no {pattern} under {directory}")
    return files


def load_entities(out: Path) -> dict[str, Entity]:
    return {r["title"]: Entity(r["title"], r.get("description") or "", r["split"])
            for r in read_jsonl_gz(_files(out / "entities", "*.jsonl.gz"))}


def load_examples(out: Path, split: str) -> Iterator[dict]:
    return read_jsonl_gz(_files(out / "examples", f"{split}-*.jsonl.gz"))


def load_alias(out: Path) -> dict[str, list[tuple[str, int]]]:
    """Surface → [(entity, count)], most counted first (ties by title, so MFE is deterministic)."""
    table = {}
    for r in read_jsonl_gz(_files(out / "alias", "*.jsonl.gz")):
        pairs = [(e["entity"], int(e["count"])) for e in r["entities"]]
        table[r["surface"]] = sorted(pairs, key=lambda p: (-p[1], p[0]))
    return table


def probe_items(out: Path, entities: dict[str, Entity], limit: int | None = None, split: str = "test"
                ) -> list[ProbeItem]:
    """One item per test mention whose entity has a description, in file order."""
    items: list[ProbeItem] = []
    for record in load_examples(out, split):
        for k, m in enumerate(record["mentions"]):
            entity = entities.get(m["entity"])
            if entity is None or not entity.description:
                continue
            window = seq.Window(record["text"], m["start"], m["end"], entity.title, entity.description)
            items.append(ProbeItem(f"{record['id']}/{k}", window, entity.split))
            if limit is not None and len(items) >= limit:
                return items
    return items


def ed_items(out: Path, alias: dict[str, list[tuple[str, int]]], limit: int | None = None, split: str = "test"
             ) -> EdSet:
    """Test mentions whose surface has ≥ 2 candidates; only those with the gold among them are scored.
    Every mention counts towards candidate recall."""
    items: list[EdItem] = []
    ambiguous = mentions = covered = 0
    for record in load_examples(out, split):
        for k, m in enumerate(record["mentions"]):
            candidates = tuple(e for e, _ in alias.get(m["surface"], []))
            mentions += 1
            covered += m["entity"] in candidates
            if len(candidates) < 2:
                continue
            ambiguous += 1
            if m["entity"] in candidates and (limit is None or len(items) < limit):
                items.append(EdItem(f"{record['id']}/{k}", record["text"], m["start"], m["end"], m["entity"],
                                    candidates))
    return EdSet(items, ambiguous, mentions, covered)


def plain_rows(out: Path, split: str = "test", limit: int | None = None) -> list[list[int]]:
    """Held-out plain paragraphs as dictionary ids (``bin/plain/{split}``; rows end with ``</s>``)."""
    from kilm.indexed import read_indexed

    prefix = out / "bin" / "plain" / split
    if not Path(f"{prefix}.idx").is_file():
        raise DataError(f"retention needs {prefix}.idx/.bin (the pipeline's plain rows)")
    rows = [row.tolist() for row in read_indexed(prefix)]
    return rows[:limit] if limit is not None else rows


def fit_window(window: seq.Window, tokenizer: KilmTokenizer, max_positions: int, reserve: int) -> seq.Window | None:
    """The window cut around the mention (at a space where one is near, so CJK text cuts too) so that the
    source (``<s>`` added) fits and the decoder prefix leaves ``reserve`` positions for the span; ``None``
    if the mention alone does not fit."""
    left, right = window.left, window.right
    while True:
        w = seq.Window(left + window.surface + right, len(left), len(left) + len(window.surface), window.title,
                       window.description)
        enc = tokenizer.encode_window(w)
        source_excess = len(enc.source) + 1 - max_positions
        head_excess = enc.span_start + 2 + reserve - max_positions
        excess = max(source_excess, head_excess)
        if excess <= 0:
            return w
        from_left = head_excess > 0 or len(left) >= len(right)
        side = left if from_left else right
        if not side:
            return None
        chars = max(1, len(side) * excess // (2 * max(1, len(tokenizer.encode(side)))))
        left, right = (_cut_start(left, chars), right) if from_left else (left, _cut_end(right, chars))


_SNAP = 20  # how far (in characters) a cut moves to reach a space


def _cut_start(text: str, n: int) -> str:
    cut = text[n:]
    space = cut.find(" ")
    return cut[space + 1 :] if 0 <= space < _SNAP else cut


def _cut_end(text: str, n: int) -> str:
    cut = text[: max(0, len(text) - n)]
    space = cut.rfind(" ")
    return cut[:space] if space >= 0 and len(cut) - space < _SNAP else cut
