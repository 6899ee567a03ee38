"""``python -m trainer.console ARGS``: ``fairseq-train ARGS`` with a quiet console (the launcher runs this).

Everything fairseq logs, library warnings included, goes to ``SAVE_DIR/train.log`` (the full config, the
model printout, data loading); the console gets the model size, checkpoint loads and saves, fairseq's
JSON progress records (``train_inner`` with an ``eta`` added, ``train``, ``valid``) and real warnings.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

LOG_FORMAT = "%(asctime)s | %(levelname)s | %(name)s | %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
#: fairseq's progress loggers (its JSON progress bar renames its logger to the record's tag).
PROGRESS = ("train_inner", "train", "valid")
#: Lines from fairseq's own loggers worth a console line.
SHOWN = ("num. shared model params", "Loaded checkpoint", "Saved checkpoint", "done training")


def option(argv: Sequence[str], name: str, default: str | None = None) -> str | None:
    """The last value of ``name`` in a fairseq command line (later flags override earlier ones)."""
    found = default
    for i, token in enumerate(argv):
        if token == name and i + 1 < len(argv):
            found = argv[i + 1]
        elif token.startswith(name + "="):
            found = token.split("=", 1)[1]
    return found


class ConsoleFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "py.warnings":  # library deprecations: the log file has them
            return False
        if record.levelno >= logging.WARNING:
            return True
        return record.name in PROGRESS or str(record.msg).startswith(SHOWN)


class ConsoleFormatter(logging.Formatter):
    """fairseq's line format; ``train_inner`` records get ``eta`` (time left to ``--max-update``) from
    the pace since the first record, so the JSON stays parseable."""

    def __init__(self, max_update: int | None) -> None:
        super().__init__(LOG_FORMAT, DATE_FORMAT)
        self.max_update = max_update
        self.first: tuple[int, float] | None = None

    def format(self, record: logging.LogRecord) -> str:
        if record.name == "train_inner" and self.max_update:
            try:
                stats = json.loads(record.getMessage())
                updates, wall = int(stats["num_updates"]), float(stats["wall"])
            except (ValueError, KeyError, TypeError):
                return super().format(record)
            first = self.first = self.first or (updates, wall)
            pace = (wall - first[1]) / (updates - first[0]) if updates > first[0] else wall / max(updates, 1)
            left = max(self.max_update - updates, 0) * pace
            stats["eta"] = str(datetime.timedelta(seconds=round(left)))
            record = logging.makeLogRecord({**record.__dict__, "msg": json.dumps(stats), "args": None})
        return super().format(record)


def setup(argv: Sequence[str]) -> Path:
    """Route logging and warnings (before fairseq is imported); returns the log file."""
    save_dir = Path(option(argv, "--save-dir", "checkpoints"))
    save_dir.mkdir(parents=True, exist_ok=True)
    rank = int(os.environ.get("RANK", "0"))
    log_file = save_dir / ("train.log" if rank == 0 else f"train.rank{rank}.log")
    to_file = logging.FileHandler(log_file)
    to_file.setFormatter(logging.Formatter(LOG_FORMAT, DATE_FORMAT))
    max_update = option(argv, "--max-update")
    to_console = logging.StreamHandler(sys.stdout)
    to_console.addFilter(ConsoleFilter())
    to_console.setFormatter(ConsoleFormatter(int(max_update) if max_update and max_update.isdigit() else None))
    root = logging.getLogger()
    root.handlers = [to_file, to_console]
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    logging.getLogger("kilm.console").info("fairseq-train %s", shlex.join(argv))
    return log_file


def main() -> None:
    setup(sys.argv[1:])
    from fairseq_cli.train import cli_main

    cli_main()


if __name__ == "__main__":
    main()
