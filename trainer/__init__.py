"""fairseq plugin (``fairseq-train --user-dir trainer``): the ``kilm`` task, criterion, optimizer, small BARTs."""

from kilm.checkpoint import allow_fairseq_checkpoints

from . import criterion, models, optim, task  # noqa: F401  (registers with fairseq)

allow_fairseq_checkpoints()
