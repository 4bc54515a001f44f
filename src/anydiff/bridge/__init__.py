"""One derivative rule for every framework: :func:`differentiate_with` and :func:`custom_derivative`.

``g = differentiate_with(f, backend)`` (or ``custom_derivative(f, pushforward=..., pullback=...)``)
behaves like ``f``; when ``g`` is called on another framework's traced values, its derivatives
come from the rule. The host framework is found from the type of the leaves of ``x`` (by module
name, without importing any framework), and only that host's module is imported:

==========  =================================================================================
host        how ``g`` becomes differentiable
==========  =================================================================================
JAX         three ``jax.extend`` primitives (value, pushforward, pullback) with jvp, transpose
            and batching rules, lowered to host callbacks like ``jax.pure_callback`` (``jit`` / ``vmap``)
torch       ``torch.autograd.Function`` with ``setup_context``, ``backward``, ``jvp``, ``vmap``
autograd    ``autograd.extend.primitive`` with ``defvjp`` / ``defjvp``
engine      an :class:`anydiff.engine` primitive with jvp and vjp rules (tapes replay it)
NumPy       ``f`` is evaluated (finite differences need nothing else)
==========  =================================================================================
"""

from __future__ import annotations

import functools
from typing import Any

from .._arrays import kind_of
from .._errors import AnydiffTypeError
from .._pytree import tree_flatten
from ._core import MATERIALIZE_LIMIT, Rule, Signature
from ._exceptions import BridgedRuleError, original_exceptions
from ._fresh import ChangingFunctionError
from ._rules import BackendRule, CustomRule

__all__ = [
    "MATERIALIZE_LIMIT", "Bridged", "BridgedRuleError", "ChangingFunctionError", "custom_derivative",
    "differentiate_with",
    "original_exceptions",
]

_HOSTS = {"jax": "jax", "torch": "torch", "autograd": "autograd", "engine": "engine"}


class Bridged:
    """The function returned by :func:`differentiate_with` / :func:`custom_derivative`.

    ``g(x)`` with ``x`` an array or pytree of one framework's arrays (or NumPy / Python
    numbers, which mix with any) returns ``f(x)`` as that framework's arrays, differentiable
    by that framework with the rule's derivatives. ``g.rule`` holds the rule and its caches.
    """

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        functools.update_wrapper(self, rule.f)

    def __repr__(self) -> str:
        return f"<bridged {self.rule.fname} ({self.rule.describe_rule()})>"

    def __call__(self, x: Any) -> Any:
        leaves, td = flatten_input(x)
        host = host_of(leaves, self.rule)
        if host is None:
            return self.rule.value_tree(*_numpy_call(self.rule, leaves, td))
        import importlib

        return importlib.import_module(f"anydiff.bridge.{host}").call(self.rule, leaves, td)


_AUTOGRAD_CONTAINERS = ("DictBox", "SequenceBox")


def _is_container_box(v: Any) -> bool:
    t = type(v)
    return t.__name__ in _AUTOGRAD_CONTAINERS and t.__module__.startswith("autograd")


