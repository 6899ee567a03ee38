"""The paper's external benchmarks against a pipeline run as knowledge base: zero-shot ED on GENRE KILT and
BLINK files, LAMA probes, entity descriptions in external text (``eval.run --ed-dataset``, ``--lama``,
``--describe-dataset``; see :mod:`eval.external.suite`)."""
