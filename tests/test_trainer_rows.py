"""``trainer.rows``: one row per paragraph per pass, and the shuffled-knowledge donors (numpy only)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from trainer.rows import draw_donors, draw_rows, read_rows


def paragraphs_of(counts: list[int]) -> np.ndarray:
    """Row → paragraph codes for paragraphs with these numbers of candidate rows, interleaved."""
    codes = np.repeat(np.arange(len(counts)), counts)
    return codes[np.random.default_rng(0).permutation(len(codes))]


def test_one_row_per_paragraph_and_turns_over_passes() -> None:
    counts = [1, 2, 3, 3, 5, 1, 4]
    paragraphs = paragraphs_of(counts)
    seen: dict[int, set[int]] = {g: set() for g in range(len(counts))}
    for pass_index in range(5):
        chosen = draw_rows(paragraphs, seed=3, pass_index=pass_index)
        assert sorted(paragraphs[chosen].tolist()) == list(range(len(counts)))  # one each
        assert np.array_equal(chosen, draw_rows(paragraphs, seed=3, pass_index=pass_index))
        for row in chosen.tolist():
            seen[int(paragraphs[row])].add(row)
        for g, n in enumerate(counts):
            if pass_index + 1 == n:  # after n passes, a paragraph with n candidates has had each once
                assert len(seen[g]) == n
    draws = {tuple(draw_rows(paragraphs, seed=s, pass_index=0).tolist()) for s in range(8)}
    assert len(draws) > 1  # the seed matters


def test_turns_are_fair_over_many_passes() -> None:
    paragraphs = paragraphs_of([3] * 50)
    picks = np.concatenate([draw_rows(paragraphs, seed=1, pass_index=p) for p in range(30)])
    assert np.all(np.bincount(picks, minlength=len(paragraphs)) == 10)


def test_donors_are_other_entities_and_deterministic() -> None:
    entity = np.array([0, 0, 1, -1, 2, 2, 2, 3, -1, 1])
    donors = draw_donors(entity, seed=5)
    assert np.array_equal(donors, draw_donors(entity, seed=5))
    assert np.all(donors[entity < 0] == -1)
    knowledge = entity >= 0
    assert np.all(entity[donors[knowledge]] >= 0)
    assert np.all(entity[donors[knowledge]] != entity[knowledge])
    with pytest.raises(ValueError, match="at least two entities"):
        draw_donors(np.array([4, 4, -1]), seed=0)


def test_read_rows_codes_paragraphs_and_entities(tmp_path: Path) -> None:
    path = tmp_path / "train.rows.jsonl.gz"
    records = [{"row": 0, "example": "b", "entity": "X", "span": [3, 9]},
               {"row": 1, "example": "a", "entity": None, "span": None},
               {"row": 2, "example": "b", "entity": "Y", "span": [1, 4]}]
    with gzip.open(path, "wt") as f:
        f.writelines(json.dumps(r) + "\n" for r in records)
    rows = read_rows(path)
    assert rows.paragraph.tolist() == [1, 0, 1]
    assert rows.entity.tolist() == [0, -1, 1]
    assert rows.span_length.tolist() == [6, 0, 3]
    with gzip.open(path, "wt") as f:
        f.write(json.dumps({"row": 5, "example": "a", "entity": None, "span": None}) + "\n")
    with pytest.raises(ValueError, match=r"train\.rows\.jsonl\.gz: not a rows file"):
        read_rows(path)
    with pytest.raises(FileNotFoundError, match=r"nope\.rows\.jsonl\.gz: missing"):
        read_rows(tmp_path / "nope.rows.jsonl.gz")


def test_a_pass_spans_one_epoch_per_shard() -> None:
    """With K shards fairseq reads one a epoch: epochs 1..K are pass 0, K+1..2K pass 1."""
    from trainer.noising import ParagraphDrawDataset

    class Sized:  # the little a wrapper needs of the dataset below it
        sizes = np.ones((6, 2), dtype=np.int64)

        def __len__(self) -> int:
            return 6

    drawn = ParagraphDrawDataset(Sized(), paragraphs_of([2, 4]), seed=1, shards_per_pass=2)
    passes = []
    for epoch in (1, 2, 3, 4, 5):
        drawn.set_epoch(epoch)
        passes.append(drawn.pass_index)
        assert len(drawn.ordered_indices()) == 2
    assert passes == [0, 0, 1, 1, 2]
    assert not drawn.can_reuse_epoch_itr_across_epochs
