"""``python -m trainer.launch --dry-run``: the commands for 1 GPU, 8 GPUs and 2 nodes x 8 GPUs."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from kilm import sequence as seq
from tests.trainer_fixtures import build_corpus
from trainer.launch import TRAINER_DIR, make_plan, parse_args

PY = sys.executable


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_corpus(tmp_path_factory.mktemp("corpus")) / "bin"


def command(data: Path, *args: str, env: dict[str, str] | None = None) -> str:
    opts, extra = parse_args(["--data", str(data), "--save-dir", "/runs/k", *args])
    return make_plan(opts, extra, env or {}).describe()


def fairseq_args(data: Path, world: int, precision: str = "--bf16") -> str:
    """The bart-base command after the launcher prefix (train paragraphs 200 + 200, one row each, batch 8 x 128)."""
    updates = 10 * 2  # 25 batches per shard: one update per shard and pass, whatever the world size
    return (
        f"{data}/shard0:{data}/shard1 --user-dir {TRAINER_DIR} --task kilm --criterion kilm_cross_entropy "
        "--mask 0.3 --mask-random 0.0 --replace-length 1 --poisson-lambda 3.0 --arch bart_base "
        "--optimizer kilm_adamw --adam-betas '(0.9, 0.999)' --adam-eps 1e-08 --weight-decay 0.01 --clip-norm 1.0 "
        "--lr 5e-05 --lr-scheduler polynomial_decay --end-learning-rate 0 --warmup-updates 0 "
        f"--total-num-update {updates} --max-update {updates} --batch-size 8 --update-freq 128 "
        "--required-batch-size-multiple 1 --skip-invalid-size-inputs-valid-test --num-workers 4 --seed 1 "
        "--save-dir /runs/k --save-interval-updates 500 --keep-interval-updates 10 --no-epoch-checkpoints "
        "--log-format json --log-interval 50 --tensorboard-logdir /runs/k/tensorboard "
        f"{precision} --fp16-no-flatten-grads" + (f" --distributed-world-size {world}" if world > 1 else "")
    )


def test_one_gpu(data: Path) -> None:
    assert command(data, "--preset", "bart-base", "--gpus", "1") == f"{PY} -m fairseq_cli.train {fairseq_args(data, 1)}"


def test_eight_gpus_one_node(data: Path) -> None:
    assert command(data, "--preset", "bart-base", "--gpus", "8") == (
        f"{PY} -m torch.distributed.run --nnodes 1 --nproc-per-node 8 --standalone -m fairseq_cli.train "
        + fairseq_args(data, 8)
    )


def test_two_nodes_of_eight_gpus(data: Path) -> None:
    env = {"MASTER_ADDR": "node001", "MASTER_PORT": "29400", "SLURM_JOB_ID": "4242"}
    assert command(data, "--preset", "bart-base", "--gpus", "8", "--nodes", "2", "--precision", "fp16",
                   env=env) == (
        f"{PY} -m torch.distributed.run --nnodes 2 --nproc-per-node 8 --rdzv-backend c10d "
        "--rdzv-endpoint node001:29400 --rdzv-id 4242 -m fairseq_cli.train " + fairseq_args(data, 16, "--fp16")
    )
    slurm = {"SLURM_LAUNCH_NODE_IPADDR": "10.0.0.1"}
    assert "--rdzv-endpoint 10.0.0.1:29500 --rdzv-id kilm" in command(
        data, "--preset", "bart-base", "--gpus", "8", "--nodes", "2", env=slurm)


def save_start(path: Path, **model: object) -> Path:
    """A starting checkpoint as fairseq writes one (the weights do not matter to the command)."""
    torch.save({"cfg": {"model": argparse.Namespace(**model)}, "model": {}}, path)
    return path


def test_modes_init_and_extra_args(data: Path, tmp_path: Path) -> None:
    start = save_start(tmp_path / "model.pt", arch="bart_tiny", encoder_embed_dim=64, encoder_layers=2)
    control = command(data, "--preset", "cpu-tiny", "--gpus", "0", "--mode", "control", "--init", str(start),
                      "--", "--max-update", "7")
    lines = control.splitlines()
    assert lines[0] == f"# writes /runs/k/init.pt: {start} resized to {data}/shard0/dict.txt"
    # the control sees the kilm rows and batches with every knowledge span removed
    assert f"-m fairseq_cli.train {data}/shard0:{data}/shard1 --user-dir {TRAINER_DIR} --task kilm" in lines[1]
    assert "--plain-share 1.0 --plain-form remove" in lines[1]
    assert "--arch bart_tiny --encoder-embed-dim 64 --encoder-layers 2 --optimizer" in lines[1]  # the init's shape
    assert "--finetune-from-model /runs/k/init.pt --cpu --max-update 7" in lines[1]
    kilm = command(data, "--preset", "cpu-tiny", "--gpus", "0")
    control_updates = control.split("--max-update ")[1].split()[0]
    assert f"--max-update {control_updates} " in kilm  # control makes the updates kilm makes
    base = command(data, "--preset", "cpu-tiny", "--gpus", "0", "--mode", "base")
    assert "--task denoising" in base and "--finetune-from-model" not in base
    shuffled = command(data, "--preset", "cpu-tiny", "--gpus", "0", "--mode", "control_shuffled", "--init", str(start))
    assert "--task kilm" in shuffled and "--shuffle-knowledge" in shuffled and "--plain-share" not in shuffled
    assert f"--max-update {control_updates} " in shuffled  # the same rows and updates as kilm


def test_mbart_init_brings_its_shape_and_the_manifest_its_language_token(data: Path, tmp_path: Path) -> None:
    """An mBART (pre-norm layers, scaled embeddings) is rebuilt as it was trained, whatever the preset,
    and the dump's language token the pipeline recorded reaches the kilm task."""
    start = save_start(tmp_path / "model.pt", arch="mbart_large", encoder_embed_dim=1024, encoder_layers=12,
                       encoder_normalize_before=True, decoder_normalize_before=True, no_scale_embedding=False)
    corpus = tmp_path / "out"
    shutil.copytree(data, corpus / "bin")
    dictionary = corpus / "bin" / "shard0" / "dict.txt"
    symbols = seq.read_dict_symbols(dictionary)
    at = symbols.index(seq.MASK)
    seq.write_dict(dictionary, [*symbols[:at], "[en_XX]", "[uk_UA]", *symbols[at:]])
    (corpus / "manifest.json").write_text(json.dumps({"tokenizer": {"language_token": "[uk_UA]"}}))
    plan = command(corpus / "bin", "--preset", "bart-large", "--gpus", "8", "--init", str(start))
    assert "--poisson-lambda 3.0 --lang-token '[uk_UA]' --arch mbart_large --encoder-embed-dim 1024 " in plan
    assert "--encoder-layers 12 --encoder-normalize-before --decoder-normalize-before --optimizer" in plan
    assert "--no-scale-embedding" not in plan

    (corpus / "manifest.json").unlink()  # the data copied without its manifest: the token must be named
    with pytest.raises(ValueError, match=r"has mBART language tokens \(\[en_XX\], \[uk_UA\]\) but no manifest"):
        command(corpus / "bin", "--preset", "bart-large", "--gpus", "1", "--init", str(start))
    assert "--lang-token '[uk_UA]'" in command(corpus / "bin", "--preset", "bart-large", "--gpus", "1",
                                               "--init", str(start), "--", "--lang-token", "[uk_UA]")
    (data.parent / "manifest.json").write_text(json.dumps({"tokenizer": {"language_token": "[uk_UA]"}}))
    try:  # a BART dictionary with an mBART token recorded: refused, named
        with pytest.raises(ValueError, match=r"language token \[uk_UA\] \(manifest.json\) is not one of"):
            command(data, "--preset", "bart-base", "--gpus", "1")
    finally:
        (data.parent / "manifest.json").unlink()

    plain = save_start(tmp_path / "plain.pt", arch="bart_base", layernorm_embedding=False)
    with pytest.raises(ValueError, match=r"plain.pt: layernorm_embedding=False cannot be built with --arch bart_base"):
        command(data, "--preset", "bart-base", "--gpus", "1", "--init", str(plain))
    scaled = save_start(tmp_path / "scaled.pt", arch="bart_base", no_scale_embedding=False)
    with pytest.raises(ValueError, match=r"no_scale_embedding=False cannot be built with --arch bart_base"):
        command(data, "--preset", "bart-base", "--gpus", "1", "--init", str(scaled))
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match=r"--init .*garbage.pt: cannot be read as a BART checkpoint"):
        command(data, "--preset", "bart-base", "--gpus", "1", "--init", str(garbage))


