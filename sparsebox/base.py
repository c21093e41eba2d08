"""The contract every method keeps: estimators, streaming estimators and training-loop strategies.

* :class:`Sparsifier` (scikit-learn's estimator contract): ``__init__`` stores hyper-parameters
  and nothing else; :meth:`~Sparsifier.get_params` / :meth:`~Sparsifier.set_params` (so that
  ``sklearn.base.clone`` works); constraints declared once per class in
  ``_parameter_constraints`` and checked by ``fit`` with one message format; ``fit(data)``
  returns the estimator and sets ``scores_`` (one per item of the input, higher is more worth
  keeping) and ``mask_`` (the items kept); ``transform`` applies the mask; use before ``fit``
  raises :class:`~sparsebox.exceptions.NotFittedError` naming the call to make.
* :class:`StreamingSparsifier` adds ``update(batch)`` and ``state_dict`` /
  ``load_state_dict``: everything a durable stream needs to stop and resume.
* :class:`Strategy` (gsplat's training-loop strategy): a dataclass of hyper-parameters, hooks
  the user's loop calls, and a typed :class:`StrategyState` that is checkpointed with
  ``state_dict``.

One sizing vocabulary: ``keep_ratio`` (the fraction kept), ``budget`` (an exact count) and, for
graphs, ``density`` (kept edges per node), resolved by :func:`sparsebox.select.resolve_budget`.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import numbers
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from typing import Any, ClassVar, TypeVar

import numpy as np

from sparsebox._validation import Interval, validate_params
from sparsebox.exceptions import DensityCapWarning, InvalidParameterError, NotFittedError
from sparsebox.outputs import counted
from sparsebox.select import check_budget_fits, resolve_budget
from sparsebox.structure import SparseStructure, as_structure

__all__ = ["Sparsifier", "StreamingSparsifier", "Strategy", "StrategyState", "SIZING_CONSTRAINTS",
           "with_gradients"]

#: The constraints of the three sizing parameters, shared by every estimator that takes them.
SIZING_CONSTRAINTS: dict[str, list] = {
    "keep_ratio": [Interval(numbers.Real, 0, 1, closed="right"), None],
    "budget": [Interval(numbers.Integral, 1, None, closed="left"), None],  # as keep_ratio > 0
    "density": [Interval(numbers.Real, 0, None, closed="neither"), None],
}


class Sparsifier:
    """Base class of every method that scores items and keeps some of them.

    Subclasses set the class attributes, list their hyper-parameters as keyword arguments of
    ``__init__`` (stored under the same names, unchanged), and implement ``fit(data)``, which
    starts with ``self._validate_params()`` and ends by setting ``scores_`` and ``mask_``. A
    method whose ``fit`` takes only its data also takes scikit-learn's ``y=None`` second (and
    ignores it), as a pipeline passes it.

    Class attributes
    ----------------
    item : str
        What one entry of ``mask_`` stands for (``"edge"``, ``"gaussian"``, ``"point"``...).
    sizing : tuple of str
        The sizing parameters the estimator takes, among ``keep_ratio``, ``budget`` and
        ``density``; at most one may be given (none: ``default_size`` applies).
    default_size : tuple (name, value) or None
        The size used when no sizing parameter is given; None makes one required, unless
        ``size_optional``.
    size_optional : bool
        With no sizing parameter the method sizes itself (HollowNeRF: a saliency threshold).
    size_alternatives : tuple of str
        Parameters that size the result another way (a score threshold, a voxel edge): given
        together with a sizing parameter, they are an error naming both.
    """

    item: ClassVar[str] = "item"
    sizing: ClassVar[tuple[str, ...]] = ()
    default_size: ClassVar[tuple[str, float] | None] = None
    size_optional: ClassVar[bool] = False
    size_alternatives: ClassVar[tuple[str, ...]] = ()
    _parameter_constraints: ClassVar[dict[str, list]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Check a method's declaration once, when its class is made: what a method author gets
        wrong there would otherwise fail later as a bare ``KeyError`` in ``fit``."""
        super().__init_subclass__(**kwargs)
        known = tuple(SIZING_CONSTRAINTS)
        params = cls._get_param_names()
        for name in cls.sizing:
            if name not in known:
                raise TypeError(f"{cls.__name__}.sizing names {name!r}; sizing parameters are "
                                f"{', '.join(known)}")
            if name not in params:
                raise TypeError(f"{cls.__name__}.sizing names {name!r}, which "
                                f"{cls.__name__}.__init__ does not take")
        if cls.default_size is not None and cls.default_size[0] not in cls.sizing:
            raise TypeError(f"{cls.__name__}.default_size sizes by {cls.default_size[0]!r}, which "
                            f"is not in its sizing {cls.sizing}")

    # ------------------------------------------------------------------ parameters
    @classmethod
    def _get_param_names(cls) -> list[str]:
        init = cls.__init__
        if init is object.__init__:
            return []
        params = inspect.signature(init).parameters.values()
        for p in params:
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                raise TypeError(f"{cls.__name__}.__init__ must not take *args or **kwargs")
        return sorted(p.name for p in params if p.name != "self")

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The hyper-parameters, by name (``deep`` is accepted for scikit-learn and ignored:
        no parameter is itself an estimator)."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params: Any) -> Sparsifier:
        """Set hyper-parameters by name; an unknown name is an error that lists the valid ones,
        and then none of them is set."""
        self._refuse_unknown_params(params)
        for name, value in params.items():
            setattr(self, name, value)
        return self

    @classmethod
    def _refuse_unknown_params(cls, names: Iterable[str]) -> None:
        """An error that lists the valid parameters where ``names`` holds one ``cls`` does not
        take (:meth:`set_params`, and :meth:`sparsebox.registry.MethodEntry.create`)."""
        valid = cls._get_param_names()
        unknown = [name for name in names if name not in valid]
        if unknown:
            raise InvalidParameterError(
                f"{cls.__name__} has no parameter {unknown[0]!r}; valid: {', '.join(valid)}")

    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters
                    .values() if p.name != "self"}
        shown = [f"{k}={v!r}" for k, v in self.get_params().items()
                 if not _same(v, defaults.get(k, inspect.Parameter.empty))]
        return f"{type(self).__name__}({', '.join(shown)})"

    def _validate_params(self, overrides: Mapping[str, Any] | None = None) -> None:
        """Check the declared constraints (the sizing ones included) and that at most one sizing
        parameter is given; the message names the parameter. ``overrides`` replace parameter
        values for the check (a deprecated alias resolved to its new name)."""
        params = {**self.get_params(), **(overrides or {})}
        constraints = {**{k: v for k, v in SIZING_CONSTRAINTS.items() if k in self.sizing},
                       **self._parameter_constraints}
        validate_params(params, constraints)
        given = [name for name in self.sizing if params.get(name) is not None]
        if len(given) > 1:
            raise InvalidParameterError(
                f"give one of {', '.join(self.sizing)}, not several; got {', '.join(given)}",
                params=tuple(given))
        if not given and self.default_size is None and self.sizing and not self.size_optional:
            raise InvalidParameterError(f"give one of {', '.join(self.sizing)}")
        for other in self.size_alternatives:
            if params.get(other) is not None and given:
                raise InvalidParameterError(
                    f"give {other} or a size ({', '.join(self.sizing)}), not both",
                    params=(other, *given))

    def _sizing_in_use(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """``{name: value}`` of the sizing parameter that applies (the given one, or the
        default)."""
        params = {**self.get_params(), **(overrides or {})}
        sizes = {name: params[name] for name in self.sizing if params[name] is not None}
        if not sizes and self.default_size is not None:
            sizes = dict([self.default_size])
        return sizes

    def _size(self, num_items: int, *, num_nodes: int | None = None,
              num_loops: int | None = None, overrides: Mapping[str, Any] | None = None) -> int:
        """The exact number of items to keep, from the one sizing parameter given (or the
        class's default). A keep ratio that rounds to nothing of a non-empty input is refused.
        ``num_loops``: a graph's self-loops, kept apart from its ``num_items`` edges; a budget
        above those edges is refused saying so (:func:`~sparsebox.select.check_budget_fits`)."""
        sizes = self._sizing_in_use(overrides)
        if num_loops is not None:
            check_budget_fits(sizes.get("budget"), num_items, num_loops)
        count = resolve_budget(num_items, num_nodes=num_nodes, **sizes)
        (name, value), = sizes.items()
        given = {**self.get_params(), **(overrides or {})}.get(name) is not None
        if name == "density" and given and count == num_items and num_items and num_nodes:
            asked = resolve_budget(2**62, density=value, num_nodes=num_nodes)  # not capped
            if asked > num_items:  # a budget above the edges is refused; a density is capped
                warnings.warn(f"density {float(value):g} asks for {asked:,} edges, more than the "
                              f"graph's {num_items:,} (its own density is "
                              f"{num_items / num_nodes:.2f}): every edge is kept",
                              DensityCapWarning, stacklevel=3)
        if count == 0 and num_items > 0 and name != "budget":
            raise InvalidParameterError(
                f"{name} {float(value):g}{'' if given else ' (the default)'} keeps none of the "
                f"{counted(num_items, self.item)}; give a larger one")
        return count

    # ------------------------------------------------------------------ fitted state
    def _check_fitted(self) -> None:
        if not hasattr(self, "mask_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet: call "
                                 f"fit(...) before using it")

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "mask_")

    def __sklearn_tags__(self) -> Any:
        """What scikit-learn (1.6 and later) asks of an estimator before ``check_is_fitted``
        or its HTML repr: a transformer with no target that checks its own input."""
        from sklearn.utils import Tags, TargetTags, TransformerTags

        return Tags(estimator_type=None, target_tags=TargetTags(required=False),
                    transformer_tags=TransformerTags(), no_validation=True)

    def fit(self, data: Any, *args: Any, **kwargs: Any) -> Sparsifier:  # pragma: no cover
        raise NotImplementedError

    def _apply(self, data: Any) -> Any:
        """``data`` without the items ``mask_`` drops; by default ``data.subset(mask_)`` (scenes,
        point clouds), ``data.subgraph(mask_)`` (structures), and for an edge method any graph
        :func:`~sparsebox.as_structure` takes, as a structure."""
        if self.item == "edge":  # (networkx graphs have a subgraph too: of nodes)
            return as_structure(data, name="graph").subgraph(self.mask_)
        for name in ("subgraph", "subset"):
            if hasattr(data, name):
                return getattr(data, name)(self.mask_)
        return np.asarray(data)[self.mask_]

    def _num_items(self, data: Any) -> int:
        """How many items ``data`` holds: its edges for an edge method (any graph form), else
        ``len(data)``."""
        return self._edge_structure_once(data).num_items if self.item == "edge" else len(data)

    def _edge_structure_once(self, data: Any) -> SparseStructure:
        """``_edge_structure(data)``, made once per ``transform`` (its count and its digest read
        one conversion: on a 1M-edge edge_index a conversion takes seconds)."""
        memo = self.__dict__.get("_transform_memo")
        if memo is not None and memo[0] is data:
            return memo[1]
        structure = self._edge_structure(data)
        if memo is not None:  # inside transform
            self._transform_memo = (data, structure)
        return structure

    def _edge_structure(self, graph: Any) -> SparseStructure:
        """The edges an edge method's ``fit`` reads of ``graph`` (by default
        :func:`~sparsebox.as_structure`'s)."""
        return as_structure(graph, name="graph")

    #: whether ``fit`` reads the edges' weights (a spectral method): ``transform`` then refuses
    #: the same edges with other weights, for which the mask was not chosen
    fit_reads_weights: bool = False

    def _fitted_on(self, graph: SparseStructure) -> None:
        """Remember which edges ``fit`` read (and their weights, where it reads them), for
        ``transform`` to refuse another graph of as many edges (the mask would keep its edges by
        position: others than the scores chose)."""
        self._fitted_edges = _edges_digest(graph, weights=self.fit_reads_weights)
        self._fitted_weights = self.fit_reads_weights  # (an estimator pickled before: without)

    def _other_than_fitted(self, data: Any, n: int) -> str | None:
        """Why ``data``, of as many items (``n``) as ``fit`` saw, is not what it saw (the mask
        keeps items by position: others than the scores chose), or None where it is or the
        method keeps no digest. Here an edge method's: the edges ``fit`` read, in order, and
        their weights where it reads them (:meth:`_fitted_on`)."""
        fitted = getattr(self, "_fitted_edges", None)
        weights = getattr(self, "_fitted_weights", False)
        if fitted is None or _edges_digest(self._edge_structure_once(data),
                                           weights=weights) == fitted:
            return None
        which = " or not of the same weights" if weights else ""
        return (f"transform got another graph than the one {type(self).__name__} was fitted on "
                f"(as many edges, {n}, but not the same ones{which}); call fit on it")

    def transform(self, data: Any) -> Any:
        """The kept part of ``data``, which must have the items ``fit`` saw."""
        self._check_fitted()
        mask = self.mask_
        if not (isinstance(mask, np.ndarray) and mask.dtype == bool and mask.ndim == 1):
            raise TypeError(f"{type(self).__name__}.mask_ must be a one-dimensional boolean "
                            f"numpy array (one entry per {self.item}), got "
                            f"{getattr(mask, 'dtype', type(mask).__name__)} of shape "
                            f"{np.shape(mask)}")
        self._transform_memo = (_NOTHING, None)
        try:
            n = self._num_items(data)
            if n != mask.shape[0]:
                raise InvalidParameterError(
                    f"transform got {n} {self.item}s but {type(self).__name__} was fitted on "
                    f"{mask.shape[0]}")
            other = self._other_than_fitted(data, n)
            if other is not None:
                raise InvalidParameterError(other)
        finally:
            del self._transform_memo
        return self._apply(data)

    def fit_transform(self, data: Any, *args: Any, **kwargs: Any) -> Any:
        fitted = self.fit(data, *args, **kwargs)
        if fitted is not self or not hasattr(self, "mask_"):
            raise TypeError(f"{type(self).__name__}.fit must set mask_ (and scores_) and return "
                            "self")
        return self.transform(data)


