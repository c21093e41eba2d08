"""Per-Gaussian importance from renders, and pruning at an exact budget.

All render-based scores come from the same pass of :func:`scenesparse.rendering.render` (any
backend; the statistics are the same):

* ``"lightgaussian"``: global significance, the sum over the pixels a Gaussian is blended into of
  ``opacity * T``, times ``(V / V_ref)^0.1`` with ``V`` its volume and ``V_ref`` the volume
  LightGaussian's code takes: entry ``int(0.9 N)`` of the N volumes sorted in descending order,
  which nine in ten Gaussians reach (Fan et al., LightGaussian, NeurIPS 2024). ``V_ref`` is one
  number for the whole scene, so it rescales every score alike and never changes the ranking;
  it sets the scale of a ``threshold``.
* ``"radsplat"``: the largest blending weight ``alpha * T`` over all rays (Niemeyer et al.,
  RadSplat, 2024).
* ``"minisplatting"``: the sum of blending weights ``alpha * T`` (Fang and Wang,
  Mini-Splatting, ECCV 2024).
* ``"pup"``: PUP 3D-GS's sensitivity (Hanson et al., 2024): the log-determinant of each
  Gaussian's Fisher information for its mean and (log) scale, ``F = sum_views sum_pixels
  sum_channels g g'`` with ``g`` the gradient of a pixel's colour with respect to those six
  parameters (:func:`sensitivity_scores`).
* ``"opacity"`` and ``"volume"``: no rendering.

:class:`GaussianPruner` prunes in rounds and, with ``recover_steps``, fine-tunes what is left
after each round (:class:`~scenesparse.training.SplatTrainer`) towards the photos or towards the
unpruned model's renders, as LightGaussian and PUP 3D-GS do.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from scenesparse.cameras import Camera, orbit_cameras
from scenesparse.gaussians import GaussianScene, check_finite, gaussians_digest
from scenesparse.rendering import BACKENDS, check_cameras, render
from sparsebox._validation import Interval, Options, check_choice, check_colour, is_unit_colour
from sparsebox.base import Sparsifier, with_gradients
from sparsebox.exceptions import InvalidParameterError
from sparsebox.progress import progress_bar
from sparsebox.select import select

__all__ = ["SCORES", "RenderStatistics", "render_statistics", "importance_scores",
           "sensitivity_scores", "fisher_information", "GaussianPruner", "default_cameras",
           "cameras_seeing"]

SCORES = ("lightgaussian", "radsplat", "minisplatting", "pup", "opacity", "volume")


@dataclass
class RenderStatistics:
    """Sums over views of what :func:`~scenesparse.rendering.render` reports per Gaussian."""

    significance: np.ndarray
    max_weight: np.ndarray
    sum_weight: np.ndarray
    hits: np.ndarray
    views: int


def default_cameras(scene: GaussianScene, num_views: int, resolution: int, *,
                    phase: float = 0.0, fov_deg: float = 50.0) -> list[Camera]:
    """An orbit that frames the scene: around the centre of the 1-99th percentile box of the
    Gaussian centres, at 0.8 times that box's diagonal (z up); where the centres are all at one
    point (a single Gaussian), at 8 times the largest standard deviation (or 1).

    Examples
    --------
    >>> one = GaussianScene(means=torch.ones(1, 3), quats=torch.tensor([[1.0, 0, 0, 0]]),
    ...                     log_scales=torch.zeros(1, 3), opacity_logits=torch.zeros(1),
    ...                     sh_dc=torch.zeros(1, 3), sh_rest=torch.zeros(1, 0, 3))
    >>> round(float((default_cameras(one, 1, 16)[0].center - 1).norm()), 3)
    8.0
    """
    pts = scene.means.detach().cpu().numpy()
    lo, hi = np.percentile(pts, 1, axis=0), np.percentile(pts, 99, axis=0)
    size = float(np.linalg.norm(hi - lo))
    if not size > 0:  # a camera at the centre itself looked nowhere (NaN poses) and saw nothing
        size = 10.0 * float(scene.log_scales.detach().max().exp()) if len(scene) else 0.0
        size = size if 0 < size < np.inf else 1.25
    return orbit_cameras((lo + hi) / 2, 0.8 * size, num_views, width=resolution,
                         height=resolution, fov_deg=fov_deg, phase=phase)


def check_cameras_see(scene: GaussianScene, cameras: Sequence[Camera], why: str = "") -> None:
    """Refuse ``cameras`` none of which sees a Gaussian of ``scene`` (:func:`cameras_seeing`),
    saying ``why`` that matters and that the poses' convention is the likely cause.

    Examples
    --------
    >>> from scenesparse.cameras import Camera
    >>> scene = GaussianScene(means=torch.tensor([[0.0, 0.0, 2.0]]),
    ...                       quats=torch.tensor([[1.0, 0, 0, 0]]),
    ...                       log_scales=torch.full((1, 3), -3.0), opacity_logits=torch.zeros(1),
    ...                       sh_dc=torch.zeros(1, 3), sh_rest=torch.zeros(1, 0, 3))
    >>> ahead = Camera(torch.eye(4), 10.0, 10.0, 8.0, 8.0, 16, 16)
    >>> behind = Camera(torch.diag(torch.tensor([-1.0, 1.0, -1.0, 1.0])), 10.0, 10.0, 8.0, 8.0,
    ...                 16, 16)
    >>> check_cameras_see(scene, [behind, ahead])  # one camera that sees is enough: no error
    >>> check_cameras_see(scene, [behind], ", so nothing can be scored")
    Traceback (most recent call last):
    ...
    sparsebox.exceptions.InvalidParameterError: the one camera sees no Gaussian of the scene, so \
