"""A user's own views: cameras with their photos, for training, recovery and evaluation.

:func:`photo_views` reads a folder in one of the layouts a splat user has: a NeRF-synthetic
folder (``transforms_train.json``, and ``transforms_test.json`` for held-out views), a
nerfstudio or instant-ngp capture (one ``transforms.json`` with every view), a COLMAP
text model (``sparse/0/cameras.txt`` and ``images.txt``, photos in ``images/``), or the
``cameras.json`` the INRIA 3DGS code writes beside its output (photos named by ``img_name``, in
the folder or its ``images/``).
Without an explicit test split, a ``transforms.json``'s views are held out as nerfstudio holds
them out by default (``eval_mode="fraction"``: of its frames sorted by ``file_path``, it trains on
90% evenly spaced from the first to the last and evaluates on the rest,
:func:`nerfstudio_eval_views`; fewer than 10 frames leave none, and every eighth is held out
instead); elsewhere every eighth view is held out, the first included, of the views sorted by
their photos' names: 3DGS's ``llffhold=8`` over a COLMAP model's (and a ``cameras.json``'s)
images. (A transforms file's ``train_filenames`` / ``val_filenames`` / ``test_filenames`` lists
are not read.) A photo whose aspect ratio is not its camera's (beyond rounding) is an error, not
stretched.

A transforms file's poses are in its own frame, and a splat that nerfstudio trained on it (``ns-export
gaussian-splat``) is not: nerfstudio turns, centres and scales the poses first, and writes how to
``dataparser_transforms.json`` in the run's output folder. With that file given (or copied beside the
transforms file, where it is read without being asked for), the cameras are put in the splat's
frame (:func:`scenesparse.cameras.nerfstudio_model_frame`). One beside the photos of a folder
whose cameras come from elsewhere (its COLMAP model, a ``cameras.json``) is not applied, with a
warning: it describes a transforms file's poses.
"""

from __future__ import annotations

import math
import os
import shlex
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from scenesparse.cameras import (
    Camera,
    cameras_from_colmap,
    cameras_from_json,
    nerfstudio_model_frame,
    read_transforms,
    transforms_cameras,
)
from sparsebox._validation import check_colour, check_int
from sparsebox.exceptions import InputFileError, InvalidParameterError
from sparsebox.outputs import counted

__all__ = ["PhotoViews", "photo_views", "photo_sources", "photo_resolution", "by_image_name",
           "load_image", "transforms_views"]

_SUFFIXES = ("", ".png", ".jpg", ".jpeg", ".PNG", ".JPG", ".JPEG")
#: the file nerfstudio writes beside a trained model: the frame its poses were moved to
_DATAPARSER = "dataparser_transforms.json"
#: the EXIF tag of a photo's orientation (not applied: COLMAP and 3DGS read the stored pixels)
_ORIENTATION = 0x0112