def test_a_resumed_run_keeps_its_own_model_shape(data: Path, tmp_path: Path) -> None:
    save = tmp_path / "run"
    save.mkdir()
    save_start(save / "checkpoint_last.pt", arch="mbart_large", encoder_embed_dim=64, encoder_normalize_before=True)
    opts, extra = parse_args(["--data", str(data), "--save-dir", str(save), "--preset", "bart-large", "--gpus", "1"])
    plan = make_plan(opts, extra, {}).describe()
    assert plan.startswith(f"# resumes from {save}/checkpoint_last.pt")
    assert "--arch mbart_large --encoder-embed-dim 64 --encoder-normalize-before --optimizer" in plan
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match=r"--init .*garbage.pt: cannot be read as a BART checkpoint"):
        command(data, "--preset", "bart-base", "--gpus", "1", "--init", str(garbage))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "/nonexistent/bin"], "--data /nonexistent/bin: no such directory"),
        (["--mode", "control"], "--mode control continues a checkpoint: give it with --init"),
        (["--mode", "control_shuffled"], "--mode control_shuffled continues a checkpoint: give it with --init"),
        (["--mode", "base", "--init", "/x.pt"], "--mode base trains from scratch"),
        (["--init", "/nonexistent.pt"], "--init /nonexistent.pt: no such file or directory"),
        (["--precision", "bf16"], "--precision bf16 needs a GPU"),
        (["--gpus", "8", "--nodes", "2"], "--nodes > 1 needs --master-addr"),
    ],
)
def test_bad_options_stop_with_a_message(data: Path, args: list[str], message: str) -> None:
    opts, extra = parse_args(["--data", str(data), "--save-dir", "/runs/k", "--preset", "cpu-tiny",
                              "--gpus", "0", *args])
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        make_plan(opts, extra, {})


def test_cli_error_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [PY, "-m", "trainer.launch", "--data", str(tmp_path / "missing"), "--save-dir", str(tmp_path / "run"),
         "--preset", "cpu-tiny", "--gpus", "0"],
        capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1], check=False,
    )
    assert result.returncode == 2
    assert f"error: --data {tmp_path / 'missing'}: no such directory" in result.stderr
    assert "Traceback" not in result.stderr
