"""A Gaussian-splat renderer with three backends: EWA projection, spherical harmonics, per-tile
depth-sorted alpha compositing, with per-Gaussian importance statistics from the same pass.

Compositing follows 3DGS: ``alpha = min(0.99, o * exp(-0.5 d' Sigma^-1 d))``, Gaussians with
``alpha < 1/255`` are skipped, and a pixel stops once its transmittance would fall below 1e-4
(the Gaussian that would take it there is not blended). :func:`render` takes ``backend``:

* ``"torch"``: PyTorch, differentiable, the reference (the specification of the others);
* ``"numba"``: the same projection and tile lists, composited by parallel numba kernels, forward
  and backward (the CPU's fast path, held to the reference by tests);
* ``"gsplat"``: ``gsplat.rasterization`` on a CUDA GPU, with the statistics gathered through
  gsplat's ``rasterize_to_indices_in_range``.

Every backend returns the image, the accumulated alpha and, with ``scores=True``, the same four
statistics per Gaussian (see :class:`RenderResult`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from scenesparse.cameras import Camera
from scenesparse.gaussians import SH_C0, GaussianScene
from sparsebox._validation import check_choice, check_colour
from sparsebox.exceptions import InvalidParameterError

__all__ = ["Projected", "project", "render", "RenderResult", "TILE", "BACKENDS"]

BACKENDS = ("torch", "numba", "gsplat")

TILE = 16
ALPHA_MIN = 1.0 / 255.0
ALPHA_MAX = 0.99
T_MIN = 1e-4
_C1 = 0.4886025119029199
_C2 = (1.0925484305920792, -1.0925484305920792, 0.31539156525252005, -1.0925484305920792,
       0.5462742152960396)
_C3 = (-0.5900435899266435, 2.890611442640554, -0.4570457994644658, 0.3731763325901154,
       -0.4570457994644658, 1.445305721320277, -0.5900435899266435)


@dataclass
class Projected:
    """Screen-space Gaussians of one view (rows for every Gaussian; ``visible`` marks those in
    front of the camera with a footprint on screen)."""

    means2d: torch.Tensor  # (N, 2) pixel coordinates
    conics: torch.Tensor  # (N, 3) inverse 2D covariance: a, b, c
    depths: torch.Tensor  # (N,)
    extents: torch.Tensor  # (N, 2) half-width and half-height (pixels) of the region where
    #                        alpha can reach 1/255: d' Sigma^-1 d <= 2 ln(255 o)
    colors: torch.Tensor  # (N, 3)
    opacities: torch.Tensor  # (N,)
    visible: torch.Tensor  # (N,) bool


@dataclass
class RenderResult:
    image: torch.Tensor  # (H, W, 3)
    alpha: torch.Tensor  # (H, W) accumulated opacity
    significance: torch.Tensor | None = None  # sum over pixels hit of opacity * T
    max_weight: torch.Tensor | None = None  # max over pixels of alpha * T
    sum_weight: torch.Tensor | None = None  # sum over pixels of alpha * T
    hits: torch.Tensor | None = None  # pixels where the Gaussian was blended
    means2d: torch.Tensor | None = None  # screen positions as the compositor used them, in the
    #   autograd graph: ``retain_grad()`` it for view-space gradients ((N, 2); gsplat's (1, N, 2))


def quat_to_rotmat(q: torch.Tensor) -> torch.Tensor:
    q = q / q.norm(dim=1, keepdim=True).clamp_min(1e-12)
    w, x, y, z = q.unbind(1)
    return torch.stack([
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    ], dim=1).reshape(-1, 3, 3)


def eval_sh(degree: int, sh_dc: torch.Tensor, sh_rest: torch.Tensor,
            dirs: torch.Tensor) -> torch.Tensor:
    """RGB from SH coefficients for unit view directions (3DGS convention: ``+ 0.5``, clamped
    at 0)."""
    rgb = SH_C0 * sh_dc
    if degree > 0:
        x, y, z = dirs.unbind(1)
        c = sh_rest
        rgb = rgb - _C1 * y[:, None] * c[:, 0] + _C1 * z[:, None] * c[:, 1] \
            - _C1 * x[:, None] * c[:, 2]
        if degree > 1:
            xx, yy, zz, xy, yz, xz = x * x, y * y, z * z, x * y, y * z, x * z
            for coef, basis, i in zip(_C2, (xy, yz, 2 * zz - xx - yy, xz, xx - yy),
                                      range(3, 8), strict=True):
                rgb = rgb + coef * basis[:, None] * c[:, i]
            if degree > 2:
                bases = (y * (3 * xx - yy), xy * z, y * (4 * zz - xx - yy),
                         z * (2 * zz - 3 * xx - 3 * yy), x * (4 * zz - xx - yy),
                         z * (xx - yy), x * (xx - 3 * yy))
                for coef, basis, i in zip(_C3, bases, range(8, 15), strict=True):
                    rgb = rgb + coef * basis[:, None] * c[:, i]
    return (rgb + 0.5).clamp_min(0.0)


def project(scene: GaussianScene, camera: Camera) -> Projected:
    """EWA splatting: 3D covariances ``R S S' R'`` to screen-space conics, with 3DGS's 0.3 px
    low-pass dilation; differentiable in every scene tensor."""
    w2c = camera.world_to_cam.to(scene.means.dtype)
    rot, trans = w2c[:3, :3], w2c[:3, 3]
    p = scene.means @ rot.T + trans
    x, y, z = p.unbind(1)
    zs = z.clamp_min(camera.near)
    # clamp the Jacobian's view angles as 3DGS does, so wide Gaussians at the border stay sane
    lim_x = 1.3 * (0.5 * camera.width / camera.fx)
    lim_y = 1.3 * (0.5 * camera.height / camera.fy)
    tx = (x / zs).clamp(-lim_x, lim_x) * zs
    ty = (y / zs).clamp(-lim_y, lim_y) * zs
    zero = torch.zeros_like(zs)
    jac = torch.stack([camera.fx / zs, zero, -camera.fx * tx / zs**2,
                       zero, camera.fy / zs, -camera.fy * ty / zs**2], dim=1).reshape(-1, 2, 3)
    m = quat_to_rotmat(scene.quats) * torch.exp(scene.log_scales)[:, None, :]
    cov3d = m @ m.transpose(1, 2)
    t = jac @ rot @ cov3d @ rot.T @ jac.transpose(1, 2)
    a = t[:, 0, 0] + 0.3
    b = t[:, 0, 1]
    c = t[:, 1, 1] + 0.3
    det = (a * c - b * b).clamp_min(1e-12)
    conics = torch.stack([c / det, -b / det, a / det], dim=1)
    opacities = torch.sigmoid(scene.opacity_logits)
    with torch.no_grad():
        # where can alpha = o exp(-q/2) reach 1/255? q <= 2 ln(255 o): an ellipse whose bounding
        # box has half-sides sqrt(2 ln(255 o) Sigma_xx) and sqrt(2 ln(255 o) Sigma_yy)
        reach = 2.0 * torch.log((opacities / ALPHA_MIN).clamp_min(1.0))
        extents = torch.stack([torch.sqrt(reach * a), torch.sqrt(reach * c)], dim=1)
    means2d = torch.stack([camera.fx * x / zs + camera.cx, camera.fy * y / zs + camera.cy], 1)
    dirs = scene.means - camera.center.to(scene.means.dtype)
    dirs = dirs / dirs.norm(dim=1, keepdim=True).clamp_min(1e-12)
    colors = eval_sh(scene.sh_degree, scene.sh_dc, scene.sh_rest, dirs)
    with torch.no_grad():
        ex, ey = extents.unbind(1)
        on_screen = ((means2d[:, 0] + ex > 0) & (means2d[:, 0] - ex < camera.width)
                     & (means2d[:, 1] + ey > 0) & (means2d[:, 1] - ey < camera.height))
        visible = (z > camera.near) & on_screen & (reach > 0)
    return Projected(means2d, conics, z, extents, colors, opacities, visible)


def tile_lists(proj: Projected, camera: Camera) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian indices per 16x16 tile in depth order: ``(starts (T + 1,), gaussians (P,))``,
    the tiles row by row."""
    tiles_x = math.ceil(camera.width / TILE)
    tiles_y = math.ceil(camera.height / TILE)
    idx = np.flatnonzero(proj.visible.numpy())
    m = proj.means2d.detach().numpy()[idx]
    e = proj.extents.detach().numpy()[idx]
    # pixel centres sit at i + 0.5: a tile overlaps the box if one of its centres lies inside
    x0 = np.clip(np.ceil(m[:, 0] - e[:, 0] - 0.5) // TILE, 0, tiles_x).astype(np.int64)
    x1 = np.clip(np.floor(m[:, 0] + e[:, 0] - 0.5) // TILE + 1, 0, tiles_x).astype(np.int64)
    y0 = np.clip(np.ceil(m[:, 1] - e[:, 1] - 0.5) // TILE, 0, tiles_y).astype(np.int64)
    y1 = np.clip(np.floor(m[:, 1] + e[:, 1] - 0.5) // TILE + 1, 0, tiles_y).astype(np.int64)
    w, h = x1 - x0, y1 - y0
    count = np.maximum(w, 0) * np.maximum(h, 0)
    keep = count > 0
    idx, x0, y0, w, count = idx[keep], x0[keep], y0[keep], w[keep], count[keep]
    owner = np.repeat(np.arange(idx.size), count)
    local = np.arange(owner.size) - np.repeat(np.cumsum(count) - count, count)
    tile = (y0[owner] + local // w[owner]) * tiles_x + x0[owner] + local % w[owner]
    depth_rank = np.empty(proj.depths.shape[0], dtype=np.int64)
    depth_rank[np.argsort(proj.depths.detach().numpy(), kind="stable")] = \
        np.arange(proj.depths.shape[0])
    gauss = idx[owner]
    order = np.lexsort((depth_rank[gauss], tile))
    starts = np.searchsorted(tile[order], np.arange(tiles_x * tiles_y + 1))
    return starts, gauss[order]


def _pixel_grid(tile: int, tiles_x: int, camera: Camera) -> tuple[torch.Tensor, slice, slice]:
    ty, tx = divmod(tile, tiles_x)
    ys = slice(ty * TILE, min((ty + 1) * TILE, camera.height))
    xs = slice(tx * TILE, min((tx + 1) * TILE, camera.width))
    gy, gx = torch.meshgrid(torch.arange(ys.start, ys.stop, dtype=torch.float32) + 0.5,
                            torch.arange(xs.start, xs.stop, dtype=torch.float32) + 0.5,
                            indexing="ij")
    return torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1), ys, xs


def render(scene: GaussianScene, camera: Camera, *, backend: str = "auto",
           background=(0.0, 0.0, 0.0), scores: bool = False) -> RenderResult:
    """Render one view; with ``scores`` also the per-Gaussian statistics of this view.

    Parameters
    ----------
    scene : GaussianScene
    camera : Camera
    backend : {"auto", "torch", "numba", "gsplat"}
        ``"auto"``: gsplat when the scene's tensors are on a CUDA device, else numba. Every
        backend is differentiable in the scene's tensors.
    background : sequence of 3 floats
        Each in [0, 1], as the rendered image (8-bit colours divided by 255).
    scores : bool
        Also return ``significance``, ``max_weight``, ``sum_weight`` and ``hits`` per Gaussian.

    Returns
    -------
    RenderResult
        Tensors on the scene's device (the numba backend works on CPU copies).

    Examples
    --------
    >>> import torch
    >>> from scenesparse.cameras import Camera
    >>> one = GaussianScene(means=torch.tensor([[0.0, 0.0, 1.0]]),
    ...                     quats=torch.tensor([[1.0, 0.0, 0.0, 0.0]]),
    ...                     log_scales=torch.full((1, 3), -3.0), opacity_logits=torch.tensor([2.0]),
    ...                     sh_dc=torch.zeros(1, 3), sh_rest=torch.zeros(1, 0, 3))
    >>> cam = Camera(torch.eye(4), 32.0, 32.0, 16.0, 16.0, 32, 32)
    >>> a, b = (render(one, cam, backend=k, scores=True) for k in ("torch", "numba"))
    >>> bool(torch.allclose(a.image, b.image, atol=1e-6)), int(a.hits[0]) == int(b.hits[0])
    (True, True)
    """
    if not isinstance(scene, GaussianScene):
        raise InvalidParameterError(f"scene must be a GaussianScene (read_ply reads one), got "
                                    f"{type(scene).__name__}")
    check_camera(camera)
    backend = resolve_render_backend(backend, scene)
    background = check_colour("background", background, unit=True)  # as images read as floats
    if backend == "numba":
        return _render_numba(scene, camera, background=background, scores=scores)
    if backend == "gsplat":
        return _render_gsplat(scene, camera, background=background, scores=scores)
    return _render_torch(scene, camera, background=background, scores=scores)


def check_camera(camera: Camera, name: str = "camera") -> None:
    """One :class:`~scenesparse.cameras.Camera` with a ``(4, 4)`` tensor pose, a size of whole
    pixels and finite focal lengths > 0; otherwise an error that says which (a list of cameras,
    a float width or a zero focal length failed deep inside the renderer, and a NaN in the pose
    rendered black).

    Examples
    --------
    >>> try:
    ...     check_camera(Camera(torch.eye(4), 0.0, 32.0, 16.0, 16.0, 32, 32))
    ... except ValueError as err:
    ...     print(err)
    camera.fx must be a finite number > 0 (pixels), got 0.0
    """
    if not isinstance(camera, Camera):
        raise InvalidParameterError(f"{name} must be one Camera, got {type(camera).__name__} "
                                    "(render views one at a time)")
    pose = camera.world_to_cam
    if not torch.is_tensor(pose) or tuple(pose.shape) != (4, 4):
        raise InvalidParameterError(f"{name}.world_to_cam must be a (4, 4) torch tensor, got "
                                    f"{type(pose).__name__} {tuple(np.shape(pose))}")
    bad = ~torch.isfinite(pose.detach())
    if bad.any():  # every Gaussian projected to NaN: a black image, without a word
        row, col = (int(i) for i in bad.nonzero()[0])
        raise InvalidParameterError(f"{name}.world_to_cam must be finite, got {pose[row, col]} "
                                    f"at row {row}, column {col}")
    for field in ("width", "height"):
        value = getattr(camera, field)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise InvalidParameterError(f"{name}.{field} must be a whole number of pixels >= 1, "
                                        f"got {value!r}")
    for field in ("fx", "fy", "cx", "cy"):
        value = getattr(camera, field)
        try:
            bad = not math.isfinite(float(value)) or field in ("fx", "fy") and float(value) <= 0
        except (TypeError, ValueError):
            bad = True
        if bad:
            raise InvalidParameterError(f"{name}.{field} must be a finite number"
                                        f"{' > 0' if field in ('fx', 'fy') else ''} (pixels), "
                                        f"got {value!r}")
    try:
        near_ok = math.isfinite(float(camera.near)) and float(camera.near) > 0
    except (TypeError, ValueError):
        near_ok = False
    if not near_ok:
        raise InvalidParameterError(f"{name}.near must be a finite distance > 0, got "
                                    f"{camera.near!r}")


def check_cameras(cameras: object, *, none_means: str | None = None) -> None:
    """A non-empty list (a sequence) of cameras, each one :func:`check_camera` takes; ``None``
    too where ``none_means`` says what it stands for ("the default orbit"). Otherwise an error
    that says which (one camera, a generator or another object failed deep inside).

    Examples
    --------
    >>> camera = Camera(torch.eye(4), 32.0, 32.0, 16.0, 16.0, 32, 32)
    >>> check_cameras([camera]), check_cameras(None, none_means="the default orbit")
    (None, None)
    >>> try:
    ...     check_cameras(camera)
    ... except ValueError as err:
    ...     print(err)
    cameras must be a list of Camera, got Camera
    """
    if cameras is None and none_means is not None:
        return
    alternative = f" (or None for {none_means})" if none_means else ""
    if isinstance(cameras, Camera) or not isinstance(cameras, Sequence):
        raise InvalidParameterError(f"cameras must be a list of Camera{alternative}, got "
                                    f"{type(cameras).__name__}")
    if len(cameras) == 0:
        raise InvalidParameterError(f"cameras is empty: pass the views{alternative}")
    for i, camera in enumerate(cameras):
        check_camera(camera, f"cameras[{i}]")


def check_render_backend(backend: str) -> str:
    """``backend`` when this machine can run it; otherwise an ``InvalidParameterError`` says
    what is missing (gsplat needs its package and a CUDA GPU).

    Examples
    --------
    >>> check_render_backend("numba")
    'numba'
    >>> try:
    ...     check_render_backend("opengl")
    ... except ValueError as err:
    ...     print(err)
    backend must be one of ('auto', 'torch', 'numba', 'gsplat'), got 'opengl'
    """
    check_choice("backend", backend, ("auto", *BACKENDS))
    if backend == "gsplat":
        try:
            import gsplat  # noqa: F401
        except ImportError:
            raise InvalidParameterError("backend 'gsplat' needs the gsplat package: pip install "
                                        "'sparsebox[splat-gpu]'") from None
        if not torch.cuda.is_available():
            raise InvalidParameterError("backend 'gsplat' needs a CUDA GPU; use 'numba' or "
                                        "'torch' on the CPU")
    return backend


def resolve_render_backend(backend: str, scene: GaussianScene) -> str:
    """The backend ``render`` uses for ``scene`` (see :func:`render`); asking for one this
    machine cannot run is a clear error (:func:`check_render_backend`)."""
    if check_render_backend(backend) == "auto":
        return "gsplat" if scene.means.is_cuda else "numba"
    return backend


def _render_torch(scene: GaussianScene, camera: Camera, *, background, scores: bool) -> RenderResult:
    """The PyTorch reference (differentiable in every scene tensor)."""
    proj = project(scene, camera)
    starts, gauss = tile_lists(proj, camera)
    tiles_x = math.ceil(camera.width / TILE)
    bg = torch.as_tensor(background, dtype=scene.means.dtype)
    rows = []
    alpha_rows = []
    n = len(scene)
    # float32, as the other backends give them (a float64 scene's statistics failed to add up)
    acc = {k: torch.zeros(n, dtype=torch.float32)
           for k in ("significance", "max_weight", "sum_weight", "hits")}
    tiles_y = math.ceil(camera.height / TILE)
    for ty in range(tiles_y):
        row_tiles, row_alpha = [], []
        for tx in range(tiles_x):
            t = ty * tiles_x + tx
            pix, ys, xs = _pixel_grid(t, tiles_x, camera)
            g = torch.from_numpy(gauss[starts[t]:starts[t + 1]])
            shape = (ys.stop - ys.start, xs.stop - xs.start)
            if g.numel() == 0:
                row_tiles.append(bg.expand(*shape, 3))
                row_alpha.append(torch.zeros(shape))
                continue
            d = pix[:, None, :] - proj.means2d[g][None]
            con = proj.conics[g]
            power = -0.5 * (con[:, 0] * d[..., 0] ** 2 + con[:, 2] * d[..., 1] ** 2) \
                - con[:, 1] * d[..., 0] * d[..., 1]
            alpha = (proj.opacities[g] * torch.exp(power)).clamp_max(ALPHA_MAX)
            alpha = torch.where((power > 0) | (alpha < ALPHA_MIN), torch.zeros_like(alpha), alpha)
            one_minus = 1.0 - alpha
            t_before = torch.cat([torch.ones_like(alpha[:, :1]),
                                  torch.cumprod(one_minus, dim=1)[:, :-1]], dim=1)
            stop = (t_before * one_minus < T_MIN) & (alpha > 0)
            alive = torch.cumsum(stop.to(torch.int32), dim=1) == 0
            weight = alpha * t_before * alive
            total = weight.sum(dim=1)
            color = weight @ proj.colors[g] + (1.0 - total)[:, None] * bg
            row_tiles.append(color.reshape(*shape, 3))
            row_alpha.append(total.reshape(shape))
            if scores:
                with torch.no_grad():
                    hit = (alpha > 0) & alive
                    acc["significance"].index_add_(
                        0, g, (proj.opacities[g] * t_before * hit).sum(0).detach().float())
                    acc["sum_weight"].index_add_(0, g, weight.sum(0).detach().float())
                    acc["hits"].index_add_(0, g, hit.sum(0).to(torch.float32))
                    acc["max_weight"][g] = torch.maximum(acc["max_weight"][g],
                                                         weight.max(0).values.detach().float())
        rows.append(torch.cat(row_tiles, dim=1))
        alpha_rows.append(torch.cat(row_alpha, dim=1))
    image = torch.cat(rows, dim=0)
    result = RenderResult(image, torch.cat(alpha_rows, dim=0), means2d=proj.means2d)
    if scores:
        result.significance, result.max_weight = acc["significance"], acc["max_weight"]
        result.sum_weight, result.hits = acc["sum_weight"], acc["hits"]
    return result


def _render_numba(scene: GaussianScene, camera: Camera, *, background,
                  scores: bool) -> RenderResult:
    """The same image and statistics as the reference, composited by a numba kernel that runs
    the tiles in parallel; differentiable (the projection and the colours through torch's
    autograd, the compositing through :func:`~scenesparse._raster_numba.composite_backward`).
    CUDA tensors are rendered from CPU copies."""
    scene = _on_cpu(scene)
    grad = torch.is_grad_enabled() and any(t.requires_grad for t in _tensors(scene))
    # torch's and numba's OpenMP pools fight over the cores when both are busy (a projection
    # took 30x longer here): project on one torch thread, composite on numba's
    threads_before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.set_grad_enabled(grad):
            proj = project(scene, camera)
    finally:
        torch.set_num_threads(threads_before)
    lists = composite_lists(proj, camera)
    image, alpha, pair = _NumbaComposite.apply(proj.means2d, proj.conics, proj.opacities,
                                               proj.colors, lists, camera,
                                               tuple(float(b) for b in background))
    result = RenderResult(image, alpha, means2d=proj.means2d)
    if scores:
        n = len(scene)
        gauss = lists[2]
        pair = pair.numpy()
        result.significance = torch.from_numpy(np.bincount(gauss, pair[:, 0], n).astype(
            np.float32))
        result.sum_weight = torch.from_numpy(np.bincount(gauss, pair[:, 1], n).astype(np.float32))
        result.hits = torch.from_numpy(np.bincount(gauss, pair[:, 3], n).astype(np.float32))
        mx = np.zeros(n, dtype=np.float32)
        np.maximum.at(mx, gauss, pair[:, 2])
        result.max_weight = torch.from_numpy(mx)
    return result


def _tensors(scene: GaussianScene) -> tuple[torch.Tensor, ...]:
    return (scene.means, scene.quats, scene.log_scales, scene.opacity_logits, scene.sh_dc,
            scene.sh_rest)


def composite_lists(proj: Projected, camera: Camera) -> tuple[np.ndarray, ...]:
    """``(order, starts, gauss)`` for the numba kernels: the tile lists of :func:`tile_lists`
    and an order of the tiles, heaviest first, dealt round-robin to the threads so that each
    thread's share costs about the same."""
    import numba

    starts, gauss = tile_lists(proj, camera)
    threads = numba.get_num_threads()
    by_cost = np.argsort(-np.diff(starts), kind="stable")
    order = np.concatenate([by_cost[j::threads] for j in range(threads)])
    return order, starts, gauss


def _as32(t: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(t.detach().numpy(), dtype=np.float32)


class _NumbaComposite(torch.autograd.Function):
    """The numba compositor as an autograd function of the projected Gaussians."""

    @staticmethod
    def forward(ctx, means2d, conics, opacities, colors, lists, camera, background):
        from scenesparse._raster_numba import composite

        order, starts, gauss = lists
        arrays = tuple(_as32(t) for t in (means2d, conics, opacities, colors))
        bg = np.asarray(background, dtype=np.float32)
        image, alpha, pair = composite(order, starts, gauss, *arrays, bg, camera.width,
                                       camera.height, TILE, ALPHA_MIN, ALPHA_MAX, T_MIN)
        ctx.state = (lists, arrays, bg, camera, means2d.shape[0])
        pair_t = torch.from_numpy(pair)
        ctx.mark_non_differentiable(pair_t)
        return torch.from_numpy(image), torch.from_numpy(alpha), pair_t

    @staticmethod
    def backward(ctx, grad_image, grad_alpha, _grad_pair):
        from scenesparse._raster_numba import composite_backward

        (order, starts, gauss), arrays, bg, camera, n = ctx.state
        h, w = camera.height, camera.width
        gi = (np.zeros((h, w, 3), np.float32) if grad_image is None
              else np.ascontiguousarray(grad_image.numpy(), dtype=np.float32))
        ga = (np.zeros((h, w), np.float32) if grad_alpha is None
              else np.ascontiguousarray(grad_alpha.numpy(), dtype=np.float32))
        pair = composite_backward(order, starts, gauss, *arrays, bg, w, h, TILE, ALPHA_MIN,
                                  ALPHA_MAX, T_MIN, gi, ga)
        per = np.stack([np.bincount(gauss, pair[:, c], n) for c in range(9)], axis=1)
        per = torch.from_numpy(per.astype(np.float32))
        return per[:, 0:2], per[:, 2:5], per[:, 5], per[:, 6:9], None, None, None


def _on_cpu(scene: GaussianScene) -> GaussianScene:
    if not scene.means.is_cuda:
        return scene
    from dataclasses import replace

    return replace(scene, means=scene.means.cpu(), quats=scene.quats.cpu(),
                   log_scales=scene.log_scales.cpu(), opacity_logits=scene.opacity_logits.cpu(),
                   sh_dc=scene.sh_dc.cpu(), sh_rest=scene.sh_rest.cpu())


def _render_gsplat(scene: GaussianScene, camera: Camera, *, background,
                   scores: bool) -> RenderResult:
    """The same camera model through ``gsplat.rasterization`` on a CUDA GPU (classic mode,
    0.3 px dilation, SH as in the scene); the statistics come from gsplat's intersection lists
    (``rasterize_to_indices_in_range``), composited front to back with the reference's rules."""
    import gsplat

    dev = torch.device("cuda")
    means = scene.means.to(dev)
    coeffs = torch.cat([scene.sh_dc[:, None, :], scene.sh_rest], dim=1).to(dev)
    k = torch.tensor([[camera.fx, 0.0, camera.cx], [0.0, camera.fy, camera.cy],
                      [0.0, 0.0, 1.0]], device=dev)
    opacities = torch.sigmoid(scene.opacity_logits).to(dev)
    colors, alphas, meta = gsplat.rasterization(
        means, scene.quats.to(dev), torch.exp(scene.log_scales).to(dev), opacities, coeffs,
        camera.world_to_cam[None].to(dev), k[None], camera.width, camera.height,
        sh_degree=scene.sh_degree, near_plane=camera.near, eps2d=0.3, rasterize_mode="classic",
        packed=False, tile_size=TILE,
        backgrounds=torch.tensor([background], dtype=torch.float32, device=dev))
    result = RenderResult(colors[0], alphas[0, ..., 0], means2d=meta["means2d"])
    if scores:
        stats = _gsplat_statistics(meta, len(scene), camera.width, camera.height)
        result.significance, result.max_weight, result.sum_weight, result.hits = stats
    return result


@torch.no_grad()
def _gsplat_statistics(meta: dict, n: int, width: int, height: int,
                       batch_per_iter: int = 100) -> tuple[torch.Tensor, ...]:
    """Per-Gaussian ``(significance, max_weight, sum_weight, hits)`` of one gsplat view.

    gsplat hands back, batch by batch of depth-sorted Gaussians per tile, the (Gaussian, pixel)
    pairs a pixel still sees; each batch is composited here in depth order with the reference's
    rules (alpha capped at 0.99, skipped below 1/255, a pixel stops where T would fall below
    1e-4), and the pixels' transmittance carried to the next batch."""
    from gsplat import rasterize_to_indices_in_range

    dev = meta["means2d"].device
    means2d, conics = meta["means2d"][0], meta["conics"][0]
    opac, depths = meta["opacities"][0], meta["depths"][0]
    offsets, flatten_ids = meta["isect_offsets"], meta["flatten_ids"]
    trans = torch.ones(height * width, device=dev)
    out = [torch.zeros(n, device=dev) for _ in range(4)]
    significance, max_weight, sum_weight, hits = out
    n_isects = flatten_ids.numel()
    bounds = torch.cat([offsets.flatten(), torch.tensor([n_isects], device=dev)])
    block = TILE * TILE
    num_batches = (int((bounds[1:] - bounds[:-1]).max()) + block - 1) // block
    for step in range(0, num_batches, batch_per_iter):
        gs, pix, _ = rasterize_to_indices_in_range(
            step, step + batch_per_iter, trans.view(1, height, width), meta["means2d"],
            meta["conics"], meta["opacities"], width, height, TILE, offsets, flatten_ids)
        if gs.numel() == 0:
            break
        order = torch.argsort(depths[gs], stable=True)
        order = order[torch.argsort(pix[order], stable=True)]  # by pixel, then depth
        gs, pix = gs[order].long(), pix[order].long()
        px = (pix % width).float() + 0.5
        py = torch.div(pix, width, rounding_mode="floor").float() + 0.5
        dx, dy = px - means2d[gs, 0], py - means2d[gs, 1]
        c = conics[gs]
        power = -0.5 * (c[:, 0] * dx * dx + c[:, 2] * dy * dy) - c[:, 1] * dx * dy
        alpha = (opac[gs] * torch.exp(power)).clamp_max(ALPHA_MAX)
        alpha = torch.where((power > 0) | (alpha < ALPHA_MIN), torch.zeros_like(alpha), alpha)
        # transmittance before each pair: the pixel's carried T times the product of (1 - alpha)
        # of the earlier pairs of the same pixel in this batch (a segmented exclusive product)
        log_keep = torch.log1p(-alpha)
        cum = torch.cumsum(log_keep, 0)
        first = torch.ones_like(pix, dtype=torch.bool)
        first[1:] = pix[1:] != pix[:-1]
        seg_start = torch.cummax(torch.where(first, torch.arange(pix.numel(), device=dev),
                                             torch.zeros_like(pix)), 0).values
        before = cum - log_keep - (cum[seg_start] - log_keep[seg_start])
        t_before = trans[pix] * torch.exp(before)
        stop = (t_before * (1.0 - alpha) < T_MIN) & (alpha > 0)
        stops = torch.cumsum(stop.to(torch.int64), 0)
        alive = (stops - (stops[seg_start] - stop[seg_start].to(torch.int64))) == 0
        hit = (alpha > 0) & alive
        weight = alpha * t_before * hit
        significance.index_add_(0, gs, opac[gs] * t_before * hit)
        sum_weight.index_add_(0, gs, weight)
        hits.index_add_(0, gs, hit.float())
        max_weight.scatter_reduce_(0, gs, weight, reduce="amax")
        # carry each pixel's transmittance to the next batch; a stopped pixel is done
        new_t = trans.clone()
        new_t.index_reduce_(0, pix, torch.where(hit, 1.0 - alpha, torch.ones_like(alpha)),
                            reduce="prod")
        done = torch.zeros_like(trans, dtype=torch.bool)
        done[pix[stop]] = True
        trans = torch.where(done, torch.zeros_like(new_t), new_t)
    return significance, max_weight, sum_weight, hits
