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
