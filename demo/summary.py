"""Across training seeds: mean ± sd of every reported figure, and the acceptance checks of the demo.

Reads the per-seed ``report.json`` files (``models``, ``baselines``, ``differences``) and writes
``seeds.json`` and ``seeds.md``. The sd is the sample standard deviation over seeds (none for one seed):
the spread that training randomness alone gives, which the per-report intervals do not include.
"""

from __future__ import annotations

import json
import os
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Rows of the seed table: the figures the README headline shows.
HEADLINE = {
    "probe_title_em_seen_alias": "probe title EM, seen entities, mention ≠ title (%, ↑)",
    "probe_title_em_unseen": "probe title EM, unseen entities (%, ↑)",
    "probe_fact_accuracy_seen": "probe description facts stated, seen entities (%, ↑)",
    "probe_desc_novel_f1_seen": "probe description F1 on tokens absent from the window, seen (%, ↑)",
    "ed_accuracy": "zero-shot ED accuracy (%, ↑)",
    "retention_loss": "retention: text-infilling loss (nats/token, ↓)",
}
#: Baselines shown in the seed table next to the metric they are a floor for.
BASELINE_OF = {"probe_title_em_seen_alias": None, "probe_title_em_unseen": "probe_title_em_copy_unseen",
               "probe_fact_accuracy_seen": "probe_fact_accuracy_copy_context_seen",
               "probe_desc_novel_f1_seen": None, "ed_accuracy": ("ed_mfe", "ed_context_overlap"),
               "retention_loss": None}


def spread(values: Sequence[float | None]) -> dict[str, Any]:
    """Mean and sample sd of the defined values (``None``: no items in that seed's report)."""
    xs = [float(v) for v in values if v is not None]
    return {"mean": statistics.fmean(xs) if xs else None, "sd": statistics.stdev(xs) if len(xs) > 1 else None,
            "values": list(values)}


def _numbers(section: dict[str, Any]) -> set[str]:
    return {k for k, v in section.items() if isinstance(v, int | float) and not isinstance(v, bool)}


