"""QUEEN's encoder: each frame trained as residuals of the previous one, then stored.

Per frame (following NVlabs/queen's ``train.py``):

1. **Gate initialisation.** Render the previous frame's Gaussians from every training camera,
   take the loss ``MSE(render, frame t) - MSE(render, frame t-1)`` and sum, over the cameras, the
   norm of its gradient with respect to each Gaussian's 2D mean: ``g``. The gates start open with
   probability ``g / (g + median(g))``. QUEEN takes the median over every Gaussian; here it is
   the median of the non-zero ``g``: frames rendered without noise leave most Gaussians with
   ``g = 0`` exactly, which would make the median 0 and every touched gate certain.
2. **Where to look first.** For the first ``masked_fraction`` of the steps the loss only sees
   the dilated footprint (alpha > 0.5) of the Gaussians whose gate starts at least half open.
3. **Training.** ``epochs`` x cameras steps of :class:`~scenesparse.training.SplatTrainer`'s loop
   (3DGS's loss) on the residuals of :class:`~scenesparse.queen.residuals.FrameResiduals`,
   plus the gate's L0 penalty.
4. **Storing.** The frame's record, and the frame a reader will decode from it, which the next
   frame starts from.
"""

from __future__ import annotations

import math
import numbers
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from scenesparse.cameras import Camera
from scenesparse.gaussians import GaussianScene, gaussians_digest
from scenesparse.queen.coding import binary_entropy_bits, entropy_bits
from scenesparse.queen.residuals import FrameRecord, FrameResiduals, QueenConfig, StreamState, apply_record
from scenesparse.rendering import BACKENDS, render
from scenesparse.training import SplatTrainer, check_targets, params_from_scene, scene_from_params
from sparsebox._validation import SEED, Interval, Options, check_choice, check_int
from sparsebox.base import Sparsifier, with_gradients
from sparsebox.exceptions import InvalidParameterError, NotFittedError
from sparsebox.outputs import counted

__all__ = ["QueenEncoder", "QueenResiduals", "FrameState", "gate_probabilities",
           "footprint_masks"]


@with_gradients
def gate_probabilities(scene: GaussianScene, cameras: Sequence[Camera],
                       targets: Sequence[torch.Tensor], previous: Sequence[torch.Tensor], *,
                       backend: str = "auto") -> tuple[torch.Tensor, torch.Tensor]:
    """``(g, p)``: the view-space gradient difference per Gaussian and the initial gate
    probabilities ``g / (g + median of the non-zero g)`` (see the module docstring)."""
    means = scene.means.detach().clone().requires_grad_(True)
    probe = GaussianScene(means=means, quats=scene.quats.detach(),
                          log_scales=scene.log_scales.detach(),
                          opacity_logits=scene.opacity_logits.detach(),
                          sh_dc=scene.sh_dc.detach(), sh_rest=scene.sh_rest.detach())
    g = torch.zeros(len(scene))
    for cam, now, before in zip(cameras, targets, previous, strict=True):
        out = render(probe, cam, backend=backend)
        out.means2d.retain_grad()
        loss = ((out.image - now) ** 2).mean() - ((out.image - before) ** 2).mean()
        loss.backward()
        grad = out.means2d.grad.reshape(-1, 2).cpu()
        g += torch.nan_to_num(grad.norm(dim=1))
        means.grad = None
    positive = g[g > 0]
    if positive.numel() == 0:
        return g, torch.zeros_like(g)
    return g, g / (g + positive.median())


@torch.no_grad()
def footprint_masks(scene: GaussianScene, moving: torch.Tensor, cameras: Sequence[Camera], *,
                    dilation: float, backend: str = "auto") -> list[torch.Tensor]:
    """Per camera, the pixels where the ``moving`` Gaussians alone reach alpha > 0.5, dilated by
    ``dilation`` x the image width (a square window); all pixels when none moves."""
    if not bool(moving.any()):
        return [torch.ones(c.height, c.width, dtype=torch.bool) for c in cameras]
    part = scene.subset(moving.numpy())
    masks = []
    for cam in cameras:
        alpha = render(part, cam, backend=backend).alpha.cpu()
        r = max(1, round(dilation * cam.width))
        grown = torch.nn.functional.max_pool2d((alpha > 0.5).float()[None, None],
                                               2 * r + 1, stride=1, padding=r)
        masks.append(grown[0, 0] > 0)
    return masks


