"""SentencePiece models (fairseq mBART's ``sentence.bpe.model`` + ``dict.txt``) as a KilmTokenizer.

The model's pieces become a ``tokenizers`` BPE (merges recovered from the vocabulary, as Hugging Face's
converters do), so every part keeps one fast tokenizer type. Text pieces are encoded without
SentencePiece's dummy prefix (``▁`` only where the text has a space), which keeps encoding lossless
piece by piece: the KILM span is built from pieces (kilm.sequence.encode_window).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers

from kilm import sequence as seq
from kilm.dictionary import build_dictionary_symbols, read_dict_symbols
from kilm.tokenizer import KilmTokenizer, TokenizerError

SPM_SPECIALS = ("<unk>", "<s>", "</s>", "<pad>")


def _pieces(model_file: str) -> list[tuple[str, float]]:
    import sentencepiece

    processor = sentencepiece.SentencePieceProcessor(model_file=model_file)
    return [(processor.id_to_piece(i), processor.get_score(i)) for i in range(processor.get_piece_size())]


def _bpe_from_pieces(pieces: Sequence[tuple[str, float]]) -> Tokenizer:
    vocab = {piece: i for i, (piece, _) in enumerate(pieces)}
    merges = []
    for piece, rank in vocab.items():
        for cut in range(1, len(piece)):
            left, right = piece[:cut], piece[cut:]
            if left in vocab and right in vocab:
                merges.append((rank, vocab[left], vocab[right], left, right))
    merges.sort()
    byte_fallback = all(f"<0x{b:02X}>" in vocab for b in range(256))
    bpe = models.BPE(vocab=vocab, merges=[(m[3], m[4]) for m in merges], unk_token="<unk>", fuse_unk=True,
                     byte_fallback=byte_fallback)
    tokenizer = Tokenizer(bpe)
    # No normalizer: the pipeline's text is NFC already, and NFKC (SentencePiece's default) would
    # rewrite characters (Armenian "և") so that pieces no longer decode to the text they came from.
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="never")
    tokenizer.decoder = decoders.Sequence([decoders.ByteFallback(), decoders.Fuse(),
                                           decoders.Metaspace(replacement="▁", prepend_scheme="never")])
    return tokenizer


def from_spm_model(
    model_file: str | Path, dict_file: str | Path | None = None, language_tokens: Sequence[str] = ()
) -> KilmTokenizer:
    """``--spm-model sentence.bpe.model [--dict dict.txt]`` (fairseq mBART layout). Without ``dict.txt``
    the dictionary is the model's pieces in id order."""
    model_file = Path(model_file)
    if not model_file.is_file():
        raise TokenizerError(f"--spm-model {model_file}: no such file")
    if dict_file is not None and not Path(dict_file).is_file():
        raise TokenizerError(f"--dict {dict_file}: no such file")
    pieces = _pieces(str(model_file))
    tokenizer = _bpe_from_pieces(pieces)
    base = read_dict_symbols(dict_file) if dict_file is not None else [p for p, _ in pieces if p not in SPM_SPECIALS]
    symbols = build_dictionary_symbols(base, language_tokens=language_tokens)
    return KilmTokenizer(tokenizer, [*seq.FAIRSEQ_SPECIALS, *symbols], "token", "sentencepiece")


def train_spm_model(texts: Iterable[str], vocab_size: int, model_prefix: str | Path) -> Path:
    """Train a SentencePiece BPE model (``PREFIX.model``); deterministic for the same sorted texts (one
    thread, no sampling, no shuffling), byte fallback so no character is ever unknown."""
    import sentencepiece

    model_prefix = Path(model_prefix)
    corpus = Path(f"{model_prefix}.corpus.txt")
    corpus.write_text("".join(t.replace("\n", " ") + "\n" for t in texts), encoding="utf-8")
    try:
        sentencepiece.SentencePieceTrainer.train(
            input=str(corpus), model_prefix=str(model_prefix), model_type="bpe", vocab_size=vocab_size,
            character_coverage=0.9995, num_threads=1, shuffle_input_sentence=False, input_sentence_size=0,
            hard_vocab_limit=False, bos_id=1, eos_id=2, unk_id=0, pad_id=3, minloglevel=2,
            byte_fallback=True, normalization_rule_name="identity", add_dummy_prefix=False,
            remove_extra_whitespaces=False, split_digits=True,
        )
    finally:
        corpus.unlink()
    return Path(f"{model_prefix}.model")


def train_spm_tokenizer(texts: Iterable[str], vocab_size: int) -> KilmTokenizer:
    """``--train-tokenizer spm``: a SentencePiece BPE model trained on the corpus."""
    with tempfile.TemporaryDirectory() as tmp:
        return from_spm_model(train_spm_model(texts, vocab_size, Path(tmp) / "sentence.bpe"))
