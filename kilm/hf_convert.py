"""fairseq BART ↔ Hugging Face ``BartForConditionalGeneration``, both directions, weights only.

The two implementations share the layer layout: fairseq's ``encoder.*``/``decoder.*`` become
``model.encoder.*``/``model.decoder.*``, the shared embedding is ``model.shared`` and the output
projection (``decoder.output_projection``) is tied to it in both. Embedding rows keep their order, so
a Hugging Face id is the fairseq dictionary index. Architectures Hugging Face BART cannot represent
(pre-norm layers, no embedding layer norm, untied embeddings, scaled embeddings differing per side) are
refused with a message rather than converted wrongly.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

#: Keys fairseq keeps in a state dict that carry no weights.
_FAIRSEQ_ONLY = ("encoder.version", "decoder.version", "encoder.embed_positions._float_tensor",
                 "decoder.embed_positions._float_tensor")


class ConversionError(ValueError):
    """A model that cannot be converted; the message says which setting is in the way."""


@dataclass(frozen=True)
class BartDims:
    """The architecture settings both libraries need to build the same BART."""

    vocab_size: int
    d_model: int
    encoder_layers: int
    decoder_layers: int
    encoder_attention_heads: int
    decoder_attention_heads: int
    encoder_ffn_dim: int
    decoder_ffn_dim: int
    max_position_embeddings: int
    activation_function: str = "gelu"
    scale_embedding: bool = False

    @classmethod
    def from_fairseq(cls, args: argparse.Namespace | Mapping[str, Any], state_dict: Mapping[str, torch.Tensor]
                     ) -> BartDims:
        """From a checkpoint's model args (``cfg.model``) and weights; refuses what HF BART lacks."""
        a = vars(args) if isinstance(args, argparse.Namespace) else dict(args)
        problems = [f"{key}={a.get(key)!r} (needs {want!r})" for key, want in (
            ("encoder_normalize_before", False), ("decoder_normalize_before", False),
            ("layernorm_embedding", True), ("share_all_embeddings", True),
            ("share_decoder_input_output_embed", True)) if a.get(key, want) != want]
        if a.get("encoder_embed_dim") != a.get("decoder_embed_dim", a.get("encoder_embed_dim")):
            problems.append("encoder_embed_dim != decoder_embed_dim")
        if problems:
            raise ConversionError(f"this fairseq model has no Hugging Face BART equivalent: {', '.join(problems)}")
        positions = state_dict["encoder.embed_positions.weight"].shape[0]
        return cls(
            vocab_size=state_dict["encoder.embed_tokens.weight"].shape[0],
            d_model=a["encoder_embed_dim"],
            encoder_layers=a["encoder_layers"],
            decoder_layers=a["decoder_layers"],
            encoder_attention_heads=a["encoder_attention_heads"],
            decoder_attention_heads=a["decoder_attention_heads"],
            encoder_ffn_dim=a["encoder_ffn_embed_dim"],
            decoder_ffn_dim=a.get("decoder_ffn_embed_dim", a["encoder_ffn_embed_dim"]),
            max_position_embeddings=positions - 2,  # fairseq's learned positions start after pad (index 1)
            activation_function=a.get("activation_fn", "gelu"),
            scale_embedding=not a.get("no_scale_embedding", True),
        )

    @classmethod
    def from_hf(cls, config: Any) -> BartDims:
        problems = [f"{key}={getattr(config, key, False)!r}" for key in ("normalize_before", "add_final_layer_norm",
                                                                          "add_bias_logits")
                    if getattr(config, key, False)]
        if not getattr(config, "tie_word_embeddings", True):
            problems.append("tie_word_embeddings=False")
        if problems:
            raise ConversionError(f"this Hugging Face model has no fairseq BART equivalent: {', '.join(problems)}")
        return cls(**{k: getattr(config, k) for k in cls.__dataclass_fields__})

    def hf_config(self, **special_ids: int):
        """A ``BartConfig`` with BART's token ids and no generation defaults to inherit by accident."""
        from transformers import BartConfig

        return BartConfig(**asdict(self), dropout=0.0, attention_dropout=0.0, activation_dropout=0.0,
                          pad_token_id=1, bos_token_id=0, eos_token_id=2, decoder_start_token_id=2,
                          forced_bos_token_id=None, forced_eos_token_id=None, **special_ids)

    def fairseq_args(self, arch: str = "bart_base") -> argparse.Namespace:
        """fairseq model args (``cfg.model``) for ``--arch bart_base``/``bart_large`` with these dims."""
        from fairseq.models.bart.model import bart_large_architecture

        args = argparse.Namespace(
            _name=arch, arch=arch, encoder_embed_dim=self.d_model, decoder_embed_dim=self.d_model,
            encoder_layers=self.encoder_layers, decoder_layers=self.decoder_layers,
            encoder_attention_heads=self.encoder_attention_heads, decoder_attention_heads=self.decoder_attention_heads,
            encoder_ffn_embed_dim=self.encoder_ffn_dim, decoder_ffn_embed_dim=self.decoder_ffn_dim,
            max_source_positions=self.max_position_embeddings, max_target_positions=self.max_position_embeddings,
            activation_fn=self.activation_function, no_scale_embedding=not self.scale_embedding,
        )
        bart_large_architecture(args)  # fills the remaining BART defaults, keeps the values above
        return args


