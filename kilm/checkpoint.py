"""Safe loading of fairseq checkpoints under torch's ``weights_only=True``.

fairseq stores ``argparse.Namespace`` next to the tensors (``args``, and ``cfg.model`` of legacy
architectures such as BART). Instead of turning safe loading off, the few classes fairseq checkpoints
hold are allow-listed. Measured with ``torch.serialization.get_unsafe_globals_in_checkpoint`` on
fairseq-fixed 0.12.3.1 checkpoints (``kilm`` and ``denoising`` tasks, Adam, EMA, polynomial_decay):
``argparse.Namespace`` is the only class outside torch's defaults. The containers are listed too for
checkpoints written by older fairseq versions (``bart.base``/``bart.large`` downloads).
"""

from __future__ import annotations

import argparse
import collections
import pickle
from pathlib import Path
from typing import Any

import torch

_SAFE_GLOBALS = [argparse.Namespace, collections.OrderedDict, collections.defaultdict]


#: State-dict keys whose rows are the dictionary (tied in BART, all present in its checkpoints).
VOCAB_KEYS = (
    "encoder.embed_tokens.weight",
    "decoder.embed_tokens.weight",
    "encoder.output_projection.weight",
    "decoder.output_projection.weight",
)


class VocabRowsError(ValueError):
    """A checkpoint whose embedding rows do not fit the dictionary; the message says how to build one."""


def resize_vocab_rows(model: dict[str, torch.Tensor], rows: int, expected_rows: int, *, noise: float = 0.1,
                      seed: int = 0, keys: tuple[str, ...] | None = None) -> int:
    """Append rows to every dictionary-sized tensor of ``model`` (in place); returns the old row count.

    ``expected_rows`` is where the dictionary's KILM tokens start: a checkpoint must have exactly that
    many rows (or already ``rows``). New rows: mean of the old rows + ``noise`` × per-dimension std ×
    N(0, 1), with the same draw for every key so tied embeddings stay tied.
    """
    keys = [k for k in (keys or VOCAB_KEYS) if k in model]
    if not keys:
        raise VocabRowsError(f"no token embeddings ({VOCAB_KEYS[0]}) in the checkpoint")
    old_rows = model[keys[0]].size(0)
    if old_rows == rows:
        return old_rows
    if old_rows != expected_rows:
        raise VocabRowsError(
            f"the checkpoint has {old_rows} embedding rows but the dictionary expects {expected_rows} before the "
            f"KILM tokens; build it with kilm.dictionary.build_dictionary_symbols(..., model_rows={old_rows})"
        )
    dim = model[keys[0]].size(1)
    draw = torch.randn(rows - old_rows, dim, generator=torch.Generator().manual_seed(seed))
    for key in keys:
        old = model[key].float()
        new = old.mean(0, keepdim=True) + noise * old.std(0, keepdim=True) * draw
        model[key] = torch.cat([model[key], new.to(model[key].dtype)])
    return old_rows


def model_args(checkpoint: dict[str, Any]) -> argparse.Namespace | None:
    """The model's options as saved: ``cfg.model`` (fairseq >= 0.10) or ``args`` (older releases)."""
    cfg = checkpoint.get("cfg") or {}
    raw = cfg.get("model") if isinstance(cfg, dict) else None
    raw = raw if raw is not None else checkpoint.get("args")
    if raw is None:
        return None
    return argparse.Namespace(**(vars(raw) if isinstance(raw, argparse.Namespace) else dict(raw)))


def allow_fairseq_checkpoints() -> None:
    """Allow-list what fairseq checkpoints contain (idempotent; fairseq's own loaders benefit too)."""
    torch.serialization.add_safe_globals(_SAFE_GLOBALS)


def load_checkpoint(path: str | Path, *, mmap: bool = False) -> dict[str, Any]:
    """A fairseq checkpoint loaded on the CPU with ``weights_only=True``; a clear error if missing or
    if it holds a class that is not allow-listed (named, so it can be reviewed and added here).
    ``mmap`` maps the tensors instead of reading them (to read a large checkpoint's options); files in
    torch's legacy format (old ``bart.base`` downloads) cannot be mapped and are read whole.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    allow_fairseq_checkpoints()
    try:
        if mmap:
            try:
                return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
            except RuntimeError:  # legacy (non-zip) format
                pass
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(path)
        raise pickle.UnpicklingError(
            f"{path}: holds classes that safe loading does not allow: {', '.join(unsafe)}"
        ) from None
