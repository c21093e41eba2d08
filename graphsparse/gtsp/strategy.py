"""GTSP's training-loop side: heads pruned and regrown by importance, attention blocks kept
within a budget of open gates, weights pruned gradually and regrown by gradient.

The user's loop calls the hooks (the contract's :class:`sparsebox.base.Strategy`)::

    strategy = GTSPStrategy(total_steps=epochs * len(loader), head_keep_ratio=0.5,
                            weight_keep_ratio=0.5)
    optimizer = torch.optim.AdamW(model.network_parameters(), lr=1e-3)
    strategy.check_sanity(model, optimizer)
    state = strategy.initialize_state(model)
    for step, batch in enumerate(batches):
        optimizer.zero_grad()
        loss = task_loss(model(batch), batch.y)
        loss = loss + strategy.step_pre_backward(model, optimizer, state, step)
        loss.backward()
        optimizer.step()
        strategy.step_post_backward(model, optimizer, state, step)

The token axis needs no hook (its scorer learns from the task loss through the straight-through
mask); the layer axis's gates live in the model (``layer_keep_ratio``) and are trained here by
their own optimizer under an augmented-Lagrangian budget. Every mask stops changing at
``freeze_at`` of the training (the gates are then fixed at their inference values), so the last
part of the training fine-tunes the network that inference runs.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from graphsparse.gnn.training import check_weight_keep_ratio
from graphsparse.gtsp.model import GTSPModel, prunable_weights
from sparsebox._validation import check_fraction, check_int, check_real
from sparsebox.base import Strategy, StrategyState
from sparsebox.exceptions import InvalidParameterError
from sparsebox.masks import AugmentedLagrangianBudget, l0_project_
from sparsebox.select import budget_from_keep_ratio

__all__ = ["GTSPStrategy", "GTSPState", "cubic_keep_ratio"]


def cubic_keep_ratio(step: int, start: int, end: int, final_keep: float) -> float:
    """The keep ratio of gradual magnitude pruning (Zhu and Gupta, 2017) after ``step``
    optimizer steps: 1 until ``start``, then ``final + (1 - final) (1 - (t - start) / (end -
    start))^3``, ``final_keep`` from ``end`` on.

    Examples
    --------
    >>> [round(cubic_keep_ratio(t, 10, 20, 0.2), 3) for t in (0, 10, 15, 20, 30)]
    [1.0, 1.0, 0.3, 0.2, 0.2]
    """
    if step <= start:
        return 1.0
    if step >= end:
        return final_keep
    done = (step - start) / (end - start)
    return final_keep + (1.0 - final_keep) * (1.0 - done) ** 3


@dataclasses.dataclass
class GTSPState(StrategyState):
    """What changes during training (``state_dict`` is a checkpoint's part).

    Attributes
    ----------
    steps : int
        Optimizer steps seen.
    head_importance : Tensor
        ``(layers, heads)``: ``|sum grad * head output|`` summed over the steps since the last
        head update (taken before the output projection; for a masked head, the gradient says
        what bringing it back would do).
    weight_masks : dict of str to Tensor
        Keep-masks of :func:`~graphsparse.gtsp.model.prunable_weights`, by name.
    gate_optimizer : dict
        State of the layer gates' own Adam.
    budget : dict
        The augmented Lagrangian's state (its multiplier).
    frozen : bool
        Masks and gates no longer change.
    """

    steps: int = 0
    head_importance: Tensor | None = None
    weight_masks: dict[str, Tensor] = dataclasses.field(default_factory=dict)
    gate_optimizer: dict = dataclasses.field(default_factory=dict)
    budget: dict = dataclasses.field(default_factory=dict)
    frozen: bool = False


@dataclasses.dataclass
class GTSPStrategy(Strategy):
    """The heads, layers and weights axes of GTSP (Liu et al., 2024) in a training loop.

    Parameters
    ----------
    total_steps : int
        Optimizer steps the training will take (the schedules are fractions of it).
    head_keep_ratio : float in (0, 1], optional
        Keep ``ceil(r H)`` heads per layer, chosen by importance every ``head_update_every``
        steps (pruned heads regrow when their gradient ranks them back in).
    weight_keep_ratio : float in (0, 1], optional
        Final keep ratio of the transformer layers' weights (gradual magnitude pruning on a
        cubic schedule from ``weight_start`` to ``weight_end`` of the training, through
        :func:`sparsebox.masks.l0_project_`, with ``regrow_fraction`` of the kept weights
        swapped at each update for the pruned ones of largest gradient).
    head_update_every : int
        Steps between head updates (200, as GTSP); the last update is at ``freeze_at``.
    freeze_at : float
        Fraction of the training after which no mask or gate changes.
    weight_start, weight_end : float
        The weight schedule's window, as fractions of the training (it must end by
        ``freeze_at``, when the masks stop changing).
    weight_updates : int
        Weight updates in the window.
    regrow_fraction : float
        Share of the kept weights that each update (but the last) prunes and regrows.
    gate_lr, gate_rho : float
        Learning rate of the layer gates' Adam, and the penalty weight of the augmented
        Lagrangian that holds their expected number of open gates to ``ceil(r L)``.

    Examples
    --------
    >>> strategy = GTSPStrategy(total_steps=100, head_keep_ratio=0.5)
    >>> strategy.freeze_step, strategy.head_update_steps()
    (80, [80])
    """

    total_steps: int = 1
    head_keep_ratio: float | None = None
    weight_keep_ratio: float | None = None
    head_update_every: int = 200
    freeze_at: float = 0.8
    weight_start: float = 0.1
    weight_end: float = 0.8
    weight_updates: int = 10
    regrow_fraction: float = 0.1
    gate_lr: float = 0.05
    gate_rho: float = 0.05

    def __post_init__(self) -> None:
        check_int("total_steps", self.total_steps, minimum=1)
        check_int("head_update_every", self.head_update_every, minimum=1)
        check_int("weight_updates", self.weight_updates, minimum=1)
        for name in ("head_keep_ratio", "weight_keep_ratio"):
            if getattr(self, name) is not None:
                check_fraction(name, getattr(self, name))
        check_fraction("freeze_at", self.freeze_at)
        check_fraction("weight_end", self.weight_end)
        check_fraction("weight_start", self.weight_start, low_open=False, high_open=True)
        check_fraction("regrow_fraction", self.regrow_fraction, low_open=False, high_open=True)
        if self.weight_start >= self.weight_end:
            raise InvalidParameterError(f"weight_start must be below weight_end, got "
                                        f"{self.weight_start} and {self.weight_end}")
        if self.weight_keep_ratio is not None and self._weight_window()[1] > self.freeze_step:
            # the masks stop changing at the freeze: the schedule would never reach its end
            start, end = self._weight_window()
            after = f"end at step {end} of {self.total_steps}, after the freeze at step " \
                    f"{self.freeze_step}"
            if self.weight_end > self.freeze_at:
                raise InvalidParameterError(
                    f"weight_end must be at most freeze_at (the weights reach weight_keep_ratio "
                    f"before the masks freeze), got {self.weight_end} and {self.freeze_at}: the "
                    f"schedule would {after}")
            # within freeze_at, but the schedule's one step at least goes past it once rounded
            raise InvalidParameterError(
                f"total_steps {self.total_steps} is too few for the weight schedule from "
                f"weight_start {self.weight_start} to weight_end {self.weight_end} before the "
                f"freeze at freeze_at {self.freeze_at}: it starts at step {start} and would "
                f"{after}; give more total_steps or an earlier weight_start")
        check_real("gate_lr", self.gate_lr, above=0)  # an infinite one spoils the gates
        check_real("gate_rho", self.gate_rho, above=0)

    # ------------------------------------------------------------------ schedule
    @property
    def freeze_step(self) -> int:
        """Steps after which nothing changes (at least 1)."""
        return max(1, round(self.freeze_at * self.total_steps))

    def head_update_steps(self) -> list[int]:
        """The step counts after which heads are chosen: every ``head_update_every`` steps
        before the freeze, and at the freeze."""
        steps = list(range(self.head_update_every, self.freeze_step, self.head_update_every))
        return [*steps, self.freeze_step]

    def _weight_window(self) -> tuple[int, int]:
        start = round(self.weight_start * self.total_steps)
        end = max(start + 1, round(self.weight_end * self.total_steps))
        return start, end

    def weight_update_steps(self) -> list[int]:
        """The step counts after which the weight masks change."""
        start, end = self._weight_window()
        every = max(1, (end - start) // self.weight_updates)
        return sorted({*range(start + every, end, every), end})

    # ------------------------------------------------------------------ hooks
    def check_sanity(self, model: GTSPModel, optimizer: torch.optim.Optimizer) -> None:  # type: ignore[override]
        """The model is a :class:`GTSPModel` whose every attention can lose heads, and the
        optimizer holds none of the layer gates (this strategy trains them)."""
        if not isinstance(model, GTSPModel):
            raise InvalidParameterError(f"model must be a GTSPModel, got {type(model).__name__}")
        if any(layer.attn is None for layer in model.layers):
            raise InvalidParameterError("model has layers without attention (an exported "
                                        "model?); train the model before export_pruned()")
        if model.layer_gate is not None:
            gates = {id(p) for p in model.layer_gate.parameters()}
            held = {id(p) for group in optimizer.param_groups for p in group["params"]}
            if gates & held:
                raise InvalidParameterError(
                    "optimizer holds the layer gates; give it model.network_parameters() "
                    "(GTSPStrategy trains the gates)")

    def initialize_state(self, model: GTSPModel) -> GTSPState:  # type: ignore[override]
        if any(layer.attn is None for layer in model.layers):
            raise InvalidParameterError("model has layers without attention (an exported "
                                        "model?); train the model before export_pruned()")
        state = GTSPState()
        layers, heads = len(model.layers), model.layers[0].attn.heads
        state.head_importance = torch.zeros(layers, heads)
        for layer in model.layers:
            layer.attn.record_head_importance = self.head_keep_ratio is not None
        if self.weight_keep_ratio is not None:
            state.weight_masks = {name: torch.ones_like(w, dtype=torch.bool)
                                  for name, w in prunable_weights(model)}
            # one that keeps no weight (1e-6 of 163,840) left a model of constant outputs
            check_weight_keep_ratio(self.weight_keep_ratio,
                                    sum(m.numel() for m in state.weight_masks.values()))
        if model.layer_gate is not None:
            state.budget = AugmentedLagrangianBudget(model.layer_budget,
                                                     rho=self.gate_rho).state_dict()
        return state

    def _gate_optimizer(self, model: GTSPModel, state: GTSPState) -> torch.optim.Optimizer:
        opt = torch.optim.Adam(model.layer_gate.parameters(), lr=self.gate_lr)
        if state.gate_optimizer:
            opt.load_state_dict(state.gate_optimizer)
        return opt

    def step_pre_backward(self, model: GTSPModel, optimizer: Any, state: GTSPState,  # type: ignore[override]
                          step: int, info: Mapping[str, Any] | None = None) -> Tensor:
        """The term to add to the loss before ``backward()``: the augmented-Lagrangian penalty
        of the layer gates' expected number of open gates (zero without a layer axis or once
        frozen)."""
        if model.layer_gate is None or state.frozen:
            return torch.zeros(())
        budget = AugmentedLagrangianBudget(1.0)
        budget.load_state_dict(state.budget)
        return budget.penalty(model.layer_gate.expected_l0())

    @torch.no_grad()
    def step_post_backward(self, model: GTSPModel, optimizer: Any, state: GTSPState,  # type: ignore[override]
                           step: int, info: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Called after ``optimizer.step()`` (gradients still in place): collects head
        importance, steps the gates and the dual variable, updates masks on schedule, and
        zeroes the pruned weights. Returns what changed (``heads``, ``weights``, ``frozen``)."""
        state.steps += 1
        done: dict[str, Any] = {}
        if state.frozen:
            self._apply_weight_masks(model, state)
            return done
        if self.head_keep_ratio is not None:
            for i, layer in enumerate(model.layers):
                probe = layer.attn.head_probe
                if probe is not None and probe.grad is not None:
                    state.head_importance[i] += probe.grad.abs().cpu()
                    probe.grad = None
            if state.steps in self.head_update_steps():
                done["heads"] = self._update_heads(model, state)
        if model.layer_gate is not None:
            with torch.enable_grad():
                opt = self._gate_optimizer(model, state)
                opt.step()
                opt.zero_grad(set_to_none=True)
                state.gate_optimizer = opt.state_dict()
            budget = AugmentedLagrangianBudget(1.0)
            budget.load_state_dict(state.budget)
            budget.step(model.layer_gate.expected_l0())
            state.budget = budget.state_dict()
        if self.weight_keep_ratio is not None and state.steps in self.weight_update_steps():
            done["weights"] = self._update_weights(model, state)
        self._apply_weight_masks(model, state)
        if state.steps >= self.freeze_step:
            state.frozen = True
            if model.layer_gate is not None:
                done["layers"] = model.freeze_layer_gates().tolist()
            for layer in model.layers:
                layer.attn.record_head_importance = False
                layer.attn.head_probe = None
            done["frozen"] = True
        return done

    # ------------------------------------------------------------------ updates
    def _update_heads(self, model: GTSPModel, state: GTSPState) -> list[int]:
        """Keep the ``ceil(r H)`` heads of largest importance in every layer (ties to the lower
        index); returns the heads kept per layer."""
        kept = []
        for i, layer in enumerate(model.layers):
            heads = layer.attn.heads
            k = math.ceil(self.head_keep_ratio * heads - 1e-9)
            order = torch.argsort(state.head_importance[i], descending=True, stable=True)
            mask = torch.zeros(heads)
            mask[order[:k]] = 1.0
            layer.attn.head_mask.copy_(mask.to(layer.attn.head_mask.device))
            kept.append(k)
        state.head_importance.zero_()
        return kept

    def _update_weights(self, model: GTSPModel, state: GTSPState) -> float:
        """Magnitude pruning to the schedule's keep ratio, then (before the window's end) a
        share of the kept weights swapped for the pruned ones of largest gradient; returns the
        keep ratio."""
        named = prunable_weights(model)
        weights = [w for _, w in named]
        total = sum(w.numel() for w in weights)
        start, end = self._weight_window()
        ratio = cubic_keep_ratio(state.steps, start, end, self.weight_keep_ratio)
        keep = budget_from_keep_ratio(ratio, total)
        regrow = 0 if state.steps >= end else int(self.regrow_fraction * keep)
        values = [w.detach().clone() for w in weights] if regrow else []
        masks = l0_project_(weights, k=keep - regrow)
        if regrow:
            # the pruned entries of largest gradient come back: they score 1 + |grad| (float64
            # keeps tiny gradients apart), the kept ones 0. As in RigL, an entry new to the mask
            # starts at zero and one the mask held keeps its value (all were zeroed: at keep
            # ratio 1 every update wiped the smallest tenth of a dense model)
            scores = [torch.where(m, 0.0, 1.0 + (w.grad if w.grad is not None
                                                 else torch.zeros_like(w)).double().abs())
                      for w, m in zip(weights, masks, strict=True)]
            grown = l0_project_(scores, k=regrow)
            with torch.no_grad():
                for (name, w), value, g in zip(named, values, grown, strict=True):
                    before = state.weight_masks.get(name)  # (none: a state made by hand, all held)
                    held = g if before is None else g & before.to(g.device)
                    w[held] = value[held]
            masks = [m | g for m, g in zip(masks, grown, strict=True)]
        state.weight_masks = {name: m for (name, _), m in zip(named, masks, strict=True)}
        return keep / total

    @staticmethod
    def _apply_weight_masks(model: GTSPModel, state: GTSPState) -> None:
        if not state.weight_masks:
            return
        for name, w in prunable_weights(model):
            w.masked_fill_(~state.weight_masks[name].to(w.device), 0.0)
