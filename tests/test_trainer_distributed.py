"""Several training processes for real: ``python -m trainer.launch --cpu-workers 2`` (torchrun, gloo).

Two workers with ``--batch-size 4`` against one process with ``--batch-size 4 --update-freq 2``: the
same global batch of 8 rows, and the same rows in each update (fairseq shuffles one list of batches
with the seed and epoch; rank r takes batches r, r+2, ...; one process groups batches 2k and 2k+1).
What makes the two runs the same computation: fixed-size batches (no ``--max-tokens``), dropout 0
(the masks come from each process's RNG stream, which a second micro-batch continues on one process
and starts afresh on a second worker), the same ``--total-num-update`` (the launcher derives it from
the preset's batch), one intra-op thread per process (torchrun's default for several workers) and
the text-infilling noise, which is seeded per (seed, epoch, row) and so the same in any process.
Then only the order of floating-point sums differs; the gradients of the two micro-batches are added
once either way (autograd accumulation vs gloo's all-reduce), and fairseq's legacy DDP scales by a
power of two, so the weights agree to ``TOLERANCE``.

This module is also the workers' entry point in these tests (``-m tests.test_trainer_distributed`` in
place of ``-m fairseq_cli.train``): it records every rank's weights after each update and every
checkpoint write, then runs fairseq-train.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
PROBE = "tests.test_trainer_distributed"
#: Largest difference of any weight between the 2-worker and the 1-process run (float32 sums in
#: another order; a wrong batch, scale or learning rate moves weights by ~1e-3, the learning rate).
TOLERANCE = 1e-5
#: Flags shared by every run of a comparison (see the module docstring).
SAME_RUN = ("--dropout", "0", "--total-num-update", "100", "--log-interval", "1")


# ---- the workers' side ---------------------------------------------------------------------------


def probe() -> None:
    """fairseq-train that also saves the model's weights after each update as ``rank{R}-update{U}.pt``
    and lists each checkpoint it writes in ``saves-rank{R}.txt``, both under ``$KILM_PROBE_DIR``."""
    from fairseq_cli.train import cli_main  # noqa: I001  (first: it sets up fairseq's log format)
    from fairseq import checkpoint_utils
    from fairseq.trainer import Trainer

    out = Path(os.environ["KILM_PROBE_DIR"])
    rank = os.environ.get("RANK", "0")
    train_step, persistent_save = Trainer.train_step, checkpoint_utils.torch_persistent_save

    def recorded_step(self, samples, raise_oom=False):
        result = train_step(self, samples, raise_oom)
        torch.save(self._model.state_dict(), out / f"rank{rank}-update{self.get_num_updates()}.pt")
        return result

    def recorded_save(obj, filename, *args, **kwargs):
        with open(out / f"saves-rank{rank}.txt", "a") as f:
            f.write(f"{filename}\n")
        return persistent_save(obj, filename, *args, **kwargs)

    Trainer.train_step = recorded_step
    checkpoint_utils.torch_persistent_save = recorded_save
    cli_main()


if __name__ == "__main__":
    probe()


# ---- the tests' side -----------------------------------------------------------------------------


def launcher_args(data: Path, save_dir: Path, *args: str) -> list[str]:
    return ["--data", str(data), "--save-dir", str(save_dir), "--preset", "cpu-tiny", *args]


def probed_run(data: Path, save_dir: Path, probe_dir: Path, *args: str) -> str:
    """The launcher's command with this module in place of the worker entry point; its output."""
    from trainer.launch import FAIRSEQ_TRAIN, make_plan, parse_args

    opts, extra = parse_args(launcher_args(data, save_dir, *args))
    argv = make_plan(opts, extra, os.environ).argv
    argv[argv.index(FAIRSEQ_TRAIN)] = PROBE
    probe_dir.mkdir(parents=True)
    env = {**os.environ, "KILM_PROBE_DIR": str(probe_dir), "OMP_NUM_THREADS": "1"}
    return finish(subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False))


def finish(result: subprocess.CompletedProcess) -> str:
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    return output


def weights(path: Path) -> dict[str, torch.Tensor]:
    """A probe's state dict, or a checkpoint's model."""
    from kilm.checkpoint import load_checkpoint

    state = load_checkpoint(path)
    return state["model"] if path.name.startswith("checkpoint") else state


def max_difference(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k].float() - b[k].float()).abs().max()) for k in a)


def updates_logged(output: str) -> list[int]:
    return [int(json.loads(line.split("| train_inner | ", 1)[1])["num_updates"])
            for line in output.splitlines() if "| train_inner | " in line]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.trainer_fixtures import build_corpus

    return build_corpus(tmp_path_factory.mktemp("corpus")) / "bin"


