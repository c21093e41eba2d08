"""A user's own views: cameras with their photos, for training, recovery and evaluation.

:func:`photo_views` reads a folder in one of the layouts a splat user has: a NeRF-synthetic
folder (``transforms_train.json``, and ``transforms_test.json`` for held-out views), a
nerfstudio or instant-ngp capture (one ``transforms.json`` with every view), a COLMAP
text model (``sparse/0/cameras.txt`` and ``images.txt``, photos in ``images/``), or the
``cameras.json`` the INRIA 3DGS code writes beside its output (photos named by ``img_name``).
Without an explicit test split, every eighth view is held out (3DGS's convention: of the views
sorted by image name, for a COLMAP model and a ``cameras.json``, as 3DGS sorts them). A photo
whose aspect ratio is not its camera's (beyond rounding) is an error, not stretched.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from scenesparse.cameras import (
    Camera,
    cameras_from_colmap,
    cameras_from_json,
    cameras_from_transforms,
    read_transforms,
)
from sparsebox._validation import check_colour
from sparsebox.exceptions import InputFileError

__all__ = ["PhotoViews", "photo_views", "load_image", "transforms_views"]

_SUFFIXES = ("", ".png", ".jpg", ".jpeg", ".PNG", ".JPG", ".JPEG")


def load_image(path: str | os.PathLike[str], width: int, height: int,
               background=(0.0, 0.0, 0.0), *, with_alpha: bool = False,
               resize: bool = True) -> Any:
    """A photo as an ``(height, width, 3)`` float tensor in [0, 1], resized (Lanczos) and, when
    it has an alpha channel, composited over ``background``; with ``with_alpha``, also its
    ``(height, width)`` alpha (ones for an opaque photo). With ``resize=False`` a photo of
    another size is an error naming both sizes.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from PIL import Image
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "a.png"
    >>> Image.new("RGBA", (8, 8), (255, 0, 0, 128)).save(f)
    >>> img = load_image(f, 4, 4)
    >>> img.shape, round(float(img[0, 0, 0]), 2)
    (torch.Size([4, 4, 3]), 0.5)
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as im:
            if not resize and im.size != (width, height):
                raise InputFileError(f"{path}: {im.size[0]}x{im.size[1]} pixels, where its camera "
                                     f"is {width}x{height}")
            im = im.convert("RGBA").resize((width, height), Image.LANCZOS)
            rgba = np.asarray(im, dtype=np.float32) / 255.0
    except (OSError, UnidentifiedImageError) as err:
        raise InputFileError(f"{path}: not a readable image ({err})") from None
    rgb, alpha = rgba[..., :3], rgba[..., 3:]
    out = torch.from_numpy(np.ascontiguousarray(
        rgb * alpha + np.asarray(background, dtype=np.float32) * (1.0 - alpha)))
    return (out, torch.from_numpy(np.ascontiguousarray(alpha[..., 0]))) if with_alpha else out


@dataclass
class PhotoViews:
    """Training and held-out views: cameras with their photos, and where they came from.
    ``background`` is the colour photos with an alpha channel were composited over (their
    alphas are ``train_masks``); :func:`photo_views` sets it, None where unknown. ``sources``:
    the files read (camera files and photos), which a command must not write over."""

    train_cameras: list[Camera]
    train_images: list[torch.Tensor]
    test_cameras: list[Camera]
    test_images: list[torch.Tensor]
    description: str
    train_masks: list[torch.Tensor] = field(default_factory=list)
    background: tuple[float, float, float] | None = None
    sources: list[Path] = field(default_factory=list)


def _find_photo(folder: Path, name: str) -> Path:
    for suffix in _SUFFIXES:
        candidate = folder / f"{name}{suffix}"
        if candidate.is_file():
            return candidate
    tried = ", ".join(s or "as named" for s in _SUFFIXES)
    raise FileNotFoundError(f"{folder / name}: no such photo (tried {tried})")


def _check_aspect(cams: list[Camera], paths: list[Path]) -> None:
    """Each photo has its camera's aspect ratio, up to the rounding of a resized image (half a
    pixel on each side); one that has not would be stretched."""
    from PIL import Image, UnidentifiedImageError

    for cam, path in zip(cams, paths, strict=True):
        try:
            with Image.open(path) as im:
                pw, ph = im.size
        except (OSError, UnidentifiedImageError) as err:
            raise InputFileError(f"{path}: not a readable image ({err})") from None
        slack = 0.5 * (max(pw, cam.width) + max(ph, cam.height))
        if abs(pw * cam.height - ph * cam.width) > slack:
            raise InputFileError(f"{path}: {pw}x{ph} pixels, where its camera is "
                                 f"{cam.width}x{cam.height} (another aspect ratio: the photo "
                                 "would be stretched)")


def _by_name(cams: list[Camera], names: list[str]) -> tuple[list[Camera], list[str]]:
    """The views sorted by image name (its base name up to the first dot, as 3DGS sorts them
    before holding out every eighth)."""
    order = sorted(range(len(names)), key=lambda i: (Path(names[i]).name.split(".")[0], names[i]))
    return [cams[i] for i in order], [names[i] for i in order]


