"""The QUEEN stream file (``.qsv``): a header, frame 0, then one record per frame.

Layout (little-endian)::

    b"QSV1"                       4 bytes, the magic
    header length  u32            4 bytes
    header         JSON, UTF-8    format_version, frames, gaussians, sh_degree, attributes
                                  (name -> values per Gaussian), latent_dims, coders
    header CRC-32  u32            of the JSON bytes
    record 0..frames-1:
        payload length  u32
        payload         u16 chunk count, then per chunk: u8 name length, the name (ASCII),
                        u32 size, the bytes
        payload CRC-32  u32

Record 0 is frame 0: every attribute as float32 (``pack_floats``: byte planes, deflated), so
frame 0 decodes exactly to the scene it was made from. Record t > 0 holds the residuals of
:class:`~scenesparse.queen.residuals.FrameRecord`: ``gated`` (the gated-on Gaussians,
:func:`~scenesparse.queen.coding.encode_indices`), ``deltas`` (their position residuals in
float16, deflated byte planes), ``latent.NAME`` (integer latents, :func:`encode_ints`) and
``decoder.NAME`` (float32 ``(d, k)`` weights). The header bytes and the records' bytes add up to
the file's size; :meth:`QueenStream.info` lists them.

A record whose length runs past the end of the file or whose CRC does not match is refused with
its number (:class:`CorruptStreamError`), and so are bytes after the last record (when the last
frame is read) and, when its frame is decoded, a record that passes its CRC but does not decode;
every frame before it still decodes. A record (or header) whose own chunks (JSON) end, and pass
the CRC, where its length field does not say is named as damaged, not as truncated.
"""

from __future__ import annotations

import copy
import io
import json
import operator
import os
import struct
import tempfile
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from scenesparse.gaussians import GaussianScene
from scenesparse.queen.coding import (
    decode_indices,
    decode_ints,
    encode_indices,
    encode_ints,
    pack_floats,
    unpack_floats,
)
from scenesparse.queen.residuals import (
    ATTRIBUTES,
    RESIDUAL_ATTRIBUTES,
    FrameRecord,
    StreamState,
    apply_record,
)
from sparsebox.exceptions import InputFileError
from sparsebox.outputs import counted

__all__ = ["MAGIC", "FORMAT_VERSION", "CorruptStreamError", "QueenStreamWriter", "QueenStream",
           "scene_of_state"]

MAGIC = b"QSV1"
FORMAT_VERSION = 1
_U32 = struct.Struct("<I")


class CorruptStreamError(InputFileError):
    """A record of a stream is truncated or fails its checksum."""


def _decodes(count: int) -> str:
    """What still decodes when record ``count`` is refused: the frames before it.

    Examples
    --------
    >>> _decodes(0), _decodes(1), _decodes(4)
    ('no frame decodes', 'frame 0 decodes', 'frames 0-3 decode')
    """
    return ("no frame decodes" if count <= 0 else "frame 0 decodes" if count == 1
            else f"frames 0-{count - 1} decode")


def _checked_end(data: bytes, start: int, end: int | None) -> bool:
    """Whether ``data[start:end]`` is followed by its CRC-32 (``end`` None: no)."""
    return end is not None and end + 4 <= len(data) and (
        _U32.unpack_from(data, end)[0] == zlib.crc32(data[start:end]))


def _chunks_end(data: bytes, start: int) -> int | None:
    """Where a payload that starts at ``start`` ends by its own chunk table (see
    :func:`_pack_chunks`), or None where the table runs past the end of ``data``."""
    if start + 2 > len(data):
        return None
    (count,), pos = struct.unpack_from("<H", data, start), start + 2
    for _ in range(count):
        if pos >= len(data):
            return None
        pos += 1 + data[pos]
        if pos + 4 > len(data):
            return None
        pos += 4 + _U32.unpack_from(data, pos)[0]
    return pos if pos <= len(data) else None


def _json_end(data: bytes, start: int) -> int | None:
    """Where a JSON object that starts at ``start`` ends (a header is ASCII JSON), or None."""
    try:
        _, size = json.JSONDecoder().raw_decode(data[start:start + (1 << 20)].decode("latin-1"))
    except ValueError:
        return None
    return start + size


# ---------------------------------------------------------------------------- payloads
def _pack_chunks(chunks: Mapping[str, bytes]) -> bytes:
    out = io.BytesIO()
    out.write(struct.pack("<H", len(chunks)))
    for name, data in chunks.items():
        raw = name.encode("ascii")
        out.write(struct.pack("<B", len(raw)) + raw + _U32.pack(len(data)))
        out.write(data)
    return out.getvalue()


