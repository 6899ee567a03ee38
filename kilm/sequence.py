"""The KILM sequence format: the one place that knows how a knowledge span is written and masked.

A knowledge-infilled window, as text::

    ... the <ent> Joker </ent><ent_desc> Joker (character) <sep> Fictional character </ent_desc>'s ...

One space sits inside each boundary of the span; the text before and after is untouched, so removing
the span (and those delimiter spaces) gives back the original window exactly. The source (encoder
input) has the whole knowledge span ``title <sep> description`` replaced by one ``<mask>``.

Token ids are built from the *structure* (left text, mention, title, description, right text), never by
re-tokenizing the text form, so the mention keeps the tokens it has in running text: a space that
precedes the mention is encoded with it (GPT-2 style ``Ġword``), and title and description are encoded
as words that follow a space.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

ENT = "<ent>"
ENT_END = "</ent>"
DESC = "<ent_desc>"
DESC_END = "</ent_desc>"
SEP = "<sep>"
MASK = "<mask>"
#: The five tokens KILM adds, in the order they are appended to a base dictionary.
SPECIAL_TOKENS: tuple[str, ...] = (ENT, ENT_END, DESC, DESC_END, SEP)

#: fairseq's Dictionary reserves these four indices before the symbols of ``dict.txt``.
FAIRSEQ_SPECIALS: tuple[str, ...] = ("<s>", "<pad>", "</s>", "<unk>")
BOS, PAD, EOS, UNK = 0, 1, 2, 3


def knowledge_span(title: str, description: str) -> str:
    """The text the model learns to generate for an entity: ``title <sep> description``."""
    return f"{title} {SEP} {description}"


@dataclass(frozen=True)
class Window:
    """A text window with one mention chosen for knowledge infilling (offsets in code points)."""

    text: str
    start: int
    end: int
    title: str
    description: str

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end <= len(self.text):
            raise ValueError(f"mention [{self.start}, {self.end}) outside a text of {len(self.text)} chars")

    @property
    def left(self) -> str:
        return self.text[: self.start]

    @property
    def surface(self) -> str:
        return self.text[self.start : self.end]

    @property
    def right(self) -> str:
        return self.text[self.end :]


def infilled_text(window: Window, *, masked: bool = False) -> str:
    """The text form of a window with its knowledge span (or ``<mask>`` in its place)."""
    span = MASK if masked else knowledge_span(window.title, window.description)
    return f"{window.left}{ENT} {window.surface} {ENT_END}{DESC} {span} {DESC_END}{window.right}"


_SPAN_RE = re.compile(
    rf"{re.escape(ENT)} (?P<surface>.*?) {re.escape(ENT_END)}{re.escape(DESC)} (?P<span>.*?) {re.escape(DESC_END)}",
    re.DOTALL,
)


def strip_knowledge(text: str) -> str:
    """Inverse of :func:`infilled_text`: the original window, spans and delimiters removed."""
    return _SPAN_RE.sub(lambda m: m.group("surface"), text)


def split_knowledge_span(span: str) -> tuple[str, str]:
    """``title <sep> description`` → (title, description); a span without ``<sep>`` is all title."""
    title, _, description = span.partition(SEP)
    return title.strip(), description.strip()


def extract_generated_span(text: str) -> str:
    """The knowledge span a model generated after ``<ent_desc>``, up to ``</ent_desc>`` or the end."""
    if DESC in text:
        text = text.split(DESC, 1)[1]
    return text.split(DESC_END, 1)[0].strip()


# --------------------------------------------------------------------------------------------------
# Ids: one function builds (source, target) for a window; one decodes ids back to the text form.
# --------------------------------------------------------------------------------------------------

EncodeFn = Callable[[str], list[int]]
#: ids of ``text[a:b]`` for a text the caller holds, as ``(a, b) -> ids``
PieceFn = Callable[[int, int], list[int]]


@dataclass(frozen=True)
class SpecialIds:
    """Dictionary indices of ``<mask>`` and the five KILM tokens."""

    mask: int
    ent: int
    ent_end: int
    desc: int
    desc_end: int
    sep: int

    @classmethod
    def from_symbols(cls, symbols: Sequence[str]) -> SpecialIds:
        """From the symbols of a fairseq dictionary (the four fairseq specials included)."""
        index = {s: i for i, s in enumerate(symbols)}
        missing = [t for t in (MASK, *SPECIAL_TOKENS) if t not in index]
        if missing:
            raise ValueError(f"dictionary lacks {missing}: build it with kilm.dictionary.build_dictionary_symbols()")
        return cls(index[MASK], index[ENT], index[ENT_END], index[DESC], index[DESC_END], index[SEP])

    @property
    def kilm(self) -> tuple[int, ...]:
        return (self.ent, self.ent_end, self.desc, self.desc_end, self.sep)


@dataclass(frozen=True)
class EncodedWindow:
    """Source and target ids (``</s>`` appended, as fairseq-preprocess stores rows) and where the
    knowledge span sits in the target: ``target[span_start:span_end]`` is ``title <sep> description``.
    """

    source: list[int]
    target: list[int]
    span_start: int
    span_end: int


def encode_window(
    window: Window, encode: EncodeFn, ids: SpecialIds, eos: int = EOS, piece: PieceFn | None = None
) -> EncodedWindow:
    """Source/target ids of a knowledge-infilled window. The window's text is encoded in three pieces
    (left context, the mention with the space before it, right context); ``piece(a, b)`` gives the ids
    of ``window.text[a:b]`` where the caller has them already, else each piece is encoded."""
    text = window.text

    def encoded_piece(a: int, b: int) -> list[int]:
        return encode(text[a:b]) if a < b else []

    piece = piece or encoded_piece
    mention_start = len(text[: window.start].rstrip(" "))  # the space before a mention belongs to it
    left_ids = piece(0, mention_start)
    mention_ids = piece(mention_start, window.end)
    span_ids = [*encode(" " + window.title), ids.sep, *encode(" " + window.description)]
    right_ids = piece(window.end, len(text))
    head = [*left_ids, ids.ent, *mention_ids, ids.ent_end, ids.desc]
    tail = [ids.desc_end, *right_ids, eos]
    return EncodedWindow(
        source=[*head, ids.mask, *tail],
        target=[*head, *span_ids, *tail],
        span_start=len(head),
        span_end=len(head) + len(span_ids),
    )


def encode_plain(text: str, encode: EncodeFn, eos: int = EOS) -> list[int]:
    """Ids of a plain row (no knowledge span): the text, then ``</s>``."""
    return [*encode(text), eos]


def decode_ids(ids: Sequence[int], decode: Callable[[list[int]], str], special: SpecialIds) -> str:
    """Ids → the canonical text form (the inverse of :func:`encode_window`/:func:`encode_plain`).

    Text pieces between special tokens are decoded whole; fairseq's ``<s>``/``</s>``/``<pad>`` are
    dropped. The delimiter spaces that :func:`encode_window` folded into token pieces are restored.
    """
    names = {special.ent: ENT, special.ent_end: ENT_END, special.desc: DESC, special.desc_end: DESC_END,
             special.sep: SEP, special.mask: MASK}
    pieces: list[str] = []
    run: list[int] = []
    for i in ids:
        if i in (BOS, EOS, PAD):
            continue
        if i in names:
            pieces.append(decode(run))
            pieces.append(names[i])
            run = []
        else:
            run.append(i)
    pieces.append(decode(run))
    return _render(pieces)


#: (lstrip, rstrip) per special token: which neighbouring space a Hugging Face added token absorbs, so
#: that the text form tokenizes to the ids :func:`encode_window` builds (the space before a mention is
#: encoded with the mention; title and description are encoded after a space).
HF_STRIP = {ENT: (True, False), ENT_END: (True, False), DESC: (False, False), DESC_END: (True, False),
            SEP: (True, False), MASK: (True, True)}

_SPECIAL_TEXT = {ENT: f"{ENT} ", ENT_END: f" {ENT_END}", DESC: f"{DESC} ", DESC_END: f" {DESC_END}",
                 SEP: f" {SEP} ", MASK: MASK}


def _render(pieces: list[str]) -> str:
    """Join alternating text/special pieces: each special token carries its delimiter spaces, and the
    one leading space :func:`encode_window` gave the piece after ``<ent>``/``<ent_desc>``/``<sep>`` goes.
    """
    out = [pieces[0]]
    for k in range(1, len(pieces), 2):
        special, text = pieces[k], pieces[k + 1]
        if special in (ENT, DESC, SEP) and text.startswith(" "):
            text = text[1:]
            if special == ENT:  # the space before the mention was encoded with it
                out.append(" ")
        out.append(_SPECIAL_TEXT[special])
        out.append(text)
    return "".join(out)


# --------------------------------------------------------------------------------------------------
# Rows as the model reads them, and fitting text to the model's positions.
# A binarized row is ids + ``</s>``. The model reads ``<s> row`` (``<s> row [lang]`` for mBART) on
# both sides; the decoder input is the target shifted right: ``</s> <s> row[:-1]`` (``[lang] <s> ...``).
# --------------------------------------------------------------------------------------------------


def model_row(row: Sequence[int], language: int | None = None) -> list[int]:
    """``<s> row`` (then the language token, for mBART): an encoder input or a decoder target."""
    return [BOS, *row, *(() if language is None else (language,))]


def added_positions(language: int | None = None) -> int:
    """How many positions :func:`model_row` adds to a binarized row."""
    return 1 + (language is not None)


def row_limit(max_positions: int, language: object | None = None) -> int:
    """The longest ``<s> row`` a model of ``max_positions`` takes (one position less for the language
    token of mBART, which closes every row)."""
    return max_positions - (language is not None)


#: The first decoder input of a BART row (mBART's is the language token).
DECODER_START = EOS


def decoder_prefix(target_head: Sequence[int], language: int | None = None) -> list[int]:
    """Decoder input for a target that starts with ``target_head``: ``</s> <s> head`` (``[lang] <s>
    head`` for mBART), as fairseq shifts a target right."""
    return [DECODER_START if language is None else language, BOS, *target_head]


def row_positions(encoded: EncodedWindow, reserve: int | None = None) -> int:
    """Positions a knowledge row needs (``<s>`` included). A training row needs its whole target; a
    probe (``reserve``: tokens left for generation) needs its source, and its decoder prefix
    ``</s> <s> head`` plus what it generates."""
    if reserve is None:
        return len(encoded.target) + 1
    return max(len(encoded.source) + 1, encoded.span_start + 2 + reserve)


def fit_plain_row(row: Sequence[int], limit: int) -> list[int]:
    """A plain row (ending with ``</s>``) cut so that ``<s> row`` takes at most ``limit`` positions."""
    return [*row[: min(len(row) - 1, limit - 2)], row[-1]]


def span_bounds(target: Sequence[int], ids: SpecialIds) -> tuple[int, int] | None:
    """``(start, end)`` of ``title <sep> description`` in a target (the first span), or ``None`` for a
    plain row."""
    target = list(target)
    if ids.desc not in target:
        return None
    start = target.index(ids.desc) + 1
    if ids.desc_end not in target[start:]:
        raise ValueError("target has <ent_desc> without </ent_desc>")
    return start, target.index(ids.desc_end, start)


def strip_span_ids(target: Sequence[int], ids: SpecialIds) -> list[int]:
    """The ids form of :func:`strip_knowledge`: a target without its knowledge spans (``<ent_desc>`` to
    ``</ent_desc>``) and mention markers, i.e. the paragraph's own text as a plain row."""
    out, inside = [], False
    for i in target:
        if i == ids.desc:
            inside = True
        elif i == ids.desc_end:
            inside = False
        elif not inside and i not in (ids.ent, ids.ent_end):
            out.append(i)
    return out


