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


def allow_fairseq_checkpoints() -> None:
    """Allow-list what fairseq checkpoints contain (idempotent; fairseq's own loaders benefit too)."""
    torch.serialization.add_safe_globals(_SAFE_GLOBALS)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """A fairseq checkpoint loaded on the CPU with ``weights_only=True``; a clear error if missing or
    if it holds a class that is not allow-listed (named, so it can be reviewed and added here).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    allow_fairseq_checkpoints()
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(path)
        raise pickle.UnpicklingError(
            f"{path}: holds classes that safe loading does not allow: {', '.join(unsafe)}"
        ) from None
