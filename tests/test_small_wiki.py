"""A wiki of a few pages leaves splits empty: the pipeline writes no files for them (as
fairseq-preprocess writes none for a split it was not given) and its manifest says 0; training runs
with ``--disable-validation`` (both modes, for real), eval and the launcher say in one line what to
change, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.run import main
from pipeline.splits import SplitConfig
from tests.dumps import Page, write_dump
from trainer.launch import LaunchError, split_checks

ROOT = Path(__file__).resolve().parents[1]


def train_only_titles(n: int) -> list[str]:
    """Titles the default split puts in train: a small wiki whose valid and test splits are empty."""
    split = SplitConfig()
    return [t for t in (f"Town {k}" for k in range(200)) if split.page_split(t) == "train"][:n]


@pytest.fixture(scope="module")
def small_wiki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("small")
    names = train_only_titles(6)
    pages = [Page(name, f"'''{name}''' is a town near [[{names[(i + 1) % 6]}]] and [[{names[(i + 2) % 6]}]]. "
                        f"It has a [[market]].\n\nIts river is the [[{names[(i + 3) % 6]}]] stream.")
             for i, name in enumerate(names)]
    out = tmp / "out"
    assert main(["--input", str(write_dump(tmp / "small.xml", pages)), "--output", str(out), "--train-tokenizer",
                 "--vocab-size", "300"]) == 0
    return out


def test_an_empty_split_has_no_files_and_the_manifest_says_so(small_wiki):
    manifest = json.loads((small_wiki / "manifest.json").read_text())
    assert manifest["examples"] == {"train": 12, "valid": 0, "test": 0}
    assert manifest["sequences"]["valid"] == manifest["sequences"]["test"] == 0
    assert manifest["denoising_sequences"]["valid"] == manifest["denoising_sequences"]["test"] == 0
    # KILM rows by kind: every link here resolves, so some train rows carry knowledge; the kinds add up.
    assert manifest["sequences_with_knowledge"]["train"] > 0
    assert all(manifest["sequences_with_knowledge"][split] + manifest["sequences_without_knowledge"][split]
               == manifest["sequences"][split] for split in ("train", "valid", "test"))
    files = sorted(p.name for p in (small_wiki / "bin").rglob("*") if p.is_file())
    assert not [name for name in files if name.startswith(("valid.", "test."))]
    assert {"train.source.bin", "train.target.idx", "train.bin", "train.idx"} <= set(files)
    assert all(p.stat().st_size > 0 for p in (small_wiki / "bin").rglob("*.bin"))


def launch(small_wiki: Path, save_dir: Path, mode: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "trainer.launch", "--data", str(small_wiki / "bin"), "--save-dir", str(save_dir),
         "--preset", "cpu-tiny", "--gpus", "0", "--mode", mode, *extra],
        cwd=ROOT, capture_output=True, text=True)


@pytest.mark.parametrize("mode", ["base", "kilm"])
def test_the_launcher_trains_without_validation(small_wiki, tmp_path, mode):
    result = launch(small_wiki, tmp_path / mode, mode, "--dry-run")
    assert result.returncode == 0, result.stderr
    note, *_, command = result.stdout.splitlines()
    assert note.startswith("# no valid rows") and "--valid-fraction" in note
    assert "--disable-validation" in command.split()


def test_a_train_shard_without_rows_stops_in_one_line(tmp_path):
    out = tmp_path / "out"
    for shard in ("shard0", "shard1"):
        (out / "bin" / shard).mkdir(parents=True)
    (out / "bin" / "shard0" / "train.source.idx").write_bytes(b"")
    (out / "manifest.json").write_text(json.dumps({"sequences": {"train": 3, "valid": 0, "test": 0}}))
    shards = [out / "bin" / "shard0", out / "bin" / "shard1"]
    with pytest.raises(LaunchError, match=r"no train rows in .*shard1 .*fewer --num-shards"):
        split_checks([s / "train.source" for s in shards], shards[0] / "valid.source", out, "sequences")
    (out / "manifest.json").unlink()  # without the pipeline's word, a missing file is just missing
    with pytest.raises(LaunchError, match=r"missing .*shard1/train.source.idx"):
        split_checks([s / "train.source" for s in shards], shards[0] / "valid.source", out, "sequences")


@pytest.mark.slow
def test_training_on_a_small_wiki_runs_and_eval_says_the_test_split_is_empty(small_wiki, tmp_path):
    for mode in ("base", "kilm"):
        result = launch(small_wiki, tmp_path / mode, mode, "--", "--max-update", "3", "--log-interval", "1")
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
        assert "Traceback" not in result.stderr
        assert '"num_updates": "3"' in result.stderr + result.stdout
        assert (tmp_path / mode / "checkpoint_last.pt").is_file()
    result = subprocess.run(
        [sys.executable, "-m", "eval.run", "--data", str(small_wiki), "--model",
         f"kilm={tmp_path / 'kilm' / 'checkpoint_last.pt'}", "--out", str(tmp_path / "eval"), "--no-progress"],
        cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "the test split is empty" in errors[0] and "--test-fraction" in errors[0]
