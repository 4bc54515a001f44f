"""``scipy.integrate.odeint`` and ``solve_ivp`` with traced initial values and parameters.

The solution ``Y`` (at the requested times) is one primitive whose inputs are ``y0`` and the
traced *parameters* of the right-hand side ``func``: traced values among ``args=`` and traced
values ``func`` reads from its closure (``lambda y, t: -k * y`` with a traced ``k``; also
through helper functions it closes over).  The primitive substitutes each input into its
place (the argument, the closure cell) for the duration of a call and puts the original back,
so a recorded tape replays with new parameter values.  (The cells are shared with the
recording call's frame only; anydiff's prepared operators use a tape from one thread at a time.)

Derivatives: forward sensitivity equations.  With ``p`` the parameters (flattened) and
``S = [dy/dy0, dy/dp]`` (``n x (n + P)``), ``dS/dt = J_y S + [0, J_p]``, ``S(t0) = [I, 0]``;
``J_y S + J_p`` is one forward-mode pass of the engine through ``func`` (``n + P`` tangent
directions).  The state augmented with ``S`` is integrated by the same SciPy solver with the
caller's options, so the derivative is that of the exact solution, accurate to the solver's
tolerances (as the value is).  Both modes contract ``S`` (forward: with the tangents;
reverse: with the cotangent).  Traced output times of ``odeint`` have the exact rule
``dY_k/dt_k = f(Y_k, t_k)`` and ``dY_k/dt_0 = -S_y0(t_k) f(y0, t0)``.  Second derivatives
raise.  Options without a rule (``Dfun``, ``full_output``, ``events``, ``dense_output``, a
complex state) raise ``EngineError`` naming them.
"""

from __future__ import annotations

import contextlib
import types
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from . import _rules as R
from ._errors import EngineError, no_rule
from ._tracer import Prim, bind, is_traced, primal


class _Spec:
    """The right-hand side with its parameters' places, and the solver call (static)."""

    def __init__(self, func: Callable, args: tuple, places: list, solve: Callable, tfirst: bool):
        self.func, self.args, self.places, self.solve, self.tfirst = func, args, places, solve, tfirst

    @contextlib.contextmanager
    def bound(self, thetas: list) -> Iterator[tuple]:
        """The positional ``args`` with ``thetas`` in place, and the closure cells set to them."""
        args = list(self.args)
        saved = []
        try:
            for (kind, where), th in zip(self.places, thetas):
                if kind == "arg":
                    args[where] = th
                else:
                    saved.append((where, where.cell_contents))
                    where.cell_contents = th
            yield tuple(args)
        finally:
            for cell, v in reversed(saved):
                cell.cell_contents = v

    def rhs(self, y: Any, t: Any, args: tuple) -> Any:
        return self.func(t, y, *args) if self.tfirst else self.func(y, t, *args)


def _cells(func: Any, seen: set) -> Iterator[Any]:
    """The closure cells of ``func`` and of the functions it closes over (each once)."""
    if not isinstance(func, types.FunctionType) or id(func) in seen:
        return
    seen.add(id(func))
    for cell in func.__closure__ or ():
        try:
            v = cell.cell_contents
        except ValueError:  # an empty cell (a name assigned later)
            continue
        yield cell
        if isinstance(v, types.FunctionType):
            yield from _cells(v, seen)


def _places(func: Callable, args: tuple) -> tuple[list, list]:
    """Where the traced parameters are: ``[("arg", i) | ("cell", cell)]`` and their values."""
    places, values = [], []
    for i, a in enumerate(args):
        if is_traced(a):
            places.append(("arg", i))
            values.append(a)
    cells: list = []
    for cell in _cells(getattr(func, "__func__", func), set()):
        # each cell once (helpers defined in one scope share it); one value in two cells is
        # two inputs, whose derivatives add up
        if is_traced(cell.cell_contents) and not any(cell is c for c in cells):
            cells.append(cell)
            places.append(("cell", cell))
            values.append(cell.cell_contents)
    return places, values


def _real_array(a: Any, what: str) -> Any:
    if R.is_complex(a):
        raise no_rule(f"{what} with a complex state or parameter")
    return a if R.dtype_of(a).kind == "f" else np.asarray(a, dtype=float)


# ---------------------------------------------------------------------------- the primitives


def _plain_rhs(spec: _Spec) -> Callable:
    def rhs(y: np.ndarray, t: float, args: tuple) -> np.ndarray:
        r = spec.rhs(y, t, args)
        if is_traced(r):
            raise EngineError(
                "the right-hand side of the ODE reads a traced value that is neither in args= nor "
                "a variable of its closure (a global, an attribute, a list element?): pass it "
                "through args="
            )
        return np.asarray(primal(r), dtype=float)

    return rhs


def _ode_impl(y0: Any, t: Any, *thetas: Any, spec: _Spec) -> Any:
    with spec.bound(list(thetas)) as args:
        rhs = _plain_rhs(spec)
        return spec.solve(
            lambda y, tt: rhs(y, tt, args), np.asarray(y0, dtype=float), np.asarray(t, dtype=float), 0
        )


