"""Retention: BART's text-infilling loss on held-out plain paragraphs, the same noise for every model.

Noise (BART/KILM): 30% of the tokens (``</s>`` never) in spans of Poisson(λ=3) length, each span replaced
by one ``<mask>``. The generator of paragraph ``i`` is seeded with ``(seed, i)``, so every model sees the
same corrupted sources and the loss differences are the models'. Loss: mean negative log-likelihood per
target token in nats (``<s>`` and ``</s>`` included, as the training loss), resampled per paragraph.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from tqdm import tqdm

from eval.metrics import bootstrap_ci, weighted_mean
from eval.models import KilmModel
from kilm import sequence as seq


@dataclass(frozen=True)
class NoiseSettings:
    mask_ratio: float = 0.3
    poisson_lambda: float = 3.0
    seed: int = 1


def infill_noise(row: Sequence[int], mask_id: int, index: int, settings: NoiseSettings = NoiseSettings()
                 ) -> list[int]:
    """``row`` (ending with ``</s>``) with spans masked; deterministic in (settings.seed, index)."""
    body, tail = list(row[:-1]), list(row[-1:])
    budget = math.ceil(settings.mask_ratio * len(body) - 1e-9)  # 0.3 * 100 is 30.000000000000004
    if budget == 0:
        return [*body, *tail]
    generator = torch.Generator().manual_seed(settings.seed * 1_000_003 + index)
    masked = torch.zeros(len(body), dtype=torch.bool)
    while int(masked.sum()) < budget:
        length = int(torch.poisson(torch.tensor([settings.poisson_lambda]), generator=generator))
        if length == 0:
            continue  # BART inserts a <mask> for a 0-length span; insertion is off here
        free = (~masked).nonzero()[:, 0]
        start = int(free[torch.randint(len(free), (1,), generator=generator)])
        length = min(length, budget - int(masked.sum()))
        masked[start : start + length] = True
    out: list[int] = []
    for i, tok in enumerate(body):
        if not masked[i]:
            out.append(tok)
        elif i == 0 or not masked[i - 1]:
            out.append(mask_id)
    return [*out, *tail]


@dataclass(frozen=True)
class RetentionRecord:
    nll: float
    tokens: int


def run_retention(model: KilmModel, rows: Sequence[Sequence[int]], batch_size: int = 8,
                  settings: NoiseSettings = NoiseSettings(), progress: bool = True) -> list[RetentionRecord]:
    """Per paragraph: summed NLL of the clean target given its noised source (rows cut to the model)."""
    clean = [seq.fit_plain_row(r, model.max_positions) for r in rows]
    noised = [infill_noise(r, model.tokenizer.special.mask, i, settings) for i, r in enumerate(clean)]
    records: list[RetentionRecord] = []
    batches = range(0, len(clean), batch_size)
    for start in tqdm(batches, desc="retention", unit="batch", disable=not progress):
        targets = clean[start : start + batch_size]
        nll = model.target_nll(noised[start : start + batch_size], targets)
        records.extend(RetentionRecord(n, len(t) + 1) for n, t in zip(nll, targets))
    return records


def retention_metrics(records: Sequence[RetentionRecord], seed: int = 0
                      ) -> tuple[dict[str, float], dict[str, list[float]]]:
    per_token = [r.nll / r.tokens for r in records]
    weights = [r.tokens for r in records]
    return ({"retention_loss": weighted_mean(per_token, weights), "retention_n": len(records),
             "retention_tokens": sum(weights)},
            {"retention_loss": list(bootstrap_ci(per_token, weights, seed=seed))})
