"""``AutoSparse(dense)``: sparse Jacobians and Hessians through any dense backend.

Preparation (on the first kernel call, which ``prepare_*`` makes at the prepared point) asks the
sparsity detector for the pattern, colours it, and builds the seed matrix and the decompression
indices; every call then runs **one** batched pushforward (column colouring), pullback (row
colouring) or hvp (star / acyclic colouring) of the dense backend over the ``ncolors`` seeds, and
decompresses the ``(ncolors, dim)`` compressed matrix into a ``scipy.sparse.csr_array`` of shape
``(y.size, x.size)`` / ``(x.size, x.size)`` whose structure is the pattern (explicit zeros kept).

For finite differences a batched pushforward over the colours is Curtis–Powell–Reid: one
perturbation of ``x`` per colour.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .._backend_types import AbstractBackend, MixedMode
from .._errors import AnydiffValueError, UnsupportedError
from .._protocol import Adapter, FlatFunction, Kernel, Spec
from ._coloring import ColoringProblem, GreedyColoring, as_pattern, color

__all__ = ["AutoSparse", "GreedyColoring", "SparseAdapter"]


def _default_detector() -> Any:
    from ._detectors import TracerSparsityDetector

    return TracerSparsityDetector()


@dataclass(frozen=True)
class AutoSparse(AbstractBackend):
    """Sparse ``jacobian`` / ``hessian`` (and their value forms) through a dense backend.

    ``dense``: any backend (name or object), a ``SecondOrder`` pair for Hessians, or
    ``MixedMode(forward, reverse)`` for a bicoloured Jacobian (a few pushforwards of ``forward``
    plus a few pullbacks of ``reverse``; both must use the same array type).
    ``sparsity_detector``: ``TracerSparsityDetector()`` (default), ``DenseSparsityDetector(...)`` or
    ``KnownSparsity(pattern)``. ``coloring``: :class:`GreedyColoring`. ``partition``: ``"column"``
    (pushforwards) or ``"row"`` (pullbacks) for Jacobians; ``None`` picks from the dense backend's
    traits (column when its forward mode is fast and reverse is not, row in the opposite case, the
    one with fewer colours when both are fast; ties go to column). ``check``: at preparation,
    compute one dense Jacobian / Hessian with ``dense`` and raise ``ValueError`` if the pattern
    misses a non-zero of it (costs one dense derivative, once; use it with ``KnownSparsity`` or a
    local detector).

    Results are ``scipy.sparse.csr_array`` of shape ``(y.size, x.size)`` (Jacobian) or
    ``(x.size, x.size)`` (Hessian), whatever the array type of ``x`` (JAX and torch callers get a
    SciPy array too). The value parts (``y``, gradient) come back as for the dense backend.
    ``out=`` raises ``UnsupportedError`` (every call returns a new sparse array). ``output="jax"``
    returns ``jax.experimental.sparse.BCOO`` arrays instead, ``output="torch"`` torch sparse CSR
    tensors (same entries; one more copy of the ``nnz`` values per call).
    Preps expose ``sparsity``, ``colors``, ``ncolors``, ``coloring`` (``"column"``, ``"row"``,
    ``"bidirectional"``, ``"star"``, ``"acyclic"``), ``compressed`` (the compressed matrix of the last
    call; a pair (pushforward block, pullback block) when bidirectional) and ``coloring_result``.
    With ``GreedyColoring(postprocessing=True)`` (default) columns / rows / vertices that no entry is
    read from are in no seed: their colour in ``colors`` is ``-1``.

    Example:
        >>> import numpy as np, anydiff as ad
        >>> J = ad.jacobian(lambda x: x[1:] * x[:-1], ad.AutoSparse("engine"), np.arange(4.0))
        >>> J.shape, J.nnz
        ((3, 4), 6)
    """

    dense: Any
    sparsity_detector: Any = field(default_factory=_default_detector)
    coloring: GreedyColoring = field(default_factory=GreedyColoring)
    partition: str | None = None
    check: bool = False
    output: str = "scipy"
    name: ClassVar[str] = "sparse"

    def __post_init__(self) -> None:
        from .._registry import resolve

        if isinstance(self.dense, AutoSparse):
            raise AnydiffValueError("AutoSparse(AutoSparse(...)): pass the dense backend once.")
        object.__setattr__(self, "dense", resolve(self.dense))
        if not isinstance(self.coloring, GreedyColoring):
            raise AnydiffValueError(
                f"AutoSparse(coloring=...) must be a GreedyColoring, got {self.coloring!r}")
        from ._formats import check_format

        check_format(self.output)
        if self.partition not in (None, "column", "row"):
            raise AnydiffValueError(f"AutoSparse(partition=...) must be None, 'column' or 'row', "
                                    f"got {self.partition!r}")

    # Abilities are the dense backend's (properties: a __getattribute__ override would slow down
    # every attribute access, on every prepared call).
    forward_fast = property(lambda self: self.dense.forward_fast)
    reverse_fast = property(lambda self: self.dense.reverse_fast)
    inplace_function = property(lambda self: self.dense.inplace_function)
    mutation = property(lambda self: self.dense.mutation)
    complex_numbers = property(lambda self: self.dense.complex_numbers)
    plain_numpy = property(lambda self: self.dense.plain_numpy)
    extra = property(lambda self: self.dense.extra)


_PREP_ATTRIBUTES = ("sparsity", "colors", "ncolors", "coloring", "compressed", "coloring_result")


class _Plan:
    """Pattern and colouring of one preparation, shared by its plain and value kernels."""

    def __init__(self) -> None:
        self.result = None
        self.lock = threading.Lock()


class _SparseKernel:
    """``kernel(x, T, ctx)`` of a sparse jacobian / hessian; carries the prep attributes."""

    prep_attributes = _PREP_ATTRIBUTES

    def __init__(self, adapter: SparseAdapter, F: FlatFunction, spec: Spec, need_value: bool,
                 hessian: bool) -> None:
        self.adapter, self.F, self.spec = adapter, F, spec
        self.need_value, self.hessian = need_value, hessian
        plan = getattr(F, "_anydiff_sparse_plan", None)
        if plan is None:
            plan = _Plan()
            F._anydiff_sparse_plan = plan
        self.plan = plan
        self._compressed = None
        self._convert = None  # csr_array -> the requested output format (None: SciPy)
        self._inner: Kernel | None = None
        self._seeds = None

    # -- prep attributes ----------------------------------------------------------------------
    @property
    def compressed(self):
        """The compressed matrix of the last call (read-only; a pair when bidirectional)."""
        c = self._compressed
        if c is None:
            return None
        return tuple(map(_read_only, c)) if isinstance(c, tuple) else _read_only(c)

    @property
    def coloring_result(self):
        return self.plan.result

    @property
    def sparsity(self):
        r = self.plan.result
        return None if r is None else r.pattern

    @property
    def colors(self):
        """Colour per column / row / vertex; for bicolourings ``(column_colors, row_colors)``."""
        r = self.plan.result
        if r is None:
            return None
        return (r.column_colors, r.row_colors) if r.kind == "bidirectional" else r.colors

    @property
    def ncolors(self):
        r = self.plan.result
        return None if r is None else r.ncolors

    @property
    def coloring(self):
        r = self.plan.result
        return None if r is None else r.kind

    # -- preparation ----------------------------------------------------------------------------
    def _prepare(self, x: Any, ctx: tuple) -> None:
        plan = self.plan
        if plan.result is None:
            with plan.lock:
                if plan.result is None:
                    plan.result = self._color(x, ctx)
        r = plan.result
        dense = self.adapter.dense
        dt = self.spec.dtype
        if self.adapter.backend.output != "scipy":
            from ._formats import Converter

            self._convert = Converter(self.adapter.backend.output)
        if r.kind == "bidirectional":
            rev = self.adapter.reverse
            fwd_k = dense.make_pushforward(self.F, self.spec.with_batch(r.nforward), self.need_value)
            rev_k = rev.make_pullback(self.F, self.spec.with_batch(r.nreverse), False)
            self._seeds = (dense.asarray(r.column_seeds.astype(dt), dt),
                           rev.asarray(r.row_seeds.astype(dt), dt))
            self._inner = (fwd_k, rev_k)
            return
        seeds = dense.asarray(r.seed_matrix.astype(self.spec.dtype), self.spec.dtype)
        spec = self.spec.with_batch(r.ncolors)
        if self.hessian:
            inner = dense.make_hvp(self.F, spec, self.need_value)
        elif r.kind == "column":
            inner = dense.make_pushforward(self.F, spec, self.need_value)
        else:
            inner = dense.make_pullback(self.F, spec, self.need_value)
        self._seeds, self._inner = seeds, inner

    def _color(self, x: Any, ctx: tuple):
        from .._contexts import Cache, Constant

        sb = self.adapter.backend
        F = self.F
        if F.inplace_layout is not None:
            raise UnsupportedError("AutoSparse does not support the in-place form f(y, x) yet; "
                                   "use y = f(x).")
        dense = self.adapter.dense
        xt = F.x_layout.unravel(np.asarray(dense.to_numpy(x)).copy())
        roles = self.spec.ctx_roles
        contexts = tuple(
            (Cache if role == "cache" else Constant)(_numpy_or_same(dense, c)) for role, c in zip(roles, ctx)
        )
        n = F.n
        if self.hessian and self.adapter.reverse is not None:
            raise UnsupportedError("AutoSparse(MixedMode(...)) computes Jacobians only (bicolouring); "
                                   "for hessian pass one backend or a SecondOrder pair.")
        if self.hessian:
            pattern = sb.sparsity_detector.hessian_sparsity(F.f, xt, contexts)
            pattern = as_pattern(pattern, (n, n))
            if sb.check:
                self._check_pattern(pattern, x, ctx)
            return color(pattern, ColoringProblem("symmetric"), sb.coloring)
        pattern = as_pattern(sb.sparsity_detector.jacobian_sparsity(F.f, xt, contexts))
        if pattern.shape != (F.m, n):
            raise AnydiffValueError(f"the sparsity pattern has shape {pattern.shape}, but the Jacobian has "
                                    f"shape {(F.m, n)} (y.size, x.size)")
        if sb.check:
            self._check_pattern(pattern, x, ctx)
        out = F.out_layout
        if self.spec.dtype.kind != "c" and out is not None and out.dtype.kind == "c":
            # real x, complex y: a pullback gives only Re(J^H w), which loses Im J; rows of J
            # cannot be read from pullbacks, so the columns are (pushforwards J t are complex).
            return color(pattern, ColoringProblem("nonsymmetric", "column"), sb.coloring)
        if self.adapter.reverse is not None:
            from ._bicoloring import bicolor

            return bicolor(pattern, sb.coloring)
        partition = sb.partition
        if partition is None:
            fwd, rev = sb.dense.forward_fast, sb.dense.reverse_fast
            mode = getattr(sb.dense, "mode", None)
            if mode in ("forward", "reverse"):  # a backend told which mode to use (AutoJax(mode=...))
                fwd, rev = mode == "forward", mode == "reverse"
            if fwd and rev:
                col = color(pattern, ColoringProblem("nonsymmetric", "column"), sb.coloring)
                row = color(pattern, ColoringProblem("nonsymmetric", "row"), sb.coloring)
                return row if row.ncolors < col.ncolors else col
            partition = "row" if rev and not fwd else "column"
        return color(pattern, ColoringProblem("nonsymmetric", partition), sb.coloring)

    def _check_pattern(self, pattern, x: Any, ctx: tuple) -> None:
        """Raise if ``pattern`` misses a non-zero of the dense derivative at ``x`` (``check=True``)."""
        dense = self.adapter.dense
        spec = self.spec
        if self.hessian:
            full = dense.make_hessian(self.F, spec, False)(x, None, ctx)[2]
        else:
            full = dense.make_jacobian(self.F, spec, False)(x, None, ctx)[1]
        full = np.asarray(dense.to_numpy(full)).reshape(pattern.shape)
        missing = (full != 0) & ~pattern.toarray()
        if missing.any():
            where = [tuple(int(v) for v in ij) for ij in np.argwhere(missing)[:5]]
            raise AnydiffValueError(
                f"the sparsity pattern misses {int(missing.sum())} non-zero(s) of the dense "
                f"{'Hessian' if self.hessian else 'Jacobian'} at the prepared point, e.g. at {where}; "
                "the sparse result would silently drop them. Fix the KnownSparsity pattern or use "
                "TracerSparsityDetector()."
            )

    # -- call -------------------------------------------------------------------------------------
    def __call__(self, x: Any, T: Any, ctx: tuple) -> tuple:
        if self._inner is None:
            self._prepare(x, ctx)
        r = self.plan.result
        dense = self.adapter.dense
        if r.kind == "bidirectional":
            return self._call_bidirectional(r, x, ctx)
        if r.ncolors == 0:
            first, b = self._value(x, ctx), np.zeros((0, r.compressed_dim), dtype=self.spec.dtype)
        else:
            first, out = self._inner(x, self._seeds, ctx)
            b = np.asarray(dense.to_numpy(out))
            if r.kind == "row" and np.iscomplexobj(b):
                b = b.conj()  # pullbacks give J^H w: the compressed rows are conj(w^T J)
        matrix = r.decompress(b)
        if self._convert is not None:
            matrix = self._convert(matrix)
        self._compressed = b  # read-only views are made when asked for (prep.compressed)
        if not self.hessian:
            return (first if self.need_value else None, matrix)
        if not self.need_value:
            return (None, None, matrix)
        # The hvp kernel gives the gradient; y costs one more evaluation of f.
        y = self.adapter.guarded(self.F, lambda: self.F(x, *ctx))
        return (y, first, matrix)

    def _call_bidirectional(self, r, x: Any, ctx: tuple) -> tuple:
        m, n = r.shape
        fwd_k, rev_k = self._inner
        sf, sr = self._seeds
        first, bf = None, np.zeros((0, m), dtype=self.spec.dtype)
        if r.nforward:
            first, out = fwd_k(x, sf, ctx)
            bf = np.asarray(self.adapter.dense.to_numpy(out))
        br = np.zeros((0, n), dtype=bf.dtype)
        if r.nreverse:
            br = np.asarray(self.adapter.reverse.to_numpy(rev_k(x, sr, ctx)[1]))
            if np.iscomplexobj(br):
                br = br.conj()  # pullbacks give J^H w
        if first is None and self.need_value:
            first = self.F(x, *ctx)
        self._compressed = (bf, br)
        matrix = r.decompress(bf, br)
        if self._convert is not None:
            matrix = self._convert(matrix)
        return (first if self.need_value else None, matrix)

    def _value(self, x: Any, ctx: tuple) -> Any:
        if not self.need_value:
            return None
        if self.hessian:
            g = self.adapter.dense.make_gradient(self.F, self.spec, False)
            return g(x, None, ctx)[1]
        return self.F(x, *ctx)


def _read_only(a: np.ndarray) -> np.ndarray:
    """A read-only view: ``prep.compressed`` must not be a writable alias of the kernel's state."""
    v = a.view()
    v.flags.writeable = False
    return v


