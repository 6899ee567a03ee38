"""The demo's plan: base once, kilm and both controls per training seed from that base, eval with the answer key."""

from __future__ import annotations

from pathlib import Path

from demo.__main__ import parser
from demo.flow import plan


def _arg(command: list[str], flag: str) -> str:
    return command[command.index(flag) + 1]


def test_plan_trains_base_once_and_three_models_per_seed(tmp_path):
    flow = plan(tmp_path, entities=50, world_seed=3, seeds=2, base_passes=2, kilm_passes=1)
    modes = [_arg(s.command, "--mode") for s in flow.stages if "trainer.launch" in s.command]
    assert modes == ["base", "kilm", "control", "control_shuffled", "kilm", "control", "control_shuffled"]
    trained = [s.command for s in flow.stages if "trainer.launch" in s.command]
    base_ckpt = str(tmp_path / "base" / "checkpoint_last.pt")
    assert all(_arg(c, "--init") == base_ckpt for c in trained[1:])  # every continued model from the one base
    assert [_arg(c, "--seed") for c in trained] == ["1", "1", "1", "1", "2", "2", "2"]
    assert {_arg(c, "--passes") for c in trained[1:]} == {"1"}  # same updates for kilm and the controls
    assert flow.reports == {1: tmp_path / "report", 2: tmp_path / "report-seed2"}
    evals = [s.command for s in flow.stages if "eval.run" in s.command]
    assert [_arg(c, "--truth") for c in evals] == [str(tmp_path / "world.truth.jsonl")] * 2
    assert f"kilm={tmp_path / 'kilm-seed2' / 'checkpoint_last.pt'}" in evals[1]
    assert len({s.done for s in flow.stages}) == len(flow.stages)  # each stage its own done-marker
    assert _arg(flow.stages[0].command, "--seed") == "3" and _arg(flow.stages[0].command, "--entities") == "50"


def test_cli_refuses_zero_seeds_and_abbreviations(capsys):
    for bad in (["--seeds", "0"], ["--seed", "2"]):
        try:
            parser().parse_args(bad)
        except SystemExit as e:
            assert e.code == 2
        else:
            raise AssertionError(f"{bad} accepted")
    assert parser().parse_args(["--seeds", "3"]).workdir == Path("runs/demo")


def test_a_step_runs_its_stages_together_with_the_cores_shared(tmp_path, monkeypatch):
    import os
    import sys

    from demo.flow import Stage, run_step

    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    show = "import os; print(os.environ['OMP_NUM_THREADS'])"
    step = [Stage(f"job{i}", [sys.executable, "-c", show], tmp_path / f".job{i}.done",
                  tmp_path / f"job{i}" / "console.log") for i in range(2)]
    times = run_step(step, 1, 2)
    assert set(times) == {"job0", "job1"}
    assert [s.console.read_text() for s in step] == ["1\n", "1\n"]  # one thread each on two cores
    assert all(s.done.is_file() for s in step)
    assert run_step(step, 1, 2) == {"job0": 0.0, "job1": 0.0}  # finished stages are reused
    bad = Stage("bad", [sys.executable, "-c", "raise SystemExit(3)"], tmp_path / ".bad.done", tmp_path / "bad.log")
    fine = Stage("fine", [sys.executable, "-c", "pass"], tmp_path / ".fine.done", tmp_path / "fine.log")
    try:
        run_step([bad, fine], 1, 2)
    except SystemExit as error:
        assert f"'bad' (exit 3; see {tmp_path / 'bad.log'})" in str(error)
    else:
        raise AssertionError("a failed stage passed")
    assert fine.done.is_file() and not bad.done.is_file()  # the stage that finished is kept
    slow = Stage("slow", [sys.executable, "-c", "import time; time.sleep(1.5)"], tmp_path / ".slow.done",
                 tmp_path / "slow.log")
    quick = Stage("quick", [sys.executable, "-c", "pass"], tmp_path / ".quick.done", tmp_path / "quick.log")
    times = run_step([slow, quick], 1, 2)
    assert times["quick"] < 1.0 < 1.5 <= times["slow"]  # each stage's own time, not the step's
