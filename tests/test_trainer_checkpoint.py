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


def test_init_from_a_hugging_face_bart_directory(tmp_path: Path) -> None:
    """``--init HF_DIR``: converted to fairseq weights, then our five rows appended, old rows kept."""
    from transformers import BartConfig, BartForConditionalGeneration

    from kilm import sequence as seq
    from kilm.dictionary import build_dictionary_symbols, write_dict
    from trainer.init import prepare_init

    base = [f"w{i}" for i in range(40)]
    symbols = build_dictionary_symbols(base)  # base + <mask> + our five
    write_dict(tmp_path / "dict.txt", symbols)
    old_rows = len(seq.FAIRSEQ_SPECIALS) + len(symbols) - len(seq.SPECIAL_TOKENS)
    config = BartConfig(vocab_size=old_rows, d_model=16, encoder_layers=1, decoder_layers=1,
                        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32,
                        decoder_ffn_dim=32, max_position_embeddings=64)
    model = BartForConditionalGeneration(config)
    model.save_pretrained(tmp_path / "hf")
    before = model.get_input_embeddings().weight.detach().clone()
    assert prepare_init(tmp_path / "hf", tmp_path / "dict.txt", tmp_path / "init.pt") == (old_rows, old_rows + 5)
    rows = load_checkpoint(tmp_path / "init.pt")["model"]["encoder.embed_tokens.weight"]
    assert rows.shape[0] == old_rows + 5
    assert torch.equal(rows[:old_rows], before)


def test_a_hugging_face_mbart_is_refused_not_loaded_as_bart(tmp_path: Path) -> None:
    """transformers would load an mBART directory as BART (dropping its final layer norms) with a
    warning; the conversion refuses it, naming the model type."""
    from transformers import MBartConfig, MBartForConditionalGeneration

    from kilm.hf_convert import ConversionError, hf_to_fairseq

    config = MBartConfig(vocab_size=64, d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
                         decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, max_position_embeddings=64)
    MBartForConditionalGeneration(config).save_pretrained(tmp_path / "mbart")
    with pytest.raises(ConversionError, match=r"a Hugging Face mbart model; only BART converts"):
        hf_to_fairseq(tmp_path / "mbart")
