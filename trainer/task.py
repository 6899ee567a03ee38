"""The ``kilm`` fairseq task: knowledge infilling with BART text infilling on the rest of the source.

Reads the pipeline's ``bin/shardK`` directories (``--data bin/shard0:bin/shard1:...``; one shard per
epoch, valid/test from the first) whose ``dict.txt`` already holds ``<mask>`` and the KILM tokens.
"""

import logging
import os
from dataclasses import dataclass, field
from typing import Optional

from fairseq import utils
from fairseq.data import Dictionary, data_utils
from fairseq.data.indexed_dataset import get_available_dataset_impl
from fairseq.dataclass import ChoiceEnum, FairseqDataclass
from fairseq.tasks import FairseqTask, register_task
from omegaconf import II, MISSING

from kilm.sequence import SpecialIds, language_codes

from .noising import PLAIN_FORMS, KnowledgePairDataset, TextInfilling, TextInfillingDataset, special_lookup

logger = logging.getLogger(__name__)

PLAIN_FORM_CHOICES = ChoiceEnum(list(PLAIN_FORMS))
DATASET_IMPL_CHOICES = ChoiceEnum(get_available_dataset_impl())


@dataclass
class KilmConfig(FairseqDataclass):
    data: str = field(
        default=MISSING,
        metadata={"help": "colon-separated shard directories (bin/shard0:bin/shard1:...), one per epoch"},
    )
    mask: float = field(
        default=0.3, metadata={"help": "text infilling: share of non-special source tokens masked (0: off)"}
    )
    mask_random: float = field(
        default=0.0, metadata={"help": "text infilling: share of masked spans replaced by a random token"}
    )
    replace_length: int = field(
        default=1, metadata={"help": "a masked span becomes 1 <mask> (1), nothing (0), or one <mask> per token (-1)"}
    )
    poisson_lambda: float = field(
        default=3.0, metadata={"help": "text infilling: mean span length (Poisson); KILM 3.0, BART 3.5"}
    )
    plain_share: float = field(
        default=0.1,
        metadata={"help": "share of knowledge rows trained as plain text infilling instead (per epoch)"},
    )
    plain_form: PLAIN_FORM_CHOICES = field(
        default="remove",
        metadata={"help": "plain examples keep the knowledge span on both sides, or remove it with its markers"},
    )
    lang_token: Optional[str] = field(  # noqa: UP045
        default=None,
        metadata={"help": "mBART: the text's language token ([uk_UA]), put after </s> on both sides and at the "
                          "start of the decoder input, as mBART pretraining does (the launcher reads it from "
                          "the pipeline's manifest.json)"},
    )
    max_source_positions: int = field(default=1024, metadata={"help": "max tokens in the source sequence"})
    max_target_positions: int = field(default=1024, metadata={"help": "max tokens in the target sequence"})
    # fairseq resolves these interpolations; its parser reads ``Optional`` but not ``X | None``.
    seed: int = II("common.seed")
    dataset_impl: Optional[DATASET_IMPL_CHOICES] = II("dataset.dataset_impl")  # noqa: RUF009, UP045


@register_task("kilm", dataclass=KilmConfig)
class KilmTask(FairseqTask):
    """Knowledge infilling (KILM, Xu et al. 2023) as continued BART pretraining."""

    cfg: KilmConfig

    def __init__(self, cfg: KilmConfig, dictionary: Dictionary, special: SpecialIds) -> None:
        super().__init__(cfg)
        self.dictionary = dictionary
        self.special = special
        codes = language_codes(dictionary.symbols)
        #: Regular tokens end where mBART's language codes (or ``<mask>``) begin.
        self.regular_end = dictionary.index(codes[0]) if codes else special.mask
        self.lang_id: int | None = None
        if cfg.lang_token:
            if cfg.lang_token not in codes:
                raise ValueError(f"--lang-token {cfg.lang_token}: not one of the dictionary's language tokens "
                                 f"({', '.join(codes) or 'it has none'}; see the pipeline's --language-tokens)")
            self.lang_id = dictionary.index(cfg.lang_token)

    @classmethod
    def setup_task(cls, cfg: KilmConfig, **kwargs) -> "KilmTask":
        paths = utils.split_paths(cfg.data)
        if not paths:
            raise ValueError("--data names no directory")
        dict_path = os.path.join(paths[0], "dict.txt")
        if not os.path.isfile(dict_path):
            raise FileNotFoundError(f"dictionary not found: {dict_path}")
        dictionary = Dictionary.load(dict_path)
        try:
            special = SpecialIds.from_symbols(dictionary.symbols)
        except ValueError as error:
            raise ValueError(f"{dict_path}: {error}") from None
        logger.info("dictionary: %d types (KILM tokens from index %d)", len(dictionary), special.ent)
        return cls(cfg, dictionary, special)

    def load_dataset(self, split: str, epoch: int = 1, combine: bool = False, **kwargs) -> None:
        paths = utils.split_paths(self.cfg.data)
        data_path = paths[(epoch - 1) % len(paths)]
        sides = {}
        for side in ("source", "target"):
            prefix = os.path.join(data_path, f"{split}.{side}")
            sides[side] = data_utils.load_indexed_dataset(prefix, self.dictionary, self.cfg.dataset_impl)
            if sides[side] is None:
                raise FileNotFoundError(f"dataset not found: {prefix}.{{bin,idx}}")
        pairs = KnowledgePairDataset(sides["source"], sides["target"], self.dictionary, self.special, self.lang_id)
        self.datasets[split] = TextInfillingDataset(
            pairs,
            self.build_noise(),
            seed=self.cfg.seed,
            plain_share=self.cfg.plain_share,
            plain_form=self.cfg.plain_form,
        )
        logger.info("%s: %d rows from %s", split, len(pairs), data_path)

    def build_noise(self) -> TextInfilling | None:
        if self.cfg.mask == 0:
            return None
        return TextInfilling(
            is_special=special_lookup(self.dictionary, self.special, self.lang_id),
            mask_idx=self.special.mask,
            random_range=(self.dictionary.nspecial, self.regular_end),
            ratio=self.cfg.mask,
            poisson_lambda=self.cfg.poisson_lambda,
            replace_length=self.cfg.replace_length,
            random_ratio=self.cfg.mask_random,
        )

    def max_positions(self) -> tuple[int, int]:
        return self.cfg.max_source_positions, self.cfg.max_target_positions

    @property
    def source_dictionary(self) -> Dictionary:
        return self.dictionary

    @property
    def target_dictionary(self) -> Dictionary:
        return self.dictionary
