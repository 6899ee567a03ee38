"""What the trainer and eval read from the pipeline's ``OUT/manifest.json``."""

from __future__ import annotations

import json
from pathlib import Path


class ManifestError(ValueError):
    """A ``manifest.json`` that is not the pipeline's; the message names the file."""


def language_token(out: Path) -> str | None:
    """The dump's mBART language token the pipeline recorded (``None``: no manifest, or a BART run)."""
    manifest = Path(out) / "manifest.json"
    if not manifest.is_file():
        return None
    try:
        return json.loads(manifest.read_text(encoding="utf-8"))["tokenizer"].get("language_token")
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as error:
        raise ManifestError(f"{manifest}: not the pipeline's manifest ({type(error).__name__}: {error})") from None


def split_rows(out: Path, section: str, split: str) -> int | None:
    """Rows of a split the pipeline recorded (``section``: ``examples``, ``sequences`` or
    ``plain_sequences``); ``None`` when no manifest records it. A split with no rows has no files (as
    fairseq-preprocess writes none for a split it was not given), so readers ask here why."""
    manifest = Path(out) / "manifest.json"
    if not manifest.is_file():
        return None
    try:
        recorded = json.loads(manifest.read_text(encoding="utf-8")).get(section, {}).get(split)
        return None if recorded is None else int(recorded)
    except (json.JSONDecodeError, TypeError, ValueError, AttributeError) as error:
        raise ManifestError(f"{manifest}: not the pipeline's manifest ({type(error).__name__}: {error})") from None
