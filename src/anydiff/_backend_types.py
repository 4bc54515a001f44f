"""Backend descriptors: small frozen dataclasses users pass to every operator.

They import no AD framework. Each states its abilities as attributes, so code (and the docs
table) can ask ``AutoTorch().forward_fast`` without importing torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from ._errors import AnydiffValueError

__all__ = [
    "AbstractBackend",
    "AutoJax",
    "AutoTorch",
    "AutoAutograd",
    "AutoFiniteDiff",
    "AutoEngine",
    "SecondOrder",
    "MixedMode",
]


@dataclass(frozen=True)
class AbstractBackend:
    """Common base of every backend descriptor.

    Class attributes (abilities):
        name: registry name (``"jax"``, ``"torch"``, ...).
        extra: the pip extra that installs the AD system.
        forward_fast / reverse_fast: whether pushforwards / pullbacks cost O(1) calls of ``f``.
        inplace_function: supports the in-place form ``f(y, x)``.
        mutation: supports array mutation inside ``f`` (``a[i] = ...`` on arrays created in ``f``).
        complex_numbers: supports complex ``x`` and ``y``.
        plain_numpy: differentiates code written with ``import numpy as np`` as is.
    """

    name: ClassVar[str] = "abstract"
    extra: ClassVar[str | None] = None
    forward_fast: ClassVar[bool] = False
    reverse_fast: ClassVar[bool] = False
    inplace_function: ClassVar[bool] = False
    mutation: ClassVar[bool] = False
    complex_numbers: ClassVar[bool] = True
    plain_numpy: ClassVar[bool] = False

    @property
    def traits(self) -> dict[str, Any]:
        """The abilities as a dict (for tables and ``python -m anydiff info``)."""
        return {
            "forward_fast": self.forward_fast,
            "reverse_fast": self.reverse_fast,
            "inplace_function": self.inplace_function,
            "mutation": self.mutation,
            "complex_numbers": self.complex_numbers,
            "plain_numpy": self.plain_numpy,
        }


def _check_choice(owner: str, field: str, value: Any, choices: tuple) -> None:
    if value not in choices:
        raise AnydiffValueError(f"{owner}({field}={value!r}): expected one of {choices}.")


@dataclass(frozen=True)
class AutoJax(AbstractBackend):
    """JAX: ``jax.grad``, ``jax.jvp``, ``jax.vjp``, ``jax.vmap`` and ``jax.jit``.

    Args:
        mode: ``None`` picks per operator; ``"forward"`` or ``"reverse"`` forces Jacobian mode.
        jit: compile prepared operators with ``jax.jit``.

    Example:
        >>> import anydiff as ad
        >>> ad.AutoJax(mode="forward") == ad.AutoJax("forward")
        True
    """

    mode: Literal["forward", "reverse"] | None = None
    jit: bool = True
    name: ClassVar[str] = "jax"
    extra: ClassVar[str] = "jax"
    forward_fast: ClassVar[bool] = True
    reverse_fast: ClassVar[bool] = True

    def __post_init__(self) -> None:
        _check_choice("AutoJax", "mode", self.mode, (None, "forward", "reverse"))


@dataclass(frozen=True)
class AutoTorch(AbstractBackend):
    """PyTorch: ``torch.func`` transforms, with ``torch.autograd`` for in-place functions.

    Example:
        >>> import anydiff as ad
        >>> ad.AutoTorch().reverse_fast
        True
    """

    mode: Literal["forward", "reverse"] | None = None
    name: ClassVar[str] = "torch"
    extra: ClassVar[str] = "torch"
    forward_fast: ClassVar[bool] = True
    reverse_fast: ClassVar[bool] = True
    inplace_function: ClassVar[bool] = True
    mutation: ClassVar[bool] = True

    def __post_init__(self) -> None:
        _check_choice("AutoTorch", "mode", self.mode, (None, "forward", "reverse"))


@dataclass(frozen=True)
class AutoAutograd(AbstractBackend):
    """HIPS autograd: reverse mode on Array API code (``xp = ad.array_namespace(x)``) and
    ``autograd.numpy`` code.

    Plain NumPy code runs only in part, so ``plain_numpy`` is ``False``: NumPy ufuncs
    (arithmetic, ``np.sin``, ``np.exp``, ``np.maximum``, comparisons, ...) and the reductions
    NumPy forwards to array methods (``np.sum``, ``np.mean``, ``np.prod``, ``np.max``) are traced;
    other NumPy functions (``np.where``, ``np.concatenate``, ``np.stack``, ``np.dot``,
    ``np.array([...])``, ``np.zeros`` buffers, SciPy) are not, and raise ``UnsupportedError``
    pointing to ``"engine"`` / ``"finitediff"``.

    Example:
        >>> import anydiff as ad
        >>> ad.AutoAutograd().forward_fast, ad.AutoAutograd().plain_numpy
        (False, False)
    """

    name: ClassVar[str] = "autograd"
    extra: ClassVar[str] = "autograd"
    reverse_fast: ClassVar[bool] = True
    plain_numpy: ClassVar[bool] = False  # ufuncs and method reductions only (see above)


@dataclass(frozen=True)
class AutoFiniteDiff(AbstractBackend):
    """Finite differences on NumPy: works on any code, costs O(n) calls of ``f`` per Jacobian.

    Args:
        method: ``"central"`` (default), ``"forward"``, ``"backward"``, ``"richardson"``
            (central quotients at steps ``h0 / 2^k`` extrapolated in a Romberg tableau, with an
            error estimate; relative error ~1e-12 on smooth float64 f) or ``"complex"`` (complex
            step: exact to rounding for real analytic ``f`` of real ``x``).
        rel_step: relative step; the step is ``rel_step * max(1, |x_i|)`` (Richardson: the
            first step ``h0``).
        abs_step: absolute step, used as is (overrides ``rel_step``).
        order: accuracy order of the stencil for ``"central"`` (2, 4, 6 or 8; error ~
            ``eps^(p/(p+1))``, 2 p / 2 ... p evaluations per direction) and ``"forward"`` /
            ``"backward"`` (1 to 6). ``None`` means the method's default (2 central, 1
            one-sided) and is normalised to it, so ``AutoFiniteDiff(order=2) ==
            AutoFiniteDiff()``. Must be ``None`` for ``"richardson"`` and ``"complex"``.
        error: also estimate the error of first-order results, elementwise, read with
            ``prep.error_estimate`` after a prepared call (about doubles the evaluations;
            ``"richardson"`` always estimates, at no extra cost). See
            ``docs/finite_differences.md``.

    Example:
        >>> import anydiff as ad
        >>> float(ad.derivative(lambda x: x**3, ad.AutoFiniteDiff(), 2.0))  # doctest: +ELLIPSIS
        12.0...
        >>> ad.AutoFiniteDiff(order=4).order, ad.AutoFiniteDiff("forward").order
        (4, 1)
    """

    method: Literal["central", "forward", "backward", "richardson", "complex"] = "central"
    rel_step: float | None = None
    abs_step: float | None = None
    order: int | None = None
    error: bool = False
    name: ClassVar[str] = "finitediff"
    forward_fast: ClassVar[bool] = True
    inplace_function: ClassVar[bool] = True
    mutation: ClassVar[bool] = True
    plain_numpy: ClassVar[bool] = True

    #: orders each stencil method accepts (the first is the default).
    ORDERS: ClassVar[dict[str, tuple[int, ...]]] = {
        "central": (2, 4, 6, 8), "forward": (1, 2, 3, 4, 5, 6), "backward": (1, 2, 3, 4, 5, 6),
    }

    def __post_init__(self) -> None:
        _check_choice(
            "AutoFiniteDiff", "method", self.method,
            ("central", "forward", "backward", "richardson", "complex"),
        )
        for field in ("rel_step", "abs_step"):
            step = getattr(self, field)
            if step is not None and not step > 0:
                raise AnydiffValueError(f"AutoFiniteDiff({field}={step!r}) must be positive.")
        orders = self.ORDERS.get(self.method)
        if orders is None:
            if self.order is not None:
                raise AnydiffValueError(
                    f"AutoFiniteDiff(method={self.method!r}, order={self.order!r}): order applies "
                    "to the stencil methods 'central' (2, 4, 6, 8), 'forward' and 'backward' "
                    "(1 to 6); leave it None here."
                )
        elif self.order is None:
            object.__setattr__(self, "order", orders[0])  # normalised: equal settings compare equal
        elif isinstance(self.order, bool) or self.order not in orders:
            raise AnydiffValueError(
                f"AutoFiniteDiff(method={self.method!r}, order={self.order!r}): expected one of "
                f"{orders}."
            )
        if not isinstance(self.error, bool):
            raise AnydiffValueError(f"AutoFiniteDiff(error={self.error!r}) must be True or False.")
        if self.error and self.method == "complex":
            raise AnydiffValueError(
                "AutoFiniteDiff(method='complex', error=True): the complex step has no error "
                "estimate (its error is rounding only for real-analytic f); use "
                "method='richardson' or a central stencil with error=True."
            )


@dataclass(frozen=True)
class AutoEngine(AbstractBackend):
    """anydiff's own engine: differentiates plain NumPy code, mutation included.

    Args:
        mode: ``"reverse"`` (tape; prepared calls replay it) or ``"forward"`` (batched tangents).

    Example:
        >>> import anydiff as ad
        >>> ad.AutoEngine("forward").forward_fast
        True
    """

    mode: Literal["forward", "reverse"] = "reverse"
    name: ClassVar[str] = "engine"
    inplace_function: ClassVar[bool] = True
    mutation: ClassVar[bool] = True
    plain_numpy: ClassVar[bool] = True

    def __post_init__(self) -> None:
        _check_choice("AutoEngine", "mode", self.mode, ("forward", "reverse"))

    @property  # type: ignore[override]
    def forward_fast(self) -> bool:
        return self.mode == "forward"

    @property  # type: ignore[override]
    def reverse_fast(self) -> bool:
        return self.mode == "reverse"


@dataclass(frozen=True)
class SecondOrder(AbstractBackend):
    """Second-order operators: ``outer`` differentiates ``inner``'s first derivative.

    ``hvp`` is forward-over-reverse when ``outer`` has fast forward mode, reverse-over-reverse
    otherwise. First-order operators use ``inner``.

    ``outer`` must be able to trace ``inner``'s derivative code: the same framework in any
    modes, finite differences (``central``, ``forward``, ``backward``) over any inner, the
    complex step over a ``central`` / ``forward`` / ``backward`` finite-difference inner, or
    the engine over any finite-difference inner. Other pairs raise ``UnsupportedError`` when a
    second-order operator is prepared (``anydiff._second_order.second_order_support`` is the
    rule); first-order operators still work on ``inner``.

    Example:
        >>> import anydiff as ad
        >>> b = ad.SecondOrder(ad.AutoFiniteDiff(), "finitediff")
        >>> b.inner == ad.AutoFiniteDiff()
        True
    """

    outer: Any
    inner: Any
    name: ClassVar[str] = "secondorder"

    def __post_init__(self) -> None:
        from ._registry import resolve

        object.__setattr__(self, "outer", resolve(self.outer))
        object.__setattr__(self, "inner", resolve(self.inner))

    def __getattribute__(self, item: str) -> Any:
        # Abilities are those of the backend that runs first-order code: the inner one.
        if item in ("forward_fast", "reverse_fast", "inplace_function", "mutation",
                    "complex_numbers", "plain_numpy", "extra"):
            return getattr(object.__getattribute__(self, "inner"), item)
        return object.__getattribute__(self, item)


@dataclass(frozen=True)
class MixedMode(AbstractBackend):
    """A forward and a reverse backend, reserved for bidirectional colouring of sparse
    Jacobians, a future feature (sparse Jacobians and Hessians are not implemented yet).

    It is not a backend by itself: passing it to an operator or ``prepare_*`` today raises a
    ``TypeError`` (an ``ad.AnydiffError``) saying so.

    Example:
        >>> import anydiff as ad
        >>> ad.MixedMode("jax", "engine").reverse == ad.AutoEngine()
        True
    """

    forward: Any
    reverse: Any
    name: ClassVar[str] = "mixedmode"
    #: why it cannot run an operator (the registry raises it as a TypeError).
    not_a_backend: ClassVar[str] = (
        "MixedMode(forward, reverse) is reserved for bidirectional colouring of sparse Jacobians, "
        "a future feature; it cannot compute derivatives by itself. Pass one of its backends "
        "(e.g. its forward or reverse backend) instead."
    )

    def __post_init__(self) -> None:
        from ._registry import resolve

        object.__setattr__(self, "forward", resolve(self.forward))
        object.__setattr__(self, "reverse", resolve(self.reverse))
