"""The data side of the ``kilm`` task: knowledge-infilling pairs, then BART text infilling on top.

``KnowledgePairDataset`` is the text before noise: the pipeline's rows with ``<s>`` prepended (BART's
input format) and the position of the knowledge span in the target (for ``control_shuffled``, another
entity's span in its place). ``TextInfillingDataset`` wraps it and, per example and epoch, turns a
share of knowledge rows into plain text-infilling examples and applies ``kilm.noise.TextInfilling`` to
the source; both draw from one ``torch.Generator`` seeded by (seed, epoch, index), so masks are fresh
every epoch, identical across workers and after a resume. ``ParagraphDrawDataset`` is the outermost
layer: each epoch it offers fairseq one row per paragraph (``trainer.rows.draw_rows``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from fairseq.data import BaseWrapperDataset, Dictionary, FairseqDataset, data_utils

from kilm.noise import TextInfilling, example_generator
from kilm.sequence import SpecialIds

from .rows import draw_rows

Item = dict[str, Any]

PLAIN_FORMS = ("keep", "remove")


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

    With ``donors`` (``control_shuffled``), row ``i``'s knowledge span is replaced in the target by the
    span of row ``donors[i]`` (another entity's; ``-1``: unchanged); ``span_lengths`` are the rows' span
    lengths (0 for plain rows), so that the target sizes are known before any row is read.
    """

    def __init__(self, source: FairseqDataset, target: FairseqDataset, dictionary: Dictionary,
                 special: SpecialIds, lang_id: int | None = None, *, donors: np.ndarray | None = None,
                 span_lengths: np.ndarray | None = None) -> None:
        if len(source) != len(target):
            raise ValueError(f"{len(source)} source rows but {len(target)} target rows")
        self.source = source
        self.target = target
        self.dictionary = dictionary
        self.special = special
        self.lang_id = lang_id
        self.donors = donors
        self._bos = torch.tensor([dictionary.bos()])
        self._end = torch.tensor([] if lang_id is None else [lang_id], dtype=torch.long)
        added = 1 + len(self._end)
        self.src_sizes = np.asarray(source.sizes) + added
        self.tgt_sizes = np.asarray(target.sizes) + added
        if donors is not None:
            if span_lengths is None or len(donors) != len(target) or len(span_lengths) != len(target):
                raise ValueError(f"donors and span_lengths must have one entry per row ({len(target)})")
            swapped = donors >= 0
            self.tgt_sizes = self.tgt_sizes.copy()
            self.tgt_sizes[swapped] += span_lengths[donors[swapped]] - span_lengths[swapped]

    def _target(self, index: int) -> torch.Tensor:
        return torch.cat([self._bos, self.target[index].long(), self._end])

    def __getitem__(self, index: int) -> Item:
        source = torch.cat([self._bos, self.source[index].long(), self._end])
        target = self._target(index)
        span = find_span(target, self.special)
        if span is not None:
            where = (source == self.special.desc).nonzero()
            if where.numel() == 0 or source[int(where[0]) + 1] != self.special.mask:
                raise ValueError(f"row {index}: the source does not mask the knowledge span with one <mask>")
            if self.donors is not None and self.donors[index] >= 0:
                donor = self._target(int(self.donors[index]))
                donor_span = find_span(donor, self.special)
                if donor_span is None:
                    raise ValueError(f"row {index}: its donor row {int(self.donors[index])} has no knowledge span")
                inserted = donor[donor_span[0] : donor_span[1]]
                target = torch.cat([target[: span[0]], inserted, target[span[1] :]])
                span = (span[0], span[0] + len(inserted))
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
        generator = example_generator(self.seed, self.epoch, index)
        plain = self.plain_share > 0 and float(torch.rand((), generator=generator)) < self.plain_share
        if plain and item["span"] is not None:
            item = to_plain(item, self.dataset.special, self.plain_form)
        if self.noise is not None:
            item = {**item, "source": self.noise(item["source"], generator)}
        return item


class ParagraphDrawDataset(BaseWrapperDataset):
    """One row per paragraph per pass: each epoch, ``ordered_indices`` gives fairseq only the rows drawn
    for that epoch's pass (``paragraphs[i]``: row ``i``'s paragraph code), by size as the inner dataset.

    A pass is ``shards_per_pass`` epochs (fairseq reads one shard per epoch). Indices stay the inner
    dataset's, so the noise of a row is still seeded by (seed, epoch, row).
    """

    def __init__(self, dataset: FairseqDataset, paragraphs: np.ndarray, *, seed: int, shards_per_pass: int = 1
                 ) -> None:
        super().__init__(dataset)
        if len(paragraphs) != len(dataset):
            raise ValueError(f"{len(paragraphs)} paragraph codes for {len(dataset)} rows")
        self.paragraphs = paragraphs
        self.seed = seed
        self.shards_per_pass = shards_per_pass
        self.epoch = 1

    def set_epoch(self, epoch: int) -> None:
        super().set_epoch(epoch)
        self.epoch = epoch

    @property
    def pass_index(self) -> int:
        return (self.epoch - 1) // self.shards_per_pass

    def ordered_indices(self) -> np.ndarray:
        chosen = draw_rows(self.paragraphs, self.seed, self.pass_index)
        sizes = self.dataset.sizes
        return chosen[np.lexsort((sizes[chosen, 0], sizes[chosen, 1]))]

    @property
    def can_reuse_epoch_itr_across_epochs(self) -> bool:
        return False  # the rows on offer change with the pass
