"""Masks and gates shared by the graph and the scene methods (PyTorch).

- :func:`l0_project_`: projection onto the l0 ball, keep the k largest ``|w|`` over many tensors.
- :class:`HardConcreteGate`: the stochastic L0 gate of Louizos, Welling and Kingma (2018).
- :func:`straight_through_mask`: a binary mask whose gradient passes straight through.
- :class:`AugmentedLagrangianBudget`: the constraint ``sum(gate) <= budget`` by dual ascent.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from sparsebox._validation import (
    check_1d,
    check_choice,
    check_fraction,
    check_int,
    check_real,
    check_threshold,
    exactly_one,
    scalar_item,
    threshold_cut,
)
from sparsebox.exceptions import InvalidParameterError
from sparsebox.select import budget_from_keep_ratio

__all__ = [
    "l0_project_",
    "HardConcreteGate",
    "straight_through_mask",
    "AugmentedLagrangianBudget",
]


@torch.no_grad()
def l0_project_(
    tensors: Sequence[Tensor], *, k: int | None = None, keep_ratio: float | None = None
) -> list[Tensor]:
    """Zero all but the ``k`` entries of largest magnitude over all ``tensors``, in place.

    The ranking is global (one threshold for every tensor), so the result lies on the l0 ball
    ``{theta : ||theta||_0 <= k}`` and is its Euclidean projection. Exactly ``k`` entries keep their
    value; among entries tied at the threshold the first ones (in the order of ``tensors``, then
    of their flattened entries) are kept. With ``keep_ratio`` (in (0, 1]) k is
    ``floor(keep_ratio * total + 0.5)``, as :func:`~sparsebox.select.budget_from_keep_ratio` has
    it; ``k`` or ``keep_ratio`` may be a 0-d array or tensor. ``tensors`` is a sequence even for
    one tensor (``[w]``): a bare tensor is an error, not its rows projected one by one, and so
    are two that share entries (a tied weight listed twice).

    Returns the boolean keep-masks, one per tensor.

    Notes
    -----
    O(total) expected time: the threshold comes from a selection (``numpy.partition`` on the CPU,
    ``torch.kthvalue`` elsewhere), not from a sort or a top-k, which is what a training loop that
    projects after every step pays for.

    Examples
    --------
    >>> a, b = torch.tensor([3.0, -1.0]), torch.tensor([0.5, -4.0, 2.0])
    >>> [m.tolist() for m in l0_project_([a, b], k=2)]
    [[True, False], [False, True, False]]
    >>> a.tolist(), b.tolist()
    ([3.0, 0.0], [0.0, -4.0, 0.0])
    """
    if isinstance(tensors, Tensor):  # list() would split it into rows (0-d tensors), masks and all
        raise InvalidParameterError(f"tensors must be a sequence of tensors, got one tensor of shape "
                                    f"{tuple(tensors.shape)}: put it in a list, [w]")
    tensors = list(tensors)
    if not tensors:
        raise InvalidParameterError("tensors must hold at least one tensor")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise InvalidParameterError(f"tensors must hold torch tensors, got {type(t).__name__} at "
                                        f"position {i}")
    _check_no_shared_memory(tensors)
    total = sum(t.numel() for t in tensors)
    kind, value = exactly_one(k=k, keep_ratio=keep_ratio)
    if kind == "keep_ratio":
        k = budget_from_keep_ratio(value, total)
    else:
        k = check_int("k", scalar_item(value), minimum=0, maximum=total)
    dtype = functools.reduce(torch.promote_types, (t.dtype for t in tensors))
    dtype = _WIDER.get(dtype, dtype)  # abs(-128) is -128 in int8: the largest ranked the least
    if dtype.is_floating_point and not all(t.dtype.is_floating_point for t in tensors):
        # integers ranked in the promoted float type: 70000 became float16's inf (tied with
        # 80000), int32 2**24 + 1 float32's 2**24; float64 holds them to 2**53 exactly (the
        # promoted type of several float types holds each of them)
        dtype = torch.float64
    flat = torch.cat([t.detach().reshape(-1).to(dtype).abs() for t in tensors])
    if flat.dtype == torch.int64:  # abs(-2**63) is -2**63: ranked as the largest magnitude (tied
        flat = torch.where(flat < 0, torch.iinfo(torch.int64).max, flat)  # with 2**63 - 1)
    if flat.is_floating_point() and bool(torch.isnan(flat).any()):
        raise InvalidParameterError("tensors hold NaN, which has no magnitude to rank: the k kept "
                                    "entries would not be defined")
    keep_flat = _top_k_mask(flat, k)
    masks, start = [], 0
    for t in tensors:
        m = keep_flat[start : start + t.numel()].reshape(t.shape).to(t.device)
        t.masked_fill_(~m, 0.0)
        masks.append(m)
        start += t.numel()
    return masks


def _check_no_shared_memory(tensors: list[Tensor]) -> None:
    """Refuse a tensor listed twice (a tied weight: one parameter under two names, or a view of
    the same entries): each copy was ranked on its own and then zeroed by the other's mask, so
    fewer than k entries kept their value."""
    spans = []  # (device, first byte, byte past the last, position) of each tensor's entries
    for i, t in enumerate(tensors):
        if not t.numel():
            continue
        if _overlaps_itself(t):  # its entries were ranked apart, then zeroed by each other
            raise InvalidParameterError(
                f"tensors[{i}] holds one entry in several places (an expand()ed or as_strided "
                f"view, shape {tuple(t.shape)}, strides {t.stride()}): pass the tensor it views, "
                "or a copy (.contiguous())")
        reach = sum((n - 1) * s for n, s in zip(t.shape, t.stride(), strict=True))  # s >= 0
        spans.append((str(t.device), t.data_ptr(), t.data_ptr() + (reach + 1) * t.element_size(),
                      i))
    for j, (device, start, end, b) in enumerate(spans):
        for other_device, other_start, other_end, a in spans[:j]:  # spans that meet: compared
            if (other_device == device and start < other_end and other_start < end
                    and _share_entries(tensors[a], tensors[b])):
                raise InvalidParameterError(
                    f"tensors[{b}] shares entries with tensors[{a}] (a tied weight listed twice, "
                    "or views of one tensor): pass each tensor once")


def _share_entries(a: Tensor, b: Tensor) -> bool:
    """Whether two tensors whose memory spans meet have a byte in common. In O(1) where that
    is certain (the same first entry; two contiguous tensors, which fill their spans), else
    by their entries' byte ranges (O(n log n) in their entries, never in the span: views of
    a large storage cost what they hold)."""
    if a.data_ptr() == b.data_ptr() or (a.is_contiguous() and b.is_contiguous()):
        return True
    starts, size = np.sort(_addresses(a)), a.element_size()
    ends = _addresses(b)
    # an entry of b at x meets one of a at y where y < x + b's size and x < y + a's size
    first = np.searchsorted(starts, ends - size, side="right")  # the least y > x - a's size
    return bool(np.any((first < starts.size)
                       & (starts[np.minimum(first, starts.size - 1)] < ends + b.element_size())))


def _overlaps_itself(t: Tensor) -> bool:
    """Whether two of ``t``'s entries are one in memory (a stride of 0, or an ``as_strided``
    view that folds over itself). In O(ndim) where the strides, smallest first, each step past
    all the entries of the smaller ones (any permutation of a contiguous tensor, a slice of
    one: never an overlap), else by its entries' addresses."""
    dims = sorted((stride, n) for n, stride in zip(t.shape, t.stride(), strict=True) if n > 1)
    reach = 0  # the span, in entries, of the dimensions of smaller strides
    for stride, n in dims:
        if stride <= reach:
            break
        reach += (n - 1) * stride
    else:
        return False
    addresses = _addresses(t)
    return np.unique(addresses).size < addresses.size


