"""An mBART-format stand-in continued with KILM on a real Ukrainian dump, then evaluated.

The stand-in has the files and formats of fairseq's mBART releases (``sentence.bpe.model``, ``dict.txt``
without language tokens and ``<mask>``, ``model.pt`` of the ``mbart_large`` family with pre-norm
layers) at tiny width, pretrained here with fairseq's ``multilingual_denoising``.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from eval.run import main as eval_main
from kilm import sequence as seq
from kilm.checkpoint import load_checkpoint, model_args
from kilm.dictionary import read_dict_symbols
from pipeline.run import main as pipeline_main
from tests.dumps import Page, read_jsonl_dir, shared_dump, write_dump
from tests.trainer_fixtures import build_mbart_standin, world_texts

ROOT = Path(__file__).resolve().parents[1]
LANGUAGES = ("[en_XX]", "[uk_UA]")
#: A fictional Ukrainian wiki where every name is shared by a ship and a town: ED has work to do.
NAMES = ("Вега", "Оріон", "Аврора", "Персей", "Атлас", "Меркурій", "Сокіл", "Чайка")
KINDS = (("корабель", "вітрильний корабель, збудований на верфі в Херсоні"),
         ("місто", "невелике місто на півночі країни, відоме своїм ярмарком"))
SENTENCES = ("Мандрівники з {a} часто зупинялися біля {b} перед довгою дорогою.",
             "У старих листах {a} згадується поруч із {b}.",
             "Торговці везли зерно до {a}, а сіль забирали з {b}.")


def ukrainian_world(path: Path, stories: int = 240, seed: int = 0) -> Path:
    """Entity articles (a lead sentence each) and story pages whose links pick one sense of a name."""
    rng = random.Random(seed)
    entities = [Page(f"{name} ({kind})", f"'''{name}''' — {text}.\n\n== Історія ==\nПро {name} писали часто.")
                for name in NAMES for kind, text in KINDS]
    stories_pages = []
    for n in range(stories):
        paragraphs = []
        for _ in range(2):
            a, b = rng.sample(entities, 2)
            links = [f"[[{p.title}|{p.title.split(' (')[0]}]]" for p in (a, b)]
            paragraphs.append(rng.choice(SENTENCES).format(a=links[0], b=links[1]))
        stories_pages.append(Page(f"Оповідь {n + 1}", "\n\n".join(paragraphs)))
    return write_dump(path, entities + stories_pages, dbname="ukwiki")


def spm_options(standin: Path) -> list[str]:
    return ["--spm-model", str(standin / "sentence.bpe.model"), "--dict", str(standin / "dict.txt"),
            "--language-tokens", ",".join(LANGUAGES)]


@pytest.mark.slow
@pytest.mark.shared_data
def test_mbart_standin_continued_with_kilm_on_ukwiki(tmp_path: Path) -> None:
    dump = shared_dump("ukwiki-pages-articles-sample.xml.bz2")
    # The stand-in's pretraining text: the sample's own paragraphs, and English ones for [en_XX].
    first = tmp_path / "first"
    assert pipeline_main(["--input", str(dump), "--output", str(first), "--train-tokenizer", "--text-scope",
                          "article"]) == 0
    ukrainian = sorted(e["text"] for e in read_jsonl_dir(first / "examples"))
    english = world_texts()
    standin = build_mbart_standin({"en_XX": english, "uk_UA": ukrainian}, tmp_path / "mbart.cc25",
                                  vocab_size=2000)
    original = load_checkpoint(standin / "model.pt")["model"]["encoder.embed_tokens.weight"]
    pieces = read_dict_symbols(standin / "dict.txt")
    assert len(original) == len(seq.FAIRSEQ_SPECIALS) + len(pieces) + len(LANGUAGES) + 1  # + <mask>

    out = tmp_path / "out"
    assert pipeline_main(["--input", str(dump), "--output", str(out), *spm_options(standin), "--text-scope",
                          "article"]) == 0  # enough test mentions for 24 probes
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["tokenizer"]["language_token"] == "[uk_UA]"  # chosen from the wiki's language
    assert read_dict_symbols(out / "bin" / "shard0" / "dict.txt") == [
        *pieces, *LANGUAGES, seq.MASK, *seq.SPECIAL_TOKENS]

    run = tmp_path / "kilm"
    launched = subprocess.run(
        [sys.executable, "-m", "trainer.launch", "--data", str(out / "bin"), "--save-dir", str(run), "--preset",
         "cpu-tiny", "--gpus", "0", "--init", str(standin), "--", "--max-update", "5", "--log-interval", "1"],
        cwd=ROOT, capture_output=True, text=True, check=False)
    assert launched.returncode == 0, launched.stdout[-3000:] + launched.stderr[-3000:]
    assert f"{len(original)} -> {len(original) + 5} embedding rows" in launched.stdout
    command = (run / "train.log").read_text(encoding="utf-8").splitlines()[0]  # the console keeps it there
    assert "--lang-token '[uk_UA]' --arch mbart_large" in command
    init = load_checkpoint(run / "init.pt")["model"]
    for key in ("encoder.embed_tokens.weight", "decoder.embed_tokens.weight", "decoder.output_projection.weight"):
        assert torch.equal(init[key][: len(original)], original)  # old rows unchanged at load
        assert init[key].shape == (len(original) + 5, original.size(1))
    last = load_checkpoint(run / "checkpoint_last.pt")
    assert last["cfg"]["task"]["lang_token"] == "[uk_UA]"
    assert model_args(last).encoder_normalize_before and "encoder.layer_norm.weight" in last["model"]
    assert last["optimizer_history"][-1]["num_updates"] == 5

    # Eval unchanged on the Ukrainian output: probe and retention on the real sample ...
    models = {"mbart": standin / "model.pt", "kilm": run / "checkpoint_last.pt"}
    model_args_ = [a for name, path in models.items() for a in ("--model", f"{name}={path}")]
    report = tmp_path / "report"
    assert eval_main(["--data", str(out), *model_args_, "--out", str(report), "--tasks", "probe,retention",
                      "--limit", "24", "--no-progress"]) == 0
    results = json.loads((report / "report.json").read_text())["models"]
    for name in models:
        probes = [json.loads(line) for line in (report / f"{name}.probe.jsonl").open(encoding="utf-8")]
        assert len(probes) == results[name]["probe_n"] == 24
        assert results[name]["retention_loss"] > 0
    # ... and ED on a Ukrainian output with ambiguous names (the sample's test pages have none).
    world = tmp_path / "world"
    assert pipeline_main(["--input", str(ukrainian_world(tmp_path / "ukwiki-world.xml.bz2")), "--output",
                          str(world), *spm_options(standin)]) == 0
    assert eval_main(["--data", str(world), *model_args_, "--out", str(report / "ed"), "--tasks", "ed",
                      "--no-progress"]) == 0
    results = json.loads((report / "ed" / "report.json").read_text())["models"]
    for name in models:
        records = [json.loads(line) for line in (report / "ed" / f"{name}.ed.jsonl").open(encoding="utf-8")]
        assert len(records) == results[name]["ed_n"] >= 10
        assert all(r["gold"].split(" (")[0] in NAMES and r["by_mean"].startswith(r["gold"].split(" (")[0])
                   for r in records)