def _unpack_chunks(payload: bytes) -> dict[str, bytes]:
    (count,), pos = struct.unpack_from("<H", payload, 0), 2
    chunks = {}
    for _ in range(count):
        (length,) = struct.unpack_from("<B", payload, pos)
        name = payload[pos + 1:pos + 1 + length].decode("ascii")
        pos += 1 + length
        (size,) = _U32.unpack_from(payload, pos)
        pos += 4
        chunks[name] = payload[pos:pos + size]
        pos += size
    if pos != len(payload):
        raise ValueError(f"its chunks take {pos} bytes of its {len(payload)}")
    return chunks


def frame0_chunks(params: Mapping[str, torch.Tensor]) -> dict[str, bytes]:
    return {name: pack_floats(params[name].detach().cpu().numpy()) for name in ATTRIBUTES}


def record_chunks(record: FrameRecord, num_gaussians: int) -> dict[str, bytes]:
    chunks = {"gated": encode_indices(record.gated, num_gaussians),
              "deltas": pack_floats(record.deltas, "<f2")}
    for name, sym in record.symbols.items():
        chunks[f"latent.{name}"] = encode_ints(sym)
    for name, weight in record.decoders.items():
        chunks[f"decoder.{name}"] = np.ascontiguousarray(weight, dtype="<f4").tobytes()
    return chunks


def _record_from_chunks(chunks: Mapping[str, bytes], header: Mapping[str, Any]) -> FrameRecord:
    n = int(header["gaussians"])
    dims = header["latent_dims"]
    widths = header["attributes"]
    gated = decode_indices(chunks["gated"], n)
    deltas = unpack_floats(chunks["deltas"], "<f2").reshape(-1, 3)
    if len(deltas) != len(gated) or (len(gated) and gated[-1] >= n):
        raise ValueError(f"{len(deltas)} position residuals for {len(gated)} gated Gaussians "
                         f"of {n}")
    names = list(RESIDUAL_ATTRIBUTES) + (["shN"] if widths["shN"] else [])
    symbols = {name: decode_ints(chunks[f"latent.{name}"], n * dims[name]).reshape(n, dims[name])
               for name in names}
    decoders = {name: np.frombuffer(chunks[f"decoder.{name}"], dtype="<f4")
                .reshape(dims[name], widths[name]).copy() for name in names}
    return FrameRecord(gated, deltas, symbols, decoders)


