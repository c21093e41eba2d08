"""Per-Gaussian importance from renders, and pruning at an exact budget.

All render-based scores come from the same pass of :func:`scenesparse.render.render` (any
backend; the statistics are the same):

* ``"lightgaussian"``: global significance, the sum over the pixels a Gaussian is blended into of
  ``opacity * T``, times ``(V / V_ref)^0.1`` with ``V`` its volume and ``V_ref`` the 90th
  percentile of the volumes (Fan et al., LightGaussian, NeurIPS 2024). ``V_ref`` is one number for
  the whole scene, so it rescales every score alike and never changes the ranking.
* ``"radsplat"``: the largest blending weight ``alpha * T`` over all rays (Niemeyer et al.,
  RadSplat, 2024).
* ``"minisplatting"``: the sum of blending weights ``alpha * T`` (Fang and Wang,
  Mini-Splatting, ECCV 2024).
* ``"opacity"`` and ``"volume"``: no rendering.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from scenesparse.cameras import Camera, orbit_cameras
from scenesparse.gaussians import GaussianScene
from scenesparse.render import BACKENDS, render
from sparsebox._validation import Interval, Options, check_choice
from sparsebox.base import Sparsifier
from sparsebox.exceptions import InvalidParameterError
from sparsebox.progress import progress_bar
from sparsebox.select import select

__all__ = ["SCORES", "RenderStatistics", "render_statistics", "importance_scores",
           "GaussianPruner", "default_cameras"]

SCORES = ("lightgaussian", "radsplat", "minisplatting", "opacity", "volume")


@dataclass
class RenderStatistics:
    """Sums over views of what :func:`~scenesparse.render.render` reports per Gaussian."""

    significance: np.ndarray
    max_weight: np.ndarray
    sum_weight: np.ndarray
    hits: np.ndarray
    views: int


def default_cameras(scene: GaussianScene, num_views: int, resolution: int, *,
                    phase: float = 0.0, fov_deg: float = 50.0) -> list[Camera]:
    """An orbit that frames the scene: around the centre of the 1-99th percentile box of the
    Gaussian centres, at 0.8 times that box's diagonal (z up)."""
    pts = scene.means.detach().cpu().numpy()
    lo, hi = np.percentile(pts, 1, axis=0), np.percentile(pts, 99, axis=0)
    return orbit_cameras((lo + hi) / 2, 0.8 * float(np.linalg.norm(hi - lo)), num_views,
                         width=resolution, height=resolution, fov_deg=fov_deg, phase=phase)


def render_statistics(scene: GaussianScene, cameras: Sequence[Camera], *,
                      backend: str = "auto", progress: bool = False) -> RenderStatistics:
    """Per-Gaussian statistics summed (``max_weight``: maximised) over ``cameras``, rendered
    with ``backend`` (see :func:`~scenesparse.render.render`); a progress bar with
    ``progress``."""
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


def importance_scores(scene: GaussianScene, score: str = "lightgaussian",
                      statistics: RenderStatistics | None = None) -> np.ndarray:
    """One score per Gaussian (higher: more worth keeping)."""
    check_choice("score", score, SCORES)
    if score == "opacity":
        return scene.opacities.detach().cpu().numpy().astype(np.float64)
    volume = torch.exp(scene.log_scales.detach().cpu().double().sum(dim=1)).numpy()
    if score == "volume":
        return volume
    if statistics is None:
        raise ValueError(f"score {score!r} needs render statistics (render_statistics)")
    if score == "radsplat":
        return statistics.max_weight
    if score == "minisplatting":
        return statistics.sum_weight
    v_ref = np.percentile(volume, 90)
    return statistics.significance * (volume / max(v_ref, np.finfo(float).tiny)) ** 0.1


