"""dyGRASS: streaming spectral sparsification, insertions tested by localized random walks.

Reference: Yuan, Aghdaei, Feng, "dyGRASS: Dynamic Spectral Graph Sparsification via Localized
Random Walks on GPUs" (2025). Unlike the reference code this is self-contained (our own initial
sparsifier, no external GRASS binary), runs on CPU and GPU, and its updates are atomic batches;
deletions are followed by the static sparsifier's refinement instead of walk paths.
"""

from __future__ import annotations

import math
import numbers
import os
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, minimum_spanning_tree

from graphsparse.resistance import (
    graph_grounded_laplacian,
    grounded_laplacian,
    grounded_rows,
    laplacian_solver,
    pair_resistances,
    sketch_right_hand_sides,
)
from graphsparse.static import FeGrassSparsifier, refine_by_stretch
from graphsparse.trees import max_first_costs, max_spanning_forest, spanning_tree_scores
from sparsebox._validation import SEED, Interval, Options, check_int, check_real, scalar_item
from sparsebox.base import StreamingSparsifier
from sparsebox.exceptions import DensityCapWarning, InvalidParameterError, NotFittedError
from sparsebox.outputs import counted
from sparsebox.select import check_budget_fits
from sparsebox.structure import (
    SparseStructure,
    _from_torch,
    as_structure,
    require_undirected,
    sorted_positions,
)
from sparsebox.walks import random_walks

__all__ = ["EdgeEvent", "BatchReport", "DynamicSpectralSparsifier", "BatchError"]

#: refinement after a deletion batch: this many rounds, more where they would add more than
#: ``_DELETION_ROUND_EDGES`` edges each, fewer where they would add fewer than
#: ``_DELETION_SMALL_ROUND_EDGES``, and lighter ones than the static sparsifier's. Each
#: round factorizes L_H, as each of a rebuild's 64 or more does, so the rounds set the speed-up;
#: fewer cost quality (kappa after 10% deleted, against a rebuild's at the same edge count,
#: 3 rounds over seeds 0-2: 1.36-1.39x on fe_4elt2, 1.31-1.43x on airfoil1; 2 rounds: 1.63x on
#: fe_4elt2 with seed 0, 1.76x on airfoil1 with seed 1; 1 round: 1.54x on airfoil1, seed 0;
#: 4elt, about 270 edges a batch, seeds 0 and 1: 1.26x and 1.34x in 5 rounds of at most 64
#: edges, 1.50x and 1.49x in 3 of at most 100), except where a batch adds few edges: polblogs
#: adds 16-27 a batch by refinement, and in one round (two above 24) ends at 1.15x, 1.13x
#: and 1.09x over seeds 0-2 (1.10x in 3 rounds, seed 0; 1.17x in one round every batch), at
#: about twice the speed (`benchmarks/results/dygrass.md`, 2026-12-05).
_DELETION_MIN_ROUNDS = 3
_DELETION_ROUND_EDGES = 64
_DELETION_SMALL_ROUND_EDGES = 24
_DELETION_REFINE_OPTIONS = {"num_vectors": 8, "power_steps": 2}
#: the exchange at the cap (:meth:`DynamicSpectralSparsifier._fit_to_cap`): sketch columns and
#: power steps of its heat, as the deletions' refinement takes them
_CAP_HEAT_VECTORS = 8
_CAP_HEAT_STEPS = 2


class BatchError(ValueError):
    """A batch was rejected; nothing of it was applied. ``index`` is the offending event and
    ``reason`` what was wrong with it (``"missing"``: a deletion of an edge that is not there)."""

    def __init__(self, message: str, index: int, reason: str = "invalid") -> None:
        super().__init__(message)
        self.index = index
        self.reason = reason

    def __reduce__(self) -> tuple:  # (pickled and copied whole: a worker's error crosses to the parent)
        return type(self), (str(self), self.index, self.reason)


class EdgeEvent(NamedTuple):
    """An edge update: ``op`` is ``"+"`` (insert, or add ``weight`` to an existing edge) or
    ``"-"`` (delete)."""

    op: str
    u: int
    v: int
    weight: float = 1.0

    @classmethod
    def coerce(cls, event: Any) -> EdgeEvent:
        """An event from a dict ``{op, u, v[, weight or w]}`` or a sequence ``(op, u, v[,
        weight])``, an ``EdgeEvent`` included (its fields are checked the same way). A dict
        holds no other field (a misspelt ``weigth`` is refused, not read as weight 1), and one
        of ``weight`` and ``w`` at most. Node ids must be integers (``1.7`` or ``True`` is
        refused, not rounded) and the weight a number; a deletion takes none (1, as a log
        writes it, at most). A ``ValueError`` says which field is wrong.

        Examples
        --------
        >>> EdgeEvent.coerce({"op": "+", "u": 0, "v": 5, "w": 2.0})
        EdgeEvent(op='+', u=0, v=5, weight=2.0)
        >>> EdgeEvent.coerce(("-", 1.7, 2))
        Traceback (most recent call last):
        ...
        ValueError: u must be an integer node id, got 1.7
        """
        if (type(event) is tuple and 3 <= len(event) <= 4) or type(event) is cls:
            # (op, int, int[, float]), an event file's line among them, needs no more than its
            # types checked (the checks below took half the time of a batch of insertions)
            op, u, v, *rest = event
            w = rest[0] if rest else 1.0
            if (type(op) is str and type(u) is int and type(v) is int and type(w) is float
                    and (op == "+" or (op == "-" and w == 1.0))):
                return cls(op, u, v, w)
        if isinstance(event, dict):
            missing = [k for k in ("op", "u", "v") if k not in event]
            if missing:
                raise ValueError(f"missing field {missing[0]!r}")
            unknown = [k for k in event if k not in ("op", "u", "v", "weight", "w")]
            if unknown:  # a misspelt weight would be taken as 1
                raise ValueError(f"unknown field {unknown[0]!r}: an event has op, u, v and "
                                 "weight or w")
            if "weight" in event and "w" in event:
                raise ValueError("give weight or w, not both")
            op, u, v = event["op"], event["u"], event["v"]
            weight = event.get("weight", event.get("w", 1.0))
        elif isinstance(event, str):  # an event file's line: read as the characters '+', ' ', '0'...
            raise ValueError(f"an event is (op, u, v[, weight]), got the text {event!r}"
                             f"{_as_tuple_hint(event)}")
        else:
            try:
                op, u, v, *rest = event
            except (TypeError, ValueError):
                pair = (isinstance(event, tuple) and len(event) == 2  # parse_events yields these
                        and isinstance(event[1], EdgeEvent))
                raise ValueError(f"an event is (op, u, v[, weight]), got {event!r}" + (
                    ": a (line number, event) pair, as parse_events yields them; pass the "
                    "events, [e for _, e in parse_events(lines)]" if pair else "")) from None
            if len(rest) > 1:
                raise ValueError(f"an event is (op, u, v[, weight]), got {event!r}")
            weight = rest[0] if rest else 1.0
        if not isinstance(op, str):
            raise ValueError(f"op must be '+' or '-', got {op!r}")
        event = cls(op, _node_id("u", u), _node_id("v", v), _number("weight", weight))
        if op == "-" and event.weight != 1.0:  # read as "lower the weight by w", it deleted it all
            raise ValueError(f"a deletion removes the whole edge and takes no weight, got "
                             f"{weight!r}")
        return event