def _numpy_or_same(dense: Adapter, value: Any) -> Any:
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        try:
            return np.asarray(dense.to_numpy(value))
        except Exception:  # noqa: BLE001 - non-array objects pass through
            return value
    return value


class SparseAdapter(Adapter):
    """Runs ``AutoSparse(dense)``: jacobian / hessian only, via the dense adapter's batched kernels."""

    #: results of jacobian / hessian are scipy.sparse arrays: no hot path, no dense conversion.
    sparse_results = True
    compile_on_prepare = True
    jacobian_needs_output = True

    def __init__(self, backend: AutoSparse, dense: Adapter, reverse: Adapter | None = None) -> None:
        super().__init__(backend)
        self.dense = dense
        self.reverse = reverse  # MixedMode: the pullback backend (dense runs the pushforwards)
        for attr in ("native_kind", "accepts", "kernels_accept_numpy"):
            setattr(self, attr, getattr(dense, attr))

    @classmethod
    def create(cls, backend: AutoSparse, get_adapter) -> SparseAdapter:
        """The adapter of ``backend``, its dense adapter(s) from the registry's ``get_adapter``."""
        dense = backend.dense
        if isinstance(dense, MixedMode):
            fwd, rev = get_adapter(dense.forward), get_adapter(dense.reverse)
            if fwd.native_kind != rev.native_kind:
                raise UnsupportedError(
                    f"AutoSparse(MixedMode({dense.forward!r}, {dense.reverse!r})): both backends must "
                    f"use the same array type (got {fwd.native_kind!r} and {rev.native_kind!r}); e.g. "
                    "MixedMode(AutoEngine('forward'), AutoEngine('reverse')) or two AutoJax modes."
                )
            return cls(backend, fwd, rev)
        return cls(backend, get_adapter(dense))

    def __getattr__(self, item: str) -> Any:
        return getattr(self.__dict__["dense"], item)

    # Arrays, evaluation and errors are the dense adapter's.
    def asarray(self, a: Any, dtype: np.dtype | None = None) -> Any:
        return self.dense.asarray(a, dtype)

    def to_numpy(self, a: Any) -> np.ndarray:
        return self.dense.to_numpy(a)

    def scalar(self, value: Any, like: Any) -> Any:
        return self.dense.scalar(value, like)

    def concat(self, arrays: list[Any], axis: int = 0) -> Any:
        return self.dense.concat(arrays, axis)

    def stack(self, arrays: list[Any]) -> Any:
        return self.dense.stack(arrays)

    def eye(self, n: int, dtype: np.dtype) -> Any:
        return self.dense.eye(n, dtype)

    def ones(self, shape: tuple[int, ...], dtype: np.dtype) -> Any:
        return self.dense.ones(shape, dtype)

    def output_buffer(self, shape: tuple[int, ...], dtype: np.dtype) -> Any:
        return self.dense.output_buffer(shape, dtype)

    def context(self, role: str, value: Any) -> Any:
        return self.dense.context(role, value)

    def evaluate(self, F: FlatFunction, x: Any, ctx: tuple) -> Any:
        return self.dense.evaluate(F, x, ctx)

    def translate_error(self, exc: BaseException, F: FlatFunction):
        return self.dense.translate_error(exc, F)

    # -- operators ----------------------------------------------------------------------------
    def make_jacobian(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        return _SparseKernel(self, F, spec, need_value, hessian=False)

    def make_hessian(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        return _SparseKernel(self, F, spec, need_value, hessian=True)

    def _unsupported(self, name: str) -> Kernel:
        raise UnsupportedError(
            f"AutoSparse computes sparse jacobian / value_and_jacobian and hessian / "
            f"value_gradient_and_hessian only, not {name}; call {name} with the dense backend "
            f"{self.backend.dense!r} instead."
        )

    def make_pushforward(self, F, spec, need_value):
        return self._unsupported("pushforward")

    def make_pullback(self, F, spec, need_value):
        return self._unsupported("pullback")

    def make_derivative(self, F, spec, need_value):
        return self._unsupported("derivative")

    def make_gradient(self, F, spec, need_value):
        return self._unsupported("gradient")

    def make_hvp(self, F, spec, need_value):
        return self._unsupported("hvp")

    def make_second_derivative(self, F, spec, need_value):
        return self._unsupported("second_derivative")

    def make_pushforward_same_point(self, F, spec, need_value, x, ctx):
        return self._unsupported("pushforward")

    def make_pullback_same_point(self, F, spec, need_value, x, ctx):
        return self._unsupported("pullback")

    def make_hvp_same_point(self, F, spec, need_value, x, ctx):
        return self._unsupported("hvp")
