"""Synthetic world generator: a fictional MediaWiki export plus its exact answer key.

`python -m synth --entities N --seed S --output world.xml.bz2` writes the dump (bz2 multistream,
schema 0.10) and `world.truth.jsonl` next to it, one JSON object a line, in page order:

- `{"kind": "entity", "title", "page_id", "type", "attributes", "description", "description_source",
  "surface_forms", "redirects"}`: `attributes` holds strings (the description states some of them
  verbatim: those are the entity's description facts) and relations as `{"entity": title}`;
  `redirects` lists every title that resolves to the entity (chains included).
- `{"kind": "paragraph", "page_title", "paragraph", "text", "lead"}`: the plain text of each counted
  paragraph, `lead` when it stands before the first heading (an addition to DESIGN.md's two kinds, so
  offsets can be checked without the dump, for either `--text-scope`).
- `{"kind": "mention", "page_title", "paragraph", "start", "end", "surface", "entity"}`.

Everything is computed from the pieces the generator composed (see text.py), never by parsing the
output. It is the embedded default corpus and the test oracle of the pipeline. The world keeps
knowledge apart from surface patterns (world.py, articles.py): a reader who knows no entity facts
scores low on it; bench/world_baselines.py measures how low.
"""

from synth.writer import Summary, generate, truth_path

__all__ = ["DEFAULT_ENTITIES", "Summary", "generate", "truth_path"]

#: Demo size: about 1,460 pages whose leads hold 4,700 paragraphs (310k characters) and 7,800
#: mentions, so that the whole flow fits a CPU demo; with `--test-fraction 0.1
#: --unseen-entity-fraction 0.1` the pipeline leaves about 500 ED items and 170 unseen-entity probe
#: items in test (bench/world_baselines.py).
DEFAULT_ENTITIES = 800
