"""The host-independent half of the bridge: signatures, rules on flat NumPy vectors, caching.

Every host (JAX, torch, autograd, the engine) sees a bridged function as one operation on
*flat* vectors: ``x`` of shape ``(n,)`` and ``y`` of shape ``(m,)`` (the pytree leaves raveled
and concatenated in :func:`anydiff._pytree.tree_flatten` order, in one common dtype), with

* ``value(x) -> y``                              ``(n,) -> (m,)``
* ``pushforward(x, T) -> J T``                   ``(n,), (k, n) -> (k, m)``  (k stacked tangents)
* ``pullback(x, W) -> Jᴴ W``                     ``(n,), (k, m) -> (k, n)``
* ``hvp_w(x, w, V) -> (Σ_i w_i ∇²f_i) V``        ``(n,), (m,), (k, n) -> (k, n)``  (second order)

A :class:`Rule` turns those into calls of the user's pytree-valued function and rules and
checks every result against the expected shape, so that a host never sees a wrong shape.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._errors import AnydiffTypeError, AnydiffValueError, UnsupportedError
from .._pytree import TreeDef, tree_flatten, tree_unflatten

#: a rule with one mode only materialises the Jacobian from it when the number of rule calls
#: this takes (m pullbacks to get J for pushforwards, n pushforwards for pullbacks) is at most
#: this many; above, the missing mode raises UnsupportedError.
MATERIALIZE_LIMIT = 256


@dataclass(frozen=True)
class Signature:
    """Structure, leaf shapes and leaf dtypes of a pytree; ``dtype`` is the flat vector's."""

    treedef: TreeDef
    shapes: tuple[tuple[int, ...], ...]
    dtypes: tuple[str, ...]

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(int(np.prod(s, dtype=np.int64)) for s in self.shapes)

    @property
    def size(self) -> int:
        return sum(self.sizes)

    @property
    def dtype(self) -> np.dtype:
        return np.result_type(*[np.dtype(d) for d in self.dtypes]) if self.dtypes else np.dtype(float)

    def describe(self) -> str:
        return f"{self.treedef} with leaves " + ", ".join(
            f"{d}{list(s)}" for s, d in zip(self.shapes, self.dtypes)
        )

    # ---- NumPy flat <-> tree ------------------------------------------------------------
    def unflatten_np(self, v: np.ndarray) -> Any:
        """Flat ``(size,)`` vector -> pytree of NumPy leaves (each its own shape and dtype)."""
        leaves, start = [], 0
        for shape, dt, size in zip(self.shapes, self.dtypes, self.sizes):
            leaves.append(np.asarray(v[start:start + size]).reshape(shape).astype(dt, copy=False))
            start += size
        return tree_unflatten(self.treedef, leaves)

    def flatten_np(self, tree: Any, rule: str, zero_imag_ok: bool = False) -> np.ndarray:
        """Pytree result of ``rule`` -> flat vector, after checking structure, shapes, dtypes
        (``zero_imag_ok``: a complex result with zero imaginary part for a real leaf is taken
        as its real part)."""
        leaves, td = tree_flatten(tree)
        if td != self.treedef:
            raise AnydiffValueError(
                f"the {rule} returned a result of structure {td}; expected {self.describe()}"
            )
        flat = []
        for leaf, shape, dt in zip(leaves, self.shapes, self.dtypes):
            a = np.asarray(leaf)
            if a.shape != shape:
                raise AnydiffValueError(
                    f"the {rule} returned an array of shape {a.shape}; expected shape {shape} "
                    f"({self.describe()})"
                )
            want = np.dtype(dt)
            if zero_imag_ok and a.dtype.kind == "c" and want.kind == "f" and not np.any(a.imag):
                # J t of a real leaf in complex dtype (anydiff's pushforward of a real f with a
                # complex tangent): no information is dropped by keeping its real part
                a = a.real
            # a float64 result for a float32 leaf is cast (NumPy rules promote easily); a kind
            # change (complex for real, integers, objects) would drop or invent information
            if a.dtype.kind != want.kind and not (a.dtype.kind in "iub" and want.kind in "fc"):
                raise AnydiffValueError(
                    f"the {rule} returned dtype {a.dtype} for a leaf of shape {shape}; expected "
                    f"{want} ({self.describe()})"
                )
            v = a.reshape(-1).astype(self.dtype, copy=False)
            if a.dtype.kind in "iu" and a.size and not np.array_equal(v.astype(a.dtype), a.reshape(-1)):
                # the flat vector is floating point: an integer above 2**53 (float64) would
                # come back rounded, a silently wrong value
                raise AnydiffValueError(
                    f"the {rule} returned integers ({a.dtype}, shape {shape}) that {self.dtype} "
                    "cannot hold exactly (magnitude above 2**53 for float64); a bridged function "
                    "passes its outputs as one floating-point vector. Return such values from "
                    "outside the bridged function."
                )
            flat.append(v)
        if not flat:
            return np.zeros(0, dtype=self.dtype)
        return np.concatenate(flat) if len(flat) > 1 else flat[0]


