"""Text ↔ fairseq dictionary indices, for every tokenizer a KILM run can use.

A ``KilmTokenizer`` is a Hugging Face ``tokenizers.Tokenizer`` (fast, picklable as JSON) plus the
symbols of the fairseq dictionary the model was trained with. How a tokenizer token names its dictionary
symbol depends on where it came from:

- ``id``: fairseq's GPT-2 BPE (``bart.base``/``bart.large``: ``encoder.json`` + ``vocab.bpe`` +
  ``dict.txt``): the symbol is the GPT-2 token id written as a string (``"50118"``);
- ``token``: a Hugging Face tokenizer directory or a tokenizer trained here: the symbol is the token.

The pipeline saves the tokenizer under ``OUTPUT/tokenizer/`` so the trainer and eval read the same one.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from kilm import sequence as seq
from kilm.dictionary import build_dictionary_symbols, read_dict_symbols, write_dict

CONFIG_FILE = "kilm_tokenizer.json"
TOKENIZER_FILE = "tokenizer.json"
DICT_FILE = "dict.txt"
SYMBOL_MODES = ("id", "token")
#: Pieces up to this many characters are memoised: titles, descriptions and mention surfaces recur
#: across a corpus' windows, paragraph text does not. The memo is cleared when it holds _MEMO_SIZE.
_MEMO_CHARS = 512
_MEMO_SIZE = 1 << 16


class TokenizerError(ValueError):
    """A tokenizer directory or option that cannot be used; the message names the file."""


class KilmTokenizer:
    """Encodes text to fairseq dictionary indices and decodes them back (KILM tokens included)."""

    def __init__(self, tokenizer: Tokenizer, symbols: Sequence[str], symbol_mode: str, kind: str) -> None:
        if symbol_mode not in SYMBOL_MODES:
            raise TokenizerError(f"symbol_mode must be one of {SYMBOL_MODES}, got {symbol_mode!r}")
        self.tokenizer = tokenizer
        self.symbols = list(symbols)  # fairseq dictionary, the four specials first
        self.symbol_mode = symbol_mode
        self.kind = kind
        self.special = seq.SpecialIds.from_symbols(self.symbols)
        index = {s: i for i, s in enumerate(self.symbols)}
        vocab = tokenizer.get_vocab(with_added_tokens=True)
        size = max(vocab.values()) + 1
        self._to_index = np.full(size, seq.UNK, dtype=np.int64)
        self._to_token = np.full(len(self.symbols), -1, dtype=np.int64)
        for token, token_id in vocab.items():
            symbol = str(token_id) if symbol_mode == "id" else token
            i = index.get(symbol)
            if i is not None:
                self._to_index[token_id] = i
                if i >= len(seq.FAIRSEQ_SPECIALS):
                    self._to_token[i] = token_id
        self._index_of = self._to_index.tolist()  # list indexing beats numpy on short pieces
        #: a tokenizer trained here numbers its tokens as the dictionary does: its ids need no mapping
        self._same_ids = self._index_of == list(range(len(self._index_of)))
        self._memo: dict[str, list[int]] = {}
        self._slicer = _slicing_tokenizer(tokenizer)

    # ---- construction ---------------------------------------------------------------------------

    @classmethod
    def from_bart_dir(cls, path: str | Path) -> KilmTokenizer:
        """A fairseq ``bart.base``/``bart.large`` directory: GPT-2 ``encoder.json``, ``vocab.bpe``, ``dict.txt``."""
        path = Path(path)
        files = {name: path / name for name in ("encoder.json", "vocab.bpe", "dict.txt")}
        missing = [str(f) for f in files.values() if not f.is_file()]
        if missing:
            raise TokenizerError(f"--bart-dir {path}: missing {', '.join(missing)}")
        bpe = models.BPE.from_file(str(files["encoder.json"]), str(files["vocab.bpe"]))
        tokenizer = _byte_level(Tokenizer(bpe))
        symbols = build_dictionary_symbols(read_dict_symbols(files["dict.txt"]))
        return cls(tokenizer, [*seq.FAIRSEQ_SPECIALS, *symbols], "id", "gpt2-bpe")

    @classmethod
    def from_hf_dir(cls, path: str | Path) -> KilmTokenizer:
        """A Hugging Face tokenizer directory (``tokenizer.json``); its ids keep their order."""
        file = Path(path) / TOKENIZER_FILE
        if not file.is_file():
            raise TokenizerError(f"--hf-tokenizer {path}: no {TOKENIZER_FILE} (save it with a fast tokenizer)")
        tokenizer = _without_dummy_prefix(Tokenizer.from_file(str(file)))
        vocab = tokenizer.get_vocab(with_added_tokens=True)
        base = [tok for tok, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
        if any(tok in base for tok in seq.SPECIAL_TOKENS):
            base = [tok for tok in base if tok not in seq.SPECIAL_TOKENS]
        symbols = build_dictionary_symbols(base)
        return cls(tokenizer, [*seq.FAIRSEQ_SPECIALS, *symbols], "token", "hf")

    @classmethod
    def train_bpe(cls, texts: Iterable[str], vocab_size: int = 8000, min_frequency: int = 2) -> KilmTokenizer:
        """Byte-level BPE trained on the corpus itself (the embedded default: nothing downloaded).

        Deterministic for the same texts in the same order: callers pass them sorted.
        """
        tokenizer = _byte_level(Tokenizer(models.BPE()))
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            min_frequency=min_frequency,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            special_tokens=list(seq.FAIRSEQ_SPECIALS),
            show_progress=False,
        )
        tokenizer.train_from_iterator(texts, trainer=trainer)
        vocab = tokenizer.get_vocab()
        base = [tok for tok, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
        symbols = build_dictionary_symbols(base)
        return cls(tokenizer, [*seq.FAIRSEQ_SPECIALS, *symbols], "token", "trained-bpe")

    # ---- persistence ----------------------------------------------------------------------------

    def to_json(self) -> str:
        """Everything needed to rebuild this tokenizer (ships to Beam workers as a side input)."""
        return json.dumps({"kind": self.kind, "symbol_mode": self.symbol_mode, "symbols": self.symbols,
                           "tokenizer": self.tokenizer.to_str()})

    @classmethod
    def from_json(cls, text: str) -> KilmTokenizer:
        config = json.loads(text)
        tokenizer = Tokenizer.from_str(config["tokenizer"])
        return cls(tokenizer, config["symbols"], config["symbol_mode"], config["kind"])

    def save(self, directory: str | Path) -> None:
        """``tokenizer.json``, ``dict.txt`` (fairseq) and ``kilm_tokenizer.json`` (how they map)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.tokenizer.save(str(directory / TOKENIZER_FILE))
        write_dict(directory / DICT_FILE, self.symbols[len(seq.FAIRSEQ_SPECIALS) :])
        (directory / CONFIG_FILE).write_text(
            json.dumps({"kind": self.kind, "symbol_mode": self.symbol_mode}, indent=2) + "\n"
        )

    @classmethod
    def load(cls, directory: str | Path) -> KilmTokenizer:
        """Read what :meth:`save` wrote (e.g. ``OUTPUT/tokenizer``)."""
        directory = Path(directory)
        config_file = directory / CONFIG_FILE
        if not config_file.is_file():
            raise TokenizerError(f"{directory}: not a KILM tokenizer directory (no {CONFIG_FILE})")
        config = json.loads(config_file.read_text())
        tokenizer = Tokenizer.from_file(str(directory / TOKENIZER_FILE))
        symbols = [*seq.FAIRSEQ_SPECIALS, *read_dict_symbols(directory / DICT_FILE)]
        return cls(tokenizer, symbols, config["symbol_mode"], config["kind"])

    # ---- encoding -------------------------------------------------------------------------------

    def encode(self, text: str) -> list[int]:
        """Dictionary indices of a text piece (no ``<s>``/``</s>``)."""
        if not text:
            return []
        ids = self._memo.get(text)
        if ids is None:
            ids = self._indices(self.tokenizer, text)
            if len(text) <= _MEMO_CHARS:
                if len(self._memo) >= _MEMO_SIZE:
                    self._memo.clear()
                self._memo[text] = ids
        return list(ids)

    def _indices(self, tokenizer: Tokenizer, text: str) -> list[int]:
        """Dictionary indices of ``text`` by ``tokenizer``, encoded without offsets (a fifth less
        time than ``encode``, which also maps every token back to characters)."""
        ids = tokenizer.encode_batch_fast([text], add_special_tokens=False)[0].ids
        if self._same_ids:
            return ids
        index_of = self._index_of
        return [index_of[t] for t in ids]

    def decode_text(self, indices: Sequence[int]) -> str:
        """Dictionary indices of plain text (no special tokens) → text."""
        token_ids = self._to_token[np.asarray(indices, dtype=np.int64)] if len(indices) else []
        return self.tokenizer.decode([int(t) for t in token_ids if t >= 0], skip_special_tokens=False)

    def encode_window(self, window: seq.Window) -> seq.EncodedWindow:
        return seq.encode_window(window, self.encode, self.special)

    def encode_plain(self, text: str) -> list[int]:
        return seq.encode_plain(text, self.encode)

    def decode(self, indices: Sequence[int]) -> str:
        """Dictionary indices → the canonical text form, KILM tokens included."""
        return seq.decode_ids(indices, self.decode_text, self.special)

    def __len__(self) -> int:
        return len(self.symbols)


