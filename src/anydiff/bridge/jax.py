"""JAX host: a bridged function as three JAX primitives with jvp, transpose and batching rules.

* ``anydiff_bridge(x) -> y``: the value; jvp ``ty = pushforward(x, t)``.
* ``anydiff_bridge_pf(x, y, T) -> J T`` (``T``: ``(k, n)``), linear in ``T``; transpose = pullback.
* ``anydiff_bridge_pb(x, y, W) -> Jᴴ W`` (``W``: ``(k, m)``), linear in ``W``; transpose =
  pushforward (with conjugations for complex); its jvp in ``x`` is the second-order
  ``anydiff_bridge_hw``.
* ``anydiff_bridge_hw(x, y, w, V) -> (Σ w_i ∇²f_i) V``, symmetric, so its own transpose.

``y`` is the value primitive's output at ``x``, passed along (without derivative) so that the
rule checks its cached prep against the value of the same computation (a stale prep is made
again; see :mod:`anydiff.bridge._fresh`).

Batching rules stack vmapped tangents into the ``k`` axis, so ``jax.vmap`` / ``jacfwd`` /
``jacrev`` send ONE ``(k, n)`` block to the rule; a batched primal ``x`` runs ``lax.map``.
Every primitive lowers to a host callback on NumPy arrays (``_host_call``: ``jax.pure_callback``'s
lowering without its argument copies; so ``jax.jit`` works), with the dtypes of the traced values
(x64 respected: float32 stays float32).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.extend.core import Primitive
from jax.interpreters import ad, batching, mlir

from .._errors import UnsupportedError
from .._pytree import tree_unflatten
from ._core import Rule, Signature, leaf_signature
from ._exceptions import in_callback
from ._fresh import compiled_callback, given_value

try:  # jax.core.ShapedArray moved around between releases
    from jax.core import ShapedArray
except ImportError:  # pragma: no cover
    from jax._src.core import ShapedArray

from ._host_call import host_call


def _sds(shape: tuple, dtype: Any) -> Any:
    return jax.ShapeDtypeStruct(shape, dtype)


def _ndarray(a: Any) -> np.ndarray:
    return np.asarray(a)


# --------------------------------------------------------------------------- callbacks
# float64 / complex128 results cross a callback as uint32 words (arguments too on the
# pure_callback fallback): JAX converts them under the x64 setting of the thread that runs it, and that
# thread may not see the caller's ``jax.enable_x64()`` context (an XLA worker thread, or an
# executable compiled in the context and run outside it). float64 arguments were then silently
# rounded to float32 and float64 results rejected ("Incorrect output dtype"). uint32 is the
# same with and without x64; both sides reinterpret the words (bitcasts, values unchanged).
_WIDE = (np.dtype(np.float64), np.dtype(np.complex128))


def _wire_shape(shape: tuple, dtype: np.dtype) -> tuple:
    return tuple(shape) + ((2, 2) if dtype.kind == "c" else (2,))


def _encode_np(a: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """A callback's result in ``dtype`` as the uint32 words JAX expects (see above)."""
    a = np.ascontiguousarray(a, dtype=dtype)
    return a.reshape(-1).view(np.uint32).reshape(_wire_shape(a.shape, dtype))


def _decode_np(u: Any, shape: tuple, dtype: np.dtype) -> np.ndarray:
    """A wide argument's uint32 words (as the callback receives them) -> ``dtype`` values."""
    return np.ascontiguousarray(np.asarray(u, dtype=np.uint32)).reshape(-1).view(dtype).reshape(shape)


def _encode(a: Any) -> Any:
    """Traced: a wide array as uint32 words (a complex one as its (re, im) pairs first)."""
    if a.dtype == jnp.complex128:
        a = jnp.stack([jnp.real(a), jnp.imag(a)], axis=-1)
    return jax.lax.bitcast_convert_type(a, jnp.uint32)


