"""Lossless coding of one frame's payloads: integer symbols by a range coder with a per-tensor
frequency table, sorted indices by gaps under a geometric model, floats by byte planes and zlib.

The range coder is ``constriction``'s (a queue-ordered range coder with 24-bit probabilities).
Its models are rebuilt on the decoding side from what the payload carries (the table, or one
probability), with the same float64 arithmetic, so both sides quantise them identically.

Rates are in bits; :func:`entropy_bits` and :func:`binary_entropy_bits` are the estimates
training reports, :func:`encode_ints` and :func:`encode_indices` what a file really holds.
"""

from __future__ import annotations

import io
import zlib

import numpy as np

__all__ = ["entropy_bits", "binary_entropy_bits", "encode_ints", "decode_ints",
           "encode_indices", "decode_indices", "pack_floats", "unpack_floats"]


# ---------------------------------------------------------------------------- estimates
def entropy_bits(values: np.ndarray) -> float:
    """The empirical entropy of ``values`` times their count: the bits an ideal coder with the
    values' own frequency table spends on them (the table itself not counted)."""
    values = np.asarray(values).reshape(-1)
    if values.size == 0:
        return 0.0
    _, counts = np.unique(values, return_counts=True)
    p = counts / values.size
    return float(-(counts * np.log2(p)).sum())


def binary_entropy_bits(ones: int, total: int) -> float:
    """``total * H(ones / total)``: the bits of a 0/1 pattern under its own frequency."""
    if total == 0 or ones in (0, total):
        return 0.0
    p = ones / total
    return float(-total * (p * np.log2(p) + (1 - p) * np.log2(1 - p)))


# ---------------------------------------------------------------------------- varints
def _put_varint(out: io.BytesIO, value: int) -> None:
    if value < 0:
        raise ValueError("varints are unsigned")
    while True:
        byte = value & 0x7F
        value >>= 7
        out.write(bytes([byte | (0x80 if value else 0)]))
        if not value:
            return