def _addresses(t: Tensor) -> np.ndarray:
    """The byte addresses of ``t``'s entries, O(numel)."""
    offsets = np.zeros((), dtype=np.int64)
    for n, stride in zip(t.shape, t.stride(), strict=True):
        offsets = offsets[..., None] + np.arange(n, dtype=np.int64) * stride
    return t.data_ptr() + offsets.ravel() * t.element_size()


#: the integer types whose least value has no magnitude of their own, and what holds it (and
#: bool, which has no abs)
_WIDER = {torch.int8: torch.int16, torch.int16: torch.int32, torch.int32: torch.int64,
          torch.bool: torch.uint8}


def _top_k_mask(values: Tensor, k: int) -> Tensor:
    """A boolean mask of the ``k`` largest ``values``, ties at the threshold to the lowest index."""
    n = values.numel()
    if k == 0:
        return torch.zeros(n, dtype=torch.bool, device=values.device)
    if k == n:
        return torch.ones(n, dtype=torch.bool, device=values.device)
    # The threshold stays a number of the values' dtype: as a Python float, integer values
    # were compared in float32 (16777217 > 16777216.0 is False there) and the wrong ones kept.
    if values.device.type == "cpu":  # check_1d reads bfloat16, which numpy lacks, exactly
        threshold = torch.as_tensor(np.partition(check_1d("values", values), n - k)[n - k])
    else:
        threshold = torch.kthvalue(values, n - k + 1).values
    threshold = threshold.to(values.dtype)
    keep = values > threshold
    missing = k - int(keep.sum())
    keep[torch.nonzero(values == threshold).reshape(-1)[:missing]] = True
    return keep