def _decode(u: Any, dtype: np.dtype) -> Any:
    """Traced inverse of :func:`_encode_np`: uint32 words -> ``dtype`` values."""
    f = jax.lax.bitcast_convert_type(u, jnp.float64)
    return jax.lax.complex(f[..., 0], f[..., 1]) if dtype.kind == "c" else f


def _callback(body: Any, what: str, shape: tuple, dtype: Any, *args: Any) -> Any:
    """A host callback of ``body`` (NumPy in, one NumPy array of ``shape``/``dtype`` out):
    :func:`anydiff.bridge._host_call.host_call` (arguments reach ``body`` as XLA hands them
    over, with their own dtypes) or, where that is unavailable, ``jax.pure_callback``
    (arguments converted under the running thread's x64 setting, so wide ones travel as words).

    ``body`` runs under :func:`in_callback`: XLA reports an exception raised in a callback as a
    JaxRuntimeError (a string), so the user's exception is kept and its type, message and key
    go into that string, for ``original_exceptions()`` / anydiff's operators to raise it again.
    """
    dtype = np.dtype(dtype)
    specs = [(tuple(a.shape), np.dtype(a.dtype)) for a in args]
    direct = host_call is not None
    wide_in = [d in _WIDE and not direct for _, d in specs]
    wide_out = dtype in _WIDE

    def run(*vs: Any) -> Any:
        ins = [_decode_np(v, s, d) if w else _ndarray(v) for v, (s, d), w in zip(vs, specs, wide_in)]
        with compiled_callback():  # no kept values: XLA may run the value call later, or never
            out = body(*ins)
        return _encode_np(out, dtype) if wide_out else np.asarray(out, dtype)

    wired = [_encode(a) if w else a for a, w in zip(args, wide_in)]
    out_sds = _sds(_wire_shape(shape, dtype), np.uint32) if wide_out else _sds(shape, dtype)
    if direct:
        out = host_call(in_callback(run, what), out_sds, *wired)
    else:  # JAX releases without the private lowering helper
        out = jax.pure_callback(in_callback(run, what), out_sds, *wired)
    return _decode(out, dtype) if wide_out else out


def _cb_value(x: Any, rule: Rule, sig: Signature, osig: Signature) -> Any:
    return _callback(lambda v: rule.value(sig, v), f"function {rule.fname}", (osig.size,), osig.dtype, x)


# The derivative primitives take the value primitive's output y as an argument (no derivative
# flows through it): the rule checks its cached prep against this y of the same computation
# (anydiff.bridge._fresh), and the data dependency makes XLA run the value call first.
def _with_y(rule: Rule, method: str, sig: Signature) -> Any:
    """``rule.<method>(sig, x, *rest)`` with ``y`` given as x's value (see ``_fresh.given_value``)."""

    def call(v: np.ndarray, yy: np.ndarray, *rest: np.ndarray) -> Any:
        with given_value(v, yy):
            return getattr(rule, method)(sig, v, *rest)

    return call


def _cb_pf(x: Any, y: Any, T: Any, rule: Rule, sig: Signature, osig: Signature) -> Any:
    return _callback(_with_y(rule, "pushforward", sig), f"pushforward of {rule.fname}",
                     (T.shape[0], osig.size), osig.dtype, x, y, T)


def _cb_pb(x: Any, y: Any, W: Any, rule: Rule, sig: Signature, osig: Signature) -> Any:
    return _callback(_with_y(rule, "pullback", sig), f"pullback of {rule.fname}",
                     (W.shape[0], sig.size), sig.dtype, x, y, W)


def _cb_hw(x: Any, y: Any, w: Any, V: Any, rule: Rule, sig: Signature, osig: Signature) -> Any:
    return _callback(_with_y(rule, "hvp_w", sig), f"second-order rule of {rule.fname}",
                     (V.shape[0], sig.size), sig.dtype, x, y, w, V)


