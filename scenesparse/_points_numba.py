"""Per-point kernels for :mod:`scenesparse.points` (parallel over points); the numpy
specification is :func:`scenesparse.points.geometry_reference`."""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange


@njit(inline="always")
def _null_vector(m00, m01, m02, m11, m12, m22):
    """Unit vector across the rows of the symmetric matrix ``M`` (of rank 2): the largest cross
    product of two rows, normalised; and whether there was one (rank 2)."""
    c01 = (m01 * m12 - m02 * m11, m02 * m01 - m00 * m12, m00 * m11 - m01 * m01)
    c02 = (m01 * m22 - m02 * m12, m02 * m02 - m00 * m22, m00 * m12 - m01 * m02)
    c12 = (m11 * m22 - m12 * m12, m12 * m02 - m01 * m22, m01 * m12 - m11 * m02)
    n01 = c01[0] ** 2 + c01[1] ** 2 + c01[2] ** 2
    n02 = c02[0] ** 2 + c02[1] ** 2 + c02[2] ** 2
    n12 = c12[0] ** 2 + c12[1] ** 2 + c12[2] ** 2
    best, nb = c01, n01
    if n02 > nb:
        best, nb = c02, n02
    if n12 > nb:
        best, nb = c12, n12
    if nb < 1e-300:
        return 0.0, 0.0, 1.0, False
    inv = 1.0 / math.sqrt(nb)
    return best[0] * inv, best[1] * inv, best[2] * inv, True


@njit(inline="always")
def _smallest_eigvec(a00, a01, a02, a11, a12, a22):
    """Unit eigenvector of the smallest eigenvalue of a symmetric 3x3 matrix, and the
    eigenvalues (ascending): trigonometric solution, vector from cross products of the rows of
    ``A - lambda I``. Where the smallest eigenvalue is double (a neighbourhood on a line), those
    rows are parallel and their cross products rounding noise: the vector is then one across
    the eigenvector of the largest eigenvalue, as any vector across it is an eigenvector."""
    p1 = a01 * a01 + a02 * a02 + a12 * a12
    q = (a00 + a11 + a22) / 3.0
    p2 = (a00 - q) ** 2 + (a11 - q) ** 2 + (a22 - q) ** 2 + 2.0 * p1
    p = math.sqrt(p2 / 6.0)
    if p < 1e-300:
        return 0.0, 0.0, 1.0, q, q, q
    b00, b11, b22 = (a00 - q) / p, (a11 - q) / p, (a22 - q) / p
    b01, b02, b12 = a01 / p, a02 / p, a12 / p
    r = 0.5 * (b00 * (b11 * b22 - b12 * b12) - b01 * (b01 * b22 - b12 * b02)
               + b02 * (b01 * b12 - b11 * b02))
    r = min(1.0, max(-1.0, r))
    phi = math.acos(r) / 3.0
    e_max = q + 2.0 * p * math.cos(phi)
    e_min = q + 2.0 * p * math.cos(phi + 2.0 * math.pi / 3.0)
    e_mid = 3.0 * q - e_max - e_min
    if e_mid - e_min > 1e-8 * (e_max - e_min):
        x, y, z, _ = _null_vector(a00 - e_min, a01, a02, a11 - e_min, a12, a22 - e_min)
        return x, y, z, e_min, e_mid, e_max
    ux, uy, uz, found = _null_vector(a00 - e_max, a01, a02, a11 - e_max, a12, a22 - e_max)
    if not found:
        return 0.0, 0.0, 1.0, e_min, e_mid, e_max
    # across u: its cross product with the coordinate axis it leans on least
    if abs(ux) <= abs(uy) and abs(ux) <= abs(uz):
        x, y, z = 0.0, uz, -uy
    elif abs(uy) <= abs(uz):
        x, y, z = -uz, 0.0, ux
    else:
        x, y, z = uy, -ux, 0.0
    inv = 1.0 / math.sqrt(x * x + y * y + z * z)
    return x * inv, y * inv, z * inv, e_min, e_mid, e_max


