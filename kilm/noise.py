"""BART/KILM text infilling: the one implementation, used by the trainer and by the retention eval.

Span lengths are drawn from Poisson(λ); each span starts at a random unmasked position and stops at
the first special token, so ``<s>``, ``</s>``, the KILM tokens, the language token and the knowledge
span's ``<mask>`` always survive. Spans are drawn until exactly the budget of maskable tokens is
masked (the last one cut), so overlapping spans never lower the realised share; the budget is
``ratio × n`` rounded up or down at random with the right odds, so the share is ``ratio`` on average
for every length. Masked positions are then merged: each contiguous masked run becomes ONE ``<mask>``
(``replace_length`` 1), as BART and KILM do. A zero-length draw masks nothing (BART would insert a
``<mask>``; KILM's reference drops these draws too).

Every draw comes from one ``torch.Generator`` seeded by ``(seed, epoch, index)``: the same noise in
every worker, after a resume, and in the eval (which uses epoch 1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from kilm import sequence as seq
from kilm.dictionary import language_codes

REPLACE_LENGTHS = (-1, 0, 1)


def example_seed(seed: int, epoch: int, index: int) -> int:
    """A 63-bit seed for one example in one epoch (stable across processes, unlike ``hash``)."""
    return ((int(seed) * 1_000_003 + int(epoch)) * 1_000_003 + int(index)) % (2**63)


def example_generator(seed: int, epoch: int, index: int) -> torch.Generator:
    """The generator every draw of one example in one epoch comes from."""
    return torch.Generator().manual_seed(example_seed(seed, epoch, index))


@dataclass(frozen=True)
class InfillingConfig:
    """Text-infilling settings (KILM's defaults: ratio 0.3, λ 3.0, one ``<mask>`` per run, no random tokens).

    ``replace_length``: 1 replaces a masked run by one ``<mask>``, 0 deletes it, -1 masks each token.
    ``random_ratio``: the share of replacements that are a random regular token instead of ``<mask>``.
    """

    ratio: float = 0.3
    poisson_lambda: float = 3.0
    replace_length: int = 1
    random_ratio: float = 0.0

    def __post_init__(self) -> None:
        if self.replace_length not in REPLACE_LENGTHS:
            raise ValueError(f"replace_length must be one of {REPLACE_LENGTHS}, got {self.replace_length}")
        if not 0.0 <= self.ratio <= 1.0 or not 0.0 <= self.random_ratio <= 1.0:
            raise ValueError(f"mask ratios must lie in [0, 1], got {self.ratio} and {self.random_ratio}")
        if self.poisson_lambda <= 0:
            raise ValueError(f"poisson_lambda must be positive, got {self.poisson_lambda}")


def special_table(symbols: Sequence[str], lang_id: int | None = None) -> torch.Tensor:
    """Boolean table over a fairseq dictionary's symbols: fairseq's four specials, ``<mask>``, the KILM
    tokens and the text's language token (mBART) are never masked."""
    special = seq.SpecialIds.from_symbols(symbols)
    table = torch.zeros(len(symbols), dtype=torch.bool)
    table[: len(seq.FAIRSEQ_SPECIALS)] = True
    table[[special.mask, *special.kilm, *([] if lang_id is None else [lang_id])]] = True
    return table


def regular_range(symbols: Sequence[str]) -> tuple[int, int]:
    """``[start, end)`` of the regular tokens: after fairseq's specials, before mBART's language codes
    (or ``<mask>``); random replacements come from here."""
    codes = language_codes(symbols)
    end = list(symbols).index(codes[0] if codes else seq.MASK)
    return len(seq.FAIRSEQ_SPECIALS), end


class _Stream:
    """Numbers drawn in batches from a generator, handed out one at a time (few torch calls per row)."""

    def __init__(self, draw, batch: int) -> None:
        self.draw = draw
        self.batch = batch
        self.values: list[float] = []
        self.at = 0

    def next(self) -> float:
        if self.at == len(self.values):
            self.values, self.at = self.draw(self.batch).tolist(), 0
        self.at += 1
        return self.values[self.at - 1]


@dataclass(frozen=True)
class MaskDraw:
    """Where one example is masked, and the Poisson draws that placed the spans (zeros included)."""

    masked: torch.Tensor  # bool, one per position
    lengths: list[int]


@dataclass(frozen=True)
class TextInfilling:
    """Text infilling over one dictionary; ``noise(tokens, generator)`` returns the noised source."""

    config: InfillingConfig
    is_special: torch.Tensor
    mask_idx: int
    random_range: tuple[int, int]

    @classmethod
    def for_symbols(cls, config: InfillingConfig, symbols: Sequence[str], lang_id: int | None = None
                    ) -> TextInfilling:
        return cls(config, special_table(symbols, lang_id), symbols.index(seq.MASK), regular_range(symbols))

    def draw(self, tokens: torch.Tensor, generator: torch.Generator) -> MaskDraw:
        """Masked positions: exactly the example's budget of maskable tokens, in Poisson spans."""
        maskable = (~self.is_special[tokens]).tolist()
        size = len(maskable)
        candidates = [i for i, ok in enumerate(maskable) if ok]
        exact = self.config.ratio * len(candidates)
        budget = math.floor(exact) + int(float(torch.rand((), generator=generator)) < exact - math.floor(exact))
        masked = [False] * size
        lengths: list[int] = []
        if budget == 0:
            return MaskDraw(torch.zeros(size, dtype=torch.bool), lengths)
        # stop[i]: the first special position at or after i (a span never crosses one)
        stop, nxt = [size] * size, size
        for i in range(size - 1, -1, -1):
            nxt = nxt if maskable[i] else i
            stop[i] = nxt
        draws = _Stream(lambda n: torch.poisson(torch.full((n,), self.config.poisson_lambda), generator=generator),
                        max(budget, 8))
        uniforms = _Stream(lambda n: torch.rand(n, generator=generator), max(budget, 8))
        total = 0
        while total < budget:
            length = int(draws.next())
            lengths.append(length)
            if length == 0:
                continue
            start = candidates[int(uniforms.next() * len(candidates))]
            while masked[start]:  # uniform over the unmasked candidates, by rejection
                start = candidates[int(uniforms.next() * len(candidates))]
            i = start
            while i < min(start + length, stop[start]) and total < budget:
                if not masked[i]:
                    masked[i] = True
                    total += 1
                i += 1
        return MaskDraw(torch.tensor(masked, dtype=torch.bool), lengths)

    def __call__(self, tokens: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        masked = self.draw(tokens, generator).masked
        if not bool(masked.any()):
            return tokens
        run_start = masked & ~torch.cat([torch.zeros(1, dtype=torch.bool), masked[:-1]])
        if self.config.replace_length == 1:
            replaced, keep = run_start, ~masked | run_start
        elif self.config.replace_length == -1:
            replaced, keep = masked, torch.ones_like(masked)
        else:
            replaced, keep = torch.zeros_like(masked), ~masked
        noised = torch.where(replaced, self._fill(tokens.numel(), generator), tokens)
        return noised[keep]

    def _fill(self, size: int, generator: torch.Generator) -> torch.Tensor:
        """What replaces a masked run: ``<mask>``, or a random regular token."""
        fill = torch.full((size,), self.mask_idx, dtype=torch.long)
        if self.config.random_ratio > 0:
            use_random = torch.rand(size, generator=generator) < self.config.random_ratio
            randoms = torch.randint(*self.random_range, (size,), generator=generator)
            fill = torch.where(use_random, randoms, fill)
        return fill
