"""Every method by name and by the kind of item it prunes.

A domain package declares its methods in one light module (no heavy imports) that calls
:func:`register` with the class's import path; the module is named in the package's entry points
(group ``sparsebox.methods`` in ``pyproject.toml``), so the core finds every method without
importing a domain, and a class is imported only when a method is used. The command line's
``--method`` / ``--score`` choices, the demo, the README's table of methods and the common contract
test are all built from here.

Examples
--------
>>> entry = get_method("teddy", item="edge")
>>> entry.item, entry.target
('edge', 'graphsparse.teddy:TeddyPruner')
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sparsebox.exceptions import InvalidParameterError

__all__ = ["ITEM_KINDS", "DATA_KINDS", "MethodEntry", "register", "methods", "get_method",
           "methods_markdown"]

ENTRY_POINT_GROUP = "sparsebox.methods"

#: What a method can prune, one entry of its mask each.
ITEM_KINDS = ("edge", "weight", "gaussian", "point", "token", "head", "layer", "hash cell",
              "residual")

#: What ``fit`` takes, by data kind (the contract test builds a small one of each).
DATA_KINDS = {
    "graph": "a graph (anything sparsebox.as_structure takes)",
    "node-graph": "a PyG Data with node features, labels and train/val/test masks",
    "edge-stream": "a graph, then batches of edge insertions and deletions",
    "splats": "a Gaussian-splat scene (scenesparse.GaussianScene) and cameras",
    "splat-frames": "a Gaussian-splat scene (frame t-1), cameras, and the photos of frames t "
                    "and t-1 from them",
    "points": "an (N, 3) array of point positions",
    "molecules": "a list of PyG Data molecules with ogb atom and bond features and labels",
    "nerf-views": "posed photos of a scene (scenesparse.photos.PhotoViews)",
}


@dataclass(frozen=True)
class MethodEntry:
    """One registered method.

    Attributes
    ----------
    name : str
        Unique among the methods of its item kind.
    item : str
        One of :data:`ITEM_KINDS`.
    target : str
        ``"package.module:Class"``; the class follows :class:`sparsebox.base.Sparsifier`.
    summary : str
        One line for tables and ``--help``.
    data : str
        One of :data:`DATA_KINDS`: what ``fit`` takes.
    params : mapping
        Hyper-parameters that make this method out of the class (for instance one class, several
        scores); read-only (a change made through one ``get_method`` had made every later
        ``create()`` another method).
    streaming : bool
        The class is a :class:`sparsebox.base.StreamingSparsifier`.
    reference : str
        The paper or tool it follows.
    """

    name: str
    item: str
    target: str
    summary: str
    data: str
    params: Mapping[str, Any] = field(default_factory=dict)
    streaming: bool = False
    reference: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", _ReadOnlyParams(self.params))

    def load(self) -> type:
        """The class (imported now)."""
        module, _, attr = self.target.partition(":")
        return getattr(importlib.import_module(module), attr)

    def create(self, **params: Any) -> Any:
        """An instance: this entry's parameters, then ``params``; a name the method does not take
        is an error that lists those it does (Python's own named only the first)."""
        cls = self.load()
        if hasattr(cls, "_refuse_unknown_params"):  # a Sparsifier (every registered method)
            try:
                cls._refuse_unknown_params(self.params)
            except InvalidParameterError as err:  # the entry's fault, not the caller's
                raise InvalidParameterError(f"the registered {self.item} method {self.name!r} "
                                            f"({self.target}) is broken: {err}") from None
            cls._refuse_unknown_params(params)
        defining = sorted(name for name in params if name in self.params
                          and not _same_value(params[name], self.params[name]))
        if defining:  # create(score="opacity") of "lightgaussian" had made another method
            own = ", ".join(f"{k}={self.params[k]!r}" for k in defining)
            given = ", ".join(f"{k}={params[k]!r}" for k in defining)
            raise InvalidParameterError(
                f"the {self.item} method {self.name!r} is {cls.__name__} with {own}: {given} "
                "would make another method; get that one by its own name (`sparsebox methods`), "
                f"or make {cls.__name__} directly", params=tuple(defining))
        return cls(**{**self.params, **params})


class _ReadOnlyParams(dict):
    """A registered method's parameters: a dict (JSON, ``dataclasses.asdict``, pickle and copies
    take it as one) that refuses changes."""

    def _refuse(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("a registered method's params are read-only: give other values to "
                        "create(...)")

    __setitem__ = __delitem__ = __ior__ = clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self) -> tuple:
        return (type(self), (dict(self),))

    def __deepcopy__(self, memo: dict) -> _ReadOnlyParams:
        import copy

        return type(self)(copy.deepcopy(dict(self), memo))


_REGISTRY: dict[tuple[str, str], MethodEntry] = {}
_LOADED = False
_LOADING = False  # the entry points' modules are being imported (they call register)


def _same_value(given: Any, own: Any) -> bool:
    """Whether a parameter given to :meth:`MethodEntry.create` is the entry's own value (an array
    compared whole, not refused as ambiguous)."""
    import numpy as np

    try:
        return bool(np.all(given == own)) and np.shape(given) == np.shape(own)
    except (TypeError, ValueError):
        return False


def register(name: str, *, item: str, target: str, summary: str, data: str,
             params: Mapping[str, Any] | None = None, streaming: bool = False,
             reference: str = "") -> MethodEntry:
    """Add a method; a second method of the same name and item kind is an error.

    The installed methods are registered first (a call from outside the entry points loads
    them), so a name one of them holds is refused here, not when they load later."""
    if not _LOADING:
        _load_entry_points()
    if not isinstance(name, str) or not name.strip():
        raise InvalidParameterError(f"name must be a non-empty string, got {name!r}")
    if item not in ITEM_KINDS:
        raise InvalidParameterError(f"item must be one of {ITEM_KINDS}, got {item!r}")
    if data not in DATA_KINDS:
        raise InvalidParameterError(f"data must be one of {tuple(DATA_KINDS)}, got {data!r}")
    if ":" not in target:
        raise InvalidParameterError(f"target must be 'module:Class', got {target!r}")
    key = (item, name)
    entry = MethodEntry(name, item, target, summary, data, params or {}, streaming, reference)
    if key in _REGISTRY and _REGISTRY[key] != entry:
        raise InvalidParameterError(f"{'an' if item[0] in 'aeiou' else 'a'} {item} method named "
                                    f"{name!r} is registered already")
    _REGISTRY[key] = entry
    return entry


def _load_entry_points() -> None:
    global _LOADED, _LOADING
    if _LOADED or _LOADING:
        return
    import warnings
    from importlib.metadata import entry_points

    # sparsebox's own domains first: a plugin cannot take a built-in method's name from them
    ours = ("graphsparse.", "scenesparse.", "sparsebox.")
    _LOADING = True
    try:
        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP),
                         key=lambda ep: not ep.value.startswith(ours)):
            before = dict(_REGISTRY)
            try:
                ep.load()  # the module registers its methods when imported
            except Exception as err:  # one broken plugin must not take every command down
                if ep.value.startswith(ours):
                    raise  # sparsebox's own: a broken install, not a plugin to skip
                _REGISTRY.clear()  # what it registered before failing goes with it
                _REGISTRY.update(before)
                warnings.warn(f"the sparsebox.methods plugin {ep.name} ({ep.value}) is skipped: "
                              f"it failed to load ({type(err).__name__}: {err})", stacklevel=3)
    finally:
        _LOADING = False
    _LOADED = True  # a skipped plugin is skipped once, not retried by every call


