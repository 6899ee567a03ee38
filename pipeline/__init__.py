"""Apache Beam pipeline: MediaWiki dumps → entity table, KILM examples, binarized fairseq shards."""

from kilm.cli import drop_log_messages

# Beam's BigQuery client logs this through the root logger when imported without GCP extras; we use no BigQuery.
drop_log_messages("", "apitools not found")
