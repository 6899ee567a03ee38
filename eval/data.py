"""Reading a pipeline output directory (``OUT``) into the items each task evaluates.

Only the record formats of DESIGN.md are read: ``entities/``, ``examples/{split}-*``, ``alias/``,
``bin/plain/``; nothing is re-derived from the dump.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kilm import records
from kilm import sequence as seq
from kilm.records import RecordError
from kilm.tokenizer import KilmTokenizer

#: A missing or malformed part of the data directory; the message names the path.
DataError = RecordError


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


def load_entities(out: Path) -> dict[str, Entity]:
    return {r["title"]: Entity(r["title"], r.get("description") or "", r["split"]) for r in records.read_entities(out)}


def check_split(out: Path, section: str, split: str) -> None:
    """A split a small wiki left empty (its manifest says 0 rows) stops eval, saying what to change."""
    if records.split_rows(out, section, split) == 0:
        raise DataError(f"--data {out}: the {split} split is empty (manifest.json: {section}.{split} = 0, a wiki too "
                        f"small for its splits): rerun the pipeline with a higher --{split}-fraction")


def load_alias(out: Path) -> dict[str, list[tuple[str, int]]]:
    """Surface → [(entity, count)], most counted first (ties by title, so MFE is deterministic)."""
    table = {}
    for r in records.read_aliases(out):
        pairs = [(e["entity"], int(e["count"])) for e in r["entities"]]
        table[r["surface"]] = sorted(pairs, key=lambda p: (-p[1], p[0]))
    return table


def probe_items(out: Path, entities: dict[str, Entity], limit: int | None = None, split: str = "test"
                ) -> list[ProbeItem]:
    """One item per test mention whose entity has a description, in file order."""
    items: list[ProbeItem] = []
    check_split(out, "examples", split)
    for record in records.read_examples(out, split):
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
    check_split(out, "examples", split)
    for record in records.read_examples(out, split):
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
    check_split(out, "denoising_sequences", split)
    if not Path(f"{prefix}.idx").is_file():
        raise DataError(f"retention needs {prefix}.idx/.bin (the pipeline's plain rows)")
    rows = [row.tolist() for row in read_indexed(prefix)]
    return rows[:limit] if limit is not None else rows


def fit_window(window: seq.Window, tokenizer: KilmTokenizer, max_positions: int, reserve: int) -> seq.Window | None:
    """The window cut around the mention as the pipeline cuts training rows (:func:`kilm.sequence.fit_window`),
    so that the source and the decoder prefix with ``reserve`` generated tokens fit; ``None`` if the mention
    alone does not fit."""
    fitted = seq.fit_window(window, tokenizer.encode, tokenizer.special, max_positions, reserve=reserve)
    return None if fitted is None else fitted.window
