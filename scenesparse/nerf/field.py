"""The radiance field: a hash encoding, a density MLP and a colour MLP with view directions
(Instant-NGP's layout), optionally behind HollowNeRF's saliency grid and soft zero-skipping gate.

Without saliency, ``sigma = s exp(h_0)`` with ``h = density_net(f(x))`` and ``s`` the box's
``density_scale`` (below); with it, the features are scaled first, ``v = p(x) * f(x)``, and the
density is gated, ``sigma = s exp(h_0) * tanh(alpha ||v||)``, so a point whose features are all
zero (unsalient, or pruned) is empty whatever the MLP's biases say. The gate only masks: its
gradient does not reach the features. (Through it, with ``alpha`` from 1e4 to 1e5, growing
``||v||`` was the cheapest way to add density: a grid behind a saliency of 0.98 everywhere lost 1.1
dB on lego at 64 px and 600 steps, 26.61 against 27.70 without the gate; with the gate detached,
27.89.) The colour MLP takes the other outputs of the density MLP and the view direction in
spherical harmonics up to degree 3 (16 values).

The densities are per unit of the box's size, not of the world's: ``sigma`` is multiplied by
``density_scale``, the default box's diagonal over the field's, so that a step of the march
(a fixed fraction of the box) absorbs the same light in a scene of any units. (Per world unit,
ten views of lego scaled by 10 started opaque and gave 7.1 dB on held-out views after 40 steps
at 32 px, the original 12.2 dB; per box, both give 12.2 dB.) Fields saved before the scale
was kept have 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from scenesparse.gaussians import SH_C0
from scenesparse.nerf.hashgrid import HashGrid
from scenesparse.nerf.saliency import SaliencyGrid
from scenesparse.rendering import _C1, _C2, _C3
from sparsebox.exceptions import InvalidParameterError
from sparsebox.seeding import seeded_torch

__all__ = ["NerfField", "sh_basis", "DEFAULT_AABB", "scene_box"]

#: The box of the NeRF-synthetic scenes (Instant-NGP's ``aabb_scale`` 1 around them).
DEFAULT_AABB = (-1.5, -1.5, -1.5, 1.5, 1.5, 1.5)
#: How far NeRF-synthetic's cameras are from the centre of their scene (DEFAULT_AABB's).
_SYNTHETIC_DISTANCE = 4.0311


def scene_box(cameras: Sequence[Any]) -> tuple[tuple[float, ...], str]:
    """The box of the scene ``cameras`` look at, and why it is that box (the report says it).

    The cameras look at the point nearest all their optical axes (least squares, as
    instant-ngp's ``colmap2nerf`` finds it); their box is centred there, with a half-size of
    ``1.5 / 4.0311`` times their median distance to it (NeRF-synthetic's proportions).
    :data:`DEFAULT_AABB` is kept when it holds that box (within 1% of its size): NeRF-synthetic
    scenes, and scenes of their size around the origin, train as before; otherwise the box
    follows the cameras when they are moved or scaled. The point is trusted only where the
    cameras surround it: at least two cameras whose axes cross at an angle (not a
    forward-facing rig), with it in front of nearly all of them (not an inside-out capture)
    and away from them; elsewhere the default box stays, and the reason says why.

    Examples
    --------
    >>> from scenesparse.cameras import orbit_cameras
    >>> scene_box(orbit_cameras((0.0, 0.0, 0.0), 4.0, 3, width=8, height=8))[0]
    (-1.5, -1.5, -1.5, 1.5, 1.5, 1.5)
    >>> box, why = scene_box(orbit_cameras((20.0, 0.0, 0.0), 4.0, 3, width=8, height=8))
    >>> [round(v, 2) for v in box], why.startswith("from the cameras")
    ([18.51, -1.49, -1.49, 21.49, 1.49, 1.49], True)
    >>> scene_box(orbit_cameras((20.0, 0.0, 0.0), 4.0, 3, width=8, height=8)[:1])[1]
    'the default box: one camera does not say where the scene is'
    """
    default = "the default box: {}"
    if len(cameras) < 2:
        return DEFAULT_AABB, default.format("one camera does not say where the scene is")
    centres = np.stack([c.center.detach().cpu().double().numpy() for c in cameras])
    axes = np.stack([c.world_to_cam[2, :3].detach().cpu().double().numpy() for c in cameras])
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)  # each camera's forward (+z) axis
    across = np.eye(3) - axes[:, :, None] * axes[:, None, :]  # projections across each axis
    normal = across.sum(0) / len(cameras)
    if not np.isfinite(normal).all() or np.linalg.eigvalsh(normal)[0] < 0.05:
        return DEFAULT_AABB, default.format(
            "the cameras look nearly one way (a forward-facing capture), so where their axes "
            "meet says nothing of the scene; it must lie in the default box")
    centre = np.linalg.solve(normal, np.einsum("nij,nj->i", across, centres) / len(cameras))
    depth = np.einsum("ni,ni->n", axes, centre - centres)
    distance = float(np.median(np.linalg.norm(centres - centre, axis=1)))
    spread = float(np.linalg.norm(centres - centres.mean(0), axis=1).max())
    if not (np.mean(depth > 0) >= 0.9 and distance > 0.1 * spread):
        return DEFAULT_AABB, default.format(
            "the point nearest the cameras' axes is not in front of them (an inside-out "
            "capture), so it is not the scene; the scene must lie in the default box")
    half = DEFAULT_AABB[3] * distance / _SYNTHETIC_DISTANCE
    lo, hi = centre - half, centre + half
    slack = 0.01 * (DEFAULT_AABB[3] - DEFAULT_AABB[0])
    if (lo >= np.array(DEFAULT_AABB[:3]) - slack).all() and \
            (hi <= np.array(DEFAULT_AABB[3:]) + slack).all():
        return DEFAULT_AABB, default.format("it holds what the cameras look at")
    where = ", ".join(f"{v:.3g}" for v in centre)
    return (tuple(float(v) for v in (*lo, *hi)),
            f"from the cameras: their optical axes pass nearest ({where}), {distance:.3g} away "
            f"(median), and the default box {DEFAULT_AABB} does not hold what they look at")


_SH_DIM = 16


def sh_basis(dirs: Tensor) -> Tensor:
    """Real spherical harmonics up to degree 3 of unit directions ``(n, 3)``: ``(n, 16)``, in the
    order and with the constants of :func:`scenesparse.rendering.eval_sh` (so a colour from 3DGS
    coefficients is ``basis @ coefficients``).

    Examples
    --------
    >>> basis = sh_basis(torch.tensor([[0.0, 0.0, 1.0]]))
    >>> basis.shape, round(float(basis[0, 0]), 4)
    (torch.Size([1, 16]), 0.2821)
    """
    x, y, z = dirs.unbind(1)
    xx, yy, zz, xy, yz, xz = x * x, y * y, z * z, x * y, y * z, x * z
    bands = [torch.full_like(x, SH_C0), -_C1 * y, _C1 * z, -_C1 * x]
    bands += [c * b for c, b in zip(_C2, (xy, yz, 2 * zz - xx - yy, xz, xx - yy), strict=True)]
    third = (y * (3 * xx - yy), xy * z, y * (4 * zz - xx - yy), z * (2 * zz - 3 * xx - 3 * yy),
             x * (4 * zz - xx - yy), z * (xx - yy), x * (xx - 3 * yy))
    bands += [c * b for c, b in zip(_C3, third, strict=True)]
    return torch.stack(bands, 1)


class NerfField(nn.Module):
    """Density and colour at points in the box ``aabb`` (``xmin, ymin, zmin, xmax, ymax, zmax``).

    Parameters
    ----------
    grid : HashGrid
    saliency : SaliencyGrid or None
        HollowNeRF's saliency grid (None: a plain Instant-NGP field).
    hidden : int
        Width of the MLPs (one hidden layer for density, two for colour).
    geo_features : int
        Outputs of the density MLP besides the density, passed to the colour MLP.
    aabb : sequence of 6 floats
    gate_alpha : float
        Sharpness ``alpha`` of the zero-skipping gate (with saliency only; a trainer changes it).
    seed : int
        Seed of the MLPs' initial weights.

    Examples
    --------
    >>> field = NerfField(HashGrid(levels=2, table_size=2**10, finest_resolution=32))
    >>> sigma, rgb = field(torch.zeros(3, 3), torch.tensor([[0.0, 0.0, 1.0]] * 3))
    >>> sigma.shape, rgb.shape
    (torch.Size([3]), torch.Size([3, 3]))
    """

    def __init__(self, grid: HashGrid, saliency: SaliencyGrid | None = None, *, hidden: int = 64,
                 geo_features: int = 15, aabb: Sequence[float] = DEFAULT_AABB,
                 gate_alpha: float = 1e4, seed: int = 0) -> None:
        super().__init__()
        aabb_t = torch.as_tensor(tuple(aabb), dtype=torch.float32)
        if aabb_t.shape != (6,) or not bool((aabb_t[3:] > aabb_t[:3]).all()):
            raise InvalidParameterError(f"aabb must be 6 numbers (xmin, ymin, zmin, xmax, ymax, "
                                        f"zmax) with max > min, got {tuple(aabb)}")
        self.grid, self.saliency = grid, saliency
        self.register_buffer("aabb", aabb_t)
        default = torch.tensor(DEFAULT_AABB, dtype=torch.float32)
        self.register_buffer("density_scale", (default[3:] - default[:3]).norm()
                             / (aabb_t[3:] - aabb_t[:3]).norm())
        self.gate_alpha = float(gate_alpha)
        with seeded_torch(int(seed)):
            self.density_net = nn.Sequential(nn.Linear(grid.output_dim, hidden), nn.ReLU(),
                                             nn.Linear(hidden, 1 + geo_features))
            self.color_net = nn.Sequential(nn.Linear(geo_features + _SH_DIM, hidden), nn.ReLU(),
                                           nn.Linear(hidden, hidden), nn.ReLU(),
                                           nn.Linear(hidden, 3))

    def load_state_dict(self, state_dict: Any, strict: bool = True, assign: bool = False) -> Any:
        """:meth:`torch.nn.Module.load_state_dict`; a state written before the field kept its
        ``density_scale`` (whose densities were per world unit) loads with 1."""
        if "density_scale" not in state_dict:
            state_dict = {**state_dict, "density_scale": torch.tensor(1.0)}
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    def mlp_parameters(self) -> list[nn.Parameter]:
        return [*self.density_net.parameters(), *self.color_net.parameters()]

    def num_parameters(self) -> int:
        """Every trainable number a render needs: the hash table (its kept rows once compact),
        the MLPs and, with saliency, the saliency grid."""
        mlp = sum(p.numel() for p in self.mlp_parameters())
        return self.grid.num_parameters() + mlp + (
            self.saliency.num_parameters() if self.saliency is not None else 0)

    def to_unit(self, x: Tensor) -> Tensor:
        """World points to the unit cube of the box."""
        lo, hi = self.aabb[:3], self.aabb[3:]
        return (x - lo) / (hi - lo)

    def encode(self, unit: Tensor) -> Tensor:
        """``v``: the hash features at unit-cube points, scaled by the saliency when there is
        one."""
        feats = self.grid(unit)
        if self.saliency is None:
            return feats
        return feats * self.saliency(unit)[:, None]

    def _density(self, x: Tensor) -> tuple[Tensor, Tensor]:
        v = self.encode(self.to_unit(x))
        h = self.density_net(v)
        sigma = torch.exp(h[:, 0].clamp(max=15.0)) * self.density_scale
        if self.saliency is not None:  # a mask: no gradient flows through it to the features
            sigma = sigma * torch.tanh(self.gate_alpha * v.detach().norm(dim=1))
        return sigma, h[:, 1:]

    def density(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(sigma (n,), geometry features (n, geo_features))`` at world points ``x``."""
        return self._density(x)

    def forward(self, x: Tensor, dirs: Tensor) -> tuple[Tensor, Tensor]:
        """``(sigma (n,), rgb (n, 3))`` at world points ``x`` seen along unit ``dirs``."""
        sigma, geo = self._density(x)
        rgb = torch.sigmoid(self.color_net(torch.cat([geo, sh_basis(dirs)], 1)))
        return sigma, rgb