#: the least ``-gamma`` of a :class:`HardConcreteGate`: float32's least normal number, rounded up
_LEAST_STRETCH = 1.2e-38


class HardConcreteGate(nn.Module):
    """Hard-concrete gates ``z in [0, 1]`` with a differentiable expected-L0 penalty.

    In training, ``z = clamp(sigmoid((log u - log(1-u) + log_alpha) / beta) * (zeta - gamma) + gamma,
    0, 1)`` with ``u ~ U(0, 1)``; in eval, a deterministic gate (``eval_gate``). ``expected_l0()``
    is ``sum P(z != 0) = sum sigmoid(log_alpha - beta * log(-gamma / zeta))``.

    Parameters
    ----------
    shape : int or tuple of int
        Shape of the gate tensor.
    init_keep : float in (0, 1)
        Initial probability that a gate is non-zero (sets ``log_alpha``).
    beta, gamma, zeta : float
        Temperature and stretch interval (defaults from the paper: 2/3, -0.1, 1.1); the gate
        is computed in float32, so gamma is at most -1.2e-38 and the interval at most 3.4e38.
    eval_gate : {"louizos", "median"}
        The gate in eval mode. ``"louizos"``: the paper's test-time estimate
        ``clamp(sigmoid(log_alpha) * (zeta - gamma) + gamma, 0, 1)``, which is non-zero from
        ``P(z != 0) = sigmoid(logit(-gamma / (zeta - gamma)) - beta * log(-gamma / zeta))``
        (0.38 with QUEEN's beta 0.3, gamma -0.5, zeta 1.01). ``"median"``: the median of z,
        ``clamp(sigmoid(log_alpha / beta) * (zeta - gamma) + gamma, 0, 1)`` (the sample at
        ``u = 1/2``), non-zero exactly where ``P(z != 0) > 1/2``: what QUEEN's code trains and
        stores (NVlabs/queen, ``Gate.sample_gate(stochastic=False)``).

    References
    ----------
    C. Louizos, M. Welling, D. P. Kingma. Learning Sparse Neural Networks through L0
    Regularization. ICLR 2018.
    """

    def __init__(
        self,
        shape: int | tuple[int, ...],
        *,
        init_keep: float = 0.9,
        beta: float = 2.0 / 3.0,
        gamma: float = -0.1,
        zeta: float = 1.1,
        eval_gate: str = "louizos",
    ) -> None:
        super().__init__()
        init_keep = check_fraction("init_keep", scalar_item(init_keep), high_open=True)
        self.eval_gate = check_choice("eval_gate", eval_gate, ("louizos", "median"))
        self.beta = check_real("beta", beta, above=0)
        self.gamma = check_real("gamma", gamma, below=0)
        self.zeta = check_real("zeta", zeta, above=1)
        if -self.gamma < _LEAST_STRETCH:  # past float32's normal numbers (subnormal, or 0), and
            # -gamma / zeta can underflow to 0 (Python's "math domain error")
            raise InvalidParameterError(f"gamma {self.gamma:g} is too close to 0 for the gate's "
                                        f"float32: it must be at most {-_LEAST_STRETCH:g} "
                                        "(float32's least normal number is 1.18e-38)")
        # the stretched interval and the first log_alpha in float32, the parameter's dtype (gamma
        # -1e300 gave NaN gates, beta 1e300 torch's "cannot be converted to type float"); the
        # interval first: -gamma / zeta of a zeta past float32 can underflow to 0
        largest = torch.finfo(torch.float32).max
        if not self.zeta - self.gamma <= largest:
            raise InvalidParameterError(f"gamma {self.gamma:g} and zeta {self.zeta:g} stretch the "
                                        "gate past float32 (zeta - gamma must be at most "
                                        f"{largest:.3g})")
        shift = self.beta * math.log(-self.gamma / self.zeta)
        init = math.log(init_keep / (1.0 - init_keep)) + shift
        if not abs(init) <= largest:
            raise InvalidParameterError(f"beta {self.beta:g} puts the first log_alpha, "
                                        f"logit(init_keep) + beta * log(-gamma / zeta) = "
                                        f"{init:.3g}, past float32")
        self.log_alpha = nn.Parameter(torch.full(_as_shape(shape), init))

    def forward(self) -> Tensor:
        if self.training:
            u = torch.rand_like(self.log_alpha).clamp_(1e-6, 1.0 - 1e-6)
            s = torch.sigmoid((torch.log(u) - torch.log1p(-u) + self.log_alpha) / self.beta)
            return (s * (self.zeta - self.gamma) + self.gamma).clamp(0.0, 1.0)
        median = self.eval_gate == "median"
        s = torch.sigmoid(self.log_alpha / self.beta if median else self.log_alpha)
        z = (s * (self.zeta - self.gamma) + self.gamma).clamp(0.0, 1.0)
        # shut up to the edge, log_alpha = log(-gamma / zeta) (times beta for the median): rounding
        # left the median 1.5e-8 at P(z != 0) = 1/2 (init_keep 0.5, the paper's beta and interval)
        # (z - z, not 0: a gate trained deterministically, as QUEEN's, keeps its gradient there
        # and can open)
        edge = (self.beta if median else 1.0) * math.log(-self.gamma / self.zeta)
        return torch.where(self.log_alpha <= edge, z - z.detach(), z)

    def prob_nonzero(self) -> Tensor:
        """``P(z != 0)`` per gate (differentiable in ``log_alpha``)."""
        return torch.sigmoid(self.log_alpha - self.beta * math.log(-self.gamma / self.zeta))

    def expected_l0(self) -> Tensor:
        """Expected number of non-zero gates."""
        return self.prob_nonzero().sum()


