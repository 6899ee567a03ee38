"""Pipeline throughput against WikiExtractor on the same dump (pages/s, medians of several runs).

    python bench/pipeline_vs_wikiextractor.py [--dump PATH ...] [--synthetic-entities N] [--runs 3]

Ours (DirectRunner, 1 worker and 2 workers) produces links, descriptions, tokens and binarized shards;
``wikiextractor --links`` produces plain text with links. Both are timed as whole processes, start-up
included; the ratio is ours/theirs with the same number of processes. "Per core" divides pages by the
CPU seconds (user + system) of the whole process tree: WikiExtractor runs a reader, extractor and
writer process even with ``--processes 1``.

The parser floor puts WikiExtractor's time beside what ``mwparserfromhell.parse`` alone takes on the
full wikitext of every page of the same dump (the parser DESIGN.md prescribes; one process).
"""

from __future__ import annotations

import argparse
import bz2
import json
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DUMP = ROOT.parent / "shared" / "data" / "enwiki-pages-articles-sample.xml.bz2"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command and every process it waited for)."""
    start, cpu = time.perf_counter(), _children_cpu()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start, _children_cpu() - cpu


def ours(dump: Path, workers: int, out: Path) -> list[str]:
    command = [sys.executable, "-m", "pipeline.run", "--input", str(dump), "--output", str(out),
               "--train-tokenizer", "--vocab-size", "8000", "--text-scope", "article"]  # wikiextractor: whole articles
    if workers > 1:
        command += ["--direct_num_workers", str(workers), "--direct_running_mode", "multi_processing"]
    return command


def theirs(dump: Path, workers: int, out: Path) -> list[str]:
    return [sys.executable, "-m", "wikiextractor.WikiExtractor", "--processes", str(workers), "--links",
            "--quiet", "-o", str(out), str(dump)]


def bench_dump(dump: Path, runs: int, tmp: Path) -> list[dict]:
    tmp = tmp / dump.name  # each dump's outputs apart
    rows = []
    for workers in (1, 2):
        wall, cpu = {"ours": [], "wx": []}, {"ours": [], "wx": []}
        for run in range(runs):  # interleaved, so drifts in machine load hit both alike
            for name, command in (("ours", ours(dump, workers, tmp / f"ours-{workers}-{run}")),
                                  ("wx", theirs(dump, workers, tmp / f"wx-{workers}-{run}"))):
                seconds, cpu_seconds = timed(command)
                wall[name].append(seconds)
                cpu[name].append(cpu_seconds)
        pages = json.loads((tmp / f"ours-{workers}-0" / "manifest.json").read_text())["counts"]["pages_read"]
        wall = {k: statistics.median(v) for k, v in wall.items()}
        cpu = {k: statistics.median(v) for k, v in cpu.items()}
        rows.append({"dump": dump.name, "pages": pages, "workers": workers,
                     "ours_s": wall["ours"], "wx_s": wall["wx"], "ours_cpu_s": cpu["ours"], "wx_cpu_s": cpu["wx"],
                     "ratio": wall["wx"] / wall["ours"], "ratio_per_core": cpu["wx"] / cpu["ours"]})
    return rows


def parser_floor(dump: Path) -> float:
    """Seconds ``mwparserfromhell.parse`` takes on the text of every revision of ``dump``."""
    import mwparserfromhell
    import mwxml

    with bz2.open(dump, "rb") if dump.suffix == ".bz2" else open(dump, "rb") as f:
        texts = [revision.text or "" for page in mwxml.Dump.from_file(f) for revision in page]
    start = time.perf_counter()
    for text in texts:
        mwparserfromhell.parse(text)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dump", action="append", type=Path, default=None)
    parser.add_argument("--synthetic-entities", type=int, default=0,
                        help="also bench a generated world of this many entities (synth)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    dumps = args.dump or ([DEFAULT_DUMP] if DEFAULT_DUMP.is_file() else [])
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        if args.synthetic_entities:
            world = tmp / f"world-{args.synthetic_entities}.xml.bz2"
            subprocess.run([sys.executable, "-m", "synth", "--entities", str(args.synthetic_entities),
                            "--seed", "1", "--output", str(world)], cwd=ROOT, check=True)
            dumps.append(world)
        if not dumps:
            print("no dump: pass --dump PATH or --synthetic-entities N", file=sys.stderr)
            return 2
        rows = [row for dump in dumps for row in bench_dump(dump, args.runs, tmp)]
        floors = {dump.name: parser_floor(dump) for dump in dumps}
    print(f"# pipeline vs WikiExtractor — {time.strftime('%Y-%m-%d')}, {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}, medians of {args.runs} runs (whole processes)")
    print("| dump | pages | processes | ours s | ours pages/s | WikiExtractor s | WikiExtractor pages/s "
          "| ours/theirs | ours CPU s | WikiExtractor CPU s | ours/theirs per core |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['dump']} | {r['pages']} | {r['workers']} | {r['ours_s']:.2f} | {r['pages'] / r['ours_s']:.1f} | "
              f"{r['wx_s']:.2f} | {r['pages'] / r['wx_s']:.1f} | {r['ratio']:.2f} | {r['ours_cpu_s']:.2f} | "
              f"{r['wx_cpu_s']:.2f} | {r['ratio_per_core']:.2f} |")
    print("\n| dump | mwparserfromhell.parse, every page, s | WikiExtractor whole run (1 process), s "
          "| parse / WikiExtractor |")
    print("|---|---|---|---|")
    for r in rows:
        if r["workers"] == 1:
            floor = floors[r["dump"]]
            print(f"| {r['dump']} | {floor:.2f} | {r['wx_s']:.2f} | {floor / r['wx_s']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
