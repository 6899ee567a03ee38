"""Retention: BART's text-infilling loss on held-out plain paragraphs, the same noise for every model.

Noise: the training objective's own text infilling (``kilm.noise``, KILM's settings: 30% of the
non-special tokens on average, Poisson(λ=3) spans, each masked run one ``<mask>``), and paragraph ``i``
is noised as training noises row ``i`` in epoch 1 (the generator seeded by (seed, 1, i)), so every
model sees the same corrupted sources, the loss is that of the objective the models were trained on,
and the differences are the models'. Loss: mean negative log-likelihood per target token in nats
(``<s>`` and ``</s>`` included, as the training loss), resampled per paragraph.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from tqdm import tqdm

from eval.metrics import bootstrap_ci, weighted_mean
from eval.models import KilmModel
from kilm.noise import InfillingConfig, TextInfilling, example_generator

#: the epoch whose noise retention reuses
EPOCH = 1


@dataclass(frozen=True)
class NoiseSettings:
    infilling: InfillingConfig = field(default_factory=InfillingConfig)
    seed: int = 1


def infill_noise(row: Sequence[int], noise: TextInfilling, index: int, seed: int) -> list[int]:
    """``row`` (ending with ``</s>``) noised as training noises row ``index`` of epoch 1 with ``seed``."""
    return noise(torch.tensor(list(row), dtype=torch.long), example_generator(seed, EPOCH, index)).tolist()


@dataclass(frozen=True)
class RetentionRecord:
    nll: float
    tokens: int


def run_retention(model: KilmModel, rows: Sequence[Sequence[int]], batch_size: int = 8,
                  settings: NoiseSettings = NoiseSettings(), progress: bool = True) -> list[RetentionRecord]:
    """Per paragraph: summed NLL of the clean target given its noised source (rows cut to the model)."""
    limit = model.max_positions - 2  # <s> on both sides, the decoder's </s> (or language token) start
    clean = [[*r[: min(len(r) - 1, limit - 1)], r[-1]] for r in rows]
    noise = TextInfilling.for_symbols(settings.infilling, model.tokenizer.symbols, model.language_id)
    noised = [infill_noise(r, noise, i, settings.seed) for i, r in enumerate(clean)]
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