def _as_shape(shape: int | tuple[int, ...]) -> tuple[int, ...]:
    if getattr(shape, "ndim", None) == 0 and hasattr(shape, "item"):
        shape = shape.item()  # a 0-d array or tensor
    if isinstance(shape, (int, np.integer)) or not isinstance(shape, Iterable):
        return (check_int("shape", shape, minimum=0),)  # names what is wrong with a non-integer
    return tuple(check_int("shape", size, minimum=0) for size in shape)


def straight_through_mask(
    logits: Tensor, *, threshold: float | None = None, k: int | None = None
) -> Tensor:
    """A hard 0/1 mask in the forward pass whose gradient is that of ``sigmoid(logits)``.

    Exactly one of ``threshold`` (keep ``logits >= threshold``, as
    :func:`~sparsebox.select.select` keeps scores at its threshold) or ``k`` (keep the k largest
    of all the entries; ties to the lower index, as :func:`~sparsebox.select.select` breaks them);
    either may be a 0-d array or tensor.

    A NaN logit gives NaN at its place, forward and backward, as ``torch.sigmoid`` does: it is
    not refused (no check that waits on the device), so a diverged model shows in the loss, and
    ``torch.amp.GradScaler`` can skip the step. With ``k`` a NaN ranks above every number, as in
    ``torch.sort``, and takes one of the k places.

    Examples
    --------
    >>> straight_through_mask(torch.tensor([0.0, 2.0, 0.0, 0.0]), k=2).tolist()
    [1.0, 1.0, 0.0, 0.0]
    """
    if not isinstance(logits, Tensor):  # torch.sigmoid's own TypeError names no argument
        raise InvalidParameterError(f"logits must be a torch tensor, got {type(logits).__name__}")
    if logits.is_complex():  # torch's "Sort does not support complex dtypes", with k
        raise InvalidParameterError(f"logits must be real numbers, got dtype {logits.dtype}")
    kind, value = exactly_one(threshold=threshold, k=k)
    soft = torch.sigmoid(logits)
    if kind == "threshold":
        hard = _at_least(logits, check_threshold(value)).to(soft.dtype)  # as select's
    else:
        k = check_int("k", scalar_item(value), minimum=0, maximum=logits.numel())
        hard = torch.zeros_like(soft).reshape(-1)
        if k:
            order = torch.argsort(logits.detach().reshape(-1), descending=True, stable=True)
            hard[order[:k]] = 1.0  # torch.topk leaves the order of ties to the device
        hard = hard.reshape(soft.shape)
    return hard + (soft - soft.detach())


