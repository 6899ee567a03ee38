"""``report.json``, ``report.md`` (one column per model) and PNG bar charts with 95% intervals."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

#: Metrics drawn as bar charts and listed first in the table, with how to read them.
HEADLINE = {
    "probe_title_em_seen": "probe title EM, seen entities (%)",
    "probe_title_em_unseen": "probe title EM, unseen entities (%)",
    "probe_desc_f1": "probe description token F1 (%)",
    "probe_desc_rougeL": "probe description ROUGE-L (%)",
    "ed_accuracy": "ED accuracy, mean log-prob per token (%)",
    "ed_accuracy_sum": "ED accuracy, summed log-prob (%)",
    "ed_mfe_baseline": "ED most-frequent-entity baseline (%)",
    "ed_constrained_accuracy": "ED accuracy, trie-constrained generation (%)",
    "ed_candidate_recall": "ED candidate recall (%)",
    "retention_loss": "retention: text-infilling loss (nats/token, lower is better)",
}
SEEN_UNSEEN = ("probe_title_em", "probe_desc_f1", "probe_desc_rougeL")


def write_json(models: dict[str, dict[str, Any]], path: Path, settings: dict[str, Any], **sections: Any) -> None:
    """``sections``: more top-level keys (``external`` benchmarks)."""
    path.write_text(json.dumps(clean_nan({"models": models, "settings": settings, **sections}), indent=2,
                               allow_nan=False) + "\n")


def clean_nan(value: Any) -> Any:
    """NaN (a metric with no items) → None, so ``report.json`` stays strict JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: clean_nan(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_nan(v) for v in value]
    return value


def _cell(value: Any, ci: list[float | None] | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, int):
        return str(value)
    text = f"{value:.2f}"
    if ci and None not in ci:
        text += f" [{ci[0]:.2f}, {ci[1]:.2f}]"
    return text


def markdown(models: dict[str, dict[str, Any]]) -> str:
    """A table: one row per metric, one column per model, ``value [95% CI]``."""
    names = list(models)
    keys = [k for k in HEADLINE if any(k in m for m in models.values())]
    keys += sorted({k for m in models.values() for k in m if k not in ("ci", "prompt", "path", "backend")} - set(keys))
    lines = ["| metric | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for key in keys:
        cells = [_cell(models[n].get(key), models[n].get("ci", {}).get(key)) for n in names]
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    lines += ["", "Intervals: 95% percentile bootstrap over items (fixed seed).", "", "Prompts and backends:", ""]
    lines += [f"- **{n}** ({models[n].get('backend')}, `{models[n].get('path')}`): {models[n].get('prompt')}"
              for n in names]
    return "\n".join(lines) + "\n"


def plot(models: dict[str, dict[str, Any]], out: Path) -> list[Path]:
    """One bar chart per headline metric, plus probe seen vs unseen per model."""
    import logging

    logging.getLogger("matplotlib").setLevel(logging.WARNING)  # fairseq's logging setup lets its DEBUG through
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    names = list(models)
    for key, label in HEADLINE.items():
        values = [models[n].get(key) for n in names]
        if all(v is None for v in values):
            continue
        fig, ax = plt.subplots(figsize=(1.6 + 1.2 * len(names), 3.2))
        heights = [v if v is not None else 0.0 for v in values]
        ax.bar(names, heights, yerr=_yerr(models, names, key), capsize=4, color="tab:blue")
        ax.set_title(label, fontsize=9)
        fig.tight_layout()
        path = out / f"{key}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    written.append(_plot_seen_unseen(models, out, plt))
    return written


def _yerr(models: dict[str, dict[str, Any]], names: list[str], key: str) -> list[list[float]]:
    lows, highs = [], []
    for n in names:
        v, ci = models[n].get(key), models[n].get("ci", {}).get(key)
        ok = v is not None and ci and None not in ci
        lows.append(max(0.0, v - ci[0]) if ok else 0.0)
        highs.append(max(0.0, ci[1] - v) if ok else 0.0)
    return [lows, highs]


def _plot_seen_unseen(models: dict[str, dict[str, Any]], out: Path, plt: Any) -> Path:
    names = list(models)
    fig, axes = plt.subplots(1, len(SEEN_UNSEEN), figsize=(3.2 * len(SEEN_UNSEEN), 3.2))
    width = 0.38
    for ax, metric in zip(axes, SEEN_UNSEEN):
        xs = range(len(names))
        for offset, split, color in ((-width / 2, "seen", "tab:blue"), (width / 2, "unseen", "tab:orange")):
            key = f"{metric}_{split}"
            heights = [models[n].get(key) or 0.0 for n in names]
            ax.bar([x + offset for x in xs], heights, width, yerr=_yerr(models, names, key), capsize=3,
                   label=split, color=color)
        ax.set_xticks(list(xs), names)
        ax.set_title(metric, fontsize=9)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    path = out / "probe_seen_unseen.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
