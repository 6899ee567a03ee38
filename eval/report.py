"""``report.json``, ``report.md`` (grouped, labelled tables; one column per model) and PNG bar charts."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Metric:
    """How a report row reads: what it measures, in which unit, which way is better."""

    label: str
    unit: str  # "%", "nats/token", "items"
    better: str  # "higher", "lower" or "" (a count)

    def heading(self, key: str, difference: bool = False) -> str:
        """``label (unit, which way is better) `key```; a difference of percentages is in points."""
        direction = {"higher": ", higher is better", "lower": ", lower is better"}.get(self.better, "")
        unit = "points" if difference and self.unit == "%" else self.unit
        return f"{self.label} ({unit}{direction}) `{key}`"


def _pct(label: str) -> Metric:
    return Metric(label, "%", "higher")


def _count(label: str) -> Metric:
    return Metric(label, "items", "")


#: The report's groups and rows, in order. Rows of a task that ran are shown even when empty, with why.
GROUPS: dict[str, dict[str, Metric]] = {
    "Probe: generate `title <sep> description` after a test mention": {
        "probe_title_em_seen_alias": _pct("title exact match, seen entities, mention ≠ title"),
        "probe_title_em_seen_same": _pct("title exact match, seen entities, mention = title"),
        "probe_title_em_seen": _pct("title exact match, seen entities"),
        "probe_title_em_unseen_alias": _pct("title exact match, unseen entities, mention ≠ title"),
        "probe_title_em_unseen": _pct("title exact match, unseen entities"),
        "probe_fact_accuracy_seen": _pct("description facts stated, seen entities"),
        "probe_fact_accuracy_unseen": _pct("description facts stated, unseen entities"),
        "probe_desc_novel_f1_seen": _pct("description F1 on tokens absent from the window, seen entities"),
        "probe_desc_novel_f1_unseen": _pct("description F1 on tokens absent from the window, unseen entities"),
        "probe_desc_f1_seen": _pct("description token F1, seen entities"),
        "probe_desc_f1_unseen": _pct("description token F1, unseen entities"),
        "probe_desc_rougeL_seen": _pct("description ROUGE-L, seen entities"),
        "probe_n_seen": _count("probe items, seen entities"),
        "probe_n_seen_alias": _count("probe items, seen entities, mention ≠ title"),
        "probe_n_unseen": _count("probe items, unseen entities"),
        "probe_n_unseen_alias": _count("probe items, unseen entities, mention ≠ title"),
    },
    "Zero-shot entity disambiguation (candidates from the train alias table)": {
        "ed_accuracy": _pct("accuracy, mean log-prob per token"),
        "ed_accuracy_sum": _pct("accuracy, summed log-prob"),
        "ed_constrained_accuracy": _pct("accuracy, trie-constrained title generation"),
        "ed_candidate_recall": _pct("candidate recall over all test mentions"),
        "ed_n": _count("ED items (ambiguous, gold among the candidates)"),
        "ed_test_mentions": _count("test mentions"),
    },
    "Retention: text infilling on held-out plain paragraphs": {
        "retention_loss": Metric("loss", "nats/token", "lower"),
        "retention_n": _count("paragraphs"),
    },
}
BASELINES: dict[str, Metric] = {
    "probe_title_em_copy_seen": _pct("probe title EM, copy the mention, seen entities"),
    "probe_title_em_copy_unseen": _pct("probe title EM, copy the mention, unseen entities"),
    "probe_fact_accuracy_copy_context_seen": _pct("probe facts stated, copy the whole window, seen entities"),
    "ed_mfe": _pct("ED accuracy, most-frequent entity"),
    "ed_context_overlap": _pct("ED accuracy, most words shared by context and candidate title + description"),
    "ed_candidate_recall": _pct("ED candidate recall over all test mentions"),
    "probe_n_seen": _count("probe items, seen entities"),
    "probe_n_seen_alias": _count("probe items, seen entities, mention ≠ title"),
    "probe_n_unseen": _count("probe items, unseen entities"),
    "ed_n": _count("ED items"),
    "ed_test_mentions": _count("test mentions"),
}
#: Metrics drawn as bar charts, one per file.
PLOTTED = ("probe_title_em_seen_alias", "probe_fact_accuracy_seen", "probe_desc_novel_f1_seen", "ed_accuracy",
           "retention_loss")
SEEN_UNSEEN = ("probe_title_em", "probe_desc_novel_f1", "probe_fact_accuracy")
_NOT_METRICS = ("ci", "prompt", "path", "backend")


def write_json(summary: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(clean_nan(summary), indent=2, allow_nan=False) + "\n")


def clean_nan(value: Any) -> Any:
    """NaN (a metric with no items) → None, so ``report.json`` stays strict JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: clean_nan(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_nan(v) for v in value]
    return value


