"""Rays of a pinhole camera and volume rendering along them: fixed steps through the box,
samples in empty cells of the occupancy grid skipped, ``C = sum_i T_i (1 - exp(-sigma_i dt))
c_i + T_end * background`` with ``T_i = exp(-sum_{j<i} sigma_j dt)``, and early termination: a
ray stops once its transmittance falls below ``T_MIN``.

Marching runs in rounds of ``chunk`` steps over the rays still alive, so a ray that hit an opaque
surface costs nothing further, in training too (the gradient flows through every sample that was
evaluated).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from scenesparse.cameras import Camera
from scenesparse.nerf.field import NerfField
from scenesparse.nerf.occupancy import OccupancyGrid

__all__ = ["camera_rays", "ray_box", "render_rays", "RayBundle", "T_MIN", "step_size"]

#: Transmittance below which a ray stops.
T_MIN = 1e-4


def camera_rays(camera: Camera) -> tuple[Tensor, Tensor]:
    """Origins and unit directions ``(H * W, 3)`` of the rays through the pixel centres
    (``i + 0.5``), row by row."""
    h, w = camera.height, camera.width
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32) + 0.5,
                            torch.arange(w, dtype=torch.float32) + 0.5, indexing="ij")
    d_cam = torch.stack([(xs - camera.cx) / camera.fx, (ys - camera.cy) / camera.fy,
                         torch.ones_like(xs)], -1).reshape(-1, 3)
    rot = camera.world_to_cam[:3, :3].float()
    dirs = d_cam @ rot  # R^T d for each row
    dirs = dirs / dirs.norm(dim=1, keepdim=True)
    origins = camera.center.float().expand_as(dirs)
    return origins.contiguous(), dirs


def ray_box(origins: Tensor, dirs: Tensor, aabb: Tensor) -> tuple[Tensor, Tensor]:
    """Entry and exit distances of rays through the box (``t_far <= t_near``: a miss)."""
    safe = torch.where(dirs.abs() < 1e-9, torch.full_like(dirs, 1e-9), dirs)
    a = (aabb[:3] - origins) / safe
    b = (aabb[3:] - origins) / safe
    return torch.minimum(a, b).amax(1), torch.maximum(a, b).amin(1)


def step_size(aabb: Tensor, march_steps: int) -> float:
    """The marching step: the box's diagonal over ``march_steps``."""
    return float((aabb[3:] - aabb[:3]).norm()) / march_steps


@dataclass
class RayBundle:
    """What rendering a batch of rays gives."""

    rgb: Tensor  # (R, 3)
    opacity: Tensor  # (R,) accumulated opacity, 1 - T_end
    samples: int  # field evaluations made


def render_rays(field: NerfField, occupancy: OccupancyGrid, origins: Tensor, dirs: Tensor, *,
                step: float, background: Tensor, near: float = 0.0, offsets: Tensor | None = None,
                chunk: int = 32,
                on_samples: Callable[[Tensor, Tensor], None] | None = None) -> RayBundle:
    """Volume-render rays ``(R, 3)`` through ``field``.

    Parameters
    ----------
    step : float
        Distance between samples.
    background : Tensor ``(3,)`` or ``(R, 3)``
        Colour behind the box.
    near : float
        Samples closer to the origin than this are skipped.
    offsets : Tensor ``(R,)`` in [0, 1), optional
        Where in its first step each ray's samples start (random in training); 0.5 by default.
    chunk : int
        Steps marched per round before terminated rays are dropped.
    on_samples : callable, optional
        Called with the world points ``(S, 3)`` of each round's evaluated samples and their
        rendering weights ``T_i (1 - exp(-sigma_i dt))`` ``(S,)`` (to measure what the image
        takes from where).
    """
    n = origins.shape[0]
    t0, t1 = ray_box(origins, dirs, field.aabb)
    t0 = t0.clamp_min(near)
    if offsets is None:
        offsets = torch.full((n,), 0.5)
    rgb = torch.zeros(n, 3)
    opacity = torch.zeros(n)
    trans = torch.ones(n)
    alive = torch.nonzero(t1 > t0).reshape(-1)
    longest = int(math.ceil(float((t1 - t0).clamp_min(0).max()) / step)) if n else 0
    steps = torch.arange(chunk, dtype=torch.float32)
    samples, k = 0, 0
    while alive.numel() and k < longest:
        t = t0[alive, None] + (k + steps[None] + offsets[alive, None]) * step  # (A, S)
        valid = t < t1[alive, None]
        points = origins[alive, None] + t[..., None] * dirs[alive, None]
        unit = field.to_unit(points[valid])
        keep = occupancy.query(unit)
        where = valid.clone()
        where[valid] = keep
        if bool(keep.any()):
            local = where.nonzero()[:, 0]  # ray (in `alive`) of each sample, grouped by ray
            ray = alive[local]
            sigma, color = field(points[where], dirs[ray])
            tau = sigma * step
            # transmittance from the ray's start of this round to each sample (exclusive sums)
            counts = where.sum(1)
            first = torch.cumsum(counts, 0) - counts
            before = torch.cumsum(tau, 0) - tau
            before = before - before[first[local]]
            weight = trans[ray] * torch.exp(-before) * (1.0 - torch.exp(-tau))
            if on_samples is not None:
                on_samples(points[where], weight)
            rgb = rgb.index_add(0, ray, weight[:, None] * color)
            opacity = opacity.index_add(0, ray, weight)
            total = torch.zeros(n).index_add(0, ray, tau)
            trans = trans * torch.exp(-total)
            samples += int(local.numel())
        k += chunk
        still = (trans[alive] > T_MIN) & (t0[alive] + (k + offsets[alive]) * step < t1[alive])
        alive = alive[still]
    background = background.expand(n, 3) if background.dim() == 1 else background
    return RayBundle(rgb + (1.0 - opacity)[:, None] * background, opacity, samples)
