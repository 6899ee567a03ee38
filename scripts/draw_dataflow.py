"""Draw docs/dataflow.png, the README's picture of the data flow (``python scripts/draw_dataflow.py``)."""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import FancyBboxPatch

STAGES = [
    ("MediaWiki dump\n.xml.bz2 (any language)", "input"),
    ("pages → articles,\nredirects, disambiguation", "pipeline"),
    ("entity table + alias table\nlinks resolved by joins", "pipeline"),
    ("KILM examples\nknowledge span masked", "pipeline"),
    ("fairseq shards\nbin/shardK, bin/plain", "pipeline"),
    ("fairseq-train --user-dir trainer\nbase · kilm · control", "trainer"),
    ("eval.run: probe, ED, retention\nreport.md / .json / PNG", "eval"),
]
COLOURS = {"input": "#d9d9d9", "pipeline": "#9ecae1", "trainer": "#fdae6b", "eval": "#a1d99b"}
SIDE = [("dead_letter/ + manifest counts", 1), ("Hugging Face export", 6)]


def draw(path: Path) -> None:
    fig, ax = plt.subplots(figsize=(15, 3.4))
    ax.set_xlim(0, len(STAGES) * 2.1)
    ax.set_ylim(-1.6, 1.3)
    ax.axis("off")
    for i, (label, kind) in enumerate(STAGES):
        x = i * 2.1 + 0.1
        ax.add_patch(FancyBboxPatch((x, -0.45), 1.8, 1.0, boxstyle="round,pad=0.05", fc=COLOURS[kind], ec="#444"))
        ax.text(x + 0.9, 0.05, label, ha="center", va="center", fontsize=8.5)
        if i:
            ax.annotate("", xy=(x - 0.02, 0.05), xytext=(x - 0.28, 0.05), arrowprops={"arrowstyle": "->", "lw": 1.4})
    for label, i in SIDE:
        x = i * 2.1 + 1.0
        ax.annotate(label, xy=(x, -0.5), xytext=(x, -1.25), ha="center", fontsize=8, color="#333",
                    arrowprops={"arrowstyle": "<-", "lw": 1.0, "color": "#666"})
    for j, (kind, colour) in enumerate(COLOURS.items()):
        ax.add_patch(FancyBboxPatch((0.1 + j * 2.6, 0.85), 0.25, 0.22, boxstyle="round,pad=0.02", fc=colour, ec="#444"))
        ax.text(0.45 + j * 2.6, 0.96, {"input": "input", "pipeline": "pipeline/ (Apache Beam)",
                                        "trainer": "trainer/ (fairseq)", "eval": "eval/"}[kind],
                va="center", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    draw(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "docs" / "dataflow.png")
