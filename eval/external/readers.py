"""Readers of the benchmark files researchers hold, each line checked; a bad line stops with ``file:line``.

- Entity disambiguation, told apart per line by its fields:
  GENRE's KILT files (``id``, ``input`` = ``left [START_ENT] mention [END_ENT] right``, ``output[].answer``
  or ``output[].provenance[].title``, ``meta.left_context/mention/right_context``, optional ``candidates``
  and ``meta.description``) and BLINK's benchmark files (``context_left``, ``mention``,
  ``context_right``, ``Wikipedia_title``, with ``query_id``, ``label_id``, ``Wikipedia_ID``,
  ``Wikipedia_URL``).
- LAMA: T-REx (``sub_label``, ``obj_label``, ``predicate_id``, ``evidences[].masked_sentence``),
  Google-RE (``sub_label``, ``obj_label``, ``pred``, ``masked_sentences``, ``judgments[].judgment``) and the
  unjudged files of the same layout (ConceptNet, SQuAD: ``masked_sentences``, ``obj_label``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.data import DataError

START, END = "[START_ENT]", "[END_ENT]"
LAMA_MASK = "[MASK]"
BLINK_TITLE_FIELDS = ("Wikipedia_title", "label_title")


class ExternalDataError(DataError):
    """A benchmark file that cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class Mention:
    """One marked mention of an ED or description file. ``candidates`` is None when the line gives none."""

    id: str
    line: int
    text: str
    start: int
    end: int
    gold: str
    candidates: tuple[str, ...] | None
    description: str | None

    @property
    def surface(self) -> str:
        return self.text[self.start : self.end]


@dataclass(frozen=True)
class Cloze:
    """One LAMA fact: a sentence with one ``[MASK]`` where the object goes."""

    id: str  # FILE_STEM:LINE (LAMA's uuids repeat across files)
    relation: str
    answer: str
    sentence: str


def _lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, JSON object) of every non-blank line."""
    if not path.is_file():
        raise ExternalDataError(f"{path}: no such file")
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise ExternalDataError(f"{path}:{lineno}: not JSON ({e.msg})") from None
            if not isinstance(obj, dict):
                raise ExternalDataError(f"{path}:{lineno}: expected a JSON object, got {type(obj).__name__}")
            yield lineno, obj


def _join(left: str, mention: str, right: str) -> tuple[str, int, int]:
    """Text with the mention between its contexts, one space at each seam, and the mention's offsets."""
    left, mention, right = left.strip(), mention.strip(), right.strip()
    start = len(left) + (1 if left else 0)
    text = f"{left}{' ' if left else ''}{mention}{' ' if right else ''}{right}"
    return text, start, start + len(mention)


