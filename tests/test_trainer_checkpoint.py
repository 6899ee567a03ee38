"""Safe checkpoint loading: fairseq's Namespace is allowed, anything else is named, never executed."""

from __future__ import annotations

import argparse
import pickle
from fractions import Fraction
from pathlib import Path

import pytest
import torch

from kilm.checkpoint import VocabRowsError, load_checkpoint, resize_vocab_rows


def test_namespace_loads_and_unknown_classes_are_named(tmp_path: Path) -> None:
    good = tmp_path / "good.pt"
    torch.save({"args": argparse.Namespace(arch="bart_base"), "model": {"w": torch.ones(2)}}, good)
    assert load_checkpoint(good)["args"].arch == "bart_base"
    bad = tmp_path / "bad.pt"
    torch.save({"x": Fraction(1, 3)}, bad)
    with pytest.raises(pickle.UnpicklingError, match=r"bad.pt: holds classes .*fractions.Fraction"):
        load_checkpoint(bad)
    with pytest.raises(FileNotFoundError, match=r"missing\.pt"):
        load_checkpoint(tmp_path / "missing.pt")


def test_resize_appends_rows_and_keeps_ties() -> None:
    weight = torch.randn(10, 4)
    model = {"encoder.embed_tokens.weight": weight.clone(), "decoder.embed_tokens.weight": weight.clone(),
             "decoder.output_projection.weight": weight.clone()}
    assert resize_vocab_rows(model, 15, 10) == 10
    rows = model["encoder.embed_tokens.weight"]
    assert rows.shape == (15, 4) and torch.equal(rows[:10], weight)
    assert all(torch.equal(rows, tensor) for tensor in model.values())
    assert resize_vocab_rows(model, 15, 10) == 15  # already resized: unchanged
    with pytest.raises(VocabRowsError, match=r"model_rows=15"):
        resize_vocab_rows(model, 21, 16)
