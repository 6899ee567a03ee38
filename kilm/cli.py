"""What every kilm command line shares: help with defaults, no abbreviations, one-line errors that
suggest the nearest option, and one way to name a run (the pipeline's output directory ``OUT``).

Kept free of heavy imports (no Beam, torch or fairseq), so ``--help`` is fast and quiet.
"""

from __future__ import annotations

import argparse
import difflib
import logging
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

_UNRECOGNIZED = "unrecognized arguments: "


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Each option's default after its help, unless there is nothing to show (``None``, a switch's off),
    or the help already gives it; descriptions keep their own line breaks."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        nothing = action.default is None or action.default is False or action.default in ("", argparse.SUPPRESS)
        if nothing or "default" in text:
            return text
        return super()._get_help_string(action)


def suggestion(option: str, known: Iterable[str]) -> str:
    """``"; did you mean --output?"`` for a misspelled ``--ouput``, or ``""`` when nothing is close."""
    name = option.split("=", 1)[0]
    close = difflib.get_close_matches(name, sorted(set(known)), n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def unknown_options_message(unknown: Sequence[str], known: Iterable[str]) -> str:
    """One line naming the unknown options, each with its nearest known option if there is one."""
    known = list(known)
    parts = [f"{name}{suggestion(name, known)}" for name in unknown]
    return f"unknown option{'s' if len(parts) > 1 else ''}: {', '.join(parts)}"


class Parser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` with the shared rules: no abbreviations (``--mod`` is not ``--mode``),
    defaults in ``--help``, and errors on one line (``PROG: error: ...``) that suggest the nearest option."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def option_names(self) -> list[str]:
        return [name for action in self._actions for name in action.option_strings]

    def parse_args(self, args: Sequence[str] | None = None, namespace=None):
        # Unknown options first: argparse would otherwise report a misspelled required option as missing.
        argv = list(sys.argv[1:] if args is None else args)
        unknown = self.unknown_options(argv[: argv.index("--")] if "--" in argv else argv)
        if unknown:
            self.error(unknown_options_message(unknown, self.option_names()))
        return super().parse_args(argv, namespace)

    def unknown_options(self, argv: Sequence[str]) -> list[str]:
        known = set(self.option_names())
        return [token.split("=", 1)[0] for token in argv
                if token.startswith("--") and token != "--" and token.split("=", 1)[0] not in known]

    def error(self, message: str):
        if message.startswith(_UNRECOGNIZED):
            unknown = [t for t in message[len(_UNRECOGNIZED):].split() if t.startswith("-")]
            message = unknown_options_message(unknown, self.option_names()) if unknown else message
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# ---- the run directory ---------------------------------------------------------------------------


class RunDirError(ValueError):
    """``--data`` does not name a pipeline output; the message names the directory to pass instead."""


def _is_bin(path: Path) -> bool:
    return (path / "plain").is_dir() or any(re.fullmatch(r"shard\d+", p.name) for p in path.glob("shard*"))


def _is_run(path: Path) -> bool:
    return (path / "manifest.json").is_file() or (path / "bin").is_dir() or (path / "tokenizer").is_dir()


def run_dir(path: Path, option: str = "--data", *, accept_bin: bool = False) -> Path:
    """The pipeline output directory ``OUT`` that ``path`` names; with ``accept_bin``, ``OUT/bin`` is
    taken for ``OUT`` (the trainer's older spelling). Anything else: one line naming what to pass."""
    path = Path(path)
    if not path.is_dir():
        raise RunDirError(f"{option} {path}: no such directory")
    if _is_bin(path) and not _is_run(path):
        if accept_bin:
            return path.parent
        raise RunDirError(f"{option} {path} is the binarized folder; pass the run directory {path.parent}")
    if _is_run(path):
        return path
    for parent in path.parents:
        if (parent / "manifest.json").is_file():
            raise RunDirError(f"{option} {path} is inside the run directory {parent}; pass {parent}")
    runs = sorted(p for p in path.iterdir() if p.is_dir() and (p / "manifest.json").is_file())
    if runs:
        found = ", ".join(str(p) for p in runs[:3]) + (", ..." if len(runs) > 3 else "")
        raise RunDirError(f"{option} {path} holds pipeline outputs ({found}); pass one of them")
    raise RunDirError(f"{option} {path}: not a kilm pipeline output (no manifest.json, bin/ or tokenizer/); pass the "
                      "--output directory of python -m pipeline.run")


def bin_dir(path: Path, option: str = "--data") -> Path:
    """``OUT/bin`` for ``OUT`` or ``OUT/bin`` (the trainer's data)."""
    path = Path(path)
    if path.is_dir() and _is_bin(path):
        return path
    return run_dir(path, option) / "bin"


# ---- logging -------------------------------------------------------------------------------------


class _DropMessages(logging.Filter):
    def __init__(self, prefixes: Sequence[str]) -> None:
        super().__init__()
        self.prefixes = tuple(prefixes)

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.prefixes)


def drop_log_messages(logger: str, *prefixes: str) -> None:
    """Drop a library's log lines that start with ``prefixes`` (advice about things the user did not do),
    leaving the rest of that logger alone."""
    logging.getLogger(logger or None).addFilter(_DropMessages(prefixes))