#: no input yet (``None`` is an input: transform(None) must be refused as no graph)
_NOTHING = object()


def values_digest(arrays: Iterable[Any]) -> bytes:
    """A digest of numpy arrays or torch tensors (on any device), in order: their shapes and
    values, whatever their dtype (-0.0 as 0.0). What an estimator's ``transform`` compares with
    the digest of what ``fit`` saw: its mask keeps items by position, so other items of the same
    count (or the same ones edited in place) are another input.

    Examples
    --------
    >>> import torch
    >>> values_digest([np.array([1, 2])]) == values_digest([torch.tensor([1.0, 2.0])])
    True
    >>> values_digest([np.array([1, 2])]) == values_digest([np.array([2, 1])])
    False
    """
    digest = hashlib.blake2b(digest_size=16)
    for a in arrays:
        if hasattr(a, "detach"):  # a tensor
            a = a.detach().cpu().double().numpy()
        values = np.asarray(a, dtype=np.float64) + 0.0
        digest.update(repr(values.shape).encode())
        digest.update(np.ascontiguousarray(values).tobytes())
    return digest.digest()


def _edges_digest(graph: SparseStructure, *, weights: bool = False) -> bytes:
    """A digest of a graph's edges, in order, and with ``weights`` of their weights (not of
    isolated nodes past the last edge's: an ``edge_index`` without ``num_nodes`` names the same
    edges)."""
    return values_digest([graph.rows, graph.cols] + ([graph.weights] if weights else []))


