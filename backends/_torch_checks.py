"""Checks around the torch kernels (a part of :mod:`anydiff.backends.torch`).

Three concerns live here, apart from the transforms themselves:

* **Derivative-dropping conversions.** ``float(t)``, ``t.item()``, ``t.tolist()`` and
  ``complex(t)`` of a tensor that depends on ``x`` give a Python value that torch cannot follow:
  torch would silently return zeros or a partial derivative. JAX and the engine refuse these; so
  does anydiff's torch backend. ``torch.func`` does not detect them (only ``vmap`` refuses
  ``.item()``), and no ``torch.func`` failure would reach the ``torch.autograd`` fallback, so
  the check is our own. (``t.numpy()`` and ``np.asarray(t)`` need no check: torch itself raises
  for a tensor it differentiates, and the adapter translates that error.)

  - These four methods of ``torch.Tensor`` are wrapped once, when the torch backend is first
    used (:func:`install`). The wrapper reads a thread-local stack that the kernels push while
    they run ``f``; outside anydiff's torch calls, and in every other thread, the stack is empty
    and the original method runs after one attribute lookup. So the check is thread-safe
    without locks and costs nothing per torch operation (a ``TorchFunctionMode`` would see every
    operation and doubles the cost of small functions).
  - Inside a ``torch.func`` transform a tensor depends on ``x`` when it is a functorch wrapper
    that is tracked by the transform: ``requires_grad`` at a ``grad`` / ``vjp`` level, or a
    forward tangent at a ``jvp`` level. Tensors that do not depend on ``x`` (closure data,
    ``Constant`` values, ``x.detach()``, constants built in ``f``) are not tracked and convert
    freely; so does anything under ``torch.no_grad()``.
  - On the ``torch.autograd`` fallback a tensor depends on ``x`` when its graph reaches the node
    that made ``f``'s working copy of ``x`` (a walk of ``grad_fn.next_functions``, done only when
    a conversion happens), so parameters of a model that require grad for the user's own
    training still convert freely.
  - Printing (``repr``, ``format``) suspends the check: looking at a value drops nothing.

* **Results belong to the caller**. A kernel output may share memory with
  its inputs (``jvp`` / ``vjp`` of ``x -> x.reshape(...)`` return the tangent itself; the value
  of ``x -> x[0]`` is a view of x, which for a NumPy caller is the caller's own array).
  :func:`owned` clones exactly those outputs: one storage-pointer comparison per output, no copy
  otherwise.

* **Error translation** (:func:`translate_error`): torch's messages as anydiff errors that name
  the cause and the fix.

* **Which failures may fall back** to ``torch.autograd`` (:func:`is_func_refusal`): only errors
  that ``torch.func`` itself raises for patterns that plain ``torch.autograd`` records. Every
  other exception is ``f``'s own and propagates after one evaluation of ``f``.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from typing import Any

import torch
import torch._C._functorch as _functorch
import torch.autograd.forward_ad as _fwad

from anydiff._errors import AnydiffError, AnydiffTypeError
from anydiff._protocol import unsupported

NUMPY_CONVERSION = (
    "Can't call numpy() on Tensor that requires grad",
    "Cannot access data pointer of Tensor that doesn't have storage",
    "Cannot access storage of TensorWrapper",
)
_CAPTURED = ("mutate a captured Tensor",)
_DATA_DEPENDENT = (
    "calling .item() on a Tensor",
    "data-dependent control flow",
    "Data-dependent",
)
_INPLACE_LEAF = ("is being used in an in-place operation",)
_NOT_TENSOR = ("to return a Tensor, got",)
# TypeErrors of torch / NumPy mixing: "unsupported operand type(s) for @: 'numpy.ndarray' and
# 'Tensor'", "sin(): argument 'input' (position 1) must be Tensor, not numpy.ndarray".
_NUMPY_OPERAND = ("'numpy.ndarray' and 'Tensor'", "must be Tensor, not numpy.ndarray")
_SAVED_OVERWRITTEN = ("modified by an inplace operation",)
_NUMPY_BACKENDS = ["finitediff", "engine", "autograd"]


class _State(threading.local):
    """Per thread: the roots of the calls of ``f`` in progress (``None`` for a ``torch.func``
    call, else the autograd node that made ``f``'s copy of x) and a printing depth."""

    def __init__(self) -> None:
        self.roots: list[Any] = []
        self.printing = 0


_STATE = _State()


class tracing:
    """Context manager around one call of ``f`` on ``v`` (a functorch wrapper, a tensor on the
    fallback's tape, or a plain tensor): conversions of x-dependent tensors raise meanwhile."""

    __slots__ = ("root",)

    def __init__(self, v: Any) -> None:
        # A functorch wrapper (the torch.func path, the hot one) has no root: test that first.
        if isinstance(v, torch.Tensor) and _functorch.is_functorch_wrapped_tensor(v):
            self.root = None
        else:
            self.root = getattr(v, "grad_fn", None)

    def __enter__(self) -> None:
        _STATE.roots.append(self.root)

    def __exit__(self, *exc: Any) -> None:
        _STATE.roots.pop()


def _reaches(fn: Any, roots: list[Any]) -> bool:
    """Whether the autograd graph below ``fn`` contains one of ``roots``."""
    seen, stack = set(), [fn]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        if any(node is r for r in roots):
            return True
        seen.add(id(node))
        stack.extend(n for n, _ in node.next_functions)
    return False


def _depends_on_x(t: torch.Tensor) -> bool:
    if not (t.is_floating_point() or t.is_complex()):
        return False  # integer and boolean tensors carry no derivative
    if _functorch.is_functorch_wrapped_tensor(t):
        if t.requires_grad and torch.is_grad_enabled():
            return True  # tracked by a grad / vjp level
        try:
            return _fwad.unpack_dual(t).tangent is not None  # tracked by a jvp level
        except RuntimeError:
            return False
    if not (t.requires_grad and torch.is_grad_enabled() and t.grad_fn is not None):
        return False
    roots = [r for r in _STATE.roots if r is not None]
    return bool(roots) and _reaches(t.grad_fn, roots)


def _dropped(what: str) -> Exception:
    return unsupported(
        f"f calls {what} on a tensor that depends on x. The result is a Python / NumPy value "
        "that torch cannot differentiate, so the derivative through it would silently be lost "
        "(zeros, or a partial derivative). Keep the value a tensor (use torch operations or xp = "
        "ad.array_namespace(x)); for value-dependent control flow compare tensors directly "
        "(if v.max() > 1: ...); call .detach() first if you do mean a constant. For NumPy data "
        "in f's closure, pass it as ad.Constant(data) or make it a tensor (torch.as_tensor). "
        "For plain NumPy code use a NumPy backend.",
        _NUMPY_BACKENDS,
    )


_CONVERSIONS = {
    "item": ".item()",
    "tolist": ".tolist()",
    "__float__": "float()",
    "__complex__": "complex()",
}
_PRINTING = ("__repr__", "__format__")
_installed = False
_install_lock = threading.Lock()


def _checked(name: str, what: str, original: Callable) -> Callable:
    @functools.wraps(original)
    def method(self: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        if _STATE.roots and not _STATE.printing and _depends_on_x(self):
            raise _dropped(what)
        return original(self, *args, **kwargs)

    method.__anydiff_checked__ = True  # type: ignore[attr-defined]
    return method


def _printing(original: Callable) -> Callable:
    @functools.wraps(original)
    def method(self: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        _STATE.printing += 1
        try:
            return original(self, *args, **kwargs)
        finally:
            _STATE.printing -= 1

    method.__anydiff_checked__ = True  # type: ignore[attr-defined]
    return method


def install() -> None:
    """Wrap the conversion methods of ``torch.Tensor`` once per process (idempotent)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        for name, what in _CONVERSIONS.items():
            original = getattr(torch.Tensor, name)
            if not getattr(original, "__anydiff_checked__", False):
                setattr(torch.Tensor, name, _checked(name, what, original))
        for name in _PRINTING:
            original = getattr(torch.Tensor, name)
            if not getattr(original, "__anydiff_checked__", False):
                setattr(torch.Tensor, name, _printing(original))
        _installed = True


# ---- results belong to the caller ---------------------------------------------------------------


def _tensors(values: Any) -> Iterator[torch.Tensor]:
    for v in values:
        if isinstance(v, torch.Tensor):
            yield v
        elif isinstance(v, (list, tuple)):
            yield from _tensors(v)
        elif isinstance(v, dict):
            yield from _tensors(v.values())


def _storage(t: torch.Tensor) -> int | None:
    try:
        return t.untyped_storage().data_ptr()
    except (RuntimeError, NotImplementedError):
        return None


def _source_storages(sources: tuple) -> set:
    """Storage addresses of the non-empty tensors in ``sources`` (tensors, None, pytrees)."""
    ptrs = set()
    for s in sources:
        if isinstance(s, torch.Tensor):
            if s.numel():
                ptrs.add(_storage(s))
        elif s is not None:
            ptrs.update(_storage(t) for t in _tensors((s,)) if t.numel())
    ptrs.discard(None)
    return ptrs


def owned(outputs: tuple, *sources: Any) -> tuple:
    """``outputs`` with every tensor that shares storage with one of ``sources`` (x, the
    tangents, contexts, state a kernel keeps) replaced by a clone. This runs on every kernel
    call, so the common case (nothing shared) allocates nothing but one small set."""
    ptrs: set | None = None
    result: list | None = None
    for i, o in enumerate(outputs):
        if o is None or not isinstance(o, torch.Tensor) or not o.numel():
            continue
        if ptrs is None:
            ptrs = _source_storages(sources)
        if _storage(o) in ptrs:
            if result is None:
                result = list(outputs)
            result[i] = o.clone()
    return outputs if result is None else tuple(result)


# ---- fallback decisions ---------------------------------------------------------------------------

# Messages of errors that torch.func raises for patterns plain torch.autograd records fine.
_FUNC_REFUSALS = (
    "mutate a captured Tensor",  # in-place write of x-dependent values into an outside tensor
    "vmap:",  # batching limits (in-place into an unbatched buffer, dynamic shapes, ...)
    "Batching rule not implemented",
    "functorch",
    "torch.func",
    "setup_context",  # old-style autograd.Function
    "generate_vmap_rule",
    "Trying to use forward AD",  # an op without a forward-mode formula: double backward works
    "forward AD",
    # torch.func.jvp inside an active torch.autograd.forward_ad.dual_level (e.g. a bridged
    # function's jvp rule under forward_ad): one dual level at a time; double backward works
    "Nested forward mode AD",
    "does not support forward",
    "TensorWrapper",
    "Cannot access data pointer of Tensor that doesn't have storage",  # .numpy() of a wrapper
    "BatchedTensor",
    "is being used in an in-place operation",
)


def is_func_refusal(exc: BaseException) -> bool:
    """Whether ``exc`` is ``torch.func`` refusing a pattern (then ``torch.autograd`` may try),
    rather than ``f``'s own exception (which must propagate after one evaluation)."""
    if not isinstance(exc, (RuntimeError, NotImplementedError)):
        return False
    text = _messages(exc)
    return any(p in text for p in _FUNC_REFUSALS)


# ---- error translation ---------------------------------------------------------------------------


def _messages(exc: BaseException) -> str:
    """Messages of ``exc`` and of the exceptions chained to it."""
    parts, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        parts.append(str(exc))
        exc = exc.__cause__ or exc.__context__
    return "\n".join(parts)


def _has(text: str, patterns: tuple[str, ...]) -> bool:
    return any(p in text for p in patterns)


def translate_error(exc: BaseException) -> AnydiffError | None:
    """A torch exception as an anydiff error with the cause and a fix, or None."""
    text = _messages(exc)
    if _has(text, NUMPY_CONVERSION):
        return unsupported(
            "f converts a tensor that torch is differentiating to NumPy (x.numpy(), "
            "np.asarray(x), a NumPy function applied to a tensor, or a NumPy array combined "
            "with a tensor, e.g. NumPy data from f's closure); torch cannot follow "
            "computations outside torch. Pass NumPy data as ad.Constant(data) or make it a "
            "tensor (torch.as_tensor), write f with torch operations or the Array API (xp = "
            "ad.array_namespace(x)), or, for plain NumPy code, use a NumPy backend.",
            _NUMPY_BACKENDS,
            exc,
        )
    if isinstance(exc, TypeError) and _has(text, _NUMPY_OPERAND):
        # e.g. A @ x with A a NumPy array from f's closure: NumPy and torch refuse each
        # other's arrays. A TypeError, as the original is.
        err = AnydiffTypeError(
            "f combines a torch tensor with a NumPy array (NumPy data from f's closure or "
            f"globals?): {exc}. Under AutoTorch f receives tensors, and torch operations "
            "need tensors on both sides: pass the data as ad.Constant(data) (it then reaches "
            "f as a tensor) or make it a tensor (torch.as_tensor(data)). For plain NumPy "
            "code use a NumPy backend (finitediff, engine, autograd)."
        )
        err.__cause__ = exc
        return err
    if _has(text, _NOT_TENSOR):
        return unsupported(
            "f returned a NumPy array (or another non-tensor) computed from a tensor, so "
            "torch cannot differentiate it. Return torch tensors (use torch operations or "
            "xp = ad.array_namespace(x)), or, for plain NumPy code, use a NumPy backend.",
            _NUMPY_BACKENDS,
            exc,
        )
    if _has(text, _SAVED_OVERWRITTEN):
        return unsupported(
            "f overwrites (in place) a tensor whose earlier value torch saved for the "
            "backward pass, e.g. y[i] = y[i-1] * x[i]: torch keeps one version counter per "
            "tensor, views included. Read earlier values through a copy (y[i-1].clone()), or "
            "collect the pieces in a list and torch.stack them.",
            ["finitediff", "engine"],
            exc,
        )
    if _has(text, _CAPTURED):
        return unsupported(
            "f writes x-dependent values in place into a tensor created outside f (a global "
            "buffer or a Constant) inside a nested torch.func transform, where anydiff cannot "
            "fall back to torch.autograd. Allocate the buffer inside f or pass it as "
            "ad.Cache(buffer).",
            ["finitediff", "engine", "torch (outside torch.func transforms)"],
            exc,
        )
    if _has(text, _DATA_DEPENDENT):
        return unsupported(
            "f uses .item() or value-dependent control flow on a tensor that an outer "
            "torch.func.vmap batches, which vmap cannot do. Call anydiff outside the vmap "
            "(loop over the batch).",
            ["finitediff", "engine", "autograd", "torch (outside vmap)"],
            exc,
        )
    if _has(text, _INPLACE_LEAF):
        return unsupported(
            "f modifies its input x in place inside a nested torch.func transform. Work on "
            "a copy (e.g. x = x.clone()) inside f.",
            ["finitediff", "engine", "torch (outside torch.func transforms)"],
            exc,
        )
    return None
