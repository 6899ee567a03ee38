"""``python -m trainer.launch --dry-run``: the commands for 1 GPU, 8 GPUs and 2 nodes x 8 GPUs."""

from __future__ import annotations

import argparse
import ast
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from kilm import sequence as seq
from kilm.dictionary import read_dict_symbols, write_dict
from tests.trainer_fixtures import build_corpus, pass_rows
from trainer.launch import FAIRSEQ_TRAIN, TRAINER_DIR, make_plan, parse_args

PY = sys.executable


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_corpus(tmp_path_factory.mktemp("corpus")) / "bin"


def command(data: Path, *args: str, env: dict[str, str] | None = None) -> str:
    opts, extra = parse_args(["--data", str(data), "--save-dir", "/runs/k", *args])
    return make_plan(opts, extra, env or {}).describe()


def fairseq_read(data: Path, *args: str, env: dict[str, str] | None = None) -> tuple[list[str], argparse.Namespace]:
    """The launcher part of a plan's command, and the rest as fairseq-train's own parser reads it."""
    from fairseq import options

    opts, extra = parse_args(["--data", str(data), "--save-dir", "/runs/k", *args])
    argv = make_plan(opts, extra, env or {}).argv
    at = argv.index(FAIRSEQ_TRAIN) + 1
    return argv[:at], options.parse_args_and_arch(options.get_training_parser(), argv[at:])


def train_paragraphs(data: Path) -> list[int]:
    """Rows one pass trains per shard: one per train paragraph (counted from the rows files)."""
    return [pass_rows(shard) for shard in sorted(data.glob("shard*"))]


def check_bart_base(args: argparse.Namespace, data: Path, world: int, precision: str = "bf16") -> None:
    """KILM's bart-base recipe (batch 8 x 128 per device, 10 passes of the shards' paragraphs, lr 5e-5 with
    no warmup, AdamW with weight decay 0.01), as fairseq reads the flags."""
    batches = [math.ceil(n / 8) for n in train_paragraphs(data)]
    updates = 10 * sum(math.ceil(math.ceil(b / world) / 128) for b in batches)
    assert args.data == f"{data}/shard0:{data}/shard1" and args.user_dir == str(TRAINER_DIR)
    assert (args.task, args.criterion, args.arch) == ("kilm", "kilm_cross_entropy", "bart_base")
    assert (args.mask, args.mask_random, args.replace_length, args.poisson_lambda) == (0.3, 0.0, 1, 3.0)
    assert (args.optimizer, args.weight_decay, args.lr, args.warmup_updates) == ("kilm_adamw", 0.01, [5e-05], 0)
    assert ast.literal_eval(args.adam_betas) == (0.9, 0.999) and args.lr_scheduler == "kilm_linear"
    assert (args.batch_size, args.update_freq, args.seed) == (8, [128], 1)
    assert args.max_update == int(args.total_num_update) == updates  # fairseq keeps the latter a string
    assert (args.save_dir, args.tensorboard_logdir) == ("/runs/k", "/runs/k/tensorboard")
    assert args.no_epoch_checkpoints
    assert (args.bf16, args.fp16) == (precision == "bf16", precision == "fp16")
    assert args.distributed_world_size == world
    assert args.load_checkpoint_on_all_dp_ranks == (world > 1)  # safe loading on every rank


def test_one_gpu(data: Path) -> None:
    launcher, args = fairseq_read(data, "--preset", "bart-base", "--gpus", "1")
    assert launcher == [PY, "-m", FAIRSEQ_TRAIN]
    check_bart_base(args, data, 1)


def test_eight_gpus_one_node(data: Path) -> None:
    launcher, args = fairseq_read(data, "--preset", "bart-base", "--gpus", "8")
    assert launcher == [PY, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc-per-node", "8", "--standalone",
                        "-m", FAIRSEQ_TRAIN]
    check_bart_base(args, data, 8)


