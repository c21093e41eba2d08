"""Image quality: PSNR and SSIM for images in [0, 1], and the splat training loss.

SSIM is computed one way, in PyTorch (:func:`ssim_torch`, differentiable, what training
minimises); :func:`ssim` is the same numbers for numpy images.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from sparsebox.exceptions import InvalidParameterError

__all__ = ["psnr", "ssim", "ssim_torch", "splat_loss"]

_WINDOW, _SIGMA = 11, 1.5
_C1, _C2 = 0.01**2, 0.03**2


def _check_pair(a, b) -> None:
    """Two float images of one shape: 8-bit ones (peak 255) gave a PSNR 48 dB too low and an
    SSIM of the wrong constants, and images of two shapes were broadcast into a number."""
    for x in (a, b):
        dtype = x.dtype if torch.is_tensor(x) else np.asarray(x).dtype
        if not (dtype.is_floating_point if torch.is_tensor(x) else dtype.kind == "f"):
            raise InvalidParameterError(f"images must be floating point in [0, 1], got {dtype} "
                                        "(divide 8-bit images by 255)")
    if tuple(a.shape) != tuple(b.shape):
        raise InvalidParameterError(f"images differ in shape: {tuple(a.shape)} and "
                                    f"{tuple(b.shape)}")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB (peak 1) of two float images of one shape; ``inf`` for
    identical images."""
    a, b = np.asarray(a), np.asarray(b)
    _check_pair(a, b)
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(1.0 / mse)


def _mirror(n: int, pad: int, device: torch.device) -> torch.Tensor:
    """Indices that extend ``0..n-1`` by ``pad`` on each side, the edge repeated (numpy's
    'symmetric', scipy's 'reflect')."""
    idx = np.arange(-pad, n + pad)
    period = 2 * n
    idx = np.mod(idx, period)
    idx = np.where(idx >= n, period - 1 - idx, idx)
    return torch.as_tensor(idx, device=device)


def _blur(x: torch.Tensor) -> torch.Tensor:
    """Gaussian blur (11 x 11, sigma 1.5, normalised) of ``(C, H, W)`` images, edges mirrored."""
    r = _WINDOW // 2
    g = torch.exp(-(torch.arange(-r, r + 1, dtype=x.dtype, device=x.device) ** 2)
                  / (2 * _SIGMA**2))
    g = g / g.sum()
    _, h, w = x.shape
    x = x.index_select(1, _mirror(h, r, x.device)).index_select(2, _mirror(w, r, x.device))
    c = x.shape[0]
    x = F.conv2d(x[:, None], g.view(1, 1, -1, 1)).squeeze(1)  # rows
    x = F.conv2d(x[:, None], g.view(1, 1, 1, -1)).squeeze(1)  # columns
    return x.view(c, h, w)


def ssim_torch(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Structural similarity (Wang et al. 2004) of two ``(H, W, 3)`` or ``(H, W)`` images with the
    splatting papers' window and constants: an 11 x 11 Gaussian window of sigma 1.5,
    ``C1 = 0.01^2``, ``C2 = 0.03^2``, averaged over every pixel and channel, the edges mirrored.
    Differentiable. At the borders the references differ: 3DGS pads with zeros, and
    torchmetrics and skimage (gsplat's evaluation) average only the pixels 5 or more from the
    edge, so where the images have content near their edges the numbers differ, the more the
    smaller the images (at 64 x 64 by a few hundredths).

    Examples
    --------
    >>> x = torch.rand(16, 16, 3)
    >>> float(ssim_torch(x, x))
    1.0
    """
    _check_pair(a, b)
    if a.dim() not in (2, 3) or a.dim() == 3 and a.shape[2] > 4:
        raise InvalidParameterError(f"images must be (H, W, 3) or (H, W), got {tuple(a.shape)} "
                                    "(one image at a time, channels last: .permute(1, 2, 0) "
                                    "turns (3, H, W) into (H, W, 3))")
    x = a[None] if a.dim() == 2 else a.permute(2, 0, 1)
    y = b[None] if b.dim() == 2 else b.permute(2, 0, 1)
    mu_x, mu_y = _blur(x), _blur(y)
    var_x = _blur(x * x) - mu_x**2
    var_y = _blur(y * y) - mu_y**2
    cov = _blur(x * y) - mu_x * mu_y
    s = ((2 * mu_x * mu_y + _C1) * (2 * cov + _C2)) / (
        (mu_x**2 + mu_y**2 + _C1) * (var_x + var_y + _C2))
    return s.mean()


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """:func:`ssim_torch` of two numpy images (in double precision)."""
    a, b = np.asarray(a), np.asarray(b)
    _check_pair(a, b)
    a, b = a.astype(np.float64), b.astype(np.float64)
    return float(ssim_torch(torch.from_numpy(a), torch.from_numpy(b)))


def splat_loss(image: torch.Tensor, target: torch.Tensor, ssim_weight: float = 0.2
               ) -> torch.Tensor:
    """3DGS's training loss: ``(1 - w) L1 + w (1 - SSIM)`` with ``w = 0.2``.

    Examples
    --------
    >>> x = torch.rand(8, 8, 3)
    >>> float(splat_loss(x, x))
    0.0
    """
    ssim = ssim_torch(image, target)  # first: its checks name two shapes (L1 broadcast them,
    l1 = (image - target).abs().mean()  # or failed with torch's size mismatch)
    return (1.0 - ssim_weight) * l1 + ssim_weight * (1.0 - ssim)
