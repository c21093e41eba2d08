"""HollowNeRF as an estimator: train a hash-grid NeRF whose saliency grid is held to a budget,
score every hash-table entry by the saliency of the samples that read it, prune, compact, save.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import math
import numbers
import os
import pickle
import signal
import sys
import tempfile
import threading
import time
import warnings
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from scenesparse.cameras import Camera
from scenesparse.nerf.field import DEFAULT_AABB, NerfField, scene_box
from scenesparse.nerf.hashgrid import HashGrid, level_resolutions
from scenesparse.nerf.occupancy import OccupancyGrid
from scenesparse.nerf.pruning import contribution_scores, level_report, mass_budget
from scenesparse.nerf.saliency import SaliencyGrid
from scenesparse.nerf.trainer import NerfTrainer, check_images, render_image
from scenesparse.rendering import check_camera
from sparsebox._validation import SEED, Interval, check_colour, check_int, scalar_item
from sparsebox.base import Sparsifier
from sparsebox.exceptions import InputFileError, InvalidParameterError
from sparsebox.outputs import check_output_file
from sparsebox.select import select

__all__ = ["HollowNeRF", "FORMAT"]

#: The ``format`` tag of a file written by :meth:`HollowNeRF.save` (2: the rows kept may be
#: stored as the positions of those dropped; 3: the field's densities are per unit of its box,
#: its ``density_scale``); files of versions 1 and 2 load too, their densities per world unit.
FORMAT = "sparsebox-hollownerf/3"
_READABLE = (FORMAT, "sparsebox-hollownerf/2", "sparsebox-hollownerf/1")
#: the format of training checkpoints (2: with the field's ``density_scale``; version 1 ones
#: resume with densities per world unit, as they were trained)
_CHECKPOINT = "sparsebox-hollownerf/2-checkpoint"
_CHECKPOINTS = (_CHECKPOINT, "sparsebox-hollownerf/1-checkpoint")
#: the settings that choose the entries kept after training, which a checkpoint may resume under
#: other values of (trying another keep_mass needs no new training)
_SELECTION = ("keep_mass", "keep_ratio", "budget", "score_rays")
#: the background of views that do not say theirs, and of files written before it was saved
_WHITE = (1.0, 1.0, 1.0)
#: The most rows the hash table may hold: a saved model numbers the rows a prune dropped as int32
#: (:meth:`HashGrid.export`), and 2^31 rows of 2 float32 features are already 16 GiB.
_MAX_TABLE_ROWS = 2**31
#: The most levels of the hash encoding: each adds 8 look-ups and ``features`` values to every
#: sample of a step (a step of 1,024 rays took about 20 MB more memory per level, measured).
_MAX_LEVELS = 128
#: The finest resolution the encoder can use: it places unit-cube points in the cells of a level
#: in float32, whose 24-bit significand cannot tell one cell from the next past 2^24 per axis.
_MAX_RESOLUTION = 2**24


class HollowNeRF(Sparsifier):
    """A hash-grid NeRF (Instant-NGP's encoding) pruned by HollowNeRF's trainable saliency grid.

    ``fit(views)`` trains on a :class:`~scenesparse.photos.PhotoViews`' training photos under the
    constraint ``mean(sigmoid(G)) <= saliency_budget`` (the core's augmented Lagrangian), then
    gives every hash-table entry a score, the salient light that flows through it when the
    training rays are rendered (:func:`~scenesparse.nerf.pruning.contribution_scores`: rendering
    weight x saliency x trilinear weight, summed over the samples; 0 for an entry no salient,
    visible sample reads), and a keep-mask: the fewest entries that carry ``keep_mass`` of the
    total, or exactly ``keep_ratio`` / ``budget`` of them.
    :meth:`prune` then compacts the table (the dropped entries read as zeros through a remap, so
    the parameters on disk really fall) and reports the entries kept per level.

    Parameters
    ----------
    levels, features, table_size, base_resolution, finest_resolution : int
        The hash encoding (Instant-NGP: 16 levels of 2 features, base resolution 16): at most
        128 levels, a finest resolution of at most 2^24, a table of at most 2^31 rows over all
        the levels and one this machine's memory holds (with Adam's moments and a gradient).
        One level is at ``base_resolution``, which ``finest_resolution`` must then equal.
    saliency_budget : float or None
        ``C`` of the constraint (0.04 in the paper); None trains a plain Instant-NGP grid (no
        saliency grid: the entries are scored by the light through them alone, as if the
        saliency were 1 everywhere, and selected the same way, so a ``keep_mass`` below 1 drops
        entries renders read; ``keep_mass=1`` only those no scored ray reads).
    saliency_resolution : int
        Vertices per axis of the saliency grid (64 in the paper).
    saliency_init : float in (0, 1)
        The saliency every vertex starts at. The budget holds from 10% of the steps on and
        falls from 1 to ``saliency_budget`` by 30% (the trainer's ``saliency_warmup`` and
        ``saliency_anneal``), so the saliency shrinks onto the scene instead of starting small
        everywhere.
    rho : float
        Penalty weight of the augmented Lagrangian (also its dual-ascent step).
    steps : int
        Optimisation steps.
    batch_rays : int
        Rays per step (at most the training photos' pixels).
    learning_rate : float
        Adam's step for the table and the MLPs (decays to a tenth over the steps).
    sparse_gradients : bool
        Sparse table gradients with :class:`~scenesparse.nerf.optim.RowAdam` (only the rows a
        batch touched are updated); False: a dense Adam step over the whole table.
    occupancy_resolution : int
        Cells per axis of the occupancy grid.
    march_steps : int
        Samples along the box's diagonal.
    keep_mass : float in (0, 1]
        When neither ``keep_ratio`` nor ``budget`` is given: keep the fewest entries that carry
        this fraction of the scored light.
    score_rays : int
        Training rays (drawn at random, from ``seed``) rendered to score the entries.
    keep_ratio : float in (0, 1], optional
        Fraction of the table's entries kept.
    budget : int, optional
        Exact number of entries kept.
    seed : int

    Attributes
    ----------
    field_ : NerfField
        The trained field (compacted after :meth:`prune`).
    aabb_ : tuple of 6 floats
        The box the field spans (:func:`~scenesparse.nerf.field.scene_box` of the training
        cameras: ``DEFAULT_AABB`` when it holds what they look at, else one around it).
    aabb_from_ : str
        Why ``aabb_`` is that box (:func:`~scenesparse.nerf.field.scene_box`). A camera file's
        ``aabb_scale`` (instant-ngp's box for an unbounded background) is not followed: one
        other than 1 is named here and in a warning.
    resumed_seconds_ : float
        The training seconds of the earlier runs a checkpoint recorded (0 for a fresh run, or
        a checkpoint of an earlier version).
    resumed_from_step_ : int
        The step the checkpoint resumed from (0 for a fresh run).
    trainer_ : NerfTrainer
        Its trainer (optimizers, history); not kept by :meth:`save`.
    occupancy_ : OccupancyGrid
        Where rendering samples the field.
    step_length_ : float
        The marching step.
    background_ : tuple of 3 floats
        What the training photos were composited over (``views.background``; white where it
        is None or missing): the trainer swaps it for random colours, and :meth:`render` draws
        over it.
    scores_ : ndarray of float, shape (entries,)
    mask_ : ndarray of bool, shape (entries,)
    pruning_ : dict
        After :meth:`prune`: ``levels`` (entries and kept per level), ``params_before``,
        ``params_after``.

    Notes
    -----
    A step costs O(batch_rays x samples per ray x levels); with sparse gradients the table's
    update touches only the rows read. Scoring costs O(sum over levels of the lattice vertices
    inside occupied cells).

    References
    ----------
    Y. Xie et al. HollowNeRF: Pruning Hashgrid-Based NeRFs with Trainable Collision Mitigation.
    ICCV 2023. T. Mueller et al. Instant Neural Graphics Primitives. SIGGRAPH 2022.

    Examples
    --------
    >>> from scenesparse.cameras import orbit_cameras
    >>> from scenesparse.photos import PhotoViews
    >>> cams = orbit_cameras((0.0, 0.0, 0.0), 4.0, 2, width=8, height=8)
    >>> images = [torch.full((8, 8, 3), 0.5) for _ in cams]
    >>> views = PhotoViews(cams, images, cams, images, "two grey views")
    >>> model = HollowNeRF(levels=2, table_size=2**8, finest_resolution=16, steps=2,
    ...                    batch_rays=16, saliency_resolution=4, occupancy_resolution=8)
    >>> model = model.fit(views).prune()
    >>> model.mask_.shape == (model.field_.grid.num_entries,), model.render(cams[0]).shape
    (True, torch.Size([8, 8, 3]))
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     model.saved_bytes() == model.save(Path(folder) / "model.pt")
    True
    """

    item = "hash cell"
    sizing = ("keep_ratio", "budget")
    size_optional = True
    _parameter_constraints = {
        **{name: [Interval(numbers.Integral, 1, None, closed="left")]
           for name in ("levels", "features", "table_size", "base_resolution",
                        "finest_resolution", "steps", "batch_rays", "march_steps")},
        "saliency_budget": [Interval(numbers.Real, 0, 1, closed="neither"), None],
        "saliency_resolution": [Interval(numbers.Integral, 2, None, closed="left")],
        "saliency_init": [Interval(numbers.Real, 0, 1, closed="neither")],
        "occupancy_resolution": [Interval(numbers.Integral, 1, None, closed="left")],
        "rho": [Interval(numbers.Real, 0, None, closed="neither")],
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
        "sparse_gradients": [bool],
        "keep_mass": [Interval(numbers.Real, 0, 1, closed="right")],
        "score_rays": [Interval(numbers.Integral, 1, None, closed="left")],
        "seed": SEED,
    }

    def __init__(self, *, levels: int = 16, features: int = 2, table_size: int = 2**19,
                 base_resolution: int = 16, finest_resolution: int = 256,
                 saliency_budget: float | None = 0.04, saliency_resolution: int = 64,
                 saliency_init: float = 0.9, rho: float = 0.05, steps: int = 2000, batch_rays: int = 1024,
                 learning_rate: float = 1e-2, sparse_gradients: bool = True,
                 occupancy_resolution: int = 64, march_steps: int = 256,
                 keep_mass: float = 0.99, score_rays: int = 2**18, keep_ratio: float | None = None,
                 budget: int | None = None, seed: int = 0) -> None:
        self.levels, self.features, self.table_size = levels, features, table_size
        self.base_resolution, self.finest_resolution = base_resolution, finest_resolution
        self.saliency_budget, self.saliency_resolution = saliency_budget, saliency_resolution
        self.saliency_init = saliency_init
        self.rho, self.steps, self.batch_rays = rho, steps, batch_rays
        self.learning_rate, self.sparse_gradients = learning_rate, sparse_gradients
        self.occupancy_resolution, self.march_steps = occupancy_resolution, march_steps
        self.keep_mass, self.score_rays = keep_mass, score_rays
        self.keep_ratio, self.budget = keep_ratio, budget
        self.seed = seed

    def _validate_params(self, overrides: Mapping[str, Any] | None = None) -> None:
        """The declared constraints, then the hash grid's own bounds (before any photo is read):
        at most 128 ``levels``, ``finest_resolution`` from ``base_resolution`` to 2^24, a table of
        at most 2^31 rows over all its levels, and one this machine's memory holds; and saliency
        and occupancy grids it holds too."""
        super()._validate_params(overrides)
        params = {**self.get_params(), **(overrides or {})}
        _check_grid(params["levels"], params["features"], params["table_size"],
                    params["base_resolution"], params["finest_resolution"])
        _check_cell_grids(params["saliency_budget"], params["saliency_resolution"],
                          params["occupancy_resolution"])

    # ------------------------------------------------------------------ building
    def _build_field(self, aabb: Any = DEFAULT_AABB) -> NerfField:
        if self.finest_resolution < self.base_resolution:
            raise InvalidParameterError(f"finest_resolution must be >= base_resolution "
                                        f"({self.base_resolution}), got {self.finest_resolution}")
        grid = HashGrid(levels=self.levels, features=self.features, table_size=self.table_size,
                        base_resolution=self.base_resolution,
                        finest_resolution=self.finest_resolution, sparse=self.sparse_gradients,
                        seed=self.seed)
        saliency = None
        if self.saliency_budget is not None:
            p = self.saliency_init
            saliency = SaliencyGrid(self.saliency_resolution, init=math.log(p / (1.0 - p)))
        return NerfField(grid, saliency, aabb=aabb, seed=self.seed)

    def _build_trainer(self, field: NerfField, views: Any) -> NerfTrainer:
        masks = getattr(views, "train_masks", None) or None
        return NerfTrainer(field, views.train_cameras, views.train_images, alphas=masks,
                           background=_background_of(views),
                           steps=self.steps, batch_rays=self.batch_rays,
                           learning_rate=self.learning_rate, saliency_budget=self.saliency_budget,
                           rho=self.rho, march_steps=self.march_steps,
                           occupancy_resolution=self.occupancy_resolution, seed=self.seed)

    # ------------------------------------------------------------------ fitting
    def fit(self, views: Any, y: Any = None, *, progress: bool = False, checkpoint: str | os.PathLike[str]
            | None = None, checkpoint_every: int = 250,
            callback: Callable[[NerfTrainer], None] | None = None) -> HollowNeRF:
        """Train on ``views`` (a :class:`~scenesparse.photos.PhotoViews`: ``train_cameras``,
        ``train_images`` and, for photos with alpha, ``train_masks``), then score and select the
        table's entries.

        With ``checkpoint``, the trainer's state is written there every ``checkpoint_every``
        steps (atomically), and a run finding one there goes on from it: stopping and starting
        again gives the same model as one uninterrupted run. A checkpoint of other training
        settings is refused; one of another ``keep_mass``, ``keep_ratio``, ``budget`` or
        ``score_rays`` (which only choose the entries kept) is resumed.
        """
        self._validate_params()
        for name in ("train_cameras", "train_images"):
            if not hasattr(views, name):
                raise InvalidParameterError(f"views must be a PhotoViews (with train_cameras "
                                            f"and train_images), got {type(views).__name__}")
        if not views.train_cameras:
            raise InvalidParameterError("views has no training photos (its train_cameras are "
                                        "empty): give at least one")
        # checked before anything of a fitted model is replaced (a refused fit keeps it)
        every = check_int("checkpoint_every", checkpoint_every, minimum=1)
        if checkpoint is not None:  # a checkpoint it cannot write fails now, not after training
            check_output_file(checkpoint, option="checkpoint")
        pixels = sum(c.width * c.height for c in views.train_cameras)
        if self.batch_rays > pixels:  # a step draws its rays from them, with repeats
            raise InvalidParameterError(f"batch_rays must be <= the {pixels:,} pixels of the "
                                        f"training photos, got {self.batch_rays}")
        start = time.perf_counter()
        aabb, aabb_from = scene_box(views.train_cameras)
        for path, scale in _aabb_scales(views):
            unused = (f"{path.name}'s aabb_scale {scale} is not used: the field is this one box, "
                      "with no model of a background beyond it")
            warnings.warn(f"{path}: aabb_scale {scale} (instant-ngp's box for the background) "
                          f"is not used: the field's box is {[round(v, 4) for v in aabb]} "
                          f"({aabb_from}), with no model of a background beyond it",
                          stacklevel=2)
            aabb_from += f"; {unused}"
        field = self._build_field(aabb)
        # a size too large fails before training, not after
        count = (None if self.keep_ratio is None and self.budget is None
                 else self._size(field.grid.num_entries))
        trainer = self._build_trainer(field, views)
        path = None if checkpoint is None else Path(checkpoint)
        views_key = None if path is None else _views_key(views)
        seconds = (self._resume(path, trainer, aabb, views_key)
                   if path is not None and path.is_file() else 0.0)
        # every check passed: the fit replaces the fitted model (one it refused keeps its own,
        # pruning_ and all), and a model fitted again is pruned again
        self.pruning_, self._loaded_unpruned = None, False
        # the settings the model is trained with, as plain numbers: what save() writes (a
        # set_params after fit changed the file, not the model; np.int64(1) made it unreadable)
        self._fitted_params = _plain(self.get_params())
        self.background_ = _background_of(views)
        self.aabb_, self.aabb_from_, self.field_, self.trainer_ = aabb, aabb_from, field, trainer
        self.occupancy_, self.step_length_ = trainer.occupancy, trainer.step_length
        self._views_key, self.resumed_seconds_ = views_key, seconds
        self._fit_start, self.resumed_from_step_ = start, self.trainer_.step_count
        # the step the checkpoint on disk holds (None: none written), for a Ctrl-C to name
        self._checkpointed = self.resumed_from_step_ if path is not None and path.is_file() else None
        left = self.steps - self.trainer_.step_count
        if progress and self.resumed_from_step_:  # said before the training it saves
            print(f"resumed {path}: {self.resumed_from_step_} of {self.steps} steps done"
                  + ("" if left else "; nothing left to train"), file=sys.stderr)

        def after_step(trainer: NerfTrainer) -> None:
            if path is not None and (trainer.step_count % every == 0 or interrupted
                                     or trainer.step_count == self.steps):
                self._checkpoint(path)
            if interrupted:
                raise KeyboardInterrupt
            if callback is not None:
                callback(trainer)

        try:
            if left > 0:
                with _interrupt_between_steps(path is not None) as interrupted:
                    self.trainer_.train(left, progress=progress, label="HollowNeRF"
                                        if self.saliency_budget is not None else "hash grid",
                                        callback=after_step)
            self.scores_ = self._score(progress)
        except KeyboardInterrupt as err:
            if path is None or err.args:
                raise
            raise KeyboardInterrupt(self._stopped(path)) from None
        if count is None:
            count = mass_budget(self.scores_, self.keep_mass)
        self.mask_ = select(self.scores_, budget=count)
        return self

    def _score(self, progress: bool) -> np.ndarray:
        trainer = self.trainer_
        g = torch.Generator().manual_seed(int(self.seed))
        pick = torch.randperm(len(trainer.origins), generator=g)[:self.score_rays]
        return contribution_scores(self.field_, self.occupancy_, trainer.origins[pick],
                                   trainer.dirs[pick], step=self.step_length_,
                                   near=trainer.near, progress=progress).numpy()

    def _checkpoint(self, path: Path) -> None:
        temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            seconds = self.resumed_seconds_ + time.perf_counter() - self._fit_start
            torch.save({"format": _CHECKPOINT, "params": self._fitted_params,
                        "views": self._views_key, "trainer": self.trainer_.state_dict(),
                        "seconds": seconds}, temp)
            os.replace(temp, path)
            self._checkpointed = self.trainer_.step_count
        finally:
            temp.unlink(missing_ok=True)

    def _stopped(self, path: Path) -> str:
        """What a Ctrl-C in (or after) :meth:`fit` with the checkpoint ``path`` says: the step
        training stopped after, and the step the checkpoint holds."""
        done, saved = self.trainer_.step_count, self._checkpointed
        when = (f"after training (all {done:,} steps)" if done >= self.steps
                else f"after step {done:,} of {self.steps:,}")
        if saved is None:
            return f"stopped {when}; no checkpoint was written to {path} yet"
        held = "it" if saved == done else f"step {saved:,}"
        return (f"stopped {when}; the checkpoint {path} holds {held}, and a run with it goes "
                "on from there")

    def _resume(self, path: Path, trainer: NerfTrainer, aabb: tuple[float, ...],
                views_key: str | None) -> float:
        """Load the checkpoint ``path`` into ``trainer`` (of a fit on views of ``views_key``, in
        the box ``aabb``), refused when another run wrote it; returns the seconds it records."""
        state = _read(path, _CHECKPOINTS)
        differs = {k: v for k, v in state["params"].items()
                   if k not in _SELECTION and self.get_params().get(k) != v}
        if differs:  # "name value": the command line spells each name as its option
            settings = ", ".join(f"{k} {v!r}" for k, v in differs.items())
            raise InvalidParameterError(f"{path} is a checkpoint of a run with {settings}; "
                                        "resume with the same settings or start elsewhere",
                                        params=tuple(differs))
        if "views" not in state:  # written before checkpoints recorded their views
            warnings.warn(f"{path} does not record the views it was trained on (an earlier "
                          "version wrote it); resuming on these", stacklevel=2)
        elif state["views"] != views_key:
            raise InvalidParameterError(f"{path} is a checkpoint of a run on other views (other "
                                        "photos, cameras or resolution); resume on the same "
                                        "views or start elsewhere")
        box = state["trainer"].get("field", {}).get("aabb")
        # the field holds its box in float32: one that follows the cameras is not their float64
        if box is not None and not torch.equal(torch.as_tensor(box, dtype=torch.float32),
                                               torch.tensor(aabb, dtype=torch.float32)):
            raise InvalidParameterError(f"{path} is a checkpoint of a run in another scene box "
                                        f"({[round(float(v), 4) for v in box]}, where these views "
                                        f"give {[round(v, 4) for v in aabb]}: an earlier "
                                        "version's default); start elsewhere")
        trainer.load_state_dict(state["trainer"])
        return float(state.get("seconds", 0.0))  # unrecorded before

    # ------------------------------------------------------------------ pruning
    def prune(self) -> HollowNeRF:
        """Compact the table to the entries of ``mask_`` (in place; once) and report them in
        ``pruning_``; returns the estimator. ``mask_`` is the fit's selection: a ``keep_mass``,
        ``keep_ratio`` or ``budget`` set since (``set_params``) takes effect at the next ``fit``,
        as in scikit-learn (with the same ``checkpoint``, a finished one, that fit trains no
        more and only selects again).

        When the compact table would not make the saved file smaller (few rows dropped: the
        record of which rows stay costs more than they do), the dropped rows are zeroed in the
        full table instead, which renders the same (``pruning_["compacted"]`` is then False)."""
        self._check_fitted()
        if getattr(self, "pruning_", None) is not None:
            return self
        if getattr(self, "_loaded_unpruned", False):  # mask_ is every row: pruning would keep all
            raise InvalidParameterError(
                "this HollowNeRF was loaded from a file of an unpruned model, which does not hold "
                "the fit's selection of entries (mask_, scores_); prune() before save(), or fit "
                "again")
        before = self.field_.num_parameters()
        keep = torch.from_numpy(self.mask_)
        levels = level_report(self.field_, keep)
        grid = self.field_.grid
        zeroed, full_bytes = None, None
        if grid.keep is None and not bool(keep.all()):
            zeroed, full_bytes = grid.table.detach().clone(), self.saved_bytes()
            zeroed[~keep] = 0.0
        grid.compact_(keep)
        if zeroed is not None and self.saved_bytes() >= full_bytes:
            grid.load_export({"table": zeroed})
        self.pruning_ = {"levels": levels, "params_before": before,
                         "params_after": self.field_.num_parameters(),
                         "compacted": grid.keep is not None}
        return self

    def transform(self, views: Any = None) -> HollowNeRF:
        """A pruned copy of the fitted model (``views`` is accepted for the estimator API and
        not used)."""
        self._check_fitted()
        return copy.deepcopy(self).prune()

    # ------------------------------------------------------------------ using
    def num_parameters(self) -> int:
        """Numbers a render needs: kept table rows, MLPs and the saliency grid."""
        self._check_fitted()
        return self.field_.num_parameters()

    def render(self, camera: Camera, *, background: Any = None) -> Tensor:
        """The scene from ``camera``: ``(H, W, 3)`` in [0, 1], over ``background`` (three
        numbers in [0, 1], ``"black"`` or ``"white"``; default ``background_``, the colour the
        training photos were composited over)."""
        self._check_fitted()
        check_camera(camera)  # was "'str' object has no attribute 'height'"
        colour = self.background_ if background is None else check_colour(
            "background", background, unit=True)  # as the photos, read in [0, 1]
        return render_image(self.field_, self.occupancy_, camera, step=self.step_length_,
                            background=colour)

    def evaluate(self, cameras: list[Camera], images: list[Tensor], *, progress: bool = False
                 ) -> dict[str, float]:
        """Mean PSNR and SSIM of the renders from ``cameras`` (over ``background_``, as the
        photos of a :class:`~scenesparse.photos.PhotoViews` are) against ``images``."""
        from scenesparse.imagemetrics import psnr, ssim
        from sparsebox.progress import progress_bar

        self._check_fitted()
        # one view, not in a list: "object of type 'Camera' has no len()" (a stack of photos,
        # (N, H, W, 3), is one per view)
        for name, one in (("cameras", isinstance(cameras, Camera)),
                          ("images", isinstance(images, Tensor) and images.ndim == 3)):
            if one:
                raise InvalidParameterError(f"{name} must hold one per view, got one "
                                            f"{name[:-1]}: pass [{name[:-1]}]")
        # photos that require grad (a fit takes them) are compared as the numbers they hold
        images = [i.detach() if isinstance(i, Tensor) else i for i in images]
        check_images(cameras, images)  # 8-bit photos or other sizes give no honest PSNR
        renders = [self.render(c).numpy()
                   for c in progress_bar(cameras, "rendering the held-out views",
                                         enabled=progress)]
        photos = [i.cpu().numpy() for i in images]
        return {"psnr": float(np.mean([psnr(r, i) for r, i in zip(renders, photos, strict=True)])),
                "ssim": float(np.mean([ssim(r, i) for r, i in zip(renders, photos, strict=True)]))}

    # ------------------------------------------------------------------ files
    def save(self, path: str | os.PathLike[str]) -> int:
        """Write what rendering needs (kept table rows and which rows they are, MLPs, saliency
        grid, occupancy bits, the box, settings) with :func:`torch.save`; returns the file's
        bytes. torch's archive holds the file's name, so the file is written as ``model.pt`` in
        a temporary folder beside ``path`` and moved there: its size does not depend on the
        name."""
        state = self._state()
        path = check_output_file(path, option="path")
        with tempfile.TemporaryDirectory(prefix=".hollownerf_", dir=path.parent) as folder:
            temp = Path(folder) / "model.pt"
            torch.save(state, temp)
            os.replace(temp, path)
        return path.stat().st_size

    def saved_bytes(self) -> int:
        """The bytes :meth:`save` would write now, measured in a temporary folder that is
        removed.

        Returns
        -------
        int
            The file's size in bytes. The class example calls it.
        """
        with tempfile.TemporaryDirectory(prefix="hollownerf_") as folder:
            return self.save(Path(folder) / "model.pt")

    def _state(self) -> dict[str, Any]:
        """What :meth:`save` writes."""
        self._check_fitted()
        field = self.field_
        mlp = {k: v for k, v in field.state_dict().items() if not k.startswith("grid.")}
        params = getattr(self, "_fitted_params", None) or _plain(self.get_params())
        state = {"format": FORMAT, "params": params, "mlp_and_saliency": mlp,
                 "grid": field.grid.export(), "occupancy": self.occupancy_.packed(),
                 "step_length": self.step_length_, "gate_alpha": field.gate_alpha,
                 "background": list(self.background_)}
        if getattr(self, "pruning_", None) is not None and bool(self.mask_.all()):
            state["pruned"] = True  # a prune that kept every row: the table cannot say so
        return state

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> HollowNeRF:
        """A model written by :meth:`save`, ready to render (``mask_``: the entries the file
        keeps, and for a pruned model ``pruning_``'s ``levels`` and ``compacted``). The fit's
        selection (``scores_``, and ``mask_`` before :meth:`prune`) is not stored, so an
        unpruned model's ``mask_`` keeps every entry and its :meth:`prune` is refused: prune
        before saving."""
        state = _read(Path(path), _READABLE)
        model = cls(**state["params"])
        model._fitted_params = dict(state["params"])
        field = model._build_field()
        field.grid.load_export(state["grid"])
        field.load_state_dict({**state["mlp_and_saliency"],
                               "grid.table": field.grid.table.detach()}, strict=True)
        field.gate_alpha = float(state["gate_alpha"])
        model.field_ = field
        model.aabb_ = tuple(float(v) for v in field.aabb)  # the file's (its field's buffer)
        model.occupancy_ = OccupancyGrid(model.occupancy_resolution)
        model.occupancy_.load_packed(state["occupancy"])
        model.step_length_ = float(state["step_length"])
        # files written before the background was saved were trained over white
        model.background_ = tuple(state.get("background", _WHITE))
        keep = field.grid.keep
        if keep is None:  # unpruned, or pruned by zeroing rows (a trained row is never all 0)
            keep = field.grid.table.detach().ne(0).any(dim=1)
        model.mask_ = keep.numpy().copy()
        pruned = not bool(keep.all()) or bool(state.get("pruned", False))
        model.pruning_ = None if not pruned else {
            "levels": level_report(field, keep), "compacted": field.grid.keep is not None}
        model._loaded_unpruned = not pruned
        return model


def _plain(params: Mapping[str, Any]) -> dict[str, Any]:
    """Settings with numpy scalars (and 0-d tensors) as the Python numbers they hold: a file
    that ``torch.load(weights_only=True)`` reads holds no others."""
    return {name: scalar_item(value) for name, value in params.items()}


def _check_grid(levels: int, features: int, table_size: int, base: int, finest: int) -> None:
    """Refuse a hash grid past what :class:`HashGrid` supports or this machine holds, counting
    its rows without building it (a level holds ``min((N + 1)^3, table_size)`` rows)."""
    # Python integers: numpy ones could wrap around in the sums below
    levels, features, table_size, base, finest = (int(x) for x in (levels, features, table_size,
                                                                   base, finest))
    if levels > _MAX_LEVELS:
        raise InvalidParameterError(f"levels must be <= {_MAX_LEVELS} (Instant-NGP uses 16; "
                                    f"each level adds 8 look-ups and {features} features to "
                                    f"every sample of every step), got {levels}")
    if finest < base:
        raise InvalidParameterError(f"finest_resolution must be >= base_resolution ({base}), "
                                    f"got {finest}")
    if levels == 1 and finest != base:  # was trained at base_resolution, finest_resolution unused
        raise InvalidParameterError(f"with levels 1 the one level is at base_resolution ({base}), "
                                    f"so finest_resolution must be {base}, got {finest}",
                                    params=("levels", "finest_resolution"))
    if finest > _MAX_RESOLUTION:
        raise InvalidParameterError(f"finest_resolution must be <= 2^24 = {_MAX_RESOLUTION} (the "
                                    "encoder places points in float32, which cannot tell the "
                                    f"cells of a finer level apart), got {finest}")
    rows = sum(min((n + 1) ** 3, table_size) for n in level_resolutions(levels, base, finest))
    table = f"the hash table of levels {levels} and table_size {table_size}"
    if rows > _MAX_TABLE_ROWS:
        raise InvalidParameterError(f"{table} would hold {rows:,} rows, more than the 2^31 a saved "
                                    "model can number; give fewer levels or a smaller table_size",
                                    params=("levels", "table_size"))
    need, have = 4 * rows * features * 4, _physical_memory()
    if have is not None and need > have:
        raise InvalidParameterError(f"{table} ({rows:,} rows of {features} float32 features) "
                                    f"needs {need / 2**30:.1f} GiB with Adam's two moments and a "
                                    f"step's gradient, more than the {have / 2**30:.1f} GiB of "
                                    "memory here; give fewer levels or a smaller table_size",
                                    params=("levels", "table_size"))


#: bytes per cell: the saliency grid's float32 logits, their gradient and Adam's two moments;
#: the occupancy grid's float32 density and flag, and the int64 index of its full update
_SALIENCY_CELL_BYTES = 4 * 4
_OCCUPANCY_CELL_BYTES = 4 + 1 + 8


def _check_cell_grids(saliency_budget: float | None, saliency_resolution: int,
                      occupancy_resolution: int) -> None:
    """Refuse a saliency grid (built where ``saliency_budget`` is given) or an occupancy grid of
    ``resolution^3`` cells that this machine's memory cannot hold (torch failed allocating it,
    naming no option)."""
    have = _physical_memory()
    grids = [("occupancy_resolution", occupancy_resolution, _OCCUPANCY_CELL_BYTES,
              "an occupancy grid")]
    if saliency_budget is not None:
        grids.append(("saliency_resolution", saliency_resolution, _SALIENCY_CELL_BYTES,
                      "a saliency grid"))
    for name, resolution, per_cell, grid in grids:
        need = per_cell * resolution**3
        if have is not None and need > have:
            raise InvalidParameterError(
                f"{name} {resolution} makes {grid} of {resolution**3:,} cells that needs "
                f"{need / 2**30:,.1f} GiB, more than the {have / 2**30:.1f} GiB of memory here; "
                f"give a smaller {name}", params=(name,))


@contextlib.contextmanager
def _interrupt_between_steps(enabled: bool) -> Iterator[list[int]]:
    """Within it, a Ctrl-C (SIGINT) is recorded in the list it gives, for the step under way to
    end and be checkpointed before the run stops (it then raises ``KeyboardInterrupt`` itself
    where the code inside did not); a second Ctrl-C interrupts at once. Only where ``enabled``,
    in the main thread, and where SIGINT has Python's own handler (not ignored, not the
    caller's)."""
    interrupted: list[int] = []
    if not enabled or threading.current_thread() is not threading.main_thread() or (
            signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield interrupted
        return

    def defer(signum: int, frame: Any) -> None:
        interrupted.append(signum)
        signal.signal(signal.SIGINT, signal.default_int_handler)

    signal.signal(signal.SIGINT, defer)
    try:
        yield interrupted
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if interrupted:  # after the last step: the checkpoint of the whole run is written
        raise KeyboardInterrupt


def _physical_memory() -> int | None:
    """This machine's memory in bytes (None where the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _read(path: Path, formats: tuple[str, ...]) -> dict[str, Any]:
    """The state in ``path``, written in one of ``formats`` (the first is the current one)."""
    if path.is_dir():
        model = path / "model.pt"
        raise InputFileError(f"{path} is a folder, not a file written by HollowNeRF"
                             + (f" ({model} is the model in it)" if model.is_file() else ""))
    if not path.exists():
        raise InputFileError(f"{path}: no such file")
    if not zipfile.is_zipfile(path):  # torch.save writes a zip archive
        raise InputFileError(f"{path}: not a file written by HollowNeRF (not a torch archive: "
                             "another kind of file, or one cut short)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:  # torch's weights-only refusal, with advice that does not apply
        raise InputFileError(f"{path}: not a file written by HollowNeRF (a torch archive of "
                             "other objects)") from None
    except Exception as err:  # torch raises many kinds for a file that is not its own
        raise InputFileError(f"{path}: not a file written by HollowNeRF ({err})") from None
    if not isinstance(state, dict) or state.get("format") not in formats:
        found = state.get("format") if isinstance(state, dict) else None
        hint, model = "", path.parent / "model.pt"
        if isinstance(found, str) and found.endswith("-checkpoint") and formats != _CHECKPOINTS:
            hint = ": a training checkpoint, not a saved model" + (
                f"; {model} is the run's model" if model.is_file() else "")
        elif isinstance(found, str) and found.startswith("sparsebox-hollownerf/") \
                and not found.endswith("-checkpoint") and formats == _CHECKPOINTS:  # a model.pt
            hint = (": a saved model, not a training checkpoint; move it away, and a run "
                    "trains anew")
        raise InputFileError(f"{path}: not a {formats[0]} file"
                             + (f" (its format is {found}{hint})" if isinstance(found, str) else ""))
    return state


def _views_key(views: Any) -> str:
    """A digest of the training views (photos, cameras, sizes): a checkpoint resumes only on
    the views it was trained on."""
    digest = hashlib.sha256()
    for cam, image in zip(views.train_cameras, views.train_images, strict=True):
        digest.update(repr((cam.width, cam.height, cam.fx, cam.fy, cam.cx, cam.cy)).encode())
        digest.update(cam.world_to_cam.detach().cpu().numpy().astype(np.float32).tobytes())
        digest.update(image.detach().cpu().numpy().astype(np.float32).tobytes())
    return digest.hexdigest()


def _aabb_scales(views: Any) -> list[tuple[Path, Any]]:
    """``(file, aabb_scale)`` for each camera file of ``views`` (``PhotoViews.sources``: an
    instant-ngp or nerfstudio ``transforms*.json``) that states an ``aabb_scale`` other than 1,
    instant-ngp's box for an unbounded background, which the field's box does not follow."""
    import json

    found = []
    for path in getattr(views, "sources", None) or []:
        if Path(path).suffix.lower() != ".json":
            continue
        try:
            meta = json.loads(Path(path).read_text())
        except (OSError, ValueError):
            continue
        scale = meta.get("aabb_scale", 1) if isinstance(meta, dict) else 1
        if scale != 1:
            found.append((Path(path), scale))
    return found


def _background_of(views: Any) -> tuple[float, float, float]:
    """The colour ``views``' photos were composited over (``PhotoViews.background``); views
    built by hand, without one, are taken as white."""
    given = getattr(views, "background", None)
    return _WHITE if given is None else check_colour("views.background", given, unit=True)
