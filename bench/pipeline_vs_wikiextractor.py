"""Pipeline throughput against WikiExtractor on the same dump (pages/s, medians of several runs).

    python bench/pipeline_vs_wikiextractor.py [--dump PATH ...] [--replicate 10] [--synthetic-entities N]
        [--scopes lead article] [--workers 1 2] [--runs 3]

Ours (DirectRunner, 1 worker and 2 workers), in each ``--text-scope``, produces links, descriptions, tokens
and binarized shards; ``wikiextractor --links`` produces plain text with links (whole articles).
``--replicate K`` benches each dump as K copies of its pages (copies get their own titles and ids), so a
small real sample weighs more than the fixed start-up. Both are timed as whole processes, start-up
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
import re
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


def _renamed(page: str, copy: int) -> str:
    """Copy ``copy`` of a ``<page>`` element: its title gets " copy", its page id + copy·10⁷."""
    page = re.sub(r"<title>(.*?)</title>", lambda m: f"<title>{m.group(1)} {copy}</title>", page, count=1)
    return re.sub(r"<id>(\d+)</id>", lambda m: f"<id>{int(m.group(1)) + copy * 10_000_000}</id>", page, count=1)


def replicated(dump: Path, copies: int, out: Path) -> Path:
    """``dump`` with every page written ``copies`` times (copies after the first :func:`_renamed`, so no
    copy is a duplicate title); the text is unchanged."""
    with bz2.open(dump, "rt", encoding="utf-8") if dump.suffix == ".bz2" else open(dump, encoding="utf-8") as f:
        text = f.read()
    first, last = text.index("<page>"), text.rindex("</page>") + len("</page>")
    pages = re.findall(r"<page>.*?</page>", text[first:last], re.DOTALL)
    path = out / f"{dump.name.split('.')[0]}-x{copies}.xml.bz2"
    with bz2.open(path, "wt", encoding="utf-8") as f:
        f.write(text[:first])
        for copy in range(copies):
            f.writelines((_renamed(page, copy) if copy else page) + "\n" for page in pages)
        f.write(text[last:])
    return path


def ours(dump: Path, workers: int, out: Path, scope: str) -> list[str]:
    command = [sys.executable, "-m", "pipeline.run", "--input", str(dump), "--output", str(out),
               "--train-tokenizer", "--vocab-size", "8000", "--text-scope", scope]
    if workers > 1:
        command += ["--direct_num_workers", str(workers), "--direct_running_mode", "multi_processing"]
    return command


def theirs(dump: Path, workers: int, out: Path) -> list[str]:
    return [sys.executable, "-m", "wikiextractor.WikiExtractor", "--processes", str(workers), "--links",
            "--quiet", "-o", str(out), str(dump)]


def bench_dump(dump: Path, runs: int, tmp: Path, scopes: list[str], processes: list[int]) -> list[dict]:
    tmp = tmp / dump.name  # each dump's outputs apart
    rows = []
    for workers in processes:
        commands = {scope: [ours(dump, workers, tmp / f"{scope}-{workers}-{run}", scope) for run in range(runs)]
                    for scope in scopes}
        commands["wx"] = [theirs(dump, workers, tmp / f"wx-{workers}-{run}") for run in range(runs)]
        wall, cpu = {name: [] for name in commands}, {name: [] for name in commands}
        for run in range(runs):  # interleaved, so drifts in machine load hit all alike
            for name, command in commands.items():
                seconds, cpu_seconds = timed(command[run])
                wall[name].append(seconds)
                cpu[name].append(cpu_seconds)
        wall = {k: statistics.median(v) for k, v in wall.items()}
        cpu = {k: statistics.median(v) for k, v in cpu.items()}
        for scope in scopes:
            pages = json.loads((tmp / f"{scope}-{workers}-0" / "manifest.json").read_text())["counts"]["pages_read"]
            rows.append({"dump": dump.name, "scope": scope, "pages": pages, "workers": workers,
                         "ours_s": wall[scope], "wx_s": wall["wx"], "ours_cpu_s": cpu[scope], "wx_cpu_s": cpu["wx"],
                         "ratio": wall["wx"] / wall[scope], "ratio_per_core": cpu["wx"] / cpu[scope]})
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
    parser.add_argument("--dump", action="append", type=Path, default=None,
                        help="a dump to bench (repeatable; default: the shared enwiki sample, unless "
                             "--synthetic-entities is given)")
    parser.add_argument("--replicate", type=int, default=10,
                        help="bench each --dump as this many copies of its pages (not the generated world)")
    parser.add_argument("--synthetic-entities", type=int, default=0,
                        help="also bench a generated world of this many entities (synth; ~1.85 pages an entity)")
    parser.add_argument("--scopes", nargs="+", choices=("lead", "article"), default=["lead", "article"])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="processes, each side")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    dumps = args.dump or ([DEFAULT_DUMP] if DEFAULT_DUMP.is_file() and not args.synthetic_entities else [])
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "dumps").mkdir()
        if args.replicate > 1:
            dumps = [replicated(dump, args.replicate, tmp / "dumps") for dump in dumps]
        if args.synthetic_entities:
            world = tmp / "dumps" / f"world-{args.synthetic_entities}.xml.bz2"
            subprocess.run([sys.executable, "-m", "synth", "--entities", str(args.synthetic_entities),
                            "--seed", "1", "--output", str(world)], cwd=ROOT, check=True)
            dumps.append(world)
        if not dumps:
            print("no dump: pass --dump PATH or --synthetic-entities N", file=sys.stderr)
            return 2
        rows = [row for dump in dumps for row in bench_dump(dump, args.runs, tmp, args.scopes, args.workers)]
        floors = {dump.name: parser_floor(dump) for dump in dumps}
    print(f"# pipeline vs WikiExtractor — {time.strftime('%Y-%m-%d')}, {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}, medians of {args.runs} runs (whole processes)")
    print("| dump | scope | pages | processes | ours s | ours pages/s | WikiExtractor s | WikiExtractor pages/s "
          "| ours/theirs | ours CPU s | WikiExtractor CPU s | ours/theirs per core |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['dump']} | {r['scope']} | {r['pages']} | {r['workers']} | {r['ours_s']:.2f} | "
              f"{r['pages'] / r['ours_s']:.1f} | {r['wx_s']:.2f} | {r['pages'] / r['wx_s']:.1f} | {r['ratio']:.2f} | "
              f"{r['ours_cpu_s']:.2f} | {r['wx_cpu_s']:.2f} | {r['ratio_per_core']:.2f} |")
    print("\n| dump | mwparserfromhell.parse, every page, s | WikiExtractor whole run (1 process), s "
          "| parse / WikiExtractor |")
    print("|---|---|---|---|")
    for r in rows:
        if r["workers"] == min(args.workers) and r["scope"] == args.scopes[0]:
            floor = floors[r["dump"]]
            print(f"| {r['dump']} | {floor:.2f} | {r['wx_s']:.2f} | {floor / r['wx_s']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
