"""Evaluation: knowledge probing, zero-shot entity disambiguation, retention, external benchmarks, export."""

import warnings

from kilm.cli import drop_log_messages

# Importing fairseq imports its text-to-speech task, which asks for tensorboardX; eval writes no TensorBoard logs.
drop_log_messages("fairseq.tasks.text_to_speech", "Please install tensorboardX")
# fairseq's attention hands torch a bool padding mask beside a float attention mask; torch warns about that
# deprecation on the first forward pass of every run, and the result is the same.
warnings.filterwarnings("ignore", message="Support for mismatched key_padding_mask and attn_mask", category=UserWarning)
