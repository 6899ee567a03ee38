"""Build and run the ``fairseq-train`` command of a KILM run.

    python -m trainer.launch --data OUT --save-dir DIR --preset {cpu-tiny,bart-base,bart-large}
        [--mode {kilm,base,control,control_shuffled}] [--init PATH] [--gpus N | --cpu-workers N] [--nodes M] [--dry-run]
        [-- fairseq args]

Modes: ``kilm`` trains the ``kilm`` task on ``bin/shard*``; ``base`` trains a BART from scratch with
fairseq's ``denoising`` on ``bin/plain`` (the embedded default's stand-in for a pretrained BART);
``control`` continues ``--init`` on the same rows and batches as ``kilm`` with every knowledge span
removed (the ``kilm`` task with ``--plain-share 1 --plain-form remove``): the same paragraphs, the same
text infilling, the same updates, no knowledge infilling (the control model of eval);
``control_shuffled`` continues ``--init`` on the same rows with every knowledge span swapped for
another entity's (``--shuffle-knowledge``): the KILM format without true knowledge. A pass is one
pass over the train paragraphs, one row each (KILM's epoch: a paragraph's mentions take turns over
passes). A run's length is ``--passes`` (fractions allowed), capped by ``--max-update`` updates and by
``--max-minutes`` of training time. The learning rate decays linearly to 0 at the end of the run, whichever cap
ends it (``trainer/schedule.py``), as the KILM reference (Hugging Face Trainer) does at its last step;
AdamW decays no bias or LayerNorm weight, as there.

One code path for every scale: one process for a CPU or one GPU; ``torchrun`` otherwise, standalone
on one node (GPUs, or ``--cpu-workers N`` CPU processes that all-reduce through gloo), with c10d
rendezvous across nodes (run this launcher once per node, e.g.
``srun --ntasks-per-node 1 python -m trainer.launch ... --nodes 2 --gpus 8``; the endpoint comes from
``--master-addr``/``MASTER_ADDR`` or SLURM's ``SLURM_LAUNCH_NODE_IPADDR``). Re-running the same command
resumes from ``DIR/checkpoint_last.pt``; ``--init`` is converted into ``DIR/init.pt`` on the first
launch only. With ``--init``, the model's architecture and shape are the checkpoint's own (``--arch
mbart_large --encoder-normalize-before ...`` for an mBART), the preset gives the optimisation; the
language token of an mBART run comes from the pipeline's ``manifest.json``. Arguments after ``--`` go to
fairseq last, so they override the preset.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import re
import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kilm import records
from kilm.cli import Parser, RunDirError, bin_dir
from kilm.indexed import row_sizes as row_sizes_of
from kilm.noise import InfillingConfig

TRAINER_DIR = Path(__file__).resolve().parent
MODES = ("kilm", "base", "control", "control_shuffled")
#: Modes that train the ``kilm`` task (on ``bin/shard*``) and those that continue ``--init``.
KILM_MODES = ("kilm", "control", "control_shuffled")
CONTINUING_MODES = ("control", "control_shuffled")
PRECISIONS = ("fp32", "fp16", "bf16")
DEFAULT_PORT = "29500"
#: The module each training process runs: fairseq-train with its config and model dumps in SAVE_DIR/train.log.
FAIRSEQ_TRAIN = "trainer.console"

#: Text infilling as KILM (``kilm.noise``'s defaults): the same flags for the ``kilm`` task and fairseq's
#: ``denoising``.
NOISE_ARGS = ("--mask", str(InfillingConfig.ratio), "--mask-random", str(InfillingConfig.random_ratio),
              "--replace-length", str(InfillingConfig.replace_length),
              "--poisson-lambda", str(InfillingConfig.poisson_lambda))
#: fairseq ``denoising`` without BART's other noises; rows packed into blocks of whole paragraphs
#: (fairseq-fixed's ``--sample-break-mode eos`` fails under numpy 2: ``np.compat`` is gone).
DENOISING_ARGS = ("--mask-length", "span-poisson", "--rotate", "0", "--permute-sentences", "0", "--insert", "0",
                  "--sample-break-mode", "complete")

#: fairseq options of ``--cpu-workers``: gloo (NCCL needs GPUs); fairseq's own gradient all-reduce
#: (torch's DistributedDataParallel refuses a CPU module with the ``device_ids`` fairseq gives it); an
#: explicit ``env://`` rendezvous, because fairseq-fixed 0.12.3.1 reads torchrun's environment only to
#: pick a GPU (``rank % cuda.device_count()``: a division by zero without one); rank -1 lets torch take
#: each worker's RANK from torchrun, and fairseq then adopts torch's rank.
CPU_WORKER_ARGS = ("--distributed-backend", "gloo", "--ddp-backend", "legacy_ddp", "--distributed-init-method",
                   "env://", "--distributed-no-spawn", "--distributed-rank", "-1")


@dataclass(frozen=True)
class Preset:
    """Optimisation settings per device; a run's batch is batch_size × update_freq × devices; ``passes``
    over the train paragraphs, one row of each per pass."""

    arch: str
    lr: float
    batch_size: int
    update_freq: int
    passes: float
    precision: str  # on GPUs; CPUs always train in fp32
    warmup_updates: int = 0
    weight_decay: float = 0.01
    clip_norm: float = 1.0
    save_interval_updates: int = 0
    log_interval: int = 10
    num_workers: int = 1
    block_tokens: int = 512  # denoising blocks (base): whole paragraphs up to this many tokens


PRESETS = {
    "cpu-tiny": Preset("bart_tiny", lr=3e-3, batch_size=16, update_freq=1, passes=10, precision="fp32",
                       num_workers=0, block_tokens=256),
    # KILM (Xu et al. 2023) for bart-base: AdamW, lr 5e-5, weight decay 0.01, no warmup, batch 8 x 128
    # gradient accumulation per device, 10 passes; 8 V100s took 5 days (bart-large: 13). V100s have no
    # bf16: pass --precision fp16 there. The paper gives no separate values for bart-large.
    "bart-base": Preset("bart_base", lr=5e-5, batch_size=8, update_freq=128, passes=10, precision="bf16",
                        save_interval_updates=500, log_interval=50, num_workers=4),
    "bart-large": Preset("bart_large", lr=5e-5, batch_size=8, update_freq=128, passes=10, precision="bf16",
                         save_interval_updates=500, log_interval=50, num_workers=4),
}


#: Model options a checkpoint's weights fix: passed from the checkpoint, as values or as switches
#: (passed when on); fairseq's architecture function fills the rest, which must then agree.
SHAPE_VALUES = ("encoder_embed_dim", "encoder_ffn_embed_dim", "encoder_layers", "encoder_attention_heads",
                "decoder_embed_dim", "decoder_ffn_embed_dim", "decoder_layers", "decoder_attention_heads",
                "max_source_positions", "max_target_positions", "activation_fn")
SHAPE_SWITCHES = ("encoder_normalize_before", "decoder_normalize_before", "no_scale_embedding", "layernorm_embedding",
                  "encoder_learned_pos", "decoder_learned_pos", "share_all_embeddings",
                  "share_decoder_input_output_embed")


class LaunchError(ValueError):
    """A missing input or an inconsistent option; the message names it."""


@dataclass(frozen=True)
class Plan:
    """What a launch does: maybe write an init checkpoint, then run ``argv``."""

    argv: list[str]
    init: tuple[Path, Path, Path] | None  # (start checkpoint, dictionary, init checkpoint to write)
    resume: Path | None
    notes: tuple[str, ...] = ()
    pass_updates: int = 0  # updates of one pass over the train data

    def describe(self) -> str:
        lines = [f"# {note}" for note in self.notes]
        if self.resume is not None:
            lines.append(f"# resumes from {self.resume}")
        if self.init is not None:
            start, dictionary, output = self.init
            lines.append(f"# writes {output}: {start} resized to {dictionary}")
        lines.append(shlex.join(self.argv))
        return "\n".join(lines)


def _positive_int(value: str) -> int:
    number = int(value) if value.isdigit() else 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return number


def _positive_number(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = 0.0
    if not 0 < number < math.inf:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value!r}")
    return number


def parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m trainer.launch", description=__doc__.split("\n\n")[0],
               epilog="arguments after -- are passed to fairseq-train, last (they override the preset)")
    p.add_argument("--data", type=Path, required=True, metavar="OUT",
                   help="the pipeline's output directory OUT (its bin/shard*/ and bin/plain/; OUT/bin works too)")
    p.add_argument("--save-dir", type=Path, required=True, help="checkpoints, init.pt and tensorboard/")
    p.add_argument("--preset", choices=sorted(PRESETS), required=True,
                   help="model size and optimisation: cpu-tiny for a CPU, bart-base/bart-large as KILM")
    p.add_argument("--mode", choices=MODES, default="kilm", help="see the module help (default: kilm)")
    p.add_argument("--init", type=Path, help="starting model: fairseq .pt, bart.base-style dir or HF dir")
    p.add_argument("--gpus", type=int, help="GPUs per node (default: all visible; 0 trains on the CPU)")
    p.add_argument("--cpu-workers", type=_positive_int,
                   help="train on this machine's CPUs in N processes (torchrun, gloo backend, fairseq's "
                        "legacy_ddp); each takes the preset's batch, so an update sees N times its rows "
                        "(default: one process)")
    p.add_argument("--nodes", type=int, default=1, help="number of nodes (one launcher per node)")
    p.add_argument("--precision", choices=PRECISIONS, help="default: the preset's on GPUs, fp32 on CPUs")
    p.add_argument("--seed", type=int, default=1, help="fairseq --seed (initialisation, noise, batch order)")
    p.add_argument("--passes", type=_positive_number, default=None,
                   help="passes over the train paragraphs, one row of each per pass (KILM's epoch: a "
                        "paragraph's mentions take turns); fractions allowed (0.5: half a pass); sets the "
                        "run's updates, where the learning rate reaches 0 (default: the preset's; KILM: 10)")
    p.add_argument("--max-update", type=_positive_int, default=None,
                   help="stop after at most N updates; the learning rate reaches 0 there (fairseq's "
                        "-- --max-update N is read the same way; default: no cap but the passes)")
    p.add_argument("--max-minutes", type=_positive_number, default=None,
                   help="stop after this much training time (fairseq's --stop-time-hours); the learning rate "
                        "reaches 0 then, or at the last update if that comes first (default: no time cap)")
    p.add_argument("--master-addr", help="rendezvous host for --nodes > 1 (default: $MASTER_ADDR, SLURM)")
    p.add_argument("--master-port", help=f"rendezvous port (default: $MASTER_PORT or {DEFAULT_PORT})")
    p.add_argument("--dry-run", action="store_true", help="print the command instead of running it")
    return p


def parse_args(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    """Our options, and the fairseq arguments after ``--``."""
    argv = list(argv)
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    ours = argv[: argv.index("--")] if "--" in argv else argv
    p = parser()
    opts = p.parse_args(ours)
    if opts.gpus is not None and opts.gpus < 0:
        p.error(f"--gpus must be >= 0, got {opts.gpus}")
    if opts.nodes < 1:
        p.error(f"--nodes must be >= 1, got {opts.nodes}")
    if opts.cpu_workers is not None and (opts.gpus or opts.nodes > 1):
        p.error("--cpu-workers trains on the CPUs of one machine: drop --gpus and --nodes")
    from .console import option

    capped = option(extra, "--max-update")
    if capped is not None:  # fairseq's own cap: the schedule must end there too
        if opts.max_update is not None and str(opts.max_update) != capped:
            p.error(f"--max-update {opts.max_update} and -- --max-update {capped}: give the cap once")
        try:
            opts.max_update = _positive_int(capped)
        except argparse.ArgumentTypeError as error:
            p.error(f"-- --max-update: {error}")
    return opts, extra


# ---- data ----------------------------------------------------------------------------------------


def row_sizes(prefix: Path) -> np.ndarray:
    """Row lengths from a fairseq mmap ``.idx`` header, without reading the data."""
    index = prefix.with_name(prefix.name + ".idx")
    if not index.is_file():
        raise LaunchError(f"missing {index}")
    return row_sizes_of(prefix)


def kilm_shards(data: Path) -> list[Path]:
    """``data/shard0``, ``data/shard1``, ... in numeric order (``shard10`` after ``shard9``)."""
    shards = sorted((p for p in data.glob("shard*") if re.fullmatch(r"shard\d+", p.name)),
                    key=lambda p: int(p.name[5:]))
    if not shards:
        raise LaunchError(f"no shard*/ directories in --data {data}")
    if not (shards[0] / "dict.txt").is_file():
        raise LaunchError(f"missing {shards[0] / 'dict.txt'}")
    return shards


def has_rows(prefix: Path, out: Path, section: str, split: str) -> bool:
    """Whether a split has files. The pipeline writes none for a split with no rows (as
    fairseq-preprocess writes none for a split it was not given) and its manifest says so; files
    missing otherwise are an error, except a train shard, which may be empty while others are not."""
    if prefix.with_name(prefix.name + ".idx").is_file():
        return True
    try:
        recorded = records.split_rows(out, section, split)
    except records.RecordError as error:
        raise LaunchError(str(error)) from None
    if recorded is None or (recorded > 0 and (split, section) != ("train", "sequences")):
        raise LaunchError(f"missing {prefix}.idx")
    return False


def split_checks(train: Sequence[Path], valid: Path, out: Path, section: str) -> list[str]:
    """A small wiki's empty splits, handled as a fairseq user would: no valid rows → train with
    ``--disable-validation`` (returned as a note); a train file without rows → stop, saying what to change."""
    for prefix in train:
        if not has_rows(prefix, out, section, "train"):
            raise LaunchError(f"no train rows in {prefix.parent} (the pipeline writes no files for an empty split): "
                              "rerun the pipeline with lower --valid-fraction/--test-fraction or fewer --num-shards")
    if has_rows(valid, out, section, "valid"):
        return []
    return [f"no valid rows ({out / 'manifest.json'}: {section}.valid = 0): training with --disable-validation; "
            "rerun the pipeline with a higher --valid-fraction to validate"]


def check_kilm_dictionary(dictionary: Path, language: str | None, extra: Sequence[str]) -> None:
    """The KILM tokens must already be in the pipeline's ``dict.txt`` (the trainer adds nothing), and an
    mBART dictionary's run needs the dump's language token, one of the dictionary's codes."""
    from kilm import sequence as seq
    from kilm.dictionary import language_codes, read_dict_symbols

    symbols = [*seq.FAIRSEQ_SPECIALS, *read_dict_symbols(dictionary)]
    try:
        seq.SpecialIds.from_symbols(symbols)
    except ValueError as error:
        raise LaunchError(f"{dictionary}: {error}") from None
    codes = language_codes(symbols)
    if language is not None and language not in codes:
        raise LaunchError(f"language token {language} (manifest.json) is not one of {dictionary}'s language "
                          f"tokens ({', '.join(codes) or 'it has none'})")
    if codes and language is None and "--lang-token" not in extra:
        raise LaunchError(f"{dictionary} has mBART language tokens ({', '.join(codes)}) but no manifest.json "
                          "next to --data names the dump's: pass it after --, e.g. -- --lang-token [uk_UA]")


