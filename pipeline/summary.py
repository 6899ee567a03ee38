"""The console summary of a pipeline run, read from its ``manifest.json``: the counts that decide whether
training and eval on this output can mean anything, with a WARNING line where they cannot."""

from __future__ import annotations

from pipeline.splits import SPLITS

#: Below this share of links resolved, the knowledge rows are too few to teach anything.
MIN_LINK_RATE = 0.01
#: Below this many described test mentions, probe scores are noise (a bootstrap interval spans ~±18 points).
MIN_TEST_MENTIONS = 30
RESOLVED_LINKS = ("resolved", "via_redirect")


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "n/a"


def _table(rows: dict[str, dict[str, int]]) -> list[str]:
    width = max(len(name) for name in rows)
    lines = [f"  {'':{width}}  " + "  ".join(f"{s:>8}" for s in SPLITS)]
    lines += [f"  {name:{width}}  " + "  ".join(f"{counts.get(s, 0):>8,}" for s in SPLITS)
              for name, counts in rows.items()]
    return lines


def _by_split(statistics: dict, section: str) -> dict[str, int] | None:
    found = statistics.get(section)
    if found is None:
        return None
    return {split: found.get(split, 0) for split in SPLITS}


def summary(manifest: dict, output: str) -> str:
    """A short human summary; ``manifest.json`` stays the record for scripts."""
    counts, links, stats = manifest["counts"], manifest.get("links", {}), manifest.get("statistics", {})
    outcomes = counts["outcomes"]
    lines = [f"pages read: {counts['pages_read']:,} ("
             + ", ".join(f"{n:,} {kind}" for kind, n in sorted(outcomes.items(), key=lambda kv: -kv[1])) + ")"]
    lines.append(f"entities: {outcomes.get('article', 0):,} (articles)")
    total = sum(links.values())
    resolved = sum(links.get(kind, 0) for kind in RESOLVED_LINKS)
    unresolved = ", ".join(f"{n:,} {kind.replace('_', ' ')}" for kind, n in sorted(links.items())
                           if kind not in RESOLVED_LINKS)
    lines.append(f"links resolved: {resolved:,} of {total:,} ({_percent(resolved, total)}; "
                 f"{links.get('via_redirect', 0):,} through redirects)"
                 + (f"; not: {unresolved}" if unresolved else ""))

    knowledge = manifest["sequences_with_knowledge"]
    rows = {"paragraphs": manifest["examples"], "kilm rows with knowledge": knowledge,
            "kilm rows without": manifest["sequences_without_knowledge"],
            "denoising rows (base)": manifest["denoising_sequences"]}
    mentions = _by_split(stats, "mentions_by_split")
    described = _by_split(stats, "described_mentions_by_split")
    if mentions is not None and described is not None:
        rows |= {"linked mentions": mentions, "  with a description": described}
    lines += _table(rows)
    if described is not None:
        lines.append(f"eval items: {described['test']:,} probe mentions (test mentions with a description); ED uses "
                     "those of them whose surface names several entities")

    warnings = []
    if total and resolved / total < MIN_LINK_RATE:
        warnings.append(f"only {_percent(resolved, total)} of links resolved: most linked pages are not in the "
                        "input (a partial dump?), so few rows carry knowledge")
    if knowledge["test"] == 0:
        warnings.append("no test row carries knowledge: probe and ED have nothing to score")
    elif described is not None and described["test"] < MIN_TEST_MENTIONS:
        warnings.append(f"{described['test']} test mentions with a description (< {MIN_TEST_MENTIONS}): probe "
                        "scores will be noise; use a larger dump or --test-fraction")
    if knowledge["train"] == 0:
        warnings.append("no train row carries knowledge: KILM training would learn plain text only")
    lines += [f"WARNING: {w}" for w in warnings]
    if manifest.get("errors"):
        lines.append(f"damaged inputs: {len(manifest['errors'])} (see manifest.json 'errors' and dead_letter/)")
    lines.append(f"output: {output} (details: manifest.json; next: python -m trainer.launch --data {output} ...)")
    return "\n".join(lines)
