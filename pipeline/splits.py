"""Splits and stable hashing: which entities are unseen, which split a page is in, which shard a
record goes to. A stable hash (blake2b), never Python's ``hash``, so every worker and every run agrees.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from kilm.records import SPLITS

__all__ = ["SPLITS", "SplitConfig", "stable_bucket", "stable_unit"]


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

    def shows_knowledge(self, page_split: str, entity: str) -> bool:
        """Whether a row of a page in ``page_split`` may carry ``entity``'s knowledge span: not in
        train for an unseen entity (its mentions stay plain text there)."""
        return page_split != "train" or self.entity_split(entity) == "seen"
