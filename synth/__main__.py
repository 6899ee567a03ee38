"""CLI: `python -m synth --entities N --seed S --output world.xml.bz2`."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from synth import DEFAULT_ENTITIES, generate


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    # argparse alone: the oracle shares no code with what it checks (tests/test_synth.py), kilm.cli included.
    parser = argparse.ArgumentParser(
        prog="python -m synth", allow_abbrev=False,
        description="Write a fictional MediaWiki export (bz2, schema 0.10) and its truth file "
                    "(<stem>.truth.jsonl next to it). Same arguments give byte-identical files.",
    )
    parser.add_argument("--entities", type=int, default=DEFAULT_ENTITIES,
                        help=f"number of entity articles (default {DEFAULT_ENTITIES}: the demo size)")
    parser.add_argument("--seed", type=int, default=0, help="world seed (default 0)")
    parser.add_argument("--output", type=Path, default=Path("world.xml.bz2"),
                        help="dump path; the truth goes to <stem>.truth.jsonl (default world.xml.bz2)")
    parser.add_argument("--workers", type=int, default=1,
                        help="processes building chunks; the output does not depend on it (default 1)")
    args = parser.parse_args(argv)
    if args.entities < 1:
        parser.error("--entities must be at least 1")
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    summary = generate(args.output, args.entities, args.seed, args.workers)
    print(f"wrote {summary.dump} ({summary.pages} pages, {summary.entities} entities) and {summary.truth} "
          f"({summary.mentions} mentions) in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
