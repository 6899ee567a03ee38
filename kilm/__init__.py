"""Shared core of the kilm toolkit: the KILM sequence format, tokenizers and record formats."""
