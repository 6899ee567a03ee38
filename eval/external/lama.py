"""LAMA probes as BART cloze: ``[MASK]`` becomes ``<mask>``, the decoder is forced with the text before it
and continues; the first generated word(s) are compared with ``obj_label``.

As LAMA: precision at 1 per relation and their mean over relations; Google-RE facts that most raters
judged "no" are skipped. One sentence per fact (T-REx's first evidence, Google-RE's first masked
sentence, each the first with exactly one ``[MASK]``). Words are compared after the probe metrics'
normalisation (:func:`eval.metrics.tokens`: case-folded, punctuation dropped); an object of several
words must match that many generated words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tqdm import tqdm

from eval.external.readers import LAMA_MASK, Cloze
from eval.metrics import tokens
from eval.models import KilmModel
from kilm import sequence as seq

#: Generated tokens beyond the longest object of a batch: room to see where the word ends.
EXTRA_TOKENS = 3


@dataclass(frozen=True)
class ClozeRecord:
    id: str
    relation: str
    answer: str
    generated: str
    correct: bool


def cloze_ids(model: KilmModel, sentence: str) -> tuple[list[int], list[int]] | None:
    """(source row, decoder prefix) of a sentence with one ``[MASK]``; None if it does not fit the model.

    The space before the mask goes with the masked word, as BART's text infilling saw it."""
    left, right = sentence.split(LAMA_MASK)
    tok = model.tokenizer
    head = tok.encode(left.rstrip())
    source = [*head, tok.special.mask, *tok.encode(right), seq.EOS]
    if len(source) + 1 > model.max_positions:
        return None
    return source, model.decoder_prefix(head)


def matches(generated: str, answer: str) -> bool:
    """The first words of the generated text are the object's words."""
    want = tokens(answer)
    return bool(want) and tokens(generated)[: len(want)] == want


def run_cloze(model: KilmModel, facts: Sequence[Cloze], batch_size: int = 16, beam: int = 4,
              progress: bool = True) -> tuple[list[ClozeRecord], int]:
    """Records in fact order, and how many facts did not fit the model."""
    prepared = [(f, ids) for f in facts if (ids := cloze_ids(model, f.sentence)) is not None]
    records = []
    batches = [prepared[i : i + batch_size] for i in range(0, len(prepared), batch_size)]
    for batch in tqdm(batches, desc="lama", unit="batch", disable=not progress):
        budget = max(len(model.tokenizer.encode(" " + f.answer)) for f, _ in batch) + EXTRA_TOKENS
        hyps = model.generate([s for _, (s, _) in batch], [p for _, (_, p) in batch],
                              model.probe_settings(beam, budget))
        for (fact, _), hyp in zip(batch, hyps):
            generated = model.tokenizer.decode(hyp.tokens)
            records.append(ClozeRecord(fact.id, fact.relation, fact.answer, generated,
                                       matches(generated, fact.answer)))
    return records, len(facts) - len(prepared)
