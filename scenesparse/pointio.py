"""Point clouds that keep every per-point attribute: PLY (ASCII and binary), PCD (ascii, binary,
and ``binary_compressed`` read), and XYZ text
(``.xyz``, ``.txt``, and ``.pts`` in the layouts open3d and CloudCompare read; values separated
by spaces or commas, under a header line of names where another tool writes one; and open3d's
``.xyzn`` and ``.xyzrgb``, six columns without a header).

A :class:`PointCloud` is a structured numpy array with at least ``x``, ``y``, ``z`` fields; every
other field (colours, normals, Gaussian-splat properties, intensities...) rides along, so masking
and writing never drop an attribute, and PLY files keep their field order and dtypes.

A cloud written back to the format it was read from keeps its fields as they were (a PCD file
also its multi-count fields and VIEWPOINT). Written to the other of PLY and PCD (or to PCD,
built in memory with PLY's names), normals and colours take that format's names so open3d and
PCL find them: PLY ``nx ny nz`` <-> PCD
``normal_x normal_y normal_z``, PLY ``red green blue`` (uchar) <-> PCD ``rgb`` (packed into 4
bytes, F 4 as PCL writes it; F 4 or U 4 read; in an ascii file an F 4 colour written as an
integer is its 32 bits, as PCL writes it, and written so, TYPE U as PCL's ascii header has it,
where a float's text would lose them), and with an ``alpha`` (uchar) <-> PCD ``rgba`` (PCL's
PointXYZRGBA: U 4, alpha in the top byte). Written to text (``.xyz``, ``.txt``, ``.pts``,
``.xyzn``, ``.xyzrgb``), a cloud read from PCD takes PLY's names, its packed colour unpacked; a
text file's ``red green blue [alpha]`` of whole numbers 0..255 (in a named header, one above 1)
read back as uchar, so colours survive a trip through text. open3d's binary PCD reader reads
8-byte float fields as zeros, so float64 normals are written to PCD as F 4 (as open3d and PCL
write them), and so are the float64 positions of a cloud read from another format that float32
holds to a millionth of the cloud's extent. Positions float32 would move further (survey
coordinates far from the origin), and those of a cloud built in memory, stay F 8, faithful; a
binary PCD written so warns that open3d cannot read it. A cloud read from a PCD keeps its fields'
sizes.
"""

from __future__ import annotations

import os
import re
import struct
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib.recfunctions import repack_fields

from sparsebox._validation import caller_level, text_number
from sparsebox.exceptions import InputFileError, InvalidParameterError

__all__ = ["PointCloud", "read_points", "write_points", "check_format_holds", "open_ply",
           "PointFileError"]


class PointFileError(InputFileError):
    """A point file is malformed; the message names the file and what is wrong."""


@dataclass
class PointCloud:
    """Points with all their attributes, as one structured array.

    Attributes
    ----------
    data : ndarray (structured)
        One record per point; fields ``x``, ``y``, ``z`` and any others.
    comments : list of str
        Header comments to write back (PLY, PCD).
    faces : ndarray (structured) or None
        A mesh's PLY ``face`` element as read, every property kept (its ``vertex_indices``,
        ``vertex_index`` or else first list property lists each face's vertex indices);
        :meth:`subset` remaps them and drops the faces that lose a vertex.
    source : str or None
        The format the cloud was read from (``"ply"``, ``"pcd"``, ``"xyz"``, ``"pts"``,
        ``"xyzn"``, ``"xyzrgb"``), None
        for one built in memory; written to PLY or PCD from another format (or to text from
        PCD), its normals and colours are renamed (see the module's notes).
    layout : dict
        What a PCD header says beyond the fields, written back to PCD: ``"viewpoint"`` (the
        VIEWPOINT values) and ``"counts"`` (``{name: n}`` for a field of COUNT n > 1, read as the
        fields ``name_0`` ... ``name_{n-1}``).
    """

    data: np.ndarray
    comments: list[str] = field(default_factory=list)
    faces: np.ndarray | None = None
    source: str | None = None
    layout: dict[str, Any] = field(default_factory=dict)

    def __eq__(self, other: object) -> bool:
        """Equal records (fields, types and values, NaN equal to NaN, list properties element by
        element), faces, comments, source and layout; the dataclass's own equality compared the
        arrays with ``==`` and raised numpy's "truth value of an array ... is ambiguous".

        >>> PointCloud.from_xyz(np.eye(3)) == PointCloud.from_xyz(np.eye(3))
        True
        """
        if not isinstance(other, PointCloud):
            return NotImplemented
        return (_same_records(self.data, other.data) and _same_records(self.faces, other.faces)
                and self.comments == other.comments and self.source == other.source
                and self.layout == other.layout)

    def __post_init__(self) -> None:
        names = self.data.dtype.names or ()
        missing = [c for c in "xyz" if c not in names]
        if missing:
            raise ValueError(f"a point cloud needs fields x, y, z; missing {missing}")

    @classmethod
    def from_xyz(cls, points: np.ndarray, **attributes: np.ndarray) -> PointCloud:
        """From an ``(N, 3)`` array plus named per-point arrays (1-D, or 2-D: one field per
        column, named ``name_0``, ``name_1``...). Positions keep their float precision (other
        numbers become float64)."""
        pts = np.asarray(points)
        if pts.dtype not in (np.float32, np.float64):
            pts = pts.astype(np.float64)
        if pts.ndim != 2 or pts.shape[1] != 3:
            raise ValueError(f"points must have shape (N, 3), got {pts.shape}")
        fields = [("x", pts[:, 0]), ("y", pts[:, 1]), ("z", pts[:, 2])]
        for name, values in attributes.items():
            values = np.asarray(values)
            if values.ndim not in (1, 2):
                raise ValueError(f"attribute {name!r} must be one value per point (N,) or one "
                                 f"row per point (N, k), got shape {values.shape}")
            if values.shape[0] != pts.shape[0]:
                raise ValueError(f"attribute {name!r} has {values.shape[0]} rows for "
                                 f"{pts.shape[0]} points")
            if values.ndim == 1:
                fields.append((name, values))
            else:
                fields += [(f"{name}_{i}", values[:, i]) for i in range(values.shape[1])]
        data = np.empty(pts.shape[0], dtype=[(n, v.dtype) for n, v in fields])
        for n, v in fields:
            data[n] = v
        return cls(data)

    def __len__(self) -> int:
        return int(self.data.shape[0])

    @property
    def points(self) -> np.ndarray:
        """``(N, 3)`` float64 coordinates (a copy)."""
        return np.column_stack([self.data["x"], self.data["y"], self.data["z"]]).astype(np.float64)

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self.data.dtype.names or ())

    def subset(self, mask: Any) -> PointCloud:
        """The points where ``mask`` is true (boolean, one per point) or at the given indices
        (integers, as numpy reads them: 0..N-1, repeats allowed; an integer array of 0 and 1,
        one per point, is warned of as a likely mask), with every attribute; a mesh keeps the
        faces whose vertices all stay, renumbered.

        Examples
        --------
        >>> cloud = PointCloud.from_xyz(np.eye(3))
        >>> len(cloud.subset(np.array([True, False, True])))
        2
        """
        mask = np.asarray(mask)
        n = len(self)
        if mask.dtype == bool:
            if mask.shape != (n,):
                raise ValueError(f"mask must have shape ({n},), got {mask.shape}")
            kept = np.flatnonzero(mask)
        elif mask.size == 0 and mask.ndim == 1:  # [] is float64 to numpy: no point
            kept = np.zeros(0, dtype=np.int64)
        else:  # indices: whole numbers in range (a float array was cut, -1 read the last point)
            if mask.dtype.kind not in "iu" or mask.ndim != 1:
                raise ValueError(f"mask must be booleans, one per point, or 1-D integer indices, "
                                 f"got {mask.dtype} of shape {mask.shape}")
            if not (mask.min() >= 0 and mask.max() < n):
                raise ValueError(f"indices must lie in 0..{n - 1}, got {mask.min()}..{mask.max()}"
                                 if n else "the cloud has no point: indices must be empty")
            if n > 2 and mask.size == n and mask.max() <= 1:  # n picks of points 0 and 1
                warnings.warn("subset got integers 0 and 1 only, one per point: read as indices "
                              "(the first two points, repeated); a mask must be booleans "
                              "(mask.astype(bool))", UserWarning, stacklevel=2)
            kept = mask.astype(np.int64)
        faces = None
        if self.faces is not None:
            new_index = np.full(len(self), -1, dtype=np.int64)
            new_index[kept] = np.arange(kept.size)
            prop = face_index_property(self.faces, "the faces")
            lists = [new_index[np.asarray(f, dtype=np.int64)] for f in self.faces[prop]]
            whole = np.array([bool(np.all(f >= 0)) for f in lists], dtype=bool)
            faces = self.faces[whole].copy()
            remapped = np.empty(int(whole.sum()), dtype=object)
            remapped[:] = [f.astype(self.faces[prop][0].dtype if len(self.faces) else np.int32)
                           for f, w in zip(lists, whole, strict=True) if w]
            faces[prop] = remapped
        return PointCloud(self.data[kept].copy(), list(self.comments), faces, self.source,
                          dict(self.layout))