def updates_per_pass(batches_per_shard: Sequence[int], world: int, update_freq: int) -> int:
    """Optimizer steps for one pass: fairseq deals each epoch's batches over ranks, then groups them."""
    return sum(math.ceil(math.ceil(b / world) / update_freq) for b in batches_per_shard)


def shard_paragraphs(shard: Path) -> int:
    """Rows one epoch of the ``kilm`` task trains from a shard: one per train paragraph."""
    from .rows import read_rows

    try:
        return int(read_rows(shard / "train.rows.jsonl.gz").paragraph.max(initial=-1)) + 1
    except (FileNotFoundError, ValueError) as error:
        raise LaunchError(str(error)) from None


def kilm_pass_updates(shards: Sequence[Path], preset: Preset, world: int) -> int:
    """Updates of one pass of the ``kilm`` task: one row per train paragraph."""
    batches = [math.ceil(shard_paragraphs(s) / preset.batch_size) for s in shards]
    return updates_per_pass(batches, world, preset.update_freq)


def base_pass_updates(plain: Path, preset: Preset, world: int) -> int:
    """Updates of one pass of ``denoising``: blocks of ``--tokens-per-sample`` (``<s>``/``</s>``
    included), whole paragraphs each."""
    tokens = int(row_sizes(plain / "train").sum())
    batches = math.ceil(math.ceil(tokens / (preset.block_tokens - 2)) / preset.batch_size)
    return updates_per_pass([batches], world, preset.update_freq)