def load_image(path: str | os.PathLike[str], width: int, height: int,
               background=(0.0, 0.0, 0.0), *, with_alpha: bool = False,
               resize: bool = True) -> Any:
    """A photo as an ``(height, width, 3)`` float tensor in [0, 1], resized (Lanczos) and, when
    it has an alpha channel, composited over ``background`` (16-bit photos are read at 8 bits;
    the pixels as stored, an EXIF orientation not applied, as COLMAP and 3DGS read them);
    with ``with_alpha``, also its ``(height, width)`` alpha (ones for an opaque photo). With
    ``resize=False`` a photo of another size is an error naming both sizes.

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

    path, colour = Path(path), check_colour("background", background, unit=True)
    try:
        with Image.open(path) as im:
            if not resize and im.size != (width, height):
                raise InputFileError(f"{path}: {im.size[0]}x{im.size[1]} pixels, where its camera "
                                     f"is {width}x{height}")
            if im.mode.startswith("I;16") or (im.mode == "I" and im.format in ("PNG", "PPM")):
                # 16-bit grey (Pillow reads 16-bit PGM, and older Pillow 16-bit PNG, as I): to 8
                # bits, as Pillow reads 16-bit RGB
                im = im.convert("I").point(lambda v: v * (1 / 257) + 0.5).convert("L")
            elif im.mode in ("I", "F"):  # no range to read them in: neither clipped nor guessed
                raise InputFileError(f"{path}: a {'32-bit integer' if im.mode == 'I' else 'float'}"
                                     " image; give 8- or 16-bit photos")
            im = im.convert("RGBA").resize((width, height), Image.LANCZOS)
            rgba = np.asarray(im, dtype=np.float32) / 255.0
    except (OSError, UnidentifiedImageError) as err:
        raise InputFileError(f"{path}: not a readable image ({err})") from None
    rgb, alpha = rgba[..., :3], rgba[..., 3:]
    out = torch.from_numpy(np.ascontiguousarray(
        rgb * alpha + np.asarray(colour, dtype=np.float32) * (1.0 - alpha)))
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


def _find_photo(folder: Path, name: str, also: Path | None = None) -> Path:
    """The photo ``name`` (with or without its suffix) in ``folder``, else in ``also``."""
    for base in (folder, *([] if also is None else [also])):
        for suffix in _SUFFIXES:
            candidate = base / f"{name}{suffix}"
            if candidate.is_file():
                return candidate
    tried = ", ".join(s or "as named" for s in _SUFFIXES)
    elsewhere = "" if also is None else f"; nor in {also}"
    raise FileNotFoundError(f"{folder / name}: no such photo (tried {tried}{elsewhere})")


def _check_aspect(cams: list[Camera], paths: list[Path],
                  origins: list[str | None] | None = None) -> None:
    """Each photo has its camera's aspect ratio, up to the rounding of a resized image (half a
    pixel on each side); one that has not would be stretched. ``origins``: per camera, where
    its size came from where not from its own file entry (said in the error: a size taken from
    another photo put the blame on this one)."""
    from PIL import Image, UnidentifiedImageError

    for cam, path, origin in zip(cams, paths, origins or [None] * len(cams), strict=True):
        try:
            with Image.open(path) as im:
                pw, ph = im.size
        except (OSError, UnidentifiedImageError) as err:
            raise InputFileError(f"{path}: not a readable image ({err})") from None
        slack = 0.5 * (max(pw, cam.width) + max(ph, cam.height))
        if abs(pw * cam.height - ph * cam.width) > slack:
            # a viewer shows such a photo turned, at its camera's size: say why it is not
            hint = ("; its EXIF orientation turns it a quarter, which is not applied (COLMAP "
                    "and 3DGS read the pixels as stored): save the photo turned"
                    if abs(ph * cam.height - pw * cam.width) <= slack and _quarter_turned(path)
                    else "")
            raise InputFileError(f"{path}: {pw}x{ph} pixels, where its camera is "
                                 f"{cam.width}x{cam.height} (another aspect ratio: the photo "
                                 f"would be stretched{f'; {origin}' if origin else ''}){hint}")


def _quarter_turned(path: Path) -> bool:
    """Whether a photo's EXIF orientation turns it a quarter (5 to 8; never applied here)."""
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow's "Corrupt EXIF data": then it is not turned
        try:
            with Image.open(path) as im:
                return im.getexif().get(_ORIENTATION, 1) in (5, 6, 7, 8)
        except (OSError, SyntaxError, ValueError):
            return False


def by_image_name(cams: list[Camera], names: list[str]) -> tuple[list[Camera], list[str]]:
    """The views sorted by their image names as written (as the 3DGS code sorts a COLMAP
    model's views before holding out every eighth).

    Examples
    --------
    >>> by_image_name(["b", "a", "c"], ["cam1/0001.png", "cam0/0002.png", "cam0/0001.png"])[1]
    ['cam0/0001.png', 'cam0/0002.png', 'cam1/0001.png']
    """
    order = sorted(range(len(names)), key=lambda i: names[i])
    return [cams[i] for i in order], [names[i] for i in order]


