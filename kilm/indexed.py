"""fairseq's ``mmap`` indexed dataset format (``.bin`` + ``.idx``), written with numpy alone.

Beam workers write the binarized shards themselves; this writer keeps torch and fairseq out of the
worker image. fairseq's ``data_utils.load_indexed_dataset(prefix, dictionary)`` reads the result.
Layout of ``.idx``: magic ``MMIDIDX\\0\\0``, version 1 (u64), dtype code (u8), row count (u64),
row sizes (int32), byte offsets of rows in ``.bin`` (int64).
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

_MAGIC = b"MMIDIDX\x00\x00"
_DTYPE_CODES = {np.dtype(np.uint16): 8, np.dtype(np.int32): 4, np.dtype(np.int64): 5}


def best_dtype(vocab_size: int) -> np.dtype:
    """The dtype fairseq-preprocess picks for a vocabulary (uint16 below 65,500 symbols)."""
    return np.dtype(np.uint16) if vocab_size < 65500 else np.dtype(np.int32)


def write_indexed(prefix: str | Path, rows: Iterable[Sequence[int]], vocab_size: int) -> int:
    """Write ``prefix.bin``/``prefix.idx`` from rows of token ids; returns the number of rows."""
    dtype = best_dtype(vocab_size)
    rows = list(rows)
    sizes_array = np.fromiter((len(row) for row in rows), dtype=np.int32, count=len(rows))
    flat = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int64, count=int(sizes_array.sum()))
    if flat.size and (flat.min() < 0 or flat.max() >= vocab_size):
        raise ValueError(f"{prefix}: token id outside a vocabulary of {vocab_size}")
    with open(f"{prefix}.bin", "wb") as data:
        data.write(flat.astype(dtype).tobytes(order="C"))
    pointers = np.zeros(len(rows), dtype=np.int64)
    if len(rows) > 1:
        np.cumsum(sizes_array[:-1].astype(np.int64) * dtype.itemsize, out=pointers[1:])
    with open(f"{prefix}.idx", "wb") as index:
        index.write(_MAGIC)
        index.write(struct.pack("<Q", 1))
        index.write(struct.pack("<B", _DTYPE_CODES[dtype]))
        index.write(struct.pack("<Q", len(rows)))
        index.write(sizes_array.tobytes(order="C"))
        index.write(pointers.tobytes(order="C"))
    return len(rows)


def _read_index(prefix: str | Path) -> tuple[np.dtype, np.ndarray, np.ndarray]:
    """dtype, row sizes and byte offsets from ``prefix.idx``."""
    with open(f"{prefix}.idx", "rb") as index:
        if index.read(9) != _MAGIC:
            raise ValueError(f"{prefix}.idx: not a fairseq mmap index")
        index.read(8)  # version
        (code,) = struct.unpack("<B", index.read(1))
        (count,) = struct.unpack("<Q", index.read(8))
        dtype = {v: k for k, v in _DTYPE_CODES.items()}[code]
        sizes = np.frombuffer(index.read(4 * count), dtype=np.int32)
        pointers = np.frombuffer(index.read(8 * count), dtype=np.int64)
    return dtype, sizes, pointers


def row_sizes(prefix: str | Path) -> np.ndarray:
    """The length of every row, from ``prefix.idx`` alone (the data is not read)."""
    return _read_index(prefix)[1]


def read_indexed(prefix: str | Path) -> list[np.ndarray]:
    """All rows of ``prefix.bin``/``.idx`` (for tests and inspection; fairseq reads them lazily)."""
    dtype, sizes, pointers = _read_index(prefix)
    data = np.fromfile(f"{prefix}.bin", dtype=dtype)
    return [data[p // dtype.itemsize : p // dtype.itemsize + s].astype(np.int64) for p, s in zip(pointers, sizes)]
