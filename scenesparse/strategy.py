"""Pruning inside a training loop: slice parameters, optimizer state and strategy state together,
and a strategy (hyper-parameters + explicit state + hooks) in the style of gsplat's ``Strategy``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from scenesparse.cameras import Camera
from scenesparse.gaussians import GaussianScene
from scenesparse.importance import GaussianPruner

__all__ = ["prune_", "PruneStrategy", "scene_from_params"]


@torch.no_grad()
def prune_(params: MutableMapping[str, torch.nn.Parameter],
           optimizers: Mapping[str, torch.optim.Optimizer] | Iterable[torch.optim.Optimizer],
           state: MutableMapping[str, Any], mask: Any) -> int:
    """Keep the rows where ``mask`` is true, in place, everywhere they live: each parameter
    (replaced by a new ``Parameter`` of the kept rows), every optimizer state tensor of that
    parameter with the same leading size (Adam's ``exp_avg`` and ``exp_avg_sq``), and every
    tensor in ``state`` with that leading size. Returns how many rows were removed."""
    if not params:
        raise ValueError("params is empty")
    n = next(iter(params.values())).shape[0]
    keep = torch.as_tensor(np.asarray(mask))
    if keep.dtype != torch.bool or keep.shape != (n,):
        raise ValueError(f"mask must be a boolean array of shape ({n},), got {tuple(keep.shape)}")
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


def scene_from_params(params: Mapping[str, torch.Tensor]) -> GaussianScene:
    """A detached scene from gsplat-named parameters: ``means``, ``quats``, ``scales`` (log),
    ``opacities`` (logit), ``sh0`` ``(N, 1, 3)`` and ``shN`` ``(N, K, 3)``."""
    sh0 = params["sh0"].detach().reshape(-1, 3)
    shn = params.get("shN")
    rest = (shn.detach() if shn is not None
            else torch.zeros((sh0.shape[0], 0, 3), dtype=sh0.dtype))
    return GaussianScene(means=params["means"].detach(), quats=params["quats"].detach(),
                         log_scales=params["scales"].detach(),
                         opacity_logits=params["opacities"].detach().reshape(-1),
                         sh_dc=sh0, sh_rest=rest)


@dataclass
class PruneStrategy:
    """Prune at chosen steps of a user's training loop.

    Hyper-parameters live in the dataclass; everything that changes lives in the ``state`` dict
    that :meth:`initialize_state` returns (checkpoint it with the model). Call
    :meth:`step_post_backward` after ``optimizer.step()`` each step.

    Parameters
    ----------
    prune_steps : tuple of int
        Steps at which to prune.
    keep_ratio : float
        Fraction of the current Gaussians kept at each prune step.
    score : str
        A :data:`scenesparse.importance.SCORES` name.
    cameras : list of Camera
        Views for render-based scores (the training views, typically).
    """

    prune_steps: tuple[int, ...] = (15_000,)
    keep_ratio: float = 0.66
    score: str = "radsplat"
    rounds: int = 1
    cameras: list[Camera] | None = field(default=None, repr=False)

    def initialize_state(self) -> dict[str, Any]:
        return {"pruned": 0, "history": []}

    def step_pre_backward(self, params, optimizers, state, step: int) -> None:
        """Nothing to do before backward; kept for the gsplat-style hook protocol."""

    def step_post_backward(self, params: MutableMapping[str, torch.nn.Parameter], optimizers,
                           state: MutableMapping[str, Any], step: int) -> int:
        """Prune if ``step`` is a prune step; returns how many Gaussians were removed."""
        if step not in self.prune_steps:
            return 0
        scene = scene_from_params(params)
        pruner = GaussianPruner(self.score, keep_ratio=self.keep_ratio, rounds=self.rounds)
        mask = pruner.fit(scene, self.cameras).mask_
        removed = prune_(params, optimizers, state, mask)
        state["pruned"] += removed
        state["history"].append({"step": step, "removed": removed, "left": int(mask.sum())})
        return removed