def _sens_impl(y0: Any, t: Any, *thetas: Any, spec: _Spec, cols: tuple) -> Any:
    """``S`` at the output times, ``(len(t), n, C)``: the columns of the inputs ``[y0, *thetas]``
    flagged in ``cols``."""
    from ._forward import jvp_batched
    from ._intercept import intercepted

    y0 = np.asarray(y0, dtype=float)
    n = y0.size
    shapes = [np.shape(th) for th in thetas]
    blocks = [n] + [int(np.prod(s)) for s in shapes]
    offs = np.concatenate([[0], np.cumsum(blocks)]).astype(int)  # offsets in z = (y, p)
    keep = [k for k, c in enumerate(cols) if c]
    C = sum(blocks[k] for k in keep)
    P = int(offs[-1]) - n
    Dp = np.zeros((C, P))  # directions in p: the identity on the kept parameters' entries
    S0 = np.zeros((n, C))  # S(t0): the identity on y0's columns
    c0 = 0
    for k in keep:
        if k == 0:
            S0[:, :n] = np.eye(n)
        else:
            Dp[c0 : c0 + blocks[k], offs[k] - n : offs[k + 1] - n] = np.eye(blocks[k])
        c0 += blocks[k]
    p0 = np.concatenate([np.ravel(np.asarray(th, dtype=float)) for th in thetas]) if thetas else np.zeros(0)

    def g(z: Any, tt: float) -> Any:
        pieces = [np.reshape(z[offs[k] : offs[k + 1]], shapes[k - 1]) for k in range(1, len(blocks))]
        with spec.bound(pieces) as args:
            return spec.rhs(z[:n], tt, args)

    def aug(w: np.ndarray, tt: float) -> np.ndarray:
        S = w[n:].reshape(n, C)
        T = np.concatenate([S.T, Dp], axis=1)  # (C, n + P): the directions in (y, p)
        fy, JT = jvp_batched(intercepted(g), np.concatenate([w[:n], p0]), T, (tt,))
        return np.concatenate([np.ravel(primal(fy)), np.asarray(JT).T.ravel()])

    W = spec.solve(aug, np.concatenate([y0, S0.ravel()]), np.asarray(t, dtype=float), C)
    return W[:, n:].reshape(len(W), n, C)


def _second(*a: Any) -> Any:
    raise no_rule("second derivatives through scipy.integrate ODE solvers")


SENS = Prim("scipy.integrate ODE sensitivities", _sens_impl, _second, _second)


def _sens(xs: list, p: dict, need: list) -> list:
    """The sensitivity blocks ``dY/dy0``, ``dY/dtheta_i`` (``(len(t), n, size)``) of the
    inputs ``[y0, *thetas]`` flagged in ``need`` (a traced ``t`` needs y0's)."""
    y0, thetas = xs[0], xs[2:]
    cols = (need[0] or need[1], *need[2:])
    out: list = [None] * len(cols)
    if any(cols):
        S = bind(SENS, xs, {"spec": p["spec"], "cols": cols})
        sizes = [R.shape_of(y0)[0]] + [int(np.prod(R.shape_of(x))) for x in thetas]
        c0 = 0
        for k, c in enumerate(cols):
            if c:
                out[k] = S[:, :, c0 : c0 + sizes[k]]
                c0 += sizes[k]
    return out


def _rhs_at(Y: Any, xs: list, p: dict) -> Any:
    """``f(Y_k, t_k)`` for every output time (``(len(t), n)``)."""
    spec = p["spec"]
    with spec.bound(list(xs[2:])) as args:
        return np.stack([np.asarray(spec.rhs(Y[k], xs[1][k], args)) for k in range(R.shape_of(Y)[0])])


def _ode_jvp(ts: list, xs: list, Y: Any, p: dict) -> Any:
    need = [t is not None for t in ts]
    Ss = _sens(xs, p, need)
    out: Any = 0
    for S, t in zip(Ss, [ts[0], *ts[2:]]):
        if S is not None and t is not None:
            out = out + np.einsum("knc,bc->bkn", S, np.reshape(t, (R.shape_of(t)[0], -1)))
    if ts[1] is not None:  # dY_k = F_k dt_k - S_y0(t_k) F_0 dt_0, and dY_0 = 0
        F = _rhs_at(Y, xs, p)
        dt = ts[1]
        out = out + F * dt[:, :, None] - np.einsum("knc,c,b->bkn", Ss[0], F[0], dt[:, 0])
    return out


def _ode_vjp(g: Any, xs: list, Y: Any, need: tuple, p: dict) -> tuple:
    Ss = _sens(xs, p, list(need))
    grads = [
        None if S is None else np.reshape(np.einsum("kn,knc->c", g, S), R.shape_of(x))
        for S, x in zip(Ss, [xs[0], *xs[2:]])
    ]
    gt = None
    if need[1]:
        F = _rhs_at(Y, xs, p)
        gt = np.sum(g * F, axis=1)
        gt = np.concatenate([-np.einsum("kn,knc,c->", g[1:], Ss[0][1:], F[0])[None], gt[1:]])
    return (grads[0] if need[0] else None, gt, *grads[1:])


