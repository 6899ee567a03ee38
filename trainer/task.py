"""The ``kilm`` fairseq task: knowledge infilling with BART text infilling on the rest of the source.

Reads the pipeline's ``bin/shardK`` directories (``--data bin/shard0:bin/shard1:...``; one shard per
epoch, valid/test from the first) whose ``dict.txt`` already holds ``<mask>`` and the KILM tokens.
The train split offers one row per paragraph per pass (``{split}.rows.jsonl.gz`` names each row's
paragraph); a pass is one epoch per shard. Valid and test keep every row: their loss is the same set
of rows every epoch, as KILM's validation (which keeps every mention) is.
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

from kilm.dictionary import language_codes
from kilm.noise import InfillingConfig, TextInfilling
from kilm.sequence import SpecialIds

from .noising import PLAIN_FORMS, KnowledgePairDataset, ParagraphDrawDataset, TextInfillingDataset
from .rows import draw_donors, read_rows

logger = logging.getLogger(__name__)

PLAIN_FORM_CHOICES = ChoiceEnum(list(PLAIN_FORMS))
DATASET_IMPL_CHOICES = ChoiceEnum(get_available_dataset_impl())


@dataclass
class KilmConfig(FairseqDataclass):
    data: str = field(
        default=MISSING,
        metadata={"help": "colon-separated shard directories (bin/shard0:bin/shard1:...), one per epoch"},
    )
    mask: float = field(default=InfillingConfig.ratio, metadata={
        "help": "text infilling: share of non-special source tokens masked, on average (0: off)"})
    mask_random: float = field(default=InfillingConfig.random_ratio, metadata={
        "help": "text infilling: share of masked runs replaced by a random token"})
    replace_length: int = field(default=InfillingConfig.replace_length, metadata={
        "help": "a masked run becomes 1 <mask> (1), nothing (0), or one <mask> per token (-1)"})
    poisson_lambda: float = field(default=InfillingConfig.poisson_lambda, metadata={
        "help": "text infilling: mean span length (Poisson); KILM 3.0, BART 3.5"})
    plain_share: float = field(
        default=0.0,
        metadata={"help": "share of knowledge rows trained as plain text infilling instead, drawn per epoch "
                          "(0: none, as KILM; 1 with --plain-form remove: the control model)"},
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
    shuffle_knowledge: bool = field(
        default=False,
        metadata={"help": "control_shuffled: every knowledge span is swapped for another entity's span of the "
                          "same split (drawn per row from the seed): the KILM format without true knowledge"},
    )
    max_source_positions: int = field(default=1024, metadata={"help": "max tokens in the source sequence"})
    max_target_positions: int = field(default=1024, metadata={"help": "max tokens in the target sequence"})
    # fairseq resolves these interpolations; its parser reads ``Optional`` but not ``X | None``.
    seed: int = II("common.seed")
    train_subset: str = II("dataset.train_subset")
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
        train = split == self.cfg.train_subset
        rows = None
        if train or self.cfg.shuffle_knowledge:
            rows = read_rows(os.path.join(data_path, f"{split}.rows.jsonl.gz"))
            if len(rows) != len(sides["target"]):
                raise ValueError(f"{data_path}/{split}.rows.jsonl.gz: {len(rows)} rows for "
                                 f"{len(sides['target'])} binarized rows")
        swap = {}
        if self.cfg.shuffle_knowledge:
            swap = {"donors": draw_donors(rows.entity, self.cfg.seed), "span_lengths": rows.span_length}
        pairs = KnowledgePairDataset(sides["source"], sides["target"], self.dictionary, self.special, self.lang_id,
                                     **swap)
        dataset = TextInfillingDataset(
            pairs,
            self.build_noise(),
            seed=self.cfg.seed,
            plain_share=self.cfg.plain_share,
            plain_form=self.cfg.plain_form,
        )
        if train:
            dataset = ParagraphDrawDataset(dataset, rows.paragraph, seed=self.cfg.seed, shards_per_pass=len(paths))
            logger.info("%s: %d rows of %d paragraphs from %s (one row per paragraph per pass)", split,
                        len(pairs), int(rows.paragraph.max(initial=-1)) + 1, data_path)
        else:
            logger.info("%s: %d rows from %s", split, len(pairs), data_path)
        self.datasets[split] = dataset

    def build_noise(self) -> TextInfilling | None:
        if self.cfg.mask == 0:
            return None
        config = InfillingConfig(ratio=self.cfg.mask, poisson_lambda=self.cfg.poisson_lambda,
                                 replace_length=self.cfg.replace_length, random_ratio=self.cfg.mask_random)
        return TextInfilling.for_symbols(config, self.dictionary.symbols, self.lang_id)

    def max_positions(self) -> tuple[int, int]:
        return self.cfg.max_source_positions, self.cfg.max_target_positions

    @property
    def source_dictionary(self) -> Dictionary:
        return self.dictionary

    @property
    def target_dictionary(self) -> Dictionary:
        return self.dictionary