def _as_tuple_hint(text: str) -> str:
    """``: give ('+', 0, 5)`` for the event line ``text`` (``+ 0 5``), else nothing."""
    from graphsparse.streaming import EventParseError, parse_event_line

    try:
        e = parse_event_line(text, 1)
    except EventParseError:
        return ""
    if e is None:
        return ""
    shown = (e.op, e.u, e.v) if e.op == "-" or e.weight == 1.0 else (e.op, e.u, e.v, e.weight)
    return f": give {shown!r}"


def _item(value: Any) -> Any:
    """A 0-d array or tensor's value (iterating over ``edge_index.T`` gives 0-d tensors)."""
    return value.item() if getattr(value, "ndim", None) == 0 and hasattr(value, "item") else value


def _node_id(name: str, value: Any) -> int:
    value = _item(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer node id, got {value!r}")
    return int(value)


def _number(name: str, value: Any) -> float:
    value = _item(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(
            value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        return float(value)
    except OverflowError:  # an int beyond float64 (10**400): refused as an infinite weight is
        return math.inf if value > 0 else -math.inf


@dataclass
class BatchReport:
    """What one :meth:`DynamicSpectralSparsifier.update` did."""

    batch: int
    insertions: int
    deletions: int
    skipped: int
    inserted_into_sparsifier: int
    approximated: int
    recovered_edges: int
    reconnected_edges: int
    graph_edges: int
    sparsifier_edges: int
    density: float
    seconds: float
    kappa: float | None = None
    held_back: int = 0  # edges kept out of H by max_density (insertions and refinement)
    evicted: int = 0  # H edges that left to make room for ones joining H's components

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _PendingGraph:
    """G as a :class:`SparseStructure` plus insertions not merged into it yet.

    Insertions are tested by walks in H only, so an insert-only stream never needs G's CSR: it
    keeps the new edges (and new weights of existing ones) in small sorted arrays and merges them
    into G, one ``O(nnz)`` copy, when G is read or a deletion needs it. Immutable like
    ``SparseStructure``: every change returns a new object, which keeps batches atomic.
    """

    __slots__ = ("base", "keys", "weights", "ids", "in_base")

    def __init__(self, base: SparseStructure, keys: np.ndarray | None = None,
                 weights: np.ndarray | None = None, ids: np.ndarray | None = None,
                 in_base: np.ndarray | None = None) -> None:
        self.base = base
        empty = np.zeros(0, dtype=np.int64)
        self.keys = empty if keys is None else keys  # sorted min(u, v) * n + max(u, v)
        self.weights = np.zeros(0) if weights is None else weights
        self.ids = empty if ids is None else ids
        self.in_base = np.zeros(0, dtype=bool) if in_base is None else in_base

    @property
    def num_nodes(self) -> int:
        return self.base.num_nodes

    @property
    def num_edges(self) -> int:
        return self.base.num_items + int((~self.in_base).sum())

    def lookup(self, u: np.ndarray, v: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(exists, weight, id, in_base)`` of the edges ``(u, v)`` with ``u <= v``;
        ``in_base`` marks those already merged into ``base``."""
        pos_b = self.base.find_items(u, v)
        exists = in_base = pos_b >= 0
        weight, ids = np.zeros(u.size), np.full(u.size, -1)
        weight[exists], ids[exists] = self.base.weights[pos_b[exists]], self.base.ids[pos_b[exists]]
        if self.keys.size:
            pos = sorted_positions(self.keys, u * self.num_nodes + v)
            hit = pos >= 0
            exists = exists | hit
            weight = np.where(hit, self.weights[pos], weight)
            ids = np.where(hit, self.ids[pos], ids)
        return exists, weight, ids, in_base

    def with_edges(self, u: np.ndarray, v: np.ndarray, weights: np.ndarray, ids: np.ndarray,
                   in_base: np.ndarray) -> _PendingGraph:
        """G with edges ``(u, v)`` (``u <= v``, distinct) set to ``weights``: existing ones keep
        their ids and change weight, new ones get ``ids``; ``in_base`` is :meth:`lookup`'s."""
        keys = np.concatenate([u * self.num_nodes + v, self.keys])
        first = np.unique(keys, return_index=True)[1]  # sorted; this batch's entry wins
        return _PendingGraph(self.base, keys[first],
                             np.concatenate([weights, self.weights])[first],
                             np.concatenate([ids, self.ids])[first],
                             np.concatenate([in_base, self.in_base])[first])

    def merged(self) -> SparseStructure:
        """G with every pending change applied."""
        g = self.base
        if self.in_base.any():
            g = g.reweight_items(self.ids[self.in_base], self.weights[self.in_base])
        new = ~self.in_base
        if new.any():
            n = self.num_nodes
            g = g.add_items(self.keys[new] // n, self.keys[new] % n, self.weights[new],
                            self.ids[new])
        return g


class DynamicSpectralSparsifier(StreamingSparsifier):
    """Keep a spectral sparsifier H of a graph G up to date under edge insertions and deletions.

    * ``fit(G)``: H from :class:`~graphsparse.static.FeGrassSparsifier` at ``density``.
    * insertion ``(p, q, w)``: walkers from p in H (non-backtracking, path resistance R, stop at
      q, at a dead end, once ``w * R >= K``, or after ``max_steps``). If one reaches q, H already
      approximates the edge and it goes into G only; otherwise into G and H.
    * deletion ``(p, q)``: the edge leaves G and, if there, H. Where H splits and G does not,
      the heaviest G edges between H's pieces reconnect it (H always spans every component of
      G). Then ``recovery`` edges per H edge deleted join H by the static sparsifier's
      refinement (:func:`~graphsparse.static.refine_by_stretch`: the edges of G that H
      approximates worst, over all of G, in rounds of at most 64 edges, at least 3: one per
      24 edges where a batch adds fewer than 49, :func:`_deletion_rounds`). dyGRASS
      adds one walk's path per deleted edge instead; this project's earlier variant of that
      (64 walkers held to K, a one-walk fallback) left kappa 2-3x a rebuild's at the same edge
      count on meshes after 10% of the edges were deleted, where refinement stays within 1.5x
      (`benchmarks/results/dygrass.md`); dyGRASS's own (512 walkers in G, no K) was not
      measured.
    * batches apply in order; consecutive insertions share one round of walks (on H as it was
      before them); the refinement after deletions runs once per batch, after all its events
      (insertions that follow a deletion are tested against H before it), for ``recovery``
      edges per H edge the batch deleted, whatever the events' order.
      A batch is validated as a whole first: a bad batch raises :class:`BatchError` and
      changes nothing.

    Parameters
    ----------
    keep_ratio, budget, density : float, int, float (at most one; default density 1.10)
        The size of the initial sparsifier (:class:`~graphsparse.static.FeGrassSparsifier`).
    max_density : float, optional
        A cap on ``|E_H| / |V|`` that every batch honours exactly (``|E_H| <= floor(max_density
        * |V|)``); at least the initial sparsifier's density. Once the inserted edges H does
        not approximate would overflow it, they join H and edges leave until it fits (an
        exchange): never those of a spanning forest of the whole (feGRASS's tree); of the
        others first the edges the stream inserted (ids from ``inserted_from_id_`` on: the
        new ones and those of earlier batches), then the fitted graph's, then those the batch
        reweights, each group by least heat ``w_e ||P_p - P_q||^2``, ``P = (L_H^+ L_G)^2
        L_H^+ B' W^{1/2} Q'`` with 8 random sign columns ``Q`` (the power iteration of
        :func:`~graphsparse.static.refine_by_stretch`, over H with them and G, both after the
        insertions). A batch that meets the cap so costs a factorization
        of that L_H and ``O(|E|)``; by walks alone (the room to the inserted edges of largest
        ``w * R``, H kept as it was), polblogs's stream capped at 1.30 ended at 1.3x a
        rebuild's kappa, and by the exchange at 1.0x (`benchmarks/results/dygrass.md`). At
        least 1 (a spanning forest of G can need ``|V| - 1`` edges). A deletion frees its
        slot; H is
        reconnected where G is (a deletion splits H at most once per H edge deleted, so that
        always fits), and refinement adds what fits after that. ``held_back`` in the report
        counts what was left out.
    distortion : float, optional
        The threshold K. By default it is calibrated on the initial sparsifier (see Notes). One
        set after ``fit`` (``set_params``) applies from the next batch, as ``max_density`` does;
        set back to None, the K in use stays.
    calibration_quantile : float
        Quantile used for the default K.
    recovery : float
        Edges that refinement adds to H per H edge a deletion batch removes (less those that
        reconnect H): 1.5 lets H grow from density 1.10 to about 1.16 while 10% of G's edges
        are deleted; 1 keeps its size; 0 only reconnects.
    num_walkers, max_steps : int
        Walkers per insertion (and per edge calibrating K) and the longest walk (dyGRASS's
        code: 512 walkers, 100 steps; fewer walkers find fewer paths, so more insertions go
        into H).
    on_missing : {"error", "skip"}
        Deleting an edge that is not in G.
    backend : str
        Random-walk backend (see :func:`sparsebox.walks.random_walks`).
    executor : sparsebox.parallel.Executor, optional
        Spread each batch's walks over an executor's workers (a Ray cluster); the results are
        bit for bit those of one process, so the state does not depend on it.
    seed : int
        All randomness derives from ``(seed, batch number)``: equal inputs give equal states.

    Attributes
    ----------
    graph_, sparsifier_ : SparseStructure
        G and H; H's items carry G's ids and weights.
    mask_ : ndarray of bool
        The items of the current G that are in H (aligned with ``graph_.ids``).
    scores_ : ndarray of float
        The initial sparsifier's scores of the fitted graph's items.
    distortion_ : float
        The K in use.
    batches_ : int
        Batches applied so far.
    inserted_from_id_ : int
        The first id of an edge the stream inserted (new to G): the fitted graph's ids are
        below it. At the cap, inserted edges leave H before the fitted graph's.

    Notes
    -----
    Default K: for up to 2,000 edges of G that the initial sparsifier left out (a seeded sample),
    the same walks measure the best path distortion ``w * R`` in H; K is the
    ``calibration_quantile`` (0.9) of the distortions of the sampled edges that a walk reached
    (an edge no walk reaches has no finite distortion and is left out of the quantile). An
    insertion is then "approximated" when a walk finds ``w * R < K`` (strictly): H covers it
    better than the reached edges H was built without cover nine in ten of themselves, which ties
    K to the quality of the initial sparsifier instead of a per-graph constant (dyGRASS tuned K
    between 10 and 100 by hand). On graphs where walks reach few left-out edges (jazz: about
    half), far fewer than nine in ten of re-inserted left-out edges count as approximated.
    Where there is nothing to calibrate on (the initial sparsifier is all of G: a tree, a forest,
    ``keep_ratio=1``; or no walk reached a left-out edge), K is ``max_steps`` (100 by default),
    the top of dyGRASS's hand-tuned range: a permissive filter, under which few insertions go
    into H. Give ``distortion`` for a stream that starts from such a graph.

    With unit weights a walk's distortion is a path length, so the default K is a whole number;
    where the share of sampled edges at or below one length is close to nine in ten, the seed
    decides between that length and the next (hep-th's K is 3 or 4 by seed, and the kappa its
    insert stream ends at follows K: ``benchmarks/results/dygrass_seeds`` and the README). Pass
    ``distortion`` where the stream must not depend on that draw.

    Node ids are those of the fitted graph, ``0 .. |V| - 1``: an event on another node (a node
    new to the stream) is a :class:`BatchError`. To let a stream reach nodes that have no edge
    yet, fit a graph that holds them as isolated nodes (networkx's ``add_nodes_from``,
    ``as_structure(edge_index, num_nodes=...)``).

    Inserting an edge that exists adds ``weight`` to it (as ``L_G`` gains ``w b b^T``); when the
    edge is in H, H's copy takes G's new weight. Self-loops are rejected, and those of the
    fitted graph are dropped (they add nothing to ``L_G``): ``graph_``, ``mask_`` and
    ``scores_`` hold the other edges, whatever form the graph came in.

    :meth:`state_dict` / :meth:`load_state_dict` carry G, H and the counters: a fresh estimator
    with the same parameters that loads a state goes on exactly as the one that saved it.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.convert_node_labels_to_integers(nx.grid_2d_graph(8, 8))
    >>> model = DynamicSpectralSparsifier(seed=0).fit(g)
    >>> report = model.update([("+", 0, 63, 1.0), ("-", 0, 1)])
    >>> report.insertions, report.deletions, model.graph_.num_edges
    (1, 1, 112)
    """

    item = "edge"
    sizing = ("keep_ratio", "budget", "density")
    default_size = ("density", 1.10)
    _parameter_constraints = {
        "distortion": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "max_density": [Interval(numbers.Real, 1, None, closed="left"), None],
        "calibration_quantile": [Interval(numbers.Real, 0, 1, closed="right")],
        "recovery": [Interval(numbers.Real, 0, None, closed="left")],
        "num_walkers": [Interval(numbers.Integral, 1, None, closed="left")],
        "max_steps": [Interval(numbers.Integral, 1, None, closed="left")],
        "on_missing": [Options(("error", "skip"))],
        "backend": [Options(("auto", "numpy", "numba", "cuda"))],
        "seed": SEED,
    }

    def __init__(self, *, keep_ratio: float | None = None, budget: int | None = None,
                 density: float | None = None, max_density: float | None = None,
                 distortion: float | None = None, calibration_quantile: float = 0.9,
                 recovery: float = 1.5, num_walkers: int = 64, max_steps: int = 100,
                 on_missing: str = "error", backend: str = "auto", executor: Any = None,
                 seed: int = 0) -> None:
        self.keep_ratio = keep_ratio
        self.budget = budget
        self.density = density
        self.max_density = max_density
        self.distortion = distortion
        self.calibration_quantile = calibration_quantile
        self.recovery = recovery
        self.num_walkers = num_walkers
        self.max_steps = max_steps
        self.on_missing = on_missing
        self.backend = backend
        self.executor = executor
        self.seed = seed

    @property
    def graph_(self) -> SparseStructure:
        """G, with the insertions of earlier batches merged in (done on first read)."""
        self._check_fitted()
        if self._graph.keys.size:
            self._graph = _PendingGraph(self._graph.merged())
        return self._graph.base

    @graph_.setter
    def graph_(self, graph: SparseStructure) -> None:
        self._graph = _PendingGraph(graph)

    # ------------------------------------------------------------------ fitting
    @property
    def mask_(self) -> np.ndarray:
        return np.isin(self.graph_.ids, self.sparsifier_.ids)

    def fit(self, graph: Any, y: Any = None) -> DynamicSpectralSparsifier:
        self._validate_params()
        g = as_structure(graph, self_loops="drop", name="graph")  # ids 0.. past the loops
        require_undirected(g, "DynamicSpectralSparsifier")
        sizing, cap = self._sizing_in_use(), self._cap(g.num_nodes)
        budget = sizing.get("budget")
        if budget is not None and budget > g.num_edges:  # G has no loops: named, if dropped
            loops = as_structure(graph, name="graph").num_self_loops
            check_budget_fits(budget, g.num_edges, loops, dropped_by="dyGRASS")
        # (a density given above G's: said)
        size = self._size(g.num_edges, num_nodes=g.num_nodes, num_loops=0)
        if (self.max_density is not None and sizing.get("density", math.inf) <= self.max_density
                and size > cap):
            sizing = {"budget": cap}  # the density asked for rounds to one edge above the cap
        with warnings.catch_warnings():  # said once, above, and only of a density given
            warnings.simplefilter("ignore", DensityCapWarning)
            static = FeGrassSparsifier(seed=self.seed, **sizing).fit(g)
        self._check_cap(static.sparsifier_.num_edges, g.num_nodes, "the initial sparsifier's",
                        "(or size the initial sparsifier smaller)")
        self.graph_ = g
        self.sparsifier_ = static.sparsifier_
        self.scores_ = static.scores_
        self.next_id_ = int(g.ids.max(initial=-1)) + 1
        self.inserted_from_id_ = self.next_id_
        self.batches_ = 0
        if self.distortion is None:
            self.distortion_ = self._calibrate(~static.mask_)
        else:
            self.distortion_ = float(self.distortion)
        return self

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """G, H and the counters as a flat dict of numpy arrays (``numpy.savez`` takes it)."""
        self._check_fitted()
        return {**{f"graph_{k}": v for k, v in self.graph_.to_arrays().items()},
                **{f"sparsifier_{k}": v for k, v in self.sparsifier_.to_arrays().items()},
                "distortion_": np.float64(self.distortion_), "next_id_": np.int64(self.next_id_),
                "inserted_from_id_": np.int64(self.inserted_from_id_),
                "batches_": np.int64(self.batches_),
                **({"scores_": np.asarray(self.scores_)} if hasattr(self, "scores_") else {})}

    def load_state_dict(self, state: Any) -> DynamicSpectralSparsifier:
        """Take the state :meth:`state_dict` returned (of an estimator with the same
        parameters); the estimator is then fitted and goes on from there (with its own
        ``distortion`` where given, else the state's K, as ``distortion_`` says). A state
        saved before ``inserted_from_id_`` was kept counts every edge it holds as the fitted
        graph's."""
        def part(prefix: str) -> SparseStructure:
            arrays = {k[len(prefix):]: state[k] for k in state if k.startswith(prefix)}
            for key in ("meta", "rows", "cols", "weights", "ids"):
                if key not in arrays:
                    raise KeyError(prefix + key)
            for key in ("cols", "weights", "ids"):  # one entry per item in each
                if np.shape(arrays[key]) != np.shape(arrays["rows"]):
                    raise InvalidParameterError(
                        f"not a consistent DynamicSpectralSparsifier state: {prefix}{key} has "
                        f"shape {np.shape(arrays[key])}, {prefix}rows {np.shape(arrays['rows'])}")
            try:
                return SparseStructure.from_arrays(arrays)
            except (ValueError, TypeError) as err:
                raise InvalidParameterError(f"not a consistent DynamicSpectralSparsifier "
                                            f"state: {prefix}*: {err}") from None

        self._validate_params()
        if not isinstance(state, Mapping):
            hint = (" (a file: pass numpy.load(path), as numpy.savez(path, **state_dict()) wrote it)"
                    if isinstance(state, (str, bytes, os.PathLike)) else "")
            raise InvalidParameterError(f"load_state_dict takes the dict state_dict() returned, got "
                                        f"{type(state).__name__} {state!r}{hint}")
        # a state turned into tensors: as numpy (numpy read a tensor with a DeprecationWarning)
        state = {k: _from_torch(v, k) for k, v in state.items()}
        try:  # all read before any is set: a state that fails to load changes nothing
            graph, sparsifier = part("graph_"), part("sparsifier_")
            distortion = check_real("distortion_", state["distortion_"], above=0)
            next_id, batches = (check_int(key, scalar_item(state[key]), minimum=0)
                                for key in ("next_id_", "batches_"))
            inserted_from = check_int("inserted_from_id_", scalar_item(
                state.get("inserted_from_id_", next_id)), minimum=0)
        except KeyError as err:
            raise InvalidParameterError(
                f"not a DynamicSpectralSparsifier state: no {err.args[0]!r}") from None
        top_id = int(graph.ids.max()) if graph.num_items else -1
        if next_id <= top_id:  # new edges would reuse an id
            raise InvalidParameterError(f"not a consistent DynamicSpectralSparsifier state: "
                                        f"next_id_ {next_id} is not above the graph's ids (up to "
                                        f"{top_id})")
        if inserted_from > next_id:
            raise InvalidParameterError(f"not a consistent DynamicSpectralSparsifier state: "
                                        f"inserted_from_id_ {inserted_from} is above next_id_ "
                                        f"{next_id}")
        if np.unique(graph.ids).size != graph.num_items:  # an id would name two edges
            raise InvalidParameterError("not a consistent DynamicSpectralSparsifier state: "
                                        "graph_ids holds an id twice")
        _check_subgraph(graph, sparsifier)
        _check_spans(graph, sparsifier)
        self._check_cap(sparsifier.num_edges, graph.num_nodes, "the state's sparsifier",
                        "(load it with the max_density it was made with)")
        scores = None
        if "scores_" in state:
            try:
                scores = np.array(state["scores_"], dtype=np.float64)
            except (ValueError, TypeError) as err:
                raise InvalidParameterError(f"not a consistent DynamicSpectralSparsifier state: "
                                            f"scores_: {err}") from None
            if scores.ndim != 1 or scores.size > inserted_from:  # one per fitted edge
                raise InvalidParameterError(
                    f"not a consistent DynamicSpectralSparsifier state: scores_ has shape "
                    f"{scores.shape}, where it holds one score per edge of the fitted graph "
                    f"(at most inserted_from_id_, {inserted_from})")
        self.graph_, self.sparsifier_ = graph, sparsifier
        self.next_id_, self.batches_ = next_id, batches
        self.inserted_from_id_ = inserted_from
        # the K the next batch uses: this estimator's distortion where given (as after
        # set_params), else the state's
        self.distortion_ = distortion if self.distortion is None else float(self.distortion)
        if scores is not None:
            self.scores_ = scores
        else:  # a state written before the scores were kept: none, not an earlier fit's
            self.__dict__.pop("scores_", None)
        return self

    def _calibrate(self, left_out: np.ndarray, sample: int = 2000) -> float:
        g, h = self.graph_, self.sparsifier_
        pos = np.flatnonzero(left_out)
        if pos.size == 0:
            return float(self.max_steps)
        rng = np.random.default_rng([self.seed, 0x6B])
        pos = np.sort(rng.choice(pos, size=min(sample, pos.size), replace=False))
        res = random_walks(h, g.rows[pos], g.cols[pos], num_walkers=self.num_walkers,
                           max_steps=self.max_steps, seed=self.seed, backend=self.backend,
                           executor=self.executor)
        distortion = g.weights[pos] * res.resistance
        finite = distortion[np.isfinite(distortion)]
        if finite.size == 0:
            return float(self.max_steps)
        return float(np.quantile(finite, self.calibration_quantile))

    def _cap(self, num_nodes: int) -> float:
        """Most edges H may hold (``inf`` without ``max_density``): ``floor(max_density *
        |V|)``, at most every pair of nodes (so a huge finite cap, ``1e308``, is no cap)."""
        if self.max_density is None:
            return math.inf
        cap, pairs = self.max_density * num_nodes + 1e-9, num_nodes * (num_nodes - 1) // 2
        return pairs if cap >= pairs else math.floor(cap)

    def _check_cap(self, edges: int, num_nodes: int, whose: str, advice: str) -> None:
        """Refuse an H of ``edges`` edges over the cap (every batch would break it): ``whose``
        names that H in the message (fit's, a loaded state's, one a ``max_density`` set since
        fit is below)."""
        if edges > self._cap(num_nodes):
            raise InvalidParameterError(
                f"max_density {self.max_density} is below {whose} density "
                f"{edges / num_nodes:.6g}; give at least {_least_density(edges, num_nodes)} "
                f"{advice}")

    def _check_params(self) -> None:
        """:meth:`_validate_params` again where a parameter was set since (``set_params``:
        ``on_missing="Error"`` is not ``"skip"``); values are compared by identity, so that
        every batch does not pay for the full check."""
        params = [v for k, v in vars(self).items() if not k.startswith("_") and not k.endswith("_")]
        checked = getattr(self, "_checked_params", None)
        if checked is None or len(params) != len(checked) or any(
                a is not b for a, b in zip(params, checked, strict=True)):
            self._validate_params()
            self._checked_params = params
            if self.distortion is not None:  # a K set since fit applies from the next batch
                self.distortion_ = float(self.distortion)

    def _check_fitted(self) -> None:
        if not hasattr(self, "_graph"):
            raise NotFittedError("this DynamicSpectralSparsifier is not fitted yet: call "
                                 "fit(graph) (or load_state_dict) before using it")

    # ------------------------------------------------------------------ updates
    def update(self, batch: Iterable[Any]) -> BatchReport:
        """Apply a batch of events in order; all or nothing. Returns what was done."""
        self._check_fitted()
        start = time.perf_counter()
        events = self.validate(batch)
        g, h = self._graph, self.sparsifier_
        counts = dict(insertions=0, deletions=0, skipped=0, inserted_into_sparsifier=0,
                      approximated=0, recovered_edges=0, reconnected_edges=0, held_back=0,
                      evicted=0)
        next_id = self.next_id_
        run_seed = 0
        # the deletions' recovery, once for the batch: H edges they deleted, edges that
        # reconnected H, the seed of the last deletion run and H's components after it (None
        # once insertions followed)
        deleted, joined, recover_seed, components = 0, 0, None, None
        for op, run in _runs(events):
            run_seed += 1
            seed = _derive_seed(self.seed, self.batches_ + 1, run_seed)
            if op == "+":
                g, h, next_id = self._insert(g, h, run, next_id, seed, counts)
                components = None
            elif op == "-":
                merged, h, lost, joins, components = self._delete(g.merged(), h, run, counts)
                g = _PendingGraph(merged)
                deleted, joined, recover_seed = deleted + lost, joined + joins, seed
            else:
                counts["skipped"] += len(run)
        # recovery edges per H edge deleted, over the batch (whatever the events' order), less
        # those that reconnected H: each deletion frees its slot, reconnecting takes one at most
        want = math.ceil(self.recovery * deleted - 1e-9) - joined  # 1.1 * 10 is 11
        if want > 0:
            merged = g.merged()
            h = self._recover(merged, h, want, recover_seed, components, counts)
            g = _PendingGraph(merged)
        # Commit: nothing above touched self, so an exception leaves the old state.
        self._graph, self.sparsifier_, self.next_id_ = g, h, next_id
        self.batches_ += 1
        return BatchReport(batch=self.batches_, **counts, graph_edges=g.num_edges,
                           sparsifier_edges=h.num_edges, density=h.num_edges / max(g.num_nodes, 1),
                           seconds=time.perf_counter() - start)

    def stream(self, events: Iterable[Any], batch_size: int = 1000) -> Iterator[BatchReport]:
        """Apply an iterable of events in batches of ``batch_size``; yield one report each.
        An unfitted estimator, a bad ``batch_size`` or ``events`` that are one event or no
        iterable raise here, not at the first report. A bad batch raises :class:`BatchError`
        whose ``index`` (and message) counts events from the stream's first; the batches before
        it stay applied."""
        self._check_fitted()
        _check_event_list("events", events)
        return self._stream(events, check_int("batch_size", batch_size, minimum=1))

    def _stream(self, events: Iterable[Any], batch_size: int) -> Iterator[BatchReport]:
        batch: list[Any] = []
        start = 0  # the stream's index of the batch's first event
        for event in events:
            batch.append(event)
            if len(batch) == batch_size:
                yield self._update_in_stream(batch, start)
                start += len(batch)
                batch = []
        if batch:
            yield self._update_in_stream(batch, start)

    def _update_in_stream(self, batch: list[Any], start: int) -> BatchReport:
        """:meth:`update`, with a bad event named by its index in the stream."""
        try:
            return self.update(batch)
        except BatchError as err:
            detail = str(err).split(": ", 1)[1]
            raise BatchError(f"event {start + err.index}: {detail} (the batch of events {start}.."
                             f"{start + len(batch) - 1} was not applied, those before it were)",
                             start + err.index, err.reason) from None

    def validate(self, batch: Iterable[Any]) -> list[EdgeEvent]:
        """Check a batch against G as the batch would change it, changing nothing; raises
        :class:`BatchError` naming the first bad event (an ``InvalidParameterError`` where a
        ``max_density`` set since fit is below H's density). Returns the events, deletions of
        absent edges marked ``"skip"`` when ``on_missing="skip"``."""
        self._check_fitted()
        self._check_params()
        self._check_cap(self.sparsifier_.num_edges, self._graph.num_nodes, "the sparsifier's",
                        "(H gives up no edge to meet a lower cap)")
        _check_event_list("batch", batch)
        events: list[EdgeEvent] = []
        unreadable = None  # the first event that is no event: raised after those before it
        for i, e in enumerate(batch):
            try:
                events.append(EdgeEvent.coerce(e))
            except ValueError as err:
                unreadable = BatchError(f"event {i}: {err}", i)
                break
        n = self._graph.num_nodes
        columns = zip(*events, strict=True) if events else ([], [], [], [])
        ops, a, b, w = (np.array(x) for x in columns)
        bad = ((ops != "+") & (ops != "-")) | (a < 0) | (a >= n) | (b < 0) | (b >= n)
        bad |= (a == b) | ((ops == "+") & ~(np.isfinite(w) & (w > 0)))
        # the events before the first bad one are checked against G first: the first bad event
        # of the batch is named, whatever is wrong with it
        stop = int(np.argmax(bad)) if bad.any() else len(events)
        u = np.minimum(a[:stop], b[:stop]).astype(np.int64)
        v = np.maximum(a[:stop], b[:stop]).astype(np.int64)
        exists, weight = self._graph.lookup(u, v)[:2]
        keys = list(zip(u.tolist(), v.tolist(), strict=True))
        present = dict(zip(keys, exists.tolist(), strict=True))
        total = dict(zip(keys, weight.tolist(), strict=True))  # each edge's weight as it goes
        deleted = set()  # edges that events of this batch delete (and none inserts again after)
        out = []
        for i, (e, key) in enumerate(zip(events[:stop], keys, strict=True)):
            if e.op == "-" and not present[key]:
                if self.on_missing == "error":
                    where = (" a second time (an earlier event of this batch deletes it)"
                             if key in deleted else ", which is not in the graph")
                    raise BatchError(f"event {i}: deletes edge ({e.u}, {e.v}){where} (pass "
                                     "on_missing='skip' to skip such deletions)", i, reason="missing")
                out.append(EdgeEvent("skip", e.u, e.v))
                continue
            if e.op == "+":  # repeated insertions add up: the sum must stay finite too
                total[key] = (total[key] if present[key] else 0.0) + e.weight
                if not math.isfinite(total[key]):
                    raise BatchError(f"event {i}: the weight of edge ({e.u}, {e.v}) would "
                                     f"become {total[key]} (insertions add up)", i)
                deleted.discard(key)
            else:
                deleted.add(key)
            present[key] = e.op == "+"
            out.append(e)
        if stop < len(events):
            _raise_for_event(stop, events[stop], n)
        if unreadable is not None:
            raise unreadable
        return out

    def _insert(self, g, h, run, next_id, seed, counts):
        u, v = _endpoints(run)
        w = np.array([e.weight for e in run])
        counts["insertions"] += len(run)
        n = g.num_nodes
        key, inverse = np.unique(u * n + v, return_inverse=True)
        added = np.bincount(inverse, weights=w)  # repeated insertions add up
        u, v = key // n, key % n
        exists, old_w, old_ids, in_base = g.lookup(u, v)
        new_w = added + old_w
        ids = old_ids.copy()
        ids[~exists] = np.arange(next_id, next_id + int((~exists).sum()))
        next_id += int((~exists).sum())
        in_h = h.find_items(u, v) >= 0
        # edges H holds already only change weight; the others are tested by walks in H
        test = ~in_h
        res = random_walks(h, u[test], v[test], num_walkers=self.num_walkers,
                           max_steps=self.max_steps, seed=seed, scale=added[test],
                           stop_resistance=self.distortion_, backend=self.backend,
                           executor=self.executor)
        into_h = np.zeros(key.shape[0], dtype=bool)
        into_h[np.flatnonzero(test)[~res.reached]] = True
        g = g.with_edges(u, v, new_w, ids, in_base)
        room = self._cap(n) - h.num_edges
        if into_h.sum() > room:
            merged = g.merged()  # (the exchange reads L_G)
            g = _PendingGraph(merged)
            into_h, evict = self._fit_to_cap(merged, h, u, v, new_w, ids, into_h, in_h,
                                             int(room), seed)
            h = h.remove_items(evict)
            in_h &= ~np.isin(ids, evict)  # an evicted edge this batch reweights is in G only
            counts["evicted"] += int(evict.size)
        counts["held_back"] += int((~res.reached).sum()) - int(into_h.sum())
        counts["inserted_into_sparsifier"] += int(into_h.sum())
        counts["approximated"] += int(res.reached.sum())
        if in_h.any():
            h = h.reweight_items(ids[in_h], new_w[in_h])
        if into_h.any():
            h = h.add_items(u[into_h], v[into_h], new_w[into_h], ids[into_h])
        return g, h, next_id

    def _fit_to_cap(self, g, h, u, v, w, ids, into_h, in_h, room, seed):
        """Which candidates of ``into_h`` (edges ``(u, v)`` of G ``g`` after the insertions, of
        weights ``w`` and ids ``ids``; ``in_h``: those H holds, which they reweight) enter a
        full H, and the ids of the H edges that leave for them: of H with every candidate,
        ``into_h.sum() - room`` edges off a spanning forest, inserted ones first, reweighted
        ones last, least heat first within each (the exchange ``max_density`` describes)."""
        cand = np.flatnonzero(into_h)
        both = h.reweight_items(ids[in_h], w[in_h]) if in_h.any() else h
        both = both.add_items(u[cand], v[cand], w[cand], ids[cand])
        kept, index = grounded_rows(g)  # H with the candidates spans G after the batch
        size = kept.size
        p, q = index[both.rows], index[both.cols]
        solve = laplacian_solver(grounded_laplacian(p, q, both.weights, size), "auto", tol=1e-3)
        lg = graph_grounded_laplacian(g, index, size)
        rng = np.random.default_rng([seed, 0x63])
        z = solve(sketch_right_hand_sides(p, q, both.weights, size, _CAP_HEAT_VECTORS, rng),
                  overwrite_b=True)
        for _ in range(_CAP_HEAT_STEPS):
            z = solve(lg @ z, overwrite_b=True)
        coords = np.zeros((g.num_nodes, z.shape[1]))  # grounded nodes at 0
        coords[kept] = z
        heat = both.weights * pair_resistances(coords, both.rows, both.cols)
        tier = np.where(np.isin(both.ids, ids[in_h]), 2, both.ids < self.inserted_from_id_)
        off = np.flatnonzero(~max_spanning_forest(both, spanning_tree_scores(both)))
        leave = both.ids[off[np.lexsort((off, heat[off], tier[off]))[:cand.size - room]]]
        out = np.zeros_like(into_h)
        out[cand] = ~np.isin(ids[cand], leave)
        return out, leave[np.isin(leave, h.ids)]

    def _delete(self, g, h, run, counts):
        """G and H without the run's edges, H's pieces that G still joins reconnected; and how
        many H edges the run deleted, how many edges reconnected H, and H's components (None
        where H lost no edge), for the batch's recovery (:meth:`_recover`)."""
        u, v = _endpoints(run)
        counts["deletions"] += len(run)
        in_h = h.find_items(u, v) >= 0
        g = _without(g, g.find_items(u, v))
        h = _without(h, h.find_items(u[in_h], v[in_h]))
        if not in_h.any():
            return g, h, 0, 0, None
        joins, components = _joining_edges(g, h.connected_components(), u[in_h], v[in_h])
        counts["reconnected_edges"] += joins.size
        if joins.size:
            h = h.add_items(g.rows[joins], g.cols[joins], g.weights[joins], g.ids[joins])
        return g, h, int(in_h.sum()), int(joins.size), components

    def _recover(self, g, h, want, seed, components, counts):
        """H with up to ``want`` (> 0) more edges of G, as H's cap leaves room for, by
        refinement (once per batch, after all its events: a batch that alternates insertions
        and deletions refined after each run of deletions, seconds each once H fills in)."""
        room = self._cap(g.num_nodes) - h.num_edges
        take = int(max(0, min(want, room)))
        counts["held_back"] += want - take
        if not take:
            return h
        # H, and a maximum spanning forest of it (H spans every component of G)
        in_g = g.find_items(h.rows, h.cols)
        if in_g.min(initial=0) < 0:
            raise RuntimeError("internal error: H holds an edge that G does not")
        mask = np.zeros(g.num_items, dtype=bool)
        mask[in_g] = True
        forest = np.zeros(g.num_items, dtype=bool)
        forest[in_g[max_spanning_forest(h, h.weights)]] = True
        new = refine_by_stretch(g, mask, forest, take, rounds=_deletion_rounds(take), seed=seed,
                                components=components, **_DELETION_REFINE_OPTIONS) & ~mask
        counts["recovered_edges"] += int(new.sum())
        add = np.flatnonzero(new)
        return h.add_items(g.rows[add], g.cols[add], g.weights[add], g.ids[add])

    # ------------------------------------------------------------------ convenience
    def transform(self, graph: Any = None) -> SparseStructure:
        """The current sparsifier H (of the graph as the stream has changed it). A ``graph``
        given must be that graph (``graph_``: its nodes, edges and weights): H is not made for
        another.
        """
        self._check_fitted()
        if graph is not None:
            s, g = as_structure(graph, self_loops="drop", name="graph"), self.graph_
            same = s.num_nodes == g.num_nodes and s.num_items == g.num_items
            if same:  # H was chosen for G's weights too: to rounding (a batch adds an edge's
                # insertions up before it adds them to its weight, a user's copy one by one)
                pos = g.find_items(s.rows, s.cols)
                same = bool((pos >= 0).all()) and bool(
                    np.isclose(g.weights[pos], s.weights, rtol=1e-12, atol=0).all())
            if not same:
                raise InvalidParameterError(
                    f"transform got a graph of {s.num_nodes} nodes and {s.num_items} edges that "
                    f"is not the one this DynamicSpectralSparsifier holds ({g.num_nodes} nodes, "
                    f"{g.num_items} edges after {counted(self.batches_, 'batch', 'batches')}; "
                    "the same edges of other weights are another graph too); call transform() "
                    "for its sparsifier, or fit the other graph")
        return self.sparsifier_


def _least_density(edges: int, num_nodes: int) -> str:
    """The least ``max_density`` of four decimals whose cap holds ``edges`` edges: the density
    rounded up (rounded to the nearest, it can be one whose cap holds one edge fewer).

    Examples
    --------
    >>> _least_density(10, 9)  # 1.11111...: a cap of 1.1111 holds 9 edges
    '1.1112'
    """
    k = -(-edges * 10_000 // num_nodes)
    while math.floor(k / 10_000 * num_nodes + 1e-9) < edges:  # (the cap's rounding)
        k += 1
    return f"{k / 10_000:.4f}"


def _deletion_rounds(take: int) -> int:
    """Refinement rounds for a deletion batch that adds ``take`` edges (see the constants'
    comment): rounds of at most 64 edges, at least three, but one per 24 edges below 49.

    Examples
    --------
    >>> [_deletion_rounds(t) for t in (1, 24, 25, 48, 49, 192, 193)]
    [1, 1, 2, 2, 3, 3, 4]
    """
    return max(min(_DELETION_MIN_ROUNDS, math.ceil(take / _DELETION_SMALL_ROUND_EDGES)),
               math.ceil(take / _DELETION_ROUND_EDGES))


def _check_subgraph(g: SparseStructure, h: SparseStructure) -> None:
    """Refuse a loaded state whose H is not a subgraph of its G with G's ids and weights."""
    if h.num_nodes != g.num_nodes:
        problem = f"H has {h.num_nodes} nodes, G {g.num_nodes}"
    else:
        pos = g.find_items(h.rows, h.cols)
        found = pos >= 0
        same = found.copy()
        same[found] = ((g.ids[pos[found]] == h.ids[found])
                       & (g.weights[pos[found]] == h.weights[found]))
        if same.all():
            return
        i = int(np.argmin(same))
        edge = f"H's edge ({h.rows[i]}, {h.cols[i]})"
        problem = (f"{edge} is not in G" if not found[i] else
                   f"{edge} has id {h.ids[i]} and weight {h.weights[i]:g}, G's id "
                   f"{g.ids[pos[i]]} and weight {g.weights[pos[i]]:g}")
    raise InvalidParameterError("not a consistent DynamicSpectralSparsifier state: the "
                                f"sparsifier_* entries are not a subgraph of graph_*: {problem}")


def _check_spans(g: SparseStructure, h: SparseStructure) -> None:
    """Refuse a loaded state whose G or H is directed, or whose H (a subgraph of G) does not
    span every component of G, as each batch keeps it (a deletion reconnects H only within the
    pieces it split)."""
    directed = [name for name, s in (("graph_", g), ("sparsifier_", h)) if not s.is_undirected]
    if directed:
        raise InvalidParameterError("not a consistent DynamicSpectralSparsifier state: the "
                                    f"{' and '.join(directed)}* entries are of a directed graph")
    parts, whole = h.connected_components()[0], g.connected_components()[0]
    if parts != whole:
        raise InvalidParameterError(f"not a consistent DynamicSpectralSparsifier state: H has "
                                    f"{parts} components where G has {whole}, so it does not "
                                    "span G")


def _check_event_list(name: str, events: Any) -> None:
    """Refuse one event given where a list of them is expected (it would be read field by field:
    ``event 0: ... got '+'``), what is no iterable at all, and a set (no order)."""
    if isinstance(events, (str, dict, EdgeEvent)) or (
            isinstance(events, tuple) and events and isinstance(events[0], str)):
        if isinstance(events, str):  # text: [text] fails too, as the events it holds are lines
            hint = _as_tuple_hint(events)
            raise InvalidParameterError(
                f"{name} must be a list of events, got the text {events!r}"
                + (hint.replace(": give (", ": pass [(", 1) + "]" if hint else
                   ": pass (op, u, v[, weight]) tuples ([e for _, e in "
                   "graphsparse.streaming.parse_events(text.splitlines())] reads them)"))
        raise InvalidParameterError(f"{name} must be a list of events, got one event {events!r}: "
                                    f"pass [{events!r}]")
    if not isinstance(events, Iterable):
        raise InvalidParameterError(f"{name} must be a list of events (op, u, v[, weight]), "
                                    f"got {events!r}")
    if isinstance(events, (set, frozenset)):  # its order, so the result, followed the hash seed
        raise InvalidParameterError(f"{name} must be a list of events, got a "
                                    f"{type(events).__name__}, which has no order: events apply "
                                    "in order (pass a list)")


def _raise_for_event(i: int, e: EdgeEvent, n: int) -> None:
    """Raise the :class:`BatchError` that says what is wrong with event ``i``."""
    if e.op not in ("+", "-"):
        raise BatchError(f"event {i}: op must be '+' or '-', got {e.op!r}", i)
    for name, node in (("u", e.u), ("v", e.v)):
        if not 0 <= node < n:
            raise BatchError(f"event {i}: {name} = {node} is out of range (0..{n - 1})", i)
    if e.u == e.v:
        raise BatchError(f"event {i}: self-loop on node {e.u} is not allowed", i)
    raise BatchError(f"event {i}: weight must be positive and finite, got {e.weight}", i)


def _endpoints(run: Sequence[EdgeEvent]) -> tuple[np.ndarray, np.ndarray]:
    """``(min(u, v), max(u, v))`` of each event, as arrays."""
    a = np.fromiter((e.u for e in run), dtype=np.int64, count=len(run))
    b = np.fromiter((e.v for e in run), dtype=np.int64, count=len(run))
    return np.minimum(a, b), np.maximum(a, b)


def _runs(events: Sequence[EdgeEvent]) -> Iterator[tuple[str, list[EdgeEvent]]]:
    """Maximal runs of events of one kind, in order."""
    run: list[EdgeEvent] = []
    for e in events:
        if run and e.op != run[-1].op:
            yield run[-1].op, run
            run = []
        run.append(e)
    if run:
        yield run[-1].op, run


def _derive_seed(*parts: int) -> int:
    return int(np.random.SeedSequence(list(parts)).generate_state(1, dtype=np.uint64)[0] >> 1)


def _without(s: SparseStructure, positions: np.ndarray) -> SparseStructure:
    """``s`` without the items at ``positions`` (``remove_items`` by position: no id lookup)."""
    keep = np.ones(s.num_items, dtype=bool)
    keep[positions] = False
    return s.subgraph(keep)


def _joining_edges(g: SparseStructure, components: tuple[int, np.ndarray], p: np.ndarray,
                   q: np.ndarray) -> tuple[np.ndarray, tuple[int, np.ndarray]]:
    """Where deleting H's edges ``(p, q)`` split a component of H (``components``: H's
    ``connected_components()``) that G still joins: the positions in G of the heaviest G
    edges between the pieces, as a maximum spanning forest over them, and the components of
    H with them.

    Only the G edges of the pieces' nodes are read, and not those of the largest piece: every
    other component of H spans a whole component of G (H did before the batch), so each G
    edge between two pieces has an end in a piece other than the largest."""
    count, labels = components
    split = labels[p] != labels[q]
    if not split.any():
        return np.zeros(0, dtype=np.int64), components
    pieces = np.unique(np.concatenate([labels[p[split]], labels[q[split]]]))
    pieces = pieces[pieces != pieces[np.argmax(np.bincount(labels, minlength=count)[pieces])]]
    items = np.unique(g.entry_item[_entries_of(g, np.flatnonzero(np.isin(labels, pieces)))])
    chosen = items[_forest_across(labels, g.rows[items], g.cols[items], g.weights[items])]
    if chosen.size == 0:  # G split there too
        return chosen, components
    joined = sp.csr_array((np.ones(chosen.size), (labels[g.rows[chosen]], labels[g.cols[chosen]])),
                          shape=(count, count))
    count, merged = connected_components(joined, directed=False)
    return chosen, (count, merged[labels])


def _entries_of(g: SparseStructure, nodes: np.ndarray) -> np.ndarray:
    """Positions of the CSR entries in the rows ``nodes`` of ``g``."""
    starts, lengths = g.indptr[nodes], g.indptr[nodes + 1] - g.indptr[nodes]
    return np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())


def _forest_across(labels: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                   weights: np.ndarray) -> np.ndarray:
    """Positions of the edges ``(rows, cols, weights)`` that join the components ``labels``
    (one per node) as a maximum spanning forest over them: the heaviest edge per pair of
    components, then Kruskal on those."""
    a, b = labels[rows], labels[cols]
    cross = np.flatnonzero(a != b)
    if cross.size == 0:
        return cross
    lo, hi = np.minimum(a[cross], b[cross]), np.maximum(a[cross], b[cross])
    order = np.lexsort((-weights[cross], hi, lo))  # heaviest edge per pair of components
    lo, hi, cross = lo[order], hi[order], cross[order]
    first = np.concatenate([[True], (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])])
    lo, hi, cross = lo[first], hi[first], cross[first]
    size = int(labels.max()) + 1
    cost = sp.csr_array((max_first_costs(weights[cross]), (lo, hi)), shape=(size, size))
    forest = minimum_spanning_tree(cost).tocoo()
    pick = {(int(x), int(y)) for x, y in zip(forest.row, forest.col, strict=True)}
    return np.array([i for i, x, y in zip(cross, lo, hi, strict=True)
                     if (int(x), int(y)) in pick or (int(y), int(x)) in pick], dtype=np.int64)
