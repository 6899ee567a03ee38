"""Apache Beam pipeline: MediaWiki dumps → entity table, KILM examples, binarized fairseq shards."""
