"""Pinhole cameras (OpenCV convention: x right, y down, z forward): orbits, NeRF
``transforms.json`` files, the ``cameras.json`` the INRIA 3DGS code writes, and COLMAP text
models. Readers name the file and the entry that is wrong."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from sparsebox._validation import check_int, check_real, scalar_item, text_number
from sparsebox.exceptions import InvalidParameterError

__all__ = ["Camera", "orbit_cameras", "read_transforms", "cameras_from_transforms",
           "transforms_json", "cameras_from_json", "cameras_from_colmap", "look_at"]


#: lens distortion fields of instant-ngp / nerfstudio transforms (refused: pinhole renderers)
_DISTORTION = ("k1", "k2", "k3", "k4", "p1", "p2")
#: COLMAP's camera models read as pinholes (those after cx and cy, lens distortion, must be 0)
_COLMAP_MODELS = {"PINHOLE": ("fx", "fy", "cx", "cy"), "SIMPLE_PINHOLE": ("f", "cx", "cy"),
                  "OPENCV": ("fx", "fy", "cx", "cy", "k1", "k2", "p1", "p2"),
                  "RADIAL": ("f", "cx", "cy", "k1", "k2"), "SIMPLE_RADIAL": ("f", "cx", "cy", "k")}
#: nerfstudio's ``camera_model`` values that are pinhole cameras, COLMAP's names (with
#: distortion, refused where not zero); OPENCV_FISHEYE is an equidistant fisheye even without
#: distortion, and EQUIRECTANGULAR and the rest are no pinhole either
_PINHOLE_MODELS = tuple(_COLMAP_MODELS)
_UNDISTORT = ("undistort the images first (colmap image_undistorter, as 3DGS's convert.py does, "
              "writes a PINHOLE model)")
#: the fields that give a frame's horizontal focal length, preferred first
_FOCAL_FIELDS = ("fl_x", "camera_angle_x")
#: the ``applied_transform`` nerfstudio assumes for a transforms.json that has none beside a
#: COLMAP model in ``colmap/sparse/0`` (what ns-process-data applied before it wrote the field)
_LEGACY_APPLIED = ((0.0, 1.0, 0.0, 0.0), (1.0, 0.0, 0.0, 0.0), (0.0, 0.0, -1.0, 0.0))
#: how far from orthonormal a rotation read from a file may be: written to two decimals, one is
#: off by about 0.017 (the nearest rotation, by SVD, stands for it)
_ORTHONORMAL_ATOL = 0.02


@dataclass(frozen=True)
class Camera:
    """World-to-camera transform and intrinsics of one view."""

    world_to_cam: torch.Tensor  # (4, 4) float32
    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int
    near: float = 0.01

    def __eq__(self, other: object) -> bool:
        """Equal pose (element by element) and intrinsics; comparing the pose tensors with
        ``==`` (the dataclass's own equality) raised "Boolean value of Tensor ... ambiguous"."""
        if not isinstance(other, Camera):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def _key(self) -> tuple:
        pose = tuple(self.world_to_cam.detach().cpu().reshape(-1).tolist())
        return (pose, self.fx, self.fy, self.cx, self.cy, self.width, self.height, self.near)

    @property
    def center(self) -> torch.Tensor:
        """The camera centre in world coordinates."""
        r, t = self.world_to_cam[:3, :3], self.world_to_cam[:3, 3]
        return -r.T @ t

    def resized(self, width: int, height: int) -> Camera:
        sx, sy = width / self.width, height / self.height
        return Camera(self.world_to_cam, self.fx * sx, self.fy * sy, self.cx * sx, self.cy * sy,
                      width, height, self.near)


def look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray) -> np.ndarray:
    """The 4x4 world-to-camera matrix of a camera at ``eye`` looking at ``target``."""
    forward = target - eye
    forward = forward / np.linalg.norm(forward)
    right = np.cross(forward, up)
    if np.linalg.norm(right) < 1e-9:  # looking along `up`: pick any perpendicular
        right = np.cross(forward, np.array([1.0, 0.0, 0.0]))
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    rot = np.stack([right, down, forward])
    out = np.eye(4)
    out[:3, :3] = rot
    out[:3, 3] = -rot @ eye
    return out