def signature_of(leaves: list[Any], treedef: TreeDef, dtype_of: Any) -> Signature:
    """The signature of flattened leaves (works on tracers: only shapes and dtypes are read)."""
    return Signature(
        treedef,
        tuple(tuple(int(d) for d in np.shape(a)) for a in leaves),
        tuple(str(dtype_of(a)) for a in leaves),
    )


def leaf_signature(rule_name: str, leaves: list[Any], treedef: TreeDef, dtype_of: Any) -> Signature:
    """:func:`signature_of` for the leaves a host passes to a bridged function, which must be
    floating point (``dtype_of``: the host's leaf -> NumPy dtype)."""
    for v in leaves:
        d = dtype_of(v)
        if d.kind not in "fc":
            # bfloat16 / float8 (ml_dtypes) are floating point, but not NumPy floats: rules and
            # backends compute in NumPy, so they are refused by name, with the fix
            extra = (f"; {d} is not a NumPy floating-point type: cast it (e.g. to float32) "
                     "before the call" if "float" in str(d) else "")
            raise AnydiffTypeError(
                f"{rule_name} (bridged by anydiff) needs floating-point leaves; got {d}{extra}"
            )
    return signature_of(leaves, treedef, dtype_of)


def output_signature(y: Any) -> Signature:
    """Signature of a function's (NumPy) output pytree."""
    leaves, td = tree_flatten(y)
    return signature_of(leaves, td, lambda a: np.asarray(a).dtype)


def check_rows(a: Any, k: int, size: int, dtype: np.dtype, rule: str) -> np.ndarray:
    """A stacked ``(k, size)`` result of ``rule``, cast to ``dtype``; wrong shapes are errors."""
    a = np.asarray(a)
    if a.shape != (k, size):
        raise AnydiffValueError(f"the {rule} returned shape {a.shape}; expected shape {(k, size)}")
    return a.astype(dtype, copy=False)


