"""End-to-end eval on the tiny world: report files, fairseq vs Hugging Face export, batched ED scores.

To run on the real pipeline/trainer outputs instead, point ``world`` at an OUT directory and
``checkpoint`` at a fairseq checkpoint (one line each).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from eval import run
from eval.data import ed_items, fit_window, load_alias, load_entities, probe_items
from eval.describe import describe, load
from eval.ed import prepare, score_batched, score_one_at_a_time
from eval.export_hf import export
from eval.models import load_model
from kilm import sequence as seq
from kilm.hf_convert import BartDims, ConversionError, fairseq_to_hf_state_dict, hf_to_fairseq
from tests.eval_fixtures import World, build_tiny_bart, make_world, train_tiny_bart

AGREEMENT_KEYS = ("probe_title_em_seen", "probe_title_em_unseen", "probe_desc_f1", "probe_desc_rougeL",
                  "probe_desc_novel_f1", "ed_accuracy", "ed_accuracy_sum")


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    return make_world(tmp_path_factory.mktemp("eval") / "out")


@pytest.fixture(scope="module")
def checkpoint(world, tmp_path_factory) -> Path:
    return train_tiny_bart(world, tmp_path_factory.mktemp("ckpt") / "tiny.pt")


@pytest.fixture(scope="module")
def hf_dir(world, checkpoint, tmp_path_factory) -> Path:
    return export(checkpoint, world.out, tmp_path_factory.mktemp("hf") / "kilm-hf")


@pytest.fixture(scope="module")
def report(world, checkpoint, hf_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report")
    code = run.main(["--data", str(world.out), "--model", f"fairseq={checkpoint}", "--model", f"hf={hf_dir}",
                     "--out", str(out), "--ed-constrained", "--no-progress", "--batch-size", "8",
                     "--compare", "fairseq-hf"])
    assert code == 0
    return out


def test_report_files(report):
    summary = json.loads((report / "report.json").read_text())
    models = summary["models"]
    assert set(models) == {"fairseq", "hf"}
    assert {"ed_mfe", "ed_context_overlap", "probe_title_em_copy_seen"} <= set(summary["baselines"])
    assert set(summary["differences"]) == {"fairseq-hf"}
    for values in models.values():
        for key in (*AGREEMENT_KEYS, "retention_loss", "ed_constrained_accuracy"):
            assert isinstance(values[key], float), key
            assert key in values["ci"] and len(values["ci"][key]) == 2
        assert 0 < values["ed_candidate_recall"] <= 100  # a property of the data: no interval
        assert values["probe_n_seen"] > 0 and values["probe_n_unseen"] > 0 and values["ed_n"] > 0
        assert "<ent_desc> <mask> </ent_desc>" in values["prompt"]
    assert models["fairseq"]["prompt"].endswith("trained (kilm task)")
    table = (report / "report.md").read_text()
    assert "| metric | fairseq | hf |" in table and "`ed_accuracy` |" in table
    for png in ("probe_seen_unseen.png", "ed_accuracy.png", "retention_loss.png", "probe_desc_novel_f1_seen.png"):
        assert (report / png).stat().st_size > 1000
    assert (report / "fairseq.probe.jsonl").read_text().count("\n") == models["fairseq"]["probe_n"]


def test_fairseq_and_hf_export_agree(report):
    models = json.loads((report / "report.json").read_text())["models"]
    differences = json.loads((report / "report.json").read_text())["differences"]["fairseq-hf"]
    for key in AGREEMENT_KEYS:
        assert abs(models["fairseq"][key] - models["hf"][key]) <= 0.5, key
        assert abs(differences[key]["value"]) <= 0.5, key
        assert differences[key]["ci"][0] <= differences[key]["value"] <= differences[key]["ci"][1], key
    assert models["fairseq"]["retention_loss"] == pytest.approx(models["hf"]["retention_loss"], abs=1e-3)


def test_tiny_model_learned_the_seen_descriptions(report):
    """A sanity check that the pipeline measures something: trained knowledge beats unseen knowledge."""
    values = json.loads((report / "report.json").read_text())["models"]["fairseq"]
    assert values["probe_desc_f1_seen"] > values["probe_desc_f1_unseen"]


def test_batched_ed_scores_equal_one_at_a_time(world, checkpoint):
    model = load_model(checkpoint, world.tokenizer)
    edset = ed_items(world.out, load_alias(world.out), limit=12)
    inputs = prepare(model, edset.items, load_entities(world.out))
    batched = score_batched(model, inputs)
    single = score_one_at_a_time(model, inputs)
    assert [len(s) for s in batched] == [len(x.item.candidates) for x in inputs]
    for row_b, row_s in zip(batched, single):
        for b, s in zip(row_b, row_s):
            assert b.tokens == s.tokens
            assert b.mean == pytest.approx(s.mean, abs=1e-4)
            assert b.logprob == pytest.approx(s.logprob, abs=1e-4 * s.tokens)


def test_hf_tokenizer_ids_are_dictionary_indices(world, hf_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(hf_dir))
    for item in probe_items(world.out, load_entities(world.out), limit=10):
        if item.window.start == 0:
            continue  # the text form cannot say whether a mention at the very start had a space
        enc = world.tokenizer.encode_window(item.window)
        assert tok(seq.infilled_text(item.window, masked=True)).input_ids == [seq.BOS, *enc.source]
        assert tok(seq.infilled_text(item.window)).input_ids == [seq.BOS, *enc.target]


def test_readme_snippet_generates_with_transformers(world, hf_dir):
    from transformers import AutoTokenizer, BartForConditionalGeneration

    tok = AutoTokenizer.from_pretrained(str(hf_dir))
    model = BartForConditionalGeneration.from_pretrained(str(hf_dir))
    # a mention of a train page, so that the tiny model knows the entity either way it is asked
    window = next(i.window for i in probe_items(world.out, load_entities(world.out), split="train") if i.window.start)
    text = seq.infilled_text(window, masked=True)
    prefix = tok(text.split("<mask>")[0].rstrip(), add_special_tokens=False).input_ids
    out = model.generate(**tok(text, return_tensors="pt"), decoder_input_ids=torch.tensor([[2, 0, *prefix]]))
    # the snippet honours the forced prefix and writes a knowledge span after it (what the tiny model
    # knows is the probe's business; both backends agreeing is test_describe_same_on_both_backends')
    forced = [2, 0, *prefix]
    assert out[0][: len(forced)].tolist() == forced and len(out[0]) > len(forced)
    assert tok.decode(out[0][len(forced) :], skip_special_tokens=True).strip()


def test_describe_same_on_both_backends(world, checkpoint, hf_dir):
    text, start, end = "A famous painting shows Corvo next to Mira.", 24, 29
    a = describe(load(checkpoint, world.out), text, start, end)
    b = describe(load(hf_dir), text, start, end)
    assert (a.title, a.description) == (b.title, b.description)
    assert a.score == pytest.approx(b.score, abs=1e-4)


def test_hf_to_fairseq_round_trip(world, checkpoint, hf_dir, tmp_path):
    converted = hf_to_fairseq(hf_dir)
    path = tmp_path / "back.pt"
    torch.save(converted, path)
    original = torch.load(checkpoint, weights_only=False)["model"]
    for key, value in converted["model"].items():
        assert torch.equal(value, original[key]), key
    a, b = load_model(checkpoint, world.tokenizer), load_model(path, world.tokenizer)
    src = [world.tokenizer.encode_plain("Visitors to Arlen also travel to Osk.")]
    assert a.target_nll(src, src) == pytest.approx(b.target_nll(src, src), abs=1e-5)


def test_conversion_refuses_what_hf_bart_lacks(world):
    model, args = build_tiny_bart(len(world.tokenizer))
    state = model.state_dict()
    assert BartDims.from_fairseq(args, state).d_model == 48
    with pytest.raises(ConversionError, match="normalize_before"):
        BartDims.from_fairseq(argparse.Namespace(**{**vars(args), "encoder_normalize_before": True}), state)
    assert "lm_head.weight" in fairseq_to_hf_state_dict(state)


def test_missing_kilm_rows_are_appended(world, tmp_path):
    """A base model without the five tokens gets them the way continued training adds them."""
    model, args = build_tiny_bart(len(world.tokenizer) - len(seq.SPECIAL_TOKENS))
    path = tmp_path / "base.pt"
    torch.save({"args": None, "cfg": {"model": args, "task": {"_name": "denoising"}}, "model": model.state_dict()},
               path)
    loaded = load_model(path, world.tokenizer)
    assert "5 rows appended" in loaded.prompt
    weight = loaded.backend.model.encoder.embed_tokens.weight
    assert torch.equal(weight[: -len(seq.SPECIAL_TOKENS)], model.encoder.embed_tokens.weight)


def test_fit_window_cuts_long_contexts(world):
    words = " ".join(f"w{i}" for i in range(400))
    text = f"{words} Arlen {words}"
    start = len(words) + 1
    window = seq.Window(text, start, start + 5, "Arlen (city)", "City")
    fitted = fit_window(window, world.tokenizer, 64, reserve=20)
    enc = world.tokenizer.encode_window(fitted)
    assert fitted.surface == "Arlen" and len(enc.source) + 1 <= 64 and enc.span_start + 22 <= 64
    cjk = "東" * 300 + "Arlen" + "京" * 300
    fitted = fit_window(seq.Window(cjk, 300, 305, "A", "B"), world.tokenizer, 64, reserve=8)
    assert fitted is not None and fitted.surface == "Arlen"
    assert fit_window(seq.Window("x " * 10 + "Arlen", 20, 25, "A", "B"), world.tokenizer, 8, reserve=8) is None


@pytest.mark.slow
def test_real_fairseq_train_checkpoint(world, tmp_path):
    """A checkpoint written by fairseq-train itself (denoising task on bin/plain) evaluates."""
    save = tmp_path / "ckpt"
    cmd = [sys.executable, "-m", "fairseq_cli.train", str(world.out / "bin" / "plain"), "--task", "denoising",
           "--arch", "bart_base", "--encoder-layers", "1", "--decoder-layers", "1", "--encoder-embed-dim", "32",
           "--encoder-ffn-embed-dim", "64", "--encoder-attention-heads", "2", "--decoder-attention-heads", "2",
           "--tokens-per-sample", "128", "--max-source-positions", "128", "--max-target-positions", "128",
           "--mask", "0.3", "--mask-length", "span-poisson", "--poisson-lambda", "3", "--replace-length", "1",
           "--optimizer", "adam", "--lr", "1e-3", "--max-update", "3", "--batch-size", "8", "--save-dir", str(save),
           "--no-epoch-checkpoints", "--cpu", "--disable-validation"]
    subprocess.run(cmd, check=True, capture_output=True)
    out = tmp_path / "report"
    assert run.main(["--data", str(world.out), "--model", f"base={save / 'checkpoint_last.pt'}", "--out", str(out),
                     "--limit", "8", "--no-progress"]) == 0
    values = json.loads((out / "report.json").read_text())["models"]["base"]
    assert values["prompt"].endswith("present, not trained on")


def test_baselines_without_models(world, tmp_path):
    """No --model: the knowledge-free baselines and item counts of the data alone."""
    assert run.main(["--data", str(world.out), "--out", str(tmp_path), "--tasks", "probe,ed", "--no-progress"]) == 0
    summary = json.loads((tmp_path / "report.json").read_text())
    assert summary["models"] == {} and summary["differences"] == {}
    baselines = summary["baselines"]
    assert baselines["probe_n_seen"] > 0 and baselines["ed_n"] > 0 and 0 < baselines["ed_candidate_recall"] <= 100
    assert 0 <= baselines["ed_mfe"] <= 100 and 0 <= baselines["probe_title_em_copy_seen"] <= 100
    assert "probe_fact_accuracy_copy_context_seen" not in baselines  # needs --truth
    text = (tmp_path / "report.md").read_text()
    assert "## Knowledge-free baselines" in text and "## Probe" not in text


def test_eval_console_is_quiet(world, checkpoint, tmp_path):
    """No library advice on stderr (fairseq's tensorboardX request, torch's attention-mask deprecation)."""
    result = subprocess.run(
        [sys.executable, "-m", "eval.run", "--data", str(world.out), "--model", f"kilm={checkpoint}",
         "--out", str(tmp_path / "r"), "--tasks", "probe,retention", "--limit", "4", "--no-progress"],
        cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "tensorboardX" not in result.stderr and "Warning" not in result.stderr, result.stderr
