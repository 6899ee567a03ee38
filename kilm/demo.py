"""``python -m kilm.demo``: the whole flow on the embedded default, from nothing to a report.

Stages (each a plain CLI call a user could type; a finished stage is reused on re-run):
synthetic world → Beam pipeline → base BART (fairseq ``denoising`` from scratch) → KILM continued
pretraining and its control (plain text infilling, same updates) → evaluation of base/control/kilm.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Stage:
    name: str
    command: list[str]
    done: Path  # written when the stage finished; its content is the command that made it


def stages(workdir: Path, entities: int, seed: int, base_passes: int, kilm_passes: int) -> list[Stage]:
    py = sys.executable
    world = workdir / "world.xml.bz2"
    data = workdir / "data"
    base, kilm, control = workdir / "base", workdir / "kilm", workdir / "control"
    report = workdir / "report"
    base_ckpt = base / "checkpoint_last.pt"
    return [
        Stage("synthetic world", [py, "-m", "synth", "--entities", str(entities), "--seed", str(seed),
                                  "--output", str(world)], workdir / ".world.done"),
        Stage("Beam pipeline", [py, "-m", "pipeline.run", "--input", str(world), "--output", str(data),
                                "--train-tokenizer", "--vocab-size", "4000", "--max-tokens", "256",
                                "--direct_num_workers", "2", "--direct_running_mode", "multi_processing"],
              workdir / ".pipeline.done"),
        Stage("base BART (denoising from scratch)", [
            py, "-m", "trainer.launch", "--data", str(data / "bin"), "--save-dir", str(base),
            "--preset", "cpu-tiny", "--mode", "base", "--passes", str(base_passes)],
            workdir / ".base.done"),
        Stage("KILM continued pretraining", [
            py, "-m", "trainer.launch", "--data", str(data / "bin"), "--save-dir", str(kilm),
            "--preset", "cpu-tiny", "--mode", "kilm", "--init", str(base_ckpt), "--passes", str(kilm_passes)],
            workdir / ".kilm.done"),
        Stage("control (text infilling, same updates)", [
            py, "-m", "trainer.launch", "--data", str(data / "bin"), "--save-dir", str(control),
            "--preset", "cpu-tiny", "--mode", "control", "--init", str(base_ckpt), "--passes", str(kilm_passes)],
            workdir / ".control.done"),
        Stage("evaluation", [
            py, "-m", "eval.run", "--data", str(data), "--model", f"base={base_ckpt}",
            "--model", f"control={control / 'checkpoint_last.pt'}", "--model", f"kilm={kilm / 'checkpoint_last.pt'}",
            "--out", str(report)], workdir / ".eval.done"),
    ]


def run_stage(stage: Stage, index: int, total: int) -> float:
    command = shlex.join(stage.command)
    if stage.done.is_file() and stage.done.read_text() == command:
        print(f"[{index}/{total}] {stage.name}: done earlier, reused ({stage.done.name})", flush=True)
        return 0.0
    print(f"[{index}/{total}] {stage.name}\n    $ {command}", flush=True)
    start = time.perf_counter()
    result = subprocess.run(stage.command, cwd=Path(__file__).resolve().parents[1])
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"stage '{stage.name}' failed (exit {result.returncode}); fix and re-run: "
                         "finished stages are reused")
    stage.done.write_text(command)
    print(f"[{index}/{total}] {stage.name}: {elapsed:.0f} s", flush=True)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("runs/demo"))
    parser.add_argument("--entities", type=int, default=None,
                        help="size of the synthetic world (default: the generator's demo default)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--base-passes", type=int, default=10, help="passes of the base BART over the text")
    parser.add_argument("--kilm-passes", type=int, default=8, help="passes of KILM (and of the control)")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    entities = args.entities
    if entities is None:
        from synth import DEFAULT_ENTITIES

        entities = DEFAULT_ENTITIES
    plan = stages(args.workdir, entities, args.seed, args.base_passes, args.kilm_passes)
    start = time.perf_counter()
    for i, stage in enumerate(plan, 1):
        run_stage(stage, i, len(plan))
    report = args.workdir / "report"
    print(f"\nwhole flow: {time.perf_counter() - start:.0f} s (stages reused earlier count 0)\n")
    print((report / "report.md").read_text())
    print(f"report: {report / 'report.md'} (also report.json and PNG plots)")
    summary = json.loads((report / "report.json").read_text())
    return 0 if summary.get("models") else 1


if __name__ == "__main__":
    sys.exit(main())
