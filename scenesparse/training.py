"""Training Gaussian splats to images: the loss, the optimizers and the loop a strategy plugs into.

:class:`SplatTrainer` optimises a :class:`~scenesparse.gaussians.GaussianScene` so that its renders
from ``cameras`` match ``targets`` (photos, or renders of another model when distilling): 3DGS's
loss ``0.8 L1 + 0.2 (1 - SSIM)``, one Adam per attribute with 3DGS's learning rates (positions
scaled by the scene's extent and decaying exponentially), gradients for every attribute through
any renderer backend (numba or torch on a CPU, gsplat on a GPU), and a
:class:`~sparsebox.base.Strategy` whose hooks get gsplat's arguments. The parameters are gsplat's
(``means``, ``quats``, ``scales``, ``opacities``, ``sh0``, ``shN``), so gsplat's ``ops`` and
:func:`prune_` work on them.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from scenesparse.cameras import Camera
from scenesparse.gaussians import GaussianScene, check_finite
from scenesparse.imagemetrics import splat_loss
from scenesparse.rendering import check_cameras, check_render_backend, render
from sparsebox._validation import check_colour, check_int, check_real
from sparsebox.base import StrategyState, with_gradients
from sparsebox.exceptions import InvalidParameterError

__all__ = ["SplatTrainer", "LEARNING_RATES", "params_from_scene", "scene_from_params",
           "distill_sh", "scene_from_views", "prune_"]

#: 3DGS's learning rates (``means`` is multiplied by the scene's extent and decays to 1/100 of
#: itself over the steps of the schedule).
LEARNING_RATES = {"means": 1.6e-4, "scales": 5e-3, "quats": 1e-3, "opacities": 5e-2,
                  "sh0": 2.5e-3, "shN": 2.5e-3 / 20}


def params_from_scene(scene: GaussianScene) -> torch.nn.ParameterDict:
    """gsplat-named trainable parameters of a scene (copies): ``means``, ``quats``, ``scales``
    (log), ``opacities`` (logits), ``sh0`` ``(N, 1, 3)`` and ``shN`` ``(N, K, 3)``."""
    return torch.nn.ParameterDict({
        "means": torch.nn.Parameter(scene.means.detach().clone()),
        "quats": torch.nn.Parameter(scene.quats.detach().clone()),
        "scales": torch.nn.Parameter(scene.log_scales.detach().clone()),
        "opacities": torch.nn.Parameter(scene.opacity_logits.detach().clone()),
        "sh0": torch.nn.Parameter(scene.sh_dc.detach().clone()[:, None, :]),
        "shN": torch.nn.Parameter(scene.sh_rest.detach().clone()),
    })


def scene_from_params(params: Mapping[str, torch.Tensor], like: GaussianScene | None = None
                      ) -> GaussianScene:
    """The scene of gsplat-named parameters (the tensors themselves, so gradients flow);
    ``like`` lends its normals, extra properties and PLY layout (subset to the same rows only
    when the row counts agree)."""
    sh0 = params["sh0"].reshape(-1, 3)
    shn = params.get("shN")
    rest = shn if shn is not None else torch.zeros((sh0.shape[0], 0, 3), dtype=sh0.dtype,
                                                   device=sh0.device)
    fields = dict(means=params["means"], quats=params["quats"], log_scales=params["scales"],
                  opacity_logits=params["opacities"].reshape(-1), sh_dc=sh0, sh_rest=rest)
    if like is None:
        return GaussianScene(**fields)
    same = len(like) == sh0.shape[0]
    return replace(like, **fields, normals=like.normals if same else None,
                   extra=like.extra if same else {})


#: how far outside [0, 1] a target value may lie (rounding in a photo's conversion)
_TARGET_SLACK = 1e-3


def check_targets(cameras: Sequence[Camera], targets: Sequence[torch.Tensor], *,
                  name: str = "target") -> None:
    """One target image per camera, each ``(height, width, 3)`` of its camera, floating point,
    finite and in [0, 1]; otherwise an error that says which (``name`` says what the images
    are).

    Examples
    --------
    >>> from scenesparse.cameras import orbit_cameras
    >>> cams = orbit_cameras((0.0, 0.0, 0.0), 4.0, 2, width=8, height=6)
    >>> check_targets(cams, [torch.zeros(6, 8, 3)] * 2)
    >>> try:
    ...     check_targets(cams, [torch.zeros(6, 8, 3), torch.zeros(8, 8, 3)])
    ... except ValueError as err:
    ...     print(err)
    target 1 must be (height, width, 3) = (6, 8, 3) as its camera, got (8, 8, 3)
    """
    count = len(targets) if hasattr(targets, "__len__") else "no list of"
    if len(cameras) != count or not cameras:
        raise InvalidParameterError(f"give one {name} per camera, got {len(cameras)} cameras "
                                    f"and {count} {name}s")
    for i, (cam, target) in enumerate(zip(cameras, targets, strict=True)):
        if tuple(getattr(target, "shape", ())) != (cam.height, cam.width, 3):
            raise InvalidParameterError(f"{name} {i} must be (height, width, 3) = ({cam.height}, "
                                        f"{cam.width}, 3) as its camera, got "
                                        f"{tuple(getattr(target, 'shape', ()))}")
        _check_target(target, name)


def _check_target(target: torch.Tensor, name: str = "target") -> None:
    """A target image is floating point, finite and in [0, 1] (within ``_TARGET_SLACK``)."""
    name = ("an " if name[0] in "aeiou" else "a ") + name
    if not torch.is_tensor(target):
        raise InvalidParameterError(f"{name} (an image) must be a torch tensor, got "
                                    f"{type(target).__module__}.{type(target).__name__} "
                                    "(torch.from_numpy turns an array into one)")
    if not target.is_floating_point():
        raise InvalidParameterError(
            f"{name} must be a float tensor in [0, 1], got {getattr(target, 'dtype', type(target))}"
            " (divide 8-bit photos by 255)")
    if not bool(torch.isfinite(target).all()):
        raise InvalidParameterError(f"{name} holds NaN or infinite values")
    low, high = float(target.detach().min()), float(target.detach().max())
    if low < -_TARGET_SLACK or high > 1.0 + _TARGET_SLACK:
        raise InvalidParameterError(f"{name} must lie in [0, 1], got values in [{low:.6g}, "
                                    f"{high:.6g}] (clamp renders used as targets: "
                                    ".clamp(0, 1))")


class SplatTrainer:
    """Optimise a scene so that its renders from ``cameras`` match ``targets``.

    Parameters
    ----------
    scene : GaussianScene
        The starting point (copied: the scene given is not modified); NaN or infinite values
        are refused (:func:`~scenesparse.gaussians.check_finite`).
    cameras : sequence of Camera
    targets : sequence of Tensor ``(H, W, 3)`` in [0, 1], one per camera
        Photos, or the renders of a model to distil.
    backend : {"auto", "torch", "numba", "gsplat"}
        Renderer (see :func:`scenesparse.rendering.render`).
    schedule_steps : int
        Steps over which the position learning rate decays to 1/100 of its start.
    background : sequence of 3 floats
    strategy : sparsebox.base.Strategy, optional
        Its ``step_pre_backward`` / ``step_post_backward`` hooks run every step with gsplat's
        arguments (``params, optimizers, state, step, info``, and ``packed=False`` to the
        second), before the backward pass and after the optimizers' step, as gsplat's
        ``simple_trainer`` calls them; its state may be a typed
        :class:`~sparsebox.base.StrategyState` or a plain dict. ``info`` holds ``width``,
        ``height``, ``n_cameras`` and ``camera`` (the view's index), not the rasterizer's
        ``means2d`` or ``radii``: gsplat's own ``DefaultStrategy`` and ``MCMCStrategy`` read
        those (MCMC an ``lr`` too) and need gsplat's loop.
    learning_rates : mapping, optional
        Overrides of :data:`LEARNING_RATES` by parameter name (0 freezes one).
    seed : int
        The order of the cameras.

    Examples
    --------
    >>> from scenesparse.cameras import orbit_cameras
    >>> g = torch.Generator().manual_seed(0)
    >>> scene = GaussianScene(means=torch.rand(30, 3, generator=g) * 0.3,
    ...                       quats=torch.tensor([[1.0, 0, 0, 0]] * 30),
    ...                       log_scales=torch.full((30, 3), -3.0),
    ...                       opacity_logits=torch.zeros(30), sh_dc=torch.zeros(30, 3),
    ...                       sh_rest=torch.zeros(30, 0, 3))
    >>> cams = orbit_cameras((0.15, 0.15, 0.15), 1.0, 2, width=16, height=16)
    >>> targets = [torch.full((16, 16, 3), 0.2) for _ in cams]
    >>> trainer = SplatTrainer(scene, cams, targets)
    >>> first = trainer.step()["loss"]; last = trainer.train(20)[-1]["loss"]
    >>> last < first
    True
    """

    def __init__(self, scene: GaussianScene, cameras: Sequence[Camera],
                 targets: Sequence[torch.Tensor], *, backend: str = "auto",
                 schedule_steps: int = 30_000, background=(0.0, 0.0, 0.0),
                 strategy: Any = None, learning_rates: Mapping[str, float] | None = None,
                 seed: int = 0) -> None:
        if not isinstance(scene, GaussianScene):
            raise InvalidParameterError(f"scene must be a GaussianScene (read_ply reads one), got "
                                        f"{type(scene).__name__}")
        check_cameras(cameras)
        check_targets(cameras, targets)
        check_finite(scene)
        _check_seen(scene, cameras)
        unknown = set(learning_rates or {}) - set(LEARNING_RATES)
        if unknown:
            raise InvalidParameterError(f"learning_rates has unknown names {sorted(unknown)}; "
                                        f"known: {', '.join(LEARNING_RATES)}")
        # a negative or NaN rate froze its parameter without a word (only > 0 trains)
        overrides = {name: check_real(f"learning_rates[{name!r}] (0 freezes it)", value, minimum=0)
                     for name, value in (learning_rates or {}).items()}
        hooks = ("initialize_state", "check_sanity", "step_pre_backward", "step_post_backward")
        if strategy is not None and not all(callable(getattr(strategy, h, None)) for h in hooks):
            raise InvalidParameterError(f"strategy must have gsplat's Strategy methods "
                                        f"({', '.join(hooks)}), got {type(strategy).__name__}")
        self.template = scene
        self.cameras = list(cameras)
        self.targets = [t.detach().float() for t in targets]
        self.backend = check_render_backend(backend)  # at once, not at the first step
        self.schedule_steps = check_int("schedule_steps", schedule_steps, minimum=1)
        self.background = check_colour("background", background, unit=True)  # as the targets
        self.strategy = strategy
        self.params = params_from_scene(scene)
        pts = scene.means.detach().cpu().numpy()
        extent = float(np.linalg.norm(np.percentile(pts, 99, 0) - np.percentile(pts, 1, 0)))
        self.extent = max(extent, 1e-6)
        rates = self._rates = {**LEARNING_RATES, **overrides}
        self.base_lr = {k: v * (self.extent if k == "means" else 1.0) for k, v in rates.items()}
        for name, p in self.params.items():
            p.requires_grad_(self.base_lr[name] > 0)
        self.optimizers = {name: torch.optim.Adam([p], lr=self.base_lr[name], eps=1e-15)
                           for name, p in self.params.items() if p.requires_grad}
        self.strategy_state = strategy.initialize_state(scene_scale=self.extent) if strategy \
            else None
        if strategy is not None:
            strategy.check_sanity(self.params, self.optimizers)
        self.step_count = 0
        self._rng = np.random.default_rng(check_int("seed", seed, minimum=0))
        self._order: list[int] = []

    # ------------------------------------------------------------------ training
    def scene(self) -> GaussianScene:
        """The current scene, detached (the template's extra PLY properties ride along while no
        Gaussian has been removed)."""
        with torch.no_grad():
            params = {k: v.detach().clone() for k, v in self.params.items()}
        return scene_from_params(params, self.template)

    def _position_lr(self) -> float:
        t = min(self.step_count / self.schedule_steps, 1.0)
        return self.base_lr["means"] * math.exp(t * math.log(0.01))

    @with_gradients
    def step(self) -> dict[str, float]:
        """One optimisation step on the next camera (a new random order every epoch)."""
        if not self.optimizers:  # torch's "element 0 of tensors does not require grad" followed
            raise InvalidParameterError("learning_rates freeze every parameter (all 0): nothing "
                                        "to train; give one a rate above 0")
        if not self._order:
            # Python ints: a checkpoint of numpy ints needs torch.load(weights_only=False)
            self._order = [int(i) for i in self._rng.permutation(len(self.cameras))]
        index = int(self._order.pop())
        cam, target = self.cameras[index], self.targets[index]
        if "means" in self.optimizers:
            for group in self.optimizers["means"].param_groups:
                group["lr"] = self._position_lr()
        scene = scene_from_params(self.render_params(), self.template)
        out = render(scene, cam, backend=self.backend, background=self.background)
        image = out.image.to(target.device)
        loss = self.photometric_loss(image, target, index) + self.extra_loss()
        info = {"width": cam.width, "height": cam.height, "n_cameras": 1, "camera": index}
        if self.strategy is not None:
            self.strategy.step_pre_backward(self.params, self.optimizers, self.strategy_state,
                                            self.step_count, info)
        loss.backward()
        for opt in self.optimizers.values():
            opt.step()
            opt.zero_grad(set_to_none=True)
        if self.strategy is not None:
            self.strategy.step_post_backward(self.params, self.optimizers, self.strategy_state,
                                             self.step_count, info, packed=False)
        self.after_step()
        self.step_count += 1
        with torch.no_grad():
            mse = float(((image.detach().clamp(0, 1) - target) ** 2).mean())
        return {"step": self.step_count, "loss": float(loss.detach()),
                "psnr": 10 * math.log10(1 / max(mse, 1e-12)), "gaussians": len(self)}

    # ------------------------------------------------------------------ hooks for subclasses
    def render_params(self) -> Mapping[str, torch.Tensor]:
        """The gsplat-named tensors rendered at each step (``params`` itself here; a subclass that
        trains another parameterisation, such as QUEEN's residuals, composes them)."""
        return self.params

    def photometric_loss(self, image: torch.Tensor, target: torch.Tensor, index: int
                         ) -> torch.Tensor:
        """The loss of one view (3DGS's ``0.8 L1 + 0.2 (1 - SSIM)``)."""
        return splat_loss(image, target)

    def extra_loss(self) -> torch.Tensor | float:
        """A regulariser added to every step's loss (none here)."""
        return 0.0

    def after_step(self) -> None:
        """Runs after each optimizer step (nothing here)."""

    def train(self, steps: int, *, progress: bool = False, label: str = "training"
              ) -> list[dict[str, float]]:
        """``steps`` steps; one record each. With ``progress``, a bar shows the loss and PSNR."""
        from sparsebox.progress import make_progress

        steps = check_int("steps", steps, minimum=0)  # a negative count trained nothing, silently
        history = []
        with make_progress(transient=True, enabled=progress) as bar:
            task = bar.add_task(label, total=steps)
            for _ in range(steps):
                record = self.step()
                history.append(record)
                bar.update(task, advance=1, description=f"{label}: loss {record['loss']:.4f}, "
                                                       f"PSNR {record['psnr']:.2f} dB")
        return history

    def __len__(self) -> int:
        return int(self.params["means"].shape[0])

    def prune(self, keep: Any) -> int:
        """Remove the Gaussians ``keep`` is false for, parameters and Adam moments together."""
        return prune_(self.params, self.optimizers, self.strategy_state or {}, keep=keep)

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue: parameters, optimizer states, the step, the camera
        order, the extent of the starting scene (which scales the position rate) and the
        strategy's state (a plain dict of it where the strategy keeps one, as
        gsplat's strategies do)."""
        return {"params": {k: v.detach().clone() for k, v in self.params.items()},
                "optimizers": {k: copy.deepcopy(opt.state_dict())
                               for k, opt in self.optimizers.items()},
                "step": self.step_count, "order": list(self._order),
                "rng": self._rng.bit_generator.state, "cameras": len(self.cameras),
                "extent": self.extent,
                "strategy": None if self.strategy_state is None
                else copy.deepcopy(_strategy_state_dict(self.strategy_state))}

    def load_state_dict(self, state: Mapping[str, Any]) -> SplatTrainer:
        """Continue from :meth:`state_dict`'s state (of a trainer built on the same cameras and
        learning rates, with a strategy where this one has one: another is refused); the state is
        copied, so training on leaves it as it was (and loadable again)."""
        self._check_checkpoint(state)
        # the optimizers and the strategy update what they load in place; params are cloned
        state = {**state, "optimizers": copy.deepcopy(state["optimizers"]),
                 "strategy": copy.deepcopy(state.get("strategy"))}
        for name, value in state["params"].items():
            self.params[name] = torch.nn.Parameter(value.detach().clone(),
                                                   requires_grad=self.base_lr[name] > 0)
        self.optimizers = {name: torch.optim.Adam([p], lr=self.base_lr[name], eps=1e-15)
                           for name, p in self.params.items() if p.requires_grad}
        for name, opt in self.optimizers.items():
            opt.load_state_dict(state["optimizers"][name])
        # the position rate is scaled by the extent of the scene training started from, not of
        # the one this trainer was built on (a checkpoint's trained or pruned scene, say)
        extent = state.get("extent")  # None in an older checkpoint
        if extent is not None:
            self.extent = float(extent)
            self.base_lr["means"] = self._rates["means"] * self.extent
        self.step_count = int(state["step"])
        self._order = [int(i) for i in state["order"]]  # an older checkpoint's numpy ints
        self._rng.bit_generator.state = state["rng"]
        if self.strategy_state is not None and state.get("strategy") is not None:
            if hasattr(self.strategy_state, "load_state_dict"):
                self.strategy_state.load_state_dict(state["strategy"])
            else:  # a plain dict, as gsplat's strategies keep
                self.strategy_state.clear()
                self.strategy_state.update(state["strategy"])
        return self

    def _check_checkpoint(self, state: Mapping[str, Any]) -> None:
        """A checkpoint this trainer can continue: :meth:`state_dict`'s keys, the same
        parameters, the same trainable ones (learning rates), the same number of cameras and a
        strategy's state where this trainer has a strategy (and none where it has none)."""
        needed = ("params", "optimizers", "step", "order", "rng")
        missing = [key for key in needed if not isinstance(state, Mapping) or key not in state]
        if missing:
            raise InvalidParameterError(f"the checkpoint lacks {missing}: give what "
                                        "SplatTrainer.state_dict() returned")
        if set(state["params"]) != set(self.params):
            raise InvalidParameterError(f"the checkpoint holds parameters {sorted(state['params'])}"
                                        f", this trainer {sorted(self.params)}")
        trainable = sorted(name for name, rate in self.base_lr.items() if rate > 0)
        if sorted(state["optimizers"]) != trainable:
            raise InvalidParameterError(
                f"the checkpoint trains {sorted(state['optimizers'])}, this trainer {trainable}: "
                "build it with the learning_rates of the trainer that wrote the checkpoint")
        cameras = state.get("cameras")  # None in an older checkpoint: its order tells a part
        if (cameras is not None and cameras != len(self.cameras)) or any(
                int(i) >= len(self.cameras) for i in state["order"]):
            raise InvalidParameterError(f"the checkpoint was written by a trainer of "
                                        f"{cameras or 'more'} cameras, this one has "
                                        f"{len(self.cameras)}: build it on the same cameras")
        # a strategy's state dropped, or left at its start while the rest goes on, is no resume
        saved = state.get("strategy")
        if (saved is None) != (self.strategy_state is None):
            raise InvalidParameterError(
                "the checkpoint was written by a trainer " + (
                    "without a strategy, this trainer has one" if saved is None
                    else "with a strategy, this trainer has none") + ": build it with the "
                "strategy of the trainer that wrote the checkpoint")
        # a typed state refuses a state without its fields: before anything is loaded, not after
        if saved is not None and isinstance(self.strategy_state, StrategyState):
            kind = type(self.strategy_state).__name__
            if not isinstance(saved, Mapping):  # (set() of it raised a bare TypeError)
                raise InvalidParameterError(
                    f"the checkpoint's strategy state is {type(saved).__name__}, where this "
                    f"trainer's {kind} takes a dict: build it with the strategy of the trainer "
                    "that wrote the checkpoint")
            lacks, unknown = self.strategy_state.mismatched_keys(saved)
            if lacks or unknown:
                said = (f"lacks {lacks} of this trainer's {kind}" if lacks else
                        f"has {unknown}, which this trainer's {kind} has no field for")
                raise InvalidParameterError(
                    f"the checkpoint's strategy state {said}: build it with the strategy of the "
                    "trainer that wrote the checkpoint")


def _check_seen(scene: GaussianScene, cameras: Sequence[Camera]) -> None:
    """Refuse a scene of no Gaussian (an IndexError followed), and cameras none of which sees a
    Gaussian of the scene: no gradient reaches any, and the loss stayed where it was step after
    step, without a word."""
    from scenesparse.importance import check_cameras_see

    if not len(scene):
        raise InvalidParameterError("the scene has no Gaussian to train")
    check_cameras_see(scene, cameras, ", so training cannot move any")


def _strategy_state_dict(state: Any) -> dict[str, Any]:
    """A strategy's state as a plain dict: its ``state_dict()`` (a
    :class:`~sparsebox.base.StrategyState`), or the dict itself (gsplat's strategies keep their
    state in one)."""
    return state.state_dict() if hasattr(state, "state_dict") else dict(state)


def distill_sh(scene: GaussianScene, cameras: Sequence[Camera], degree: int, *, steps: int,
               backend: str = "auto", background=(0.0, 0.0, 0.0),
               progress: bool = False) -> GaussianScene:
    """The scene with its colours refitted at a lower spherical-harmonics degree: the
    coefficients above ``degree`` are dropped, as LightGaussian's distillation does, and the rest
    trained for ``steps`` steps towards the full scene's renders from ``cameras`` (over
    ``background``); positions, shapes and opacities stay as they are (LightGaussian's also
    moves positions and renders jittered poses).

    Examples
    --------
    >>> from scenesparse.cameras import orbit_cameras
    >>> g = torch.Generator().manual_seed(0)
    >>> scene = GaussianScene(means=torch.rand(20, 3, generator=g) * 0.3,
    ...                       quats=torch.tensor([[1.0, 0, 0, 0]] * 20),
    ...                       log_scales=torch.full((20, 3), -3.0),
    ...                       opacity_logits=torch.zeros(20), sh_dc=torch.zeros(20, 3),
    ...                       sh_rest=torch.randn(20, 15, 3, generator=g) * 0.1)
    >>> cams = orbit_cameras((0.15, 0.15, 0.15), 1.0, 4, width=16, height=16)
    >>> distill_sh(scene, cams, 1, steps=2).sh_degree
    1
    """
    check_int("degree (at most the scene's SH degree)", degree, minimum=0,
              maximum=scene.sh_degree)
    steps = check_int("steps", steps, minimum=0)
    background = check_colour("background", background, unit=True)  # before the renders
    with torch.no_grad():
        targets = [render(scene, c, backend=backend, background=background).image.clamp(0, 1)
                   .cpu() for c in cameras]
    student = replace(scene, sh_rest=scene.sh_rest[:, :(degree + 1) ** 2 - 1].clone(),
                      layout=None)
    # only colours move; the higher coefficients at sh0's rate (3DGS's shN rate, 1/20 of it, is
    # tuned for a whole training, not for a refit)
    rates = {"means": 0.0, "quats": 0.0, "scales": 0.0, "opacities": 0.0,
             "shN": LEARNING_RATES["sh0"]}
    trainer = SplatTrainer(student, cameras, targets, backend=backend, learning_rates=rates,
                           background=background)
    if steps:
        trainer.train(steps, progress=progress, label=f"SH degree {degree}")
    return trainer.scene()


def scene_from_views(cameras: Sequence[Camera], masks: Sequence[torch.Tensor],
                     images: Sequence[torch.Tensor], count: int, *, sh_degree: int = 0,
                     seed: int = 0, bounds: float = 1.5) -> GaussianScene:
    """A starting scene for training from photos with object masks (NeRF-synthetic's alpha):
    ``count`` Gaussians at random points of the visual hull (inside every view's mask), coloured
    by the mean of the pixels they project to, sized by the distance to their three nearest
    neighbours (3DGS's initialisation), opacity 0.1, no rotation.

    Examples
    --------
    >>> from scenesparse.cameras import orbit_cameras
    >>> cams = orbit_cameras((0, 0, 0), 3.0, 3, width=16, height=16)
    >>> masks = [torch.ones(16, 16) for _ in cams]
    >>> images = [torch.full((16, 16, 3), 0.5) for _ in cams]
    >>> len(scene_from_views(cams, masks, images, 100, bounds=0.5))
    100
    """
    from scipy.spatial import cKDTree

    from scenesparse.gaussians import SH_C0

    # 8-bit images gave colours 255 times too bright, fewer than 4 points infinite sizes
    check_cameras(cameras)
    check_targets(cameras, images, name="image")
    count_masks = len(masks) if hasattr(masks, "__len__") else "no list of"
    if count_masks != len(cameras):
        raise InvalidParameterError(f"give one mask per camera, got {len(cameras)} cameras and "
                                    f"{count_masks} masks")
    for i, (cam, mask) in enumerate(zip(cameras, masks, strict=True)):
        if not torch.is_tensor(mask) or tuple(mask.shape) != (cam.height, cam.width):
            raise InvalidParameterError(f"mask {i} must be a (height, width) = ({cam.height}, "
                                        f"{cam.width}) tensor as its camera, got "
                                        f"{type(mask).__name__} {tuple(np.shape(mask))}")
    count = check_int("count (3DGS sizes a Gaussian by its 3 nearest neighbours)", count,
                      minimum=4)
    sh_degree = check_int("sh_degree", sh_degree, minimum=0, maximum=3)
    bounds = check_real("bounds", bounds, above=0)
    rng = np.random.default_rng(check_int("seed", seed, minimum=0))
    found, colours = [], []
    total = 0
    for _ in range(200):
        pts = rng.uniform(-bounds, bounds, size=(max(4 * count, 10_000), 3))
        inside = np.ones(len(pts), dtype=bool)
        colour = np.zeros((len(pts), 3))
        for cam, mask, image in zip(cameras, masks, images, strict=True):
            w2c = cam.world_to_cam.double().numpy()
            p = pts @ w2c[:3, :3].T + w2c[:3, 3]
            z = np.maximum(p[:, 2], 1e-9)
            u = np.floor(cam.fx * p[:, 0] / z + cam.cx).astype(np.int64)
            v = np.floor(cam.fy * p[:, 1] / z + cam.cy).astype(np.int64)
            ok = (p[:, 2] > 0) & (u >= 0) & (u < cam.width) & (v >= 0) & (v < cam.height)
            hit = np.zeros(len(pts), dtype=bool)
            hit[ok] = mask.numpy()[v[ok], u[ok]] > 0.5
            inside &= hit
            colour[ok] += image.numpy()[v[ok], u[ok]]
        found.append(pts[inside])
        colours.append(colour[inside] / len(cameras))
        total += int(inside.sum())
        if total >= count:
            break
    if total < count:
        raise InvalidParameterError(f"the views' masks leave room for {total} of the {count} "
                                    "points asked for")
    pts = np.concatenate(found)[:count]
    rgb = np.concatenate(colours)[:count]
    dist, _ = cKDTree(pts).query(pts, 4)
    scale = np.sqrt(np.maximum((dist[:, 1:] ** 2).mean(axis=1), 1e-12))
    k = (sh_degree + 1) ** 2 - 1
    return GaussianScene(
        means=torch.tensor(pts, dtype=torch.float32),
        quats=torch.tensor([[1.0, 0.0, 0.0, 0.0]]).repeat(count, 1),
        log_scales=torch.tensor(np.log(scale), dtype=torch.float32)[:, None].repeat(1, 3),
        opacity_logits=torch.full((count,), math.log(0.1 / 0.9)),
        sh_dc=torch.tensor((rgb - 0.5) / SH_C0, dtype=torch.float32),
        sh_rest=torch.zeros(count, k, 3))


@torch.no_grad()
def prune_(params: MutableMapping[str, torch.nn.Parameter],
           optimizers: Mapping[str, torch.optim.Optimizer] | Iterable[torch.optim.Optimizer],
           state: MutableMapping[str, Any], *, keep: Any) -> int:
    """Keep the rows where ``keep`` is true, in place, everywhere they live: each parameter
    (replaced by a new ``Parameter`` of the kept rows), every optimizer state tensor of that
    parameter with the same leading size (Adam's ``exp_avg`` and ``exp_avg_sq``), and every
    tensor in ``state`` with that leading size. Returns how many rows were removed.

    ``keep`` is a keep-mask (True stays); gsplat's ``ops.remove(params, optimizers, state,
    mask)`` takes the opposite, a mask of rows to remove.

    Examples
    --------
    >>> params = {"means": torch.nn.Parameter(torch.arange(6.0).reshape(3, 2))}
    >>> opt = {"means": torch.optim.Adam([params["means"]])}
    >>> prune_(params, opt, {}, keep=torch.tensor([True, False, True]))
    1
    >>> params["means"].tolist()
    [[0.0, 1.0], [4.0, 5.0]]
    """
    if not params:
        raise InvalidParameterError("params is empty")
    n = next(iter(params.values())).shape[0]
    keep = torch.as_tensor(keep.cpu() if torch.is_tensor(keep) else np.asarray(keep))
    if keep.dtype != torch.bool or keep.shape != (n,):
        raise InvalidParameterError(f"keep must be a boolean mask of shape ({n},), got "
                                    f"{tuple(keep.shape)} {keep.dtype}")
    for name, p in params.items():
        if p.shape[0] != n:
            raise ValueError(f"parameter {name!r} has {p.shape[0]} rows, the others {n}")
    opts = list(optimizers.values()) if isinstance(optimizers, Mapping) else list(optimizers)
    for name, old in list(params.items()):
        new = torch.nn.Parameter(old.data[keep.to(old.device)], requires_grad=old.requires_grad)
        for opt in opts:
            for group in opt.param_groups:
                for i, p in enumerate(group["params"]):
                    if p is old:
                        group["params"][i] = new
                        if old in opt.state:
                            slot = opt.state.pop(old)
                            opt.state[new] = {
                                k: (v[keep.to(v.device)] if torch.is_tensor(v) and v.dim() > 0
                                    and v.shape[0] == n else v) for k, v in slot.items()}
        params[name] = new
    for key, value in list(state.items()):
        if torch.is_tensor(value) and value.dim() > 0 and value.shape[0] == n:
            state[key] = value[keep.to(value.device)]
    return int(n - keep.sum())