def _number(value: Any, ci: Any) -> str:
    if isinstance(value, int):
        return str(value)
    text = f"{value:.2f}"
    if ci and None not in ci:
        text += f" [{ci[0]:.2f}, {ci[1]:.2f}]"
    return text


def why_empty(key: str, settings: dict[str, Any]) -> str:
    """Why a metric has no value: the task did not run, it needs an option, or it had no items."""
    task = key.split("_")[0]
    if task in ("probe", "ed", "retention") and task not in settings.get("tasks", (task,)):
        return "task not run"
    if "fact_accuracy" in key and not settings.get("truth"):
        return "needs --truth"
    if key.startswith("ed_constrained"):
        return "needs --ed-constrained"
    return "no items"


def _cell(values: dict[str, Any], key: str, settings: dict[str, Any]) -> str:
    value = values.get(key)
    if value is None:
        return f"– ({why_empty(key, settings)})"
    return _number(value, values.get("ci", {}).get(key))


def markdown(summary: dict[str, Any]) -> str:
    """Grouped tables (probe, ED, retention: one column per model), then baselines and differences."""
    models, settings = summary["models"], summary.get("settings", {})
    names = list(models)
    lines = ["Every cell is `value [95% interval]`. " + settings.get("intervals", "") + ".", ""]
    if settings.get("split") == "train":
        lines[:0] = ["Items from the **train** split: pages the models trained on (memorisation, not held-out "
                     "knowledge).", ""]
    elif settings.get("split") == "valid":
        lines[:0] = ["Items from the **valid** split (held-out pages the training validated on).", ""]
    shown: set[str] = set()
    for title, metrics in GROUPS.items():
        task = next(iter(metrics)).split("_")[0]
        if not names or task not in settings.get("tasks", (task,)):
            continue
        lines += [f"## {title}", "", "| metric | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
        for key, metric in metrics.items():
            lines.append(f"| {metric.heading(key)} | " + " | ".join(_cell(models[n], key, settings) for n in names)
                         + " |")
            shown.add(key)
        lines.append("")
    baselines = summary.get("baselines") or {}
    if baselines:
        lines += ["## Knowledge-free baselines (same items, no model)", "", "| baseline | value |", "|---|---|"]
        lines += [f"| {metric.heading(key)} | {_cell(baselines, key, settings)} |" for key, metric in BASELINES.items()
                  if key in baselines or key.split("_")[0] in settings.get("tasks", ())]
        lines.append("")
    lines += _differences(summary.get("differences") or {})
    rest = sorted({k for m in models.values() for k in m if k not in _NOT_METRICS} - shown)
    if rest:
        lines += ["## Other figures", "", "| key | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
        lines += [f"| `{k}` | " + " | ".join(_cell(models[n], k, settings) for n in names) + " |" for k in rest]
        lines.append("")
    lines += ["Prompts and backends:", ""] if names else []
    lines += [f"- **{n}** ({models[n].get('backend')}, `{models[n].get('path')}`): {models[n].get('prompt')}"
              for n in names]
    return "\n".join(lines) + "\n"


def _differences(diffs: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    """Rows: the headline metrics every comparison has; columns: the comparisons."""
    if not diffs:
        return []
    pairs = list(diffs)
    known = {k: m for g in GROUPS.values() for k, m in g.items()}
    keys = [k for k, m in known.items() if m.better and any(k in diffs[p] for p in pairs)]
    lines = ["## Differences between models (paired: the same entities resampled for both)", "",
             "| metric | " + " | ".join(p.replace("-", " − ") for p in pairs) + " |",
             "|---|" + "---|" * len(pairs)]
    for key in keys:
        cells = []
        for p in pairs:
            d = diffs[p].get(key)
            cells.append("– (no items)" if not d or d.get("value") is None else _number(d["value"], d.get("ci")))
        lines.append(f"| {known[key].heading(key, difference=True)} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def plot(models: dict[str, dict[str, Any]], out: Path) -> list[Path]:
    """One bar chart per headline metric, plus probe seen vs unseen per model."""
    import logging

    logging.getLogger("matplotlib").setLevel(logging.WARNING)  # fairseq's logging setup lets its DEBUG through
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    names = list(models)
    known = {k: m for g in GROUPS.values() for k, m in g.items()}
    for key in PLOTTED:
        values = [models[n].get(key) for n in names]
        if all(v is None for v in values):
            continue
        fig, ax = plt.subplots(figsize=(1.6 + 1.2 * len(names), 3.2))
        heights = [v if v is not None else 0.0 for v in values]
        ax.bar(names, heights, yerr=_yerr(models, names, key), capsize=4, color="tab:blue")
        ax.set_title(known[key].heading(key).rsplit(" `", 1)[0], fontsize=8)
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
