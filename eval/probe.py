"""Knowledge probe: generate ``title <sep> description`` after each test mention and compare with the gold.

The source is the paragraph with ``<ent> m </ent><ent_desc> <mask> </ent_desc>`` after the mention; the
decoder is forced with the target up to ``<ent_desc>`` and beam search (explicit settings) continues
until ``</ent_desc>``. Seen and unseen entities are reported apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tqdm import tqdm

from eval.data import ProbeItem, fit_window
from eval.metrics import bootstrap_ci, exact_match, rouge_l, token_f1, weighted_mean
from eval.models import KilmModel
from kilm import sequence as seq


@dataclass(frozen=True)
class ProbeRecord:
    """One generated span and its scores (kept for ``predictions.jsonl``)."""

    id: str
    split: str
    gold_title: str
    gold_description: str
    title: str
    description: str
    title_em: float
    desc_f1: float
    desc_rouge_l: float


def decode_span(model: KilmModel, generated: Sequence[int]) -> tuple[str, str]:
    """Generated ids (after ``<ent_desc>``) → (title, description)."""
    s = model.tokenizer.special
    text = model.tokenizer.decode([s.desc, *generated, s.desc_end])
    return seq.split_knowledge_span(seq.extract_generated_span(text))


def run_probe(model: KilmModel, items: Sequence[ProbeItem], batch_size: int = 16, beam: int = 4,
              max_new_tokens: int = 64, progress: bool = True) -> tuple[list[ProbeRecord], int]:
    """Records in item order, and how many items were skipped (the mention alone exceeds the model)."""
    settings = model.probe_settings(beam=beam, max_new_tokens=max_new_tokens)
    prepared = []
    for item in items:
        window = fit_window(item.window, model.tokenizer, model.max_positions, max_new_tokens + 1)
        if window is not None:
            prepared.append((item, model.tokenizer.encode_window(window)))
    skipped = len(items) - len(prepared)
    order = sorted(range(len(prepared)), key=lambda i: -len(prepared[i][1].source))  # similar lengths batch well
    records: dict[int, ProbeRecord] = {}
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    for batch in tqdm(batches, desc="probe", unit="batch", disable=not progress):
        encs = [prepared[i][1] for i in batch]
        hyps = model.generate([e.source for e in encs], [model.decoder_prefix(e.target[: e.span_start]) for e in encs],
                              settings)
        for i, hyp in zip(batch, hyps):
            item = prepared[i][0]
            title, description = decode_span(model, hyp.tokens)
            gold = item.window
            records[i] = ProbeRecord(item.id, item.split, gold.title, gold.description, title, description,
                                     exact_match(title, gold.title), token_f1(description, gold.description),
                                     rouge_l(description, gold.description))
    return [records[i] for i in range(len(prepared))], skipped


_METRICS = {"title_em": "title_em", "desc_f1": "desc_f1", "desc_rougeL": "desc_rouge_l"}


def probe_metrics(records: Sequence[ProbeRecord], seed: int = 0) -> tuple[dict[str, float], dict[str, list[float]]]:
    """``probe_{metric}[_{seen|unseen}]`` in percent, with bootstrap intervals, and item counts."""
    values: dict[str, float] = {}
    ci: dict[str, list[float]] = {}
    groups = {"": records, "_seen": [r for r in records if r.split == "seen"],
              "_unseen": [r for r in records if r.split == "unseen"]}
    for suffix, group in groups.items():
        values[f"probe_n{suffix}"] = len(group)
        for name, attr in _METRICS.items():
            xs = [100.0 * getattr(r, attr) for r in group]
            key = f"probe_{name}{suffix}"
            values[key] = weighted_mean(xs)
            ci[key] = list(bootstrap_ci(xs, seed=seed))
    return values, ci
