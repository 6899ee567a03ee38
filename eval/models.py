"""One model interface for every task, over a fairseq checkpoint or a Hugging Face directory (GENRE-style).

A backend only encodes sources, runs the decoder to hidden states and projects them to the vocabulary.
Everything else (beam search with a forced prefix, teacher-forced span scores, infilling loss) lives in
:class:`KilmModel` and is shared, so both backends give the same numbers for the same weights.

Sequence conventions are fairseq BART's (``denoising`` task, and Hugging Face BART): the encoder reads
``<s> row`` (``row`` ends with ``</s>``), the decoder reads ``</s> <s> target...`` and predicts ``<s>
target...``. An mBART model with a language token (the ``kilm`` task's ``--lang-token``) reads ``<s> row
[uk_UA]`` and its decoder starts with ``[uk_UA]`` instead of ``</s>``.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch

from eval.search import AllowedFn, BeamSettings, Hypothesis, beam_search
from kilm import sequence as seq
from kilm.checkpoint import VocabRowsError, load_checkpoint, model_args, resize_vocab_rows
from kilm.tokenizer import KilmTokenizer

logger = logging.getLogger(__name__)

#: Written by ``eval.export_hf`` next to the weights: what the export came from.
EXPORT_INFO = "kilm_export.json"
#: Scale of the noise added to the mean embedding when rows for the five tokens are appended.


class ModelError(ValueError):
    """A model path or model that cannot be used; the message names it."""


class Backend(Protocol):
    """What a library must provide; tensors are ``[rows, time]`` ids padded with ``<pad>`` on the right."""

    max_positions: int

    def encode(self, src: torch.Tensor) -> Any: ...

    def select(self, encoded: Any, index: torch.Tensor) -> Any: ...

    def hidden(self, encoded: Any, prev: torch.Tensor) -> torch.Tensor: ...

    def project(self, hidden: torch.Tensor) -> torch.Tensor: ...


class FairseqBackend:
    """A fairseq ``BARTModel``."""

    def __init__(self, model: Any) -> None:
        self.model = model.eval()
        self.max_positions = min(model.encoder.max_positions(), model.decoder.max_positions())

    def encode(self, src: torch.Tensor) -> Any:
        return self.model.encoder(src, src_lengths=src.ne(seq.PAD).sum(1))

    def select(self, encoded: Any, index: torch.Tensor) -> Any:
        return self.model.encoder.reorder_encoder_out(encoded, index)

    def hidden(self, encoded: Any, prev: torch.Tensor) -> torch.Tensor:
        return self.model.decoder(prev, encoder_out=encoded, features_only=True)[0]

    def project(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.model.decoder.output_layer(hidden)


class HFBackend:
    """A ``transformers`` ``BartForConditionalGeneration``."""

    def __init__(self, model: Any) -> None:
        self.model = model.eval()
        self.max_positions = model.config.max_position_embeddings

    def encode(self, src: torch.Tensor) -> Any:
        mask = src.ne(seq.PAD)
        return self.model.model.encoder(input_ids=src, attention_mask=mask).last_hidden_state, mask

    def select(self, encoded: Any, index: torch.Tensor) -> Any:
        states, mask = encoded
        return states.index_select(0, index), mask.index_select(0, index)

    def hidden(self, encoded: Any, prev: torch.Tensor) -> torch.Tensor:
        states, mask = encoded
        return self.model.model.decoder(input_ids=prev, encoder_hidden_states=states,
                                        encoder_attention_mask=mask).last_hidden_state

    def project(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.model.lm_head(hidden) + self.model.final_logits_bias.to(hidden.dtype)


@dataclass(frozen=True)
class SpanScore:
    """Teacher-forced log-prob of a continuation: summed, and per token (the ED score)."""

    logprob: float
    tokens: int

    @property
    def mean(self) -> float:
        return self.logprob / self.tokens


@dataclass
class KilmModel:
    """A BART of either library plus the tokenizer whose dictionary indices its rows follow."""

    backend: Backend
    tokenizer: KilmTokenizer
    kind: str  # "fairseq" | "hf"
    prompt: str  # which KILM prompt rows the model saw, for the report
    device: torch.device
    language_id: int | None = None  # mBART: the language token closing sources and opening the decoder

    @property
    def max_positions(self) -> int:
        """Longest ``<s> row`` the encoder takes (one position less with a language token)."""
        return seq.row_limit(self.backend.max_positions, self.language_id)

    # ---- inputs ---------------------------------------------------------------------------------

    def _tensor(self, rows: Sequence[Sequence[int]]) -> torch.Tensor:
        width = max(len(r) for r in rows)
        out = torch.full((len(rows), width), seq.PAD, dtype=torch.long)
        for i, r in enumerate(rows):
            out[i, : len(r)] = torch.tensor(list(r), dtype=torch.long)
        return out.to(self.device)

    def encode_sources(self, rows: Sequence[Sequence[int]]) -> Any:
        """Encoder states of ``<s> row`` (rows already end with ``</s>``), then the language token if any."""
        return self.backend.encode(self._tensor([seq.model_row(r, self.language_id) for r in rows]))

    def decoder_prefix(self, target_head: Sequence[int]) -> list[int]:
        """Decoder input for a target that starts with ``target_head`` (:func:`kilm.sequence.decoder_prefix`)."""
        return seq.decoder_prefix(target_head, self.language_id)

    # ---- generation -----------------------------------------------------------------------------

    def probe_settings(self, beam: int = 4, max_new_tokens: int = 64) -> BeamSettings:
        """The probe's settings: stop at ``</ent_desc>`` (or ``</s>``), never emit structure tokens."""
        s = self.tokenizer.special
        return BeamSettings(beam=beam, max_new_tokens=max_new_tokens, length_penalty=1.0, no_repeat_ngram_size=0,
                            stop_ids=(s.desc_end, seq.EOS),
                            banned_ids=(seq.BOS, seq.PAD, s.mask, s.ent, s.ent_end, s.desc,
                                        *(() if self.language_id is None else (self.language_id,))))

    @torch.inference_mode()
    def generate(self, sources: Sequence[Sequence[int]], prefixes: Sequence[Sequence[int]], settings: BeamSettings,
                 allowed: AllowedFn | None = None) -> list[Hypothesis]:
        """Beam search continuing each forced decoder prefix (from :meth:`decoder_prefix`)."""
        encoded = self.encode_sources(sources)

        def step(rows: torch.Tensor, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
            width = int(lengths.max())
            hidden = self.backend.hidden(self.backend.select(encoded, rows.to(self.device)),
                                         tokens[:, :width].to(self.device))
            last = hidden[torch.arange(hidden.shape[0], device=self.device), lengths.to(self.device) - 1]
            return torch.log_softmax(self.backend.project(last).float(), dim=-1).cpu()

        return beam_search(step, prefixes, settings, seq.PAD, allowed)

    # ---- teacher forcing ------------------------------------------------------------------------

    @torch.inference_mode()
    def score(self, sources: Sequence[Sequence[int]], prefixes: Sequence[Sequence[int]],
              continuations: Sequence[Sequence[Sequence[int]]]) -> list[list[SpanScore]]:
        """Log-prob of every continuation of every prefix: one encoder pass over the sources and ONE
        decoder pass over all (prefix + continuation) rows of the batch."""
        encoded = self.encode_sources(sources)
        prev_rows, gold_rows, owner, spans = [], [], [], []
        for i, (prefix, conts) in enumerate(zip(prefixes, continuations)):
            for c in conts:
                full = [*prefix, *c]
                prev_rows.append(full[:-1])
                gold_rows.append(full[1:])
                owner.append(i)
                spans.append((len(prefix) - 1, len(c)))
        logprobs = self._token_logprobs(encoded, prev_rows, owner, gold_rows, spans)
        out: list[list[SpanScore]] = [[] for _ in prefixes]
        for i, lp, (_, n) in zip(owner, logprobs, spans):
            out[i].append(SpanScore(lp, n))
        return out

    def _token_logprobs(self, encoded: Any, prev_rows: list[list[int]], owner: list[int], gold_rows: list[list[int]],
                        spans: list[tuple[int, int]]) -> list[float]:
        """Summed log-prob of ``gold[start:start+n]`` per row; only those positions are projected."""
        prev = self._tensor(prev_rows)
        hidden = self.backend.hidden(self.backend.select(encoded, torch.tensor(owner, device=self.device)), prev)
        row_idx = torch.tensor([r for r, (_, n) in enumerate(spans) for _ in range(n)], device=self.device)
        pos_idx = torch.tensor([s + j for s, n in spans for j in range(n)], device=self.device)
        gold = torch.tensor([gold_rows[r][s + j] for r, (s, n) in enumerate(spans) for j in range(n)],
                            device=self.device)
        logprobs = torch.log_softmax(self.backend.project(hidden[row_idx, pos_idx]).float(), dim=-1)
        picked = logprobs.gather(1, gold[:, None])[:, 0]
        sums = torch.zeros(len(spans), device=self.device).index_add_(0, row_idx, picked)
        return sums.cpu().tolist()

    @torch.inference_mode()
    def target_nll(self, sources: Sequence[Sequence[int]], targets: Sequence[Sequence[int]]) -> list[float]:
        """Summed negative log-likelihood of each whole target ``<s> target`` (its ``</s>`` included)."""
        encoded = self.encode_sources(sources)
        full = [self.decoder_prefix(t) for t in targets]
        sums = self._token_logprobs(encoded, [f[:-1] for f in full], list(range(len(targets))),
                                    [f[1:] for f in full], [(0, len(f) - 1) for f in full])
        return [-s for s in sums]


# --------------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------------


def load_model(path: str | Path, tokenizer: KilmTokenizer, device: str = "cpu",
               language_token: str | None = None) -> KilmModel:
    """A fairseq checkpoint (``.pt`` file) or a Hugging Face directory (``config.json``).

    ``language_token`` (mBART; the pipeline records the dump's in ``manifest.json``) names the language
    of the text; without it, the one a ``kilm`` checkpoint was trained with is used.
    """
    path = Path(path)
    if path.is_file():
        backend, prompt, trained_language = _load_fairseq(path, tokenizer)
        kind = "fairseq"
    elif (path / "config.json").is_file():
        backend, prompt = _load_hf(path, tokenizer)
        kind, trained_language = "hf", None
    else:
        raise ModelError(f"{path}: neither a fairseq checkpoint file nor a Hugging Face directory with config.json")
    if language_token and trained_language and language_token != trained_language:
        logger.warning("%s: trained with language token %s, evaluated on %s text", path, trained_language,
                       language_token)
    language = language_token or trained_language
    language_id = None
    if language:
        if language not in tokenizer.symbols:
            raise ModelError(f"{path}: language token {language} is not in the tokenizer's dictionary")
        language_id = tokenizer.symbols.index(language)
    dev = torch.device(device)
    backend.model.to(dev)
    return KilmModel(backend, tokenizer, kind, prompt, dev, language_id)


def fairseq_model_args(checkpoint: dict[str, Any]) -> argparse.Namespace:
    """``cfg.model`` (fairseq ≥ 0.10) or ``args`` (older), with its architecture's defaults for anything missing."""
    from fairseq.models import ARCH_CONFIG_REGISTRY
    from fairseq.models.bart.model import bart_large_architecture

    import trainer.models  # noqa: F401  (registers bart_tiny/bart_small)

    args = model_args(checkpoint)
    if args is None:
        raise ModelError("checkpoint has neither cfg.model nor args: not a fairseq checkpoint")
    ARCH_CONFIG_REGISTRY.get(getattr(args, "arch", None), bart_large_architecture)(args)
    args.task = getattr(args, "task", None) or checkpoint_task(checkpoint)  # BART's upgrade step reads it
    return args


def _task_cfg(checkpoint: dict[str, Any]) -> dict[str, Any]:
    cfg = checkpoint.get("cfg") or {}
    task = cfg.get("task") if isinstance(cfg, dict) else None
    return task if isinstance(task, dict) else {}


def checkpoint_task(checkpoint: dict[str, Any]) -> str:
    name = _task_cfg(checkpoint).get("_name")
    if name:
        return str(name)
    return str(getattr(model_args(checkpoint), "task", None) or "unknown")


def trained_on_knowledge(checkpoint: dict[str, Any]) -> bool:
    """Whether the ``kilm`` task trained this model with knowledge spans (a control run has
    ``plain_share`` 1: every span removed)."""
    if checkpoint_task(checkpoint) != "kilm":
        return False
    return float(_task_cfg(checkpoint).get("plain_share", 0.0)) < 1.0


def fit_rows(state_dict: dict[str, torch.Tensor], keys: Sequence[str], rows: int) -> int:
    """Append our five tokens' rows as continued training does (kilm.checkpoint.resize_vocab_rows: mean of
    the existing rows plus small noise, old rows untouched); returns how many were added."""
    have = state_dict[keys[0]].shape[0]
    try:
        resize_vocab_rows(state_dict, rows, rows - len(seq.SPECIAL_TOKENS), keys=tuple(keys))
    except VocabRowsError as error:
        raise ModelError(str(error)) from None
    return rows - have


def _prompt(added: int, trained_on_kilm: bool) -> str:
    base = "KILM prompt <ent> m </ent><ent_desc> <mask> </ent_desc>"
    if added:
        return f"{base}; {added} rows appended here (mean + noise), never trained"
    return f"{base}; special-token rows {'trained (kilm task)' if trained_on_kilm else 'present, not trained on'}"


def _load_fairseq(path: Path, tokenizer: KilmTokenizer) -> tuple[FairseqBackend, str, str | None]:
    from fairseq.data import Dictionary
    from fairseq.models.bart import BARTModel

    try:
        checkpoint = load_checkpoint(path)
    except Exception as e:  # torch raises several types for a file that is not a checkpoint
        raise ModelError(f"{path}: cannot load as a fairseq checkpoint ({type(e).__name__}: {e})") from None
    if not isinstance(checkpoint, dict) or "model" not in checkpoint:
        raise ModelError(f"{path}: not a fairseq checkpoint (no 'model' weights)")
    args = fairseq_model_args(checkpoint)
    state = dict(checkpoint["model"])
    added = fit_rows(state, ["encoder.embed_tokens.weight", "decoder.embed_tokens.weight",
                             "decoder.output_projection.weight"], len(tokenizer))
    dictionary = Dictionary()
    for symbol in tokenizer.symbols[len(seq.FAIRSEQ_SPECIALS):]:
        dictionary.add_symbol(symbol, overwrite=True)
    if len(dictionary) != len(tokenizer):
        raise ModelError(f"{path}: the tokenizer's dictionary does not rebuild as a fairseq Dictionary")
    task = argparse.Namespace(source_dictionary=dictionary, target_dictionary=dictionary)
    model = BARTModel.build_model(args, task)
    model.load_state_dict(state, strict=True, model_cfg=None)
    language = _task_cfg(checkpoint).get("lang_token") if checkpoint_task(checkpoint) == "kilm" else None
    return FairseqBackend(model), _prompt(added, trained_on_knowledge(checkpoint)), language


def _load_hf(path: Path, tokenizer: KilmTokenizer) -> tuple[HFBackend, str]:
    from kilm.hf_convert import ConversionError, load_hf_bart

    try:
        model = load_hf_bart(path)
    except ConversionError as error:
        raise ModelError(str(error)) from None
    added = len(tokenizer) - model.config.vocab_size
    if added < 0:
        raise ModelError(f"{path}: {model.config.vocab_size} embedding rows but the dictionary has "
                         f"{len(tokenizer)} symbols")
    if added:
        state = {"w": model.get_input_embeddings().weight.detach().clone()}
        fit_rows(state, ["w"], len(tokenizer))
        model.resize_token_embeddings(len(tokenizer))
        model.get_input_embeddings().weight.data.copy_(state["w"])
    info_file = path / EXPORT_INFO
    info = json.loads(info_file.read_text()) if info_file.is_file() else {}
    return HFBackend(model), _prompt(added, bool(info.get("knowledge_trained")))