def _state_from_frame0(chunks: Mapping[str, bytes], header: Mapping[str, Any]) -> StreamState:
    n = int(header["gaussians"])
    widths = header["attributes"]
    shapes = {"means": (n, 3), "quats": (n, 4), "scales": (n, 3), "opacities": (n,),
              "sh0": (n, 1, 3), "shN": (n, widths["shN"] // 3, 3)}
    params = {name: torch.from_numpy(unpack_floats(chunks[name]).reshape(shapes[name]).copy())
              for name in ATTRIBUTES}
    return StreamState.from_params(params, int(header["latent_dims"]["shN"]))


def scene_of_state(state: StreamState) -> GaussianScene:
    """The Gaussian scene of a decoded frame."""
    from scenesparse.training import scene_from_params

    return scene_from_params({k: v.clone() for k, v in state.params.items()})


def stream_header(state: StreamState, latent_dims: Mapping[str, int]) -> dict[str, Any]:
    return {"format_version": FORMAT_VERSION, "frames": 0, "gaussians": len(state),
            "sh_degree": int(round((state.params["shN"].shape[1] + 1) ** 0.5)) - 1,
            "attributes": {k: int(state.params[k][0].numel()) for k in ATTRIBUTES},
            "latent_dims": {k: int(v) for k, v in latent_dims.items()},
            "coders": {"integers": "constriction range coder, per-tensor frequency table",
                       "indices": "gaps, range-coded under a geometric model",
                       "floats": "byte planes, zlib level 9"}}


def _read_header(path: Path, body: bytes) -> dict[str, Any]:
    """The header's JSON (its checksum passed), refused where it is not :func:`stream_header`'s
    shape: another format version, or a field missing or of another type."""
    try:
        header = json.loads(body)
    except ValueError:  # UnicodeDecodeError included
        header = None
    if not isinstance(header, dict):
        raise InputFileError(f"{path}: the header is not a JSON object")
    if header.get("format_version") != FORMAT_VERSION:
        raise InputFileError(f"{path}: format version {header.get('format_version')} is not "
                             f"{FORMAT_VERSION}")
    def sizes(key: str, names: tuple[str, ...], least: int) -> bool:  # a width for every name
        table = header.get(key)
        return isinstance(table, dict) and all(
            type(table.get(name)) is int and table[name] >= least for name in names)

    bad = [k for k in ("frames", "gaussians", "sh_degree")
           if not (type(header.get(k)) is int and header[k] >= 0)]
    bad += [] if sizes("attributes", ATTRIBUTES, 0) else ["attributes"]
    bad += [] if sizes("latent_dims", (*RESIDUAL_ATTRIBUTES, "shN"), 1) else ["latent_dims"]
    if bad:
        raise InputFileError(f"{path}: the header's {', '.join(bad)} "
                             f"{'is' if len(bad) == 1 else 'are'} missing or malformed")
    rest = 3 * ((header["sh_degree"] + 1) ** 2 - 1)  # the higher SH coefficients, 3 colours each
    if header["attributes"]["shN"] != rest:  # (info printed another degree, decode went on)
        raise InputFileError(f"{path}: the header's sh_degree {header['sh_degree']} needs {rest} "
                             f"shN values per Gaussian, its attributes say "
                             f"{header['attributes']['shN']}")
    return header


# ---------------------------------------------------------------------------- writing
class QueenStreamWriter:
    """Writes a stream to ``path`` when closed (records are spooled until then, so the header
    can carry the frame count); use as a context manager. Nothing is written if the block
    raises."""

    def __init__(self, path: str | os.PathLike[str], header: Mapping[str, Any]) -> None:
        self.path = Path(path)
        self.header = dict(header)
        self._records = tempfile.SpooledTemporaryFile(max_size=64 << 20)
        self.frames = 0
        self.record_bytes: list[int] = []

    def write(self, chunks: Mapping[str, bytes]) -> int:
        """Append one record; returns its size in the file (length, payload and CRC)."""
        payload = _pack_chunks(chunks)
        self._records.write(_U32.pack(len(payload)) + payload
                            + _U32.pack(zlib.crc32(payload)))
        self.frames += 1
        self.record_bytes.append(len(payload) + 8)
        return len(payload) + 8

    def header_bytes(self) -> bytes:
        body = json.dumps({**self.header, "frames": self.frames}, sort_keys=True).encode()
        return MAGIC + _U32.pack(len(body)) + body + _U32.pack(zlib.crc32(body))

    def close(self) -> None:
        """Write the file in one step (:class:`~sparsebox.outputs.StagedOutputs`): a run
        stopped while writing leaves the old file (or none), never part of the stream."""
        from sparsebox.outputs import StagedOutputs

        try:
            with StagedOutputs(stream=self.path) as staged, open(staged["stream"], "wb") as out:
                out.write(self.header_bytes())
                self._records.seek(0)
                while block := self._records.read(1 << 20):
                    out.write(block)
        finally:
            self._records.close()

    def __enter__(self) -> QueenStreamWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self._records.close()


# ---------------------------------------------------------------------------- reading
class QueenStream:
    """Read a ``.qsv`` stream: any frame (by replaying records), or every frame in order.

    Examples
    --------
    >>> stream = QueenStream("video.qsv")                        # doctest: +SKIP
    >>> len(stream), stream.frame(5)                             # doctest: +SKIP
    >>> for t, scene in enumerate(stream): ...                   # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            self._data = self.path.read_bytes()
        except OSError as err:
            raise InputFileError(f"{self.path}: cannot read ({err.strerror})") from None
        data = self._data
        if data[:4] != MAGIC[:len(data)] or not data:
            raise InputFileError(f"{self.path}: not a QUEEN stream (no QSV1 magic)")
        if len(data) < 12:
            raise CorruptStreamError(f"{self.path}: truncated inside its header "
                                     f"({counted(len(data), 'byte')}; a header takes at least 12)")
        (length,) = _U32.unpack_from(data, 4)
        body = data[8:8 + length]
        if not _checked_end(data, 8, 8 + length):
            end = _json_end(data, 8)  # JSON that ends (and passes) elsewhere: not a cut file
            if end != 8 + length and _checked_end(data, 8, end):
                raise CorruptStreamError(f"{self.path}: the header is damaged: its length field "
                                         f"says {length:,} bytes, where its JSON takes {end - 8:,}")
            if len(data) < 12 + length:
                raise CorruptStreamError(f"{self.path}: truncated inside its header ({len(data)} "
                                         f"bytes; the header alone takes {12 + length})")
            raise CorruptStreamError(f"{self.path}: the header fails its checksum")
        self.header = _read_header(self.path, body)
        self.header_size = 12 + length
        self._offsets: list[tuple[int, int]] = []  # (payload start, payload length) per record
        self._state: StreamState | None = None

    def __len__(self) -> int:
        return int(self.header["frames"])

    def _check_index(self, index: int) -> int:
        """``index`` as an int, or IndexError when it is not a frame of the stream (negative
        indices included: they do not count from the end); TypeError for what is no integer,
        True and False too (were frames 1 and 0), and 1.0."""
        dtype = str(getattr(index, "dtype", "int")).rpartition(".")[2]  # numpy's or torch's
        if (isinstance(index, bool) or not hasattr(index, "__index__") or "int" not in dtype
                or getattr(index, "ndim", 0) != 0):  # torch.tensor([1]) has __index__ too
            raise TypeError(f"a frame index must be an integer, got {index!r}")
        index = operator.index(index)
        if not 0 <= index < len(self):
            raise IndexError(f"frame {index} is not in 0..{len(self) - 1}" if len(self) > 1 else
                             f"frame {index}: the stream has only frame 0" if len(self) else
                             f"frame {index}: the stream has no frames")
        return index

    def _payload(self, index: int) -> bytes:
        """Record ``index``'s payload, checked (records before it are located on the way)."""
        index = self._check_index(index)
        data = self._data
        while len(self._offsets) <= index:
            k = len(self._offsets)
            pos = self.header_size if not k else sum(self._offsets[-1]) + 4
            decoded = f" ({_decodes(k)})" if k else ""
            if pos + 4 > len(data):
                raise CorruptStreamError(f"{self.path}: record {k} is missing (the stream is "
                                         f"truncated after {k} of {len(self)} records){decoded}")
            (length,) = _U32.unpack_from(data, pos)
            end = pos + 4 + length + 4
            if not _checked_end(data, pos + 4, end - 4):
                walked = _chunks_end(data, pos + 4)
                # chunks that end inside the file where the length does not say: not a cut file
                if walked is not None and walked != end - 4 and (
                        end > len(data) or _checked_end(data, pos + 4, walked)):
                    raise CorruptStreamError(f"{self.path}: record {k} is damaged: its length "
                                             f"field says {length:,} bytes, where its chunks take "
                                             f"{walked - pos - 4:,}{decoded}")
                if end > len(data):
                    raise CorruptStreamError(f"{self.path}: record {k} is truncated: it needs bytes "
                                             f"up to {end}, the file has {len(data)}{decoded}")
                raise CorruptStreamError(f"{self.path}: record {k} fails its checksum{decoded}")
            if k == len(self) - 1:
                self._check_end(end, _decodes(k))
            self._offsets.append((pos + 4, length))
        start, length = self._offsets[index]
        return data[start:start + length]

    def state(self, index: int) -> StreamState:
        """The decoded state after frame ``index`` (replaying from the last decoded frame when
        it is earlier, else from frame 0); IndexError outside ``0..len(self) - 1``. A copy: the
        reader replays later frames from its own."""
        return copy.deepcopy(self._replayed(index))

    def _replayed(self, index: int) -> StreamState:
        """The reader's own state after frame ``index`` (later frames replay from it)."""
        index = self._check_index(index)
        if self._state is None or self._state.index > index:
            self._state = self._decoded(0, _state_from_frame0)
        while self._state.index < index:
            record = self._decoded(self._state.index + 1, _record_from_chunks)
            self._state = apply_record(self._state, record)
        return self._state

    def _decoded(self, index: int, decode: Any) -> Any:
        """``decode(chunks, header)`` of record ``index``; a record that passes its checksum but
        is not what a writer writes (a hand-made or foreign file, or a header that does not
        describe it) is refused with its number, as a damaged one is."""
        payload = self._payload(index)
        try:
            return decode(_unpack_chunks(payload), self.header)
        except (ValueError, KeyError, IndexError, struct.error, zlib.error) as err:
            what = f"it has no {err.args[0]} chunk" if isinstance(err, KeyError) else str(err)
            decoded = f" ({_decodes(index)})" if index else ""
            raise CorruptStreamError(f"{self.path}: record {index} passes its checksum but does "
                                     f"not decode: {what}{decoded}") from None

    def frame(self, index: int) -> GaussianScene:
        """Frame ``index`` as a scene; IndexError outside ``0..len(self) - 1``."""
        return scene_of_state(self._replayed(index))

    def __iter__(self) -> Iterator[GaussianScene]:
        for t in range(len(self)):
            yield self.frame(t)

    def _check_end(self, end: int, decodes: str) -> None:
        """Refuse bytes after ``end``, where the last record (or the header) ends."""
        if end != len(self._data):
            extra = counted(len(self._data) - end, "byte")
            raise CorruptStreamError(f"{self.path}: {extra} after the last record (record "
                                     f"{len(self)} is not in the header; {decodes})")

    def info(self) -> dict[str, Any]:
        """``{"header_bytes": n, "frames": [{"index": t, "bytes": n}, ...]}`` (every record
        checked); the byte counts add up to the file's size."""
        for t in range(len(self)):
            self._payload(t)
        if not len(self):
            self._check_end(self.header_size, "it holds no frame")
        return {"header_bytes": self.header_size,
                "frames": [{"index": t, "bytes": length + 8}
                           for t, (_, length) in enumerate(self._offsets)]}
