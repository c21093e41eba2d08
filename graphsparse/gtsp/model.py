"""A GPS graph transformer (Rampasek et al., 2022) whose sparsity saves work at inference.

Each layer is PyG ``GPSConv``'s recipe: a local ``GINEConv`` (with the ogb ``BondEncoder``'s
edge features) and a global multi-head attention side by side, each with a residual and batch
norm, their sum through a two-layer feed-forward block. The attention is
:class:`~graphsparse.gtsp.attention.TokenAttention` instead of ``torch.nn.MultiheadAttention``
over a dense batch, so that the GTSP axes (Liu et al., 2024) cost less when they prune:

* tokens: a per-layer linear scorer picks ``k_g = ceil(r n_g)`` nodes of each graph (Gumbel top-k
  with a straight-through gradient in training, top-k at eval); only those attend, the others
  take the MPNN and residual path;
* heads: each attention's ``head_mask`` (set by :class:`~graphsparse.gtsp.strategy.GTSPStrategy`);
  :meth:`GTSPModel.export_pruned` removes the masked heads' rows and columns;
* layers: every attention block sits behind one hard-concrete gate
  (:class:`sparsebox.masks.HardConcreteGate`), started at the budget; at inference the
  ``ceil(r L)`` gates of largest ``log_alpha`` are open (at their mean value) and the closed
  blocks are not run;
* weights: masks on the linear layers (:func:`prunable_weights`), held by the strategy.

Inputs are PyG batches of ogb molecules with a random-walk structural encoding
(``random_walk_pe``, PyG's ``AddRandomWalkPE``).
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from ogb.graphproppred.mol_encoder import AtomEncoder, BondEncoder
from torch import Tensor, nn
from torch_geometric.nn import GINEConv, global_mean_pool

from graphsparse.gtsp.attention import TokenAttention
from graphsparse.gtsp.tokens import gumbel_top_k_per_graph, top_k_per_graph
from sparsebox._validation import check_choice, check_fraction, check_int, check_real, described
from sparsebox.exceptions import InvalidParameterError
from sparsebox.masks import HardConcreteGate

__all__ = ["GTSPModel", "GTSPLayer", "TOKEN_SELECTIONS", "prunable_weights"]

TOKEN_SELECTIONS = ("learned", "random")


class GTSPLayer(nn.Module):
    """One GPS layer: ``h = BN(GINE(x) + x) + BN(gate * Attn(x_selected) + x)``, then
    ``BN(h + FFN(h))``. ``attn`` is None when the block was pruned away."""

    def __init__(self, channels: int, heads: int, *, dropout: float, attn_dropout: float,
                 scorer: bool) -> None:
        super().__init__()
        self.conv = GINEConv(nn.Sequential(nn.Linear(channels, channels), nn.ReLU(),
                                           nn.Linear(channels, channels)))
        self.attn: TokenAttention | None = TokenAttention(channels, heads, dropout=attn_dropout)
        self.scorer = nn.Linear(channels, 1) if scorer else None
        self.mlp = nn.Sequential(nn.Linear(channels, 2 * channels), nn.ReLU(),
                                 nn.Dropout(dropout), nn.Linear(2 * channels, channels),
                                 nn.Dropout(dropout))
        self.norm1, self.norm2, self.norm3 = (nn.BatchNorm1d(channels) for _ in range(3))
        self.dropout = dropout

    def select_tokens(self, x: Tensor, batch: Tensor, num_graphs: int, keep_ratio: float | None,
                      selection: str, tau: float, generator: torch.Generator | None
                      ) -> tuple[Tensor | None, Tensor | None]:
        """``(index, weight)`` of the tokens that attend: None, None for all of them; ``weight``
        (1 in value) carries the straight-through gradient to the scorer in training."""
        if keep_ratio is None or keep_ratio >= 1.0:
            return None, None
        if selection == "random":
            scores = torch.rand(x.shape[0], generator=generator, device=x.device)
            keep, weight = top_k_per_graph(scores, batch, num_graphs, keep_ratio), None
        else:
            scores = self.scorer(x).squeeze(-1)
            if self.training:
                keep, weight = gumbel_top_k_per_graph(scores, batch, num_graphs, keep_ratio,
                                                      tau=tau, generator=generator)
            else:
                keep, weight = top_k_per_graph(scores, batch, num_graphs, keep_ratio), None
        index = torch.nonzero(keep).reshape(-1)
        return index, None if weight is None else weight[index]

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor, batch: Tensor,
                num_graphs: int, *, gate: Tensor | float = 1.0, keep_ratio: float | None = None,
                selection: str = "learned", tau: float = 1.0,
                generator: torch.Generator | None = None) -> Tensor:
        h = self.conv(x, edge_index, edge_attr)
        local = self.norm1(F.dropout(h, self.dropout, self.training) + x)
        skip = self.attn is None or (not isinstance(gate, Tensor) and gate == 0.0)
        if skip:
            glob = self.norm2(x)
        else:
            index, weight = self.select_tokens(x, batch, num_graphs, keep_ratio, selection, tau,
                                               generator)
            if index is None:
                a = self.attn(x, batch, num_graphs)
            else:
                tokens = x[index] if weight is None else x[index] * weight.unsqueeze(-1)
                a = self.attn(tokens, batch[index], num_graphs)
            a = F.dropout(a, self.dropout, self.training)
            if not (isinstance(gate, float) and gate == 1.0):
                a = a * gate
            if index is not None:
                a = torch.zeros_like(x).index_copy(0, index, a)
            glob = self.norm2(a + x)
        out = local + glob
        return self.norm3(out + self.mlp(out))


class GTSPModel(nn.Module):
    """A GPS graph transformer for ogb molecule graph-property prediction, prunable on four axes.

    Parameters
    ----------
    num_tasks : int
        Outputs (one logit or value per task).
    hidden, num_layers, heads : int
        Width, depth and attention heads (GraphGPS on ogbg-molhiv: 64, 10, 4; the GTSP issue:
        64, 4, 4).
    walk_length : int
        Steps of the random-walk structural encoding the inputs carry as ``random_walk_pe``.
    dropout, attn_dropout : float in [0, 1)
        Dropout after the MPNN, attention and FFN blocks, and on the attention weights.
    token_keep_ratio : float in (0, 1], optional
        Keep ratio of the token axis: ``ceil(r n_g)`` tokens of each graph attend. At 1 every
        token attends and the layers have no scorer, so the model starts from the weights the
        dense one (None) starts from with the same seed.
    token_selection : {"learned", "random"}
        How tokens are chosen: the learned per-layer scorer, or uniformly at random (the
        baseline; also at inference).
    layer_keep_ratio : float in (0, 1], optional
        Keep ratio of the layer axis: the attention blocks sit behind hard-concrete gates and at
        most ``ceil(r num_layers)`` are open at inference.
    tau : float
        Temperature of the Gumbel top-k.

    Examples
    --------
    >>> from torch_geometric.data import Batch, Data
    >>> g = Data(x=torch.zeros(4, 9, dtype=torch.long), edge_attr=torch.zeros(6, 3, dtype=torch.long),
    ...          edge_index=torch.tensor([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]]),
    ...          random_walk_pe=torch.zeros(4, 16))
    >>> model = GTSPModel(1, token_keep_ratio=0.5).eval()
    >>> model(Batch.from_data_list([g, g])).shape
    torch.Size([2, 1])
    """

    def __init__(self, num_tasks: int, *, hidden: int = 64, num_layers: int = 4, heads: int = 4,
                 walk_length: int = 16, dropout: float = 0.0, attn_dropout: float = 0.5,
                 token_keep_ratio: float | None = None, token_selection: str = "learned",
                 layer_keep_ratio: float | None = None, tau: float = 1.0) -> None:
        super().__init__()
        num_tasks = check_int("num_tasks", num_tasks, minimum=1)
        num_layers = check_int("num_layers", num_layers, minimum=1)
        hidden = check_int("hidden", hidden, minimum=1)
        heads = check_int("heads", heads, minimum=1)
        if heads > hidden:
            raise InvalidParameterError(f"heads must be at most hidden ({hidden}): each head is "
                                        f"hidden // heads channels wide, got {heads}")
        walk_length = check_int("walk_length", walk_length, minimum=1)
        tau = check_real("tau", tau, above=0)
        dropout = check_fraction("dropout", dropout, low_open=False, high_open=True)
        attn_dropout = check_fraction("attn_dropout", attn_dropout, low_open=False, high_open=True)
        check_choice("token_selection", token_selection, TOKEN_SELECTIONS)
        if token_keep_ratio is not None:
            token_keep_ratio = check_fraction("token_keep_ratio", token_keep_ratio)
        if layer_keep_ratio is not None:
            layer_keep_ratio = check_fraction("layer_keep_ratio", layer_keep_ratio)
        self.num_tasks, self.hidden, self.walk_length = num_tasks, hidden, walk_length
        self.token_keep_ratio, self.token_selection, self.tau = (token_keep_ratio,
                                                                 token_selection, tau)
        self.atom = AtomEncoder(hidden)
        self.bond = BondEncoder(hidden)
        self.pe_norm = nn.BatchNorm1d(walk_length)
        self.pe = nn.Linear(walk_length, hidden)
        # no scorer where every token attends: it would never be read, and drawing its weights
        # moved every later layer's away from the dense model's of the same seed
        learned = (token_keep_ratio is not None and token_keep_ratio < 1.0
                   and token_selection == "learned")
        self.layers = nn.ModuleList(
            GTSPLayer(hidden, heads, dropout=dropout, attn_dropout=attn_dropout, scorer=learned)
            for _ in range(num_layers))
        self.head = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(),
                                  nn.Linear(hidden, num_tasks))
        self.layer_gate: HardConcreteGate | None = None
        self.layer_budget = num_layers
        if layer_keep_ratio is not None:
            self.layer_budget = math.ceil(layer_keep_ratio * num_layers - 1e-9)
            # the gates start at the budget (the expected number of open gates is ceil(r L)),
            # so that the augmented Lagrangian only holds back what the task loss opens
            start = min(0.95, max(0.05, self.layer_budget / num_layers))
            self.layer_gate = HardConcreteGate(num_layers, init_keep=start)
        # the gates' inference values once frozen (training then uses them as they are)
        self.register_buffer("layer_scale", torch.ones(num_layers))
        self.register_buffer("layer_frozen", torch.tensor(False))
        self.generator: torch.Generator | None = None

    def network_parameters(self) -> list[nn.Parameter]:
        """Every parameter but the layer gates' (which :class:`~graphsparse.gtsp.strategy.
        GTSPStrategy` trains with its own optimizer): what the user's optimizer takes."""
        gates = {id(p) for p in self.layer_gate.parameters()} if self.layer_gate else set()
        return [p for p in self.parameters() if id(p) not in gates]

    # ------------------------------------------------------------------ layer gates
    @torch.no_grad()
    def inference_layer_scales(self, samples: int = 256) -> Tensor:
        """The gate value of each attention block at inference: for the ``ceil(r L)`` gates of
        largest ``log_alpha``, the gate's mean in training (estimated from ``samples`` draws of
        the hard-concrete gate, with a fixed seed that leaves torch's random state alone), 0 for
        the others: closed blocks are skipped. Once frozen, the values fixed then. Without a
        layer axis, ones."""
        if self.layer_gate is None:
            return torch.ones(len(self.layers), device=self.layer_scale.device)
        if bool(self.layer_frozen):
            return self.layer_scale.clone()
        was = self.layer_gate.training
        device = self.layer_gate.log_alpha.device  # its draws' generator, given back after
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            (torch.cuda.default_generators[device.index or 0] if device.type == "cuda"
             else torch.default_generator).manual_seed(0)  # torch.manual_seed: every GPU's
            self.layer_gate.train()
            mean = torch.stack([self.layer_gate() for _ in range(samples)]).mean(0)
        self.layer_gate.train(was)
        order = torch.argsort(self.layer_gate.log_alpha.detach(), descending=True, stable=True)
        open_ = torch.zeros_like(mean, dtype=torch.bool)
        open_[order[: self.layer_budget]] = True
        return torch.where(open_, mean, torch.zeros_like(mean))

    @torch.no_grad()
    def freeze_layer_gates(self) -> Tensor:
        """Fix the gates at their inference values from now on (training too); returns them."""
        scales = self.inference_layer_scales()
        self.layer_scale.copy_(scales)
        self.layer_frozen.fill_(True)
        return scales

    def _gates(self) -> list[Tensor | float]:
        if self.layer_gate is None:
            return [1.0] * len(self.layers)
        if self.training and not bool(self.layer_frozen):
            return list(self.layer_gate().unbind(0))
        return [float(v) for v in self.inference_layer_scales()]

    # ------------------------------------------------------------------ forward
    def encode(self, data) -> tuple[Tensor, Tensor]:
        """Node and edge embeddings: atoms + random-walk encoding, bonds."""
        encoding = getattr(data, "random_walk_pe", None)
        if encoding is None:
            raise ValueError("the batch has no random_walk_pe: give its dataset PyG's "
                             "AddRandomWalkPE(16, attr_name='random_walk_pe') as transform, or "
                             "load it with graphsparse.gtsp.data.load_molecules")
        if encoding.dim() != 2 or encoding.shape[1] != self.walk_length:
            raise ValueError(f"random_walk_pe must have one column per step of the model's "
                             f"walk_length {self.walk_length}, got shape {list(encoding.shape)}: "
                             f"use AddRandomWalkPE({self.walk_length}) or "
                             f"GTSPModel(walk_length={encoding.shape[-1]})")
        for name, kind in (("x", "atom"), ("edge_attr", "bond")):
            if getattr(data, name, None) is None:
                raise ValueError(f"the batch has no {name}: the model reads ogb's {kind} "
                                 f"features there, as integers (graphsparse.gtsp.data."
                                 f"check_molecules says what each graph needs)")
        atoms, bonds = self._check_inputs(data, encoding)
        x = self.atom(atoms) + self.pe(self.pe_norm(encoding))
        return x, self.bond(bonds)

    def _check_inputs(self, data, encoding: Tensor) -> tuple[Tensor, Tensor]:
        """``data.x`` and ``data.edge_attr`` as the encoders' indices, once ``edge_index``,
        ``random_walk_pe``, ``x`` and ``edge_attr`` are known to fit together and every code to
        be within its embedding (a min and a max: torch's own errors name no field)."""
        x, edge_index = data.x, getattr(data, "edge_index", None)
        if (not torch.is_tensor(edge_index) or edge_index.dim() != 2 or edge_index.shape[0] != 2
                or edge_index.is_floating_point() or edge_index.dtype == torch.bool):
            raise InvalidParameterError(f"edge_index must be an integer tensor of shape [2, E], "
                                        f"got {described(edge_index)}")
        nodes = int(encoding.shape[0])
        if not encoding.is_floating_point():
            raise InvalidParameterError(f"random_walk_pe must be a float tensor, got "
                                        f"{described(encoding)}")
        atoms = _codes("x", "atom", x, self.atom.atom_embedding_list, nodes,
                       "one row per node, as random_walk_pe has")
        bonds = _codes("edge_attr", "bond", data.edge_attr, self.bond.bond_embedding_list,
                       int(edge_index.shape[1]), "one row per edge of edge_index")
        if edge_index.numel() and bool((edge_index.min() < 0) | (edge_index.max() >= nodes)):
            low = int(edge_index.min())
            raise InvalidParameterError(f"edge_index must name nodes 0 .. {nodes - 1} (the rows "
                                        f"of x), got {low if low < 0 else int(edge_index.max())}")
        return atoms, bonds

    def forward(self, data) -> Tensor:
        """One output row per graph of ``data``, a PyG ``Batch`` (or one ``Data``: one row).
        Fields the encoders cannot read (float or out-of-vocabulary codes in ``x`` or
        ``edge_attr``, sizes that disagree) raise an ``InvalidParameterError`` naming the field."""
        if isinstance(data, (list, tuple)):  # ("the batch has no random_walk_pe", which they had)
            raise TypeError(f"GTSPModel takes a PyG Batch or one Data, got a "
                            f"{type(data).__name__} of {len(data)}: collate it with "
                            "torch_geometric.data.Batch.from_data_list(graphs)")
        x, e = self.encode(data)
        batch = getattr(data, "batch", None)
        if batch is None:  # a single graph, not collated
            batch = torch.zeros(x.shape[0], dtype=torch.long, device=x.device)
            num_graphs = 1
        else:  # a Batch, or a Data given a batch vector (which has no num_graphs)
            num_graphs = (int(data.num_graphs) if hasattr(data, "num_graphs")
                          else int(batch.max()) + 1 if batch.numel() else 1)
        for layer, gate in zip(self.layers, self._gates(), strict=True):
            x = layer(x, data.edge_index, e, batch, num_graphs, gate=gate,
                      keep_ratio=self.token_keep_ratio, selection=self.token_selection,
                      tau=self.tau, generator=self.generator)
        return self.head(global_mean_pool(x, batch, size=num_graphs))

    # ------------------------------------------------------------------ export
    @torch.no_grad()
    def export_pruned(self) -> GTSPModel:
        """The inference model: masked heads removed from every attention (rows of Q/K/V,
        columns of the output projection), closed attention blocks removed (the layer skips
        them), open gates folded into the output projection, evaluation mode. Weight masks are
        already zeros in the weights (they run on dense kernels)."""
        scales = self.inference_layer_scales()
        small = copy.deepcopy(self)
        for layer, scale in zip(small.layers, scales.tolist(), strict=True):
            if layer.attn is None:
                continue
            if scale == 0.0 or layer.attn.kept_heads().numel() == 0:
                layer.attn, layer.scorer = None, None
            else:
                layer.attn = layer.attn.pruned(scale=scale)
        small.layer_gate = None
        small.layer_scale.fill_(1.0)
        small.layer_frozen.fill_(False)
        return small.eval()

    def heads_per_layer(self) -> list[int]:
        """Attention heads that run in each layer (0 for a skipped block)."""
        return [0 if layer.attn is None else int(layer.attn.kept_heads().numel())
                for layer in self.layers]


def _codes(name: str, kind: str, value, tables: nn.ModuleList, rows: int, rows_are: str) -> Tensor:
    """``value`` as indices into ogb's ``kind`` embeddings ``tables`` (``int64`` unless ``int32``),
    refused unless an integer tensor of ``rows`` rows (``rows_are`` says what they stand for)
    and one column per table at most (ogb's encoders read the first ones), each code below its
    table's size."""
    sizes = [table.num_embeddings for table in tables]
    needs = f"ogb's {kind} features, an integer tensor of shape [{rows}, {len(sizes)}]"
    if (not torch.is_tensor(value) or value.is_floating_point() or value.is_complex()
            or value.dtype == torch.bool):
        raise InvalidParameterError(f"{name} must hold {needs} (codes, not one-hot features or "
                                    f"weights), got {described(value)}")
    if value.dim() != 2 or value.shape[0] != rows or not 0 < value.shape[1] <= len(sizes):
        raise InvalidParameterError(f"{name} must be {needs} ({rows_are}), got "
                                    f"shape {list(value.shape)}")
    limit = torch.tensor(sizes[: value.shape[1]], device=value.device)
    if value.shape[0] and bool(((value.amin(0) < 0) | (value.amax(0) >= limit)).any()):
        row, col = (int(k) for k in torch.nonzero((value < 0) | (value >= limit))[0])
        raise InvalidParameterError(f"{name}[{row}, {col}] is {int(value[row, col])}, outside "
                                    f"ogb's {kind} feature {col} (0 .. {sizes[col] - 1})")
    return value if value.dtype in (torch.int32, torch.int64) else value.long()


def prunable_weights(model: GTSPModel) -> list[tuple[str, nn.Parameter]]:
    """The weight matrices of the transformer layers that the weight axis prunes: the GINE
    MLP, the attention's Q/K/V and output projections and the FFN (encoders, token scorers and
    the prediction head stay dense)."""
    out = []
    for i, layer in enumerate(model.layers):
        for name, module in layer.named_modules():
            if isinstance(module, nn.Linear) and module is not layer.scorer:
                out.append((f"layers.{i}.{name}.weight", module.weight))
    return out
