"""The numba compositor of :func:`scenesparse.rendering.render` (backend ``"numba"``): tiles in
parallel, each pixel front to back, per-(tile, Gaussian) sums so that threads never write the same
slot. :func:`composite` renders; :func:`composite_backward` gives the gradients of a loss with
respect to the 2D means, conics, opacities and colours; :func:`composite_fisher` gives, per
(tile, Gaussian), the sum over pixels and channels of the outer products of the pixel colours'
gradients with respect to the 2D means and conic (PUP 3D-GS's Fisher, before the projection).
The PyTorch reference (``backend="torch"`` and autograd) is their specification."""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True, fastmath=True)
def composite(order, starts, gauss, means2d, conics, opac, colors, bg, width, height, tile,
              alpha_min, alpha_max, t_min):
    tiles_x = (width + tile - 1) // tile
    num_tiles = starts.shape[0] - 1
    image = np.empty((height, width, 3), dtype=np.float32)
    alpha_img = np.zeros((height, width), dtype=np.float32)
    # per pair (tile, gaussian): significance, sum of weights, max weight, hits
    pair = np.zeros((gauss.shape[0], 4), dtype=np.float32)
    # below this exponent alpha < alpha_min: skip the exp
    floor = np.log(alpha_min / np.maximum(opac, np.float32(1e-30))).astype(np.float32)
    for i in prange(num_tiles):
        t = order[i]
        ty, tx = t // tiles_x, t % tiles_x
        s, e = starts[t], starts[t + 1]
        for py in range(ty * tile, min((ty + 1) * tile, height)):
            for px in range(tx * tile, min((tx + 1) * tile, width)):
                fx, fy = np.float32(px + 0.5), np.float32(py + 0.5)
                T = np.float32(1.0)
                r = np.float32(0.0)
                g_ = np.float32(0.0)
                b = np.float32(0.0)
                for k in range(s, e):
                    j = gauss[k]
                    dx = fx - means2d[j, 0]
                    dy = fy - means2d[j, 1]
                    power = (np.float32(-0.5) * (conics[j, 0] * dx * dx + conics[j, 2] * dy * dy)
                             - conics[j, 1] * dx * dy)
                    if power > 0 or power < floor[j]:
                        continue
                    a = min(alpha_max, opac[j] * np.exp(power))
                    if a < alpha_min:
                        continue
                    test = T * (np.float32(1.0) - a)
                    if test < t_min:
                        break
                    w = a * T
                    r += w * colors[j, 0]
                    g_ += w * colors[j, 1]
                    b += w * colors[j, 2]
                    pair[k, 0] += opac[j] * T
                    pair[k, 1] += w
                    if w > pair[k, 2]:
                        pair[k, 2] = w
                    pair[k, 3] += 1.0
                    T = test
                image[py, px, 0] = r + T * bg[0]
                image[py, px, 1] = g_ + T * bg[1]
                image[py, px, 2] = b + T * bg[2]
                alpha_img[py, px] = 1.0 - T
    return image, alpha_img, pair


@njit(inline="always")
def _blend_inputs(j, fx, fy, means2d, conics, opac, floor, alpha_min, alpha_max):
    """``(alpha, power, dx, dy, clamped)`` of Gaussian ``j`` at pixel centre ``(fx, fy)``;
    alpha 0 where it is skipped."""
    dx = fx - means2d[j, 0]
    dy = fy - means2d[j, 1]
    power = -0.5 * (conics[j, 0] * dx * dx + conics[j, 2] * dy * dy) - conics[j, 1] * dx * dy
    if power > 0.0 or power < floor[j]:
        return 0.0, power, dx, dy, False
    a = opac[j] * np.exp(power)
    clamped = a > alpha_max
    if clamped:
        a = alpha_max
    if a < alpha_min:
        return 0.0, power, dx, dy, False
    return a, power, dx, dy, clamped