def _view(camera: Camera) -> dict[str, Any]:
    """What :meth:`QueenEncoder.encode_frame` compares of a camera with the previous frame's:
    its pose and intrinsics, as a tensor and numbers (a state dict keeps them)."""
    return {"world_to_cam": camera.world_to_cam.detach().float().cpu().clone(),
            "intrinsics": [float(camera.fx), float(camera.fy), float(camera.cx), float(camera.cy)]}


def _same_view(camera: Camera, view: dict[str, Any]) -> bool:
    mine = _view(camera)
    return torch.allclose(mine["world_to_cam"], view["world_to_cam"], atol=1e-5) and all(
        math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-6)
        for a, b in zip(mine["intrinsics"], view["intrinsics"], strict=True))


def _copied(views: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"world_to_cam": v["world_to_cam"].clone(), "intrinsics": list(v["intrinsics"])}
            for v in views]


class _ResidualTrainer(SplatTrainer):
    """The splat trainer's loop on a frame's residuals (positions, gates, latents, decoders)."""

    def __init__(self, residuals: FrameResiduals, template: GaussianScene,
                 cameras: Sequence[Camera], targets: Sequence[torch.Tensor], *,
                 masks: Sequence[torch.Tensor], masked_steps: int, backend: str,
                 seed: int) -> None:
        frozen = dict.fromkeys(("means", "quats", "scales", "opacities", "sh0", "shN"), 0.0)
        super().__init__(template, cameras, targets, backend=backend, learning_rates=frozen,
                         seed=seed)
        self.residuals = residuals
        self.optimizers = residuals.optimizers(self.extent)
        self.masks = list(masks)
        self.masked_steps = masked_steps

    def render_params(self) -> dict[str, torch.Tensor]:
        return self.residuals.render_params()

    def photometric_loss(self, image: torch.Tensor, target: torch.Tensor, index: int
                         ) -> torch.Tensor:
        if self.step_count < self.masked_steps:
            keep = self.masks[index].to(image.device)[..., None]
            image = torch.where(keep, image, target)
        return super().photometric_loss(image, target, index)

    def extra_loss(self) -> torch.Tensor:
        return self.residuals.regularizer()

    def after_step(self) -> None:
        self.residuals.after_step()


