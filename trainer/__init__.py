"""fairseq plugin (``fairseq-train --user-dir trainer``): the ``kilm`` task, criterion, optimizer,
learning-rate schedule, small BARTs."""

from kilm.checkpoint import allow_fairseq_checkpoints
from kilm.cli import drop_log_messages

# Importing fairseq imports every task; its text-to-speech task asks for tensorboardX, which no kilm run
# needs (fairseq's TensorBoard writer takes torch.utils.tensorboard's SummaryWriter, installed with torch).
drop_log_messages("fairseq.tasks.text_to_speech", "Please install tensorboardX")

from . import criterion, models, optim, schedule, task  # noqa: E402, F401  (registers with fairseq)

allow_fairseq_checkpoints()