def methods(*, item: str | None = None, data: str | None = None) -> list[MethodEntry]:
    """The registered methods (of one item kind or data kind), in registration order."""
    if item is not None and item not in ITEM_KINDS:
        from sparsebox._validation import did_you_mean_among

        raise InvalidParameterError(f"item must be one of {', '.join(ITEM_KINDS)}, got "
                                    f"{item!r}{did_you_mean_among(str(item).lower(), ITEM_KINDS)}")
    if data is not None and data not in DATA_KINDS:
        raise InvalidParameterError(f"data must be one of {', '.join(DATA_KINDS)}, got {data!r}")
    _load_entry_points()
    return [e for e in _REGISTRY.values()
            if (item is None or e.item == item) and (data is None or e.data == data)]


def get_method(name: str, *, item: str | None = None) -> MethodEntry:
    """The method of that name (and item kind, where names repeat across kinds)."""
    found = [e for e in methods(item=item) if e.name == name]
    if len(found) == 1:
        return found[0]
    if not found:
        known = sorted({e.name for e in methods(item=item)})
        what = f"{item} method" if item else "method"
        raise InvalidParameterError(f"unknown {what} {name!r}; known: {', '.join(known)}")
    kinds = ", ".join(e.item for e in found)
    raise InvalidParameterError(f"method {name!r} exists for several item kinds ({kinds}); "
                                "pass item=")


def methods_markdown(item: str | None = None) -> str:
    """The README's table of methods (only those that prune ``item``, as :func:`methods`).

    Examples
    --------
    >>> import graphsparse, scenesparse  # noqa: F401  (they register their methods)
    >>> rows = methods_markdown("point").splitlines()
    >>> rows[0], all(" | point | " in row for row in rows[2:])
    ('| method | prunes | class | what |', True)
    """
    rows = ["| method | prunes | class | what |", "|---|---|---|---|"]
    for e in sorted(methods(item=item), key=lambda e: (ITEM_KINDS.index(e.item), e.name)):
        cls = e.target.replace(":", ".")
        params = ", ".join(f"{k}={v!r}" for k, v in e.params.items())
        call = f"`{cls}({params})`"
        rows.append(f"| `{e.name}` | {e.item} | {call} | {e.summary} |")
    return "\n".join(rows) + "\n"