def _primitive(name: str, cb: Any, shape: Any, method: str) -> Primitive:
    p = Primitive(name)

    def impl(*args: Any, rule: Rule, sig: Signature, osig: Signature) -> Any:
        # eager (concrete arrays): call the rule directly, no callback to compile
        a = [_ndarray(v) for v in args]
        if method == "value":
            return jnp.asarray(rule.value(sig, *a))
        return jnp.asarray(_with_y(rule, method, sig)(*a))

    p.def_impl(impl)
    p.def_abstract_eval(lambda *avals, **params: ShapedArray(*shape(*avals, **params)))
    mlir.register_lowering(p, mlir.lower_fun(cb, multiple_results=False))
    return p


value_p = _primitive("anydiff_bridge", _cb_value, lambda x, rule, sig, osig: ((osig.size,), osig.dtype),
                     "value")
pf_p = _primitive("anydiff_bridge_pf", _cb_pf,
                  lambda x, y, T, rule, sig, osig: ((T.shape[0], osig.size), osig.dtype), "pushforward")
pb_p = _primitive("anydiff_bridge_pb", _cb_pb,
                  lambda x, y, W, rule, sig, osig: ((W.shape[0], sig.size), sig.dtype), "pullback")
hw_p = _primitive("anydiff_bridge_hw", _cb_hw,
                  lambda x, y, w, V, rule, sig, osig: ((V.shape[0], sig.size), sig.dtype), "hvp_w")


def _is_zero(t: Any) -> bool:
    return type(t) is ad.Zero


def _instantiate(t: Any, like: Any) -> Any:
    return jnp.zeros(like.shape, like.dtype) if _is_zero(t) else t


# --------------------------------------------------------------------------- jvp rules
def _value_jvp(primals: Any, tangents: Any, **p: Any) -> Any:
    (x,), (tx,) = primals, tangents
    y = value_p.bind(x, **p)
    if _is_zero(tx):
        return y, ad.Zero.from_primal_value(y)
    p["rule"].check_mode("pushforward", p["sig"], p["osig"])
    return y, pf_p.bind(x, y, tx[None], **p)[0]


# y (the value, a freshness reference only) carries no derivative: its tangent is ignored
def _pf_jvp(primals: Any, tangents: Any, **p: Any) -> Any:
    (x, y, T), (tx, _, tT) = primals, tangents
    out = pf_p.bind(x, y, T, **p)
    dout = jnp.zeros_like(out) if _is_zero(tT) else pf_p.bind(x, y, tT, **p)
    if not _is_zero(tx):
        p["rule"].check_mode("hvp", p["sig"], p["osig"])
        # d(J T)/dx · v: row j, output i = T_j · (∇²f_i v); one second-order call per output i
        osig = p["osig"]
        if osig.size > 64:
            raise UnsupportedError(
                f"forward-over-forward second derivatives through {p['rule'].fname} with {osig.size} "
                "outputs (more than 64 second-order calls); use jax.hessian (forward over reverse) "
                "or a scalar-valued function."
            )
        eye = jnp.eye(osig.size, dtype=osig.dtype)
        Hv = jnp.stack([hw_p.bind(x, y, eye[i], tx[None], **p)[0] for i in range(osig.size)])
        dout = dout + (T @ Hv.T).astype(out.dtype)
    return out, dout


def _pb_jvp(primals: Any, tangents: Any, **p: Any) -> Any:
    (x, y, W), (tx, _, tW) = primals, tangents
    out = pb_p.bind(x, y, W, **p)
    dout = jnp.zeros_like(out) if _is_zero(tW) else pb_p.bind(x, y, tW, **p)
    if not _is_zero(tx):
        p["rule"].check_mode("hvp", p["sig"], p["osig"])
        rows = [hw_p.bind(x, y, W[j], tx[None], **p)[0] for j in range(W.shape[0])]
        dout = dout + jnp.stack(rows)
    return out, dout


def _hw_jvp(primals: Any, tangents: Any, **p: Any) -> Any:
    (x, y, w, V), (tx, _, tw, tV) = primals, tangents
    if not (_is_zero(tx) and _is_zero(tw)):
        raise UnsupportedError(
            f"third derivatives through {p['rule'].fname} (bridged by anydiff) are not supported"
        )
    out = hw_p.bind(x, y, w, V, **p)
    return out, (jnp.zeros_like(out) if _is_zero(tV) else hw_p.bind(x, y, w, tV, **p))