def run_updates(per_pass: int, passes: float, max_update: int | None) -> int:
    """The run's length: the passes' updates (a started update counts), at most ``max_update``."""
    planned = max(1, math.ceil(passes * per_pass - 1e-9))
    return planned if max_update is None else min(planned, max_update)


def model_flags(path: Path, option: str) -> list[str]:
    """``--arch`` and the shape options of the model in a checkpoint (``--init``, or the run's own
    ``checkpoint_last.pt``), so that fairseq builds the model its weights fit (a bart.base, an mBART
    with pre-norm layers, a tiny stand-in); a shape no flags can rebuild is refused, named."""
    from fairseq.models import ARCH_CONFIG_REGISTRY

    from kilm.checkpoint import load_checkpoint, model_args

    from . import models  # noqa: F401  (registers bart_tiny/bart_small)
    from .init import read_start

    try:
        checkpoint = load_checkpoint(path, mmap=True) if path.is_file() else read_start(path)
        args = model_args(checkpoint)
    except Exception as error:  # torch and transformers raise several types for an unusable file
        raise LaunchError(f"{option} {path}: cannot be read as a BART checkpoint ({error})") from None
    if args is None or getattr(args, "arch", None) not in ARCH_CONFIG_REGISTRY:
        raise LaunchError(f"{option} {path}: no BART architecture recorded (cfg.model or args), found "
                          f"{getattr(args, 'arch', None)!r}")
    values = {name: getattr(args, name) for name in SHAPE_VALUES if getattr(args, name, None) is not None}
    switches = [name for name in SHAPE_SWITCHES if getattr(args, name, False) is True]
    rebuilt = argparse.Namespace(**values, **dict.fromkeys(switches, True))
    ARCH_CONFIG_REGISTRY[args.arch](rebuilt)
    differ = [f"{name}={getattr(args, name)!r}" for name in (*SHAPE_VALUES, *SHAPE_SWITCHES)
              if getattr(args, name, None) is not None and getattr(rebuilt, name, None) != getattr(args, name)]
    if differ:
        raise LaunchError(f"{option} {path}: {', '.join(differ)} cannot be built with --arch {args.arch}")
    flags = ["--arch", args.arch]
    for name, value in values.items():
        flags += [f"--{name.replace('_', '-')}", str(value)]
    return flags + [f"--{name.replace('_', '-')}" for name in switches]


