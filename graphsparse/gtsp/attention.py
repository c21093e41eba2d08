"""Multi-head self-attention over the tokens of each graph, with prunable heads.

PyG's ``GPSConv`` runs ``torch.nn.MultiheadAttention`` over a dense batch of every node, so
neither a dropped token nor a pruned head saves anything there. This module takes only the
tokens chosen for attention (their graph ids sorted), pads them per graph, and runs the
attention with explicit matrix products (which ``torch.utils.flop_counter.FlopCounterMode``
counts; CPU's fused ``scaled_dot_product_attention`` kernel is invisible to it). The cost falls
with ``sum_g k_g^2``; heads are kept by a mask in training (its gradient is each head's
importance) and removed for inference by :meth:`TokenAttention.pruned`.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch_geometric.utils import to_dense_batch

from graphsparse.gnn.models import dropout

__all__ = ["TokenAttention"]


class TokenAttention(nn.Module):
    """Self-attention among the tokens of each graph.

    Parameters
    ----------
    channels : int
        Width of the tokens.
    heads : int
        Number of heads.
    head_dim : int, optional
        Width of one head (default ``channels // heads``).
    dropout : float
        Dropout on the attention weights (training only).

    Attributes
    ----------
    head_mask : Tensor
        A float buffer of 0/1, one per head; a 0 silences the head (training keeps its weights
        so that it can come back).
    chunk_graphs : int
        Graphs per padded attention call: a batch's graphs are sorted by token count and
        attended in groups of this many (less padding; the result does not change).
    record_head_importance : bool
        When true, a training forward pass keeps the mask it multiplied in as a leaf tensor
        (``head_probe``) whose ``.grad`` after ``backward()`` is ``sum(grad * head output)``
        per head, taken before the output projection.

    Examples
    --------
    >>> attn = TokenAttention(8, heads=2)
    >>> x, batch = torch.randn(5, 8), torch.tensor([0, 0, 0, 1, 1])
    >>> attn(x, batch, 2).shape
    torch.Size([5, 8])
    >>> attn.head_mask[1] = 0.0
    >>> small = attn.pruned()
    >>> small.heads, torch.allclose(small(x, batch, 2), attn.eval()(x, batch, 2), atol=1e-6)
    (1, True)
    """

    def __init__(self, channels: int, heads: int, *, head_dim: int | None = None,
                 dropout: float = 0.0) -> None:
        super().__init__()
        if heads < 1:
            raise ValueError(f"heads must be >= 1, got {heads}")
        head_dim = head_dim if head_dim is not None else channels // heads
        if head_dim < 1:
            raise ValueError(f"head_dim must be >= 1, got {head_dim}")
        self.channels, self.heads, self.head_dim, self.dropout = channels, heads, head_dim, dropout
        self.qkv = nn.Linear(channels, 3 * heads * head_dim)
        self.out = nn.Linear(heads * head_dim, channels)
        self.register_buffer("head_mask", torch.ones(heads))
        self.record_head_importance = False
        self.head_probe: Tensor | None = None
        self.chunk_graphs = 32

    @property
    def width(self) -> int:
        """Total width of the heads, ``heads * head_dim``."""
        return self.heads * self.head_dim

    def forward(self, x: Tensor, batch: Tensor, num_graphs: int) -> Tensor:
        """``x`` holds the tokens that attend (rows sorted by their graph id in ``batch``)."""
        n, h, d = x.shape[0], self.heads, self.head_dim
        qkv = self.qkv(x).view(n, 3, h, d)
        if num_graphs <= self.chunk_graphs:
            o = self._attend(qkv, batch, num_graphs)
        else:
            o = self._attend_by_size(qkv, batch, num_graphs)
        gate = self.head_mask
        if self.training and self.record_head_importance:
            gate = self.head_mask.detach().clone().requires_grad_(True)
            self.head_probe = gate
        if self.training or not bool(gate.all()):
            o = o * gate.view(1, h, 1)
        return self.out(o.reshape(n, h * d))

    def _attend(self, qkv: Tensor, batch: Tensor, num_graphs: int) -> Tensor:
        """Attention within each graph over a batch padded to its largest graph:
        ``(n, 3, H, d)`` -> ``(n, H, d)``."""
        q, k, v = qkv.unbind(1)
        q = q * (1.0 / math.sqrt(self.head_dim))
        q, mask = to_dense_batch(q, batch, batch_size=num_graphs)  # (B, L, H, d)
        k, _ = to_dense_batch(k, batch, batch_size=num_graphs)
        v, _ = to_dense_batch(v, batch, batch_size=num_graphs)
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # (B, H, L, d)
        scores = torch.matmul(q, k.transpose(-1, -2))
        scores = scores.masked_fill_(~mask[:, None, None, :], float("-inf"))
        weights = dropout(torch.softmax(scores, dim=-1), self.dropout, self.training)
        return torch.matmul(weights, v).transpose(1, 2)[mask]

    def _attend_by_size(self, qkv: Tensor, batch: Tensor, num_graphs: int) -> Tensor:
        """:meth:`_attend` on groups of ``chunk_graphs`` graphs of similar size, so that the
        padding (which costs like real tokens) stays small; the same result."""
        counts = torch.bincount(batch, minlength=num_graphs)
        order = torch.argsort(counts, stable=True)
        position = torch.empty_like(order)
        position[order] = torch.arange(num_graphs, device=order.device)
        new_batch = position[batch]
        perm = torch.argsort(new_batch, stable=True)
        ends = torch.cumsum(counts[order], 0).tolist()
        qkv, new_batch = qkv[perm], new_batch[perm]
        parts, start_token = [], 0
        for first in range(0, num_graphs, self.chunk_graphs):
            last = min(first + self.chunk_graphs, num_graphs)
            end_token = ends[last - 1]
            if end_token > start_token:
                parts.append(self._attend(qkv[start_token:end_token],
                                          new_batch[start_token:end_token] - first, last - first))
            start_token = end_token
        out = torch.empty_like(qkv[:, 0])
        out[perm] = torch.cat(parts)
        return out

    def kept_heads(self) -> Tensor:
        """Indices of the heads whose mask is 1."""
        return torch.nonzero(self.head_mask > 0.5).reshape(-1)

    @torch.no_grad()
    def pruned(self, scale: float = 1.0) -> TokenAttention:
        """A copy without the masked heads: their query, key and value rows and their columns
        of the output projection are removed, not zeroed. ``scale`` multiplies the output
        (a layer gate's value folded into the projection)."""
        kept = self.kept_heads()
        if kept.numel() == 0:
            raise ValueError("every head of this attention is masked; skip the block instead")
        small = TokenAttention(self.channels, int(kept.numel()), head_dim=self.head_dim,
                               dropout=self.dropout).to(self.qkv.weight.device)
        rows = torch.arange(self.width, device=kept.device).view(self.heads, self.head_dim)
        rows = rows[kept].reshape(-1)
        qkv_rows = torch.cat([rows + i * self.width for i in range(3)])
        small.qkv.weight.copy_(self.qkv.weight[qkv_rows])
        small.qkv.bias.copy_(self.qkv.bias[qkv_rows])
        small.out.weight.copy_(self.out.weight[:, rows] * scale)
        small.out.bias.copy_(self.out.bias * scale)
        small.train(self.training)
        return small