def _at_least(values: Tensor, threshold: Any) -> Tensor:
    """``values >= threshold`` compared exactly, as :func:`~sparsebox.select.select` compares:
    against :func:`~sparsebox._validation.threshold_cut` in the values' dtype (compared as given,
    torch rounded the threshold to the dtype: half-precision logits of 0.09998 passed 0.1, int64
    ones were compared in float32, and an integer beyond a float raised OverflowError)."""
    if values.dtype == torch.bool:  # (sigmoid takes bool logits: 0 and 1)
        values = values.to(torch.uint8)
    dtype = values.dtype
    if not dtype.is_floating_point:
        info = torch.iinfo(dtype)
        cut = threshold_cut(threshold, integers=(info.min, info.max))
        return torch.zeros_like(values, dtype=torch.bool) if cut is None else values >= cut
    up = torch.tensor(math.inf, dtype=dtype)
    cut = threshold_cut(threshold, round_to=lambda x: torch.tensor(x, dtype=dtype).item(),
                        next_up=lambda x: torch.nextafter(torch.tensor(x, dtype=dtype), up).item())
    return values >= cut


class AugmentedLagrangianBudget:
    """The constraint ``g = sum(gates) - budget <= 0`` by an augmented Lagrangian.

    Add :meth:`penalty` of the (differentiable) gate total to the loss; after each optimizer step,
    call :meth:`step` with the current total to raise the dual variable while the budget is
    exceeded: ``lambda <- max(0, lambda + rho * g)``.

    The penalty is the standard one for an inequality constraint,
    ``lambda g + rho/2 g^2`` when ``lambda + rho g >= 0``, else ``-lambda^2 / (2 rho)``. A total
    is one number (the gates' sum, not the gates): a tensor of several entries is an error. A
    tensor total is worked out in its own dtype, as torch does (NaN gives NaN, a penalty too
    large for the dtype inf). A plain number (or an array) must be finite; its penalty is worked
    out in float64 and comes back in torch's default dtype, as ``torch.tensor`` would make it,
    and one that dtype cannot hold (a total of 1e20 in float32) is an error, not an inf.

    Parameters
    ----------
    budget : float
        The largest allowed total (for instance ``HardConcreteGate.expected_l0()``).
    rho : float
        Penalty weight (> 0).
    lam : float
        Starting multiplier (>= 0).
    """

    def __init__(self, budget: float, *, rho: float = 1.0, lam: float = 0.0) -> None:
        self.budget = check_real("budget", budget, minimum=0)
        self.rho = check_real("rho", rho, above=0)
        self.lam = check_real("lam", lam, minimum=0)

    def violation(self, total: Tensor | float) -> Tensor | float:
        return total - self.budget

    def penalty(self, total: Tensor | float) -> Tensor:
        total = _one_total(total)
        if isinstance(total, Tensor):
            return self._penalty(total)
        x = _finite_total(total)
        exact, dtype = self._penalty(torch.tensor(x, dtype=torch.float64)), torch.get_default_dtype()
        value = exact.to(dtype)
        if not bool(torch.isfinite(value)):  # 1e20 ** 2 is inf in float32: a NaN or inf loss
            raise InvalidParameterError(
                f"total {x:g} makes a penalty of {float(exact):g}, more than {dtype} (torch's "
                f"default dtype) holds (budget {self.budget:g}, rho {self.rho:g}, lam "
                f"{self.lam:g}): give the total as a float64 tensor, or check it")
        return value

    def _penalty(self, total: Tensor) -> Tensor:
        g = self.violation(total)
        active = ~(self.lam + self.rho * g < 0)  # NaN: the active branch, so the penalty is NaN
        # the constant as a tensor of g's dtype: -inf where it is too large (full_like refused it
        # with a RuntimeError), and lam / rho first, since lam**2 overflows a double first
        inactive = g.new_tensor(-0.5 * self.lam * (self.lam / self.rho))
        return torch.where(active, self.lam * g + 0.5 * self.rho * g * g, inactive)

    @torch.no_grad()
    def step(self, total: Tensor | float) -> float:
        """Dual ascent; returns the new multiplier. A total that is not finite (a diverged
        loss) is refused rather than resetting the multiplier."""
        g = float(self.violation(_finite_total(_one_total(total))))
        self.lam = max(0.0, self.lam + self.rho * g)
        return self.lam

    def state_dict(self) -> dict[str, float]:
        return {"budget": self.budget, "rho": self.rho, "lam": self.lam}

    def load_state_dict(self, state: dict[str, float]) -> None:
        """Checked as the constructor checks them (a rho of 0 divided the penalty by zero); a
        state that lacks one is an error naming it, and nothing is loaded from a bad one."""
        missing = sorted({"budget", "rho", "lam"} - set(state))
        if missing:
            raise InvalidParameterError(f"state lacks {missing}")
        checked = AugmentedLagrangianBudget(state["budget"], rho=state["rho"], lam=state["lam"])
        self.budget, self.rho, self.lam = checked.budget, checked.rho, checked.lam


def _one_total(total: Tensor | float) -> Tensor | float:
    """``total`` if it is one number: the budget binds the sum of the gates, not each gate (a
    vector was penalised entry by entry, each against the whole budget)."""
    shape = tuple(getattr(total, "shape", ()))
    if shape and math.prod(shape) != 1:
        raise InvalidParameterError(f"total must be one number, the sum of the gates, got an array "
                                    f"of shape {shape}")
    return total


def _finite_total(total: Tensor | float) -> float:
    """A one-number ``total`` (tensor, array or number) as a finite float."""
    return check_real("total", total.item() if hasattr(total, "item") else total)