ad.primitive_jvps[value_p] = _value_jvp
ad.primitive_jvps[pf_p] = _pf_jvp
ad.primitive_jvps[pb_p] = _pb_jvp
ad.primitive_jvps[hw_p] = _hw_jvp


# --------------------------------------------------------------------------- transposes
def _undefined(a: Any) -> bool:
    return ad.is_undefined_primal(a)


def _complex(p: dict) -> bool:
    """Whether x or y is complex: then Jᵀ c = conj(Jᴴ conj(c)) (for any R-linear J)."""
    return p["sig"].dtype.kind == "c" or p["osig"].dtype.kind == "c"


def _pf_transpose(ct: Any, x: Any, y: Any, T: Any, **p: Any) -> Any:
    if _undefined(x) or _undefined(y):
        raise UnsupportedError("transposing a bridged pushforward with respect to x")
    ct = _instantiate(ct, T.aval if _undefined(T) else T)
    ct = jnp.zeros((T.aval.shape[0], p["osig"].size), p["osig"].dtype) if _is_zero(ct) else ct
    # JAX transposes (Jᵀ); the rule gives the adjoint Jᴴ: Jᵀ c = conj(Jᴴ conj(c))
    p["rule"].check_mode("pullback", p["sig"], p["osig"])
    if _complex(p):  # also for a real ct: a real f of complex x needs the outer conj
        return None, None, jnp.conj(pb_p.bind(x, y, jnp.conj(ct), **p))
    return None, None, pb_p.bind(x, y, ct, **p)


def _pb_transpose(ct: Any, x: Any, y: Any, W: Any, **p: Any) -> Any:
    if _undefined(x) or _undefined(y):
        raise UnsupportedError("transposing a bridged pullback with respect to x")
    if _is_zero(ct):
        return None, None, ad.Zero(W.aval)
    p["rule"].check_mode("pushforward", p["sig"], p["osig"])
    if _complex(p):
        return None, None, jnp.conj(pf_p.bind(x, y, jnp.conj(ct), **p))
    return None, None, pf_p.bind(x, y, ct, **p)


def _hw_transpose(ct: Any, x: Any, y: Any, w: Any, V: Any, **p: Any) -> Any:
    if _undefined(x) or _undefined(y) or _undefined(w):
        raise UnsupportedError("transposing a bridged second-order rule with respect to x or w")
    if _is_zero(ct):
        return None, None, None, ad.Zero(V.aval)
    return None, None, None, hw_p.bind(x, y, w, ct, **p)  # Σ w_i ∇²f_i is symmetric


ad.primitive_transposes[pf_p] = _pf_transpose
ad.primitive_transposes[pb_p] = _pb_transpose
ad.primitive_transposes[hw_p] = _hw_transpose


# --------------------------------------------------------------------------- batching
def _moved(a: Any, d: Any, size: int) -> Any:
    """``a`` with its batch axis ``d`` first (broadcast when unbatched)."""
    if d is None:
        return jnp.broadcast_to(a, (size,) + a.shape)
    return jnp.moveaxis(a, d, 0)


def _size(args: Any, dims: Any) -> int:
    return next(a.shape[d] for a, d in zip(args, dims) if d is not None)


def _map(fn: Any, xs: tuple) -> Any:
    """``fn`` over the leading axis of ``xs``: ``lax.map`` when tracing; on concrete arrays (an
    un-jitted ``jax.vmap``) a Python loop of eager calls, so that nothing is compiled and an
    exception of the rule reaches the caller with its own type."""
    if xs[0].shape[0] == 0 or any(isinstance(a, jax.core.Tracer) for a in xs):
        return jax.lax.map(lambda t: fn(*t), xs)
    return jnp.stack([fn(*[a[i] for a in xs]) for i in range(xs[0].shape[0])])


