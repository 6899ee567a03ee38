"""The data side of the ``kilm`` task: knowledge-infilling pairs, then BART text infilling on top.

``KnowledgePairDataset`` is the text before noise: the pipeline's rows with ``<s>`` prepended (BART's
input format) and the position of the knowledge span in the target. ``TextInfillingDataset`` wraps it
and, per example and epoch, turns a share of knowledge rows into plain text-infilling examples and
applies ``TextInfilling`` to the source. Both draw from one ``torch.Generator`` seeded by
(seed, epoch, index), so masks are fresh every epoch, identical across workers and after a resume.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from fairseq.data import BaseWrapperDataset, Dictionary, FairseqDataset, data_utils

from kilm.sequence import SpecialIds

Item = dict[str, Any]

PLAIN_FORMS = ("keep", "remove")


def example_seed(seed: int, epoch: int, index: int) -> int:
    """A 63-bit seed for one example in one epoch (stable across processes, unlike ``hash``)."""
    return ((int(seed) * 1_000_003 + int(epoch)) * 1_000_003 + int(index)) % (2**63)


def special_lookup(dictionary: Dictionary, special: SpecialIds, lang_id: int | None = None) -> torch.Tensor:
    """Boolean table over the vocabulary: fairseq's specials, ``<mask>``, the KILM tokens and the
    language token (mBART) if any."""
    table = torch.zeros(len(dictionary), dtype=torch.bool)
    table[: dictionary.nspecial] = True
    table[[special.mask, *special.kilm, *([] if lang_id is None else [lang_id])]] = True
    return table


def find_span(target: torch.Tensor, special: SpecialIds) -> tuple[int, int] | None:
    """``(start, end)`` of ``title <sep> description`` in a target, or ``None`` for a plain row."""
    opens = (target == special.desc).nonzero()
    if opens.numel() == 0:
        return None
    start = int(opens[0]) + 1
    closes = (target[start:] == special.desc_end).nonzero()
    if closes.numel() == 0:
        raise ValueError("target has <ent_desc> without </ent_desc>")
    return start, start + int(closes[0])


class KnowledgePairDataset(FairseqDataset):
    """Source/target rows as binarized (ids + ``</s>``), with ``<s>`` prepended to both, and for mBART
    the language token appended to both (``<s> ... </s> [uk_UA]``; the decoder input then starts with it).

    Items: ``{id, source, target, span}``, where ``target[span[0]:span[1]]`` is the knowledge span and
    ``span`` is ``None`` for plain rows (source == target).
    """

    def __init__(self, source: FairseqDataset, target: FairseqDataset, dictionary: Dictionary,
                 special: SpecialIds, lang_id: int | None = None) -> None:
        if len(source) != len(target):
            raise ValueError(f"{len(source)} source rows but {len(target)} target rows")
        self.source = source
        self.target = target
        self.dictionary = dictionary
        self.special = special
        self.lang_id = lang_id
        self._bos = torch.tensor([dictionary.bos()])
        self._end = torch.tensor([] if lang_id is None else [lang_id], dtype=torch.long)
        added = 1 + len(self._end)
        self.src_sizes = np.asarray(source.sizes) + added
        self.tgt_sizes = np.asarray(target.sizes) + added

    def __getitem__(self, index: int) -> Item:
        source = torch.cat([self._bos, self.source[index].long(), self._end])
        target = torch.cat([self._bos, self.target[index].long(), self._end])
        span = find_span(target, self.special)
        if span is not None:
            where = (source == self.special.desc).nonzero()
            if where.numel() == 0 or source[int(where[0]) + 1] != self.special.mask:
                raise ValueError(f"row {index}: the source does not mask the knowledge span with one <mask>")
        return {"id": index, "source": source, "target": target, "span": span}

    def __len__(self) -> int:
        return len(self.source)

    def num_tokens(self, index: int) -> int:
        return max(self.src_sizes[index], self.tgt_sizes[index])

    def num_tokens_vec(self, indices: np.ndarray) -> np.ndarray:
        return np.maximum(self.src_sizes[indices], self.tgt_sizes[indices])

    def size(self, index: int) -> tuple[int, int]:
        return self.src_sizes[index], self.tgt_sizes[index]

    @property
    def sizes(self) -> np.ndarray:
        return np.stack([self.src_sizes, self.tgt_sizes], axis=1)

    def filter_indices_by_size(self, indices: np.ndarray, max_sizes: tuple[int, int]) -> tuple[np.ndarray, list[int]]:
        return data_utils.filter_paired_dataset_indices_by_size(self.src_sizes, self.tgt_sizes, indices, max_sizes)

    def ordered_indices(self) -> np.ndarray:
        """By target then source length, so batches waste little padding (fairseq shuffles batches)."""
        return np.lexsort((self.src_sizes, self.tgt_sizes))

    def collater(self, samples: list[Item]) -> Item:
        last = self.dictionary.eos() if self.lang_id is None else self.lang_id
        return collate(samples, self.dictionary.pad(), last)


def collate(samples: list[Item], pad: int, eos: int) -> Item:
    """fairseq's seq2seq batch, plus ``target_span``: a boolean mask of knowledge-span target tokens.

    ``eos`` is the token that ends every target and starts the decoder input: ``</s>`` (BART) or the
    language token (mBART).
    """
    if not samples:
        return {}
    sources = [s["source"] for s in samples]
    targets = [s["target"] for s in samples]
    target = data_utils.collate_tokens(targets, pad)
    target_span = torch.zeros_like(target, dtype=torch.bool)
    for row, sample in enumerate(samples):
        if sample["span"] is not None:
            target_span[row, sample["span"][0] : sample["span"][1]] = True
    return {
        "id": torch.tensor([s["id"] for s in samples]),
        "nsentences": len(samples),
        "ntokens": sum(len(t) for t in targets),
        "net_input": {
            "src_tokens": data_utils.collate_tokens(sources, pad),
            "src_lengths": torch.tensor([len(s) for s in sources]),
            "prev_output_tokens": data_utils.collate_tokens(targets, pad, eos_idx=eos, move_eos_to_beginning=True),
        },
        "target": target,
        "target_span": target_span,
    }


@dataclass(frozen=True)
class TextInfilling:
    """BART text infilling on one sequence, never touching special tokens.

    ``ceil(ratio * n)`` of the ``n`` maskable tokens are budgeted per example; span lengths are drawn
    from Poisson(``poisson_lambda``) until the budget is spent (a zero-length span inserts a ``<mask>``).
    A span stops at the first special token, so ``<s>``, ``</s>``, the KILM tokens and the knowledge
    span's ``<mask>`` always survive. ``replace_length``: 1 replaces a span by one ``<mask>``, 0 deletes
    it, -1 masks each token. A ``random_ratio`` share of replacements is a random regular token instead.
    """

    is_special: torch.Tensor
    mask_idx: int
    random_range: tuple[int, int]
    ratio: float = 0.3
    poisson_lambda: float = 3.0
    replace_length: int = 1
    random_ratio: float = 0.0

    def __post_init__(self) -> None:
        if self.replace_length not in (-1, 0, 1):
            raise ValueError(f"replace_length must be -1, 0 or 1, got {self.replace_length}")
        if not 0.0 <= self.ratio <= 1.0 or not 0.0 <= self.random_ratio <= 1.0:
            raise ValueError(f"mask ratios must lie in [0, 1], got {self.ratio} and {self.random_ratio}")

    def __call__(self, tokens: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        maskable = ~self.is_special[tokens]
        candidates = maskable.nonzero().squeeze(1)
        budget = math.ceil(self.ratio * candidates.numel())
        if budget == 0:
            return tokens
        lengths = self._span_lengths(budget, generator)[: candidates.numel()]
        starts = candidates[torch.randperm(candidates.numel(), generator=generator)[: lengths.numel()]]
        inserts, starts, lengths = starts[lengths == 0], starts[lengths > 0], lengths[lengths > 0]

        blocked = (~maskable).nonzero().squeeze(1)  # never empty: </s> ends every sequence
        ends = torch.minimum(starts + lengths, blocked[torch.searchsorted(blocked, starts)])
        size = tokens.numel()
        depth = torch.zeros(size + 1, dtype=torch.long)
        depth.index_add_(0, starts, torch.ones_like(starts))
        depth.index_add_(0, ends, -torch.ones_like(ends))
        covered = depth.cumsum(0)[:size] > 0
        is_start = torch.zeros(size, dtype=torch.bool)
        is_start[starts] = True

        if self.replace_length == -1:
            replaced, keep = covered, torch.ones(size, dtype=torch.bool)
        elif self.replace_length == 1:
            replaced, keep = is_start, ~covered | is_start
        else:
            replaced, keep = torch.zeros(size, dtype=torch.bool), ~covered
        fill = self._fill(size, generator)
        noised = torch.where(replaced, fill, tokens)
        inserted = torch.zeros(size, dtype=torch.bool)
        inserted[inserts] = True
        # Each position contributes [inserted <mask>?, token?], in that order.
        pieces = torch.stack([self._fill(size, generator), noised], dim=1)
        return pieces[torch.stack([inserted, keep], dim=1)]

    def _span_lengths(self, budget: int, generator: torch.Generator) -> torch.Tensor:
        """Poisson span lengths whose sum is exactly ``budget`` (the last one is cut)."""
        rate = torch.full((budget,), self.poisson_lambda)
        lengths = torch.poisson(rate, generator=generator).long()
        while int(lengths.sum()) < budget:
            lengths = torch.cat([lengths, torch.poisson(rate, generator=generator).long()])
        total = lengths.cumsum(0)
        last = int(torch.searchsorted(total, budget))
        lengths = lengths[: last + 1].clone()
        lengths[last] = budget - (int(total[last - 1]) if last > 0 else 0)
        return lengths

    def _fill(self, size: int, generator: torch.Generator) -> torch.Tensor:
        """What replaces a masked position: ``<mask>``, or a random regular token."""
        fill = torch.full((size,), self.mask_idx, dtype=torch.long)
        if self.random_ratio > 0:
            use_random = torch.rand(size, generator=generator) < self.random_ratio
            randoms = torch.randint(*self.random_range, (size,), generator=generator)
            fill = torch.where(use_random, randoms, fill)
        return fill


def to_plain(item: Item, special: SpecialIds, form: str) -> Item:
    """A knowledge row as a plain text-infilling example: the span kept on both sides, or removed
    (with its ``<ent>``/``</ent>`` markers) so that only the paragraph's own text is left.
    """
    target = item["target"]
    if form == "remove":
        start, end = item["span"]
        keep = ~torch.isin(target, torch.tensor([special.ent, special.ent_end]))
        keep[start - 1 : end + 1] = False
        target = target[keep]
    return {**item, "source": target.clone(), "target": target, "span": None}


class TextInfillingDataset(BaseWrapperDataset):
    """Applies the per-epoch noise to a ``KnowledgePairDataset``; the target is never noised."""

    def __init__(self, dataset: KnowledgePairDataset, noise: TextInfilling | None, *, seed: int,
                 plain_share: float = 0.0, plain_form: str = "remove") -> None:
        super().__init__(dataset)
        if plain_form not in PLAIN_FORMS:
            raise ValueError(f"plain_form must be one of {PLAIN_FORMS}, got {plain_form!r}")
        if not 0.0 <= plain_share <= 1.0:
            raise ValueError(f"plain_share must lie in [0, 1], got {plain_share}")
        self.noise = noise
        self.seed = seed
        self.plain_share = plain_share
        self.plain_form = plain_form
        self.epoch = 1

    def set_epoch(self, epoch: int) -> None:
        super().set_epoch(epoch)
        self.epoch = epoch

    def __getitem__(self, index: int) -> Item:
        item = self.dataset[index]
        generator = torch.Generator().manual_seed(example_seed(self.seed, self.epoch, index))
        plain = self.plain_share > 0 and float(torch.rand((), generator=generator)) < self.plain_share
        if plain and item["span"] is not None:
            item = to_plain(item, self.dataset.special, self.plain_form)
        if self.noise is not None:
            item = {**item, "source": self.noise(item["source"], generator)}
        return item

    @property
    def can_reuse_epoch_itr_across_epochs(self) -> bool:
        return True  # sizes are upper bounds; only the noise changes with the epoch
