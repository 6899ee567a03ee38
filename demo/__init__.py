"""The demo: the whole flow on the embedded default (synthetic world), from nothing to a report.

``python -m demo --workdir runs/demo [--seeds N]``; see :mod:`demo.flow` for the stages and
:mod:`demo.summary` for the seed table and the acceptance checks. It sits outside ``kilm/`` (the shared
core) because it drives every part: the generator, the pipeline, the trainer and eval.
"""