class Rule:
    """A bridged function: value, pushforward, pullback (and maybe hvp) on flat vectors.

    Subclasses implement the tree-level methods; this class keeps one :class:`_SigState`
    per input signature (output signature and whatever the subclass prepares), thread-safely.
    """

    name: str = "bridged function"
    #: g's Jacobian pattern for sparsity detection (boolean CSR, flat outputs x flat inputs), or
    #: None: the tracer then takes every output to depend on every input (see ``_sparsity``)
    sparsity: Any = None

    def __init__(self, f: Any) -> None:
        self.f = f
        self._lock = threading.Lock()
        self._states: dict[Signature, dict] = {}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {getattr(self.f, '__name__', self.f)!r}>"

    # ---- per-signature state ------------------------------------------------------------
    def state(self, sig: Signature) -> dict:
        """The mutable per-signature dict (created once; guarded by its own lock)."""
        st = self._states.get(sig)
        if st is None:
            with self._lock:
                st = self._states.setdefault(sig, {"lock": threading.Lock()})
        return st

    def cached(self, sig: Signature, key: Any, build: Any) -> Any:
        """``build()`` once per ``(sig, key)``; concurrent callers wait for the first one."""
        st = self.state(sig)
        if key in st:
            return st[key]
        with st["lock"]:
            if key not in st:
                st[key] = build()
            return st[key]

    def out_signature(self, sig: Signature, x: np.ndarray | None = None) -> Signature:
        """Output signature at ``sig``; evaluated at ``x`` when given, else probed."""
        st = self.state(sig)
        osig = st.get("out")
        if osig is None:
            if x is None:
                x = self.probe_point(sig)
            osig = st["out"] = output_signature(self.value_tree(sig, x))
        return osig

    def probe_point(self, sig: Signature) -> np.ndarray:
        """Where to evaluate ``f`` once to learn its output when no concrete ``x`` is at hand
        (inside ``jax.jit``): ones of the input signature (documented)."""
        return np.ones(sig.size, dtype=sig.dtype)

    # ---- flat interface used by hosts ---------------------------------------------------
    def value(self, sig: Signature, x: np.ndarray) -> np.ndarray:
        st = self.state(sig)
        y = self.value_tree(sig, x)
        if "out" not in st:
            st["out"] = output_signature(y)
        yflat = st["out"].flatten_np(y, f"function {self.fname}")
        from ._fresh import RecentValues, in_compiled_callback

        # kept, so that a derivative at the same x checks its prep against this y (no new call).
        # Eager hosts (torch, autograd, the engine, JAX outside jit) always call the value before
        # the derivatives at the same x, so the newest y kept at x is f's current value there.
        if not in_compiled_callback():
            recent = st.get("recent")
            if recent is None:
                recent = st.setdefault("recent", RecentValues())
            recent.put(x, yflat)
        return yflat

    def reference_value(self, sig: Signature, x: np.ndarray) -> tuple[np.ndarray, bool]:
        """``(flat f(x), cached)``: the value the host gave with this derivative call (the JAX
        host, ``_fresh.given_value``), or that of
        a recent primal call at ``x`` (``cached=True``; kept values are not used inside a compiled
        JAX callback), else ``f`` evaluated now."""
        from ._fresh import given, in_compiled_callback

        y = given(x)
        if y is not None:
            return np.asarray(y), True
        recent = None if in_compiled_callback() else self.state(sig).get("recent")
        y = recent.get(x) if recent is not None else None
        if y is not None:
            return y, True
        return self.value(sig, x), False

    def invalidate(self, sig: Signature) -> None:
        """Drop every prep of ``sig`` (keys that are tuples): they may have frozen stale data."""
        st = self.state(sig)
        with st["lock"]:
            for key in [k for k in st if isinstance(k, tuple)]:
                del st[key]

    def pushforward(self, sig: Signature, x: np.ndarray, T: np.ndarray) -> np.ndarray:
        osig = self.out_signature(sig, x)
        out = self.pushforward_flat(sig, osig, x, np.asarray(T))
        return check_rows(out, T.shape[0], osig.size, osig.dtype, f"pushforward of {self.fname}")

    def pullback(self, sig: Signature, x: np.ndarray, W: np.ndarray) -> np.ndarray:
        osig = self.out_signature(sig, x)
        out = self.pullback_flat(sig, osig, x, np.asarray(W))
        return check_rows(out, W.shape[0], sig.size, sig.dtype, f"pullback of {self.fname}")

    def hvp_w(self, sig: Signature, x: np.ndarray, w: np.ndarray, V: np.ndarray) -> np.ndarray:
        """``(Σ_i w_i ∇²f_i(x)) V`` for ``V`` of shape ``(k, n)`` (second derivatives)."""
        osig = self.out_signature(sig, x)
        out = self.hvp_flat(sig, osig, x, np.asarray(w), np.asarray(V))
        return check_rows(out, V.shape[0], sig.size, sig.dtype, f"second-order rule of {self.fname}")

    @property
    def fname(self) -> str:
        return getattr(self.f, "__name__", repr(self.f))

    # ---- to implement -------------------------------------------------------------------
    def value_tree(self, sig: Signature, x: np.ndarray) -> Any:  # pragma: no cover
        raise NotImplementedError

    def pushforward_flat(self, sig: Signature, osig: Signature, x: np.ndarray, T: np.ndarray) -> Any:
        raise NotImplementedError  # pragma: no cover

    def pullback_flat(self, sig: Signature, osig: Signature, x: np.ndarray, W: np.ndarray) -> Any:
        raise NotImplementedError  # pragma: no cover

    def hvp_flat(
        self, sig: Signature, osig: Signature, x: np.ndarray, w: np.ndarray, V: np.ndarray
    ) -> Any:
        raise UnsupportedError(
            f"second derivatives through {self.fname}: {self.describe_rule()} provides first "
            "derivatives only. Use ad.differentiate_with(f, backend) with a backend that has "
            "second-order operators (jax, torch, autograd, engine)."
        )

    def describe_rule(self) -> str:
        return "this rule"

    def check_mode(self, mode: str, sig: Signature, osig: Signature) -> None:
        """Raise now (at trace time) what ``mode`` (``"pushforward"``, ``"pullback"``, ``"hvp"``)
        would raise when run: inside ``jax.jit`` an error raised in a callback reaches the user
        only as JAX's runtime error, so hosts ask before they stage a call."""
        if mode == "hvp" and type(self).hvp_flat is Rule.hvp_flat:
            self.hvp_flat(sig, osig, np.zeros(0), np.zeros(0), np.zeros((0, 0)))


def materialize_check(rule: str, missing: str, calls: int) -> None:
    """Raise when materialising J for the ``missing`` mode would take too many ``rule`` calls."""
    if calls > MATERIALIZE_LIMIT:
        raise UnsupportedError(
            f"{missing} requested but only a {rule} was given: materialising the Jacobian from it "
            f"would take {calls} {rule} calls (more than anydiff.bridge.MATERIALIZE_LIMIT = "
            f"{MATERIALIZE_LIMIT}). Pass {missing}= to custom_derivative, or use "
            "ad.differentiate_with(f, backend)."
        )
