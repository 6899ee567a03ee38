"""The command lines a newcomer meets: --help of every command (the options the README names, with
defaults, no warnings), one-line option errors naming the nearest option, no abbreviations, and one
way to name a run (``--data OUT``) with a one-line message for a wrong directory."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from kilm.cli import Parser, RunDirError, bin_dir, run_dir
from tests.trainer_fixtures import build_corpus

ROOT = Path(__file__).resolve().parent.parent

#: The options the README names for each command.
README_OPTIONS = {
    "pipeline.run": ["--input", "--output", "--bart-dir", "--hf-tokenizer", "--spm-model", "--dict",
                     "--language-tokens", "--dump-language-token", "--train-tokenizer", "--max-tokens",
                     "--max-infills-per-paragraph", "--text-scope", "--valid-fraction", "--test-fraction",
                     "--unseen-entity-fraction", "--description-sources", "--wikidata-descriptions",
                     "--max-redirect-hops", "--max-page-bytes", "--streams-per-read", "--num-shards", "--beam-help"],
    "trainer.launch": ["--data", "--save-dir", "--preset", "--mode", "--init", "--gpus", "--nodes", "--master-addr",
                       "--precision", "--passes", "--max-update", "--max-minutes", "--cpu-workers", "--dry-run"],
    "eval.run": ["--data", "--model", "--out", "--tasks"],
    "eval.export_hf": ["--checkpoint", "--data", "--out"],
    "eval.describe": ["--model", "--data", "--text", "--start", "--end"],
    "synth": ["--entities", "--seed", "--output"],
}
#: A default each help must show.
DEFAULTS_SHOWN = {"pipeline.run": "(default: 512)", "trainer.launch": "(default: kilm)", "eval.run": "(default: 16)",
                  "eval.describe": "(default: 4)", "synth": "(default 0)"}


def cli(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *argv], cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("command", sorted(README_OPTIONS))
def test_help_lists_the_readme_options_quietly(command: str) -> None:
    result = cli(command, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no import-time warnings (Beam's apitools, fairseq's tensorboardX)
    missing = [o for o in README_OPTIONS[command] if o not in result.stdout]
    assert not missing, result.stdout
    assert DEFAULTS_SHOWN.get(command, "") in " ".join(result.stdout.split())  # help lines wrap


def test_every_option_says_why() -> None:
    from eval.run import build_parser
    from pipeline.run import command_parser
    from trainer.launch import parser

    for p in (command_parser(), parser(), build_parser()):
        silent = [a.option_strings for a in p._actions if not (a.help or "").strip()]
        assert not silent, f"{p.prog}: options without help: {silent}"


def test_misspelled_option_names_the_nearest_and_exits_2() -> None:
    result = cli("pipeline.run", "--input", "x.xml", "--ouput", "out")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "python -m pipeline.run: error: unknown option: --ouput; did you mean --output? "
        "(see python -m pipeline.run --help)"]


def test_beam_flags_pass_and_unknown_flags_are_refused(capsys: pytest.CaptureFixture) -> None:
    from pipeline.run import split_args

    beam_args = ["--direct_num_workers", "2", "--runner=DirectRunner"]
    options, beam = split_args(["--input", "x.xml", "--output", "o", *beam_args])
    assert (options.input, options.output, beam) == (["x.xml"], "o", beam_args)
    with pytest.raises(SystemExit) as exit_:
        split_args(["--input", "x.xml", "--max-tokns", "9"])
    assert exit_.value.code == 2
    assert "unknown option: --max-tokns; did you mean --max-tokens?" in capsys.readouterr().err


def test_local_workers_are_quiet_unless_the_user_says_otherwise() -> None:
    from pipeline.run import QUIET_LOCAL_WORKERS, with_quiet_local_workers

    local = with_quiet_local_workers(["--direct_running_mode", "multi_processing"])
    assert local[2:] == [f"{flag}={value}" for flag, value in QUIET_LOCAL_WORKERS.items()]
    own = with_quiet_local_workers(["--default_sdk_harness_log_level=DEBUG"])
    assert own[0] == "--default_sdk_harness_log_level=DEBUG" and len(own) == 2  # the user's level stays
    dataflow = ["--runner", "DataflowRunner", "--project", "p"]
    assert with_quiet_local_workers(dataflow) == dataflow  # Dataflow's logs go to Cloud Logging


def test_pipeline_progress_lines_count_outcomes_so_far(caplog: pytest.LogCaptureFixture) -> None:
    from pipeline.outcomes import Progress

    progress = Progress(interval=0.0)
    with caplog.at_level(logging.INFO, logger="pipeline.progress"):
        progress.add("article")
        progress.add("redirect", 2)
        progress.add("article")
    assert len(caplog.messages) == 3
    assert caplog.messages[-1].startswith("4 pages done in ")
    assert caplog.messages[-1].endswith("by this worker (2 article, 2 redirect)")
    quiet = Progress(interval=3600.0)
    with caplog.at_level(logging.INFO, logger="pipeline.progress"):
        quiet.add("article")
    assert len(caplog.messages) == 3  # one line per interval, not per page


@pytest.mark.parametrize("module, argv, nearest", [
    ("trainer.launch", ["--data", "d", "--save-dir", "s", "--preset", "cpu-tiny", "--mod", "base"], "--mode"),
    ("eval.run", ["--data", "d", "--model", "m=p", "--out", "o", "--task", "probe"], "--tasks"),
])
def test_abbreviations_are_refused(module: str, argv: list[str], nearest: str, capsys: pytest.CaptureFixture) -> None:
    import importlib

    main = importlib.import_module(module).main
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"did you mean {nearest}?" in err


def test_parser_suggests_for_a_misspelled_required_option(capsys: pytest.CaptureFixture) -> None:
    p = Parser(prog="prog")
    p.add_argument("--output", required=True, help="where")
    with pytest.raises(SystemExit):
        p.parse_args(["--ouput", "x"])
    assert capsys.readouterr().err == "prog: error: unknown option: --ouput; did you mean --output? (see prog --help)\n"


# ---- one way to name a run -----------------------------------------------------------------------


def test_run_dir_names_the_directory_to_pass(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "bin" / "shard0").mkdir(parents=True)
    (out / "bin" / "plain").mkdir()
    (out / "manifest.json").write_text("{}")
    assert run_dir(out) == out and bin_dir(out) == bin_dir(out / "bin") == out / "bin"
    assert run_dir(out / "bin", accept_bin=True) == out
    cases = [
        (out / "bin", f"--data {out / 'bin'} is the binarized folder; pass the run directory {out}"),
        (out / "bin" / "shard0", f"--data {out / 'bin' / 'shard0'} is inside the run directory {out}; pass {out}"),
        (tmp_path, f"--data {tmp_path} holds pipeline outputs ({out}); pass one of them"),
        (tmp_path / "nope", f"--data {tmp_path / 'nope'}: no such directory"),
    ]
    for path, message in cases:
        with pytest.raises(RunDirError) as error:
            run_dir(path)
        assert str(error.value) == message


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_corpus(tmp_path_factory.mktemp("cli") / "out", num_shards=1)


def test_trainer_takes_out_or_out_bin(out: Path, tmp_path: Path) -> None:
    from trainer.launch import make_plan, parse_args

    for data in (out, out / "bin"):
        for mode, expected in (("base", f"{out}/bin/plain"), ("kilm", f"{out}/bin/shard0")):
            opts, extra = parse_args(["--data", str(data), "--save-dir", str(tmp_path), "--preset", "cpu-tiny",
                                      "--gpus", "0", "--mode", mode])
            assert expected in make_plan(opts, extra, {}).argv
    result = cli("trainer.launch", "--data", str(out / "bin" / "shard0"), "--save-dir", str(tmp_path),
                 "--preset", "cpu-tiny", "--gpus", "0", "--dry-run")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"python -m trainer.launch: error: --data {out / 'bin' / 'shard0'} is inside the run directory {out}; "
        f"pass {out}"]


def test_eval_and_export_take_out_and_name_it_for_out_bin(out: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture) -> None:
    from eval import export_hf
    from eval import run as eval_run

    checkpoint = tmp_path / "model.pt"
    checkpoint.write_bytes(b"not a checkpoint")
    wrong = f"--data {out / 'bin'} is the binarized folder; pass the run directory {out}"
    assert eval_run.main(["--data", str(out / "bin"), "--model", f"m={checkpoint}", "--out", str(tmp_path / "r")]) == 2
    assert capsys.readouterr().err.strip() == f"error: {wrong}"
    assert export_hf.main(["--checkpoint", str(checkpoint), "--data", str(out / "bin"),
                           "--out", str(tmp_path / "h")]) == 2
    assert capsys.readouterr().err.strip() == f"error: {wrong}"
    # given OUT, both get past the data and stop at the (bad) checkpoint
    assert eval_run.main(["--data", str(out), "--model", f"m={checkpoint}", "--out", str(tmp_path / "r"),
                          "--tasks", "probe", "--no-progress"]) == 2
    assert "--data" not in capsys.readouterr().err
    with pytest.raises(Exception) as error:  # torch's own error for a file that is no checkpoint
        export_hf.main(["--checkpoint", str(checkpoint), "--data", str(out), "--out", str(tmp_path / "h")])
    assert "--data" not in str(error.value)


# ---- the training console ------------------------------------------------------------------------


def test_training_console_keeps_progress_and_sends_the_rest_to_the_log(tmp_path: Path) -> None:
    import json
    import logging

    from trainer.console import ConsoleFilter, ConsoleFormatter, option

    argv = ["data", "--max-update", "100", "--save-dir", str(tmp_path), "--max-update=20"]
    assert option(argv, "--max-update") == "20"  # the last one wins, as in fairseq
    assert (option(argv, "--save-dir"), option(argv, "--lr", "x")) == (str(tmp_path), "x")

    def record(name: str, msg: str, level: int = logging.INFO) -> logging.LogRecord:
        return logging.makeLogRecord({"name": name, "msg": msg, "levelno": level, "levelname": "INFO"})

    shown = ConsoleFilter().filter
    assert shown(record("train_inner", "{}")) and shown(record("valid", "{}"))
    assert shown(record("fairseq_cli.train", "num. shared model params: 434,048 (num. trained: 434,048)"))
    assert shown(record("fairseq.trainer", "disk full", logging.ERROR))
    assert not shown(record("fairseq_cli.train", "{'_name': None, 'common': ...}"))  # the config dump
    assert not shown(record("py.warnings", "UserWarning: hydra.experimental.initialize()", logging.WARNING))

    formatter = ConsoleFormatter(max_update=20)
    first = {"num_updates": "10", "wall": "30", "loss": "9.1"}
    etas = [json.loads(formatter.format(record("train_inner", json.dumps(stats))).split(" | ", 3)[3])["eta"]
            for stats in (first, {**first, "num_updates": "15", "wall": "40"})]
    assert etas == ["0:00:30", "0:00:10"]  # 3 s an update at first, then 2 s an update since the first record
