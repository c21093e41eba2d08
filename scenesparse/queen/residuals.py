"""One frame of QUEEN: the residuals trained from the previous frame, what a record stores of them,
and the one function that turns a record back into the next frame.

Attributes use gsplat's names (``means``, ``quats``, ``scales``, ``opacities``, ``sh0``, ``shN``).
A frame ``t`` is the previous frame ``t-1`` plus:

* ``means``: a float residual per Gaussian behind a hard-concrete gate (the core's
  :class:`~sparsebox.masks.HardConcreteGate`); only gated-on Gaussians are stored, as the gated
  residual in float16;
* ``sh0``, ``quats``, ``opacities``, ``scales``: ``round(z) @ W``, with ``z`` a per-Gaussian latent
  trained through straight-through rounding (reset to zero every frame) and ``W`` a small learned
  decoder kept from frame to frame; the integers ``round(z)`` are entropy-coded;
* ``shN`` (when the scene has higher SH coefficients): frame 0's coefficients plus
  ``round(z) @ W`` with ``z`` kept from frame to frame; what is coded is
  ``round(z_t) - round(z_{t-1})``.

:func:`apply_record` is the decoder's whole job; the encoder runs the same function on what it
stores, so the frame it continues from is exactly the frame a reader decodes.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import torch
from torch import nn

from sparsebox._validation import Interval, scalar_item, validate_params
from sparsebox.exceptions import InvalidParameterError
from sparsebox.masks import HardConcreteGate

__all__ = ["QueenConfig", "StreamState", "FrameRecord", "FrameResiduals", "apply_record",
           "RESIDUAL_ATTRIBUTES", "LATENT_ATTRIBUTES", "ATTRIBUTES"]

#: Every attribute of a frame, in the order records and files list them.
ATTRIBUTES = ("means", "quats", "scales", "opacities", "sh0", "shN")
#: The attributes coded as per-frame latent residuals (QUEEN's ``sq_res``).
RESIDUAL_ATTRIBUTES = ("sh0", "quats", "opacities", "scales")
#: The attributes with a latent, a decoder and an entry in each of QueenConfig's tables.
LATENT_ATTRIBUTES = (*RESIDUAL_ATTRIBUTES, "shN")

_NON_NEGATIVE = [Interval(numbers.Real, 0, None, closed="left")]
_POSITIVE = [Interval(numbers.Real, 0, None, closed="neither")]
_CONFIG_CONSTRAINTS = {
    "epochs": [Interval(numbers.Integral, 1, None, closed="left")],
    "gate_temperature": _POSITIVE,
    "gate_gamma": [Interval(numbers.Real, None, 0, closed="neither")],
    "gate_zeta": [Interval(numbers.Real, 1, None, closed="neither")],
    "gate_lr": _NON_NEGATIVE,
    "lambda_l0": _NON_NEGATIVE,
    "lambda_rate": _NON_NEGATIVE,
    "masked_fraction": [Interval(numbers.Real, 0, 1, closed="both")],
    "dilation": _NON_NEGATIVE,
    "position_lr": _NON_NEGATIVE,
    **dict.fromkeys(("latent_dims", "latent_lr", "decoder_lr", "decoder_std"), [Mapping]),
}
_CONFIG_TABLE_ENTRIES = {
    "latent_dims": [Interval(numbers.Integral, 1, None, closed="left")],
    "latent_lr": _NON_NEGATIVE,
    "decoder_lr": _NON_NEGATIVE,
    "decoder_std": _POSITIVE,
}


def _check_table(name: str, table: Mapping[str, Any], entry: list) -> None:
    """Every latent attribute has an entry in ``table``, and each meets ``entry``."""
    for attribute in LATENT_ATTRIBUTES:
        if attribute not in table:
            raise InvalidParameterError(f"{name} lacks an entry for {attribute!r}")
    validate_params({f"{name}[{a!r}]": table[a] for a in LATENT_ATTRIBUTES},
                    {f"{name}[{a!r}]": entry for a in LATENT_ATTRIBUTES})


@dataclass(frozen=True)
class QueenConfig:
    """QUEEN's hyper-parameters: NVlabs/queen ``configs/dynerf.yaml`` where it works here, and
    where it did not, the value measured to work on the donut video of
    ``benchmarks/queen.py`` (one frame at 128 px, 11 training cameras, 110 steps), with
    QUEEN's value beside it.

    * ``position_lr``: QUEEN's own, 0.0005 (``position_lr_init_rest``; the config's x10
      ``xyz_lr_scaling_rest`` never reaches the positions, whose decoder is the identity, which
      QUEEN scales by 1). Here it is times the extent of the Gaussians, there the cameras'
      radius. Ten times it threw thousands of gated Gaussians about in the first steps (PSNR fell
      from 42.4 to 39.4 dB over a frame); 0.0005 gave 47.6 dB.
    * ``shN`` rates: QUEEN's first-frame values (latent 6.25e-4, decoder 1e-3); its later frames
      take 1.25e-4 and 1e-4. Not measured here.
    * ``lambda_l0``: QUEEN's 0.01 left 1,483 gates open, 62% of them on moving Gaussians; 0.1
      leaves 406, 92% on moving Gaussians, at a better PSNR (frame 1 of
      ``benchmarks/results/queen_gates.md``).
    * ``decoder_std`` and the ``sh0`` latent rate: QUEEN's decoders start at 1e-4 (colour,
      opacity), so a unit of latent does nothing visible for a whole short frame and the
      recoloured Gaussians were moved instead; here a unit of latent is a visible step.
    * ``lambda_rate`` (not in QUEEN): an L1 pull of the latents towards 0. Adam moves every latent
      by about its learning rate per step whatever the size of its gradient, so without it the
      latents of static Gaussians drift past 0.5 and cost 110 KB a frame; with 1e-8, 11 KB.

    The gate is the core's hard-concrete gate with QUEEN's temperature 0.3 and interval
    (-0.5, 1.01) (the core's defaults are Louizos et al.'s 2/3 and (-0.1, 1.1)). As in QUEEN, the
    gate is deterministic while training and the penalty is the mean probability of a gate
    being non-zero. The deterministic gate is QUEEN's, the median of the hard-concrete variable
    (``eval_gate="median"``: ``log_alpha`` divided by the temperature), which is open exactly
    where that probability exceeds 1/2, so a gate starts open where the initial probability
    does (the footprint masks take ``p >= 0.5`` as moving: also the Gaussians at the median of
    ``g``, whose ``p`` is 1/2 and whose gates start shut). Louizos et al.'s test-time
    estimate, the core's default, opened gates from a probability of 0.38 on: at ``lambda_l0``
    0.01 that gave 1,919 gates, 52% on moving Gaussians, on frame 1 (``queen_gates.md`` of
    2026-12-04, in the repository's history).

    Raises
    ------
    InvalidParameterError
        When made with a field out of its range (naming it): ``epochs`` and the ``latent_dims``
        must be integers >= 1; ``gate_temperature`` and the ``decoder_std`` finite and > 0;
        ``gate_gamma`` < 0 and ``gate_zeta`` > 1; ``masked_fraction`` in [0, 1]; every other
        number finite and >= 0. Each table needs an entry for every attribute of
        :data:`LATENT_ATTRIBUTES`.
    """

    #: steps per frame = ``epochs`` x the number of training cameras (QUEEN: 10)
    epochs: int = 10
    gate_temperature: float = 0.3
    gate_gamma: float = -0.5
    gate_zeta: float = 1.01
    gate_lr: float = 0.1
    lambda_l0: float = 0.1
    #: weight of an L1 pull of every latent entry towards 0 (a rate proxy; not in QUEEN)
    lambda_rate: float = 1e-8
    #: the loss is restricted to the dilated footprint of the moving Gaussians for this fraction
    #: of a frame's steps (QUEEN's ``adaptive_update_period``)
    masked_fraction: float = 0.3
    #: dilation radius as a fraction of the image width (QUEEN: 48 px of 1352)
    dilation: float = 0.035
    #: position residual learning rate, times the scene's extent
    position_lr: float = 0.0005
    latent_dims: Mapping[str, int] = field(default_factory=lambda: dict(
        sh0=8, quats=6, opacities=3, scales=8, shN=4))
    #: latent learning rates (QUEEN: the attribute's rate times its latent scaling; sh0 0.0125)
    latent_lr: Mapping[str, float] = field(default_factory=lambda: dict(
        sh0=0.05, quats=0.05 * 0.5, opacities=0.05, scales=0.01, shN=0.0025 / 20 * 5))
    decoder_lr: Mapping[str, float] = field(default_factory=lambda: dict(
        sh0=1e-3, quats=1e-3, opacities=1e-4, scales=1e-4, shN=1e-3))
    #: standard deviation of the decoders' initial weights (QUEEN: sh0 1e-4, quats 1e-2,
    #: opacities 1e-4, scales 1e-3, shN 1e-1)
    decoder_std: Mapping[str, float] = field(default_factory=lambda: dict(
        sh0=0.02, quats=0.005, opacities=0.02, scales=0.01, shN=1e-1))

    def __post_init__(self) -> None:
        validate_params({f.name: getattr(self, f.name) for f in fields(self)}, _CONFIG_CONSTRAINTS)
        for name, entry in _CONFIG_TABLE_ENTRIES.items():
            _check_table(name, getattr(self, name), entry)
        # numpy numbers as Python's (epochs=np.int64(1) made the report's steps numpy integers,
        # which json.dumps refuses)
        for f in fields(self):
            value = getattr(self, f.name)
            plain = ({k: scalar_item(v) for k, v in value.items()} if isinstance(value, Mapping)
                     else scalar_item(value))
            object.__setattr__(self, f.name, plain)


@dataclass
class StreamState:
    """What a decoder holds after a frame: the frame's attributes, frame 0's higher SH
    coefficients, the running integer latent of ``shN`` and the decoders of the last record."""

    params: dict[str, torch.Tensor]
    base_rest: torch.Tensor
    rest_latent: torch.Tensor  # (N, d) int64
    decoders: dict[str, torch.Tensor] = field(default_factory=dict)
    index: int = 0

    @classmethod
    def from_params(cls, params: Mapping[str, torch.Tensor], rest_dim: int) -> StreamState:
        p = {k: params[k].detach().float().clone() for k in ATTRIBUTES}
        n = p["means"].shape[0]
        return cls(p, p["shN"].clone(), torch.zeros(n, rest_dim, dtype=torch.int64))

    def __len__(self) -> int:
        return int(self.params["means"].shape[0])

    def as_dict(self) -> dict[str, Any]:
        """A copy as tensors, dicts and an int (what ``torch.load`` reads with
        ``weights_only=True``); :meth:`from_dict` makes the state again."""
        return {"params": _clone_tensors(self.params), "base_rest": self.base_rest.clone(),
                "rest_latent": self.rest_latent.clone(), "decoders": _clone_tensors(self.decoders),
                "index": self.index}

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> StreamState:
        """The state that :meth:`as_dict` described (a copy)."""
        return cls(_clone_tensors(state["params"]), state["base_rest"].clone(),
                   state["rest_latent"].clone(), _clone_tensors(state["decoders"]),
                   int(state["index"]))


def _clone_tensors(tensors: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {name: value.detach().clone() for name, value in tensors.items()}


@dataclass
class FrameRecord:
    """The arrays one residual frame stores: gated-on Gaussians, their position residuals, the
    integer latents by attribute and the decoders."""

    gated: np.ndarray  # sorted indices of the Gaussians whose position changes
    deltas: np.ndarray  # (len(gated), 3) float16: the gated position residuals
    symbols: dict[str, np.ndarray]  # attribute -> (N, d) int64
    decoders: dict[str, np.ndarray]  # attribute -> (d, k) float32


def _decode(symbols: torch.Tensor, weight: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return (symbols.to(weight.dtype) @ weight).reshape(like.shape)


def apply_record(state: StreamState, record: FrameRecord) -> StreamState:
    """The frame after ``state`` that ``record`` describes (what every reader computes)."""
    p = {k: v.clone() for k, v in state.params.items()}
    gated = _tensor(record.gated, np.int64)
    p["means"][gated] += _tensor(record.deltas, np.float16).float()
    decoders = {k: _tensor(v, np.float32) for k, v in record.decoders.items()}
    for name in RESIDUAL_ATTRIBUTES:
        sym = _tensor(record.symbols[name], np.int64)
        p[name] = p[name] + _decode(sym, decoders[name], p[name])
    rest = state.rest_latent
    if state.base_rest.shape[1] > 0:
        rest = rest + _tensor(record.symbols["shN"], np.int64)
        p["shN"] = state.base_rest + _decode(rest, decoders["shN"], state.base_rest)
    return StreamState(p, state.base_rest, rest, decoders, state.index + 1)


def _tensor(values: Any, dtype: type) -> torch.Tensor:
    """``values`` as a tensor of ``dtype`` of its own memory: a record read from a file holds
    read-only arrays, and torch warned (to the user) that it does not support them."""
    return torch.from_numpy(np.array(values, dtype=dtype))


def _round_ste(z: torch.Tensor) -> torch.Tensor:
    """``round(z)`` forward, identity backward."""
    return z + (torch.round(z) - z).detach()


class FrameResiduals(nn.Module):
    """The trainable residuals of one frame on top of ``state`` (see the module docstring).

    Parameters
    ----------
    state : StreamState
        The previous frame, as decoded.
    gate_init : Tensor (N,)
        Initial probability that each Gaussian's position gate is open.
    config : QueenConfig
    rest_latent : Tensor (N, d), optional
        The continuous ``shN`` latent of the previous frame (the encoder keeps it; its rounding is
        ``state.rest_latent``).
    generator : torch.Generator, optional
        Draws the decoders' initial weights where ``state`` has none yet (the first frame).
    """

    def __init__(self, state: StreamState, gate_init: torch.Tensor, config: QueenConfig, *,
                 rest_latent: torch.Tensor | None = None,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.state = state
        self.config = config
        n = len(state)
        self.delta = nn.Parameter(torch.zeros(n, 3))
        self.gate = HardConcreteGate(n, beta=config.gate_temperature, gamma=config.gate_gamma,
                                     zeta=config.gate_zeta, eval_gate="median")
        self.gate.eval()  # QUEEN trains the deterministic gate
        shift = config.gate_temperature * math.log(-config.gate_gamma / config.gate_zeta)
        p = gate_init.detach().float().clamp(1e-6, 1 - 1e-6)
        with torch.no_grad():
            self.gate.log_alpha.copy_(torch.log(p) - torch.log1p(-p) + shift)
        self._clamp_gate()
        widths = {name: state.params[name][0].numel() for name in ATTRIBUTES}
        self.latents = nn.ParameterDict({
            name: nn.Parameter(torch.zeros(n, config.latent_dims[name]))
            for name in RESIDUAL_ATTRIBUTES})
        names = list(RESIDUAL_ATTRIBUTES) + (["shN"] if widths["shN"] else [])
        self.decoders = nn.ParameterDict()
        for name in names:
            if name in state.decoders:
                weight = state.decoders[name].clone()
            else:
                weight = torch.randn(config.latent_dims[name], widths[name],
                                     generator=generator) * config.decoder_std[name]
            self.decoders[name] = nn.Parameter(weight)
        self.has_rest = bool(widths["shN"])
        start = state.rest_latent.float() if rest_latent is None else rest_latent.float()
        self.rest_latent = nn.Parameter(start.clone(), requires_grad=self.has_rest)

    # ------------------------------------------------------------------ the frame
    def render_params(self) -> dict[str, torch.Tensor]:
        """The frame's gsplat-named attributes, differentiable in every residual."""
        prev = self.state.params
        out = {"means": prev["means"] + self.gate()[:, None] * self.delta}
        for name in RESIDUAL_ATTRIBUTES:
            out[name] = prev[name] + _decode(_round_ste(self.latents[name]), self.decoders[name],
                                             prev[name])
        if self.has_rest:
            out["shN"] = self.state.base_rest + _decode(_round_ste(self.rest_latent),
                                                        self.decoders["shN"],
                                                        self.state.base_rest)
        else:
            out["shN"] = prev["shN"]
        return out

    def regularizer(self) -> torch.Tensor:
        """QUEEN's L0 penalty (``lambda_l0`` times the mean probability of an open gate) and the
        rate proxy (``lambda_rate`` times the sum of the latents' absolute values)."""
        loss = self.config.lambda_l0 * self.gate.prob_nonzero().mean()
        if self.config.lambda_rate:
            latents = [*self.latents.values()] + ([self.rest_latent - self.state.rest_latent]
                                                   if self.has_rest else [])
            loss = loss + self.config.lambda_rate * sum(z.abs().sum() for z in latents)
        return loss

    def _clamp_gate(self) -> None:
        with torch.no_grad():  # QUEEN keeps log_alpha within log(1e-3)..log(1e3)
            self.gate.log_alpha.clamp_(math.log(1e-3), math.log(1e3))

    def after_step(self) -> None:
        self._clamp_gate()

    def optimizers(self, extent: float) -> dict[str, torch.optim.Optimizer]:
        """One Adam per group, at QUEEN's rates (positions scaled by the scene's extent)."""
        cfg = self.config
        groups = {"delta": ([self.delta], cfg.position_lr * extent),
                  "gate": ([self.gate.log_alpha], cfg.gate_lr)}
        for name in RESIDUAL_ATTRIBUTES:
            groups[f"latent.{name}"] = ([self.latents[name]], cfg.latent_lr[name])
        for name in self.decoders:
            groups[f"decoder.{name}"] = ([self.decoders[name]], cfg.decoder_lr[name])
        if self.has_rest:
            groups["latent.shN"] = ([self.rest_latent], cfg.latent_lr["shN"])
        return {k: torch.optim.Adam(params, lr=lr, eps=1e-15) for k, (params, lr) in
                groups.items()}

    # ------------------------------------------------------------------ what is stored
    @torch.no_grad()
    def gate_values(self) -> torch.Tensor:
        return self.gate().detach()

    @torch.no_grad()
    def record(self) -> FrameRecord:
        """The arrays to store for this frame."""
        gate = self.gate_values()
        gated = torch.nonzero(gate > 0).reshape(-1)
        deltas = (gate[gated, None] * self.delta[gated]).numpy().astype(np.float16)
        symbols = {name: torch.round(self.latents[name]).long().numpy()
                   for name in RESIDUAL_ATTRIBUTES}
        if self.has_rest:
            symbols["shN"] = (torch.round(self.rest_latent).long()
                              - self.state.rest_latent).numpy()
        decoders = {name: w.detach().float().numpy().copy() for name, w in self.decoders.items()}
        return FrameRecord(gated.numpy(), deltas, symbols, decoders)