@dataclass
class FrameState:
    """What encoding one frame did (typed, one per frame)."""

    index: int
    steps: int
    seconds: float
    gate_init: np.ndarray  # initial open probability per Gaussian
    gate_final: np.ndarray  # the gate's value at the end (0: closed)
    gated: np.ndarray  # indices of the Gaussians whose position is stored
    estimate_bits: dict[str, float]  # training-time rate estimate, by payload
    history: list[dict[str, float]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """A copy with the arrays as tensors (what ``torch.load`` reads with
        ``weights_only=True``); :meth:`from_dict` makes the frame's state again."""
        return {"index": self.index, "steps": self.steps, "seconds": self.seconds,
                "gate_init": torch.tensor(self.gate_init), "gate_final": torch.tensor(self.gate_final),
                "gated": torch.tensor(self.gated), "estimate_bits": dict(self.estimate_bits),
                "history": [dict(row) for row in self.history]}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> FrameState:
        """The frame's state that :meth:`as_dict` described (a copy)."""
        return cls(int(state["index"]), int(state["steps"]), float(state["seconds"]),
                   state["gate_init"].numpy().copy(), state["gate_final"].numpy().copy(),
                   state["gated"].numpy().copy(), dict(state["estimate_bits"]),
                   [dict(row) for row in state["history"]])


class QueenEncoder:
    """Encode a multi-view video of Gaussians frame by frame (a gsplat-style strategy: the caller
    owns the loop and hands each frame's views in).

    Parameters
    ----------
    config : QueenConfig, optional
        Hyper-parameters (QUEEN's by default).
    backend : {"auto", "torch", "numba", "gsplat"}
    seed : int
        Camera order and the decoders' initial weights.

    Attributes
    ----------
    state_ : StreamState
        The last frame as a reader decodes it.
    frames_ : list of FrameState
        One per encoded frame after the first.

    Examples
    --------
    >>> from scenesparse.cameras import orbit_cameras
    >>> from scenesparse.queen.residuals import QueenConfig
    >>> g = torch.Generator().manual_seed(0)
    >>> scene = GaussianScene(means=torch.rand(40, 3, generator=g) * 0.3,
    ...                       quats=torch.tensor([[1.0, 0, 0, 0]] * 40),
    ...                       log_scales=torch.full((40, 3), -3.0),
    ...                       opacity_logits=torch.zeros(40), sh_dc=torch.zeros(40, 3),
    ...                       sh_rest=torch.zeros(40, 0, 3))
    >>> cams = orbit_cameras((0.15, 0.15, 0.15), 1.0, 2, width=16, height=16)
    >>> views = [render(scene, c).image.clamp(0, 1) for c in cams]
    >>> enc = QueenEncoder(QueenConfig(epochs=1))
    >>> _ = enc.start(scene, cams, views)
    >>> record = enc.encode_frame(cams, [v * 0.9 for v in views])
    >>> enc.state_.index, record.symbols["sh0"].shape
    (1, (40, 8))
    """

    def __init__(self, config: QueenConfig | None = None, *, backend: str = "auto",
                 seed: int = 0) -> None:
        if config is not None and not isinstance(config, QueenConfig):
            raise InvalidParameterError(f"config must be a QueenConfig (QueenConfig(epochs=...)), "
                                        f"got {type(config).__name__}")
        self.config = config or QueenConfig()
        self.backend = check_choice("backend", backend, ("auto", *BACKENDS))
        self.seed = check_int("seed", seed, minimum=0, maximum=2**64 - 1)

    def start(self, scene: GaussianScene, cameras: Sequence[Camera],
              images: Sequence[torch.Tensor]) -> StreamState:
        """Frame 0: the trained scene and its views (the next frame's gates compare with
        these)."""
        if not isinstance(scene, GaussianScene):  # a path: "'str' object has no attribute 'means'"
            raise InvalidParameterError(f"start takes the first frame as a GaussianScene "
                                        f"(scenesparse.read_ply(path) reads one), got "
                                        f"{type(scene).__name__} {scene!r:.80}")
        if not len(scene):  # encode_frame's IndexError deep in the residuals
            raise InvalidParameterError("start takes a first frame of at least one Gaussian, got "
                                        "an empty scene")
        check_targets(cameras, images)
        params = params_from_scene(scene)
        self.state_ = StreamState.from_params(params, self.config.latent_dims["shN"])
        self._rest_latent = self.state_.rest_latent.float()
        self._previous = [t.detach().float().cpu() for t in images]
        self._views = [_view(c) for c in cameras]
        self._generator = torch.Generator().manual_seed(self.seed)
        self.frames_: list[FrameState] = []
        return self.state_

    def _check_started(self) -> None:
        if not hasattr(self, "state_"):
            raise NotFittedError("this QueenEncoder has not started: call start(scene, cameras, "
                                 "images) with frame 0 first")

    def make_residuals(self, gate_init: torch.Tensor) -> FrameResiduals:
        """The trainable residuals of the next frame, on top of :attr:`state_`, with gates
        opening at ``gate_init`` (the hook to override for another kind of residual)."""
        return FrameResiduals(self.state_, gate_init, self.config,
                              rest_latent=self._rest_latent, generator=self._generator)

    def encode_frame(self, cameras: Sequence[Camera], images: Sequence[torch.Tensor], *,
                     progress: bool = False) -> FrameRecord:
        """Train the next frame's residuals on ``images`` (one per camera, the same cameras as
        the previous frame, in its order: InvalidParameterError otherwise) and return its record;
        :attr:`state_` becomes the decoded frame."""
        self._check_started()
        if len(cameras) != len(self._previous) or len(images) != len(cameras):
            raise InvalidParameterError(f"give the {counted(len(self._previous), 'camera')} of the "
                                        f"previous frame, one image each, got "
                                        f"{counted(len(cameras), 'camera')} and "
                                        f"{counted(len(images), 'image')}")
        check_targets(cameras, images)
        for i, (now, before) in enumerate(zip(images, self._previous, strict=True)):
            if tuple(now.shape) != tuple(before.shape):
                raise InvalidParameterError(f"image {i} is {tuple(now.shape)}, where the previous "
                                            f"frame's is {tuple(before.shape)}: give the cameras "
                                            "of the previous frame, at its size")
        other = next((i for i, (cam, view) in enumerate(zip(cameras, self._views, strict=False))
                      if not _same_view(cam, view)), None)  # no views: a state saved without them
        if other is not None:  # its images would be compared with another view's (the gates)
            raise InvalidParameterError(f"camera {other} is not the previous frame's camera {other} "
                                        "(another pose or intrinsics): give the cameras of the "
                                        "previous frame, in its order")
        started = time.perf_counter()
        cfg = self.config
        images = [t.detach().float().cpu() for t in images]
        prev_scene = scene_from_params(self.state_.params)
        g, p = gate_probabilities(prev_scene, cameras, images, self._previous,
                                  backend=self.backend)
        masks = footprint_masks(prev_scene, p >= 0.5, cameras, dilation=cfg.dilation,
                                backend=self.backend)
        residuals = self.make_residuals(p)
        steps = cfg.epochs * len(cameras)
        trainer = _ResidualTrainer(residuals, prev_scene, cameras, images, masks=masks,
                                   masked_steps=math.ceil(cfg.masked_fraction * steps),
                                   backend=self.backend, seed=self.seed + self.state_.index)
        history = trainer.train(steps, progress=progress,
                                label=f"frame {self.state_.index + 1}")
        record = residuals.record()
        estimate = {f"latent.{k}": entropy_bits(v) for k, v in record.symbols.items()}
        estimate["gated"] = binary_entropy_bits(len(record.gated), len(self.state_))
        self._rest_latent = residuals.rest_latent.detach().clone()
        self.state_ = apply_record(self.state_, record)
        self._previous = images
        self.frames_.append(FrameState(self.state_.index, steps, time.perf_counter() - started,
                                       p.numpy(), residuals.gate_values().numpy(),
                                       np.asarray(record.gated), estimate, history))
        return record

    def scene(self) -> GaussianScene:
        """The last frame, as a reader decodes it: a copy (editing it leaves the encoder's
        state alone, as :meth:`QueenStream.frame <scenesparse.queen.stream.QueenStream.frame>`'s
        scenes do)."""
        self._check_started()
        return scene_from_params({k: v.clone() for k, v in self.state_.params.items()})

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to go on encoding from the last frame, as tensors, numbers,
        strings, lists and dicts only, so ``torch.load`` reads it back with
        ``weights_only=True``. The configuration is not part of it."""
        self._check_started()
        return {"state": self.state_.as_dict(), "rest_latent": self._rest_latent.clone(),
                "previous": [t.clone() for t in self._previous],
                "cameras": _copied(self._views),
                "generator": self._generator.get_state(),
                "frames": [frame.as_dict() for frame in self.frames_]}

    def load_state_dict(self, state: dict[str, Any]) -> QueenEncoder:
        """Continue from :meth:`state_dict`'s state (in an encoder made with the same
        configuration, backend and seed); a state of other ``latent_dims`` is refused."""
        if not isinstance(state, Mapping):  # a path: "string indices must be integers"
            hint = (" (a file: pass torch.load(path, weights_only=True))"
                    if isinstance(state, (str, bytes, os.PathLike)) else "")
            raise InvalidParameterError(f"load_state_dict takes the dict state_dict() returned, "
                                        f"got {type(state).__name__}{hint}")
        missing = [k for k in ("state", "rest_latent", "previous", "generator", "frames")
                   if k not in state]
        if missing:  # was a bare KeyError
            raise InvalidParameterError(f"not a QueenEncoder state: no {missing[0]!r} (pass "
                                        "what state_dict() returned)")
        dims = {"shN": int(state["rest_latent"].shape[1]),
                **{name: int(w.shape[0]) for name, w in state["state"]["decoders"].items()}}
        other = {k: v for k, v in dims.items() if v != self.config.latent_dims[k]}
        if other:  # was torch's "mat1 and mat2 shapes cannot be multiplied" in the next frame
            mine = {k: self.config.latent_dims[k] for k in other}
            raise InvalidParameterError(f"the state was encoded with latent_dims {other}, where this "
                                        f"encoder's config has {mine}: load it into an encoder "
                                        "made with the config that encoded it")
        # everything is read before anything is set: a bad part leaves the encoder as it was
        stream_state = StreamState.from_dict(state["state"])
        generator = torch.Generator()
        try:
            generator.set_state(state["generator"])
        except (RuntimeError, TypeError) as err:  # torch: "Expected a CPUGeneratorImplState of size"
            raise InvalidParameterError(f"not a QueenEncoder state: its 'generator' is no torch "
                                        f"generator state ({err})") from None
        frames = [FrameState.from_dict(frame) for frame in state["frames"]]
        rest_latent = state["rest_latent"].clone()
        previous = [t.clone() for t in state["previous"]]
        views = _copied(state.get("cameras", []))  # none in a state saved before they were
        self.state_, self._generator, self.frames_ = stream_state, generator, frames
        self._rest_latent, self._previous, self._views = rest_latent, previous, views
        return self


class QueenResiduals(Sparsifier):
    """QUEEN's gated position residuals of one frame, as an estimator: which Gaussians must move
    to go from one frame to the next (``mask_``), how open each gate ended (``scores_``), and the
    next frame itself (``transform``: the previous frame plus the kept residuals, as a reader
    decodes it).

    ``fit(scene, cameras, images, previous_images)``: ``scene`` is frame t-1, ``images`` the
    photos of frame t from ``cameras`` and ``previous_images`` those of frame t-1.

    Parameters
    ----------
    epochs : int
        Steps = epochs x cameras.
    lambda_l0 : float
        Weight of the gates' L0 penalty.
    backend : {"auto", "torch", "numba", "gsplat"}
    seed : int

    Examples
    --------
    >>> from scenesparse.cameras import orbit_cameras
    >>> g = torch.Generator().manual_seed(0)
    >>> scene = GaussianScene(means=torch.rand(40, 3, generator=g) * 0.3,
    ...                       quats=torch.tensor([[1.0, 0, 0, 0]] * 40),
    ...                       log_scales=torch.full((40, 3), -3.0),
    ...                       opacity_logits=torch.zeros(40), sh_dc=torch.zeros(40, 3),
    ...                       sh_rest=torch.zeros(40, 0, 3))
    >>> cams = orbit_cameras((0.15, 0.15, 0.15), 1.0, 2, width=16, height=16)
    >>> before = [render(scene, c).image.clamp(0, 1) for c in cams]
    >>> est = QueenResiduals(epochs=1).fit(scene, cams, [b * 0.9 for b in before], before)
    >>> est.mask_.shape, len(est.transform(scene))
    ((40,), 40)
    """

    item = "residual"
    _parameter_constraints = {"epochs": [Interval(numbers.Integral, 1, None, closed="left")],
                              "lambda_l0": [Interval(numbers.Real, 0, None, closed="left")],
                              "backend": [Options(["auto", "torch", "numba", "gsplat"])],
                              "seed": SEED}

    def __init__(self, *, epochs: int = 10, lambda_l0: float = 0.1, backend: str = "auto",
                 seed: int = 0) -> None:
        self.epochs = epochs
        self.lambda_l0 = lambda_l0
        self.backend = backend
        self.seed = seed

    def fit(self, scene: GaussianScene, cameras: Sequence[Camera],
            images: Sequence[torch.Tensor], previous_images: Sequence[torch.Tensor]
            ) -> QueenResiduals:
        self._validate_params()
        config = QueenConfig(epochs=self.epochs, lambda_l0=self.lambda_l0)
        encoder = QueenEncoder(config, backend=self.backend, seed=self.seed)
        encoder.start(scene, cameras, previous_images)
        self.record_ = encoder.encode_frame(cameras, images)
        self.frame_ = encoder.scene()
        self.gate_init_ = encoder.frames_[-1].gate_init
        mask = np.zeros(len(scene), dtype=bool)
        mask[self.record_.gated] = True
        self.scores_ = encoder.frames_[-1].gate_final.astype(np.float64)
        self.mask_ = mask
        self._fitted_digest = gaussians_digest(scene)
        return self

    def _other_than_fitted(self, scene: Any, n: int) -> str | None:
        """Why ``scene``, of as many Gaussians as ``fit`` saw, is not the previous frame it was
        fitted on (its residuals were trained on top of that one), or None where it is."""
        if not isinstance(scene, GaussianScene):
            return f"transform takes a GaussianScene, got {type(scene).__name__}"
        fitted = getattr(self, "_fitted_digest", None)
        if fitted is None or gaussians_digest(scene) == fitted:
            return None
        return ("transform takes the scene fit was given (the frame its residuals apply to), "
                f"not another of as many Gaussians ({n}); fit on this one")

    def _apply(self, data: GaussianScene) -> GaussianScene:
        return self.frame_.subset(np.ones(len(self.frame_), dtype=bool))  # a copy: frame_ stays
