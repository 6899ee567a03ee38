"""Synthetic world generator: a fictional MediaWiki export plus its exact answer key.

`python -m synth --entities N --seed S --output world.xml.bz2` writes the dump (bz2
multistream, schema 0.10) and `world.truth.jsonl` next to it, one JSON object a line, in page order:

- `{"kind": "entity", "title", "page_id", "type", "attributes", "description", "description_source",
  "surface_forms", "redirects"}`: `attributes` holds scalars as strings and relations as
  `{"entity": title}`; `redirects` lists every title that resolves to the entity (chains included).
- `{"kind": "paragraph", "page_title", "paragraph", "text"}`: the plain text of each counted paragraph
  (an addition to DESIGN.md's two kinds, so offsets can be checked without the dump).
- `{"kind": "mention", "page_title", "paragraph", "start", "end", "surface", "entity"}`.

Everything is computed from the pieces the generator composed (see text.py), never by parsing the
output. It is the embedded default corpus and the test oracle of the pipeline.
"""

from synth.writer import Summary, generate, truth_path

__all__ = ["DEFAULT_ENTITIES", "Summary", "generate", "truth_path"]

#: Demo size: about 1,500 pages, 3,500 paragraphs (300k characters of text) and 4,700 mentions,
#: enough for a visible KILM effect while the whole flow (pipeline, tiny base BART, KILM continued
#: pretraining, eval) fits 10 minutes on 2 CPU cores.
DEFAULT_ENTITIES = 800