def _string(obj: dict, key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise ExternalDataError(f"{where}: field {key!r} must be a string, got {type(value).__name__}")
    return value


def _kilt(obj: dict, lineno: int, where: str) -> Mention:
    meta = obj.get("meta") if isinstance(obj.get("meta"), dict) else {}
    source = _string(obj, "input", where)
    s = source.find(START)
    e = source.find(END, s + len(START)) if s >= 0 else -1
    if s >= 0 and e >= 0:
        left, mention, right = source[:s], source[s + len(START) : e], source[e + len(END) :]
    elif all(isinstance(meta.get(k), str) for k in ("left_context", "mention", "right_context")):
        left, mention, right = meta["left_context"], meta["mention"], meta["right_context"]
    else:
        raise ExternalDataError(f"{where}: 'input' has no {START} ... {END} and 'meta' no left_context/mention/"
                                "right_context")
    if not mention.strip():
        raise ExternalDataError(f"{where}: empty mention")
    output = obj.get("output")
    if not isinstance(output, list) or not output or not isinstance(output[0], dict):
        raise ExternalDataError(f"{where}: 'output' must be a non-empty list of objects")
    gold = output[0].get("answer") or ""
    provenance = output[0].get("provenance")
    if not gold and isinstance(provenance, list) and provenance and isinstance(provenance[0], dict):
        gold = provenance[0].get("title") or ""
    if not isinstance(gold, str):
        raise ExternalDataError(f"{where}: 'output[0].answer' must be a string")
    candidates = obj.get("candidates")
    if candidates is not None and not (isinstance(candidates, list) and all(isinstance(c, str) for c in candidates)):
        raise ExternalDataError(f"{where}: 'candidates' must be a list of titles")
    description = meta.get("description")
    text, start, end = _join(left, mention, right)
    return Mention(str(obj.get("id", lineno)), lineno, text, start, end, gold,
                   tuple(candidates) if candidates else None,
                   description if isinstance(description, str) and description.strip() else None)


def _blink(obj: dict, lineno: int, where: str) -> Mention:
    key = next((k for k in BLINK_TITLE_FIELDS if k in obj), None)
    if key is None:
        raise ExternalDataError(f"{where}: a BLINK line needs 'Wikipedia_title' (the gold entity)")
    gold = obj[key] if isinstance(obj[key], str) else ""
    mention = _string(obj, "mention", where)
    if not mention.strip():
        raise ExternalDataError(f"{where}: empty mention")
    text, start, end = _join(_string(obj, "context_left", where), mention, _string(obj, "context_right", where))
    return Mention(str(obj.get("query_id", lineno)), lineno, text, start, end, gold, None, None)


def line_format(obj: dict) -> str | None:
    """``kilt``, ``blink`` or None, from the fields a line carries."""
    if "input" in obj and "output" in obj:
        return "kilt"
    if all(k in obj for k in ("context_left", "mention", "context_right")):
        return "blink"
    return None


def read_mentions(path: Path) -> tuple[str, list[Mention]]:
    """The file's format and its mentions, in file order; every line must be of one format."""
    fmt: str | None = None
    mentions: list[Mention] = []
    for lineno, obj in _lines(path):
        where = f"{path}:{lineno}"
        kind = line_format(obj)
        if kind is None:
            raise ExternalDataError(f"{where}: neither a KILT line (id, input, output) nor a BLINK line "
                                    "(context_left, mention, context_right, Wikipedia_title)")
        if fmt is not None and kind != fmt:
            raise ExternalDataError(f"{where}: a {kind} line in a file whose first line is {fmt}")
        fmt = kind
        mentions.append((_kilt if kind == "kilt" else _blink)(obj, lineno, where))
    if fmt is None:
        raise ExternalDataError(f"{path}: no lines")
    return fmt, mentions


def _judged_no(obj: dict) -> bool:
    """LAMA's Google-RE rule: a fact most raters judged "no" is not evidence."""
    judgments = [j.get("judgment") for j in obj.get("judgments") or () if isinstance(j, dict)]
    return sum(j != "yes" for j in judgments) > sum(j == "yes" for j in judgments)


def _single_mask(sentences: list[Any]) -> str | None:
    """The first sentence with exactly one ``[MASK]`` (a second mask would hide or leak the object)."""
    return next((s for s in sentences if isinstance(s, str) and s.count(LAMA_MASK) == 1), None)


@dataclass(frozen=True)
class LamaFile:
    format: str  # "trex" | "google_re" | "masked_sentences"
    facts: list[Cloze]
    lines: int
    judged_no: int
    no_single_mask: int


def read_lama(path: Path) -> LamaFile:
    """T-REx or Google-RE facts of one file (the format told by each line's fields)."""
    fmt: str | None = None
    facts: list[Cloze] = []
    lines = judged_no = no_single_mask = 0
    for lineno, obj in _lines(path):
        where = f"{path}:{lineno}"
        lines += 1
        if "masked_sentences" in obj:  # Google-RE (judged); ConceptNet and SQuAD have the same layout, unjudged
            kind = "google_re" if "judgments" in obj else "masked_sentences"
            relation = str(obj.get("pred") or path.stem).rstrip("/").rsplit("/", 1)[-1]
            sentences = obj["masked_sentences"]
        elif "evidences" in obj and "predicate_id" in obj:
            kind, relation = "trex", str(obj["predicate_id"])
            evidences = obj["evidences"] if isinstance(obj["evidences"], list) else []
            sentences = [e.get("masked_sentence") for e in evidences if isinstance(e, dict)]
        else:
            raise ExternalDataError(f"{where}: neither a LAMA T-REx line (predicate_id, evidences) nor a line with "
                                    "masked_sentences (Google-RE, ConceptNet, SQuAD)")
        if fmt is not None and kind != fmt:
            raise ExternalDataError(f"{where}: a {kind} line in a file whose first line is {fmt}")
        fmt = kind
        answer = _string(obj, "obj_label", where)
        if not isinstance(sentences, list):
            raise ExternalDataError(f"{where}: masked sentences must be a list")
        if _judged_no(obj):
            judged_no += 1
            continue
        sentence = _single_mask(sentences)
        if sentence is None:
            no_single_mask += 1
            continue
        facts.append(Cloze(f"{path.stem}:{lineno}", relation, answer, sentence))
    if fmt is None:
        raise ExternalDataError(f"{path}: no lines")
    return LamaFile(fmt, facts, lines, judged_no, no_single_mask)