def test_two_nodes_of_eight_gpus(data: Path) -> None:
    env = {"MASTER_ADDR": "node001", "MASTER_PORT": "29400", "SLURM_JOB_ID": "4242"}
    launcher, args = fairseq_read(data, "--preset", "bart-base", "--gpus", "8", "--nodes", "2", "--precision", "fp16",
                                  env=env)
    assert launcher == [PY, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc-per-node", "8", "--rdzv-backend",
                        "c10d", "--rdzv-endpoint", "node001:29400", "--rdzv-id", "4242", "-m", FAIRSEQ_TRAIN]
    check_bart_base(args, data, 16, "fp16")
    assert args.fp16_no_flatten_grads  # kilm_adamw keeps parameters apart to skip decay on 1-D ones
    slurm = {"SLURM_LAUNCH_NODE_IPADDR": "10.0.0.1"}
    launcher, _ = fairseq_read(data, "--preset", "bart-base", "--gpus", "8", "--nodes", "2", env=slurm)
    assert launcher[launcher.index("--rdzv-endpoint") :][:4] == ["--rdzv-endpoint", "10.0.0.1:29500", "--rdzv-id",
                                                                  "kilm"]


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
    assert f"-m {FAIRSEQ_TRAIN} {data}/shard0:{data}/shard1 --user-dir {TRAINER_DIR} --task kilm" in lines[1]
    assert "--plain-share 1.0 --plain-form remove" in lines[1]
    assert "--arch bart_tiny --encoder-embed-dim 64 --encoder-layers 2 --optimizer" in lines[1]  # the init's shape
    assert "--finetune-from-model /runs/k/init.pt --cpu --max-update 7" in lines[1]
    assert "--total-num-update 7 --max-update 7 " in lines[1]  # fairseq's cap ends the schedule too
    kilm = command(data, "--preset", "cpu-tiny", "--gpus", "0")
    control = command(data, "--preset", "cpu-tiny", "--gpus", "0", "--mode", "control", "--init", str(start))
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
    symbols = read_dict_symbols(dictionary)
    at = symbols.index(seq.MASK)
    write_dict(dictionary, [*symbols[:at], "[en_XX]", "[uk_UA]", *symbols[at:]])
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


def test_caps_rescale_the_schedule(data: Path) -> None:
    """Fractional passes, --max-update (ours or fairseq's after --) and --max-minutes end the learning-rate
    schedule where the run ends, not at the full plan's last update."""
    cpu = ("--preset", "cpu-tiny", "--gpus", "0")
    full = fairseq_read(data, *cpu)[1]
    per_pass = full.max_update // 10  # the preset's 10 passes
    half = fairseq_read(data, *cpu, "--passes", "0.5")[1]
    assert half.max_update == int(half.total_num_update) == math.ceil(per_pass / 2)
    for cap in (["--max-update", "7"], ["--", "--max-update", "7"]):
        capped = fairseq_read(data, *cpu, *cap)[1]
        assert capped.max_update == int(capped.total_num_update) == 7
    assert fairseq_read(data, *cpu, "--max-update", str(10 * full.max_update))[1].max_update == full.max_update
    timed = fairseq_read(data, *cpu, "--max-minutes", "30")[1]
    assert (timed.lr_scheduler, timed.stop_time_hours, timed.max_update) == ("kilm_linear", 0.5, full.max_update)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--passes", "0"], "--passes: expected a positive number, got '0'"),
        (["--max-minutes", "soon"], "--max-minutes: expected a positive number, got 'soon'"),
        (["--max-update", "5", "--", "--max-update", "7"], "--max-update 5 and -- --max-update 7: give the cap once"),
    ],
)
def test_bad_caps_are_refused(data: Path, args: list[str], message: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--data", str(data), "--save-dir", "/runs/k", "--preset", "cpu-tiny", *args])
    assert message in capsys.readouterr().err


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
