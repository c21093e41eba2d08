"""The numba compositor behind :func:`scenesparse.render.render_fast`: tiles in parallel, each
pixel front to back, per-(tile, Gaussian) score sums so that threads never write the same slot."""

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
