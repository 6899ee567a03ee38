"""The real pipeline on small generated worlds, run once per test session and shared by the trainer
and eval fixtures and the no-leakage tests (the runs live in one temporary folder, removed at exit)."""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

from pipeline.run import run
from synth import generate

_ROOT = Path(tempfile.mkdtemp(prefix="kilm-world-runs-"))
atexit.register(shutil.rmtree, _ROOT, ignore_errors=True)


@functools.cache
def world_dump(entities: int, seed: int) -> Path:
    """A generated world's dump (its truth file beside it)."""
    dump = _ROOT / f"world-{entities}-{seed}" / "world.xml.bz2"
    dump.parent.mkdir(parents=True)
    generate(dump, entities, seed, 1)
    return dump


@functools.cache
def pipeline_output(entities: int, seed: int, *options: str) -> Path:
    """``python -m pipeline.run --input WORLD --output OUT --train-tokenizer ...options`` (cached per
    arguments). Treat the result as read-only: other tests share it."""
    out = _ROOT / f"out-{len(list(_ROOT.glob('out-*')))}"
    run(["--input", str(world_dump(entities, seed)), "--output", str(out), *options])
    return out


def copy_output(out: Path, to: Path) -> Path:
    """A private copy of a shared run, for a test that writes into it."""
    shutil.copytree(out, to, dirs_exist_ok=True)
    return to
