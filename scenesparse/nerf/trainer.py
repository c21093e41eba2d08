"""Training a :class:`~scenesparse.nerf.field.NerfField` on photos with their cameras.

Every step draws ``batch_rays`` pixels at random from all training photos, renders them (on a
random background colour when the photos have alpha, so that empty space must be learnt as
empty) and takes one Adam step on the MSE: :class:`~scenesparse.nerf.optim.RowAdam` (Adam on
the rows a batch read) for the hash table when its gradients are sparse, Adam for the MLPs and
the saliency grid. With a saliency grid, the constraint ``mean(sigmoid(G)) <= budget`` enters
the loss through the core's :class:`~sparsebox.masks.AugmentedLagrangianBudget`, with a
dual-ascent step after every optimizer step; the budget falls from 1 to ``C`` over the first
part of the schedule (see ``saliency_anneal``), and the gate's ``alpha`` rises from
``gate_alpha[0]`` to ``gate_alpha[1]`` a third of the way through. The occupancy grid is
refreshed every 16 steps (every cell for the first 256 steps, a quarter of them after).
:meth:`NerfTrainer.state_dict` holds everything needed to stop and go on exactly where the run
was.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from scenesparse.cameras import Camera
from scenesparse.nerf.field import NerfField
from scenesparse.nerf.occupancy import OccupancyGrid
from scenesparse.nerf.optim import RowAdam
from scenesparse.nerf.volume import camera_rays, render_rays, step_size
from sparsebox._validation import check_colour
from sparsebox.base import with_gradients
from sparsebox.exceptions import InvalidParameterError
from sparsebox.masks import AugmentedLagrangianBudget

__all__ = ["NerfTrainer", "render_image", "check_images"]

_BETAS = (0.9, 0.99)
_EPS = 1e-15
SALIENCY_BETAS = (0.9, 0.99)
OCCUPANCY_EVERY = 16
OCCUPANCY_FULL_UPDATES = 4


#: how far outside [0, 1] a photo's value may lie (rounding in its conversion)
_IMAGE_SLACK = 1e-3


def check_images(cameras: Sequence[Camera], images: Sequence[Any], *,
                 alphas: Sequence[Any] | None = None) -> None:
    """One photo per camera (at least one), each a float tensor ``(height, width, 3)`` of its
    camera, finite and in [0, 1], and, where ``alphas`` are given, one alpha of ``height x
    width`` values per camera; otherwise an error that names the photo. 8-bit photos (0..255)
    would train towards colours no render reaches and make PSNR meaningless.

    Examples
    --------
    >>> from scenesparse.cameras import orbit_cameras
    >>> cams = orbit_cameras((0.0, 0.0, 0.0), 4.0, 1, width=8, height=6)
    >>> check_images(cams, [torch.zeros(6, 8, 3)])
    >>> try:
    ...     check_images(cams, [torch.full((6, 8, 3), 255, dtype=torch.uint8)])
    ... except ValueError as err:
    ...     print(err)
    image 0 must be a float tensor in [0, 1], got torch.uint8 (divide 8-bit photos by 255)
    """
    if not cameras or len(cameras) != len(images):
        raise InvalidParameterError(f"give one image per camera (at least one), got "
                                    f"{len(cameras)} cameras and {len(images)} images")
    if alphas is not None and len(alphas) != len(cameras):
        raise InvalidParameterError(f"give one alpha per camera, got {len(cameras)} cameras "
                                    f"and {len(alphas)} alphas")
    for i, (cam, image) in enumerate(zip(cameras, images, strict=True)):
        if not torch.is_tensor(image):
            raise InvalidParameterError(f"image {i} must be a torch tensor, got "
                                        f"{type(image).__module__}.{type(image).__name__} "
                                        "(torch.from_numpy turns an array into one)")
        if tuple(image.shape) != (cam.height, cam.width, 3):
            raise InvalidParameterError(f"image {i} must be (height, width, 3) = "
                                        f"({cam.height}, {cam.width}, 3), got "
                                        f"{tuple(image.shape)}")
        if not image.is_floating_point():
            raise InvalidParameterError(f"image {i} must be a float tensor in [0, 1], got "
                                        f"{image.dtype} (divide 8-bit photos by 255)")
        if not bool(torch.isfinite(image).all()):
            raise InvalidParameterError(f"image {i} holds NaN or infinite values")
        low, high = float(image.min()), float(image.max())
        if low < -_IMAGE_SLACK or high > 1.0 + _IMAGE_SLACK:
            raise InvalidParameterError(f"image {i} must lie in [0, 1], got values in "
                                        f"[{low:.6g}, {high:.6g}]")
        if alphas is not None and (not torch.is_tensor(alphas[i])
                                   or alphas[i].numel() != cam.height * cam.width):
            raise InvalidParameterError(f"alpha {i} must be a tensor of height x width = "
                                        f"{cam.height} x {cam.width} values, got "
                                        f"{tuple(getattr(alphas[i], 'shape', ()))}")


def _occupancy_threshold(step: float) -> float:
    """The density at which one step absorbs 1% of the light (Instant-NGP's 0.01 / dt)."""
    return -math.log(1.0 - 0.01) / step


class NerfTrainer:
    """Optimise ``field`` so that its renders from ``cameras`` match ``images``.

    Parameters
    ----------
    field : NerfField
        Trained in place.
    cameras : sequence of Camera
    images : sequence of Tensor ``(H, W, 3)`` in [0, 1]
        The photos, composited over ``background``.
    alphas : sequence of Tensor ``(H, W)``, optional
        The photos' alpha: each step then composites them over a random colour.
    steps : int
        Length of the schedule (learning rate decays to a tenth; the gate sharpens at a third).
    batch_rays : int
        Rays per step.
    learning_rate : float
        Adam's step for the table and the MLPs (Instant-NGP: 1e-2).
    saliency_budget : float, optional
        ``C`` of the constraint ``mean(sigmoid(G)) <= C`` (needs a field with a saliency grid).
    saliency_lr : float
        Adam's step for ``G``.
    rho : float
        Penalty weight of the augmented Lagrangian.
    saliency_warmup : float
        Fraction of the schedule trained before the constraint applies (the field first learns
        where the scene is; the saliency then shrinks onto it).
    saliency_anneal : float
        Fraction of the schedule by which the budget reaches ``C``: from ``saliency_warmup`` on,
        it falls linearly from 1, so the saliency shrinks onto the scene gradually. (With ``C``
        from the first constrained step, the mean saliency of lego fell far below ``C``, 0.018
        for 0.1, and the photometric loss stalled. On lego's held-out views at 64 px and 600
        steps, ``C`` = 0.04: 20.1 dB started at ``C`` under the full constraint, 25.5 dB started
        at 0.9 and annealed, both with the gate's gradient passed to the features; annealed and
        with the gate masking only, as now, 26.7 dB, and 27.6 dB for ``C`` = 0.1, where a
        plain grid gives 27.7 dB.)
    gate_alpha : (float, float)
        The gate's ``alpha`` before and after a third of the schedule.
    march_steps : int
        Samples along the box's diagonal (the step size).
    occupancy_resolution : int
        Cells per axis of the occupancy grid (64 in Instant-NGP).
    background : sequence of 3 floats
        The colour the photos were composited over (and renders use).
    seed : int
        Pixels, offsets, background colours and occupancy samples are drawn from it.
    """

    def __init__(self, field: NerfField, cameras: Sequence[Camera], images: Sequence[Tensor], *,
                 alphas: Sequence[Tensor] | None = None, steps: int = 2000,
                 batch_rays: int = 1024, learning_rate: float = 1e-2,
                 saliency_budget: float | None = None, saliency_lr: float = 0.05,
                 rho: float = 1.0, saliency_warmup: float = 0.1, saliency_anneal: float = 0.3,
                 gate_alpha: tuple[float, float] = (1e4, 1e5),
                 march_steps: int = 256, occupancy_resolution: int = 64,
                 background: Sequence[float] = (1.0, 1.0, 1.0), seed: int = 0) -> None:
        check_images(cameras, images, alphas=alphas)
        if saliency_budget is not None and field.saliency is None:
            raise InvalidParameterError("saliency_budget needs a field with a saliency grid")
        self.field = field
        self.schedule_steps = max(1, int(steps))
        self.batch_rays = int(batch_rays)
        self.learning_rate = float(learning_rate)
        self.gate_alpha = (float(gate_alpha[0]), float(gate_alpha[1]))
        self.step_length = step_size(field.aabb, int(march_steps))
        self.background = torch.tensor(check_colour("background", background, unit=True))
        origins, dirs, colours, alpha = [], [], [], []
        for i, (cam, image) in enumerate(zip(cameras, images, strict=True)):
            o, d = camera_rays(cam)
            origins.append(o)
            dirs.append(d)
            colours.append(image.reshape(-1, 3).float())
            alpha.append(alphas[i].reshape(-1).float() if alphas is not None
                         else torch.ones(cam.height * cam.width))
        self.origins, self.dirs = torch.cat(origins), torch.cat(dirs)
        self.colours, self.alpha = torch.cat(colours), torch.cat(alpha)
        self.random_background = alphas is not None
        self.near = float(min(c.near for c in cameras))
        self.occupancy = OccupancyGrid(int(occupancy_resolution),
                                       threshold=_occupancy_threshold(self.step_length))
        self.generator = torch.Generator().manual_seed(int(seed))
        self.saliency_warmup = float(saliency_warmup)
        self.saliency_anneal = float(saliency_anneal)
        self.saliency_budget = None if saliency_budget is None else float(saliency_budget)
        self.budget = None if saliency_budget is None else AugmentedLagrangianBudget(
            self.saliency_budget, rho=rho)
        grid = field.grid
        table_opt = RowAdam if grid.sparse else torch.optim.Adam
        self.optimizers: dict[str, torch.optim.Optimizer] = {
            "table": table_opt([grid.table], lr=self.learning_rate, betas=_BETAS, eps=_EPS),
            "mlp": torch.optim.Adam(field.mlp_parameters(), lr=self.learning_rate, betas=_BETAS,
                                    eps=_EPS, weight_decay=1e-6)}
        if field.saliency is not None:
            self.optimizers["saliency"] = torch.optim.Adam([field.saliency.logits],
                                                           lr=float(saliency_lr),
                                                           betas=SALIENCY_BETAS)
        self.base_lr = {name: opt.param_groups[0]["lr"] for name, opt in self.optimizers.items()}
        self.step_count = 0
        self.history: list[dict[str, float]] = []

    # ------------------------------------------------------------------ training
    def _schedule(self, step: int | None = None) -> None:
        """Learning rates and the gate's sharpness for ``step`` (the next one by default)."""
        step = self.step_count if step is None else step
        t = min(step / self.schedule_steps, 1.0)
        for name in ("table", "mlp"):  # the saliency grid keeps its step
            self.optimizers[name].param_groups[0]["lr"] = self.base_lr[name] * 0.1**t
        if self.field.saliency is not None:
            third = step >= self.schedule_steps / 3
            self.field.gate_alpha = self.gate_alpha[1] if third else self.gate_alpha[0]

    def _annealed_budget(self) -> float:
        """The budget now: 1 at ``saliency_warmup``, falling linearly to ``C`` at
        ``saliency_anneal`` (fractions of the schedule), ``C`` after (at once when
        ``saliency_anneal <= saliency_warmup``)."""
        start = self.saliency_warmup * self.schedule_steps
        span = self.saliency_anneal * self.schedule_steps - start
        done = 1.0 if span <= 0 else min(max((self.step_count - start) / span, 0.0), 1.0)
        return 1.0 - (1.0 - self.saliency_budget) * done

    def _update_occupancy(self) -> None:
        if self.step_count % OCCUPANCY_EVERY:
            return
        warm = self.occupancy.updates < OCCUPANCY_FULL_UPDATES
        field = self.field
        lo, hi = field.aabb[:3], field.aabb[3:]
        self.occupancy.update(lambda u: field.density(lo + u * (hi - lo))[0], self.generator,
                              fraction=1.0 if warm else 0.25)

    @with_gradients
    def step(self) -> dict[str, float]:
        """One optimisation step; returns its record."""
        start = time.perf_counter()
        self._schedule()
        if self.step_count > 0:
            self._update_occupancy()
        g = self.generator
        pick = torch.randint(0, len(self.origins), (self.batch_rays,), generator=g)
        offsets = torch.rand(self.batch_rays, generator=g)
        if self.random_background:
            background = torch.rand(self.batch_rays, 3, generator=g)
            a = self.alpha[pick, None]
            # the photos hold rgb * a + (1 - a) * self.background: swap the background
            target = self.colours[pick] + (1.0 - a) * (background - self.background)
        else:
            background, target = self.background, self.colours[pick]
        out = render_rays(self.field, self.occupancy, self.origins[pick], self.dirs[pick],
                          step=self.step_length, background=background, near=self.near,
                          offsets=offsets)
        mse = ((out.rgb - target) ** 2).mean()
        loss = mse
        record: dict[str, float] = {}
        constrained = self.budget is not None and (
            self.step_count >= self.saliency_warmup * self.schedule_steps)
        if constrained:
            self.budget.budget = self._annealed_budget()
            mean = self.field.saliency.mean_saliency()
            loss = loss + self.budget.penalty(mean)
        for opt in self.optimizers.values():
            opt.zero_grad(set_to_none=True)
        if loss.requires_grad:  # not when no ray of the batch met an occupied cell of the box
            loss.backward()
            for opt in self.optimizers.values():
                opt.step()
        self.step_count += 1
        if self.budget is not None:
            with torch.no_grad():
                mean = float(self.field.saliency.mean_saliency())
            record["lambda"] = self.budget.step(mean) if constrained else self.budget.lam
            record["saliency_mean"] = mean
        record.update({"step": self.step_count, "loss": float(loss.detach()),
                       "psnr": -10.0 * math.log10(max(float(mse.detach()), 1e-12)),
                       "samples": out.samples, "seconds": time.perf_counter() - start,
                       "occupied": self.occupancy.occupied_fraction()})
        self.history.append(record)
        return record

    def train(self, steps: int, *, progress: bool = False, label: str = "training",
              callback: Any = None) -> list[dict[str, float]]:
        """``steps`` steps (one record each); ``callback(trainer)`` after each, when given."""
        from sparsebox.progress import make_progress

        records = []
        with make_progress(transient=True, enabled=progress) as bar:
            task = bar.add_task(label, total=steps)
            for _ in range(steps):
                record = self.step()
                records.append(record)
                text = f"{label}: PSNR {record['psnr']:.2f} dB"
                if "saliency_mean" in record:
                    text += f", mean saliency {record['saliency_mean']:.3f}"
                bar.update(task, advance=1, description=text)
                if callback is not None:
                    callback(self)
        return records

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue: the field, the optimizers, the multiplier, the
        occupancy grid, the random state, the step and the history."""
        grid = self.field.grid
        if grid.keep is not None:
            raise InvalidParameterError("a compacted field is not trained further")
        return {"field": {k: v.detach().clone() for k, v in self.field.state_dict().items()},
                "optimizers": {k: copy.deepcopy(o.state_dict())
                               for k, o in self.optimizers.items()},
                "budget": None if self.budget is None else self.budget.state_dict(),
                "occupancy": self.occupancy.state_dict(),
                "generator": self.generator.get_state(), "step": self.step_count,
                "history": list(self.history)}

    def load_state_dict(self, state: Mapping[str, Any]) -> NerfTrainer:
        """Continue from :meth:`state_dict`'s state (of a trainer built the same way)."""
        with torch.no_grad():
            self.field.load_state_dict(state["field"])
        for name, opt in self.optimizers.items():
            opt.load_state_dict(state["optimizers"][name])
        if self.budget is not None:
            self.budget.load_state_dict(state["budget"])
        self.occupancy.load_state_dict(state["occupancy"])
        self.generator.set_state(state["generator"])
        self.step_count = int(state["step"])
        self.history = list(state["history"])
        # as the last step taken left them (the next step sets its own): a finished run's gate
        # had a resumed one score and render with the next step's sharpness
        self._schedule(max(self.step_count - 1, 0))
        return self


@torch.no_grad()
def render_image(field: NerfField, occupancy: OccupancyGrid, camera: Camera, *,
                 step: float, background: Sequence[float] = (1.0, 1.0, 1.0),
                 chunk: int = 8192) -> Tensor:
    """The field seen from ``camera``: ``(H, W, 3)`` in [0, 1]."""
    origins, dirs = camera_rays(camera)
    bg = torch.tensor(check_colour("background", background, unit=True))
    parts = [render_rays(field, occupancy, origins[i:i + chunk], dirs[i:i + chunk], step=step,
                         background=bg, near=camera.near).rgb
             for i in range(0, len(origins), chunk)]
    return torch.cat(parts).reshape(camera.height, camera.width, 3).clamp(0.0, 1.0)