nothing can be scored: check the poses' convention (Camera takes a world-to-camera \
transform with OpenCV axes: x right, y down, z forward)
    """
    if not any(cameras_seeing(scene, cameras)):
        who = ("the one camera sees no" if len(cameras) == 1
               else f"none of the {len(cameras)} cameras sees a")
        raise InvalidParameterError(
            f"{who} Gaussian of the scene{why}: check the "
            "poses' convention (Camera takes a world-to-camera transform with OpenCV axes: x "
            "right, y down, z forward)")


def cameras_seeing(scene: GaussianScene, cameras: Sequence[Camera]) -> Iterator[bool]:
    """For each camera in turn, whether a Gaussian of ``scene`` in front of it reaches into its
    image (its centre, widened by three of its largest standard deviations); ``any(...)`` stops
    at the first that does. A camera whose pose is in another convention (world-to-camera for
    camera-to-world, OpenGL axes for OpenCV ones) usually sees none: every render-based score is
    then 0, and training from it has nothing to fit.

    Examples
    --------
    >>> from scenesparse.cameras import Camera
    >>> scene = GaussianScene(means=torch.tensor([[0.0, 0.0, 2.0]]),
    ...                       quats=torch.tensor([[1.0, 0, 0, 0]]),
    ...                       log_scales=torch.full((1, 3), -3.0), opacity_logits=torch.zeros(1),
    ...                       sh_dc=torch.zeros(1, 3), sh_rest=torch.zeros(1, 0, 3))
    >>> ahead = Camera(torch.eye(4), 10.0, 10.0, 8.0, 8.0, 16, 16)
    >>> behind = Camera(torch.diag(torch.tensor([-1.0, 1.0, -1.0, 1.0])), 10.0, 10.0, 8.0, 8.0,
    ...                 16, 16)
    >>> list(cameras_seeing(scene, [ahead, behind]))
    [True, False]
    """
    means = scene.means.detach().cpu().double()
    reach = 3.0 * scene.log_scales.detach().cpu().double().max(dim=1).values.exp()
    for cam in cameras:
        w2c = cam.world_to_cam.detach().cpu().double()
        p = means @ w2c[:3, :3].T + w2c[:3, 3]
        front = p[:, 2] > cam.near
        p, z = p[front], p[front, 2]
        r = reach[front] * max(cam.fx, cam.fy) / z
        u, v = cam.fx * p[:, 0] / z + cam.cx, cam.fy * p[:, 1] / z + cam.cy
        yield bool(((u + r >= 0) & (u - r < cam.width) & (v + r >= 0)
                    & (v - r < cam.height)).any())


def render_statistics(scene: GaussianScene, cameras: Sequence[Camera], *,
                      backend: str = "auto", progress: bool = False) -> RenderStatistics:
    """Per-Gaussian statistics summed (``max_weight``: maximised) over ``cameras``, rendered
    with ``backend`` (see :func:`~scenesparse.rendering.render`); a progress bar with
    ``progress``."""
    check_cameras(cameras)  # none gave zeros, one camera or a generator failed deep inside
    n = len(scene)
    sig, mx, sw, hits = (np.zeros(n, dtype=np.float64) for _ in range(4))
    with torch.no_grad():
        for cam in progress_bar(cameras, "scoring views", enabled=progress):
            r = render(scene, cam, backend=backend, scores=True)
            sig += r.significance.cpu().numpy()
            sw += r.sum_weight.cpu().numpy()
            hits += r.hits.cpu().numpy()
            np.maximum(mx, r.max_weight.cpu().numpy(), out=mx)
    return RenderStatistics(sig, mx, sw, hits, len(cameras))


def sensitivity_scores(scene: GaussianScene, cameras: Sequence[Camera], *,
                       background=(0.0, 0.0, 0.0), progress: bool = False) -> np.ndarray:
    """PUP 3D-GS's sensitivity per Gaussian: ``log det F`` with ``F`` (6 x 6, from
    :func:`fisher_information`, rendered over ``background``) the Fisher information of its mean
    and log-scale. A Gaussian no view sees scores the log-determinant of ``1e-30 I``.

    Examples
    --------
    >>> from scenesparse.cameras import orbit_cameras
    >>> one = GaussianScene(means=torch.zeros(2, 3), quats=torch.tensor([[1.0, 0, 0, 0]] * 2),
    ...                     log_scales=torch.tensor([[-2.0] * 3, [-9.0] * 3]),
    ...                     opacity_logits=torch.tensor([2.0, 2.0]), sh_dc=torch.ones(2, 3),
    ...                     sh_rest=torch.zeros(2, 0, 3))
    >>> s = sensitivity_scores(one, orbit_cameras((0, 0, 0), 1.0, 2, width=24, height=24))
    >>> bool(s[0] > s[1])  # the big Gaussian matters more than the sub-pixel one
    True
    """
    fisher = fisher_information(scene, cameras, background=background, progress=progress)
    eye = torch.eye(6, dtype=torch.float64) * 1e-30
    return torch.linalg.slogdet(fisher + eye).logabsdet.numpy()


@with_gradients
def fisher_information(scene: GaussianScene, cameras: Sequence[Camera], *,
                       background=(0.0, 0.0, 0.0), progress: bool = False) -> torch.Tensor:
    """``(N, 6, 6)``: per Gaussian, ``sum_views sum_pixels sum_channels g g'`` with ``g`` the
    gradient of a pixel's colour, rendered over ``background``, with respect to the Gaussian's
    mean (3) and log-scale (3).

    Per view, the numba kernel sums ``h h'`` (5 x 5) with ``h`` the gradient of a pixel colour
    with respect to the Gaussian's 2D mean and conic; the projection's Jacobian ``P`` (5 x 6,
    from autograd) turns it into ``P' (sum h h') P``. Colours are taken as independent of the
    position (exact for degree-0 SH).
    """
    from scenesparse._raster_numba import composite_fisher
    from scenesparse.rendering import ALPHA_MAX, ALPHA_MIN, T_MIN, TILE, composite_lists, project

    check_cameras(cameras)  # none gave every Gaussian the score of 1e-30 I
    bg = np.asarray(check_colour("background", background, unit=True), dtype=np.float32)
    n = len(scene)
    fisher = torch.zeros(n, 6, 6, dtype=torch.float64)
    upper = torch.triu_indices(5, 5)
    for cam in progress_bar(cameras, "sensitivity views", enabled=progress):
        means = scene.means.detach().cpu().clone().requires_grad_(True)
        log_scales = scene.log_scales.detach().cpu().clone().requires_grad_(True)
        view = GaussianScene(means=means, quats=scene.quats.detach().cpu(),
                             log_scales=log_scales,
                             opacity_logits=scene.opacity_logits.detach().cpu(),
                             sh_dc=scene.sh_dc.detach().cpu(),
                             sh_rest=scene.sh_rest.detach().cpu())
        proj = project(view, cam)
        order, starts, gauss = composite_lists(proj, cam)
        if gauss.size == 0:
            continue
        arrays = [np.ascontiguousarray(t.detach().numpy(), dtype=np.float32)
                  for t in (proj.means2d, proj.conics, proj.opacities, proj.colors)]
        pair = composite_fisher(order, starts, gauss, *arrays, bg,
                                cam.width, cam.height, TILE, ALPHA_MIN, ALPHA_MAX, T_MIN)
        m_upper = np.stack([np.bincount(gauss, pair[:, c], n) for c in range(15)], axis=1)
        m = torch.zeros(n, 5, 5, dtype=torch.float64)
        m[:, upper[0], upper[1]] = torch.from_numpy(m_upper)
        m = m + m.transpose(1, 2) - torch.diag_embed(torch.diagonal(m, dim1=1, dim2=2))
        seen = torch.from_numpy(np.bincount(gauss, minlength=n) > 0)
        # the projection's Jacobian, row by row: each Gaussian's outputs depend on its own inputs
        outputs = torch.cat([proj.means2d, proj.conics], dim=1)  # (N, 5)
        jac = torch.zeros(n, 5, 6, dtype=torch.float64)
        for k in range(5):
            gm, gs = torch.autograd.grad(outputs[:, k].sum(), (means, log_scales),
                                         retain_graph=k < 4)
            jac[:, k, :3], jac[:, k, 3:] = gm.double(), gs.double()
        fisher[seen] += jac[seen].transpose(1, 2) @ m[seen] @ jac[seen]
    return fisher


def importance_scores(scene: GaussianScene, score: str = "lightgaussian",
                      statistics: RenderStatistics | None = None,
                      cameras: Sequence[Camera] | None = None, *,
                      background=(0.0, 0.0, 0.0)) -> np.ndarray:
    """One score per Gaussian (higher: more worth keeping). Render scores need ``statistics``
    (:func:`render_statistics` of this scene); ``"pup"`` needs ``cameras``, and renders over
    ``background`` (the other scores do not depend on it)."""
    check_choice("score", score, SCORES)
    if score == "pup":
        if cameras is None:
            raise ValueError("score 'pup' needs the cameras of its views")
        check_cameras(cameras)  # none scored every Gaussian alike (None: no default orbit here)
        return sensitivity_scores(scene, cameras, background=background)
    if score == "opacity":
        return scene.opacities.detach().cpu().numpy().astype(np.float64)
    volume = torch.exp(scene.log_scales.detach().cpu().double().sum(dim=1)).numpy()
    if score == "volume":
        return volume
    if statistics is None:
        raise ValueError(f"score {score!r} needs render statistics (render_statistics)")
    if len(statistics.significance) != len(scene):  # another scene's: scores of the wrong rows
        raise InvalidParameterError(
            f"statistics are of {len(statistics.significance)} Gaussians, the scene has "
            f"{len(scene)}: give render_statistics of this scene")
    if score == "radsplat":
        return statistics.max_weight
    if score == "minisplatting":
        return statistics.sum_weight
    v_ref = np.partition(volume, volume.size - 1 - int(0.9 * volume.size))[
        volume.size - 1 - int(0.9 * volume.size)] if volume.size else 1.0
    return statistics.significance * (volume / max(v_ref, np.finfo(float).tiny)) ** 0.1


class GaussianPruner(Sparsifier):
    """Choose the Gaussians to keep: a score, then the core's selector; with ``recover_steps``,
    fine-tune what is left after each round.

    Parameters
    ----------
    score : {"radsplat", "lightgaussian", "minisplatting", "pup", "opacity", "volume"}
    keep_ratio, budget : float, int (at most one; default keep_ratio 0.34)
        The fraction of the Gaussians kept, or their exact count.
    threshold : float, optional
        Instead of a size: keep every Gaussian scoring at least this (one round); one that
        would keep none is refused.
    rounds : int
        Prune in this many rounds, re-scoring what is left each time, the kept count shrinking
        geometrically to the target. Gaussians hidden behind removed ones then get their due:
        measured on the shared donut scene at keep ratio 0.34, RadSplat's score goes from 28.6 dB
        (1 round) to 30.8 dB (3 rounds) against the unpruned render on held-out views.
    recover_steps : int
        After each round, this many training steps of the Gaussians left (0: none), towards
        ``targets`` (photos) when ``fit`` gets them, else towards the unpruned scene's renders
        from the same cameras (LightGaussian and PUP 3D-GS fine-tune towards photos).
    views, resolution : int
        The default orbit for render-based scores and recovery (ignored when ``cameras`` is
        given to fit).
    backend : {"auto", "torch", "numba", "gsplat"}
        The renderer that gathers the statistics and trains
        (:func:`~scenesparse.rendering.render`).
    background : sequence of 3 floats in [0, 1]
        The colour the scene is rendered over for PUP's sensitivity and for recovery (the
        unpruned scene's renders, or the one ``targets`` were composited over: white for a
        scene trained on NeRF-synthetic photos over white).

    Attributes
    ----------
    mask_ : ndarray of bool
        The Gaussians kept.
    scores_ : ndarray of float
        One per Gaussian of the fitted scene, for ranking: the score of the last round that saw
        the Gaussian, shifted (by one constant per round) above every score of the Gaussians
        earlier rounds removed, so that ``select(scores_, budget=mask_.sum())`` gives
        ``mask_``. So not the raw scores where a round's go below 0 (PUP's log-determinants,
        shifted to start at 0) or after the first round; a ``threshold`` applies to the raw
        ones, which :func:`importance_scores` gives.
    statistics_ : RenderStatistics or None
        The last round's render statistics.
    scene_ : GaussianScene
        The kept Gaussians, fine-tuned when ``recover_steps`` (then what ``transform`` returns,
        which takes only the fitted scene).
    history_ : list of dict
        Per round: ``round``, ``kept`` and, with recovery, ``train_loss`` and ``train_psnr``:
        the last recovery step's, on the one training view it drew (not a held-out figure).

    Examples
    --------
    >>> import torch
    >>> scene = GaussianScene(means=torch.rand(50, 3), quats=torch.tensor([[1.0, 0, 0, 0]] * 50),
    ...                       log_scales=torch.full((50, 3), -3.0),
    ...                       opacity_logits=torch.linspace(-3, 3, 50), sh_dc=torch.zeros(50, 3),
    ...                       sh_rest=torch.zeros(50, 0, 3))
    >>> GaussianPruner("opacity", budget=10).fit(scene).mask_[-10:].all()
    np.True_
    """

    item = "gaussian"
    sizing = ("keep_ratio", "budget")
    default_size = ("keep_ratio", 0.34)
    size_alternatives = ("threshold",)
    _parameter_constraints = {
        "score": [Options(SCORES)],
        "threshold": [Interval(numbers.Real, None, None), None],
        "rounds": [Interval(numbers.Integral, 1, None, closed="left")],
        "recover_steps": [Interval(numbers.Integral, 0, None, closed="left")],
        "views": [Interval(numbers.Integral, 1, None, closed="left")],
        "resolution": [Interval(numbers.Integral, 8, None, closed="left")],
        "backend": [Options(("auto", *BACKENDS))],
        "background": [is_unit_colour],
    }

    def __init__(self, score: str = "radsplat", *, keep_ratio: float | None = None,
                 budget: int | None = None, threshold: float | None = None, rounds: int = 3,
                 recover_steps: int = 0, views: int = 32, resolution: int = 256,
                 backend: str = "auto", background=(0.0, 0.0, 0.0)) -> None:
        self.score = score
        self.keep_ratio, self.budget, self.threshold = keep_ratio, budget, threshold
        self.rounds = rounds
        self.recover_steps = recover_steps
        self.views, self.resolution = views, resolution
        self.backend = backend
        self.background = background

    def fit(self, scene: GaussianScene, cameras: Sequence[Camera] | None = None,
            targets: Sequence[torch.Tensor] | None = None, *,
            progress: bool = False) -> GaussianPruner:
        """Score and prune ``scene`` in rounds; ``cameras`` (default: an orbit) are the views of
        the scores and of the recovery, ``targets`` the photos they saw (default: the unpruned
        scene's renders). A scene holding NaN or infinite values is refused
        (:func:`~scenesparse.gaussians.check_finite`)."""
        self._validate_params()
        if not isinstance(scene, GaussianScene):
            raise InvalidParameterError(f"scene must be a GaussianScene (read_ply(path) reads one "
                                        f"from a PLY), got {type(scene).__name__}")
        check_finite(scene)
        check_cameras(cameras, none_means="the default orbit")
        if targets is not None and cameras is None:
            raise InvalidParameterError("targets need their cameras: one target per camera")
        if targets is not None:  # (checked only once recovery used them: 10 x 10 for 64 x 64)
            from scenesparse.training import check_targets

            check_targets(cameras, targets)
        rounds = 1 if self.threshold is not None else self.rounds
        n = len(scene)
        if n == 0:  # nothing to frame, score or train
            self._size(0)
            self.statistics_, self.history_, self.scene_ = None, [], scene
            self._fitted_digest = gaussians_digest(scene)
            self.scores_, self.mask_ = np.zeros(0), np.zeros(0, dtype=bool)
            return self
        needs_views = self.score not in ("opacity", "volume") or self.recover_steps
        cams = None
        if needs_views:
            cams = list(cameras) if cameras is not None else default_cameras(
                scene, self.views, self.resolution)
            if cameras is not None:
                check_cameras_see(scene, cams)
        target = None if self.threshold is not None else self._size(n)
        trainer = None
        if self.recover_steps:
            from scenesparse.training import SplatTrainer

            if targets is None:
                with torch.no_grad():
                    targets = [render(scene, c, backend=self.backend, background=self.background
                                      ).image.clamp(0, 1).cpu() for c in cams]
            trainer = SplatTrainer(scene, cams, targets, backend=self.backend,
                                   schedule_steps=self.recover_steps * rounds,
                                   background=self.background)
        alive = np.arange(n)
        scores = np.full(n, -np.inf)
        floor = 0.0
        stats = None
        history = []
        for r in range(rounds):
            current = trainer.scene() if trainer is not None else (
                scene.subset(np.isin(np.arange(n), alive)) if r else scene)
            stats = (render_statistics(current, cams, backend=self.backend, progress=progress)
                     if cams and self.score not in ("opacity", "volume", "pup") else None)
            round_scores = importance_scores(current, self.score, stats, cams,
                                             background=self.background)
            if target is None:
                keep = select(round_scores, threshold=self.threshold)
                if not keep.any():
                    raise InvalidParameterError(
                        f"threshold={self.threshold} keeps no Gaussian: the {self.score} scores "
                        f"reach at most {np.nanmax(round_scores, initial=-np.inf):.6g}")
            else:
                count = target if r == rounds - 1 else round(n * (target / max(n, 1)) ** (
                    (r + 1) / rounds))
                keep = select(round_scores, budget=max(count, target))
            # this round's scores, shifted above those of every Gaussian removed before (an
            # infinite or undefined score, such as the log-determinant of a degenerate Fisher
            # block, goes just past the round's finite ones, so the shift stays defined)
            finite = round_scores[np.isfinite(round_scores)]
            low, high = (finite.min(), finite.max()) if finite.size else (0.0, 0.0)
            clean = np.nan_to_num(round_scores, nan=low - 1.0, neginf=low - 1.0,
                                  posinf=high + 1.0)
            shifted = clean - clean.min(initial=0.0) + floor
            scores[alive] = shifted
            floor = float(shifted.max(initial=floor)) + 1.0
            alive = alive[keep]
            record = {"round": r + 1, "kept": int(alive.size)}
            if trainer is not None:
                trainer.prune(keep)
                steps = trainer.train(self.recover_steps, progress=progress,
                                      label=f"recovery, round {r + 1}")
                record |= {"train_loss": steps[-1]["loss"], "train_psnr": steps[-1]["psnr"]}
            history.append(record)
        self.statistics_, self.history_ = stats, history
        self.scores_ = scores
        self.mask_ = np.isin(np.arange(n), alive)
        self.scene_ = scene.subset(self.mask_)
        self._fitted_digest = gaussians_digest(scene)
        if trainer is not None:  # the fine-tuned values, with the kept rows' other properties
            from scenesparse.training import scene_from_params

            with torch.no_grad():
                tuned = {k: v.detach().clone() for k, v in trainer.params.items()}
            self.scene_ = scene_from_params(tuned, like=self.scene_)
        return self

    def _other_than_fitted(self, scene: Any, n: int) -> str | None:
        """Why ``scene``, of as many Gaussians as ``fit`` saw, is not that scene (the mask keeps
        Gaussians by position: others than the scores chose), or None where it is."""
        fitted = getattr(self, "_fitted_digest", None)
        if not isinstance(scene, GaussianScene):
            return (f"transform takes a GaussianScene (read_ply(path) reads one), got "
                    f"{type(scene).__name__}")
        if fitted is None or gaussians_digest(scene) == fitted:
            return None
        if self.recover_steps:
            return ("with recover_steps, transform returns the fine-tuned Gaussians of the "
                    "fitted scene (scene_): it takes that scene only; fit this one, or prune it "
                    "with recover_steps=0")
        return (f"transform got other Gaussians than the {n} {type(self).__name__} was fitted "
                "on (as many, but not the same values in the same order); call fit on them")

    def _apply(self, scene: GaussianScene) -> GaussianScene:
        return self.scene_ if self.recover_steps else scene.subset(self.mask_)
