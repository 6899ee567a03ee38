"""Small BART architectures, for CPU runs and tests (``bart_base``/``bart_large`` are fairseq's own)."""

from __future__ import annotations

from fairseq.models import register_model_architecture
from fairseq.models.bart.model import bart_large_architecture


@register_model_architecture("bart", "bart_tiny")
def bart_tiny_architecture(args) -> None:
    """2+2 layers of width 64: trains in minutes on a CPU, enough to see knowledge being learnt."""
    args.encoder_embed_dim = getattr(args, "encoder_embed_dim", 64)
    args.encoder_ffn_embed_dim = getattr(args, "encoder_ffn_embed_dim", 256)
    args.encoder_layers = getattr(args, "encoder_layers", 2)
    args.encoder_attention_heads = getattr(args, "encoder_attention_heads", 4)
    args.decoder_layers = getattr(args, "decoder_layers", 2)
    args.decoder_attention_heads = getattr(args, "decoder_attention_heads", 4)
    bart_large_architecture(args)


@register_model_architecture("bart", "bart_small")
def bart_small_architecture(args) -> None:
    """4+4 layers of width 256: a larger CPU model (the demo uses bart_tiny); hours of CPU time."""
    args.encoder_embed_dim = getattr(args, "encoder_embed_dim", 256)
    args.encoder_ffn_embed_dim = getattr(args, "encoder_ffn_embed_dim", 1024)
    args.encoder_layers = getattr(args, "encoder_layers", 4)
    args.encoder_attention_heads = getattr(args, "encoder_attention_heads", 4)
    args.decoder_layers = getattr(args, "decoder_layers", 4)
    args.decoder_attention_heads = getattr(args, "decoder_attention_heads", 4)
    bart_large_architecture(args)
