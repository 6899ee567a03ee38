"""The demo's stages: each a plain CLI call a user could type; a finished stage is reused on re-run.

synthetic world → Beam pipeline → base BART (fairseq ``denoising`` from scratch) → from that base, with
the same updates: ``kilm`` (knowledge infilling), ``control`` (plain text infilling) and
``control_shuffled`` (the KILM format with every knowledge span another entity's) → evaluation of the
four models against the world's answer key. With several training seeds, base is trained once and the
three continued models once per seed, each seed evaluated into its own report. The three continued
models of a seed train at the same time, one thread each (on 2 cores the three small models make 1.5×
the updates per second that one at a time on both cores makes), each console in ``SAVE_DIR/console.log``.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from synth import truth_path

#: The continued models, each from the same base with the same updates; ``kilm`` is compared with the others.
CONTINUED = ("kilm", "control", "control_shuffled")
#: The base model's width: 128 (feed-forward 512) instead of bart_tiny's 64. Measured on the earlier
#: world, it took 1.4× the time per update and reached twice the title EM on seen entities whose
#: mention differs from the title (80.7% vs 42.1%): the smaller model could not hold the knowledge.
MODEL_SHAPE = ("--encoder-embed-dim", "128", "--encoder-ffn-embed-dim", "512")
#: A test split large enough to measure (the world's notes: ~500 ED items, ~170 unseen-entity probe items).
TEST_SET = ("--test-fraction", "0.1", "--unseen-entity-fraction", "0.1")
#: Greedy probe generation up to 32 tokens (the world's longest knowledge span is 27): eval of the four
#: models took 175 s instead of ~600 s with eval's defaults (beam 4, 64 tokens; base and control never close
#: a span, so they always generate the maximum), which keeps the flow within 15 minutes on 2 cores.
EVAL_SETTINGS = ("--beam", "1", "--max-new-tokens", "32")


@dataclass(frozen=True)
class Stage:
    name: str
    command: list[str]
    done: Path  # written when the stage finished; its content is the command that made it
    console: Path | None = None  # where its output goes when it runs beside others


@dataclass(frozen=True)
class Plan:
    """What to run (steps in order, the stages of a step at the same time) and where the reports land."""

    steps: list[list[Stage]]
    reports: dict[int, Path]  # training seed → report directory

    @property
    def stages(self) -> list[Stage]:
        return [stage for step in self.steps for stage in step]


def seed_dir(workdir: Path, name: str, seed: int) -> Path:
    """Seed 1 keeps the plain names (``kilm``, ``report``); other seeds get ``-seedN``."""
    return workdir / (name if seed == 1 else f"{name}-seed{seed}")


def plan(workdir: Path, entities: int, world_seed: int, seeds: int, base_passes: int, kilm_passes: int,
         preset: str = "cpu-tiny") -> Plan:
    py = sys.executable
    world = workdir / "world.xml.bz2"
    data = workdir / "data"
    base_ckpt = workdir / "base" / "checkpoint_last.pt"

    def train(save_dir: Path, mode: str, passes: int, seed: int, extra: tuple[str, ...] = ()) -> list[str]:
        init = [] if mode == "base" else ["--init", str(base_ckpt)]
        return [py, "-m", "trainer.launch", "--data", str(data / "bin"), "--save-dir", str(save_dir),
                "--preset", preset, "--mode", mode, *init, "--passes", str(passes), "--seed", str(seed),
                *(("--", *extra) if extra else ())]

    steps = [[stage] for stage in (
        Stage("synthetic world", [py, "-m", "synth", "--entities", str(entities), "--seed", str(world_seed),
                                  "--output", str(world)], workdir / ".world.done"),
        Stage("Beam pipeline", [py, "-m", "pipeline.run", "--input", str(world), "--output", str(data),
                                "--train-tokenizer", "--vocab-size", "4000", "--max-tokens", "256",
                                *TEST_SET, "--direct_num_workers", "2", "--direct_running_mode", "multi_processing"],
              workdir / ".pipeline.done"),
        Stage("base BART (denoising from scratch)", train(workdir / "base", "base", base_passes, 1, MODEL_SHAPE),
              workdir / ".base.done"),
    )]
    reports = {}
    for seed in range(1, seeds + 1):
        tag = "" if seed == 1 else f", seed {seed}"
        continued = []
        for mode, what in (("kilm", "KILM continued pretraining"), ("control", "control: text infilling"),
                           ("control_shuffled", "control_shuffled: KILM format, shuffled knowledge")):
            out = seed_dir(workdir, mode, seed)
            continued.append(Stage(f"{what}{tag}", train(out, mode, kilm_passes, seed),
                                   out.with_name(f".{out.name}.done"), out / "console.log"))
        steps.append(continued)
        report = seed_dir(workdir, "report", seed)
        models = [f"base={base_ckpt}", *(f"{m}={seed_dir(workdir, m, seed) / 'checkpoint_last.pt'}" for m in CONTINUED)]
        steps.append([Stage(f"evaluation{tag}", [
            py, "-m", "eval.run", "--data", str(data), *(a for m in models for a in ("--model", m)),
            "--truth", str(truth_path(world)), "--out", str(report), *EVAL_SETTINGS, "--no-progress"],
            report.with_name(f".{report.name}.done"))])
        reports[seed] = report
    return Plan(steps, reports)


@dataclass
class Running:
    """A stage started by :func:`run_step`."""

    index: int
    stage: Stage
    start: float
    output: IO | None  # the console file of a stage run beside others
    process: subprocess.Popen


def finishing_order(running: list[Running]) -> Iterator[Running]:
    """The running stages as each process ends, so that each gets its own time."""
    left = list(running)
    while left:
        ended = [entry for entry in left if entry.process.poll() is not None]
        if not ended:
            time.sleep(0.2)
        for entry in ended:
            left.remove(entry)
            yield entry


def run_step(step: Sequence[Stage], first: int, total: int) -> dict[str, float]:
    """Run a step's stages (each reused when the same command finished before), several at once with
    the cores shared out; each stage's wall time in seconds (a reused one: 0)."""
    todo = []
    for index, stage in enumerate(step, first):
        if stage.done.is_file() and stage.done.read_text() == shlex.join(stage.command):
            print(f"[{index}/{total}] {stage.name}: done earlier, reused ({stage.done.name})", flush=True)
        else:
            todo.append((index, stage))
    threads = max(1, (os.cpu_count() or 1) // len(todo)) if len(todo) > 1 else None
    running = []
    for index, stage in todo:
        where = f" (at the same time as {len(todo) - 1} other(s), {threads} thread(s); output: {stage.console})" \
            if threads else ""
        print(f"[{index}/{total}] {stage.name}{where}\n    $ {shlex.join(stage.command)}", flush=True)
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)} if threads else None
        output = None
        if threads and stage.console is not None:
            stage.console.parent.mkdir(parents=True, exist_ok=True)
            output = stage.console.open("w")
        running.append(Running(index, stage, time.perf_counter(), output, subprocess.Popen(
            stage.command, cwd=Path(__file__).resolve().parents[1], env=env, stdout=output,
            stderr=subprocess.STDOUT if output else None)))
    times = {stage.name: 0.0 for stage in step}
    failed = []
    for done in finishing_order(running):
        stage, code = done.stage, done.process.returncode
        times[stage.name] = time.perf_counter() - done.start
        if done.output is not None:
            done.output.close()
        if code != 0:
            failed.append(f"'{stage.name}' (exit {code}{f'; see {stage.console}' if done.output else ''})")
            continue
        stage.done.write_text(shlex.join(stage.command))
        print(f"[{done.index}/{total}] {stage.name}: {times[stage.name]:.0f} s", flush=True)
    if failed:
        raise SystemExit(f"stage {', '.join(failed)} failed; fix and re-run: finished stages are reused")
    return times
