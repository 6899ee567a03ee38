"""Starting checkpoints for continued pretraining: a fairseq BART or a Hugging Face BART directory,
resized to a dictionary that ends with the five KILM tokens.

The KILM dictionary keeps every index of the base model and appends the five tokens after ``<mask>``
(and after ``madeupwordNNNN`` padding rows), so resizing only appends rows to the token embeddings
and the output projection: each new row is the mean of the existing rows plus small noise (so that
the five tokens start apart), old rows are unchanged. The result is a fairseq checkpoint that
``--finetune-from-model`` loads on a first launch and ignores once ``checkpoint_last.pt`` exists.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from kilm import sequence as seq
from kilm.checkpoint import VocabRowsError, load_checkpoint, resize_vocab_rows
from kilm.dictionary import language_codes, read_dict_symbols


class InitError(ValueError):
    """A starting checkpoint that cannot be used with this dictionary; the message says why."""


def read_start(path: Path) -> dict[str, Any]:
    """A fairseq checkpoint from a ``.pt`` file, a ``bart.base``-style directory (``model.pt``), or a
    Hugging Face BART directory (``config.json``), converted by ``kilm.hf_convert.hf_to_fairseq``.
    """
    if path.is_file():
        return load_checkpoint(path)
    if (path / "model.pt").is_file():
        return load_checkpoint(path / "model.pt")
    if (path / "config.json").is_file():
        from kilm.hf_convert import hf_to_fairseq

        return hf_to_fairseq(path)
    raise FileNotFoundError(f"--init {path}: neither a checkpoint file, nor a directory with model.pt or config.json")


def prepare_init(start: Path, dictionary: Path, output: Path, *, seed: int = 0) -> tuple[int, int]:
    """Write ``output``: ``start`` with its vocabulary rows resized to ``dictionary``; returns
    (old rows, new rows). Optimizer state and training progress are dropped: a new run begins.
    """
    symbols = [*seq.FAIRSEQ_SPECIALS, *read_dict_symbols(dictionary)]
    try:
        special = seq.SpecialIds.from_symbols(symbols)
    except ValueError as error:
        raise InitError(f"{dictionary}: {error}") from None
    state = read_start(start)
    if "model" not in state:
        raise InitError(f"--init {start}: not a fairseq checkpoint (no 'model' entry)")
    try:
        old_rows = resize_vocab_rows(state["model"], len(symbols), special.ent, seed=seed)
    except VocabRowsError as error:
        hint = "" if language_codes(symbols) else (
            "; for an mBART, run the pipeline with --spm-model, --dict and --language-tokens (its codes, in order)")
        raise InitError(f"--init {start}: {error}{hint}") from None
    init = {
        "args": state.get("args"),
        "cfg": state.get("cfg"),
        "model": state["model"],
        # fairseq's loader reads the last entry even when the optimizer is reset.
        "optimizer_history": [{"criterion_name": "none", "optimizer_name": "none", "lr_scheduler_state": {},
                               "num_updates": 0}],
        "extra_state": {"train_iterator": {"epoch": 1, "iterations_in_epoch": 0, "version": 2}},
        "last_optimizer_state": None,
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f"{output.name}.{os.getpid()}.tmp")
    torch.save(init, partial)
    os.replace(partial, output)  # several launchers (one per node) may write the same file
    return old_rows, len(symbols)