@njit(cache=True, parallel=True)
def geometry(points, indptr, indices, weight, squared_dist_mean):
    """Per point: the normal component of ``x_i - sum_j a_ij x_j`` (row-normalised weights)
    over the mean squared neighbour distance, the local-PCA normal and the surface variation.
    Neighbourhoods (for PCA) are the point and its CSR neighbours."""
    n = points.shape[0]
    score = np.empty(n)
    normals = np.empty((n, 3))
    variation = np.empty(n)
    for i in prange(n):
        s, e = indptr[i], indptr[i + 1]
        wsum = 0.0
        mx = my = mz = 0.0
        cx, cy, cz = points[i, 0], points[i, 1], points[i, 2]
        sx, sy, sz = cx, cy, cz
        for k in range(s, e):
            j = indices[k]
            w = weight[k]
            wsum += w
            mx += w * points[j, 0]
            my += w * points[j, 1]
            mz += w * points[j, 2]
            sx += points[j, 0]
            sy += points[j, 1]
            sz += points[j, 2]
        cnt = e - s + 1
        sx /= cnt
        sy /= cnt
        sz /= cnt
        dx, dy, dz = cx - sx, cy - sy, cz - sz  # the point itself
        a00, a01, a02 = dx * dx, dx * dy, dx * dz
        a11, a12, a22 = dy * dy, dy * dz, dz * dz
        for k in range(s, e):
            j = indices[k]
            dx, dy, dz = points[j, 0] - sx, points[j, 1] - sy, points[j, 2] - sz
            a00 += dx * dx
            a01 += dx * dy
            a02 += dx * dz
            a11 += dy * dy
            a12 += dy * dz
            a22 += dz * dz
        nx, ny, nz, e0, e1, e2 = _smallest_eigvec(a00 / cnt, a01 / cnt, a02 / cnt, a11 / cnt,
                                                  a12 / cnt, a22 / cnt)
        normals[i, 0], normals[i, 1], normals[i, 2] = nx, ny, nz
        total = e0 + e1 + e2
        variation[i] = max(e0, 0.0) / total if total > 0 else 0.0
        hx = cx - mx / wsum
        hy = cy - my / wsum
        hz = cz - mz / wsum
        # neighbours all at the point (duplicates): no detail to measure, and the response
        # is rounding noise, which a zero distance would blow up to 1e284
        spread = squared_dist_mean[i]
        score[i] = abs(hx * nx + hy * ny + hz * nz) / spread if spread > 0.0 else 0.0
    return score, normals, variation


@njit(cache=True)
def lzf_decompress(src: np.ndarray, out: np.ndarray) -> int:
    """Decode the LZF stream ``src`` (uint8; liblzf's format, which PCL's ``binary_compressed``
    PCD data use) into ``out`` (uint8, the decoded size); returns the bytes written, or -1 where
    ``src`` is no LZF stream of that size (a reference before the start, a run past either end).

    Each control byte ``c`` starts a literal run of ``c + 1`` bytes (``c < 32``) or a back
    reference of ``(c >> 5) + 2`` bytes (7 in the top bits: plus the next byte) to
    ``((c & 31) << 8) + next + 1`` bytes back, which may overlap what it writes."""
    ip, op, n_in, n_out = 0, 0, src.size, out.size
    while ip < n_in:
        ctrl = np.int64(src[ip])
        ip += 1
        if ctrl < 32:
            length = ctrl + 1
            if ip + length > n_in or op + length > n_out:
                return -1
            out[op:op + length] = src[ip:ip + length]
            ip += length
            op += length
            continue
        length = ctrl >> 5
        if length == 7:
            if ip >= n_in:
                return -1
            length += np.int64(src[ip])
            ip += 1
        if ip >= n_in:
            return -1
        ref = op - ((ctrl & 31) << 8) - np.int64(src[ip]) - 1
        ip += 1
        length += 2
        if ref < 0 or op + length > n_out:
            return -1
        for k in range(length):  # byte by byte: the copy may overlap what it writes
            out[op + k] = out[ref + k]
        op += length
    return op