class EncodedText:
    """A text encoded once, and the ids of its pieces. Tokenizer models encode each pre-token on its
    own, so a piece that starts and ends where pre-tokens start (or at the text's ends) encodes to a
    slice of the whole text's ids; other pieces are encoded on their own, and so is every piece where
    slicing could differ (:func:`_slicing_tokenizer`). Either way :meth:`piece` equals
    ``tokenizer.encode(text[a:b])``; it saves a paragraph's windows from encoding it again."""

    def __init__(self, tokenizer: KilmTokenizer, text: str) -> None:
        self.tokenizer = tokenizer
        self.text = text
        if tokenizer._slicer is None:
            self.ids = tokenizer.encode(text)
        else:
            self.ids = tokenizer._indices(tokenizer._slicer, text)

    @functools.cached_property
    def _token_at(self) -> dict[int, int]:
        """Char offset where a pre-token starts → index of its first token; built at the first
        :meth:`piece` from an encoding with offsets (most paragraphs have no mention to cut a window
        around, and never ask, so their text is encoded without them)."""
        if self.tokenizer._slicer is None:
            return {}
        encoding = self.tokenizer._slicer.encode(self.text, add_special_tokens=False)
        token_at: dict[int, int] = {}
        previous = -1
        for k, ((start, _), word) in enumerate(zip(encoding.offsets, encoding.word_ids)):
            if word != previous:
                token_at.setdefault(start, k)
                previous = word
        token_at[len(self.text)] = len(self.ids)
        return token_at

    def piece(self, start: int, end: int) -> list[int]:
        """Dictionary indices of ``text[start:end]``."""
        if start >= end:
            return []
        first, stop = self._token_at.get(start), self._token_at.get(end)
        if first is None or stop is None:
            return self.tokenizer.encode(self.text[start:end])
        return self.ids[first:stop]


