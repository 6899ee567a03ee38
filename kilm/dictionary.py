"""The fairseq ``dict.txt`` of a KILM model: the base model's symbols, then what the base model adds
itself (``<mask>``, mBART's language tokens, padding rows), then the five KILM tokens.

Kept apart from :mod:`kilm.sequence` (how a window is written and encoded) because the pipeline, the
tokenizers and the trainer all read and write dictionaries, and only this order keeps a base checkpoint's
rows where they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from kilm.sequence import FAIRSEQ_SPECIALS, MASK, SPECIAL_TOKENS


def read_dict_symbols(path: str | Path) -> list[str]:
    """Symbols of a fairseq ``dict.txt`` (``symbol count [#fairseq:overwrite]`` per line), in order."""
    symbols = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            parts = line.rsplit(" ", 2) if line.endswith("#fairseq:overwrite") else line.rsplit(" ", 1)
            if len(parts) < 2 or not parts[1].lstrip("-").isdigit():
                raise ValueError(f"{path}:{lineno}: expected 'symbol count', got {line!r}")
            symbols.append(parts[0])
    return symbols


def build_dictionary_symbols(
    base_symbols: Sequence[str],
    *,
    language_tokens: Sequence[str] = (),
    model_rows: int | None = None,
) -> list[str]:
    """All symbols after fairseq's four specials: base ``dict.txt``, then what the base model adds
    itself (mBART's language tokens, ``<mask>``, ``madeupwordNNNN`` up to ``model_rows``), then the
    five KILM tokens. No existing index moves, so resizing a checkpoint only appends rows.
    """
    symbols = [s for s in base_symbols if s not in FAIRSEQ_SPECIALS]
    if any(tok in symbols for tok in SPECIAL_TOKENS):
        # A dictionary that already ends with our tokens (a KILM output) is returned unchanged.
        if tuple(symbols[-len(SPECIAL_TOKENS) :]) == SPECIAL_TOKENS:
            return symbols
        raise ValueError(f"base dictionary holds some KILM tokens out of place: {SPECIAL_TOKENS}")
    for tok in (*language_tokens, MASK):
        if tok not in symbols:
            symbols.append(tok)
    if model_rows is not None:
        rows = len(FAIRSEQ_SPECIALS) + len(symbols)
        if model_rows < rows:
            raise ValueError(f"the checkpoint has {model_rows} embedding rows, fewer than its {rows} symbols")
        symbols.extend(f"madeupword{i:04d}" for i in range(model_rows - rows))
    return [*symbols, *SPECIAL_TOKENS]


def write_dict(path: str | Path, symbols: Iterable[str], counts: dict[str, int] | None = None) -> None:
    """Write a fairseq ``dict.txt``; fairseq's ``Dictionary.load`` reads it back index for index."""
    counts = counts or {}
    with open(path, "w", encoding="utf-8") as f:
        for symbol in symbols:
            f.write(f"{symbol} {counts.get(symbol, 0)}\n")


#: An mBART language code as fairseq (``[uk_UA]``) or Hugging Face (``uk_UA``) spells it.
_LANGUAGE_CODE = re.compile(r"\[?([a-z]{2,3})_[A-Z]{2}\]?")


def language_codes(symbols: Sequence[str]) -> list[str]:
    """The language tokens of a dictionary: the run of language codes right before ``<mask>``, where
    mBART's tasks (and Hugging Face's mBART tokenizers) put them; empty for BART dictionaries."""
    if MASK not in symbols:
        return []
    end = start = list(symbols).index(MASK)
    while start > 0 and _LANGUAGE_CODE.fullmatch(symbols[start - 1]):
        start -= 1
    return list(symbols[start:end])


def language_code_for(codes: Sequence[str], language: str) -> list[str]:
    """The codes of ``codes`` for a wiki language (``uk`` → ``[uk_UA]``)."""
    return [c for c in codes if _LANGUAGE_CODE.fullmatch(c).group(1) == language.casefold()]
