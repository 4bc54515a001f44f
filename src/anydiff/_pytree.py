"""A minimal pytree: nested dict / list / tuple / namedtuple containers of array leaves.

anydiff flattens every pytree ``x`` (and ``y``) into one flat vector before a backend sees it,
so adapters only ever differentiate ``R^n -> R^m`` functions. ``TreeDef`` is hashable and
compares equal for equal structures, which preparation checks rely on.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TreeDef:
    """Structure of a pytree: ``kind`` is ``leaf``, ``dict``, ``list``, ``tuple`` or a namedtuple
    class; ``keys`` are dict keys (sorted, like JAX); ``children`` the sub-structures."""

    kind: Any
    keys: tuple = ()
    children: tuple[TreeDef, ...] = ()

    @property
    def is_leaf(self) -> bool:
        return self.kind == "leaf"

    @property
    def num_leaves(self) -> int:
        return 1 if self.is_leaf else sum(c.num_leaves for c in self.children)

    def __str__(self) -> str:
        if self.is_leaf:
            return "*"
        inner = ", ".join(str(c) for c in self.children)
        if self.kind == "dict":
            return "{" + ", ".join(f"{k!r}: {c}" for k, c in zip(self.keys, self.children)) + "}"
        if self.kind == "list":
            return f"[{inner}]"
        if self.kind == "tuple":
            return f"({inner}{',' if len(self.children) == 1 else ''})"
        return f"{self.kind.__name__}({inner})"


LEAF = TreeDef("leaf")


def _is_namedtuple(obj: Any) -> bool:
    return isinstance(obj, tuple) and hasattr(type(obj), "_fields")


def tree_flatten(tree: Any) -> tuple[list[Any], TreeDef]:
    """Leaves in a fixed order (dict keys sorted) and the structure to rebuild the tree."""
    leaves: list[Any] = []
    treedef = _flatten(tree, leaves)
    return leaves, treedef


def _flatten(tree: Any, leaves: list[Any]) -> TreeDef:
    if isinstance(tree, OrderedDict):
        # An OrderedDict keeps its type and its order (as in JAX): results zipped with the
        # caller's values must line up.
        keys = tuple(tree)
        return TreeDef(type(tree), keys, tuple(_flatten(tree[k], leaves) for k in keys))
    if isinstance(tree, dict):
        keys = tuple(sorted(tree, key=repr)) if not _sortable(tree) else tuple(sorted(tree))
        return TreeDef("dict", keys, tuple(_flatten(tree[k], leaves) for k in keys))
    if _is_namedtuple(tree):
        return TreeDef(type(tree), (), tuple(_flatten(c, leaves) for c in tree))
    if isinstance(tree, (list, tuple)):
        kind = "list" if isinstance(tree, list) else "tuple"
        return TreeDef(kind, (), tuple(_flatten(c, leaves) for c in tree))
    leaves.append(tree)
    return LEAF


def _sortable(d: dict) -> bool:
    try:
        sorted(d)
        return True
    except TypeError:
        return False


def tree_unflatten(treedef: TreeDef, leaves: list[Any]) -> Any:
    """Inverse of :func:`tree_flatten`."""
    it = iter(leaves)
    return _unflatten(treedef, it)


def _unflatten(td: TreeDef, it: Any) -> Any:
    if td.is_leaf:
        return next(it)
    children = [_unflatten(c, it) for c in td.children]
    if td.kind == "dict":
        return dict(zip(td.keys, children))
    if td.kind == "list":
        return children
    if td.kind == "tuple":
        return tuple(children)
    if issubclass(td.kind, OrderedDict):
        return td.kind(zip(td.keys, children))
    return td.kind(*children)