def _get_varint(buf: memoryview, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("payload ends inside a number")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _zigzag(v: int) -> int:
    return 2 * v if v >= 0 else -2 * v - 1


def _unzigzag(u: int) -> int:
    return u // 2 if u % 2 == 0 else -(u + 1) // 2


# ---------------------------------------------------------------------------- integer symbols
def _categorical(probabilities: np.ndarray):
    import constriction

    return constriction.stream.model.Categorical(probabilities, perfect=False)


def encode_ints(values: np.ndarray) -> bytes:
    """Integers (any shape; flattened) as: the count, the table of distinct values (zig-zag
    varint of the first, varint gaps to the next) and their counts (varints), then the range-
    coded indices into the table (none when there is one distinct value).

    Examples
    --------
    >>> x = np.array([0, 0, 0, 1, -2, 0, 0, 5])
    >>> bool((decode_ints(encode_ints(x)) == x).all())
    True
    """
    import constriction

    flat = np.asarray(values, dtype=np.int64).reshape(-1)
    out = io.BytesIO()
    _put_varint(out, flat.size)
    if flat.size == 0:
        return out.getvalue()
    distinct, index, counts = np.unique(flat, return_inverse=True, return_counts=True)
    _put_varint(out, distinct.size)
    _put_varint(out, _zigzag(int(distinct[0])))
    for gap in np.diff(distinct):
        _put_varint(out, int(gap))
    for c in counts:
        _put_varint(out, int(c))
    if distinct.size > 1:
        encoder = constriction.stream.queue.RangeEncoder()
        encoder.encode(index.astype(np.int32), _categorical(counts / flat.size))
        out.write(encoder.get_compressed().astype("<u4").tobytes())
    return out.getvalue()


def decode_ints(data: bytes, size: int | None = None) -> np.ndarray:
    """The flat int64 array :func:`encode_ints` wrote; ValueError when it holds other than
    ``size`` values (when given)."""
    import constriction

    buf = memoryview(data)
    n, pos = _get_varint(buf, 0)
    if size is not None and n != size:
        raise ValueError(f"{n} integers where {size} were expected")
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    k, pos = _get_varint(buf, pos)
    first, pos = _get_varint(buf, pos)
    distinct = [_unzigzag(first)]
    for _ in range(k - 1):
        gap, pos = _get_varint(buf, pos)
        distinct.append(distinct[-1] + gap)
    counts = []
    for _ in range(k):
        c, pos = _get_varint(buf, pos)
        counts.append(c)
    table = np.asarray(distinct, dtype=np.int64)
    if k == 1:
        return np.full(n, table[0], dtype=np.int64)
    words = np.frombuffer(bytes(buf[pos:]), dtype="<u4").astype(np.uint32)
    decoder = constriction.stream.queue.RangeDecoder(words)
    index = decoder.decode(_categorical(np.asarray(counts) / n), n)
    return table[index]


# ---------------------------------------------------------------------------- sorted indices
def _gap_model(p: float, largest: int):
    """A geometric model of gaps ``1..largest`` (``P(g) ~ p (1-p)^(g-1)``, renormalised): the
    code length of a gap sequence is then that of a 0/1 pattern with density ``p``."""
    g = np.arange(1, largest + 1, dtype=np.float64)
    logp = np.log(p) + (g - 1) * np.log1p(-p)
    probs = np.exp(logp - logp.max())
    return _categorical(probs / probs.sum())


def encode_indices(indices: np.ndarray, total: int) -> bytes:
    """Sorted distinct indices into ``range(total)``: their count, then the gaps between them
    (the first from -1) range-coded under a geometric model of density ``count / total``.

    Examples
    --------
    >>> idx = np.array([3, 4, 10, 99])
    >>> decode_indices(encode_indices(idx, 100), 100).tolist()
    [3, 4, 10, 99]
    """
    import constriction

    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    if idx.size and (np.any(np.diff(idx) <= 0) or idx[0] < 0 or idx[-1] >= total):
        raise ValueError("indices must be sorted, distinct and in range(total)")
    out = io.BytesIO()
    _put_varint(out, idx.size)
    if idx.size in (0, total):
        return out.getvalue()
    gaps = np.diff(np.concatenate([[-1], idx]))
    encoder = constriction.stream.queue.RangeEncoder()
    encoder.encode((gaps - 1).astype(np.int32), _gap_model(idx.size / total, total))
    out.write(encoder.get_compressed().astype("<u4").tobytes())
    return out.getvalue()


def decode_indices(data: bytes, total: int) -> np.ndarray:
    """The indices :func:`encode_indices` wrote (``total`` as given there)."""
    import constriction

    buf = memoryview(data)
    m, pos = _get_varint(buf, 0)
    if m == 0:
        return np.zeros(0, dtype=np.int64)
    if m == total:
        return np.arange(total, dtype=np.int64)
    words = np.frombuffer(bytes(buf[pos:]), dtype="<u4").astype(np.uint32)
    decoder = constriction.stream.queue.RangeDecoder(words)
    gaps = decoder.decode(_gap_model(m / total, total), m).astype(np.int64) + 1
    return np.cumsum(gaps) - 1


# ---------------------------------------------------------------------------- floats
def pack_floats(array: np.ndarray, dtype: str = "<f4") -> bytes:
    """A float array, stored exactly in ``dtype``, as zlib-deflated byte planes (the bytes of
    every number's most significant byte first, and so on), which deflate compresses much better
    than interleaved floats. The shape is not stored."""
    a = np.ascontiguousarray(np.asarray(array, dtype=dtype).reshape(-1))
    planes = a.view(np.uint8).reshape(-1, a.itemsize).T
    return zlib.compress(np.ascontiguousarray(planes).tobytes(), 9)


def unpack_floats(data: bytes, dtype: str = "<f4") -> np.ndarray:
    """The flat array :func:`pack_floats` stored."""
    raw = np.frombuffer(zlib.decompress(data), dtype=np.uint8)
    size = np.dtype(dtype).itemsize
    if raw.size % size:
        raise ValueError("float payload has a ragged length")
    return np.ascontiguousarray(raw.reshape(size, -1).T).view(dtype).reshape(-1)