@njit(cache=True, parallel=True)
def _pixel_pass(order, starts, gauss, means2d, conics, opac, colors, bg, width, height, tile,
                alpha_min, alpha_max, t_min, grad_image, grad_alpha, fisher):
    """The back-to-front pass of every pixel (float64 arithmetic). Per (tile, Gaussian) pair:
    with ``fisher`` false, the loss gradient ``[d mean_x, d mean_y, d a, d b, d c, d opacity,
    d r, d g, d b]``; with ``fisher`` true, the 15 upper-triangle entries of
    ``sum_pixels sum_channels h h'`` with ``h = d colour / d (mean_x, mean_y, a, b, c)``."""
    tiles_x = (width + tile - 1) // tile
    num_tiles = starts.shape[0] - 1
    out = np.zeros((gauss.shape[0], 15 if fisher else 9))
    floor = np.log(alpha_min / np.maximum(opac.astype(np.float64), 1e-30))
    for i in prange(num_tiles):
        t = order[i]
        ty, tx = t // tiles_x, t % tiles_x
        s, e = starts[t], starts[t + 1]
        for py in range(ty * tile, min((ty + 1) * tile, height)):
            for px in range(tx * tile, min((tx + 1) * tile, width)):
                fx, fy = px + 0.5, py + 0.5
                # forward: where does this pixel stop, and its final transmittance
                T = 1.0
                last = s
                for k in range(s, e):
                    a, _, _, _, _ = _blend_inputs(gauss[k], fx, fy, means2d, conics, opac, floor,
                                                  alpha_min, alpha_max)
                    if a == 0.0:
                        continue
                    test = T * (1.0 - a)
                    if test < t_min:
                        break
                    T = test
                    last = k + 1
                gr = grad_image[py, px, 0]
                gg = grad_image[py, px, 1]
                gb = grad_image[py, px, 2]
                ga = grad_alpha[py, px]
                t_final = T
                # what lies behind entry k, background included: S = sum_j>k c_j w_j + T bg
                sr, sg, sb = T * bg[0], T * bg[1], T * bg[2]
                for k in range(last - 1, s - 1, -1):
                    j = gauss[k]
                    a, power, dx, dy, clamped = _blend_inputs(j, fx, fy, means2d, conics, opac,
                                                              floor, alpha_min, alpha_max)
                    if a == 0.0:
                        continue
                    t_before = T / (1.0 - a)
                    w = a * t_before
                    cr, cg, cb = colors[j, 0], colors[j, 1], colors[j, 2]
                    # d colour / d alpha (per channel), and d alpha / d power
                    dcr = cr * t_before - sr / (1.0 - a)
                    dcg = cg * t_before - sg / (1.0 - a)
                    dcb = cb * t_before - sb / (1.0 - a)
                    da_dpower = 0.0 if clamped else a
                    vx = conics[j, 0] * dx + conics[j, 1] * dy
                    vy = conics[j, 2] * dy + conics[j, 1] * dx
                    va, vb, vc = -0.5 * dx * dx, -dx * dy, -0.5 * dy * dy
                    if fisher:
                        scale = da_dpower * da_dpower * (dcr * dcr + dcg * dcg + dcb * dcb)
                        v0, v1, v2, v3, v4 = vx, vy, va, vb, vc
                        out[k, 0] += scale * v0 * v0
                        out[k, 1] += scale * v0 * v1
                        out[k, 2] += scale * v0 * v2
                        out[k, 3] += scale * v0 * v3
                        out[k, 4] += scale * v0 * v4
                        out[k, 5] += scale * v1 * v1
                        out[k, 6] += scale * v1 * v2
                        out[k, 7] += scale * v1 * v3
                        out[k, 8] += scale * v1 * v4
                        out[k, 9] += scale * v2 * v2
                        out[k, 10] += scale * v2 * v3
                        out[k, 11] += scale * v2 * v4
                        out[k, 12] += scale * v3 * v3
                        out[k, 13] += scale * v3 * v4
                        out[k, 14] += scale * v4 * v4
                    else:
                        dalpha = gr * dcr + gg * dcg + gb * dcb + ga * t_final / (1.0 - a)
                        dpower = dalpha * da_dpower
                        out[k, 0] += dpower * vx
                        out[k, 1] += dpower * vy
                        out[k, 2] += dpower * va
                        out[k, 3] += dpower * vb
                        out[k, 4] += dpower * vc
                        if not clamped:
                            out[k, 5] += dalpha * a / opac[j]
                        out[k, 6] += w * gr
                        out[k, 7] += w * gg
                        out[k, 8] += w * gb
                    sr += cr * w
                    sg += cg * w
                    sb += cb * w
                    T = t_before
    return out


def composite_backward(order, starts, gauss, means2d, conics, opac, colors, bg, width, height,
                       tile, alpha_min, alpha_max, t_min, grad_image, grad_alpha):
    """Per (tile, Gaussian) pair, the gradient of the loss with respect to ``[mean_x, mean_y, a,
    b, c, opacity, r, g, b]`` (sum them per Gaussian)."""
    return _pixel_pass(order, starts, gauss, means2d, conics, opac, colors, bg, width, height,
                       tile, alpha_min, alpha_max, t_min, grad_image, grad_alpha, False)


def composite_fisher(order, starts, gauss, means2d, conics, opac, colors, bg, width, height,
                     tile, alpha_min, alpha_max, t_min):
    """Per (tile, Gaussian) pair, the upper triangle (row-major, 15 entries) of ``sum_pixels
    sum_channels h h'`` with ``h`` the gradient of a pixel colour with respect to ``[mean_x,
    mean_y, a, b, c]``."""
    zeros3 = np.zeros((height, width, 3), dtype=np.float32)
    zeros = np.zeros((height, width), dtype=np.float32)
    return _pixel_pass(order, starts, gauss, means2d, conics, opac, colors, bg, width, height,
                       tile, alpha_min, alpha_max, t_min, zeros3, zeros, True)
