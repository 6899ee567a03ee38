"""The external benchmarks of one ``eval.run``: options, one pass per model, ``report.json`` and ``report.md``.

``--ed-dataset NAME=PATH`` (GENRE KILT or BLINK ED files), ``--lama [NAME=]PATH`` (a LAMA T-REx or
Google-RE file, or a directory of them), ``--describe-dataset [NAME=]PATH`` (KILT-style mentions whose
descriptions are generated), all against the pipeline run ``--data`` as the knowledge base.
``report.json`` gets ``external.<NAME>``; ``report.md`` a table per dataset, models side by side, with
paired differences of a reference model (``kilm`` if one is so named, else the last ``--model``)
against each other model.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eval.external.describe import DescribeDataset, load_describe_dataset
from eval.external.ed import EdDataset, load_ed_dataset, run_external_ed
from eval.external.kb import KnowledgeBase
from eval.external.lama import run_cloze
from eval.external.readers import Cloze, ExternalDataError, read_lama
from eval.metrics import Column, bootstrap_ci, paired_difference, summarize, weighted_mean
from eval.models import KilmModel
from eval.probe import probe_columns, run_probe

_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")


class ExternalUsageError(ExternalDataError):
    """A bad ``--ed-dataset``/``--lama``/``--describe-dataset`` value; the message names it."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("external benchmarks (knowledge base: the --data run)")
    g.add_argument("--ed-dataset", action="append", default=[], metavar="NAME=PATH",
                   help="zero-shot ED on a GENRE KILT or BLINK file (repeatable)")
    g.add_argument("--ed-candidates", type=int, default=10, metavar="K",
                   help="candidates from the alias table (top K by anchor count) for lines that give none")
    g.add_argument("--lama", action="append", default=[], metavar="[NAME=]PATH",
                   help="LAMA T-REx or Google-RE file, or a directory of them (repeatable)")
    g.add_argument("--describe-dataset", action="append", default=[], metavar="[NAME=]PATH",
                   help="KILT-style mentions whose entity descriptions are generated and scored (repeatable)")


def parse_named(option: str, text: str, name_required: bool) -> tuple[str, Path]:
    """``NAME=PATH`` (or ``PATH``, named by its stem, where allowed)."""
    name, sep, path = text.partition("=")
    if not sep:
        if name_required:
            raise ExternalUsageError(f"{option} {text!r}: expected NAME=PATH (e.g. aida=aida-test-kilt.jsonl)")
        name, path = Path(text).stem, text
    if not name or not path or not _NAME_RE.match(name):
        raise ExternalUsageError(f"{option} {text!r}: NAME may only hold letters, digits, '_', '.', '-'")
    if not Path(path).exists():
        raise ExternalUsageError(f"{option} {text!r}: {path} does not exist")
    return name, Path(path)


@dataclass
class LamaDataset:
    name: str
    path: Path
    formats: list[str]
    lines: int
    facts: list[Cloze]
    judged_no: int
    no_single_mask: int


def load_lama_dataset(name: str, path: Path) -> LamaDataset:
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    if not files:
        raise ExternalUsageError(f"--lama {path}: a directory without *.jsonl files")
    parts = [read_lama(f) for f in files]
    return LamaDataset(name, path, sorted({p.format for p in parts}), sum(p.lines for p in parts),
                       [fact for p in parts for fact in p.facts], sum(p.judged_no for p in parts),
                       sum(p.no_single_mask for p in parts))


