"""A host callback without ``jax.pure_callback``'s argument copies (used by the JAX host).

``jax.pure_callback`` lowers to XLA's Python FFI callback, which hands the callback NumPy copies
of its arguments; JAX then ``device_put`` s each of them onto the CPU device (a second copy, and
a conversion under the running thread's x64 setting) and the callback converts them back to
NumPy. At 10⁵ float64 inputs those copies cost about 0.1 ms per argument and call.
:func:`host_call` binds a primitive that lowers through the same JAX helper
(``jax._src.callback.emit_python_callback``, private, hence checked and optional) with the same
sharding as ``pure_callback``, so the callback gets XLA's NumPy arrays as they are, with their
own dtypes, and runs with the CPU device as default device, as under ``pure_callback``.
Results take the ``pure_callback`` route: they are converted under the thread's x64 setting
(the JAX host sends wide results as uint32 words). Without the helper (other JAX releases)
:data:`host_call` is ``None`` and the JAX host uses ``jax.pure_callback``.

The primitive exists only inside lowerings (``mlir.lower_fun`` of the bridge primitives): it is
never differentiated, batched or evaluated eagerly.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import jax
from jax.extend.core import Primitive
from jax.interpreters import mlir

try:  # jax.core.ShapedArray moved around between releases
    from jax.core import ShapedArray
except ImportError:  # pragma: no cover
    from jax._src.core import ShapedArray

try:  # private JAX lowering helpers of pure_callback (hence guarded)
    from jax._src import callback as _jcb

    _emit = _jcb.emit_python_callback
    _op_sharding = _jcb._callback_op_sharding
    _params = inspect.signature(_emit).parameters
    _USABLE = all(k in _params for k in ("ctx", "callback", "token", "operands", "operand_avals",
                                         "result_avals", "has_side_effect", "returns_token",
                                         "sharding"))
except (ImportError, AttributeError, TypeError, ValueError):  # pragma: no cover
    _USABLE = False

__all__ = ["host_call"]

_cpu: list[Any] = []


def _cpu_device() -> Any:
    if not _cpu:
        _cpu.append(jax.local_devices(backend="cpu")[0])
    return _cpu[0]


def _abstract(*avals: Any, fn: Any, out: Any) -> Any:
    return out


def _lowering(ctx: Any, *args: Any, fn: Callable[..., Any], out: Any) -> Any:
    def body(*vs: Any) -> tuple:
        with jax.default_device(_cpu_device()):
            return (fn(*vs),)

    sharding = _op_sharding(ctx.module_context.axis_context, None, ctx.avals_out)
    results, _, _ = _emit(ctx, body, None, list(args), ctx.avals_in, ctx.avals_out,
                          has_side_effect=False, returns_token=False, sharding=sharding)
    return results


def _host_call(fn: Callable[..., Any], out: Any, *args: Any) -> Any:
    """``fn(*numpy args) -> one array`` of ``out`` (a ShapeDtypeStruct), called from compiled
    code like ``jax.pure_callback(fn, out, *args)``: pure (XLA may drop or repeat it)."""
    return _host_p.bind(*args, fn=fn, out=ShapedArray(out.shape, out.dtype))


if _USABLE:
    _host_p = Primitive("anydiff_host_call")
    _host_p.def_abstract_eval(_abstract)
    mlir.register_lowering(_host_p, _lowering, cacheable=False)
    host_call: Callable[..., Any] | None = _host_call
else:  # pragma: no cover
    host_call = None
