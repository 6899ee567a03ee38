"""Cross-entropy over the whole target, with the knowledge span and the rest logged apart.

KILM trains with plain cross-entropy; what it adds is visible only in the knowledge-span tokens, so
``loss_span`` (target tokens of ``title <sep> description``) and ``loss_text`` (all other tokens) are
logged separately. ``--span-weight`` scales the span part of the training loss (1.0 = KILM).
"""

import math
from dataclasses import dataclass, field
from typing import Any

import torch.nn.functional as F
from fairseq import utils
from fairseq.criterions import FairseqCriterion, register_criterion
from fairseq.dataclass import FairseqDataclass
from fairseq.logging import metrics
from omegaconf import II


@dataclass
class KilmCrossEntropyConfig(FairseqDataclass):
    span_weight: float = field(
        default=1.0,
        metadata={"help": "weight of the loss on knowledge-span target tokens; 1.0 is plain cross-entropy"},
    )
    sentence_avg: bool = II("optimization.sentence_avg")


@register_criterion("kilm_cross_entropy", dataclass=KilmCrossEntropyConfig)
class KilmCrossEntropyCriterion(FairseqCriterion):
    """Token-level cross-entropy; batches without ``target_span`` count every token as text."""

    def __init__(self, task, span_weight: float, sentence_avg: bool) -> None:
        super().__init__(task)
        self.span_weight = span_weight
        self.sentence_avg = sentence_avg

    def forward(self, model, sample: dict[str, Any], reduce: bool = True):
        net_output = model(**sample["net_input"])
        lprobs = model.get_normalized_probs(net_output, log_probs=True)
        target = model.get_targets(sample, net_output)
        nll = F.nll_loss(lprobs.view(-1, lprobs.size(-1)), target.view(-1), ignore_index=self.padding_idx,
                         reduction="none")
        total = nll.sum()
        span = sample.get("target_span")
        if span is None:
            span_loss = total.new_zeros(())
            span_tokens = 0
        else:
            span_loss = nll[span.view(-1)].sum()
            span_tokens = int(span.sum())
        text_loss = total - span_loss
        loss = total + (self.span_weight - 1.0) * span_loss  # exactly ``total`` at weight 1
        sample_size = sample["target"].size(0) if self.sentence_avg else sample["ntokens"]
        logging_output = {
            "loss": loss.data,
            "nll_loss": total.data,
            "loss_span": span_loss.data,
            "loss_text": text_loss.data,
            "ntokens": sample["ntokens"],
            "ntokens_span": span_tokens,
            "nsentences": sample["target"].size(0),
            "sample_size": sample_size,
        }
        return loss, sample_size, logging_output

    @staticmethod
    def reduce_metrics(logging_outputs: list[dict[str, Any]]) -> None:
        """Losses in base 2 per token, as fairseq's ``cross_entropy`` logs them."""

        def total(key: str) -> float:
            return float(sum(log.get(key, 0) for log in logging_outputs))

        ntokens, span_tokens, sample_size = total("ntokens"), total("ntokens_span"), total("sample_size")
        metrics.log_scalar("loss", total("loss") / sample_size / math.log(2), sample_size, round=3)
        metrics.log_scalar("nll_loss", total("nll_loss") / ntokens / math.log(2), ntokens, round=3)
        metrics.log_derived("ppl", lambda meters: utils.get_perplexity(meters["nll_loss"].avg))
        if span_tokens > 0:
            metrics.log_scalar("loss_span", total("loss_span") / span_tokens / math.log(2), span_tokens, round=3)
        if ntokens > span_tokens:
            metrics.log_scalar("loss_text", total("loss_text") / (ntokens - span_tokens) / math.log(2),
                               ntokens - span_tokens, round=3)

    @staticmethod
    def logging_outputs_can_be_summed() -> bool:
        return True