def _load(cams: list[Camera], paths: list[Path], background
          ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    pairs = [load_image(p, c.width, c.height, background, with_alpha=True)
             for c, p in zip(cams, paths, strict=True)]
    return [image for image, _ in pairs], [alpha for _, alpha in pairs]


def _scaled(cams: list[Camera], paths: list[Path], resolution: int | None) -> list[Camera]:
    """The cameras resized to ``resolution`` wide (None: as wide as they state), each at most
    as wide as its photo: a narrower photo keeps its own width (resizing it up adds no detail
    and scores a blurred photo), whatever the widest photo of the folder allows."""
    widths = [min(resolution or c.width, _header_width(p) or c.width)
              for c, p in zip(cams, paths, strict=True)]
    return [c if w == c.width else c.resized(w, max(1, round(c.height * w / c.width)))
            for c, w in zip(cams, widths, strict=True)]


def _header_width(path: Path) -> int | None:
    """The width of the photo at ``path`` from its header; None where it cannot be read (reading
    the photo names why)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return im.size[0]
    except (OSError, UnidentifiedImageError):
        return None


@dataclass
class _Located:
    """Where a folder's views are, before any photo is decoded: the cameras and photos (all
    views, or the training views where ``test`` is the file's own split), the camera files
    read and a description."""

    cams: list[Camera]
    paths: list[Path]
    where: str
    read: list[Path]
    test: tuple[list[Camera], list[Path]] | None = None
    nerfstudio: bool = False  # one transforms.json: nerfstudio's default split applies

    @property
    def sources(self) -> list[Path]:
        """Every file read: the camera files, then the photos."""
        return [*self.read, *self.paths, *(self.test[1] if self.test else [])]


def _locate(folder: Path, cameras_json: str | os.PathLike[str] | None,
            dataparser_transforms: str | os.PathLike[str] | None = None, *,
            warn: bool = True) -> _Located:
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: a file, not a folder of photos (give the folder that "
                                "holds it)" if folder.exists() else f"{folder}: no such folder of photos")
    transforms = (folder / "transforms_train.json" if (folder / "transforms_train.json").is_file()
                  else folder / "transforms.json")
    elsewhere = ("cameras_json" if cameras_json is not None
                 else "its COLMAP model" if transforms.name == "transforms.json"
                 and _colmap_model(folder) is not None
                 else None if transforms.is_file() else "no transforms file")
    if dataparser_transforms is not None and elsewhere is not None:
        raise InvalidParameterError(f"dataparser_transforms moves the cameras of a transforms "
                                    f"file (nerfstudio's), and those of {folder} come from "
                                    f"{elsewhere}")
    if dataparser_transforms is None and (folder / _DATAPARSER).is_file():
        if elsewhere is None:
            dataparser_transforms = folder / _DATAPARSER  # copied beside the transforms file
        elif warn and elsewhere != "no transforms file":  # (was passed over in silence)
            where = "the cameras.json given" if cameras_json is not None else elsewhere
            warnings.warn(f"{folder / _DATAPARSER} is not applied: it moves the cameras of a "
                          f"transforms file (nerfstudio's), and those of {folder} come from "
                          f"{where}", stacklevel=3)
    if cameras_json is not None:
        cams, names = by_image_name(*cameras_from_json(cameras_json))
        # sorted by name, the same names are side by side
        twice = next((a for a, b in zip(names, names[1:], strict=False) if a == b), None)
        if twice is not None:
            raise InputFileError(f"{cameras_json}: two views are named {twice!r}, and one photo "
                                 "cannot stand for both (3DGS names a view by its photo's stem, "
                                 "so train/r_0.png and test/r_0.png collide): give the folder of "
                                 "their transforms or COLMAP files as --images, without --cameras")
        # the folder, or its images/ (3DGS's layout: <data>/images beside <data>/sparse)
        also = folder / "images" if (folder / "images").is_dir() else None
        paths = [_find_photo(folder, n, also) for n in names]
        _check_aspect(cams, paths)
        return _Located(cams, paths, f"{Path(cameras_json).name} ({counted(len(cams), 'view')})",
                        [Path(cameras_json)])
    dp = [] if dataparser_transforms is None else [Path(dataparser_transforms)]
    frame = f" in the frame of {dp[0].name}" if dp else ""
    if (folder / "transforms_train.json").is_file():
        train_json, test_json = folder / "transforms_train.json", folder / "transforms_test.json"
        if not test_json.is_file():  # every eighth held out: sorted as for transforms.json
            cams, paths = _by_file_path(train_json, dataparser_transforms)
            return _Located(cams, paths, f"{train_json.name} ({counted(len(cams), 'view')}{frame})",
                            [train_json, *dp])
        cams, paths = transforms_views(train_json, dataparser_transforms=dataparser_transforms)
        where = f"{train_json.name} ({counted(len(cams), 'view')}{frame})"
        test = transforms_views(test_json, dataparser_transforms=dataparser_transforms)
        return _Located(cams, paths, f"{where}, held out {test_json.name} ({counted(len(test[0]), 'view')})",
                        [train_json, test_json, *dp], test)
    model = _colmap_model(folder)
    if model is None and (folder / "transforms.json").is_file():
        # nerfstudio / instant-ngp: one file, every view (a COLMAP model beside it wins: a splat
        # trained by 3DGS is in COLMAP's frame, and ns-process-data turns the axes of that frame,
        # writing its applied_transform)
        cams, paths = _by_file_path(folder / "transforms.json", dataparser_transforms)
        return _Located(cams, paths, f"transforms.json ({counted(len(cams), 'view')}{frame})",
                        [folder / "transforms.json", *dp], nerfstudio=True)
    if model is None:
        binary = next((d for d in (folder / "sparse" / "0", folder / "sparse", folder)
                       if (d / "cameras.bin").is_file() and (d / "images.bin").is_file()), None)
        where = shlex.quote(str(binary))
        hint = ("" if binary is None else f"; {binary} holds a binary COLMAP model: write it as "
                f"text with `colmap model_converter --input_path {where} --output_path {where} "
                "--output_type TXT`")
        if cameras_json is None and (folder / "cameras.json").is_file():  # (hollownerf takes none)
            hint += ("; the cameras.json in it (INRIA's) is read only where it is given: "
                     "prune-splats --cameras, or cameras_json= in Python")
        raise FileNotFoundError(
            f"{folder}: no transforms_train.json or transforms.json, no COLMAP text model "
            "(sparse/0/cameras.txt and images.txt) and no cameras.json given: cannot tell "
            f"where the photos were taken{hint}")
    cams, names = by_image_name(*cameras_from_colmap(model))
    photos = folder / "images" if (folder / "images").is_dir() else folder
    paths = [_find_photo(photos, n) for n in names]
    _check_aspect(cams, paths)
    where = model.relative_to(folder) if model != folder else "."
    return _Located(cams, paths, f"COLMAP {where} ({counted(len(cams), 'view')})",
                    [model / "cameras.txt", model / "images.txt"])


def photo_sources(folder: str | os.PathLike[str], *,
                  cameras_json: str | os.PathLike[str] | None = None,
                  dataparser_transforms: str | os.PathLike[str] | None = None) -> list[Path]:
    """The files :func:`photo_views` reads for ``folder`` (camera files, then photos), found
    without decoding a photo: the inputs a command's outputs must not overwrite. Raises as
    :func:`photo_views` does for a folder it cannot read (its warnings are photo_views')."""
    return _locate(Path(folder), cameras_json, dataparser_transforms, warn=False).sources


def photo_resolution(resolution: int | None, sources: list[Path], *, default: int,
                     minimum: int = 1, folder: str | os.PathLike[str] | None = None) -> int:
    """The width to resize the photos to: ``resolution``, or ``default`` where it is None but at
    most the widest of the photos (``sources``: camera files, then photos, as
    :func:`photo_sources` gives them; only their headers are read). Resizing up adds no detail,
    only memory, and scores a blurred photo: a ``resolution`` wider than the photos is refused
    (an ``InvalidParameterError`` naming ``resolution``), and :func:`photo_views` keeps a
    narrower photo at its own width; so a photo narrower than ``minimum`` is refused (an
    ``InputFileError`` naming ``folder``, by default the photo's). A photo that cannot be read is
    left to :func:`photo_views` to name.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from PIL import Image
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "a.png"
    >>> Image.new("RGB", (64, 48)).save(f)
    >>> photo_resolution(None, [f], default=256), photo_resolution(32, [f], default=256)
    (64, 32)
    """
    widths = {path: _header_width(path) for path in sources
              if path.suffix.lower() not in (".json", ".txt")}  # not the camera files
    widths = {path: width for path, width in widths.items() if width is not None}
    if not widths:
        return default if resolution is None else resolution
    widest, narrowest = (f(widths, key=widths.__getitem__) for f in (max, min))
    if widths[narrowest] < minimum:  # each photo is rendered at most at its own width
        raise InputFileError(f"{narrowest.parent if folder is None else folder}: the narrowest "
                             f"photo, {narrowest.name}, is {widths[narrowest]} pixels wide, "
                             f"narrower than the least render width ({minimum} pixels); give "
                             "larger photos")
    if resolution is None:
        return min(default, widths[widest])  # the default on smaller photos: their own width
    if resolution > widths[widest]:
        raise InvalidParameterError(f"resolution {resolution} is wider than the photos (the "
                                    f"widest is {widths[widest]} pixels), and resizing them up "
                                    f"adds no detail; give at most {widths[widest]}")
    return resolution


def photo_views(folder: str | os.PathLike[str], *, cameras_json: str | os.PathLike[str] | None
                = None, resolution: int | None = None, background=(0.0, 0.0, 0.0),
                hold_every: int | None = None,
                dataparser_transforms: str | os.PathLike[str] | None = None) -> PhotoViews:
    """The views of a user's scene (see the module's docstring for the layouts); photos are
    resized so that their width is ``resolution`` (default: the size their cameras state: a
    COLMAP model's or a ``cameras.json``'s, which may differ from the photos', else the photos'
    own), or their own where they are narrower. Without a file of held-out views, the views
    each layout's tools hold out (see the module's docstring: nerfstudio's for a
    ``transforms.json``, else every 8th), or with ``hold_every`` every ``hold_every``-th view of
    those sorted by their photos' names (from the first): at least 2, as 1 would hold out every
    view and leave none to train on.
    ``dataparser_transforms``: the ``dataparser_transforms.json`` of the nerfstudio run whose
    splat the cameras are for (default: one in ``folder``, if any), which puts a transforms
    file's cameras in that splat's frame; an error for a folder whose cameras come from no
    transforms file."""
    colour = check_colour("background", background, unit=True)  # composited onto [0, 1] photos
    if resolution is not None:
        resolution = check_int("resolution", resolution, minimum=1)
    if hold_every is not None:
        hold_every = check_int("hold_every", hold_every, minimum=2)
    found = _locate(Path(folder), cameras_json, dataparser_transforms)
    if found.test is not None:
        train = _scaled(found.cams, found.paths, resolution)
        test = _scaled(*found.test, resolution)
        train_images, train_masks = _load(train, found.paths, colour)
        return PhotoViews(train, train_images, test, _load(test, found.test[1], colour)[0],
                          f"photos: {found.where}", train_masks, colour, found.sources)
    cams = _scaled(found.cams, found.paths, resolution)
    test = nerfstudio_eval_views(len(cams)) if found.nerfstudio and hold_every is None else []
    if test:
        how = f"held out as nerfstudio does (the 10% of the views by file name, {len(test)})"
    else:  # fewer than 10 views leave nerfstudio none: every 8th
        hold_every = hold_every or 8
        test = list(range(0, len(cams), hold_every)) if len(cams) > 1 else []
        how = f"every {hold_every}th held out"
    train = sorted(set(range(len(cams))) - set(test))
    images, masks = _load(cams, found.paths, colour)
    return PhotoViews([cams[i] for i in train], [images[i] for i in train],
                      [cams[i] for i in test], [images[i] for i in test],
                      f"photos: {found.where}, {how}", [masks[i] for i in train], colour,
                      found.sources)


def nerfstudio_eval_views(count: int, train_fraction: float = 0.9) -> list[int]:
    """The views nerfstudio evaluates on of ``count`` sorted by file name, where a
    ``transforms.json`` names no split (its default ``eval_mode="fraction"``): all but
    ``ceil(count * train_fraction)`` evenly spaced from the first to the last, which it trains
    on (none of fewer than 10 views).

    Examples
    --------
    >>> nerfstudio_eval_views(20), nerfstudio_eval_views(9)
    ([9, 18], [])
    """
    train = np.linspace(0, count - 1, math.ceil(count * train_fraction), dtype=int)
    return sorted(set(range(count)) - set(train.tolist()))


def _colmap_model(folder: Path) -> Path | None:
    """The folder of a COLMAP text model (``cameras.txt`` and ``images.txt``) in ``folder``:
    ``sparse/0``, ``sparse`` or itself; None without one."""
    return next((d for d in (folder / "sparse" / "0", folder / "sparse", folder)
                 if (d / "cameras.txt").is_file() and (d / "images.txt").is_file()), None)


def _by_file_path(path: Path, dataparser_transforms: str | os.PathLike[str] | None
                  ) -> tuple[list[Camera], list[Path]]:
    """:func:`transforms_views` sorted by the frames' ``file_path`` as nerfstudio sorts them
    (as paths, part by part) before it holds out every ``eval_interval``-th."""
    cams, paths = transforms_views(path, dataparser_transforms=dataparser_transforms)
    names = [Path(f["file_path"]).parts for f in read_transforms(path)["frames"]]
    order = sorted(range(len(names)), key=names.__getitem__)
    return [cams[i] for i in order], [paths[i] for i in order]


def transforms_views(path: str | os.PathLike[str], *,
                     dataparser_transforms: str | os.PathLike[str] | None = None
                     ) -> tuple[list[Camera], list[Path]]:
    """The cameras of a NeRF ``transforms*.json`` and the photos its frames name, in the file's
    order. A frame that states its image size (``w``, ``h``) keeps it, scaled as the first photo
    is to the first frame's (photos written at half size give cameras at half size; a portrait
    frame among landscape ones stays portrait); a frame that states none takes the first photo's
    size. A frame without a ``file_path``, one with nerfstudio's ``mask_path`` (pixels to leave
    out, which no trainer here can), or a photo that cannot be read or is of another aspect ratio
    than its camera, is an error naming the file. ``dataparser_transforms`` puts the cameras in
    the frame of the nerfstudio model it was written for
    (:func:`scenesparse.cameras.cameras_from_transforms`)."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    meta = read_transforms(path)
    unnamed = next((i for i, f in enumerate(meta["frames"])
                    if not isinstance(f.get("file_path"), str) or not f["file_path"]), None)
    if unnamed is not None:
        raise InputFileError(f"{path}: frame {unnamed} has no 'file_path' naming its photo")
    masked = next((i for i, f in enumerate(meta["frames"]) if "mask_path" in f), None)
    if masked is not None:  # nerfstudio's pixels to leave out: every one was trained and scored
        raise InputFileError(f"{path}: frame {masked} has a mask_path (nerfstudio's mask of the "
                             "pixels to ignore), and masks are not supported: every pixel would "
                             "be trained on and scored; drop the mask_path fields to use them all")
    paths = [_find_photo(path.parent, f["file_path"]) for f in meta["frames"]]
    try:
        with Image.open(paths[0]) as im:
            size = im.size
    except (OSError, UnidentifiedImageError) as err:  # PIL's message named no file of ours
        raise InputFileError(f"{paths[0]}: not a readable image ({err})") from None
    frame = (None if dataparser_transforms is None
             else nerfstudio_model_frame(path, meta, dataparser_transforms))
    first_size = transforms_cameras(path, meta, width=size[0], height=size[1], model_frame=frame)
    stated = transforms_cameras(path, meta, model_frame=frame)
    states = [all(k in f or k in meta for k in ("w", "h")) for f in meta["frames"]]
    scale = size[0] / stated[0].width if states[0] else 1.0  # uniform: no photo is stretched
    cams = [s.resized(max(1, round(s.width * scale)), max(1, round(s.height * scale))) if own
            else c for own, s, c in zip(states, stated, first_size, strict=True)]
    # a frame that states no size takes the first photo's: where that photo is the odd one, the
    # error named a photo of the right size and not the first
    taken = (f"its camera's size is that of {paths[0]}, the first frame's photo, as {path.name} "
             "does not state both w and h for it")
    _check_aspect(cams, paths, [None if own or i == 0 else taken
                                for i, own in enumerate(states)])
    return cams, paths