def _same(a: Any, b: Any) -> bool:
    """Whether a value reads as the default, as scikit-learn's repr decides it (by ``repr``):
    ``hops=1.0``, ``seed=False`` or ``seed=torch.tensor(0)`` equal the defaults 1 and 0 but are
    not them (``fit`` refuses them), so the repr shows them."""
    return a is b or repr(a) == repr(b)


class StreamingSparsifier(Sparsifier):
    """A sparsifier kept up to date under updates (networkit's ``DynAlgorithm.updateBatch``).

    Subclasses implement ``update(batch)`` (one atomic batch: all of it or nothing) and
    ``state_dict()`` / ``load_state_dict(state)``: a fresh estimator with the same parameters
    that loads a state continues exactly as the one that saved it.
    """

    def update(self, batch: Any) -> Any:  # pragma: no cover
        raise NotImplementedError

    def partial_fit(self, batch: Any) -> StreamingSparsifier:
        """``update(batch)``, returning the estimator (scikit-learn's incremental name)."""
        self.update(batch)
        return self

    def state_dict(self) -> dict[str, Any]:  # pragma: no cover
        raise NotImplementedError

    def load_state_dict(self, state: Mapping[str, Any]) -> StreamingSparsifier:  # pragma: no cover
        raise NotImplementedError