def _same_values(x: Any, y: Any) -> bool:
    """Whether two arrays hold the same type and values, NaN equal to NaN (so that an array
    equals itself); what :class:`PointCloud` and :class:`~scenesparse.gaussians.GaussianScene`
    compare their fields with.

    >>> _same_values(np.array([1.0, np.nan]), np.array([1.0, np.nan]))
    True
    >>> _same_values(np.zeros(2, np.int32), np.zeros(2))  # another type
    False
    """
    x, y = np.asarray(x), np.asarray(y)
    return x.dtype == y.dtype and np.array_equal(x, y, equal_nan=x.dtype.kind in "fc")


def _same_records(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    """Whether two structured arrays (or None) hold the same fields, types and values (a list
    property's arrays compared one by one)."""
    if a is None or b is None:
        return a is b
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    return all(all(_same_values(x, y) for x, y in zip(a[k], b[k], strict=True))
               if a.dtype[k].kind == "O" else _same_values(a[k], b[k])
               for k in a.dtype.names or ())


# ----------------------------------------------------------------------------------- PLY
def open_ply(path: str | os.PathLike[str], elements: tuple[str, ...] = ("vertex",)) -> Any:
    """A ``plyfile.PlyData`` with the given elements read; a missing element, a bad header, short
    data, or more data than the header declares (a miscounted header would otherwise be read
    silently truncated) is a :class:`PointFileError` that names the file."""
    from plyfile import PlyData

    path = Path(path)
    try:
        with open(path, "rb") as fh:
            header = fh.read(1 << 16)
        text = b"format ascii" in header.split(b"end_header", 1)[0]
        if text:
            ply = PlyData.read(str(path))
            extra = _extra_ascii_rows(path, ply)
        else:
            with open(path, "rb") as fh:
                ply = PlyData.read(fh, mmap=False)
                extra = path.stat().st_size - fh.tell()
                if 0 < extra <= 2 and fh.read() in (b"\n", b"\r\n"):  # a final newline some
                    extra = 0  # writers append, which open3d reads past: no miscounted row
        for name in elements:
            if name not in ply:
                raise PointFileError(f"{path}: no {name!r} element")
    except PointFileError:
        raise
    except Exception as err:  # plyfile raises several types for bad headers and short data
        raise PointFileError(f"{path}: not a readable PLY file ({err})") from err
    if extra > 0:
        last = ply.elements[-1]
        unit = "rows" if text else "bytes"
        raise PointFileError(f"{path}: more data than the header declares ({extra} {unit} after "
                             f"the {len(last.data)} declared {last.name!r} rows); the element "
                             "counts in the header are wrong")
    return ply


def _extra_ascii_rows(path: Path, ply: Any) -> int:
    """Non-empty lines after the header beyond the rows the header declares."""
    raw = path.read_bytes()
    body = raw[raw.index(b"end_header") + len(b"end_header"):]
    rows = sum(1 for line in body.splitlines() if line.strip())
    return rows - sum(len(el.data) for el in ply.elements)


def warn_unread(path: Path, ply: Any, kept: tuple[str, ...], what: str) -> None:
    """Warn, at the first caller outside the library, that the elements of ``ply`` other than
    ``kept``, and its obj_info lines, are not read: a ``what`` ("cloud", "scene") written from
    it lacks them."""
    lost = [f"its {e.name} element" for e in ply.elements if e.name not in kept]
    lost += ["its obj_info lines"] * bool(ply.obj_info)
    if lost:
        has = "vertices and faces" if "face" in kept and "face" in ply else "vertices"
        verb = "is" if lost == [lost[0]] and lost[0].endswith("element") else "are"
        warnings.warn(f"{path}: {' and '.join(lost)} {verb} not read; a {what} written from it "
                      f"has only its {has}", stacklevel=caller_level())


def _read_ply(path: Path) -> PointCloud:
    ply = open_ply(path)
    warn_unread(path, ply, ("vertex", "face"), "cloud")
    data = ply["vertex"].data
    for c in "xyz":
        if c not in (data.dtype.names or ()):
            raise PointFileError(f"{path}: vertex element has no property {c!r}")
    faces = None
    if "face" in ply and len(ply["face"].data):
        faces = np.array(ply["face"].data)
        prop = face_index_property(faces, path)
        top = max((int(np.max(f)) for f in faces[prop] if len(f)), default=-1)
        low = min((int(np.min(f)) for f in faces[prop] if len(f)), default=0)
        if low < 0 or top >= len(data):
            raise PointFileError(f"{path}: a face names a vertex outside 0..{len(data) - 1}")
    return PointCloud(np.array(data), list(ply.comments), faces, "ply")


def face_index_property(faces: np.ndarray, path: Path | str) -> str:
    """The property of a PLY ``face`` element (of the file ``path``) that lists each face's
    vertex indices: the one named as the PLY format names it, ``vertex_indices`` or
    ``vertex_index``, else the first list property; none is an error naming the file."""
    lists = [n for n in faces.dtype.names if faces.dtype[n].kind == "O"]  # a scalar is no list
    found = [n for n in ("vertex_indices", "vertex_index") if n in lists] or lists
    if not found:
        raise PointFileError(f"{path}: the face element has no list property of vertex indices")
    return found[0]


#: the value types of PLY's list properties, by numpy kind and size
#: (64-bit integers narrowed, as for scalar properties: check_format_holds refuses what does not fit)
_PLY_LIST_TYPES = {("i", 1): "i1", ("u", 1): "u1", ("i", 2): "i2", ("u", 2): "u2",
                   ("i", 4): "i4", ("u", 4): "u4", ("i", 8): "i4", ("u", 8): "u4",
                   ("f", 4): "f4", ("f", 8): "f8"}


def _list_value_types(data: np.ndarray) -> dict[str, str]:
    """The PLY value type of each list property of ``data`` (an object field of arrays): that
    of its arrays, as read (plyfile would write every list as ``int``)."""
    types = {}
    for name in data.dtype.names or ():
        if data.dtype[name].kind == "O":
            first = next((np.asarray(v) for v in data[name] if len(v)), np.zeros(0, np.int32))
            types[name] = _PLY_LIST_TYPES.get((first.dtype.kind, first.dtype.itemsize),
                                              "f8" if first.dtype.kind == "f" else "i4")
    return types


def _list_length_types(data: np.ndarray) -> dict[str, str]:
    """The PLY type of each list property's lengths: the narrowest unsigned type that holds the
    longest list (plyfile writes ``uchar`` and fails on a list of more than 255)."""
    types = {}
    for name in data.dtype.names or ():
        if data.dtype[name].kind == "O":
            longest = max((len(v) for v in data[name]), default=0)
            types[name] = "u1" if longest <= 0xFF else "u2" if longest <= 0xFFFF else "u4"
    return types


def _write_ply(path: Path, cloud: PointCloud, binary: bool) -> None:
    from plyfile import PlyData, PlyElement

    # PLY has no 64-bit integer, half float or boolean types: narrow them (what does not fit
    # is refused by check_format_holds)
    dtype = []
    for name in cloud.fields:
        t = cloud.data.dtype[name]
        if t.kind == "b":
            t = np.dtype(np.uint8)
        elif t.kind == "f" and t.itemsize == 2:  # no half floats in PLY: widened, exact
            t = np.dtype(np.float32)
        elif t.kind in "iu" and t.itemsize == 8:  # values that do not fit: check_format_holds
            t = np.dtype(np.int32 if t.kind == "i" else np.uint32)
        dtype.append((name, t.newbyteorder("<") if t.itemsize > 1 else t))
    data = cloud.data.astype(dtype)
    elements = [PlyElement.describe(data, "vertex", len_types=_list_length_types(data),
                                    val_types=_list_value_types(data))]
    if cloud.faces is not None:
        elements.append(PlyElement.describe(cloud.faces, "face",
                                            len_types=_list_length_types(cloud.faces),
                                            val_types=_list_value_types(cloud.faces)))
    PlyData(elements, text=not binary, byte_order="<",
            comments=[_ascii_comment(c) for c in cloud.comments]).write(str(path))


def _ascii_comment(comment: str) -> str:
    """A comment as a PLY header holds it (ASCII only): other characters, such as a PCD file's
    comment may hold, escaped (``\\xfc``)."""
    text = comment.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return text.encode("ascii", "backslashreplace").decode("ascii")


# ----------------------------------------------------------------------------------- PCD
#: the first line of every PCD header (PCL's and open3d's, and :func:`write_points`'): a
#: format banner, not a comment of the cloud's
_PCD_BANNER = ".PCD v0.7 - Point Cloud Data file format"
_PCD_BANNER_PATTERN = re.compile(r"\.PCD v[\d.]+( - Point Cloud Data file format)?")  # or short
_PCD_TYPES = {("F", 4): "<f4", ("F", 8): "<f8", ("I", 1): "i1", ("I", 2): "<i2", ("I", 4): "<i4",
              ("I", 8): "<i8", ("U", 1): "u1", ("U", 2): "<u2", ("U", 4): "<u4", ("U", 8): "<u8"}


#: the most bytes one byte of LZF data decodes to: a back reference of 3 bytes copies 264
_LZF_MOST_BYTES_PER_BYTE = 88


def _check_pcd_grid(path: Path, header: dict[str, list[str]], n: int) -> None:
    """A PCD header's WIDTH and HEIGHT (where it has them: optional before PCL's v0.7) must
    hold its POINTS, as PCL reads them (a header that disagrees with itself was read)."""
    if "WIDTH" not in header and "HEIGHT" not in header:
        return
    try:
        width, height = (int(header[key][0]) for key in ("WIDTH", "HEIGHT"))
    except (KeyError, ValueError, IndexError):
        raise PointFileError(f"{path}: bad or missing WIDTH or HEIGHT line in the PCD header (one "
                             "whole number each)") from None
    if width * height != n:
        raise PointFileError(f"{path}: the PCD header disagrees with itself: WIDTH {width} x "
                             f"HEIGHT {height} is {width * height} points, POINTS says {n}")


def _pcd_compressed(path: Path, raw: bytes, offset: int, n: int, names: list[str],
                    counts: list[int], dtypes: list[str], dtype: np.dtype) -> np.ndarray:
    """The points of PCL's ``binary_compressed`` data: the compressed and decoded sizes
    (little-endian uint32), then LZF-compressed bytes that decode to the fields one after
    another (each field's values for every point together, a field of COUNT c as c values per
    point; padding fields ``_`` left out), read into ``dtype``'s records."""
    from scenesparse._points_numba import lzf_decompress

    if len(raw) - offset < 8:
        raise PointFileError(f"{path}: truncated: no sizes of the compressed data after the header")
    packed, size = struct.unpack_from("<II", raw, offset)
    body = np.frombuffer(raw, dtype=np.uint8, offset=offset + 8)
    if body.size < packed:
        raise PointFileError(f"{path}: truncated: the compressed data are {packed} bytes, found "
                             f"{body.size}")
    stored = [(name, count, np.dtype(dt)) for name, count, dt in zip(names, counts, dtypes,
                                                                     strict=True) if name != "_"]
    need = n * sum(count * dt.itemsize for _, count, dt in stored)
    if size != need:
        raise PointFileError(f"{path}: the compressed data decode to {size} bytes, but {n} points "
                             f"of the header's fields take {need}")
    if size > _LZF_MOST_BYTES_PER_BYTE * packed:  # (before a header's POINTS is allocated)
        raise PointFileError(f"{path}: the compressed data are damaged ({packed} bytes of LZF "
                             f"data cannot decode to {size})")
    flat = np.empty(size, dtype=np.uint8)
    if n and lzf_decompress(body[:packed], flat) != size:
        raise PointFileError(f"{path}: the compressed data are damaged (not LZF data of "
                             f"{size} bytes)")
    data = np.zeros(n, dtype=dtype)
    at = 0
    for name, count, dt in stored:
        values = flat[at:at + n * count * dt.itemsize].view(dt).reshape(n, count)
        at += n * count * dt.itemsize
        for i in range(count):
            data[name if count == 1 else f"{name}_{i}"] = values[:, i]
    return data


def _read_pcd(path: Path) -> PointCloud:
    raw = path.read_bytes()
    header: dict[str, list[str]] = {}
    comments, offset = [], 0
    for line in raw.split(b"\n"):
        offset += len(line) + 1
        text = line.decode("ascii", errors="replace").strip()
        if text.startswith("#"):  # any bytes, as PCL takes them: written back as they were
            comments.append(line.decode("utf-8", "surrogateescape").strip()[1:].strip())
            continue
        if not text:
            continue
        key, *values = text.split()
        header[key.upper()] = values
        if key.upper() == "DATA":
            break
    for key in ("FIELDS", "SIZE", "TYPE", "POINTS", "DATA"):
        if key not in header:
            raise PointFileError(f"{path}: PCD header has no {key} line")
    names = header["FIELDS"]
    if not (len(names) == len(header["SIZE"]) == len(header["TYPE"])):
        raise PointFileError(f"{path}: FIELDS, SIZE and TYPE lines differ in length")
    missing = [c for c in "xyz" if c not in names]
    if missing:
        raise PointFileError(f"{path}: the PCD FIELDS line has no {' '.join(missing)} (the "
                             f"positions), only {' '.join(names)}")
    try:
        counts = [int(c) for c in header.get("COUNT", ["1"] * len(names))]
    except ValueError:
        raise PointFileError(f"{path}: bad COUNT line in the PCD header") from None
    if len(counts) != len(names) or min(counts) < 1:
        raise PointFileError(f"{path}: bad COUNT line in the PCD header (one count of 1 or more "
                             f"for each of the {len(names)} FIELDS)")
    several = [f"{n} (COUNT {c})" for n, c in zip(names, counts, strict=True)
               if n in ("x", "y", "z") and c != 1]
    if several:
        raise PointFileError(f"{path}: a position has one value per point, not {', '.join(several)}")
    try:
        dtypes = [_PCD_TYPES[(t, int(s))] for t, s in zip(header["TYPE"], header["SIZE"],
                                                          strict=True)]
    except (KeyError, ValueError) as err:
        raise PointFileError(f"{path}: unsupported PCD TYPE/SIZE ({err})") from None
    fields = []
    for name, count, dt in zip(names, counts, dtypes, strict=True):
        if name == "_":  # padding
            name = f"_pad{len(fields)}"
        fields += [(name, dt)] if count == 1 else [(f"{name}_{i}", dt) for i in range(count)]
    read_as = [f for f, _ in fields]
    twice = next((f for i, f in enumerate(read_as) if f in read_as[:i]), None)
    if twice is not None:
        how = " (a field of COUNT n is read as name_0 ... name_{n-1})" * (max(counts) > 1)
        raise PointFileError(f"{path}: the PCD header names the field {twice!r} twice{how}")
    dtype = np.dtype(fields)
    try:
        n = int(header["POINTS"][0])
        mode = header["DATA"][0].lower()
        if n < 0:
            raise ValueError(n)
    except (ValueError, IndexError):
        raise PointFileError(f"{path}: bad POINTS or DATA line in the PCD header") from None
    _check_pcd_grid(path, header, n)
    if mode == "ascii":  # one point per line
        try:
            rows = [cells for cells in (line.split() for line in
                                        raw[offset:].decode("ascii").splitlines()) if cells]
        except UnicodeDecodeError as err:
            raise PointFileError(f"{path}: the ascii data are not text ({err})") from None
        if any(len(cells) != len(fields) for cells in rows) or raw.find(b"_", offset) >= 0:
            # ("1_0": a number numpy's cast reads as 10, which no PCD writer writes)
            raise PointFileError(_pcd_ascii_fault(path, raw, offset, len(fields)))
        if len(rows) != n:
            raise PointFileError(f"{path}: header says {n} points, found {len(rows)} lines "
                                 f"of data")
        cells = np.array(rows, dtype=str).reshape(n, len(fields))
        data = np.empty(n, dtype=dtype)
        for i, (name, _) in enumerate(fields):  # each column read as its type: exact
            try:
                try:
                    if name in _PACKED_COLOURS and dtype[name] == np.dtype("<f4"):
                        data[name] = _packed_colour_cells(cells[:, i])
                    else:
                        data[name] = cells[:, i].astype(dtype[name])
                except ValueError:  # an integer field written as 255.0, say
                    data[name] = cells[:, i].astype(np.float64)
            except ValueError:
                raise PointFileError(_pcd_ascii_fault(path, raw, offset, len(fields))) from None
            except OverflowError:
                raise PointFileError(f"{path}: field {name!r} holds a value outside its type "
                                     f"({dtype[name]})") from None
    elif mode == "binary":
        need = n * dtype.itemsize
        if len(raw) - offset < need:
            raise PointFileError(f"{path}: truncated: {n} points need {need} bytes after the "
                                 f"header, found {len(raw) - offset}")
        if len(raw) - offset > need:
            raise PointFileError(f"{path}: more data than the header declares ({n} points of "
                                 f"{dtype.itemsize} bytes, {len(raw) - offset - need} bytes more)")
        data = np.frombuffer(raw, dtype=dtype, count=n, offset=offset).copy()
    elif mode == "binary_compressed":
        data = _pcd_compressed(path, raw, offset, n, names, counts, dtypes, dtype)
    else:
        raise PointFileError(f"{path}: PCD DATA {mode!r} is not supported (ascii, binary, "
                             "binary_compressed)")
    data = repack_fields(data[[f for f, _ in fields if not f.startswith("_pad")]])
    multi = {name: count for name, count in zip(names, counts, strict=True) if count > 1 and name != "_"}
    layout: dict[str, Any] = {"counts": multi}
    if "VIEWPOINT" in header:
        layout["viewpoint"] = " ".join(header["VIEWPOINT"])
    return PointCloud(np.ascontiguousarray(data), _without_pcd_banner(comments), source="pcd",
                      layout=layout)


#: PCL's packed colours (4 bytes: alpha, red, green, blue), TYPE F or U
_PACKED_COLOURS = ("rgb", "rgba")


def _packed_colour_cells(cells: np.ndarray) -> np.ndarray:
    """The float32 values of the ascii cells of a packed colour field of TYPE F: a cell written
    as an unsigned integer is the colour's 32 bits, as PCL writes them (the text of a float
    cannot keep the bits of one that is NaN: alpha 255 and red 128 or more), any other a float."""
    whole = np.char.isdigit(cells)
    bits = np.zeros(len(cells), dtype=np.uint32)
    if whole.any():
        values = cells[whole].astype(np.uint64)
        if values.max() > np.iinfo(np.uint32).max:
            raise OverflowError("more than 32 bits")
        bits[whole] = values
    bits[~whole] = cells[~whole].astype("<f4").view(np.uint32)
    return bits.view("<f4")


def _pcd_ascii_values(data: np.ndarray) -> np.ndarray:
    """``data`` as the ascii rows of a PCD file hold it: a packed colour field of TYPE F whose
    float text would not read back as its 32 bits (a NaN or infinite value, or a whole number,
    which reads as PCL's integer) written as those bits, an unsigned integer of TYPE U, as PCL
    writes it."""
    names = list(data.dtype.names or ())
    as_bits = []
    for name in _PACKED_COLOURS:
        if name in names and data.dtype[name] == np.dtype("<f4"):
            values = data[name]
            if not np.isfinite(values).all() or np.any((values != 0) & (values == np.trunc(values))):
                as_bits.append(name)
    if not as_bits:
        return data
    rows = np.empty(len(data), dtype=[(n, np.uint32 if n in as_bits else data.dtype[n]) for n in names])
    for name in names:
        rows[name] = data[name].view(np.uint32) if name in as_bits else data[name]
    return rows


def _without_pcd_banner(comments: list[str]) -> list[str]:
    """The comments of a PCD header less the format banner every writer puts first."""
    return [c for c in comments if not _PCD_BANNER_PATTERN.fullmatch(c)]


def _pcd_ascii_fault(path: Path, raw: bytes, offset: int, width: int) -> str:
    """What is wrong with the first bad ascii data line of a PCD file: a cell that is not a
    number (1-based line and column in the file) or a line that is not ``width`` values."""
    first = raw[:offset].count(b"\n") + 1
    for number, line in enumerate(raw[offset:].decode("ascii").splitlines(), start=first):
        cells = line.split()
        for column, cell in enumerate(cells, start=1):
            try:
                text_number(cell)
            except ValueError:
                return f"{path}: line {number}, column {column}: {cell!r} is not a number"
        if cells and len(cells) != width:
            return (f"{path}: line {number} has {len(cells)} values, a point has {width} "
                    f"(the FIELDS and COUNT lines)")
    return f"{path}: the ascii data are not {width} numbers per line"


def _write_pcd(path: Path, cloud: PointCloud, binary: bool, shown: Path) -> None:
    kinds = {"f": "F", "i": "I", "u": "U", "b": "U"}
    narrow = set() if cloud.source == "pcd" else _float32_for_open3d(
        cloud, positions=cloud.source is not None)
    names, dtype = [], []
    for name in cloud.fields:
        t = cloud.data.dtype[name]
        if t.kind not in kinds:
            raise ValueError(f"field {name!r} of dtype {t} cannot be written to PCD")
        t = np.dtype(np.uint8) if t.kind == "b" else t
        t = np.dtype(np.float32) if t.kind == "f" and t.itemsize == 2 else t  # PCD has no F2
        t = np.dtype(np.float32) if name in narrow else t
        names.append(name)
        dtype.append((name, t.newbyteorder("<") if t.itemsize > 1 else t))
    data = cloud.data.astype(dtype)
    wide = [c for c in "xyz" if data.dtype[c] == np.float64]
    if binary and wide and cloud.source != "pcd":
        warnings.warn(f"{shown}: {' '.join(wide)} written as 8-byte floats (F 8) to keep them; "
                      "open3d's binary PCD reader reads such fields as zeros (write ascii, or "
                      ".ply, for open3d)", stacklevel=3)
    # ascii: a packed colour float text would lose written as its bits, TYPE U as PCL's ascii
    # header has it (open3d and PCL read the integer of a TYPE F field as a float)
    rows = data if binary else _pcd_ascii_values(data)
    columns = _pcd_columns(rows.dtype, cloud.layout.get("counts", {}))
    header = [f"# {_PCD_BANNER}", *(f"# {c}" for c in _without_pcd_banner(cloud.comments)),
              "VERSION 0.7", f"FIELDS {' '.join(n for n, _, _ in columns)}",
              f"SIZE {' '.join(str(t.itemsize) for _, t, _ in columns)}",
              f"TYPE {' '.join(kinds[t.kind] for _, t, _ in columns)}",
              f"COUNT {' '.join(str(c) for _, _, c in columns)}", f"WIDTH {len(data)}", "HEIGHT 1",
              f"VIEWPOINT {cloud.layout.get('viewpoint', '0 0 0 1 0 0 0')}", f"POINTS {len(data)}",
              f"DATA {'binary' if binary else 'ascii'}"]
    with open(path, "wb") as fh:
        fh.write(("\n".join(header) + "\n").encode("utf-8", "surrogateescape"))
        if binary:
            fh.write(data.tobytes())
        else:
            _write_ascii_rows(fh, rows, names)


def _pcd_columns(dtype: np.dtype, counts: dict[str, int]) -> list[tuple[str, np.dtype, int]]:
    """The PCD fields (name, type, COUNT) of the fields of ``dtype``: a multi-count field of the
    file read (``counts``) is one field again where its ``name_0`` ... ``name_{n-1}`` still
    follow each other with one type."""
    names = list(dtype.names or ())
    columns, i = [], 0
    while i < len(names):
        base, _, _ = names[i].rpartition("_")
        n = counts.get(base, 1) if names[i] == f"{base}_0" else 1
        parts = names[i:i + n]
        if n > 1 and parts == [f"{base}_{k}" for k in range(n)] and \
                len({dtype[p] for p in parts}) == 1:
            columns.append((base, dtype[names[i]], n))
            i += n
        else:
            columns.append((names[i], dtype[names[i]], 1))
            i += 1
    return columns


def _float32_for_open3d(cloud: PointCloud, *, positions: bool) -> set[str]:
    """The float64 fields that PCD gets as F 4, as open3d writes them (its binary reader reads
    F 8 as zeros): normals, and with ``positions`` (a cloud from another format) positions, all
    finite, that float32 moves by at most a millionth of the cloud's extent."""
    wide = {n for n in cloud.fields if cloud.data.dtype[n].kind == "f" and
            cloud.data.dtype[n].itemsize == 8}
    narrow = wide & set(_PCD_NORMALS)
    xyz = cloud.points
    if positions and {"x", "y", "z"} <= wide and len(xyz) and np.isfinite(xyz).all():  # else F 8
        moved = np.abs(xyz.astype(np.float32).astype(np.float64) - xyz).max()
        if moved <= 1e-6 * float(np.ptp(xyz, axis=0).max()):
            narrow |= {"x", "y", "z"}
    return narrow


# ----------------------------------------------------------------------------------- XYZ
def _read_xyz(path: Path, *, count_line: bool = False) -> PointCloud:
    """Columns ``x y z`` and any more; a first ``# name name ...`` line (as written by
    :func:`write_points`) names them, otherwise extra columns are ``field_3``, ``field_4``...
    A file without data rows is an empty cloud. With ``count_line`` (``.pts``) a leading line of
    one integer is the number of points, as open3d writes it, and must match the rows; unnamed
    ``.pts`` columns follow the PTS layout (:data:`PTS_LAYOUTS`)."""
    lines = _text_lines(path)
    header, lines = _header_names(lines)  # (CloudCompare writes a .pts count after its header)
    if count_line:
        lines = _without_count_line(path, lines)
    lines = _spaced(path, lines)
    if any(_data_cells(line) for line in lines):
        table = _number_table(path, lines)
    else:
        table = np.empty((0, len(header) if header[:3] == ["x", "y", "z"] else 3))
    if table.shape[1] < 3:
        raise PointFileError(f"{path}: need at least 3 columns (x y z), found {table.shape[1]}")
    names, from_layout = header, False
    if len(names) != table.shape[1] or names[:3] != ["x", "y", "z"]:
        names = ["x", "y", "z", *(f"field_{i}" for i in range(3, table.shape[1]))]
        if count_line and table.shape[1] in PTS_LAYOUTS:
            names, from_layout = list(PTS_LAYOUTS[table.shape[1]]), True
    twice = next((n for i, n in enumerate(names) if n in names[:i]), None)
    if twice is not None:
        raise PointFileError(f"{path}: line 1 names the column {twice!r} twice")
    types = {n: np.float64 for n in names}
    if set(_COLOURS) <= set(names):
        # colours: bytes, as PTS has them and write_points writes a PLY's; a named header's
        # only where some value is above 1 (colours of 0 and 1 are a float colour's)
        colours = [c for c in (*_COLOURS, "alpha") if c in names]
        values = table[:, [names.index(c) for c in colours]]
        if _byte_valued(values) and (from_layout or values.max(initial=0) > 1):
            types.update(dict.fromkeys(colours, np.uint8))
    data = np.empty(table.shape[0], dtype=[(n, types[n]) for n in names])
    for i, name in enumerate(names):
        data[name] = table[:, i]
    return PointCloud(data, source="pts" if count_line else "xyz")


def _header_names(lines: list[str]) -> tuple[list[str], list[str]]:
    """The column names of a text cloud's first line, and its lines with that line blanked
    where no comment would skip it. A ``# name name ...`` line is :func:`write_points`' and
    keeps its names as written; another tool's names are read where the first three are
    ``x y z`` in any case, separated by spaces or commas, quoted or not, and after ``#`` or
    ``//`` (PDAL's ``"X","Y","Z",...``, CloudCompare's ``//X,Y,Z,...``): in lower case where
    no two names would then be the same (``x y z`` always), so that PDAL's ``Red Green Blue``
    are read as colours, and CloudCompare's ``R G B`` are named ``red green blue``."""
    first = lines[0] if lines else ""
    if first.startswith("#") and first[1:].split()[:3] == ["x", "y", "z"]:
        return first[1:].split(), lines
    text = first[2:] if first.startswith("//") else first[1:] if first.startswith("#") else first
    names = [cell.strip().strip("\"'") for cell in re.split(r"[,\s]+", text.strip())]
    lower = [n.lower() for n in names]
    if lower[:3] != ["x", "y", "z"] or not all(re.fullmatch(r"[A-Za-z_]\w*", n) for n in names):
        return (first[1:].split() if first.startswith("#") else []), lines
    if len(set(lower)) == len(lower):
        names = lower
        if {"r", "g", "b"} <= set(names) and not set(_COLOURS) & set(names):
            names = [dict(zip("rgb", _COLOURS, strict=True)).get(n, n) for n in names]
    return ["x", "y", "z", *names[3:]], ["", *lines[1:]]


def _spaced(path: Path, lines: list[str]) -> list[str]:
    """``lines`` with comma-separated values (a CSV export: ``1.5,2,3`` or ``1.5, 2, 3``)
    separated by spaces instead, line by line (comments kept); an empty value between commas
    is a :class:`PointFileError` naming its line."""
    spaced = []
    for number, line in enumerate(lines, start=1):
        values, hash_, comment = line.partition("#")
        if "," in values:
            cells = [cell.strip() for cell in values.split(",")]
            if cells[-1] == "":  # a trailing comma, as some exports end each row
                cells.pop()
            if "" in cells:
                raise PointFileError(f"{path}: line {number}, column {cells.index('') + 1} is "
                                     "empty (a comma with no value before it)")
            spaced_cell = next((cell for cell in cells if len(cell.split()) > 1), None)
            if spaced_cell is not None:  # "1,5 2,5 3,5": commas as decimal marks
                raise PointFileError(f"{path}: line {number} separates values by both commas and "
                                     f"spaces ({spaced_cell!r} between two commas): write the "
                                     "numbers with decimal points, one separator between them")
            line = " ".join(cells) + hash_ + comment
        spaced.append(line)
    return spaced


def _text_lines(path: Path) -> list[str]:
    """The lines of a text file; one that is not text is a :class:`PointFileError`."""
    try:
        return path.read_text().split("\n")
    except UnicodeDecodeError as err:
        raise PointFileError(f"{path}: not a text file ({err})") from None


def _data_cells(line: str) -> list[str]:
    """The values on a line of a number table (a ``#`` starts a comment)."""
    return line.split("#", 1)[0].split()


def _without_count_line(path: Path, lines: list[str]) -> list[str]:
    """``lines`` with a leading point-count line (one integer, before any data row) blanked,
    once checked against the number of data rows after it."""
    rows = [(number, cells) for number, line in enumerate(lines, start=1)
            if (cells := _data_cells(line))]
    if not rows or len(rows[0][1]) != 1 or not rows[0][1][0].isdecimal():
        return lines
    number, (count,) = rows[0]
    if int(count) != len(rows) - 1:
        raise PointFileError(f"{path}: line {number} gives the point count {count}, but "
                             f"{len(rows) - 1} rows of data follow it")
    return [*lines[:number - 1], "", *lines[number:]]


def _number_table(path: Path, lines: list[str]) -> np.ndarray:
    """The whitespace-separated numbers of ``lines`` as a 2-D float64 array; a cell that is not
    a number or a row of another width is a :class:`PointFileError` naming its line."""
    try:
        return np.loadtxt(lines, comments="#", ndmin=2)
    except ValueError as err:
        # numpy counts data rows (comments and blank lines skipped): from 0 in the first
        # message, from 1 in the second
        text = str(err)
        cell = re.search(r"could not convert string (.*) to \w+ at row (\d+), column (\d+)", text)
        ragged = re.search(r"number of columns changed from (\d+) to (\d+) at row (\d+)", text)
        if cell is not None:
            line = _data_line(lines, int(cell.group(2)))
            raise PointFileError(f"{path}: line {line}, column {cell.group(3)}: "
                                 f"{cell.group(1)} is not a number") from None
        if ragged is not None:
            line = _data_line(lines, int(ragged.group(3)) - 1)
            raise PointFileError(f"{path}: line {line} has {ragged.group(2)} columns, the lines "
                                 f"before it {ragged.group(1)}") from None
        raise PointFileError(f"{path}: not a whitespace-separated number table ({err})") \
            from None


def _data_line(lines: list[str], row: int) -> int:
    """The 1-based line that holds data row ``row`` (0-based; numpy's count, which skips
    comment and blank lines)."""
    for number, text in enumerate(lines, start=1):
        if _data_cells(text):
            if row == 0:
                return number
            row -= 1
    return len(lines)


def _write_xyz(path: Path, cloud: PointCloud) -> None:
    """Rows of ``x y z`` and then the cloud's other fields, under a ``# name name ...`` line,
    which a cloud of only ``x y z`` goes without (open3d's readers take no header line; the
    columns read back as ``x y z`` without one). Positions come first whatever the fields'
    order: other readers take the first three columns for them."""
    fields = ["x", "y", "z", *(f for f in cloud.fields if f not in ("x", "y", "z"))]
    with open(path, "wb") as fh:
        if len(fields) > 3:
            fh.write(("# " + " ".join(fields) + "\n").encode("ascii"))
        _write_ascii_rows(fh, cloud.data, fields)


_COLOURS = ("red", "green", "blue")
_PLY_NORMALS = ("nx", "ny", "nz")
_PCD_NORMALS = ("normal_x", "normal_y", "normal_z")
#: the column layouts of a ``.pts`` file (Leica's PTS, as open3d and CloudCompare read it), by
#: the number of columns; colours are integers 0..255
PTS_LAYOUTS = {3: ("x", "y", "z"), 4: ("x", "y", "z", "intensity"),
               6: ("x", "y", "z", *_COLOURS), 7: ("x", "y", "z", "intensity", *_COLOURS)}


def _byte_valued(values: np.ndarray) -> bool:
    """Whether every value is an integer 0..255 (a colour a .pts file holds)."""
    return bool(np.all((values >= 0) & (values <= 255) & (values == np.round(values))))


def _pts_layout(cloud: PointCloud) -> tuple[str, ...] | None:
    """The :data:`PTS_LAYOUTS` layout of ``cloud``'s fields, None when they fit none."""
    return next((cols for cols in PTS_LAYOUTS.values() if sorted(cols) == sorted(cloud.fields)),
                None)


def _check_pts(path: Path, cloud: PointCloud) -> None:
    """Refuse (:class:`PointFileError`) a cloud with fields outside the :data:`PTS_LAYOUTS`, or
    colours that are not integers 0..255."""
    layout = _pts_layout(cloud)
    if layout is None:
        # a PCD's packed rgb is written as the red green blue PTS holds: not one to name
        unpacked = {"rgb"} & set(cloud.fields) - set(_named_for(".pts", cloud).fields)
        other = [n for n in cloud.fields if n not in PTS_LAYOUTS[7] and n not in unpacked]
        missing = [c for c in _COLOURS if c not in cloud.fields]
        what = (f"the fields {', '.join(other)}" if other
                else f"colours without {', '.join(missing)}")
        raise PointFileError(f"{path}: a .pts file holds x y z [intensity] [red green blue], not "
                             f"{what}; write .ply, .pcd or .xyz to keep them")
    for colour in _COLOURS if "red" in layout else ():
        if not _byte_valued(cloud.data[colour]):
            raise PointFileError(f"{path}: a .pts file holds colours as integers 0..255, and "
                                 f"{colour} is not; write .ply, .pcd or .xyz to keep it")


def _write_pts(path: Path, cloud: PointCloud) -> None:
    """The point count, then one row per point in its :data:`PTS_LAYOUTS` layout (the cloud
    checked by :func:`check_format_holds` first)."""
    layout = _pts_layout(cloud)
    with open(path, "wb") as fh:
        fh.write(f"{len(cloud)}\n".encode("ascii"))
        _write_ascii_rows(fh, cloud.data, list(layout))


#: open3d's text formats of six columns and no header line: positions, then normals
#: (``.xyzn``) or colours as fractions 0..1 (``.xyzrgb``)
FIXED_LAYOUTS = {".xyzn": ("x", "y", "z", *_PLY_NORMALS), ".xyzrgb": ("x", "y", "z", *_COLOURS)}


def _read_fixed(path: Path, suffix: str) -> PointCloud:
    """A ``.xyzn`` or ``.xyzrgb`` file: rows of its :data:`FIXED_LAYOUTS` columns (``#``
    comments and a first line of names that starts ``x y z``, as CloudCompare writes one,
    skipped; values separated by spaces or commas), colours kept as the fractions open3d
    writes."""
    layout = FIXED_LAYOUTS[suffix]
    lines = _spaced(path, _header_names(_text_lines(path))[1])
    table = (_number_table(path, lines) if any(_data_cells(line) for line in lines)
             else np.empty((0, len(layout))))
    if table.shape[1] != len(layout):
        raise PointFileError(f"{path}: a {suffix} file holds {len(layout)} columns "
                             f"({' '.join(layout)}), found {table.shape[1]}")
    data = np.empty(table.shape[0], dtype=[(n, np.float64) for n in layout])
    for i, name in enumerate(layout):
        data[name] = table[:, i]
    return PointCloud(data, source=suffix[1:])


def _check_fixed(path: Path, suffix: str, cloud: PointCloud) -> None:
    """Refuse (:class:`PointFileError`) a cloud whose fields (as :func:`_named_for` names them
    for ``suffix``) are not those of its :data:`FIXED_LAYOUTS` layout."""
    layout = FIXED_LAYOUTS[suffix]
    named = _named_for(suffix, cloud)
    fields = named.fields
    other = [n for n in fields if n not in layout]
    missing = [n for n in layout if n not in fields]
    if other and cloud.source == "pcd":  # as the cloud names them: normal_x..., a packed rgb(a)
        own = dict(zip(_PLY_NORMALS, _PCD_NORMALS, strict=True))
        packed = next((n for n in ("rgba", "rgb") if n in cloud.fields), None)
        own.update(dict.fromkeys((*_COLOURS, "alpha"), packed) if packed else {})
        other = list(dict.fromkeys(own.get(n, n) for n in other))
    if other or missing:
        what = (f"the fields {', '.join(other)}" if other
                else f"a cloud without {', '.join(missing)}")
        raise PointFileError(f"{path}: a {suffix} file holds {' '.join(layout)}, not {what}; "
                             "write .ply, .pcd or .xyz to keep every field")
    for colour in _COLOURS if suffix == ".xyzrgb" else ():
        values = named.data[colour]
        if values.dtype.kind in "iub" and not _byte_valued(values):
            raise PointFileError(f"{path}: a .xyzrgb file holds colours as fractions 0..1, and "
                                 f"{colour} holds integers outside 0..255; write .ply, .pcd or "
                                 ".xyz to keep them")


def _write_fixed(path: Path, suffix: str, cloud: PointCloud) -> None:
    """Rows of the :data:`FIXED_LAYOUTS` columns, no header (the cloud checked by
    :func:`check_format_holds` first); integer colours (0..255) written as open3d's fractions,
    ``c / 255``."""
    layout = list(FIXED_LAYOUTS[suffix])
    data = np.empty(len(cloud), dtype=[(n, np.float64) for n in layout])
    for name in layout:
        values = cloud.data[name]
        whole = name in _COLOURS and values.dtype.kind in "iub"
        data[name] = values / 255.0 if whole else values
    with open(path, "wb") as fh:
        _write_ascii_rows(fh, data, layout)


def _colours_as_bytes(suffix: str, cloud: PointCloud) -> PointCloud:
    """A ``.xyzrgb`` cloud's colours, fractions 0..1, as the bytes ``floor(255 c + 0.5)`` that
    PLY, PCD and PTS hold (as open3d converts them: halves up, clipped to 0..255, NaN as 0)
    where ``suffix`` is one of those; otherwise ``cloud`` itself."""
    if cloud.source != "xyzrgb" or suffix not in (".ply", ".pcd", ".pts"):
        return cloud
    data = np.empty(len(cloud), dtype=[(n, np.uint8 if n in _COLOURS else cloud.data.dtype[n])
                                       for n in cloud.fields])
    for name in cloud.fields:
        values = cloud.data[name]
        data[name] = (np.clip(np.floor(np.nan_to_num(values) * 255.0 + 0.5), 0, 255)
                      if name in _COLOURS else values)
    return replace(cloud, data=data)


def _write_ascii_rows(fh: Any, data: np.ndarray, names: list[str]) -> None:
    """One line per point, every value at the precision its type round-trips with: integers
    whole, float32 to 9 significant digits, float64 to 17."""
    columns = np.empty((len(data), len(names)), dtype=object)
    fmt = []
    for i, name in enumerate(names):
        t = data.dtype[name]
        fmt.append({2: "%.5g", 4: "%.9g"}.get(t.itemsize, "%.17g") if t.kind == "f" else "%d")
        columns[:, i] = data[name].astype(np.int64 if t.kind == "b" else t).tolist()
    np.savetxt(fh, columns, fmt=fmt)


# ----------------------------------------------------------------------------------- names


def _named_for(suffix: str, cloud: PointCloud) -> PointCloud:
    """``cloud`` with its normals and colours named as ``suffix``'s format names them (PLY
    ``nx ny nz`` and uchar ``red green blue``, PCD ``normal_x normal_y normal_z`` and a packed
    ``rgb``) when it was read from the other of the two (the text formats name them as PLY
    does, a packed colour's text being of no use), or built in memory with PLY's names and
    written to PCD; otherwise ``cloud`` itself."""
    names = list(cloud.fields)
    columns = {n: cloud.data[n] for n in names}
    if suffix == ".pcd" and cloud.source != "pcd":  # (one built in memory with PLY's names too:
        old, new = _PLY_NORMALS, _PCD_NORMALS  # open3d lost its normals and colours silently)
        if set(_COLOURS) <= set(names) and not {"rgb", "rgba"} & set(names) and \
                all(columns[c].dtype == np.uint8 for c in _COLOURS):
            r, g, b = (columns[c].astype(np.uint32) for c in _COLOURS)
            if columns.get("alpha", np.zeros(0)).dtype == np.uint8:  # PCL's PointXYZRGBA
                a = columns["alpha"].astype(np.uint32)
                columns["rgba"] = (a << 24) | (r << 16) | (g << 8) | b
                names = [n for n in names if n not in (*_COLOURS[1:], "alpha")]
                names[names.index("red")] = "rgba"
            else:
                columns["rgb"] = ((r << 16) | (g << 8) | b).view(np.float32)  # PCL's packing
                names = [n for n in names if n not in _COLOURS[1:]]
                names[names.index("red")] = "rgb"
    elif suffix in (".ply", *_XYZ_SUFFIXES, *FIXED_LAYOUTS) and cloud.source == "pcd":  # PLY's
        old, new = _PCD_NORMALS, _PLY_NORMALS
        for packing, unpacked in (("rgb", _COLOURS), ("rgba", (*_COLOURS, "alpha"))):
            rgb = columns.get(packing)
            if rgb is not None and rgb.dtype.itemsize == 4 and rgb.dtype.kind in "fu" and \
                    not set(unpacked) & set(names):  # rgb beside its own alpha field: unpacked
                packed = rgb.astype(rgb.dtype.newbyteorder("<")).view("<u4")
                columns.update({c: ((packed >> shift) & 255).astype(np.uint8)  # a r g b
                                for c, shift in zip(unpacked, (16, 8, 0, 24), strict=False)})
                at = names.index(packing)
                names[at:at + 1] = unpacked
    else:
        return cloud
    if set(old) <= set(names) and not set(new) & set(names):
        for o, n in zip(old, new, strict=True):
            names[names.index(o)] = n
            columns[n] = columns[o]
    if names == list(cloud.fields):
        return cloud
    data = np.empty(len(cloud), dtype=[(n, columns[n].dtype) for n in names])
    for n in names:
        data[n] = columns[n]
    return replace(cloud, data=data)


# ----------------------------------------------------------------------------------- public
_XYZ_SUFFIXES = (".xyz", ".txt", ".pts")
#: the suffixes :func:`read_points` and :func:`write_points` know (the format follows the name)
POINT_SUFFIXES = (".ply", ".pcd", *_XYZ_SUFFIXES, *FIXED_LAYOUTS)


def read_points(path: str | os.PathLike[str]) -> PointCloud:
    """Read ``.ply`` (ASCII or binary), ``.pcd`` (ascii or binary), ``.xyz``/``.txt``/``.pts``
    (``x y z [more columns]``; a ``.pts`` file may start with its point count, as open3d writes
    it) or open3d's ``.xyzn`` (``x y z nx ny nz``) and ``.xyzrgb`` (``x y z r g b``, colours as
    fractions 0..1, read as float64 ``red green blue``), keeping every per-point field."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".ply":
        return _read_ply(path)
    if suffix == ".pcd":
        return _read_pcd(path)
    if suffix in _XYZ_SUFFIXES:
        return _read_xyz(path, count_line=suffix == ".pts")
    if suffix in FIXED_LAYOUTS:
        return _read_fixed(path, suffix)
    raise _unknown_format(path)


def _unknown_format(path: Path) -> PointFileError:
    """The error for a file whose suffix names no point format (no suffix: ``''``)."""
    return PointFileError(f"{path}: unknown point format {path.suffix.lower()!r} "
                          f"({', '.join(POINT_SUFFIXES)})")


def check_format_holds(path: str | os.PathLike[str], cloud: PointCloud) -> None:
    """Refuse (:class:`PointFileError` naming ``path``) a ``path`` whose suffix names no point
    format, and a cloud that the format of ``path`` cannot hold: a field of other than numbers
    (text, complex numbers, dates), a mesh's faces or a list property outside PLY, 64-bit
    integers beyond 32 bits in PLY, fields outside a ``.pts``, ``.xyzn`` or ``.xyzrgb`` layout.
    Writes nothing.

    Examples
    --------
    >>> cloud = PointCloud.from_xyz(np.zeros((2, 3)), normal=np.zeros((2, 3)))
    >>> check_format_holds("out.ply", cloud)  # PLY holds any field
    >>> check_format_holds("out.pts", cloud)
    Traceback (most recent call last):
    ...
    scenesparse.pointio.PointFileError: out.pts: a .pts file holds x y z [intensity] [red green \
blue], not the fields normal_0, normal_1, normal_2; write .ply, .pcd or .xyz to keep them
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in POINT_SUFFIXES:
        raise _unknown_format(path)
    if cloud.faces is not None and suffix != ".ply":
        raise PointFileError(f"{path}: a {suffix} file cannot hold the mesh's "
                             f"{len(cloud.faces)} faces; write .ply")
    for name in cloud.fields:
        t = cloud.data.dtype[name]
        wrong = _not_numbers(cloud.data[name])
        if wrong is not None:  # plyfile, the PCD writer and numpy's savetxt failed on them
            raise PointFileError(f"{path}: field {name!r} holds {wrong}, which no point file "
                                 "holds: integers, booleans (written as 0 and 1) or floats of "
                                 "at most 64 bits (astype(np.float64) converts numbers)")
        if t.kind == "O" and suffix != ".ply":
            raise PointFileError(f"{path}: a {suffix} file cannot hold the list property "
                                 f"{name!r}; write .ply")
        if suffix == ".ply":  # a list property's arrays are checked as a scalar property is
            for values in (cloud.data[name] if t.kind == "O" else [cloud.data[name]]):
                _check_32_bits(path, name, np.asarray(values), listed=t.kind == "O")
    if suffix == ".pts":  # a PCD's packed colour is written as the red green blue PTS holds
        named = _named_for(suffix, _colours_as_bytes(suffix, cloud))
        _check_pts(path, named if _pts_layout(named) is not None else cloud)
    if suffix in FIXED_LAYOUTS:
        _check_fixed(path, suffix, cloud)


def _not_numbers(column: np.ndarray) -> str | None:
    """What a field holds that no point format does (text, complex numbers, dates, floats wider
    than 64 bits; in a list property, anything but arrays of numbers), or None."""
    def kind(t: np.dtype) -> str | None:
        if t.kind in "biu" or (t.kind == "f" and t.itemsize <= 8):  # float16 is widened
            return None
        return f"{t} values"

    if column.dtype.kind != "O":
        return kind(column.dtype)
    for value in column:  # a list property: each point's array of numbers
        if not isinstance(value, np.ndarray) or value.ndim != 1:
            return f"{type(value).__name__} values (a list property holds 1-D arrays of numbers)"
        if kind(value.dtype) is not None:
            return f"lists of {kind(value.dtype)}"
    return None


def _check_32_bits(path: Path, name: str, values: np.ndarray, *, listed: bool) -> None:
    """Refuse 64-bit integer ``values`` of the property ``name`` (a list property's where
    ``listed``) beyond the 32-bit type a PLY file stores them as."""
    t = values.dtype
    if t.kind in "iu" and t.itemsize == 8 and values.size:
        info = np.iinfo(np.int32 if t.kind == "i" else np.uint32)
        if values.min() < info.min or values.max() > info.max:
            why = ("PLY has no 64-bit integers, and only PLY holds lists)" if listed else
                   "PLY has no 64-bit integers); write .pcd")
            raise PointFileError(f"{path}: {'list ' if listed else ''}property {name!r} holds "
                                 f"{t} values beyond {info.dtype} ({why}")


def write_points(path: str | os.PathLike[str], cloud: PointCloud, *, binary: bool = True,
                 name: str | os.PathLike[str] | None = None) -> None:
    """Write a cloud with all its fields (format from the suffix, as for :func:`read_points`).
    A ``.pts`` file is written as open3d and CloudCompare read it, and holds only
    :data:`PTS_LAYOUTS`' fields, and ``.xyzn`` and ``.xyzrgb`` only :data:`FIXED_LAYOUTS`': a
    cloud with others is refused (:func:`check_format_holds`).
    Errors and warnings name the file as ``name`` (default ``path``: a staged file's final
    name, as :func:`~scenesparse.gaussians.write_ply` takes it)."""
    path = Path(path)
    shown = path if name is None else Path(name)
    suffix = path.suffix.lower()
    if not isinstance(cloud, PointCloud):  # an AttributeError on 'faces' said nothing
        raise InvalidParameterError(
            f"write_points takes a scenesparse PointCloud, got {type(cloud).__name__}: make one "
            "with PointCloud.from_xyz(positions, **fields), or write an open3d cloud with "
            "open3d.io.write_point_cloud and a GaussianScene with scenesparse.write_ply")
    check_format_holds(shown, cloud)
    cloud = _named_for(suffix, _colours_as_bytes(suffix, cloud))
    if suffix == ".ply":
        _write_ply(path, cloud, binary)
    elif suffix == ".pcd":
        _write_pcd(path, cloud, binary, shown)
    elif suffix == ".pts":
        _write_pts(path, cloud)
    elif suffix in FIXED_LAYOUTS:
        _write_fixed(path, suffix, cloud)
    elif suffix in _XYZ_SUFFIXES:
        _write_xyz(path, cloud)
    else:
        raise _unknown_format(path)