def _value_batch(args: Any, dims: Any, **p: Any) -> Any:
    (x,), (d,) = args, dims
    return _map(lambda xi: value_p.bind(xi, **p), (jnp.moveaxis(x, d, 0),)), 0


def _stacked_batch(prim: Primitive, nlin: int) -> Any:
    """Batching rule of a primitive whose last argument is a ``(k, ·)`` stack of linear inputs:
    when only that stack (and other linear args) is batched, B stacks become one ``(B·k, ·)``."""

    def rule(args: Any, dims: Any, **p: Any) -> Any:
        B = _size(args, dims)
        primal_dims = dims[: len(args) - nlin]
        if all(d is None for d in primal_dims) and nlin == 1:
            L, d = args[-1], dims[-1]
            L = jnp.moveaxis(L, d, 0)
            k = L.shape[1]
            out = prim.bind(*args[:-1], L.reshape((B * k,) + L.shape[2:]), **p)
            return out.reshape((B, k) + out.shape[1:]), 0
        if prim is hw_p and dims[0] is None and dims[1] is None and dims[2] is None:
            V = jnp.moveaxis(args[3], dims[3], 0)
            k = V.shape[1]
            out = prim.bind(args[0], args[1], args[2], V.reshape((B * k,) + V.shape[2:]), **p)
            return out.reshape((B, k) + out.shape[1:]), 0
        moved = [_moved(a, d, B) for a, d in zip(args, dims)]
        return _map(lambda *xs: prim.bind(*xs, **p), tuple(moved)), 0

    return rule


batching.primitive_batchers[value_p] = _value_batch
batching.primitive_batchers[pf_p] = _stacked_batch(pf_p, 1)
batching.primitive_batchers[pb_p] = _stacked_batch(pb_p, 1)
batching.primitive_batchers[hw_p] = _stacked_batch(hw_p, 1)


# --------------------------------------------------------------------------- entry point
def _np_dtype(a: Any) -> np.dtype:
    """The dtype JAX computes ``a`` in: with x64 off, a float64 array (made under
    ``jax.enable_x64()``) keeps a float64 aval, but every ``astype`` / operation on it gives
    float32, so the flat vector (and the callbacks' buffers) are float32 too."""
    d = np.dtype(a.dtype) if hasattr(a, "dtype") else np.asarray(a).dtype
    return np.dtype(jax.dtypes.canonicalize_dtype(d))


def _canonical(osig: Signature) -> Signature:
    """``osig`` with the dtypes JAX holds f's outputs in: with x64 off, an ``f`` (NumPy, torch)
    returning float64 gives float32 traced values, so the callbacks return float32 buffers."""
    dts = tuple(str(_np_dtype(np.empty(0, d))) for d in osig.dtypes)
    return osig if dts == osig.dtypes else Signature(osig.treedef, osig.shapes, dts)


def call(rule: Rule, leaves: list[Any], td: Any) -> Any:
    """``f(x)`` for JAX leaves (tracers or arrays), differentiable by every JAX transform."""
    sig = leaf_signature(rule.fname, leaves, td, _np_dtype)
    concrete = None
    if not any(isinstance(v, jax.core.Tracer) for v in leaves):  # e.g. constants under jit
        concrete = np.concatenate([np.asarray(v).reshape(-1).astype(sig.dtype) for v in leaves])
    flat = jnp.concatenate([jnp.ravel(jnp.asarray(v)).astype(sig.dtype) for v in leaves]) \
        if leaves else jnp.zeros(0, sig.dtype)
    # the probe (inside jit) must run eagerly, not be staged into the caller's trace
    with jax.ensure_compile_time_eval():
        osig = _canonical(rule.out_signature(sig, concrete))
    y = value_p.bind(flat, rule=rule, sig=sig, osig=osig)
    out, start = [], 0
    for shape, dt, size in zip(osig.shapes, osig.dtypes, osig.sizes):
        out.append(y[start:start + size].reshape(shape).astype(dt))
        start += size
    return tree_unflatten(osig.treedef, out)