def orbit_cameras(center, distance: float, num_views: int, *, width: int = 256,
                  height: int = 256, fov_deg: float = 50.0, elevations_deg=(15.0, 35.0, 55.0),
                  up=(0.0, 0.0, 1.0), phase: float = 0.0) -> list[Camera]:
    """``num_views`` cameras on rings around ``center``, cycling through ``elevations_deg``;
    azimuths are evenly spaced and shifted by ``phase`` (in steps; 0.5 puts views half-way
    between those of ``phase=0``, for held-out views).

    Examples
    --------
    >>> cams = orbit_cameras((0, 0, 0), 3.0, 4, width=64, height=48)
    >>> len(cams), cams[0].width, cams[0].height
    (4, 64, 48)
    >>> orbit_cameras((0, 0, 0), 3.0, 4, up=(0, 0, 0))
    Traceback (most recent call last):
    ...
    sparsebox.exceptions.InvalidParameterError: up must be a nonzero finite 3-vector, got [0. 0. 0.]
    """
    # (unchecked: fov_deg 0 or no elevation divided by zero, a distance of 0, a zero up or a NaN
    # centre made NaN poses that failed only when rendered; num_views=True made one view)
    num_views = check_int("num_views", scalar_item(num_views), minimum=1)  # (a 0-d array too)
    width = check_int("width", scalar_item(width), minimum=1)
    height = check_int("height", scalar_item(height), minimum=1)
    distance = check_real("distance", distance, above=0)
    fov_deg = check_real("fov_deg", fov_deg, above=0, below=180)
    phase = check_real("phase", phase)
    center, up = _vector3("center", center), _vector3("up", up, nonzero=True)
    if isinstance(elevations_deg, str) or np.ndim(elevations_deg) != 1 or not len(elevations_deg):
        raise InvalidParameterError(f"elevations_deg must be a non-empty list of angles in "
                                    f"degrees, got {elevations_deg!r}")
    elevations_deg = [check_real(f"elevations_deg[{i}]", e) for i, e in enumerate(elevations_deg)]
    up = up / np.linalg.norm(up)
    a = np.cross(up, [1.0, 0.0, 0.0])
    if np.linalg.norm(a) < 1e-6:
        a = np.cross(up, [0.0, 1.0, 0.0])
    a /= np.linalg.norm(a)
    b = np.cross(up, a)
    focal = 0.5 * width / math.tan(math.radians(fov_deg) / 2)
    cams = []
    for i in range(num_views):
        az = 2 * math.pi * (i + phase) / num_views
        el = math.radians(elevations_deg[i % len(elevations_deg)])
        direction = math.cos(el) * (math.cos(az) * a + math.sin(az) * b) + math.sin(el) * up
        w2c = look_at(center + distance * direction, center, up)
        cams.append(Camera(torch.tensor(w2c, dtype=torch.float32), focal, focal, width / 2,
                           height / 2, width, height))
    return cams


def _vector3(name: str, value, *, nonzero: bool = False) -> np.ndarray:
    """``value`` as a finite float64 3-vector (and, with ``nonzero``, not the zero vector),
    else an error naming ``name``."""
    try:
        vector = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        vector = None
    shaped = vector is not None and vector.shape == (3,)
    if not (shaped and np.isfinite(vector).all() and (not nonzero or np.linalg.norm(vector) > 0)):
        raise InvalidParameterError(f"{name} must be a {'nonzero ' if nonzero else ''}finite "
                                    f"3-vector, got {vector if shaped else repr(value)}")
    return vector


def read_transforms(path: str | os.PathLike[str]) -> dict:
    """The content of a NeRF-synthetic ``transforms*.json``, checked: a JSON object with a
    non-empty list of ``frames`` and ``camera_angle_x`` (or instant-ngp's ``fl_x``), for the file
    or in every frame; a ``ValueError`` names the file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "transforms_train.json"
    >>> _ = path.write_text('{"camera_angle_x": 0.7, "frames": []}')
    >>> try:
    ...     read_transforms(path)
    ... except ValueError as err:
    ...     print(str(err).split(": ", 1)[1])
    no frames (its 'frames' list is empty)
    """
    path = Path(path)
    try:
        meta = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(meta, dict) or "frames" not in meta:
        raise ValueError(f"{path}: needs 'frames' and 'camera_angle_x' (or 'fl_x')")
    frames = meta["frames"]
    if not isinstance(frames, list):
        raise ValueError(f"{path}: 'frames' is not a list")
    if not frames:
        raise ValueError(f"{path}: no frames (its 'frames' list is empty)")
    bad = next((i for i, f in enumerate(frames) if not isinstance(f, dict)), None)
    if bad is not None:
        raise ValueError(f"{path}: frame {bad} is not a JSON object")
    unfocused = next((i for i, f in enumerate(frames)
                      if not any(k in f or k in meta for k in _FOCAL_FIELDS)), None)
    if unfocused is not None:
        raise ValueError(f"{path}: needs 'camera_angle_x' (or 'fl_x'), for the file or for each "
                         f"frame (frame {unfocused} has neither)")
    return meta