def _open_boxes(x: Any) -> Any:
    """``x`` with HIPS autograd's container boxes (what ``autograd.grad`` passes for a dict,
    tuple or list argument) opened into plain containers of boxed leaves; indexing a box is
    an autograd operation, so derivatives still flow to the container."""
    if _is_container_box(x):
        val = x._value
        if isinstance(val, dict):
            return {k: _open_boxes(x[k]) for k in val}
        items = [_open_boxes(x[i]) for i in range(len(val))]
        if isinstance(val, tuple):
            return type(val)(*items) if hasattr(val, "_fields") else tuple(items)
        return items
    if isinstance(x, dict):
        return {k: _open_boxes(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        items = [_open_boxes(v) for v in x]
        return type(x)(*items) if hasattr(x, "_fields") else type(x)(items)
    return x


def flatten_input(x: Any) -> tuple[list[Any], Any]:
    """``tree_flatten(x)`` of a bridged function's argument, autograd container boxes opened."""
    leaves, td = tree_flatten(x)
    if any(_is_container_box(v) for v in leaves):
        leaves, td = tree_flatten(_open_boxes(x))
    return leaves, td


def host_of(leaves: list[Any], rule: Rule) -> str | None:
    """The framework whose arrays ``x`` holds (``None`` for NumPy / Python numbers only)."""
    hosts = {_HOSTS[k] for k in (kind_of(v) for v in leaves) if k in _HOSTS}
    others = sorted({type(v).__name__ for v in leaves if kind_of(v) == "other"})
    if others:
        raise AnydiffTypeError(
            f"{rule.fname} (bridged by anydiff) was called with leaves of type {others}, which no "
            "supported framework (jax, torch, autograd, anydiff.engine, NumPy) can pass."
        )
    if len(hosts) > 1:
        raise AnydiffTypeError(
            f"{rule.fname} (bridged by anydiff) was called with arrays of several frameworks at "
            f"once ({', '.join(sorted(hosts))}); a host passes only its own arrays (and NumPy "
            "constants). Convert the arguments to the framework whose transformation is running "
            "(e.g. a torch tensor inside a JAX trace: pass a JAX array)."
        )
    return hosts.pop() if hosts else None


def _numpy_call(rule: Rule, leaves: list[Any], td: Any) -> tuple[Signature, Any]:
    import numpy as np

    from ._core import signature_of

    arrs = [np.asarray(v) for v in leaves]
    sig = signature_of(arrs, td, lambda a: a.dtype)
    flat = np.concatenate([a.reshape(-1).astype(sig.dtype) for a in arrs]) if arrs else np.zeros(0)
    return sig, flat


def _with_sparsity(rule: Rule, sparsity: Any) -> Bridged:
    if sparsity is not None:
        from ._sparsity import as_pattern

        rule.sparsity = as_pattern(sparsity)
    return Bridged(rule)


def differentiate_with(f: Any, backend: Any, *, sparsity: Any = None) -> Bridged:
    """``g`` with ``g(x) == f(x)``, whose derivatives in any framework are anydiff's on ``backend``.

    ``f`` receives ``backend``'s arrays (``x`` an array or pytree); inside ``jax.grad`` /
    ``jax.jit`` / ``jax.vmap``, ``torch.autograd`` / ``torch.func``, HIPS autograd or the
    engine, the derivatives of ``g`` are ``ad.pushforward`` / ``ad.pullback`` of ``f`` on
    ``backend``, prepared once per input signature (shapes, dtypes, structure) and cached,
    thread-safely. Second derivatives use ``backend``'s ``hvp``.

    ``sparsity``: optionally ``g``'s Jacobian pattern, a boolean ``(m, n)`` array (dense or
    scipy sparse) over the flat output and input (leaves raveled in pytree order, as in
    ``ad.jacobian``), used by ``AutoSparse``'s tracer detector, which cannot look inside ``g``;
    without it every output of ``g`` counts as depending on every input (always valid).

    Example (NumPy only here; with ``g = ad.differentiate_with(torch_fn, "torch")``,
    ``jax.grad(lambda x: jnp.sum(g(x) ** 2))(x)`` works the same way, see docs/mixing.md):
        >>> import numpy as np, anydiff as ad
        >>> g = ad.differentiate_with(lambda x: x ** 3, "engine")
        >>> ad.gradient(lambda x: g(x).sum(), "autograd", np.array([1.0, 2.0]))
        array([ 3., 12.])
    """
    return _with_sparsity(BackendRule(f, backend), sparsity)


def custom_derivative(
    f: Any, *, pushforward: Any = None, pullback: Any = None, sparsity: Any = None
) -> Bridged:
    """``g`` with ``g(x) == f(x)`` and hand-written NumPy rules for its derivatives.

    ``pushforward(x, t) -> J t`` (pytree shaped like ``f(x)``) and ``pullback(x, w) -> Jᴴ w``
    (shaped like ``x``), on NumPy arrays, one tangent per call. With one rule only, the other
    mode materialises ``J`` from it (``m`` pullbacks or ``n`` pushforwards) when that number of
    calls is at most :data:`MATERIALIZE_LIMIT` (256), otherwise raises ``UnsupportedError``.
    Second derivatives through ``g`` raise ``UnsupportedError``. ``sparsity``: as for
    :func:`differentiate_with`.

    Example:
        >>> import numpy as np, anydiff as ad
        >>> g = ad.custom_derivative(np.sin, pullback=lambda x, w: np.cos(x) * w)
        >>> ad.gradient(lambda x: g(x).sum(), "engine", np.zeros(2))
        array([1., 1.])
    """
    if pushforward is None and pullback is None:
        raise AnydiffTypeError("custom_derivative needs pushforward=, pullback= or both")
    return _with_sparsity(CustomRule(f, pushforward, pullback), sparsity)