@dataclass
class Suite:
    """Datasets read once; :meth:`run` adds one model's results, :meth:`section`/:meth:`markdown` report."""

    kb: KnowledgeBase
    ed: list[EdDataset]
    lama: list[LamaDataset]
    describe: list[DescribeDataset]
    out: Path
    batch_size: int = 16
    beam: int = 4
    max_new_tokens: int = 64
    seed: int = 0
    progress: bool = True
    results: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    per_item: dict[str, dict[str, Column]] = field(default_factory=dict)

    def run(self, name: str, model: KilmModel) -> None:
        for d in self.ed:
            self._ed(name, model, d)
        for d in self.lama:
            self._lama(name, model, d)
        for d in self.describe:
            records, skipped = run_probe(model, d.items, self.batch_size, self.beam, self.max_new_tokens,
                                         self.progress)
            columns, counts = probe_columns(records, with_facts=False)
            values, ci = summarize(columns, self.seed)
            self._store(d.name, name, {**values, **counts, "ci": ci, "not_fitting": skipped}, records)

    def _store(self, dataset: str, model: str, values: dict[str, Any], records: list[Any],
               column: Column | None = None) -> None:
        self.results.setdefault(dataset, {})[model] = values
        if column is not None:
            self.per_item.setdefault(dataset, {})[model] = column
        with open(self.out / f"{model}.external.{dataset}.jsonl", "w", encoding="utf-8") as f:
            for r in records:
                f.write(json.dumps(dataclasses.asdict(r), ensure_ascii=False) + "\n")

    def _ed(self, name: str, model: KilmModel, d: EdDataset) -> None:
        """Accuracy with intervals that resample gold entities (a mention's items are not independent)."""
        predictions, skipped = run_external_ed(model, d, self.kb.entities, self.batch_size, self.progress)
        by_mean = Column.of([(p.id, p.gold, 100.0 * (p.prediction == p.gold)) for p in predictions])
        by_sum = Column.of([(p.id, p.gold, 100.0 * (p.prediction_sum == p.gold)) for p in predictions])
        values = {"ed_accuracy": by_mean.mean(), "ci": list(by_mean.ci(seed=self.seed)),
                  "ed_accuracy_sum": by_sum.mean(), "ci_sum": list(by_sum.ci(seed=self.seed)),
                  "not_fitting": skipped}
        self._store(d.name, name, values, predictions, by_mean)

    def _lama(self, name: str, model: KilmModel, d: LamaDataset) -> None:
        records, skipped = run_cloze(model, d.facts, self.batch_size, self.beam, self.progress)
        correct = {r.id: 100.0 * r.correct for r in records}
        per_relation = Counter(f.relation for f in d.facts)

        def facts(chosen: list) -> Column:  # a fact that does not fit counts as wrong; the mean over relations
            ids = tuple(f.id for f in chosen)
            return Column(ids, tuple(correct.get(f.id, 0.0) for f in chosen), ids,
                          tuple(1.0 / per_relation[f.relation] for f in chosen))

        relations = {}
        for relation in sorted(per_relation):
            column = facts([f for f in d.facts if f.relation == relation])
            relations[relation] = {"p_at_1": column.mean(), "ci": list(column.ci(seed=self.seed))}
        column = facts(list(d.facts))
        values = {"p_at_1": column.mean(), "ci": list(column.ci(seed=self.seed)), "relations": relations,
                  "not_fitting": skipped}
        self._store(d.name, name, values, records, column)

    def differences(self, dataset: str) -> dict[str, dict[str, Any]]:
        """Reference model minus each other model, paired by item, the same resample for both."""
        columns = self.per_item.get(dataset, {})
        if len(columns) < 2:
            return {}
        names = list(columns)
        ref = "kilm" if "kilm" in columns else names[-1]
        return {f"{ref}-{other}": paired_difference(columns[ref], columns[other], seed=self.seed)
                for other in names if other != ref}

    # ---- report ---------------------------------------------------------------------------------

    def section(self) -> dict[str, Any]:
        """``{"external": {NAME: ...}}`` for ``report.json``."""
        out: dict[str, Any] = {}
        for d in self.ed:
            scored = d.n - d.n_out_of_kb
            recall = [100.0 * (m.gold in m.candidates) for m in d.mentions]
            prior = [100.0 * (m.prior == m.gold) for m in d.mentions]
            coverage = [100.0 * (m.prior is not None) for m in d.mentions]
            out[d.name] = {
                "task": "ed", "format": d.format, "path": str(d.path), "n": d.n, "n_in_kb": scored,
                "n_out_of_kb": d.n_out_of_kb, "candidate_recall": weighted_mean(recall),
                "candidate_recall_ci": list(bootstrap_ci(recall, seed=self.seed)),
                "candidate_source": d.candidate_source, "candidates_out_of_kb": d.candidates_out_of_kb,
                "baselines": ({"ed_prior": weighted_mean(prior),
                               "ed_prior_ci": list(bootstrap_ci(prior, seed=self.seed)),
                               "ed_prior_coverage": weighted_mean(coverage)} if d.has_counts else {"ed_prior": None}),
                "models": self.results.get(d.name, {}), "differences": self.differences(d.name)}
        for d in self.lama:
            out[d.name] = {
                "task": "lama", "format": "+".join(d.formats), "path": str(d.path), "n": d.lines,
                "n_facts": len(d.facts), "n_judged_no": d.judged_no, "n_no_single_mask": d.no_single_mask,
                "relations": dict(sorted(Counter(f.relation for f in d.facts).items())),
                "models": self.results.get(d.name, {}), "differences": self.differences(d.name)}
        for d in self.describe:
            out[d.name] = {
                "task": "describe", "format": d.format, "path": str(d.path), "n": d.n, "n_in_kb": d.n_in_kb,
                "n_scored": len(d.items), "n_no_description": d.n_no_description,
                "description_source": d.description_source, "models": self.results.get(d.name, {})}
        return {"external": out, "external_kb": {"site_case": self.kb.site.case, "site_rules": self.kb.site_source,
                                                  "entities": len(self.kb.entities),
                                                  "redirects": len(self.kb.redirects)}}

    def markdown(self) -> str:
        """One table per dataset: rows are metrics, columns the models."""
        external = self.section()["external"]
        parts = ["## External benchmarks", "",
                 f"Knowledge base: {len(self.kb.entities)} entities, {len(self.kb.redirects)} redirects "
                 f"(titles normalised by the site's case rule `{self.kb.site.case}`, {self.kb.site_source}).", ""]
        for name, d in external.items():
            parts += _dataset_markdown(name, d)
        return "\n".join(parts) + "\n"


