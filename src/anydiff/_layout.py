"""Layouts: how a pytree of arrays maps to one flat vector, and back.

Every operator works on ``f`` seen as a map between flat vectors; a ``Layout`` records the leaf
shapes, dtypes and kinds so results can be rebuilt in the caller's structure and array type.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from ._arrays import dtype_of, kind_of, shape_of
from ._pytree import TreeDef, tree_flatten, tree_unflatten


@dataclass(frozen=True)
class Layout:
    treedef: TreeDef
    shapes: tuple[tuple[int, ...], ...]
    dtypes: tuple[np.dtype, ...]
    kinds: tuple[str, ...]

    @classmethod
    def of(cls, tree: Any) -> Layout:
        leaves, td = tree_flatten(tree)
        return cls.of_leaves(td, leaves)

    @classmethod
    def of_leaves(cls, td: TreeDef, leaves: list[Any]) -> Layout:
        return cls(
            td,
            tuple(shape_of(a) for a in leaves),
            tuple(dtype_of(a) for a in leaves),
            tuple(kind_of(a) for a in leaves),
        )

    @property
    def single(self) -> bool:
        """One leaf and no container: results keep the leaf's own shape."""
        return self.treedef.is_leaf

    @cached_property
    def sizes(self) -> tuple[int, ...]:
        return tuple(int(np.prod(s, dtype=np.int64)) for s in self.shapes)

    @cached_property
    def offsets(self) -> tuple[int, ...]:
        return tuple(int(o) for o in np.cumsum((0,) + self.sizes[:-1]))

    @cached_property
    def size(self) -> int:
        return sum(self.sizes)

    @cached_property
    def dtype(self) -> np.dtype:
        """Common dtype of the flat vector."""
        return np.result_type(*self.dtypes) if self.dtypes else np.dtype(np.float64)

    @property
    def kind(self) -> str:
        """The caller's kind: that of the first array leaf (Python scalars count last)."""
        for k in self.kinds:
            if k != "python":
                return k
        return "python"

    def unravel(self, v: Any) -> Any:
        """Flat vector (any array type) -> pytree of views with the recorded shapes."""
        if self.single:
            shape = self.shapes[0]
            # Skip the no-op reshape: under AD transforms (torch.func) every op costs.
            return v if v.shape == shape else v.reshape(shape)
        leaves = [
            v[o : o + s].reshape(shape)
            for o, s, shape in zip(self.offsets, self.sizes, self.shapes)
        ]
        return tree_unflatten(self.treedef, leaves)

    def describe(self) -> str:
        leaves = [
            f"{k} {dt}[{','.join(map(str, sh))}]"
            for k, dt, sh in zip(self.kinds, self.dtypes, self.shapes)
        ]
        if self.single:
            return leaves[0]
        return f"{self.treedef} with leaves " + ", ".join(leaves)

    def same_shapes(self, other: Layout) -> bool:
        return self.treedef == other.treedef and self.shapes == other.shapes
