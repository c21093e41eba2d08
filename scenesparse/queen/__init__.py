"""QUEEN: streaming free-viewpoint video of Gaussians (per-frame residuals, learned gates,
quantisation and a compressed stream). Names are imported on first use."""

from sparsebox._lazy import lazy_exports

_EXPORTS = {
    "QueenConfig": ".residuals", "QueenEncoder": ".encoder", "QueenStream": ".stream",
    "encode_video": ".video", "read_video": ".video",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