class GaussianPruner(Sparsifier):
    """Choose the Gaussians to keep: a score, then the core's selector.

    Parameters
    ----------
    score : {"radsplat", "lightgaussian", "minisplatting", "opacity", "volume"}
    keep_ratio, budget : float, int (at most one; default keep_ratio 0.34)
        The fraction of the Gaussians kept, or their exact count.
    threshold : float, optional
        Instead of a size: keep every Gaussian scoring at least this (one round).
    rounds : int
        Prune in this many rounds, re-scoring what is left each time, the kept count shrinking
        geometrically to the target. Gaussians hidden behind removed ones then get their due:
        measured on the shared donut scene at keep ratio 0.34, RadSplat's score goes from 28.6 dB
        (1 round) to 30.8 dB (3 rounds) against the unpruned render on held-out views.
    views, resolution : int
        The default orbit for render-based scores (ignored when ``cameras`` is given to fit).
    backend : {"auto", "torch", "numba", "gsplat"}
        The renderer that gathers the statistics (:func:`~scenesparse.render.render`).

    Attributes
    ----------
    mask_ : ndarray of bool
        The Gaussians kept.
    scores_ : ndarray of float
        One per Gaussian of the fitted scene: the last round's score where that round saw the
        Gaussian, below every such score for the Gaussians earlier rounds removed (so that
        ``select(scores_, budget=mask_.sum())`` gives ``mask_``).
    statistics_ : RenderStatistics or None
        The last round's render statistics.

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
    _parameter_constraints = {
        "score": [Options(SCORES)],
        "threshold": [Interval(numbers.Real, None, None), None],
        "rounds": [Interval(numbers.Integral, 1, None, closed="left")],
        "views": [Interval(numbers.Integral, 1, None, closed="left")],
        "resolution": [Interval(numbers.Integral, 8, None, closed="left")],
        "backend": [Options(("auto", *BACKENDS))],
    }

    def __init__(self, score: str = "radsplat", *, keep_ratio: float | None = None,
                 budget: int | None = None, threshold: float | None = None, rounds: int = 3,
                 views: int = 32, resolution: int = 256, backend: str = "auto") -> None:
        self.score = score
        self.keep_ratio, self.budget, self.threshold = keep_ratio, budget, threshold
        self.rounds = rounds
        self.views, self.resolution = views, resolution
        self.backend = backend

    def fit(self, scene: GaussianScene, cameras: Sequence[Camera] | None = None, *,
            progress: bool = False) -> GaussianPruner:
        self._validate_params()
        if self.threshold is not None and (self.keep_ratio, self.budget) != (None, None):
            raise InvalidParameterError("give threshold or a size (keep_ratio, budget), not both")
        rounds = self.rounds
        n = len(scene)
        cams = None
        if self.score not in ("opacity", "volume"):
            cams = cameras if cameras is not None else default_cameras(scene, self.views,
                                                                       self.resolution)
        if self.threshold is not None:
            rounds = 1  # a threshold is not a count to shrink towards
        else:
            target = self._size(n)
        alive = np.arange(n)
        scores = np.full(n, -np.inf)
        floor = 0.0
        for r in range(rounds):
            current = scene.subset(np.isin(np.arange(n), alive)) if r else scene
            stats = (render_statistics(current, cams, backend=self.backend, progress=progress)
                     if cams else None)
            round_scores = importance_scores(current, self.score, stats)
            if self.threshold is not None:
                keep = select(round_scores, threshold=self.threshold)
            else:
                count = target if r == rounds - 1 else round(n * (target / max(n, 1)) ** (
                    (r + 1) / rounds))
                keep = select(round_scores, budget=max(count, target))
            # this round's scores, shifted above those of every Gaussian removed before
            shifted = round_scores - round_scores.min(initial=0.0) + floor
            scores[alive] = shifted
            floor = float(shifted.max(initial=floor)) + 1.0
            alive = alive[keep]
        self.statistics_ = stats
        self.scores_ = scores
        self.mask_ = np.isin(np.arange(n), alive)
        return self
