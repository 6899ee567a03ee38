"""Where the pipeline's time goes: one in-process run (DirectRunner, one worker) under cProfile, split
by stage (our DoFns' own time and what they call) and by library (time spent in each package's code).

    python bench/profile_pipeline.py --input DUMP [--text-scope lead|article] [--top 15]

Profiling slows Python code more than native code, so shares are a guide to where to work, and the
whole-process comparison with WikiExtractor stays bench/pipeline_vs_wikiextractor.py's.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: What a profiled function's code belongs to, by the path it was loaded from.
LIBRARIES = ("mwparserfromhell", "mwxml", "tokenizers", "apache_beam", "sentencex", "numpy", "google", "dill",
             "cloudpickle", "orjson")
#: Our code's stages: the modules whose DoFns run them.
STAGES = {"dump": "read pages", "read": "read pages", "multistream": "read pages", "encoding": "read pages",
          "parse": "classify + parse", "wikitext": "classify + parse", "markup": "classify + parse",
          "descriptions": "descriptions", "wikidata": "descriptions", "resolve": "resolve redirects + links",
          "knowledge": "knowledge + examples", "vocabulary": "tokenizer training", "binarize": "rows + shards",
          "sinks": "writing files", "manifest": "manifest"}
_NATIVE = {"tokenizers.": "tokenizers", "_bz2": "bz2 (decompression)", "re.Pattern": "re (regular expressions)",
           "pyexpat": "xml (expat)", "_pickle": "pickle", "zlib": "gzip/zlib"}


def library_of(filename: str, function: str) -> str:
    """The package a profiled function belongs to (``~`` is a builtin, named by its function)."""
    if filename == "~":
        return next((name for key, name in _NATIVE.items() if key in function), "builtins")
    path = Path(filename)
    if ROOT in path.parents and "site-packages" not in filename:
        return f"kilm: {path.relative_to(ROOT).parts[0]}/"
    return next((lib for lib in LIBRARIES if f"/{lib}/" in filename), "other (stdlib, …)")


def is_ours(filename: str) -> bool:
    """Code of this project (a generator of ours that our code hands to kilm/ is run by it, not by Beam)."""
    return filename.startswith(f"{ROOT}/") and "site-packages" not in filename


def stage_of(filename: str) -> str | None:
    """The stage a file's code runs in, for our pipeline modules (``None`` for any other file)."""
    path = Path(filename)
    return STAGES.get(path.stem) if path.parent == ROOT / "pipeline" else None


def split(stats: pstats.Stats) -> tuple[float, dict[str, float], dict[str, float]]:
    """(total seconds, own time by library, time by stage). A stage's time is the cumulative time of its
    modules' functions where code that is not ours calls them (Beam running a DoFn, a CombineFn or a
    Map): what the stage's own functions call is inside it, nothing is counted twice."""
    by_library: dict[str, float] = defaultdict(float)
    by_stage: dict[str, float] = defaultdict(float)
    total = 0.0
    for (filename, _, function), (_, _, own, _, callers) in stats.stats.items():
        by_library[library_of(filename, function)] += own
        total += own
        stage = stage_of(filename)
        if stage:
            by_stage[stage] += sum(caller[3] for (caller_file, _, _), caller in callers.items()
                                   if not is_ours(caller_file))
    return total, dict(by_library), dict(by_stage)


def table(title: str, parts: dict[str, float], total: float, top: int) -> list[str]:
    lines = [f"| {title} | s | share |", "|---|---|---|"]
    for name, seconds in sorted(parts.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"| {name} | {seconds:.1f} | {100 * seconds / total:.0f}% |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", type=Path, required=True, help="a dump (.xml or .xml.bz2)")
    parser.add_argument("--text-scope", choices=("lead", "article"), default="lead")
    parser.add_argument("--top", type=int, default=15, help="rows per table")
    args = parser.parse_args()
    if not args.input.is_file():
        print(f"--input {args.input}: no such file", file=sys.stderr)
        return 2
    sys.path.insert(0, str(ROOT))
    from pipeline.run import main as pipeline_main

    with tempfile.TemporaryDirectory() as out:
        profile = cProfile.Profile()
        profile.enable()
        code = pipeline_main(["--input", str(args.input), "--output", out, "--train-tokenizer", "--vocab-size", "8000",
                              "--text-scope", args.text_scope])
        profile.disable()
    if code:
        return code
    total, by_library, by_stage = split(pstats.Stats(profile))
    by_stage["Beam and the rest (start-up, moving elements)"] = total - sum(by_stage.values())
    print(f"\n# profile: {args.input.name}, --text-scope {args.text_scope}, {total:.1f} s under cProfile\n")
    print("\n".join(table("stage", by_stage, total, args.top)))
    print()
    print("\n".join(table("library (own time)", by_library, total, args.top)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