# ---- command -------------------------------------------------------------------------------------


def detect_gpus() -> int:
    import torch

    return torch.cuda.device_count()


def distributed_prefix(procs: int, nodes: int, opts: argparse.Namespace, env: Mapping[str, str]) -> list[str]:
    """The interpreter, or ``torchrun`` for several processes a node (standalone or c10d rendezvous)."""
    if procs * nodes <= 1:
        return [sys.executable, "-m", FAIRSEQ_TRAIN]
    run = [sys.executable, "-m", "torch.distributed.run", "--nnodes", str(nodes), "--nproc-per-node", str(procs)]
    if nodes == 1:
        return [*run, "--standalone", "-m", FAIRSEQ_TRAIN]
    host = opts.master_addr or env.get("MASTER_ADDR") or env.get("SLURM_LAUNCH_NODE_IPADDR")
    if not host:
        raise LaunchError("--nodes > 1 needs --master-addr (or MASTER_ADDR, or a SLURM allocation)")
    port = opts.master_port or env.get("MASTER_PORT", DEFAULT_PORT)
    run_id = env.get("SLURM_JOB_ID", "kilm")
    return [*run, "--rdzv-backend", "c10d", "--rdzv-endpoint", f"{host}:{port}", "--rdzv-id", run_id,
            "-m", FAIRSEQ_TRAIN]


