"""Wrappers for methods of SciPy classes, put in place by :mod:`._intercept` with the
submodule's functions: the ``scipy.stats`` distributions' methods (continuous, discrete,
multivariate, frozen) and the ``scipy.interpolate`` splines' ``__call__``.

Each wrapper runs SciPy's own method unless ``active(args, kwargs)`` (a trace runs in this
thread and an argument is traced); then it routes to the engine's rule.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

Active = Callable[[tuple, dict], bool]


def _dist_wrapper(orig: Callable, method: str, active: Active) -> Callable:
    from . import _scipy_stats as S

    @functools.wraps(orig)
    def wrapper(self: Any, *args: Any, **kw: Any) -> Any:
        if active(args, kw):
            if not S.supported(self):
                raise S.unsupported(self, method)
            if not args:
                args = (kw.pop("x") if "x" in kw else kw.pop("k"),)
            return S.univariate(self, method, args[0], args[1:], kw)
        return orig(self, *args, **kw)

    return wrapper


def _mvn_wrapper(orig: Callable, impl: Callable, frozen: Callable | None, active: Active) -> Callable:
    """A multivariate distribution's method (``frozen``: the frozen object's parameters)."""

    @functools.wraps(orig)
    def wrapper(self: Any, *args: Any, **kw: Any) -> Any:
        if active(args, kw):
            if frozen is not None:  # the frozen object's parameters are plain arrays
                return impl(*args, *frozen(self))
            return impl(*args, **kw)
        return orig(self, *args, **kw)

    return wrapper


def wrap_classes(sub: str, active: Active) -> None:
    """Wrap the methods of submodule ``sub``'s classes (once, when it is first wrapped)."""
    if sub == "scipy.stats":
        import scipy.stats as st
        from scipy.stats import _distn_infrastructure as di
        from scipy.stats import _multivariate as mv

        from . import _scipy_stats as S
        from ._scipy_stats_mv import multivariate_methods

        for m in S.METHODS:
            setattr(di.rv_continuous, m, _dist_wrapper(di.rv_continuous.__dict__[m], m, active))
        for m in S.DISCRETE_METHODS:
            setattr(di.rv_discrete, m, _dist_wrapper(di.rv_discrete.__dict__[m], m, active))
        for cls_name, m, impl, frozen in multivariate_methods():
            cls = st.gaussian_kde if cls_name == "gaussian_kde" else getattr(mv, cls_name)
            setattr(cls, m, _mvn_wrapper(cls.__dict__[m], impl, frozen, active))
    elif sub == "scipy.interpolate":  # spline objects called at traced points
        from ._scipy_interpolate import method_wrappers

        for cls, m, w in method_wrappers(active):
            setattr(cls, m, w)
