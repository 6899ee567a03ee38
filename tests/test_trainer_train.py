"""Training end to end on CPU: continuing a bart.base-format checkpoint, learning the knowledge span,
resuming after a kill. Runs go through ``python -m trainer.launch`` as a user would start them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from fairseq import options, tasks
from fairseq.dataclass.utils import convert_namespace_to_omegaconf

from kilm.checkpoint import load_checkpoint
from tests.trainer_fixtures import build_base_data, build_corpus
from trainer.launch import TRAINER_DIR

ROOT = Path(__file__).resolve().parents[1]
#: bart_tiny's shape, declared through fairseq's own bart_base family as a bart.base checkpoint is.
TINY_BART_BASE = ("--arch", "bart_base", "--encoder-embed-dim", "64", "--encoder-ffn-embed-dim", "256",
                  "--encoder-layers", "2", "--decoder-layers", "2", "--encoder-attention-heads", "4",
                  "--decoder-attention-heads", "4")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def standin(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stand-in ``bart.base/model.pt``: fairseq ``denoising`` with the original-style dictionary
    (``dict.txt`` without ``<mask>`` and the KILM tokens), bart_base family at tiny width.
    """
    base = build_base_data(corpus, tmp_path_factory.mktemp("base_data"))
    save = tmp_path_factory.mktemp("bart.base")
    subprocess.run(
        [sys.executable, "-m", "fairseq_cli.train", str(base), "--task", "denoising", *TINY_BART_BASE,
         "--mask", "0.3", "--mask-length", "span-poisson", "--rotate", "0", "--permute-sentences", "0",
         "--sample-break-mode", "complete", "--tokens-per-sample", "512", "--optimizer", "adam", "--lr", "1e-3",
         "--batch-size", "16", "--required-batch-size-multiple", "1", "--max-update", "20", "--num-workers", "0",
         "--save-dir", str(save), "--no-epoch-checkpoints", "--no-save-optimizer-state"],
        check=True, capture_output=True, cwd=ROOT,
    )
    (save / "checkpoint_last.pt").rename(save / "model.pt")
    return save


def launch(corpus: Path, save_dir: Path, *args: str, extra: tuple[str, ...] = ()) -> subprocess.Popen:
    argv = [sys.executable, "-m", "trainer.launch", "--data", str(corpus / "bin"), "--save-dir", str(save_dir),
            "--preset", "cpu-tiny", "--gpus", "0", *args, "--", "--log-interval", "1", *extra]
    return subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(process: subprocess.Popen) -> list[str]:
    output, _ = process.communicate()
    assert process.returncode == 0, output[-3000:]
    return output.splitlines()


def logged(lines: list[str], kind: str) -> list[dict]:
    """fairseq's JSON records of one kind (``train_inner``, ``valid``) from a run's output."""
    return [json.loads(line.split(f"| {kind} | ", 1)[1]) for line in lines if f"| {kind} | " in line]


def valid_span_loss(corpus: Path, checkpoint: Path) -> float:
    """Valid loss (base 2, per token) on knowledge-span target tokens of a checkpoint's model."""
    parser = options.get_training_parser()
    args = options.parse_args_and_arch(parser, [f"{corpus}/bin/shard0", "--user-dir", str(TRAINER_DIR),
                                                "--task", "kilm", "--arch", "bart_tiny",
                                                "--criterion", "kilm_cross_entropy"])
    cfg = convert_namespace_to_omegaconf(args)
    task = tasks.setup_task(cfg.task)
    model = task.build_model(cfg.model)
    model.load_state_dict(load_checkpoint(checkpoint)["model"], strict=True, model_cfg=cfg.model)
    model.eval()
    criterion = task.build_criterion(cfg.criterion)
    task.load_dataset("valid")
    iterator = task.get_batch_iterator(task.dataset("valid"), max_sentences=16).next_epoch_itr(shuffle=False)
    span = tokens = 0.0
    with torch.no_grad():
        for batch in iterator:
            _, _, log = criterion(model, batch)
            span += float(log["loss_span"])
            tokens += log["ntokens_span"]
    return span / tokens / torch.log(torch.tensor(2.0)).item()


def test_continues_a_bart_base_checkpoint_without_our_tokens(corpus: Path, standin: Path, tmp_path: Path) -> None:
    original = load_checkpoint(standin / "model.pt")["model"]["encoder.embed_tokens.weight"]
    lines = finish(launch(corpus, tmp_path, "--init", str(standin), extra=("--max-update", "5")))
    assert any(f"wrote {tmp_path}/init.pt:" in line and f"{len(original)} -> {len(original) + 5}" in line
               for line in lines)
    init = load_checkpoint(tmp_path / "init.pt")["model"]
    for key in ("encoder.embed_tokens.weight", "decoder.embed_tokens.weight", "decoder.output_projection.weight"):
        assert torch.equal(init[key][: len(original)], original)  # old rows unchanged
        new = init[key][len(original) :]
        assert new.shape == (5, original.size(1))
        assert torch.allclose(new.mean(0), original.mean(0), atol=0.05)
        assert torch.cdist(new, new).add(torch.eye(5)).min() > 0  # five distinct rows
    assert any("Loaded checkpoint" in line and "init.pt" in line for line in lines)
    last = load_checkpoint(tmp_path / "checkpoint_last.pt")
    assert last["optimizer_history"][-1]["num_updates"] == 5
    assert last["model"]["encoder.embed_tokens.weight"].size(0) == len(original) + 5
    assert [r["num_updates"] for r in logged(lines, "train_inner")] == [str(n) for n in range(1, 6)]


@pytest.mark.slow
def test_knowledge_span_loss_halves(corpus: Path, standin: Path, tmp_path: Path) -> None:
    lines = finish(launch(corpus, tmp_path, "--init", str(standin), extra=("--max-update", "200",
                                                                           "--log-interval", "50")))
    start = valid_span_loss(corpus, tmp_path / "init.pt")
    end = valid_span_loss(corpus, tmp_path / "checkpoint_last.pt")
    print(f"valid span loss: {start:.3f} -> {end:.3f} bits/token ({end / start:.1%})")
    assert end < 0.5 * start
    assert float(logged(lines, "valid")[-1]["valid_loss_span"]) == pytest.approx(end, abs=0.01)


@pytest.mark.slow
def test_killed_run_resumes_with_the_same_losses(corpus: Path, tmp_path: Path) -> None:
    extra = ("--max-update", "30", "--save-interval-updates", "10")
    reference = logged(finish(launch(corpus, tmp_path / "a", extra=extra)), "train_inner")

    interrupted = launch(corpus, tmp_path / "b", extra=extra)
    for line in interrupted.stdout:
        if "Saved checkpoint" in line:
            os.kill(interrupted.pid, signal.SIGKILL)
            break
    interrupted.communicate()
    assert interrupted.returncode == -signal.SIGKILL
    resumed_at = load_checkpoint(tmp_path / "b" / "checkpoint_last.pt")["optimizer_history"][-1]["num_updates"]
    assert 0 < resumed_at < 30

    lines = finish(launch(corpus, tmp_path / "b", extra=extra))
    assert any("resumes from" in line for line in lines)
    resumed = logged(lines, "train_inner")
    assert int(resumed[0]["num_updates"]) == resumed_at + 1
    keys = ("num_updates", "loss", "loss_span", "loss_text", "lr")
    expected = [{k: r[k] for k in keys} for r in reference if int(r["num_updates"]) > resumed_at]
    assert [{k: r[k] for k in keys} for r in resumed] == expected