def test_cpu_workers_command(data: Path) -> None:
    from trainer.launch import (
        CPU_WORKER_ARGS,
        FAIRSEQ_TRAIN,
        PRESETS,
        kilm_pass_updates,
        kilm_shards,
        make_plan,
        parse_args,
    )

    opts, extra = parse_args(launcher_args(data, Path("/runs/k"), "--cpu-workers", "2"))
    argv = make_plan(opts, extra, {}).argv
    assert argv[:9] == [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc-per-node", "2",
                        "--standalone", "-m"]
    assert argv[9] == FAIRSEQ_TRAIN
    assert argv[-len(CPU_WORKER_ARGS) - 4 :] == ["--cpu", "--distributed-world-size", "2",
                                                 "--load-checkpoint-on-all-dp-ranks", *CPU_WORKER_ARGS]
    opts, extra = parse_args(launcher_args(data, Path("/runs/k"), "--cpu-workers", "1"))
    one = make_plan(opts, extra, {}).argv
    assert one[:3] == [sys.executable, "-m", FAIRSEQ_TRAIN]
    assert "--distributed-world-size" not in one
    # Each worker takes every other batch: the schedule counts the updates of 2 workers.
    updates = int(argv[argv.index("--max-update") + 1])
    assert updates == PRESETS["cpu-tiny"].passes * kilm_pass_updates(kilm_shards(data), PRESETS["cpu-tiny"], 2)
    assert updates < int(one[one.index("--max-update") + 1])


@pytest.mark.parametrize("args", [["--gpus", "1"], ["--nodes", "2"]])
def test_cpu_workers_refuse_gpus_and_nodes(data: Path, args: list[str], capsys: pytest.CaptureFixture) -> None:
    from trainer.launch import parse_args

    with pytest.raises(SystemExit):
        parse_args(launcher_args(data, Path("/runs/k"), "--cpu-workers", "2", *args))
    assert "--cpu-workers trains on the CPUs of one machine" in capsys.readouterr().err


@pytest.mark.slow
def test_two_workers_match_one_process_and_resume(data: Path, tmp_path: Path) -> None:
    k = 3
    two = probed_run(data, tmp_path / "two", tmp_path / "probe-two", "--cpu-workers", "2", "--",
                     *SAME_RUN, "--batch-size", "4", "--max-update", str(k))
    one = probed_run(data, tmp_path / "one", tmp_path / "probe-one", "--gpus", "0", "--",
                     *SAME_RUN, "--batch-size", "4", "--update-freq", "2", "--max-update", str(2 * k))
    assert '"bsz": "8"' in two and '"bsz": "8"' in one  # the same global batch
    assert updates_logged(two) == list(range(1, k + 1))

    differences = []
    for update in range(1, k + 1):
        rank0 = weights(tmp_path / "probe-two" / f"rank0-update{update}.pt")
        rank1 = weights(tmp_path / "probe-two" / f"rank1-update{update}.pt")
        assert max_difference(rank0, rank1) == 0.0  # the workers stay in sync, bit for bit
        differences.append(max_difference(rank0, weights(tmp_path / "probe-one" / f"rank0-update{update}.pt")))
    print(f"2 workers vs 1 process, max |weight difference| after updates 1..{k}: {differences}")
    assert max(differences) <= TOLERANCE
    assert max_difference(rank0, weights(tmp_path / "probe-one" / "rank0-update1.pt")) > 100 * TOLERANCE

    # One checkpoint, written by rank 0 only.
    assert not (tmp_path / "probe-two" / "saves-rank1.txt").exists()
    saves = (tmp_path / "probe-two" / "saves-rank0.txt").read_text().split()
    assert len(saves) == 1
    assert sorted(p.name for p in (tmp_path / "two").glob("*.pt")) == ["checkpoint_best.pt", "checkpoint_last.pt"]
    assert max_difference(weights(tmp_path / "two" / "checkpoint_last.pt"), rank0) == 0.0

    # Re-running the launcher resumes both workers there and lands where the uninterrupted run did.
    argv = [sys.executable, "-m", "trainer.launch",
            *launcher_args(data, tmp_path / "two", "--cpu-workers", "2", "--", *SAME_RUN, "--batch-size", "4",
                           "--max-update", str(2 * k))]
    resumed = finish(subprocess.run(argv, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"},
                                    capture_output=True, text=True, check=False))
    assert f"(epoch 1 @ {k} updates)" in resumed
    assert updates_logged(resumed) == list(range(k + 1, 2 * k + 1))
    end = max_difference(weights(tmp_path / "two" / "checkpoint_last.pt"),
                         weights(tmp_path / "probe-one" / f"rank0-update{2 * k}.pt"))
    print(f"resumed 2 workers vs uninterrupted 1 process after {2 * k} updates: {end}")
    assert end <= TOLERANCE