def cameras_from_transforms(path: str | os.PathLike[str], *, width: int | None = None,
                            height: int | None = None,
                            dataparser_transforms: str | os.PathLike[str] | None = None
                            ) -> list[Camera]:
    """Cameras of a NeRF-synthetic ``transforms_*.json`` (frames with a camera-to-world
    ``transform_matrix`` in the OpenGL convention), resized to ``width`` x ``height`` where
    given (one of them alone: the other in proportion). A ``transform_matrix`` that is not a
    rotation and a translation (a scaled, sheared or mirrored pose, which would render wrong) is
    an error naming the file and the frame.

    The poses are in the file's own frame. A model nerfstudio trained on the file (a splat from
    ``ns-export gaussian-splat``) lives in another: its dataparser undoes the file's
    ``applied_transform``, then turns, centres and scales the poses, and writes the whole
    of it to ``dataparser_transforms.json`` in the run's output folder. Given that file as
    ``dataparser_transforms``, the cameras are put in the model's frame
    (:func:`nerfstudio_model_frame`).

    Intrinsics, each given at the top level or per frame (per frame wins, as instant-ngp and
    nerfstudio write them): the image size ``w`` and ``h`` (default ``width`` and ``height``
    where both are given, else 800); the focal lengths ``fl_x`` and ``fl_y`` in pixels, or the
    fields of view ``camera_angle_x`` and ``camera_angle_y`` (``fy = fx`` where neither is
    given); the principal point ``cx`` and ``cy`` (default the image centre). Lens distortion
    (``k1``, ``k2``, ``k3``, ``k4``, ``p1``, ``p2`` not zero) is refused: the renderers are
    pinhole cameras, so undistort the photos first. So is a camera that is no pinhole: a nerfstudio
    ``camera_model`` other than ``PINHOLE``, ``SIMPLE_PINHOLE``, ``OPENCV``, ``RADIAL`` and
    ``SIMPLE_RADIAL`` (``OPENCV_FISHEYE`` is an equidistant fisheye even with its k1..k4 zero),
    or instant-ngp's ``is_fisheye`` true."""
    path = Path(path)
    meta = read_transforms(path)
    frame = (None if dataparser_transforms is None
             else nerfstudio_model_frame(path, meta, dataparser_transforms))
    return transforms_cameras(path, meta, width=width, height=height, model_frame=frame)


def transforms_cameras(path: Path, meta: dict, *, width: int | None = None,
                       height: int | None = None,
                       model_frame: tuple[np.ndarray, float] | None = None) -> list[Camera]:
    """:func:`cameras_from_transforms` for a file already read by :func:`read_transforms`
    (``path`` names it in errors); ``model_frame``, a ``(rotation and shift (3 x 4), scale)``
    as :func:`nerfstudio_model_frame` gives it, moves the poses into a model's frame."""
    width, height = _checked_size(width, height)
    flip = np.diag([1.0, -1.0, -1.0, 1.0])  # OpenGL (y up, z back) -> OpenCV
    cams = []
    for i, frame in enumerate(meta["frames"]):
        w, h, fx, fy, cx, cy = _intrinsics(path, i, _frame_fields(meta, frame), width, height)
        try:
            c2w = np.asarray(frame.get("transform_matrix"), dtype=np.float64)
        except (TypeError, ValueError):
            c2w = np.zeros(0)
        if c2w.shape != (4, 4) or not np.all(np.isfinite(c2w)):
            raise ValueError(f"{path}: frame {i} has no 4x4 transform_matrix of numbers")
        # a scaled or sheared rotation, or a last row other than 0 0 0 1, rendered silently wrong
        if not (_is_rotation(c2w[:3, :3]) and np.allclose(c2w[3], [0.0, 0.0, 0.0, 1.0], atol=1e-4)):
            raise ValueError(f"{path}: frame {i}'s transform_matrix is not a rotation and a "
                             "translation (camera-to-world: its 3 x 3 part orthonormal with "
                             "determinant 1, its last row 0 0 0 1); a scaled, sheared or mirrored "
                             "pose would render wrong")
        if not np.allclose(c2w[:3, :3] @ c2w[:3, :3].T, np.eye(3), atol=1e-5):
            c2w = _rigid(c2w[:3, :3], c2w[:3, 3])  # written with few digits: the nearest rotation
        # (a pose that is one as read stays bit for bit: a HollowNeRF checkpoint knows its views
        # by their bytes)
        if model_frame is not None:  # turned and shifted, then the positions scaled
            shift, scale = model_frame
            c2w = _rigid(shift[:, :3] @ c2w[:3, :3], scale * (shift @ c2w[:, 3]))
        w2c = np.linalg.inv(c2w @ flip)
        cam = Camera(torch.tensor(w2c, dtype=torch.float32), fx, fy, cx, cy, w, h)
        cams.append(cam.resized(*_output_size(w, h, width, height)))
    return cams


def _is_rotation(rot: np.ndarray) -> bool:
    """Whether a 3 x 3 matrix read from a file is a rotation: orthonormal (within
    ``_ORTHONORMAL_ATOL``) with determinant 1 (not a mirror)."""
    return bool(np.allclose(rot @ rot.T, np.eye(3), atol=_ORTHONORMAL_ATOL)
                and np.linalg.det(rot) > 0)


