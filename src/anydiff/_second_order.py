"""Which ``SecondOrder(outer, inner)`` pairs can work, in one place.

``SecondOrder(outer, inner)`` computes second derivatives by letting ``outer`` differentiate
``inner``'s first-derivative code. That is possible only when ``outer`` can see through that
code:

* the same framework in any modes (``AutoJax(mode="forward")`` over ``AutoJax(mode="reverse")``,
  torch over torch, the engine over the engine, any finite differences over themselves);
* finite differences (``central``, ``forward``, ``backward``) as outer over any inner: they only
  evaluate the inner derivative at plain NumPy points;
* the complex step (``AutoFiniteDiff(method="complex")``) as outer over a ``central``,
  ``forward`` or ``backward`` ``AutoFiniteDiff`` inner, whose difference quotient is analytic
  when ``f`` is (checked at preparation);
* the engine (either mode) as outer over any ``AutoFiniteDiff`` inner: the finite-difference
  kernels are plain NumPy code the engine traces.

Every other pair would hand one framework's tracers to another framework's derivative code,
which drops them and gives a wrong number; those pairs raise ``UnsupportedError`` when the
second-order kernel is built (at preparation). :func:`second_order_support` is the rule; the
CLI and the harness ask it too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._backend_types import AbstractBackend, AutoFiniteDiff, SecondOrder
from ._errors import UnsupportedError

if TYPE_CHECKING:
    from ._protocol import Adapter, FlatFunction, Kernel

_FIRST_ORDER = ("jax", "torch", "autograd", "finitediff", "engine")

WORKING_PAIRS = (
    "Pairs that work: the same framework in any modes (e.g. SecondOrder(AutoJax(mode='forward'), "
    "AutoJax(mode='reverse')), torch over torch, autograd over autograd, engine over engine); "
    "AutoFiniteDiff with method 'central', 'forward' or 'backward' as outer over any inner; "
    "AutoFiniteDiff(method='complex') as outer over an AutoFiniteDiff inner with method "
    "'central', 'forward' or 'backward'; AutoEngine (either mode) as outer over any "
    "AutoFiniteDiff inner. A single backend (e.g. 'jax') also computes second derivatives itself."
)


def _resolve(b: Any) -> AbstractBackend:
    from ._registry import resolve

    return resolve(b)


def is_complex_step(b: AbstractBackend) -> bool:
    return isinstance(b, AutoFiniteDiff) and b.method == "complex"


def second_order_support(outer: Any, inner: Any) -> tuple[bool, str]:
    """Whether ``SecondOrder(outer, inner)`` computes right second derivatives.

    Args:
        outer, inner: backends or backend names.

    Returns:
        ``(True, "")`` for a supported pair, else ``(False, reason)`` with the message the
        ``UnsupportedError`` raised at preparation carries (names the pair and lists the pairs
        that work).

    Example:
        >>> import anydiff as ad
        >>> from anydiff._second_order import second_order_support
        >>> second_order_support("finitediff", "jax")
        (True, '')
        >>> second_order_support("torch", "jax")[0]
        False
    """
    o, i = _resolve(outer), _resolve(inner)
    pair = f"SecondOrder({o!r}, {i!r})"
    for role, b in (("outer", o), ("inner", i)):
        if isinstance(b, SecondOrder) or b.name not in _FIRST_ORDER:
            return False, (
                f"{pair} is not supported: its {role} backend must be a first-order backend "
                f"(one of {', '.join(_FIRST_ORDER)}), got {type(b).__name__}. {WORKING_PAIRS}"
            )
    if o == i:
        return True, ""
    if o.name == "finitediff":
        if not is_complex_step(o):
            return True, ""
        if i.name == "finitediff" and not is_complex_step(i):
            return True, ""
        return False, (
            f"{pair} is not supported: the complex step as outer backend evaluates the inner "
            "first derivative at complex points x + i h t, which gives the second derivative "
            "only when that derivative code is the analytic continuation of a real function; "
            f"that holds for real-method finite differences, not for {i.name}'s "
            f"{'complex step' if i.name == 'finitediff' else 'derivative of a complex input'}. "
            + WORKING_PAIRS
        )
    if o.name == i.name:
        return True, ""
    if o.name == "engine" and i.name == "finitediff":
        return True, ""
    return False, (
        f"{pair} is not supported: {o.name} (outer) would have to trace {i.name}'s "
        f"derivative code, and one AD framework cannot trace another framework's derivative "
        f"code ({i.name} would drop {o.name}'s tracers, giving a wrong number). " + WORKING_PAIRS
    )


def require_supported(outer: AbstractBackend, inner: AbstractBackend) -> None:
    """Raise the pair's ``UnsupportedError`` unless :func:`second_order_support` allows it."""
    ok, reason = second_order_support(outer, inner)
    if not ok:
        raise UnsupportedError(reason)


def analytic_checked(F: Any) -> bool:
    """Whether ``F`` is an inner derivative whose complex-step analyticity check is done by the
    second-order kernel on ``f`` itself (see :func:`with_complex_step_check`)."""
    return bool(getattr(F, "analytic_checked", False))


def with_complex_step_check(
    kernel: Kernel, outer: Adapter, inner: Adapter, F: FlatFunction
) -> Kernel:
    """Check ``f`` against central differences on the first call of the preparation's kernels
    (inside prepare_*) where the complex step runs on points that cannot check themselves: the
    complex step as outer (it sees the inner derivative, not f), or as inner under the engine
    (it sees traced arrays)."""
    if is_complex_step(outer.backend):
        checker = outer
    elif is_complex_step(inner.backend) and outer.backend.name == "engine":
        checker = inner
    else:
        return kernel
    G = F.flat()

    def checked(x: Any, T: Any, ctx: tuple) -> tuple:
        checker.check_once(G, x, ctx)  # type: ignore[attr-defined]
        return kernel(x, T, ctx)

    return checked


def needs_prepare_call(outer: Adapter, inner: Adapter) -> bool:
    """Whether the pair's kernels must run once inside prepare_* (their checks run there)."""
    return bool(inner.compile_on_prepare) or is_complex_step(outer.backend)