def _load(cams: list[Camera], paths: list[Path], background
          ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    pairs = [load_image(p, c.width, c.height, background, with_alpha=True)
             for c, p in zip(cams, paths, strict=True)]
    return [image for image, _ in pairs], [alpha for _, alpha in pairs]


def _scaled(cams: list[Camera], resolution: int | None) -> list[Camera]:
    if resolution is None:
        return cams
    return [c.resized(resolution, max(1, round(c.height * resolution / c.width))) for c in cams]


def photo_views(folder: str | os.PathLike[str], *, cameras_json: str | os.PathLike[str] | None
                = None, resolution: int | None = None, background=(0.0, 0.0, 0.0),
                hold_every: int = 8) -> PhotoViews:
    """The views of a user's scene (see the module's docstring for the layouts); photos are
    resized so that their width is ``resolution`` (default: as they are)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder of photos")
    colour = check_colour("background", background)
    if cameras_json is not None:
        cams, names = _by_name(*cameras_from_json(cameras_json))
        paths = [_find_photo(folder, n) for n in names]
        where = f"{Path(cameras_json).name} ({len(cams)} views)"
        read = [Path(cameras_json)]
    elif (folder / "transforms_train.json").is_file():
        train_json = folder / "transforms_train.json"
        test_json = folder / "transforms_test.json"
        train, train_paths = transforms_views(train_json)
        if test_json.is_file():
            test, test_paths = transforms_views(test_json)
            _check_aspect(train + test, train_paths + test_paths)
            train, test = _scaled(train, resolution), _scaled(test, resolution)
            train_images, train_masks = _load(train, train_paths, colour)
            return PhotoViews(train, train_images, test, _load(test, test_paths, colour)[0],
                              f"photos: {train_json.name} ({len(train)} views), held out "
                              f"{test_json.name} ({len(test)} views)", train_masks, colour,
                              [train_json, test_json, *train_paths, *test_paths])
        cams, paths, where = train, train_paths, f"{train_json.name} ({len(train)} views)"
        read = [train_json]
    elif (model := _colmap_model(folder)) is None and (folder / "transforms.json").is_file():
        # nerfstudio / instant-ngp: one file, every view (a COLMAP model beside it wins: those
        # tools recentre and rescale the world, and a splat is trained in COLMAP's)
        cams, paths = transforms_views(folder / "transforms.json")
        where = f"transforms.json ({len(cams)} views)"
        read = [folder / "transforms.json"]
    else:
        if model is None:
            raise FileNotFoundError(
                f"{folder}: no transforms_train.json or transforms.json, no COLMAP text model "
                "(sparse/0/cameras.txt and images.txt) and no cameras.json given: cannot tell "
                "where the photos were taken")
        cams, names = _by_name(*cameras_from_colmap(model))
        photos = folder / "images" if (folder / "images").is_dir() else folder
        paths = [_find_photo(photos, n) for n in names]
        read = [model / "cameras.txt", model / "images.txt"]
        where = f"COLMAP {model.relative_to(folder) if model != folder else '.'} ({len(cams)} views)"
    _check_aspect(cams, paths)
    cams = _scaled(cams, resolution)
    test_idx = set(range(0, len(cams), hold_every)) if len(cams) > 1 else set()
    train = [i for i in range(len(cams)) if i not in test_idx]
    test = sorted(test_idx)
    images, masks = _load(cams, paths, colour)
    return PhotoViews([cams[i] for i in train], [images[i] for i in train],
                      [cams[i] for i in test], [images[i] for i in test],
                      f"photos: {where}, every {hold_every}th held out",
                      [masks[i] for i in train], colour, [*read, *paths])


def _colmap_model(folder: Path) -> Path | None:
    """The folder of a COLMAP text model (``cameras.txt`` and ``images.txt``) in ``folder``:
    ``sparse/0``, ``sparse`` or itself; None without one."""
    return next((d for d in (folder / "sparse" / "0", folder / "sparse", folder)
                 if (d / "cameras.txt").is_file() and (d / "images.txt").is_file()), None)


def transforms_views(path: str | os.PathLike[str]) -> tuple[list[Camera], list[Path]]:
    """The cameras of a NeRF ``transforms*.json`` and the photos its frames name (the first photo
    sets the image size); a frame without a ``file_path`` is an error naming the file."""
    from PIL import Image

    path = Path(path)
    meta = read_transforms(path)
    unnamed = next((i for i, f in enumerate(meta["frames"])
                    if not isinstance(f.get("file_path"), str) or not f["file_path"]), None)
    if unnamed is not None:
        raise InputFileError(f"{path}: frame {unnamed} has no 'file_path' naming its photo")
    with Image.open(_find_photo(path.parent, meta["frames"][0]["file_path"])) as im:
        size = im.size
    cams = cameras_from_transforms(path, width=size[0], height=size[1])
    paths = [_find_photo(path.parent, f["file_path"]) for f in meta["frames"]]
    return cams, paths