def _slicing_tokenizer(tokenizer: Tokenizer) -> Tokenizer | None:
    """The tokenizer whose encoding :class:`EncodedText` may slice at pre-token starts, or None where a
    piece encoded alone can differ from its slice: a normalizer (it may look across a cut), a prefix
    space added to every encoded text (ByteLevel ``add_prefix_space``, Metaspace prepending ``▁``),
    single-word added tokens. A post-processor is dropped (KILM never adds special tokens; it would
    trim the offsets, moving pre-token starts past their spaces)."""
    config = json.loads(tokenizer.to_str())
    if config.get("normalizer") is not None or any(t.get("single_word") for t in config.get("added_tokens") or []):
        return None

    def adds_prefix(node) -> bool:
        if isinstance(node, list):
            return any(adds_prefix(n) for n in node)
        if not isinstance(node, dict):
            return False
        if node.get("type") == "ByteLevel" and node.get("add_prefix_space"):
            return True
        if node.get("type") == "Metaspace" and (node.get("prepend_scheme", "never") != "never"
                                                or node.get("add_prefix_space")):
            return True
        return any(adds_prefix(v) for v in node.values())

    if adds_prefix(config.get("pre_tokenizer")):
        return None
    if config.get("post_processor") is None:
        return tokenizer
    config["post_processor"] = None
    return Tokenizer.from_str(json.dumps(config))


def _without_dummy_prefix(tokenizer: Tokenizer) -> Tokenizer:
    """SentencePiece-style tokenizers (Hugging Face mBART, T5) put ``▁`` before every encoded text; KILM
    encodes the pieces of a row separately, so that prefix would add a space at each boundary. Their
    ``Metaspace`` steps are set to prepend nothing (as ``kilm.spm`` does), which keeps encoding lossless."""
    config = json.loads(tokenizer.to_str())

    def fix(node):
        if isinstance(node, dict):
            if node.get("type") == "Metaspace":
                node["prepend_scheme"] = "never"
                node.pop("add_prefix_space", None)
            for value in node.values():
                fix(value)
        elif isinstance(node, list):
            for value in node:
                fix(value)

    fix([config.get("pre_tokenizer"), config.get("decoder")])
    return Tokenizer.from_str(json.dumps(config))


def _byte_level(tokenizer: Tokenizer) -> Tokenizer:
    """GPT-2's byte-level pre-tokenizer and decoder (no prefix space, as fairseq's GPT-2 BPE)."""
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    return tokenizer