def summarise(reports: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """``models.<m>.<metric>``, ``baselines.<metric>``, ``differences.<pair>.<metric>`` → mean, sd, values
    (one per seed, in seed order); differences also count the seeds whose interval lies above 0."""
    seeds = sorted(reports)
    runs = [reports[s] for s in seeds]
    models: dict[str, dict[str, Any]] = {}
    for name in runs[0]["models"]:
        keys = set.union(*(_numbers(r["models"].get(name, {})) for r in runs))
        models[name] = {k: spread([r["models"].get(name, {}).get(k) for r in runs]) for k in sorted(keys)}
    baselines = {k: spread([r.get("baselines", {}).get(k) for r in runs])
                 for k in sorted(set.union(*(_numbers(r.get("baselines", {})) for r in runs)))}
    differences: dict[str, dict[str, Any]] = {}
    for pair in runs[0].get("differences", {}):
        per_metric = {}
        for key in sorted(runs[0]["differences"][pair]):
            ds = [r.get("differences", {}).get(pair, {}).get(key) or {} for r in runs]
            entry = spread([d.get("value") for d in ds])
            entry["ci_above_zero"] = sum(1 for d in ds if (d.get("ci") or [None])[0] is not None and d["ci"][0] > 0)
            entry["ci_below_zero"] = sum(1 for d in ds if (d.get("ci") or [None, None])[1] is not None
                                         and d["ci"][1] < 0)
            per_metric[key] = entry
        differences[pair] = per_metric
    return {"seeds": seeds, "models": models, "baselines": baselines, "differences": differences}


def _pm(entry: dict[str, Any] | None, digits: int = 1) -> str:
    if not entry or entry.get("mean") is None:
        return "–"
    sd = entry.get("sd")
    return f"{entry['mean']:.{digits}f}" + (f" ± {sd:.{digits}f}" if sd is not None else "")


@dataclass(frozen=True)
class Check:
    """One acceptance figure: what is required, what was measured, whether it holds."""

    name: str
    required: str
    measured: str
    met: bool | None  # None: a figure it needs is missing


def _value(summary: dict[str, Any], *path: str) -> float | None:
    node: Any = summary
    for p in path:
        node = node.get(p) if isinstance(node, dict) else None
    return node.get("mean") if isinstance(node, dict) else None


def acceptance(summary: dict[str, Any]) -> list[Check]:
    """Issue 19's acceptance figures, on seed means (differences: their interval above 0 in every seed)."""
    m = lambda model, key: _value(summary, "models", model, key)  # noqa: E731
    b = lambda key: _value(summary, "baselines", key)  # noqa: E731
    d = lambda pair, key: _value(summary, "differences", pair, key)  # noqa: E731
    checks = []

    def check(name: str, required: str, values: Sequence[float | None], test: Any, measured: str) -> None:
        if any(v is None for v in values):
            checks.append(Check(name, required, "missing", None))
        else:
            checks.append(Check(name, required, measured.format(*values), bool(test(*values))))

    n_seeds = len(summary["seeds"])
    above = (summary["differences"].get("kilm-control", {}).get("ed_accuracy") or {}).get("ci_above_zero")
    check("ED: kilm − control", "≥ +10 points, paired interval above 0",
          [d("kilm-control", "ed_accuracy"), above], lambda v, a: v >= 10 and a == n_seeds,
          "{:+.1f} points; interval above 0 in {} of " + str(n_seeds) + " seeds")
    best = max((x for x in (b("ed_mfe"), b("ed_context_overlap")) if x is not None), default=None)
    check("ED: kilm vs best knowledge-free baseline", "kilm ≥ baseline + 10",
          [m("kilm", "ed_accuracy"), best], lambda k, x: k >= x + 10, "kilm {:.1f} vs baseline {:.1f}")
    check("probe, seen, mention ≠ title: kilm title EM", "≥ 50%", [m("kilm", "probe_title_em_seen_alias")],
          lambda v: v >= 50, "{:.1f}%")
    check("probe, seen, mention ≠ title: control_shuffled title EM", "≤ 10%",
          [m("control_shuffled", "probe_title_em_seen_alias")], lambda v: v <= 10, "{:.1f}%")
    check("probe fact accuracy, seen: kilm − control_shuffled", "≥ +20 points",
          [d("kilm-control_shuffled", "probe_fact_accuracy_seen")], lambda v: v >= 20, "{:+.1f} points")
    check("retention: kilm loss vs control", "kilm ≤ 1.05 × control",
          [m("kilm", "retention_loss"), m("control", "retention_loss")], lambda k, c: k <= 1.05 * c,
          "kilm {:.3f} vs control {:.3f} nats/token")
    check("world: copy-the-mention title EM, seen", "≤ 30%", [b("probe_title_em_copy_seen")], lambda v: v <= 30,
          "{:.1f}%")
    check("world: context overlap − MFE on ED", "≤ +10 points", [b("ed_context_overlap"), b("ed_mfe")],
          lambda o, f: o - f <= 10, "{:.1f} − {:.1f}")
    check("world: test items", "≥ 300 ED, ≥ 100 unseen probe",
          [m("kilm", "ed_n"), m("kilm", "probe_n_unseen")], lambda e, u: e >= 300 and u >= 100,
          "{:.0f} ED, {:.0f} unseen probe")
    return checks


def markdown(summary: dict[str, Any], checks: Sequence[Check], command: str, timings: dict[str, float],
             wall: dict[str, float | None]) -> str:
    """The seed table (mean ± sd; baselines beside), differences, acceptance and wall times."""
    names = list(summary["models"])
    n = len(summary["seeds"])
    lines = [f"Training seeds {summary['seeds']} (base trained once); cells are mean ± sd over seeds"
             f"{'' if n > 1 else ' (one seed: no sd)'}. Command: `{command}`", "",
             "| metric | " + " | ".join(names) + " | knowledge-free baseline |", "|---|" + "---|" * (len(names) + 1)]
    for key, label in HEADLINE.items():
        base = BASELINE_OF.get(key)
        base_keys = base if isinstance(base, tuple) else (base,) if base else ()
        baseline = "; ".join(f"{k}: {_pm(summary['baselines'].get(k))}" for k in base_keys) or "–"
        cells = [_pm(summary["models"][m].get(key), 3 if key == "retention_loss" else 1) for m in names]
        lines.append(f"| {label} `{key}` | " + " | ".join(cells) + f" | {baseline} |")
    lines += ["", "Differences (mean ± sd over seeds of the point difference; seeds whose paired 95% interval "
              "lies above / below 0):", "", "| metric | " + " | ".join(summary["differences"]) + " |",
              "|---|" + "---|" * len(summary["differences"])]
    for key in HEADLINE:
        cells = []
        for pair in summary["differences"]:
            e = summary["differences"][pair].get(key)
            cells.append("–" if not e else f"{_pm(e, 3 if key == 'retention_loss' else 1)} "
                                           f"({e['ci_above_zero']}↑/{e['ci_below_zero']}↓ of {n})")
        lines.append(f"| `{key}` | " + " | ".join(cells) + " |")
    lines += ["", "Acceptance (issue 19, item 6; on seed means):", "", "| figure | required | measured | met |",
              "|---|---|---|---|"]
    lines += [f"| {c.name} | {c.required} | {c.measured} | {'–' if c.met is None else 'yes' if c.met else 'NO'} |"
              for c in checks]
    if timings:
        whole, first = wall.get("whole", 0.0), wall.get("first_report")
        lines += ["", f"Wall time of this command: {whole:.0f} s ({whole / 60:.1f} min)"
                  + (f", {first:.0f} s ({first / 60:.1f} min) to the first seed's report" if first else "")
                  + "; stages reused from an earlier run count 0; the three continued models of a seed train "
                  "at the same time:", ""]
        lines += [f"- {name}: {seconds:.0f} s" for name, seconds in timings.items()]
    return "\n".join(lines) + "\n"


def write(reports: dict[int, Path], out: Path, command: str, timings: dict[str, float],
          wall: dict[str, float | None]) -> tuple[Path, Path]:
    """``seeds.json`` and ``seeds.md`` in ``out`` from the per-seed report directories."""
    loaded = {s: json.loads((d / "report.json").read_text()) for s, d in reports.items()}
    summary = summarise(loaded)
    checks = acceptance(summary)
    if wall.get("first_report"):
        minutes = wall["first_report"] / 60
        checks.append(Check("flow: world to the first seed's report (four models)", "≤ 15 min on 2 cores",
                            f"{minutes:.1f} min on {os.cpu_count()} cores", minutes <= 15))
    payload = {**summary, "reports": {str(s): str(d) for s, d in reports.items()}, "command": command,
               "stage_seconds": timings, "wall_seconds": wall,
               "acceptance": [{"name": c.name, "required": c.required, "measured": c.measured, "met": c.met}
                              for c in checks]}
    json_path, md_path = out / "seeds.json", out / "seeds.md"
    json_path.write_text(json.dumps(payload, indent=2, allow_nan=False) + "\n")
    md_path.write_text(markdown(summary, checks, command, timings, wall))
    return json_path, md_path