def fairseq_to_hf_state_dict(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """fairseq BART weights → ``BartForConditionalGeneration`` weights (tied entries all filled)."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        if key in _FAIRSEQ_ONLY or key == "decoder.output_projection.weight":
            continue
        if key.startswith(("encoder.", "decoder.")):
            out[f"model.{key}"] = value
        else:
            raise ConversionError(f"unexpected fairseq weight {key!r} (classification heads are not exported)")
    shared = state_dict["encoder.embed_tokens.weight"]
    out["model.shared.weight"] = shared
    out["lm_head.weight"] = shared
    out["final_logits_bias"] = torch.zeros(1, shared.shape[0], dtype=shared.dtype)
    return out


def hf_to_fairseq_state_dict(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``BartForConditionalGeneration`` weights → fairseq BART weights."""
    bias = state_dict.get("final_logits_bias")
    if bias is not None and bool(bias.abs().gt(0).any()):
        raise ConversionError("final_logits_bias is not zero: fairseq BART has no output bias")
    shared = state_dict["model.shared.weight"]
    out: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        if key.startswith(("model.encoder.", "model.decoder.")):
            out[key[len("model."):]] = value
    out["encoder.embed_tokens.weight"] = shared
    out["decoder.embed_tokens.weight"] = shared
    out["decoder.output_projection.weight"] = shared
    out["encoder.version"] = torch.tensor([3.0])
    out["decoder.version"] = torch.tensor([3.0])
    return out


def fairseq_to_hf(state_dict: Mapping[str, torch.Tensor], args: argparse.Namespace | Mapping[str, Any],
                  **special_ids: int):
    """A ``BartForConditionalGeneration`` with the weights of a fairseq BART (``checkpoint["model"]``,
    ``checkpoint["cfg"]["model"]``); ``special_ids`` go to the config (e.g. ``mask_token_id``)."""
    from transformers import BartForConditionalGeneration

    dims = BartDims.from_fairseq(args, state_dict)
    model = BartForConditionalGeneration(dims.hf_config(**special_ids))
    missing, unexpected = model.load_state_dict(fairseq_to_hf_state_dict(state_dict), strict=False)
    if missing or unexpected:
        raise ConversionError(f"weights do not match Hugging Face BART: missing {missing}, unexpected {unexpected}")
    return model.eval()


def load_hf_bart(directory: str | Path):
    """A ``BartForConditionalGeneration`` from a local directory; other model types (mBART, whose
    pre-norm layers BART lacks) are refused, since transformers would load them as BART with a warning."""
    from transformers import BartForConditionalGeneration

    config = Path(directory) / "config.json"
    model_type = json.loads(config.read_text(encoding="utf-8")).get("model_type") if config.is_file() else None
    if model_type != "bart":
        raise ConversionError(f"{directory}: a Hugging Face {model_type or 'unknown'} model; only BART converts "
                              "(for mBART, start from fairseq's mbart.cc25 model.pt)")
    return BartForConditionalGeneration.from_pretrained(str(directory), local_files_only=True)


def hf_to_fairseq(model_or_dir: Any, arch: str = "bart_base") -> dict[str, Any]:
    """A fairseq checkpoint dict (``torch.save`` it, then ``--restore-file`` it with the reset flags, or
    load it with ``kilm.checkpoint.load_checkpoint``) from a Hugging Face BART model or local directory.

    ``cfg.model`` is an ``argparse.Namespace`` as fairseq-train writes for BART; Hugging Face ids are
    kept as dictionary indices (true for facebook/bart-*, whose vocab was written from fairseq's dict).
    """
    model = model_or_dir
    if isinstance(model_or_dir, str | Path):
        model = load_hf_bart(model_or_dir)
    dims = BartDims.from_hf(model.config)
    state_dict = {k: v.detach().clone() for k, v in model.state_dict().items()}
    return {
        "args": None,
        "cfg": {"_name": None, "model": dims.fairseq_args(arch), "task": None, "common": {}},
        "model": hf_to_fairseq_state_dict(state_dict),
        "optimizer_history": [{"criterion_name": "CrossEntropyCriterion", "optimizer_name": "AdamOptimizer",
                               "lr_scheduler_state": {"best": None}, "num_updates": 0}],
        "extra_state": {"train_iterator": {"epoch": 1, "iterations_in_epoch": 0}},
        "last_optimizer_state": None,
    }