def masks_span(source: Sequence[int], ids: SpecialIds) -> bool:
    """Whether a source hides its knowledge span behind one ``<mask>`` right after ``<ent_desc>``."""
    source = list(source)
    return ids.desc in source and source.index(ids.desc) + 1 < len(source) and \
        source[source.index(ids.desc) + 1] == ids.mask


def word_window(text: str, start: int, end: int, radius: int) -> tuple[int, int]:
    """``[ws, we)`` around ``text[start:end]``, reaching about ``radius`` characters out on each side
    and cut at spaces (where the reach holds no space, the window stops at the mention)."""
    ws = max(0, start - radius)
    if ws > 0:
        space = text.find(" ", ws, start)
        ws = start if space < 0 else space + 1
    we = min(len(text), end + radius)
    if we < len(text):
        space = text.rfind(" ", end, we)
        we = end if space < 0 else space
    return ws, we


@dataclass(frozen=True)
class FittedWindow:
    """A window cut out of a longer one around its mention: ``text[start:end]`` of the original."""

    window: Window
    start: int
    end: int
    encoded: EncodedWindow


def fit_window(window: Window, encode: EncodeFn, ids: SpecialIds, max_positions: int, *,
               reserve: int | None = None, piece: PieceFn | None = None) -> FittedWindow | None:
    """The widest cut of ``window`` around its mention whose :func:`row_positions` fit
    ``max_positions`` (see :func:`row_limit`); the knowledge span is never cut. ``None`` when the
    mention and span alone do not fit. The pipeline fits training rows (``reserve=None``), eval fits
    probes. ``piece`` gives ids of the uncut text's pieces (:class:`kilm.tokenizer.EncodedText`)."""
    text = window.text

    def cut(ws: int, we: int) -> FittedWindow:
        part = Window(text[ws:we], window.start - ws, window.end - ws, window.title, window.description)
        whole = piece if (ws, we) == (0, len(text)) else None
        return FittedWindow(part, ws, we, encode_window(part, encode, ids, piece=whole))

    full = cut(0, len(text))
    if row_positions(full.encoded, reserve) <= max_positions:
        return full
    lo, hi = 0, max(window.start, len(text) - window.end)
    best = None
    while lo <= hi:
        radius = (lo + hi) // 2
        fitted = cut(*word_window(text, window.start, window.end, radius))
        if row_positions(fitted.encoded, reserve) <= max_positions:
            best = fitted
            lo = radius + 1
        else:
            hi = radius - 1
    return best


