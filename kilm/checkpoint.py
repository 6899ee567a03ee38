"""Safe loading of fairseq checkpoints under torch's ``weights_only=True``.

fairseq stores ``argparse.Namespace`` (and a few plain containers) next to the tensors. Instead of
turning safe loading off, the few classes fairseq checkpoints hold are allow-listed.
"""

from __future__ import annotations

import argparse
import collections
from pathlib import Path
from typing import Any

import torch

_SAFE_GLOBALS = [argparse.Namespace, collections.OrderedDict, collections.defaultdict]


def allow_fairseq_checkpoints() -> None:
    """Allow-list what fairseq checkpoints contain (idempotent; fairseq's own loaders benefit too)."""
    torch.serialization.add_safe_globals(_SAFE_GLOBALS)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """A fairseq checkpoint loaded on the CPU with ``weights_only=True``; a clear error if missing."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    allow_fairseq_checkpoints()
    return torch.load(path, map_location="cpu", weights_only=True)
