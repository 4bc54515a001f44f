"""Exceptions raised by a bridged function's rules inside compiled code keep their own type.

Inside ``jax.jit`` (and ``lax.map`` / ``lax.scan`` bodies) a bridged call runs as a host callback
(``jax.pure_callback``'s lowering); XLA turns any exception raised there into a string, and the
caller sees ``jax.errors.JaxRuntimeError`` (a ``ValueError`` from JAX's C++ fast path, once the
compiled function has run): the original is not attached (no ``__cause__``), and the error is
raised by the compiled call itself, where no anydiff code runs. So the callback body runs under
:func:`in_callback`: the user's exception is kept (in a small, thread-safe stash keyed by a
number) and a :class:`BridgedRuleError` is raised instead, whose message starts with the
original type and message and carries the key. :func:`original_of` finds the kept exception back from the
JAX error (its text holds the key); :func:`original_exceptions` and anydiff's own operators
(via :func:`reraise_original`) use it to raise the user's exception itself.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["BridgedRuleError", "in_callback", "original_exceptions", "original_of", "reraise_original"]

_MARK = "anydiff-bridge-exception"
_KEY = re.compile(_MARK + r" #(\d+)")
#: at most this many kept exceptions (each holds its traceback's frames); the oldest go first
_KEEP = 8
_lock = threading.Lock()
_stash: OrderedDict[int, BaseException] = OrderedDict()
_counter = itertools.count(1)


class BridgedRuleError(RuntimeError):
    """Raised in a callback in place of the user's exception (see the module docstring).

    ``str(e)`` is ``"<Type>: <message> [in the <rule> of <f>, bridged by anydiff;
    anydiff-bridge-exception #<key>]"``; ``e.__cause__`` is the user's exception.
    """


def _keep(exc: BaseException) -> int:
    with _lock:
        key = next(_counter)
        _stash[key] = exc
        while len(_stash) > _KEEP:
            _stash.popitem(last=False)
    return key


def in_callback(fn: Callable[..., Any], what: str) -> Callable[..., Any]:
    """``fn`` for a host callback's body: an exception it raises is kept and re-raised as a
    :class:`BridgedRuleError` naming ``what`` (e.g. ``"pullback of f"``) and the key."""

    def body(*args: Any) -> Any:
        try:
            return fn(*args)
        except Exception as exc:
            key = _keep(exc)
            name = type(exc).__qualname__
            module = type(exc).__module__
            full = name if module == "builtins" else f"{module}.{name}"
            raise BridgedRuleError(
                f"{full}: {exc} [in the {what}, bridged by anydiff; {_MARK} #{key}]"
            ) from exc

    return body


def original_of(exc: BaseException) -> BaseException | None:
    """The user's exception that ``exc`` (a ``JaxRuntimeError`` or :class:`BridgedRuleError`)
    stands for, removed from the stash; None when ``exc`` does not come from a bridged rule or
    when it was already taken (the stash keeps the last 8)."""
    if isinstance(exc, BridgedRuleError) and exc.__cause__ is not None:
        m = _KEY.search(str(exc))
        if m:
            with _lock:
                _stash.pop(int(m.group(1)), None)
        return exc.__cause__
    text = str(exc)
    if _MARK not in text:
        return None
    keys = _KEY.findall(text)
    with _lock:
        # the innermost (last printed) marker is the user's exception
        for k in reversed(keys):
            orig = _stash.pop(int(k), None)
            if orig is not None:
                return orig
    return None


def reraise_original(exc: BaseException) -> None:
    """Raise the user's exception behind ``exc`` (chained to it) if there is one; else return."""
    orig = original_of(exc)
    if orig is not None:
        raise orig from exc


@contextlib.contextmanager
def original_exceptions() -> Iterator[None]:
    """Context manager (and decorator) that turns the ``JaxRuntimeError`` of an exception raised
    by a bridged function or rule inside ``jax.jit`` back into that exception (its own type and
    message, the JAX error as ``__cause__``). Put the materialisation of the result inside it
    too (``jax.block_until_ready``): JAX may report a failed callback only there.

    Example:
        >>> import jax, jax.numpy as jnp, numpy as np, anydiff as ad
        >>> from anydiff.bridge import original_exceptions
        >>> def pb(x, w):
        ...     raise ZeroDivisionError("no pullback here")
        >>> g = ad.custom_derivative(np.sin, pullback=pb)
        >>> try:
        ...     with original_exceptions():
        ...         jax.block_until_ready(jax.jit(jax.grad(lambda x: g(x).sum()))(jnp.ones(2)))
        ... except ZeroDivisionError as e:
        ...     print(type(e).__name__, e)
        ZeroDivisionError no pullback here
    """
    try:
        yield
    except Exception as exc:
        reraise_original(exc)
        raise