def _fmt(value: Any, ci: list[float | None] | None = None) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    if isinstance(value, int):
        return str(value)
    text = f"{value:.2f}"
    if ci and None not in ci and all(c == c for c in ci):
        text += f" [{ci[0]:.2f}, {ci[1]:.2f}]"
    return text


def _table(models: dict[str, dict[str, Any]], rows: list[tuple[str, Any]], differences: dict[str, Any]) -> list[str]:
    """``rows``: (label, fn(model values) -> cell text)."""
    names = list(models)
    lines = ["| metric | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for label, cell in rows:
        lines.append(f"| {label} | " + " | ".join(cell(models[n]) for n in names) + " |")
    for pair, diff in differences.items():
        ref, other = pair.split("-", 1)
        cells = [_fmt(diff["value"], diff["ci"]) if n == ref else "" for n in names]
        lines.append(f"| {ref} − {other} (points, paired) | " + " | ".join(cells) + " |")
    return lines


def _dataset_markdown(name: str, d: dict[str, Any]) -> list[str]:
    models = d["models"]
    if d["task"] == "ed":
        b = d["baselines"]
        prior = _fmt(b["ed_prior"], b.get("ed_prior_ci"))
        head = (f"### {name}: zero-shot ED ({d['format']}, `{d['path']}`)\n\n{d['n']} mentions: {d['n_in_kb']} in the "
                f"KB, {d['n_out_of_kb']} out of it (left out of accuracy). Candidates from "
                f"{', '.join(f'{k} {v}' for k, v in d['candidate_source'].items()) or 'nowhere'}; "
                f"candidate titles outside the KB, dropped: {d['candidates_out_of_kb']}.")
        rows = [("in-KB accuracy, mean log-prob per token (%)", lambda m: _fmt(m.get("ed_accuracy"), m.get("ci"))),
                ("in-KB accuracy, summed log-prob (%)", lambda m: _fmt(m.get("ed_accuracy_sum"), m.get("ci_sum"))),
                ("p(e\\|m) prior baseline (%)", lambda m: prior),
                ("candidate recall (%)", lambda m: _fmt(d["candidate_recall"], d["candidate_recall_ci"])),
                ("mentions not fitting the model (counted wrong)", lambda m: _fmt(m.get("not_fitting")))]
    elif d["task"] == "lama":
        head = (f"### {name}: LAMA {d['format']} (`{d['path']}`)\n\n{d['n']} facts: {d['n_facts']} probed, "
                f"{d['n_judged_no']} judged \"no\" by most raters, {d['n_no_single_mask']} without a one-mask "
                "sentence. P@1 = first generated word(s) equal the object.")
        rows = [("mean P@1 over relations (%)", lambda m: _fmt(m.get("p_at_1"), m.get("ci")))]
        rows += [(f"P@1 {rel} (n={n}) (%)",
                  lambda m, rel=rel: _fmt(m.get("relations", {}).get(rel, {}).get("p_at_1"),
                                          m.get("relations", {}).get(rel, {}).get("ci")))
                 for rel, n in d["relations"].items()]
        rows.append(("facts not fitting the model (counted wrong)", lambda m: _fmt(m.get("not_fitting"))))
    else:
        head = (f"### {name}: entity descriptions ({d['format']}, `{d['path']}`)\n\n{d['n']} mentions: {d['n_scored']} "
                f"scored ({d['n_in_kb']} gold in the KB), {d['n_no_description']} without a gold description.")
        keys = sorted({k for m in models.values() for k in m if k.startswith("probe_")})
        rows = [(key, lambda m, key=key: _fmt(m.get(key), m.get("ci", {}).get(key))) for key in keys]
        rows.append(("mentions not fitting the model", lambda m: _fmt(m.get("not_fitting"))))
    return [head, "", *_table(models, rows, d.get("differences", {})), ""]


def load(args: argparse.Namespace) -> Suite | None:
    """The datasets named on the command line, read and resolved against ``--data``; None if none."""
    if not (args.ed_dataset or args.lama or args.describe_dataset):
        return None
    if args.ed_candidates < 1:
        raise ExternalUsageError(f"--ed-candidates {args.ed_candidates}: must be at least 1")
    specs = [("ed", *parse_named("--ed-dataset", t, True)) for t in args.ed_dataset]
    specs += [("lama", *parse_named("--lama", t, False)) for t in args.lama]
    specs += [("describe", *parse_named("--describe-dataset", t, False)) for t in args.describe_dataset]
    names = [name for _, name, _ in specs]
    if len(set(names)) != len(names):
        raise ExternalUsageError(f"external dataset names must differ, got {names}")
    kb = KnowledgeBase.load(args.data)
    return Suite(kb, [load_ed_dataset(n, p, kb, args.ed_candidates) for kind, n, p in specs if kind == "ed"],
                 [load_lama_dataset(n, p) for kind, n, p in specs if kind == "lama"],
                 [load_describe_dataset(n, p, kb) for kind, n, p in specs if kind == "describe"],
                 args.out, args.batch_size, args.beam, args.max_new_tokens, args.seed, not args.no_progress)
