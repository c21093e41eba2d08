"""Pruning inside a training loop: a strategy that drops into a gsplat training loop (gsplat's
``Strategy`` hooks and call signatures, typed state).

Masks are named by what they mean: :func:`~scenesparse.training.prune_` takes ``keep`` (True: the
Gaussian stays), where gsplat's ``ops.remove`` takes a mask of the Gaussians to remove.
"""

from __future__ import annotations

import numbers
from collections.abc import Collection, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import torch

from scenesparse.cameras import Camera
from scenesparse.gaussians import GaussianScene
from scenesparse.importance import GaussianPruner
from scenesparse.rendering import check_cameras
from scenesparse.training import prune_
from sparsebox._validation import check_fraction
from sparsebox.base import Strategy, StrategyState
from sparsebox.exceptions import InvalidParameterError

__all__ = ["PruneStrategy", "PruneState", "scene_from_params"]

#: The parameter names a splat training loop holds (gsplat's simple_trainer): ``shN`` optional.
SPLAT_PARAMS = ("means", "quats", "scales", "opacities", "sh0")


def scene_from_params(params: Mapping[str, torch.Tensor]) -> GaussianScene:
    """A detached scene from gsplat-named parameters (see
    :func:`scenesparse.training.scene_from_params`)."""
    from scenesparse.training import scene_from_params as live_scene

    return live_scene({k: v.detach() for k, v in params.items()})


@dataclass
class PruneState(StrategyState):
    """What a :class:`PruneStrategy` changes: Gaussians removed so far and one history entry
    per prune step (``{step, removed, left}``)."""

    pruned: int = 0
    history: list = field(default_factory=list)


@dataclass
class PruneStrategy(Strategy):
    """Prune at chosen steps of a user's training loop, gsplat's way.

    A drop-in for a gsplat ``Strategy``: the loop calls ``check_sanity(params, optimizers)``,
    ``state = initialize_state(scene_scale)``, ``step_pre_backward(params, optimizers, state,
    step, info)`` before ``loss.backward()`` and ``step_post_backward(params, optimizers, state,
    step, info, packed)`` after it. ``params`` and ``optimizers`` are dicts keyed by gsplat's
    names (``means``, ``quats``, ``scales``, ``opacities``, ``sh0``, ``shN``); the tensors may live
    on a GPU (scoring then renders with gsplat).

    Parameters
    ----------
    prune_steps : collection of int
        Steps at which to prune (a tuple, list, set, range or array).
    keep_ratio : float
        Fraction of the current Gaussians kept at each prune step.
    score : str
        A :data:`scenesparse.importance.SCORES` name.
    rounds : int
        Scoring rounds per prune step (see :class:`GaussianPruner`).
    cameras : list of Camera
        Views for render-based scores (the training views, typically).
    backend : str
        Renderer for the scores (see :func:`scenesparse.rendering.render`).
    background : sequence of 3 floats in [0, 1]
        The colour the loop renders over, which PUP's sensitivity renders over too.

    Examples
    --------
    >>> strategy = PruneStrategy(prune_steps=(100,), keep_ratio=0.5, score="opacity")
    >>> state = strategy.initialize_state(scene_scale=1.0)
    >>> state.pruned, state.state_dict()
    (0, {'pruned': 0, 'history': []})
    """

    prune_steps: tuple[int, ...] = (15_000,)
    keep_ratio: float = 0.66
    score: str = "radsplat"
    rounds: int = 1
    cameras: list[Camera] | None = field(default=None, repr=False)
    backend: str = "auto"
    background: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def initialize_state(self, scene_scale: float = 1.0) -> PruneState:
        """A fresh state (``scene_scale`` is accepted for gsplat's call and not needed), once
        the settings are checked: a bad one fails here, not at the first prune step."""
        self._check_settings()
        return PruneState()

    def check_sanity(self, params: Mapping[str, Any], optimizers: Mapping[str, Any]) -> None:
        """The settings, gsplat's check (one optimizer with one group per trainable
        parameter), and the parameters a splat scene needs are there."""
        self._check_settings()
        super().check_sanity(params, optimizers)
        missing = [name for name in SPLAT_PARAMS if name not in params]
        if missing:
            raise InvalidParameterError(f"params lacks {missing}; a splat loop holds "
                                        f"{', '.join(SPLAT_PARAMS)} (and shN)")

    def step_pre_backward(self, params: Mapping[str, Any], optimizers: Mapping[str, Any],
                          state: PruneState, step: int, info: Mapping[str, Any]) -> None:
        """Nothing to keep before backward: the scores come from renders at prune steps."""

    def step_post_backward(self, params: MutableMapping[str, torch.nn.Parameter],
                           optimizers: Mapping[str, torch.optim.Optimizer], state: PruneState,
                           step: int, info: Mapping[str, Any] | None = None,
                           packed: bool = False) -> int:
        """Prune if ``step`` is a prune step (after the optimizer stepped or before, as the loop
        likes); returns how many Gaussians were removed."""
        if step not in self.prune_steps:
            return 0
        keep = self._pruner().fit(scene_from_params(params), self.cameras).mask_
        removed = prune_(params, optimizers, state, keep=keep)
        state.pruned += removed
        state.history.append({"step": step, "removed": removed, "left": int(keep.sum())})
        return removed

    def _pruner(self) -> GaussianPruner:
        return GaussianPruner(self.score, keep_ratio=self.keep_ratio, rounds=self.rounds,
                              backend=self.backend, background=self.background)

    def _check_settings(self) -> None:
        """The pruner's own checks of ``score``, ``keep_ratio``, ``rounds``, ``backend``,
        ``background`` and ``cameras``, and ``prune_steps`` a collection of steps (integers >= 0).
        ``keep_ratio`` None is refused here: the pruner would read it as its own default."""
        if self.keep_ratio is None:
            check_fraction("keep_ratio", None)  # (raises)
        self._pruner()._validate_params()
        check_cameras(self.cameras, none_means="the default orbit")
        steps = self.prune_steps
        if isinstance(steps, (str, bytes)) or not isinstance(steps, Collection) or not all(
                isinstance(t, numbers.Integral) and not isinstance(t, bool) and t >= 0
                for t in steps):
            raise InvalidParameterError(f"prune_steps must be a collection of steps (integers "
                                        f">= 0: a tuple, list, set or array), got {steps!r}")
