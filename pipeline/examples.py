"""Per-element logic for splits, mention choice and windowing (pure functions, no Beam).

Splits use a stable hash (blake2b), never Python's ``hash``, so every worker and every run agrees.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from kilm import sequence as seq
from kilm.tokenizer import EncodedText

SPLITS = ("train", "valid", "test")


def stable_unit(key: str, salt: str) -> float:
    """A number in [0, 1) that depends only on (salt, key)."""
    digest = hashlib.blake2b(f"{salt}\x1f{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def stable_bucket(key: str, buckets: int, salt: str = "shard") -> int:
    return int(stable_unit(key, salt) * buckets)


@dataclass(frozen=True)
class SplitConfig:
    valid_fraction: float = 0.05
    test_fraction: float = 0.05
    unseen_entity_fraction: float = 0.05

    def entity_split(self, title: str) -> str:
        """``unseen`` entities never have their knowledge span in a train example."""
        return "unseen" if stable_unit(title, "entity") < self.unseen_entity_fraction else "seen"

    def page_split(self, title: str) -> str:
        """train/valid/test by page; an unseen entity's own page always goes to test."""
        if self.entity_split(title) == "unseen":
            return "test"
        u = stable_unit(title, "page")
        if u < self.test_fraction:
            return "test"
        if u < self.test_fraction + self.valid_fraction:
            return "valid"
        return "train"


def choose_mentions(example_id: str, mentions: Sequence[dict], usable: Sequence[bool], limit: int) -> list[int]:
    """Up to ``limit`` usable mentions, one per entity, in a stable pseudo-random order."""
    order = sorted((i for i, ok in enumerate(usable) if ok), key=lambda i: stable_unit(f"{example_id}#{i}", "pick"))
    chosen, entities = [], set()
    for i in order:
        if mentions[i]["entity"] in entities:
            continue
        chosen.append(i)
        entities.add(mentions[i]["entity"])
        if len(chosen) == limit:
            break
    return sorted(chosen)


def _word_window(text: str, start: int, end: int, radius: int) -> tuple[int, int]:
    """[ws, we) around text[start:end], extended by ~radius chars, cut at spaces."""
    ws = max(0, start - radius)
    if ws > 0:
        space = text.find(" ", ws, start)
        ws = start if space < 0 else space + 1
    we = min(len(text), end + radius)
    if we < len(text):
        space = text.rfind(" ", end, we)
        we = end if space < 0 else space
    return ws, we


def fit_window(
    whole: EncodedText, start: int, end: int, title: str, description: str, max_tokens: int
) -> tuple[seq.EncodedWindow, int, int] | None:
    """The widest window of the text around a mention whose target (``<s>`` included) fits
    ``max_tokens``; the knowledge span is never cut. None when the span alone does not fit
    (``span_too_long``). The whole text's window reuses its encoding."""
    text, tokenizer = whole.text, whole.tokenizer

    def encode(ws: int, we: int) -> seq.EncodedWindow:
        window = seq.Window(text[ws:we], start - ws, end - ws, title, description)
        piece = whole.piece if (ws, we) == (0, len(text)) else None
        return seq.encode_window(window, tokenizer.encode, tokenizer.special, piece=piece)

    full = encode(0, len(text))
    if len(full.target) + 1 <= max_tokens:
        return full, 0, len(text)
    lo, hi = 0, max(start, len(text) - end)
    best = None
    while lo <= hi:
        radius = (lo + hi) // 2
        ws, we = _word_window(text, start, end, radius)
        encoded = encode(ws, we)
        if len(encoded.target) + 1 <= max_tokens:
            best = (encoded, ws, we)
            lo = radius + 1
        else:
            hi = radius - 1
    return best


def plain_windows(whole: EncodedText, max_tokens: int) -> list[tuple[int, int, list[int]]]:
    """A plain paragraph cut at spaces into windows whose rows (``<s>``/``</s>`` included) fit
    ``max_tokens``: ``[(start, end, ids + </s>)]``; each decodes back to ``text[start:end]``."""
    text, tokenizer, ids = whole.text, whole.tokenizer, whole.ids
    if len(ids) + 2 <= max_tokens:
        return [(0, len(text), [*ids, seq.EOS])]
    windows, start = [], 0
    while start < len(text):
        lo, hi, best = start + 1, len(text), None
        while lo <= hi:
            mid = (lo + hi) // 2
            end = mid if mid == len(text) else (text.rfind(" ", start, mid) if " " in text[start:mid] else mid)
            end = max(end, start + 1)
            piece = tokenizer.encode(text[start:end])
            if len(piece) + 2 <= max_tokens:
                best = (end, piece)
                lo = mid + 1
            else:
                hi = mid - 1
        end, piece = best if best else (start + 1, tokenizer.encode(text[start : start + 1]))
        windows.append((start, end, [*piece, seq.EOS]))
        start = end + 1 if end < len(text) and text[end] == " " else end
    return windows