def _rigid(rot: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """The 4 x 4 matrix of the rotation nearest ``rot`` (by SVD) and the translation ``shift``."""
    u, _, vt = np.linalg.svd(rot)
    out = np.eye(4)
    out[:3, :3], out[:3, 3] = u @ vt, shift
    return out


def _affine(value: object) -> np.ndarray | None:
    """A 3 x 4 rotation-and-shift read from a file (3 x 4, or 4 x 4 with the last row 0 0 0 1),
    None where it is not one of finite numbers."""
    try:
        m = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if m.shape == (4, 4) and np.allclose(m[3], [0.0, 0.0, 0.0, 1.0], atol=1e-4):
        m = m[:3]
    return m if m.shape == (3, 4) and np.all(np.isfinite(m)) else None


def nerfstudio_model_frame(path: str | os.PathLike[str], meta: dict,
                           dataparser_transforms: str | os.PathLike[str]
                           ) -> tuple[np.ndarray, float]:
    """``(rotation and shift (3 x 4), scale)`` that take the poses of the transforms file
    ``path`` (content ``meta``) into the frame of the model nerfstudio trained on it, from the
    run's ``dataparser_transforms.json``: position ``p`` goes to ``scale * (shift @ [p, 1])``.

    nerfstudio's dataparser turns, centres (``transform``, 3 x 4) and scales the file's poses;
    the ``transform`` it writes goes from the frame before the file's ``applied_transform`` (the
    axes ns-process-data turned, taken as nerfstudio takes it: the field, else its old value
    where ``colmap/sparse/0`` is beside the file, else none), so that one is undone first, and
    the ``scale`` it writes includes the file's ``applied_scale``, which its poses never got.
    Errors name the file that is wrong.

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "dataparser_transforms.json").write_text(json.dumps(
    ...     {"transform": [[1, 0, 0, -1], [0, 1, 0, 0], [0, 0, 1, 0]], "scale": 0.5}))
    >>> shift, scale = nerfstudio_model_frame(d / "transforms.json", {"frames": []},
    ...                                       d / "dataparser_transforms.json")
    >>> (scale * (shift @ [3.0, 2.0, 0.0, 1.0])).tolist()
    [1.0, 1.0, 0.0]
    """
    path, dp_path = Path(path), Path(dataparser_transforms)
    try:
        dp = json.loads(dp_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise _camera_error(dp_path, f"not a nerfstudio dataparser_transforms.json ({err})") from None
    transform = _affine(dp.get("transform")) if isinstance(dp, dict) else None
    scale = dp.get("scale") if isinstance(dp, dict) else None
    if (transform is None or isinstance(scale, bool) or not isinstance(scale, (int, float))
            or not (math.isfinite(scale) and scale > 0)):
        raise _camera_error(dp_path, "not a nerfstudio dataparser_transforms.json (a 'transform' "
                                     "of 3 x 4 numbers and a positive 'scale')")
    if "applied_transform" in meta:
        applied = _affine(meta["applied_transform"])
        if applied is None or not _is_rotation(applied[:, :3]):
            raise _camera_error(path, "its applied_transform is not a rotation and a shift (3 x 4 "
                                      "numbers, the 3 x 3 part orthonormal with determinant 1)")
    elif (path.parent / "colmap" / "sparse" / "0").is_dir():
        applied = np.array(_LEGACY_APPLIED)
    else:
        applied = np.eye(4)[:3]
    applied_scale = meta.get("applied_scale", 1.0)
    if (isinstance(applied_scale, bool) or not isinstance(applied_scale, (int, float))
            or not (math.isfinite(applied_scale) and applied_scale > 0)):
        raise _camera_error(path, f"its applied_scale must be a positive number, got "
                                  f"{applied_scale!r}")
    if not _is_rotation(transform[:, :3]):
        raise _camera_error(dp_path, "its transform is not a rotation and a shift (the 3 x 3 part "
                                     "orthonormal with determinant 1)")
    model = (np.vstack([transform, [0.0, 0.0, 0.0, 1.0]])
             @ np.linalg.inv(np.vstack([applied, [0.0, 0.0, 0.0, 1.0]])))
    return _rigid(model[:3, :3], model[:3, 3])[:3], float(scale) / float(applied_scale)


def _frame_fields(meta: dict, frame: dict) -> dict:
    """The file's fields with the frame's over them, where a focal length the frame gives in
    either form (pixels or field of view) replaces the file's in both forms."""
    fields = dict(meta)
    for axis in ("x", "y"):
        if f"fl_{axis}" in frame or f"camera_angle_{axis}" in frame:
            fields.pop(f"fl_{axis}", None)
            fields.pop(f"camera_angle_{axis}", None)
    return {**fields, **frame}


def _intrinsics(path: Path, index: int, fields: dict, width: int | None, height: int | None
                ) -> tuple[int, int, float, float, float, float]:
    """``(w, h, fx, fy, cx, cy)`` of frame ``index`` from its fields and the file's."""
    model = fields.get("camera_model", "PINHOLE")
    if model not in _PINHOLE_MODELS:  # a fisheye read as a pinhole casts rays off its pixels
        raise ValueError(f"{path}: frame {index}'s camera_model {model!r} is not a pinhole camera "
                         f"(one of {', '.join(_PINHOLE_MODELS)}): undistort the photos to a "
                         "pinhole camera first (the renderers are pinhole cameras)")
    if fields.get("is_fisheye") not in (None, False):  # instant-ngp's flag for OPENCV_FISHEYE
        raise ValueError(f"{path}: frame {index} is a fisheye camera (is_fisheye "
                         f"{fields['is_fisheye']!r}), not a pinhole camera: undistort the photos "
                         "to a pinhole camera first (the renderers are pinhole cameras)")
    # float() read true as a focal length of 1 pixel and "50" as 50: JSON numbers only
    wrong = next((k for k in ("fl_x", "fl_y", "cx", "cy", "camera_angle_x", "camera_angle_y",
                              *_DISTORTION)  # (w and h: whole numbers, _pixels checks)
                  if k in fields and not _all_numbers(fields[k])), None)
    if wrong:
        raise ValueError(f"{path}: frame {index}'s {wrong} must be a JSON number, got "
                         f"{fields[wrong]!r}")
    try:
        both = width is not None and height is not None  # the photos' size: else 800 x 800
        w = _pixels("w", fields.get("w", width if both else 800))
        h = _pixels("h", fields.get("h", height if both else 800))
        fx = (float(fields["fl_x"]) if "fl_x" in fields
              else 0.5 * w / _tan_half(fields["camera_angle_x"]))
        fy = (float(fields["fl_y"]) if "fl_y" in fields
              else 0.5 * h / _tan_half(fields["camera_angle_y"])
              if "camera_angle_y" in fields else fx)
        cx, cy = float(fields.get("cx", w / 2)), float(fields.get("cy", h / 2))
        distorted = [k for k in _DISTORTION if float(fields.get(k, 0.0)) != 0.0]
    except (TypeError, ValueError, OverflowError) as err:
        raise ValueError(f"{path}: frame {index}'s intrinsics (w, h, fl_x, fl_y, cx, cy, "
                         f"camera_angle_x/y) must be numbers ({err})") from None
    if not (w > 0 and h > 0 and all(math.isfinite(v) for v in (fx, fy, cx, cy))
            and fx > 0 and fy > 0):
        raise ValueError(f"{path}: frame {index}'s intrinsics are out of range (w {w}, h {h}, "
                         f"fx {fx:g}, fy {fy:g}, cx {cx:g}, cy {cy:g})")
    if distorted:
        raise ValueError(f"{path}: lens distortion ({', '.join(distorted)}) is not supported: "
                         "undistort the photos first (the renderers are pinhole cameras)")
    return w, h, fx, fy, cx, cy


def _output_size(w: int, h: int, width: int | None, height: int | None) -> tuple[int, int]:
    """The size a camera of ``w`` x ``h`` pixels is resized to: ``width`` x ``height``, where one
    of them alone is given the other in proportion (a width alone kept the height: a 32 x 800
    camera for lego, fx and fy scaled apart).

    >>> _output_size(1920, 1080, 480, None), _output_size(800, 800, None, 100)
    ((480, 270), (100, 100))
    """
    if width is None and height is None:
        return w, h
    if height is None:
        return width, max(1, round(h * width / w))
    if width is None:
        return max(1, round(w * height / h)), height
    return width, height


def _checked_size(width: int | None, height: int | None) -> tuple[int | None, int | None]:
    """A camera loader's ``width`` and ``height``, each None or a whole number of at least 1
    (checked before the file is read: a 0 reached the file's intrinsics and was blamed on it)."""
    return tuple(None if v is None else check_int(name, v, minimum=1)
                 for name, v in (("width", width), ("height", height)))


def _pixels(name: str, value: object) -> int:
    """A size in pixels: a whole number (64, or 64.0), else a ``ValueError`` naming it (int()
    cut 64.9 to 64, read true as 1 and raised OverflowError for an infinity)."""
    if not _whole(value):
        raise ValueError(f"{name} must be a whole number of pixels, got {value!r}")
    return int(float(value))


def _whole(value: object) -> bool:
    """Whether a number read from a file is a whole one (64 or 64.0; not 64.9, an infinity,
    ``true`` or ``"64"``). Raises as ``float(value)`` does for what is no number."""
    return not isinstance(value, (bool, str)) and float(value).is_integer()


def _all_numbers(value: object) -> bool:
    """Whether a field of a JSON file is a number, or nested lists of numbers (not ``true``,
    not ``"50"``).

    >>> _all_numbers([[1, 0.5], [2, 3]]), _all_numbers(True), _all_numbers(["1", 2])
    (True, False, False)
    """
    if isinstance(value, list):
        return all(_all_numbers(x) for x in value)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _tan_half(angle) -> float:
    """``tan(angle / 2)`` of a field of view, infinite for an angle of 0 (so that the focal
    length is 0, which the range check refuses, not a division by zero)."""
    value = math.tan(0.5 * float(angle))
    return value if value != 0.0 else math.inf


def transforms_json(cameras: list[Camera], file_paths: list[str]) -> dict:
    """The NeRF-synthetic ``transforms.json`` content of ``cameras`` (one shared horizontal field
    of view, camera-to-world matrices in the OpenGL convention), the inverse of
    :func:`cameras_from_transforms`.

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> cams = orbit_cameras((0, 0, 0), 2.0, 2, width=32, height=24)
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "transforms.json"
    >>> _ = f.write_text(json.dumps(transforms_json(cams, ["a", "b"])))
    >>> back = cameras_from_transforms(f)
    >>> bool(torch.allclose(back[1].world_to_cam, cams[1].world_to_cam, atol=1e-5))
    True
    """
    if len(cameras) != len(file_paths) or not cameras:
        raise ValueError("give one file path per camera")
    first = cameras[0]
    if any(c.fx != c.fy or c.fx != first.fx or (c.width, c.height) != (first.width, first.height)
           or c.cx != c.width / 2 or c.cy != c.height / 2 for c in cameras):
        raise ValueError("transforms.json holds one centred pinhole with square pixels; these "
                         "cameras differ")
    flip = np.diag([1.0, -1.0, -1.0, 1.0])
    frames = [{"file_path": name,
               "transform_matrix": (np.linalg.inv(c.world_to_cam.double().numpy()) @ flip).tolist()}
              for c, name in zip(cameras, file_paths, strict=True)]
    return {"camera_angle_x": 2.0 * math.atan(0.5 * first.width / first.fx), "w": first.width,
            "h": first.height, "frames": frames}


def _camera_error(path: Path, what: str) -> ValueError:
    from sparsebox.exceptions import InputFileError

    return InputFileError(f"{path}: {what}")


def cameras_from_json(path: str | os.PathLike[str], *, width: int | None = None,
                      height: int | None = None) -> tuple[list[Camera], list[str]]:
    """Cameras of the ``cameras.json`` written by the INRIA 3DGS code: per view ``width``,
    ``height``, ``position`` (the camera centre), ``rotation`` (3 x 3, camera-to-world, OpenCV
    axes), ``fx``, ``fy`` and ``img_name``. Returns ``(cameras, image names)``; ``width`` /
    ``height`` rescale every view (one alone: the other in proportion). A number that is not
    finite, or a ``rotation`` that is not a rotation matrix, is an error naming the file and the
    view.

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "cameras.json"
    >>> _ = f.write_text(json.dumps([{"id": 0, "img_name": "a", "width": 40, "height": 30,
    ...     "position": [0, 0, -2], "rotation": [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
    ...     "fx": 50.0, "fy": 50.0}]))
    >>> cams, names = cameras_from_json(f)
    >>> cams[0].center.tolist(), names
    ([0.0, 0.0, -2.0], ['a'])
    """
    width, height = _checked_size(width, height)
    path = Path(path)
    try:
        views = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise _camera_error(path, f"not a cameras.json ({err})") from None
    if isinstance(views, dict) and "frames" in views:
        raise _camera_error(path, "a NeRF transforms file, not the INRIA cameras.json (a list of "
                                  "views): drop --cameras and give the folder holding it as "
                                  "--images")
    if not isinstance(views, list) or not views:
        raise _camera_error(path, "expected a non-empty list of views")
    cams, names = [], []
    for i, v in enumerate(views):
        if not isinstance(v, dict):
            raise _camera_error(path, f"view {i} is not a JSON object (of width, height, "
                                      "position, rotation, fx, fy and img_name)")
        missing = next((k for k in _INRIA_FIELDS if k not in v), None)
        if missing is not None:  # (was "lacks or garbles 'fx'"; a missing img_name was "2")
            raise _camera_error(path, f"view {i} has no {missing} (a view holds "
                                      f"{', '.join(_INRIA_FIELDS[:-1])} and {_INRIA_FIELDS[-1]})")
        if not isinstance(v["img_name"], str) or not v["img_name"]:  # null was the photo "None"
            raise _camera_error(path, f"view {i}: img_name must be its photo's name, got "
                                      f"{v['img_name']!r}")
        # float() read true as a focal length of 1 pixel and "50" as 50: JSON numbers only
        wrong = next((k for k in ("fx", "fy", "position", "rotation") if not _all_numbers(v[k])),
                     None)
        if wrong:
            what = "a JSON number" if wrong in ("fx", "fy") else "JSON numbers"
            raise _camera_error(path, f"view {i}: {wrong} must be {what}, got {v[wrong]!r:.60}")
        # int() cut 64.9 to 64 and read true as 1, and an infinite size was an OverflowError
        try:
            whole = all([_whole(v["width"]), _whole(v["height"])])  # both read, as numbers
        except (TypeError, ValueError, OverflowError):  # null, a list, 10**400
            whole = False
        if not whole:
            raise _camera_error(path, f"view {i}: width and height must be whole numbers of "
                                      f"pixels, got {v['width']!r:.30} and {v['height']!r:.30}")
        try:
            rot = np.asarray(v["rotation"], dtype=np.float64)
            pos = np.asarray(v["position"], dtype=np.float64)
            fx, fy = float(v["fx"]), float(v["fy"])
        except (ValueError, OverflowError) as err:  # ragged lists, 10**400
            raise _camera_error(path, f"view {i}: rotation, position, fx or fy is no array of "
                                      f"numbers of the right size ({err})") from None
        w, h = int(float(v["width"])), int(float(v["height"]))
        if rot.shape != (3, 3) or pos.shape != (3,) or not min(w, h, fx, fy) > 0:
            raise _camera_error(path, f"view {i}: rotation must be 3 x 3, position 3 numbers, "
                                      "sizes and focal lengths positive")
        if not (np.all(np.isfinite(rot)) and np.all(np.isfinite(pos)) and math.isfinite(fx)
                and math.isfinite(fy)):
            raise _camera_error(path, f"view {i}: rotation, position, fx and fy must be finite")
        # written to two decimals, a rotation is orthonormal to about 0.017: the nearest
        # rotation (by SVD) stands for it
        if not _is_rotation(rot):
            raise _camera_error(path, f"view {i}: rotation is not a rotation matrix (orthonormal, "
                                      "determinant 1)")
        c2w = _rigid(rot, pos)
        cam = Camera(torch.tensor(np.linalg.inv(c2w), dtype=torch.float32), fx, fy, w / 2, h / 2,
                     w, h)
        cams.append(cam.resized(*_output_size(w, h, width, height)))
        names.append(v["img_name"])
    return cams, names


#: the fields of a view of the INRIA 3DGS ``cameras.json`` (its ``id`` is not read)
_INRIA_FIELDS = ("width", "height", "position", "rotation", "fx", "fy", "img_name")


def _text_lines(path: Path) -> list[str]:
    """The lines of a COLMAP text file; one that is not text is an error naming it."""
    try:
        return path.read_text().splitlines()
    except UnicodeDecodeError as err:
        raise _camera_error(path, f"not a COLMAP text file ({err}); a binary model (.bin) "
                                  "converts with colmap model_converter --output_type TXT") from None


def _quat_to_rotation(qw: float, qx: float, qy: float, qz: float) -> np.ndarray:
    q = np.array([qw, qx, qy, qz]) / np.linalg.norm([qw, qx, qy, qz])
    w, x, y, z = q
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                     [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                     [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])


def cameras_from_colmap(folder: str | os.PathLike[str], *, width: int | None = None,
                        height: int | None = None) -> tuple[list[Camera], list[str]]:
    r"""Cameras of a COLMAP text model (``cameras.txt`` and ``images.txt`` in ``folder``):
    pinhole models ``PINHOLE`` and ``SIMPLE_PINHOLE`` (and ``SIMPLE_RADIAL`` / ``RADIAL`` /
    ``OPENCV`` when their distortion coefficients are zero: an image with distortion would need
    undistorting first, as 3DGS's ``convert.py`` does). Returns ``(cameras, image names)`` in
    ``images.txt`` order, resized to ``width`` x ``height`` where given (one alone: the other
    in proportion). As COLMAP reads it, each image there takes two lines: its pose, then its 2D
    points (``X Y POINT3D_ID`` triples, or an empty line).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "cameras.txt").write_text("# c\n1 PINHOLE 40 30 50 50 20 15\n")
    >>> _ = (d / "images.txt").write_text("# i\n1 1 0 0 0 0 0 2 1 a.png\n\n")
    >>> cams, names = cameras_from_colmap(d)
    >>> cams[0].center.tolist(), names
    ([0.0, 0.0, -2.0], ['a.png'])
    """
    width, height = _checked_size(width, height)
    folder = Path(folder)
    intrinsics = {}
    cam_file, img_file = folder / "cameras.txt", folder / "images.txt"
    for path in (cam_file, img_file):
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file (a COLMAP text model has "
                                    "cameras.txt and images.txt)")
    defined: dict[int, int] = {}  # camera id: its line
    for lineno, line in enumerate(_text_lines(cam_file), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split()
        try:
            cam_id, model = text_number(parts[0], int), parts[1]
            w, h = text_number(parts[2], int), text_number(parts[3], int)
            p = [text_number(x) for x in parts[4:]]
        except (IndexError, ValueError):
            raise _camera_error(cam_file, f"line {lineno}: expected 'ID MODEL WIDTH HEIGHT "
                                          "PARAMS...'") from None
        labels = _COLMAP_MODELS.get(model)
        if labels is None:
            raise _camera_error(cam_file, f"line {lineno}: camera model {model} is not a pinhole "
                                          f"camera (one of {', '.join(_COLMAP_MODELS)}); "
                                          f"{_UNDISTORT}")
        if len(p) != len(labels):  # "PINHOLE with 3 parameters is not a pinhole camera" misled
            raise _camera_error(cam_file, f"line {lineno}: camera model {model} takes {len(labels)} "
                                          f"parameters ({' '.join(labels)}), got {len(p)}")
        values = dict(zip(labels, p, strict=True))
        distorted = [f"{k} {v:g}" for k, v in values.items() if k[0] in "kp" and v != 0.0]
        if distorted:
            raise _camera_error(cam_file, f"line {lineno}: camera model {model} has lens "
                                          f"distortion ({', '.join(distorted)}), and the "
                                          f"renderers are pinhole cameras; {_UNDISTORT}")
        f = values.get("f", 0.0)  # the one focal length of SIMPLE_PINHOLE and the RADIAL ones
        fx, fy = values.get("fx", f), values.get("fy", f)
        cx, cy = values["cx"], values["cy"]
        if not (w > 0 and h > 0 and fx > 0 and fy > 0 and all(map(math.isfinite, (fx, fy, cx, cy)))):
            raise _camera_error(cam_file, f"line {lineno}: width and height must be positive, "
                                          f"focal lengths positive and finite, the principal point "
                                          f"finite (got {w} {h} {fx:g} {fy:g} {cx:g} {cy:g})")
        if cam_id in defined:  # the later line took the images of both
            raise _camera_error(cam_file, f"line {lineno}: camera {cam_id} is defined on line "
                                          f"{defined[cam_id]} too")
        defined[cam_id] = lineno
        intrinsics[cam_id] = (w, h, fx, fy, cx, cy)
    cams, names = [], []
    listed: dict[str, int] = {}  # image name: its line
    lines = _text_lines(img_file)
    at = 0
    while at < len(lines):  # as COLMAP reads it: an image's line, then always its 2D points
        lineno, line = at + 1, lines[at].strip()
        at += 1
        if not line or line.startswith("#"):
            continue
        points = lines[at].split() if at < len(lines) else []
        at += 1
        if len(points) % 3:  # (X, Y, POINT3D_ID) triples; an image line has 10 fields
            raise _camera_error(img_file, f"line {lineno + 1}: expected the 2D points of the image "
                                          f"on line {lineno} (X Y POINT3D_ID triples, or an empty "
                                          "line): each image takes two lines")
        parts = line.split()
        try:
            qw, qx, qy, qz, tx, ty, tz = (text_number(x) for x in parts[1:8])
            cam_id, name = text_number(parts[8], int), parts[9]
        except (IndexError, ValueError):
            raise _camera_error(img_file, f"line {lineno}: expected 'ID QW QX QY QZ TX TY TZ "
                                          "CAMERA_ID NAME'") from None
        if cam_id not in intrinsics:
            raise _camera_error(img_file, f"line {lineno}: camera {cam_id} is not in "
                                          f"{cam_file.name}")
        if name in listed:  # one photo would stand for two poses
            raise _camera_error(img_file, f"line {lineno}: image {name} is listed on line "
                                          f"{listed[name]} too")
        listed[name] = lineno
        quat, t = np.array([qw, qx, qy, qz]), np.array([tx, ty, tz])
        if not (np.all(np.isfinite(quat)) and np.all(np.isfinite(t)) and np.linalg.norm(quat) > 0):
            raise _camera_error(img_file, f"line {lineno}: the quaternion and translation must be "
                                          "finite, the quaternion not zero")
        w, h, fx, fy, cx, cy = intrinsics[cam_id]
        w2c = np.eye(4)
        w2c[:3, :3] = _quat_to_rotation(qw, qx, qy, qz)
        w2c[:3, 3] = [tx, ty, tz]
        cam = Camera(torch.tensor(w2c, dtype=torch.float32), fx, fy, cx, cy, w, h)
        cams.append(cam.resized(*_output_size(w, h, width, height)))
        names.append(name)
    if not cams:
        raise _camera_error(img_file, "lists no image")
    return cams, names
