"""Small BART architectures, for CPU runs and tests (``bart_base``/``bart_large`` are fairseq's own)."""

from __future__ import annotations

from fairseq.models import register_model_architecture
from fairseq.models.bart.model import bart_large_architecture


def _small_bart(args, width: int, layers: int) -> None:
    """``layers`` + ``layers`` layers of ``width`` (feed-forward 4×, 4 heads), the rest bart_large's;
    values given on the command line win, as in fairseq's own architectures."""
    args.encoder_embed_dim = getattr(args, "encoder_embed_dim", width)
    args.encoder_ffn_embed_dim = getattr(args, "encoder_ffn_embed_dim", 4 * width)
    args.encoder_layers = getattr(args, "encoder_layers", layers)
    args.encoder_attention_heads = getattr(args, "encoder_attention_heads", 4)
    args.decoder_layers = getattr(args, "decoder_layers", layers)
    args.decoder_attention_heads = getattr(args, "decoder_attention_heads", 4)
    bart_large_architecture(args)


@register_model_architecture("bart", "bart_tiny")
def bart_tiny_architecture(args) -> None:
    """2+2 layers of width 64: trains in minutes on a CPU, enough to see knowledge being learnt."""
    _small_bart(args, width=64, layers=2)


@register_model_architecture("bart", "bart_small")
def bart_small_architecture(args) -> None:
    """4+4 layers of width 256: a larger CPU model (the demo uses bart_tiny); hours of CPU time."""
    _small_bart(args, width=256, layers=4)
