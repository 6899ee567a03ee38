"""``kilm_adamw``: fairseq's Adam (decoupled weight decay, i.e. AdamW) with no decay on biases and
LayerNorm weights, as the KILM reference's Hugging Face Trainer applies it.

Parameters with fewer than two dimensions (biases, LayerNorm weights and biases) get weight decay 0;
matrices (linear layers, embeddings) get ``--weight-decay``. fairseq's ``--fp16``/``--bf16`` flatten all
parameters into one vector unless ``--fp16-no-flatten-grads`` is given (the launcher gives it); a
single flat vector is refused, since no group could be told apart in it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
from fairseq.optim import register_optimizer
from fairseq.optim.adam import FairseqAdam, FairseqAdamConfig


@dataclass
class KilmAdamWConfig(FairseqAdamConfig):
    """fairseq's Adam options (``--adam-betas``, ``--adam-eps``, ``--weight-decay``, ...)."""


def decay_groups(params: Iterable[torch.nn.Parameter]) -> list[dict]:
    """Matrices decay (the optimizer's weight decay); 1-D parameters do not."""
    params = list(params)
    if len(params) == 1 and params[0].ndim == 1 and params[0].numel() > 1:
        raise ValueError("kilm_adamw got one flat parameter vector: pass --fp16-no-flatten-grads with --fp16/--bf16")
    groups = [{"params": [p for p in params if p.ndim >= 2]},
              {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]
    return [g for g in groups if g["params"]]


@register_optimizer("kilm_adamw", dataclass=KilmAdamWConfig)
class KilmAdamW(FairseqAdam):
    def __init__(self, cfg: KilmAdamWConfig, params: Iterable[torch.nn.Parameter]) -> None:
        super().__init__(cfg, decay_groups(params))