def make_plan(opts: argparse.Namespace, extra: Sequence[str], env: Mapping[str, str]) -> Plan:
    """The full command of a launch (pure apart from reading ``--data`` headers and the save dir)."""
    preset = PRESETS[opts.preset]
    if opts.passes is not None:
        preset = dataclasses.replace(preset, passes=opts.passes)
    try:
        data_dir = bin_dir(opts.data)
    except RunDirError as error:
        raise LaunchError(str(error)) from None
    gpus = 0 if opts.cpu_workers else detect_gpus() if opts.gpus is None else opts.gpus
    procs = opts.cpu_workers or gpus  # processes per node
    if gpus == 0 and opts.nodes > 1:
        raise LaunchError("--nodes > 1 needs GPUs (--gpus N)")
    precision = opts.precision or (preset.precision if gpus else "fp32")
    if gpus == 0 and precision != "fp32":
        raise LaunchError(f"--precision {precision} needs a GPU (fairseq reads bf16 on a CPU as a TPU)")
    world = max(procs, 1) * opts.nodes

    shards = kilm_shards(data_dir) if opts.mode in KILM_MODES else []
    plain = data_dir / "plain"
    if opts.mode in KILM_MODES:
        try:
            language = records.language_token(data_dir.parent)
        except records.RecordError as error:
            raise LaunchError(str(error)) from None
        check_kilm_dictionary(shards[0] / "dict.txt", language, extra)
        notes = split_checks([s / "train.source" for s in shards], shards[0] / "valid.source", data_dir.parent,
                             "sequences")
        data, dictionary = ":".join(str(s) for s in shards), shards[0] / "dict.txt"
        task = ["--task", "kilm", "--criterion", "kilm_cross_entropy", *NOISE_ARGS]
        if opts.mode == "control":
            task += ["--plain-share", "1.0", "--plain-form", "remove"]
        if opts.mode == "control_shuffled":
            task += ["--shuffle-knowledge"]
        if language:
            task += ["--lang-token", language]
        per_pass = kilm_pass_updates(shards, preset, world)
    else:
        if not (plain / "dict.txt").is_file():
            raise LaunchError(f"missing {plain / 'dict.txt'}")
        notes = split_checks([plain / "train"], plain / "valid", data_dir.parent, "denoising_sequences")
        data, dictionary = str(plain), plain / "dict.txt"
        task = ["--task", "denoising", "--criterion", "cross_entropy", *NOISE_ARGS, *DENOISING_ARGS,
                "--tokens-per-sample", str(preset.block_tokens)]
        per_pass = base_pass_updates(plain, preset, world)
    total = run_updates(per_pass, preset.passes, opts.max_update)
    if opts.mode == "base" and opts.init is not None:
        raise LaunchError("--mode base trains from scratch; continue a checkpoint with --mode control")
    if opts.mode in CONTINUING_MODES and opts.init is None:
        raise LaunchError(f"--mode {opts.mode} continues a checkpoint: give it with --init")
    if opts.init is not None and not opts.init.exists():
        raise LaunchError(f"--init {opts.init}: no such file or directory")

    save_dir = opts.save_dir
    last = save_dir / "checkpoint_last.pt"
    resume = last if last.is_file() else None
    init = None
    if resume is not None:  # the run's own model, whatever it started from
        model = model_flags(resume, "resuming from")
    elif opts.init is not None:
        model = model_flags(opts.init, "--init")
    else:
        model = ["--arch", preset.arch]
    argv = [
        *distributed_prefix(procs, opts.nodes, opts, env),
        data, "--user-dir", str(TRAINER_DIR), *task, *model,
        "--optimizer", "kilm_adamw", "--adam-betas", "(0.9, 0.999)", "--adam-eps", "1e-08",
        "--weight-decay", str(preset.weight_decay), "--clip-norm", str(preset.clip_norm),
        "--lr", str(preset.lr), "--lr-scheduler", "kilm_linear",
        "--warmup-updates", str(preset.warmup_updates), "--total-num-update", str(total), "--max-update", str(total),
        "--batch-size", str(preset.batch_size), "--update-freq", str(preset.update_freq),
        "--required-batch-size-multiple", "1", "--skip-invalid-size-inputs-valid-test",
        "--num-workers", str(preset.num_workers), "--seed", str(opts.seed),
        "--save-dir", str(save_dir), "--save-interval-updates", str(preset.save_interval_updates),
        "--keep-interval-updates", "10", "--no-epoch-checkpoints",
        "--log-format", "json", "--log-interval", str(preset.log_interval),
        "--tensorboard-logdir", str(save_dir / "tensorboard"),
    ]
    if opts.init is not None:
        init_file = save_dir / "init.pt"
        init = None if resume else (opts.init, dictionary, init_file)
        argv += ["--finetune-from-model", str(init_file)]
    # fp16: fairseq would flatten the parameters into one vector, and kilm_adamw's groups need their shapes
    # (with bf16 it never flattens).
    argv += {"fp32": [], "fp16": ["--fp16", "--fp16-no-flatten-grads"], "bf16": ["--bf16"]}[precision]
    if opts.max_minutes is not None:
        argv += ["--stop-time-hours", f"{opts.max_minutes / 60:.6g}"]
    if gpus == 0:
        argv.append("--cpu")
    if world > 1:
        # Every rank reads checkpoints itself: fairseq would read them on rank 0 and broadcast them, and
        # the other ranks unpickle that with torch.load's weights_only default (torch >= 2.6), which
        # refuses the omegaconf config inside; a resume or --init would stop there. Across nodes the
        # save dir must therefore be on a shared filesystem.
        argv += ["--distributed-world-size", str(world), "--load-checkpoint-on-all-dp-ranks"]
        if gpus == 0:
            argv += CPU_WORKER_ARGS
    if notes:
        argv.append("--disable-validation")
    return Plan(argv=[*argv, *extra], init=init, resume=resume, notes=tuple(notes), pass_updates=per_pass)