ODE = Prim("scipy.integrate ODE solution", _ode_impl, _ode_jvp, _ode_vjp)


def _solution(name: str, func: Callable, y0: Any, t: Any, args: tuple, solve: Callable, tfirst: bool) -> Any:
    y0 = np.ravel(_real_array(R.as_operand(y0), f"scipy.integrate.{name}"))
    places, thetas = _places(func, args)
    thetas = [_real_array(th, f"scipy.integrate.{name}") for th in thetas]
    spec = _Spec(func, args, places, solve, tfirst)
    return bind(ODE, [y0, t, *thetas], {"spec": spec})


# ---------------------------------------------------------------------------- the solvers


def _tolerances(options: dict, C: int, names: tuple = ("rtol", "atol")) -> dict:
    """``options`` for the state augmented with ``C`` sensitivity columns per component: a
    per-component tolerance applies to that component's row of ``S`` too."""
    if not C:
        return options
    out = dict(options)
    for k in names:
        v = out.get(k)
        if v is not None and np.ndim(v) == 1:
            v = np.asarray(v, dtype=float)
            out[k] = np.concatenate([v, np.repeat(v, C)])
    return out


#: options that describe the Jacobian of the right-hand side itself (not of the augmented one)
_JACOBIAN_HINTS = ("ml", "mu", "jac", "jac_sparsity", "lband", "uband")


def odeint(
    func: Callable,
    y0: Any,
    t: Any,
    args: Any = (),
    Dfun: Any = None,
    col_deriv: int = 0,
    full_output: int = 0,
    tfirst: bool = False,
    **options: Any,
) -> Any:
    """``scipy.integrate.odeint`` with traced ``y0``, parameters and output times ``t``."""
    import scipy.integrate as si

    if Dfun is not None or full_output:
        raise no_rule("scipy.integrate.odeint with " + ("Dfun=" if Dfun is not None else "full_output=True"))
    args = args if isinstance(args, tuple) else (args,)

    def solve(rhs: Callable, z0: np.ndarray, times: np.ndarray, C: int) -> np.ndarray:
        opts = _tolerances({k: v for k, v in options.items() if not (C and k in _JACOBIAN_HINTS)}, C)
        return si.odeint(rhs, z0, times, **opts)  # plain arguments: SciPy's own function

    if not is_traced(t):
        t = np.asarray(primal(t), dtype=float)
    return _solution("odeint", func, y0, t, args, solve, bool(tfirst))


def solve_ivp(
    fun: Callable,
    t_span: Any,
    y0: Any,
    method: Any = "RK45",
    t_eval: Any = None,
    dense_output: bool = False,
    events: Any = None,
    vectorized: bool = False,
    args: Any = None,
    **options: Any,
) -> Any:
    """``scipy.integrate.solve_ivp`` with traced ``y0`` and parameters, at the times ``t_eval``;
    the result's ``y`` is traced, the other fields are SciPy's (of the plain solution)."""
    import scipy.integrate as si

    if t_eval is None or dense_output or events is not None:
        raise no_rule(
            "scipy.integrate.solve_ivp without t_eval= (the output times would depend on the "
            "parameters), or with dense_output=True or events="
        )
    if is_traced(t_span) or is_traced(t_eval) or any(is_traced(v) for v in options.values()):
        raise no_rule("scipy.integrate.solve_ivp with traced t_span, t_eval or options")
    args = () if args is None else (args if isinstance(args, tuple) else (args,))
    t_span = tuple(float(v) for v in primal(t_span))
    times = np.asarray(primal(t_eval), dtype=float)
    last: list = []

    def solve(rhs: Callable, z0: np.ndarray, tt: np.ndarray, C: int) -> np.ndarray:
        # a callable jac= takes args= too, which only the right-hand side gets here: without
        # it the implicit methods estimate the Jacobian (the same solution, to tolerance)
        drop = lambda k, v: (C and k in _JACOBIAN_HINTS) or (k == "jac" and callable(v) and args)  # noqa: E731
        opts = _tolerances({k: v for k, v in options.items() if not drop(k, v)}, C, ("atol",))
        sol = si.solve_ivp(lambda s, z: rhs(z, s), t_span, z0, method=method, t_eval=tt, **opts)
        if not sol.success:
            raise EngineError(f"scipy.integrate.solve_ivp failed: {sol.message}")
        if not C:
            last[:] = [sol]
        return sol.y.T

    Y = _solution("solve_ivp", fun, y0, times, args, solve, True)
    res = last[0]  # the plain run of this trace (the primitive ran it just now)
    res.y = np.swapaxes(Y, 0, 1)
    return res


def _engages(args: tuple, kw: dict) -> bool:
    """Whether the right-hand side reads traced values from its closure (no argument is traced)."""
    func = args[0] if args else kw.get("func", kw.get("fun"))
    return callable(func) and bool(_places(func, ())[0])


odeint.engages = _engages  # type: ignore[attr-defined]
solve_ivp.engages = _engages  # type: ignore[attr-defined]
TABLE: dict[str, Callable] = {"odeint": odeint, "solve_ivp": solve_ivp}