@dataclass(frozen=True)
class PlainRow:
    """A plain row (ids + ``</s>``) of ``text[start:end]``."""

    start: int
    end: int
    row: list[int]


def plain_rows(text: str, encode: EncodeFn, max_positions: int, ids: Sequence[int] | None = None) -> list[PlainRow]:
    """A paragraph cut at spaces into plain rows whose ``<s> row`` fits ``max_positions``; each decodes
    back to its ``text[start:end]``. ``ids``: the whole text's ids, where the caller has them."""
    ids = encode(text) if ids is None else ids
    if len(ids) + 2 <= max_positions:
        return [PlainRow(0, len(text), [*ids, EOS])]
    rows, start = [], 0
    while start < len(text):
        lo, hi, best = start + 1, len(text), None
        while lo <= hi:
            mid = (lo + hi) // 2
            end = mid if mid == len(text) else (text.rfind(" ", start, mid) if " " in text[start:mid] else mid)
            end = max(end, start + 1)
            piece = encode(text[start:end])
            if len(piece) + 2 <= max_positions:
                best = (end, piece)
                lo = mid + 1
            else:
                hi = mid - 1
        end, piece = best if best else (start + 1, encode(text[start : start + 1]))
        rows.append(PlainRow(start, end, [*piece, EOS]))
        start = end + 1 if end < len(text) and text[end] == " " else end
    return rows
