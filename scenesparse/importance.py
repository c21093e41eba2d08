"""Per-Gaussian importance from renders, and pruning at an exact budget.

All render-based scores come from the same pass of :func:`scenesparse.render.render_fast`:

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

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from scenesparse.cameras import Camera, orbit_cameras
from scenesparse.gaussians import GaussianScene
from scenesparse.render import render_fast
from sparsebox._validation import check_choice, check_int
from sparsebox.select import resolve_budget, select

__all__ = ["SCORES", "RenderStatistics", "render_statistics", "importance_scores",
           "GaussianPruner", "default_cameras"]

SCORES = ("lightgaussian", "radsplat", "minisplatting", "opacity", "volume")


@dataclass
class RenderStatistics:
    """Sums over views of what :func:`render_fast` reports per Gaussian."""

    significance: np.ndarray
    max_weight: np.ndarray
    sum_weight: np.ndarray
    hits: np.ndarray
    views: int


def default_cameras(scene: GaussianScene, num_views: int, resolution: int, *,
                    phase: float = 0.0, fov_deg: float = 50.0) -> list[Camera]:
    """An orbit that frames the scene: around the centre of the 1-99th percentile box of the
    Gaussian centres, at 0.8 times that box's diagonal (z up)."""
    pts = scene.means.detach().numpy()
    lo, hi = np.percentile(pts, 1, axis=0), np.percentile(pts, 99, axis=0)
    return orbit_cameras((lo + hi) / 2, 0.8 * float(np.linalg.norm(hi - lo)), num_views,
                         width=resolution, height=resolution, fov_deg=fov_deg, phase=phase)


def render_statistics(scene: GaussianScene, cameras: Sequence[Camera], *,
                      progress: bool = False) -> RenderStatistics:
    n = len(scene)
    sig, mx, sw, hits = (np.zeros(n, dtype=np.float64) for _ in range(4))
    for cam in tqdm(cameras, desc="scoring views", disable=not progress, leave=False):
        r = render_fast(scene, cam, scores=True)
        sig += r.significance.numpy()
        sw += r.sum_weight.numpy()
        hits += r.hits.numpy()
        np.maximum(mx, r.max_weight.numpy(), out=mx)
    return RenderStatistics(sig, mx, sw, hits, len(cameras))


def importance_scores(scene: GaussianScene, score: str = "lightgaussian",
                      statistics: RenderStatistics | None = None) -> np.ndarray:
    """One score per Gaussian (higher: more worth keeping)."""
    check_choice("score", score, SCORES)
    if score == "opacity":
        return scene.opacities.detach().numpy().astype(np.float64)
    volume = torch.exp(scene.log_scales.detach().double().sum(dim=1)).numpy()
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


class GaussianPruner:
    """Choose the Gaussians to keep: a score, then the core's selector.

    Parameters
    ----------
    score : {"radsplat", "lightgaussian", "minisplatting", "opacity", "volume"}
    keep_ratio, budget, threshold : exactly one
        Keep a fraction, an exact count, or every Gaussian scoring at least ``threshold``.
    rounds : int
        Prune in this many rounds, re-scoring what is left each time, the kept count shrinking
        geometrically to the target. Gaussians hidden behind removed ones then get their due:
        measured on the shared donut scene at keep ratio 0.34, RadSplat's score goes from 28.6 dB
        (1 round) to 30.8 dB (3 rounds) against the unpruned render on held-out views.
    views, resolution : int
        The default orbit for render-based scores (ignored when ``cameras`` is given to fit).

    Attributes
    ----------
    mask_ : ndarray of bool
        The Gaussians kept.
    scores_ : ndarray
        The last round's scores (over the Gaussians that round saw).
    statistics_ : RenderStatistics or None
    """

    def __init__(self, score: str = "radsplat", *, keep_ratio: float | None = None,
                 budget: int | None = None, threshold: float | None = None, rounds: int = 3,
                 views: int = 32, resolution: int = 256) -> None:
        self.score = score
        self.keep_ratio, self.budget, self.threshold = keep_ratio, budget, threshold
        self.rounds = rounds
        self.views, self.resolution = views, resolution

    def fit(self, scene: GaussianScene, cameras: Sequence[Camera] | None = None, *,
            progress: bool = False) -> GaussianPruner:
        check_choice("score", self.score, SCORES)
        rounds = check_int("rounds", self.rounds, minimum=1)
        n = len(scene)
        cams = None
        if self.score not in ("opacity", "volume"):
            cams = cameras if cameras is not None else default_cameras(scene, self.views,
                                                                       self.resolution)
        if self.threshold is not None:
            rounds = 1  # a threshold is not a count to shrink towards
        else:
            target = resolve_budget(n, keep_ratio=self.keep_ratio, budget=self.budget)
        alive = np.arange(n)
        for r in range(rounds):
            current = scene.subset(np.isin(np.arange(n), alive)) if r else scene
            stats = render_statistics(current, cams, progress=progress) if cams else None
            scores = importance_scores(current, self.score, stats)
            if self.threshold is not None:
                keep = select(scores, threshold=self.threshold)
            else:
                count = target if r == rounds - 1 else round(n * (target / max(n, 1)) ** (
                    (r + 1) / rounds))
                keep = select(scores, budget=max(count, target))
            alive = alive[keep]
        self.statistics_ = stats
        self.scores_ = scores  # of the last round, over the Gaussians it saw
        self.mask_ = np.isin(np.arange(n), alive)
        return self

    def transform(self, scene: GaussianScene) -> GaussianScene:
        if not hasattr(self, "mask_"):
            raise RuntimeError("call fit(scene) before transform()")
        return scene.subset(self.mask_)

    def fit_transform(self, scene: GaussianScene, cameras: Any = None) -> GaussianScene:
        return self.fit(scene, cameras).transform(scene)
