"""Where a run goes: by default the runner the tests use, never Prism whatever the machine can download;
``--runner`` picks another; Dataflow's ``--dry_run`` (checking a job before paying for it) reports what
it built and exits 0 without reading an output no job wrote."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.direct.direct_runner import SwitchingDirectRunner
from apache_beam.runners.portability.prism_runner import PrismRunner
from apache_beam.testing.util import assert_that, equal_to

from pipeline.run import main, run, with_quiet_local_workers
from pipeline.runners import LocalRunner

ROOT = Path(__file__).resolve().parents[1]
TINY_WORLD = ROOT / "tests" / "data" / "tiny_world.xml.bz2"
GS_OUTPUT = "gs://kilm-example-bucket/out"
#: The README's Dataflow command, on the tiny world.
DATAFLOW = ["--runner", "DataflowRunner", "--project", "example-project", "--region", "us-central1",
            "--temp_location", "gs://kilm-example-bucket/tmp", "--sdk_container_image", "example.io/kilm-beam:latest",
            "--experiments", "use_runner_v2", "--max_num_workers", "64"]


def _args(output: str, *beam_args: str) -> list[str]:
    return ["--input", str(TINY_WORLD), "--output", output, "--train-tokenizer", *beam_args]


def test_the_default_runner_is_local_and_a_named_runner_wins(tmp_path: Path) -> None:
    out = str(tmp_path / "out")
    assert isinstance(run(_args(out), build_only=True).runner, LocalRunner)
    assert isinstance(run(_args(out, "--direct_num_workers", "2"), build_only=True).runner, LocalRunner)
    assert isinstance(run(_args(out, "--runner", "PrismRunner"), build_only=True).runner, PrismRunner)
    assert isinstance(run(_args(out, "--runner", "DirectRunner"), build_only=True).runner, SwitchingDirectRunner)


def _root_log_level(_: object) -> int:
    return logging.getLogger().getEffectiveLevel()


def test_the_local_runner_never_tries_prism_and_its_workers_get_the_options(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object) -> None:
        raise AssertionError("the default local run went to Beam's DirectRunner or Prism")

    monkeypatch.setattr(PrismRunner, "run_pipeline", refuse)
    monkeypatch.setattr(SwitchingDirectRunner, "run_pipeline", refuse)
    options = PipelineOptions(with_quiet_local_workers(["--direct_running_mode", "multi_processing"]))
    with beam.Pipeline(runner=LocalRunner(), options=options) as pipeline:
        levels = pipeline | beam.Create([0]) | beam.Map(_root_log_level)
        # the worker process's level comes from --default_sdk_harness_log_level, which only the options carry
        assert_that(levels, equal_to([logging.WARNING]))


def test_a_dry_run_elsewhere_stops_before_running_the_whole_job(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture) -> None:
    assert main(_args(str(tmp_path / "out"), "--dry_run", "True")) == 2
    assert "--dry_run: only the DataflowRunner builds a job without running it; LocalRunner would run" \
        in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_the_readme_dataflow_dry_run_reports_the_job_and_exits_0() -> None:
    pytest.importorskip("apache_beam.runners.dataflow.internal.apiclient",
                        reason="needs Beam's GCP extras: pip install 'apache-beam[gcp]==2.77.0'")
    result = subprocess.run([sys.executable, "-m", "pipeline.run", *_args(GS_OUTPUT, *DATAFLOW, "--dry_run", "True")],
                            cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("dry run: the DataflowRunner built job ")
    assert "(project example-project, region us-central1)" in lines[0]
    assert "nothing ran and nothing was written" in lines[0]
    assert lines[1] == f"  input: 1 file(s) of enwiki (en): {TINY_WORLD}"
    assert lines[2] == f"  output: {GS_OUTPUT}"
    assert lines[3].startswith("  job graph: ") and lines[3].endswith(", Manifest")
    assert "ReadPages, ParsePages, " in lines[3]
    assert lines[4] == "To run it, give the same command without --dry_run."
