"""Batched beam search with a forced decoder prefix, and GENRE's prefix-trie constraint.

The search only sees a ``step`` function (rows, tokens, lengths) → log-probs of the next token, so the
same code runs over a fairseq or a Hugging Face model and both give the same hypotheses. Every setting
is explicit in :class:`BeamSettings`: nothing is inherited from a model's generation config.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import torch

StepFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
AllowedFn = Callable[[int, list[int]], list[int]]


@dataclass(frozen=True)
class BeamSettings:
    """Beam search settings. ``no_repeat_ngram_size`` is 0: KILM's probe bans no n-gram."""

    beam: int = 4
    max_new_tokens: int = 64
    length_penalty: float = 1.0
    no_repeat_ngram_size: int = 0
    stop_ids: tuple[int, ...] = ()
    banned_ids: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.no_repeat_ngram_size:
            raise ValueError("n-gram bans are not implemented: KILM's probe uses none")
        if not self.stop_ids:
            raise ValueError("beam search needs at least one stop id")


@dataclass(frozen=True)
class Hypothesis:
    """Generated tokens (the stop token excluded), their summed log-prob and the length-normalised score."""

    tokens: list[int]
    logprob: float
    score: float


@dataclass
class _Example:
    finished: list[Hypothesis] = field(default_factory=list)
    done: bool = False


def beam_search(step: StepFn, prefixes: Sequence[Sequence[int]], settings: BeamSettings, pad: int,
                allowed: AllowedFn | None = None) -> list[Hypothesis]:
    """The best hypothesis for each prefix; ``step`` gets beam rows laid out ``example * beam + k``.

    ``allowed(example, generated_so_far)`` restricts the next token (GENRE's ``prefix_allowed_tokens_fn``).
    """
    n, k = len(prefixes), settings.beam
    width = max(len(p) for p in prefixes) + settings.max_new_tokens
    tokens = torch.full((n * k, width), pad, dtype=torch.long)
    lengths = torch.zeros(n * k, dtype=torch.long)
    for i, p in enumerate(prefixes):
        tokens[i * k : (i + 1) * k, : len(p)] = torch.tensor(p, dtype=torch.long)
        lengths[i * k : (i + 1) * k] = len(p)
    start = lengths.clone()
    scores = torch.full((n, k), float("-inf"))
    scores[:, 0] = 0.0  # the k copies of a prefix would otherwise fill the beam with one hypothesis
    scores = scores.view(-1)
    examples = [_Example() for _ in range(n)]
    rows = torch.arange(n).repeat_interleave(k)
    for t in range(settings.max_new_tokens):
        logprobs = step(rows, tokens, lengths).float()
        logprobs[:, list(settings.banned_ids)] = float("-inf")
        if allowed is not None:
            logprobs = _constrain(logprobs, allowed, rows, tokens, start, lengths)
        candidates = (scores[:, None] + logprobs).view(n, -1)
        top_scores, top_index = candidates.topk(min(2 * k, candidates.shape[1]), dim=1)
        last = t == settings.max_new_tokens - 1
        new_tokens, new_lengths, new_scores = tokens.clone(), lengths.clone(), torch.full((n * k,), float("-inf"))
        for i, ex in enumerate(examples):
            if ex.done:
                continue
            filled = 0
            for s, idx in zip(top_scores[i].tolist(), top_index[i].tolist()):
                if s == float("-inf") or filled == k:
                    break
                src, tok = i * k + idx // logprobs.shape[1], idx % logprobs.shape[1]
                generated = tokens[src, start[src] : lengths[src]].tolist()
                if tok in settings.stop_ids:
                    if len(ex.finished) < k:
                        ex.finished.append(_hypothesis(generated, s, len(generated) + 1, settings))
                    continue
                if last:
                    ex.finished.append(_hypothesis([*generated, tok], s, len(generated) + 1, settings))
                    continue
                dst = i * k + filled
                new_tokens[dst] = tokens[src]
                new_tokens[dst, lengths[src]] = tok
                new_lengths[dst] = lengths[src] + 1
                new_scores[dst] = s
                filled += 1
            ex.done = len(ex.finished) >= k or filled == 0 or last
        tokens, lengths, scores = new_tokens, new_lengths, new_scores
        if all(ex.done for ex in examples):
            break
    return [max(ex.finished, key=lambda h: h.score) if ex.finished else Hypothesis([], float("-inf"), float("-inf"))
            for ex in examples]


def _hypothesis(generated: list[int], logprob: float, length: int, settings: BeamSettings) -> Hypothesis:
    return Hypothesis(generated, logprob, logprob / (length ** settings.length_penalty))


def _constrain(logprobs: torch.Tensor, allowed: AllowedFn, rows: torch.Tensor, tokens: torch.Tensor,
               start: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    mask = torch.full_like(logprobs, float("-inf"))
    for r in range(logprobs.shape[0]):
        ids = allowed(int(rows[r]), tokens[r, start[r] : lengths[r]].tolist())
        mask[r, ids] = 0.0
    return logprobs + mask


class PrefixTrie:
    """GENRE's constraint: the generated tokens must stay a prefix of one of the given sequences."""

    def __init__(self, sequences: Iterable[Sequence[int]], end: int) -> None:
        self.end = end
        self.root: dict[int, dict] = {}
        for s in sequences:
            node = self.root
            for tok in [*s, end]:
                node = node.setdefault(tok, {})

    def allowed(self, prefix: Sequence[int]) -> list[int]:
        """Tokens that continue ``prefix`` inside the trie; an unknown prefix may only end (never ``[]``,
        which would block every token and leave the beam empty)."""
        node = self.root
        for tok in prefix:
            node = node.get(tok)
            if node is None:
                return [self.end]
        return list(node) or [self.end]