def header(plan: Plan, opts: argparse.Namespace) -> str:
    """What the console says before fairseq starts: data, plan, where the full log goes (the command too)."""
    from .console import option

    argv = plan.argv
    updates = int(option(argv, "--max-update"))
    hours = float(option(argv, "--stop-time-hours", "0"))
    time_cap = f" or {hours * 60:g} minutes of training, whichever comes first" if hours > 0 else ""
    device = "the CPU" if "--cpu" in argv else f"{option(argv, '--distributed-world-size', '1')} GPU(s)"
    lines = [line for line in plan.describe().splitlines() if line.startswith("#")]
    lines += [f"kilm trainer: --mode {opts.mode}, --preset {opts.preset}, on {device}",
              f"data: {argv[argv.index(FAIRSEQ_TRAIN) + 1]}",
              f"plan: {updates} updates ({updates / plan.pass_updates:.3g} passes of {plan.pass_updates})"
              f"{time_cap}, batch {option(argv, '--batch-size')} x update-freq {option(argv, '--update-freq')}; "
              "the learning rate decays linearly to 0 at the end",
              f"log: {opts.save_dir / 'train.log'} (command, config, model, every record); "
              f"checkpoints and tensorboard/ in {opts.save_dir}"]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    opts, extra = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        plan = make_plan(opts, extra, os.environ)
        if opts.dry_run:
            print(plan.describe())
            return 0
        if plan.init is not None:
            from .init import InitError, prepare_init

            start, dictionary, output = plan.init
            try:
                old_rows, rows = prepare_init(start, dictionary, output, seed=opts.seed)
            except (InitError, FileNotFoundError) as error:
                raise LaunchError(str(error)) from None
            print(f"wrote {output}: {start} with {old_rows} -> {rows} embedding rows", flush=True)
    except LaunchError as error:
        print(f"python -m trainer.launch: error: {error}", file=sys.stderr)
        return 2
    print(header(plan, opts), flush=True)
    os.execv(plan.argv[0], plan.argv)  # the launcher becomes fairseq-train: signals reach it directly


if __name__ == "__main__":
    sys.exit(main())