@dataclasses.dataclass
class StrategyState(MutableMapping):
    """The changing part of a :class:`Strategy`: typed fields, and a mapping over them.

    Being a mapping lets gsplat's own ``ops`` (which slice every tensor in ``state`` when they
    remove or split Gaussians) work on it unchanged; :meth:`state_dict` is what a checkpoint
    holds.
    """

    def _names(self) -> list[str]:
        return [f.name for f in dataclasses.fields(self)]

    def __getitem__(self, key: str) -> Any:
        if key not in self._names():
            raise KeyError(key)
        return getattr(self, key)

    def __setitem__(self, key: str, value: Any) -> None:
        if key not in self._names():
            raise KeyError(f"{type(self).__name__} has no field {key!r}")
        setattr(self, key, value)

    def __delitem__(self, key: str) -> None:
        raise TypeError(f"{type(self).__name__} fields cannot be deleted")

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())

    def state_dict(self) -> dict[str, Any]:
        """A plain dict of the fields (tensors as they are; save it with ``torch.save``)."""
        return {name: getattr(self, name) for name in self._names()}

    def mismatched_keys(self, state: Mapping[str, Any]) -> tuple[list[str], list[Any]]:
        """The fields ``state`` lacks, and its keys that are no field (both sorted).

        Examples
        --------
        >>> @dataclasses.dataclass
        ... class Counts(StrategyState):
        ...     steps: int = 0
        >>> Counts().mismatched_keys({"step": 1})
        (['steps'], ['step'])
        """
        names = set(self._names())
        return sorted(names - set(state)), sorted(set(state) - names, key=str)

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Take the fields of ``state`` (:meth:`state_dict`'s); a state without one of them, or
        with a key that is none of them (another strategy's), is refused and nothing loaded."""
        if not isinstance(state, Mapping):
            raise InvalidParameterError(f"load_state_dict takes the dict state_dict() returned, "
                                        f"got {type(state).__name__}")
        missing, unknown = self.mismatched_keys(state)
        if missing:
            raise InvalidParameterError(f"state lacks {missing}")
        if unknown:  # (torch's load_state_dict refuses them too)
            raise InvalidParameterError(f"state has {unknown}, which {type(self).__name__} has "
                                        "no field for: load the state_dict() of the same strategy")
        for name in self._names():
            setattr(self, name, state[name])


@dataclasses.dataclass
class Strategy:
    """Base of the training-loop pruners: hyper-parameters are the dataclass's fields, what
    changes lives in the state :meth:`initialize_state` returns, and the user's loop calls the
    hooks (gsplat's ``Strategy`` protocol, so a splat strategy drops into a gsplat loop).
    """

    def check_sanity(self, params: Mapping[str, Any], optimizers: Mapping[str, Any]) -> None:
        """Every trainable parameter has its own optimizer with one parameter group (what
        removing rows from a parameter and its optimizer state together needs)."""
        trainable = {name for name, p in params.items() if getattr(p, "requires_grad", False)}
        if trainable != set(optimizers):
            raise InvalidParameterError(
                f"params and optimizers must have the same trainable keys, got {sorted(trainable)} "
                f"and {sorted(optimizers)}")
        for name, opt in optimizers.items():
            if len(opt.param_groups) != 1:
                raise InvalidParameterError(f"optimizer {name!r} must have exactly one parameter "
                                            f"group, got {len(opt.param_groups)}")

    def initialize_state(self, *args: Any, **kwargs: Any) -> StrategyState:  # pragma: no cover
        raise NotImplementedError

    def step_pre_backward(self, *args: Any, **kwargs: Any) -> None:
        """Called before ``loss.backward()``."""

    def step_post_backward(self, *args: Any, **kwargs: Any) -> Any:
        """Called after ``loss.backward()``."""


_Function = TypeVar("_Function", bound=Callable[..., Any])


def with_gradients(fn: _Function) -> _Function:
    """Run ``fn``, a training loop or a gradient-based score, with autograd on where its caller
    turned it off (``torch.no_grad()`` around evaluation code: backward had failed with torch's
    "element 0 of tensors does not require grad"); under ``torch.inference_mode()``, whose
    tensors autograd cannot record, refuse with one clear error.

    Examples
    --------
    >>> import torch
    >>> @with_gradients
    ... def grad_of_square(x):
    ...     x = x.clone().requires_grad_(True)
    ...     (x ** 2).sum().backward()
    ...     return x.grad
    >>> with torch.no_grad():
    ...     grad_of_square(torch.tensor([3.0])).tolist()
    [6.0]
    """
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import torch

        if torch.is_inference_mode_enabled():
            raise RuntimeError(f"{fn.__qualname__} computes gradients, which torch.inference_mode() "
                               "rules out: call it outside the inference_mode block (no_grad is "
                               "fine)")
        with torch.enable_grad():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
