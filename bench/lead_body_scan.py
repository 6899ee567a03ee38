"""What scanning the body for links costs in lead scope, and what stripping the whole page costs there.

    python bench/lead_body_scan.py [--dump PATH] [--runs 7]

In one process, on every article of the dump, alternating: ``parse_article(scope="lead")`` as it is
(lead parsed, body scanned by :func:`pipeline.links.scan_links`) against the same with the scan
replaced by nothing (the lead scope before the body was scanned); then ``strip_markup`` on whole pages
against the raw text before each page's first heading (what lead scope would pay if only the lead
were stripped). Medians of ``--runs``; ratios are against the first of each pair.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline import wikitext  # noqa: E402
from pipeline.dump import read_dump  # noqa: E402
from pipeline.markup import Templates, strip_markup  # noqa: E402
from pipeline.read import open_raw  # noqa: E402

DEFAULT_DUMP = ROOT.parent / "shared" / "data" / "enwiki-pages-articles-sample.xml.bz2"
_RAW_HEADING = re.compile(r"^[ \t]*=+[^\n]*=+[ \t]*$", re.MULTILINE)


def articles(path: str):
    site, texts = None, []
    for event in read_dump(path, open_raw, 64 << 20):
        if event.kind == "site":
            site = event.value
        elif event.kind == "page" and event.value.namespace == 0 and not event.value.redirect \
                and event.value.text.strip():
            texts.append(event.value.text)
    return site, texts


def timed(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    parser.add_argument("--dump", default=str(DEFAULT_DUMP))
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    site, texts = articles(args.dump)
    scan = wikitext.scan_links

    def parse(with_scan: bool):
        wikitext.scan_links = scan if with_scan else (lambda blocks, site: [])
        try:
            for text in texts:
                wikitext.parse_article(text, site, scope="lead")
        finally:
            wikitext.scan_links = scan

    def strip(lead_only: bool):
        for text in texts:
            heading = _RAW_HEADING.search(text) if lead_only else None
            strip_markup(text[: heading.start()] if heading else text, Templates(site, frozenset()))

    pairs = {"parse_article lead: body scanned vs not": ([], []), "strip_markup: lead only vs whole page": ([], [])}
    for _ in range(args.runs):
        without, with_ = pairs["parse_article lead: body scanned vs not"]
        without.append(timed(lambda: parse(False)))
        with_.append(timed(lambda: parse(True)))
        whole, lead = pairs["strip_markup: lead only vs whole page"]
        whole.append(timed(lambda: strip(False)))
        lead.append(timed(lambda: strip(True)))
    print(f"{len(texts)} articles of {args.dump}, medians of {args.runs} (alternating, one process)")
    for label, (reference, other) in pairs.items():
        ref, new = statistics.median(reference), statistics.median(other)
        print(f"{label}: {new:.3f} s vs {ref:.3f} s, ratio {new / ref:.2f}")


if __name__ == "__main__":
    main()
