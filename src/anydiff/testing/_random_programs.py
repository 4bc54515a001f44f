"""Random Array-API programs for property tests: compositions nobody wrote by hand.

A :class:`Program` is a straight-line list of instructions over numbered values ``v0 = x, v1,
v2, ...``. Each instruction is an Array-API operation every backend namespace has (elementwise
functions with safe domains, arithmetic with broadcasting, reductions, ``@``, reshape,
transpose, slicing). The generator tracks each value's shape and a bound on its magnitude, so
every program is well-defined and smooth at its sample point and stays far from overflow.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._arrays import array_namespace
from ._scenario import Scenario

Shape = tuple[int, ...]

#: Unary elementwise operations: name -> (code template, bound map, allowed for input bound).
_UNARY: dict[str, tuple[str, Callable[[float], float], Callable[[float], bool]]] = {
    "sin": ("xp.sin({a})", lambda b: min(b, 1.0), lambda b: True),
    "cos": ("xp.cos({a})", lambda b: 1.0, lambda b: True),
    "tanh": ("xp.tanh({a})", lambda b: min(b, 1.0), lambda b: True),
    "exp": ("xp.exp({a})", lambda b: math.exp(b), lambda b: b <= 2.0),
    "square": ("{a} * {a}", lambda b: b * b, lambda b: b <= 6.0),
    "cube": ("{a} ** 3", lambda b: b**3, lambda b: b <= 3.0),
    "log1p_sq": ("xp.log(1.0 + {a} * {a})", lambda b: math.log1p(b * b), lambda b: True),
    "sqrt1p_sq": ("xp.sqrt(1.0 + {a} * {a})", lambda b: math.sqrt(1 + b * b), lambda b: True),
    "recip1p_sq": ("1.0 / (1.0 + {a} * {a})", lambda b: 1.0, lambda b: True),
    "neg": ("-{a}", lambda b: b, lambda b: True),
}
_BINARY: dict[str, str] = {
    "add": "{a} + {b}",
    "sub": "{a} - {b}",
    "mul": "{a} * {b}",
    "div": "{a} / (1.0 + {b} * {b})",
}


@dataclass(frozen=True)
class Instr:
    """``v_out = op(args...)``; ``param`` holds a constant, axis or shape."""

    op: str
    args: tuple[int, ...]
    param: Any = None


@dataclass
class Program:
    """A random straight-line Array-API program ``f(x)``.

    Attributes:
        seed: generator seed (programs are reproducible from it).
        x: sample point (NumPy float64 array).
        instrs: the instructions; value ``k + 1`` is the result of ``instrs[k]``.
        shapes: shape of every value (``shapes[0]`` is x's).
        scalar_output: ``f`` returns ``sum`` of the last value (for gradient, hessian, hvp).
    """

    seed: int
    x: np.ndarray
    instrs: list[Instr] = field(default_factory=list)
    shapes: list[Shape] = field(default_factory=list)
    scalar_output: bool = False

    @property
    def name(self) -> str:
        return f"prog{self.seed}" + ("-scalar" if self.scalar_output else "")

    @property
    def output_shape(self) -> Shape:
        return () if self.scalar_output else self.shapes[-1]

    def scalar(self) -> Program:
        """The same program with its output summed to a scalar."""
        return Program(self.seed, self.x, list(self.instrs), list(self.shapes), True)

    def __call__(self, x: Any) -> Any:
        xp = array_namespace(x)
        v = [x]
        for ins in self.instrs:
            v.append(_apply(xp, ins, v))
        out = v[-1]
        return xp.sum(out) if self.scalar_output else out

    def source(self) -> str:
        """The program as Python code (for failure messages)."""
        lines = [f"def {self.name.replace('-', '_')}(v0):  # v0: {self.shapes[0]}",
                 "    xp = ad.array_namespace(v0)"]
        for k, ins in enumerate(self.instrs, start=1):
            lines.append(f"    v{k} = {_code(ins)}  # {self.shapes[k]}")
        last = f"v{len(self.instrs)}"
        lines.append(f"    return {'xp.sum(' + last + ')' if self.scalar_output else last}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"Program({self.name}, {len(self.instrs)} ops)"

    def _samples(self, k: int) -> list[np.ndarray]:
        # Points in [-1, 1], where the generator's magnitude bounds hold.
        rng = np.random.default_rng(self.seed + 99_991)
        return [rng.uniform(-1.0, 1.0, size=self.x.shape) for _ in range(k)]

    def is_constant(self) -> bool:
        """Whether f is (numerically) the same at random points: its derivative is identically
        zero (``-v0 + v0``, ``v - v`` through aliases, ``cos(v)**2 + sin(v)**2``, ...)."""
        ys = [np.asarray(self(p), dtype=np.float64) for p in self._samples(4)]
        scale = 1.0 + max(float(np.max(np.abs(y), initial=0.0)) for y in ys)
        return all(np.max(np.abs(y - ys[0]), initial=0.0) <= 1e-12 * scale for y in ys[1:])

    def is_affine(self) -> bool:
        """Whether f is (numerically) affine in x: midpoints map to midpoints at random pairs
        of points, so its second derivatives vanish identically."""
        pts = self._samples(6)
        for a, b in zip(pts[::2], pts[1::2]):
            ya, yb = np.asarray(self(a)), np.asarray(self(b))
            ym = np.asarray(self((a + b) / 2))
            scale = 1.0 + float(np.max(np.abs(np.stack([ya, yb])), initial=0.0))
            if np.max(np.abs(ym - (ya + yb) / 2), initial=0.0) > 1e-10 * scale:
                return False
        return True


def _name(i: int) -> str:
    return f"v{i}"


def _code(ins: Instr) -> str:
    a = _name(ins.args[0])
    if ins.op in _UNARY:
        return _UNARY[ins.op][0].format(a=a)
    if ins.op in _BINARY:
        return _BINARY[ins.op].format(a=a, b=_name(ins.args[1]))
    return {
        "scale": f"{ins.param!r} * {a}",
        "sum": f"xp.sum({a})",
        "sum_axis": f"xp.sum({a}, axis={ins.param})",
        "mean": f"xp.mean({a})",
        "prod": f"xp.prod({a})",
        "matmul": f"{a} @ {_name(ins.args[-1])}",
        "reshape": f"xp.reshape({a}, {ins.param})",
        "transpose": f"{a}.T",
        "head": f"{a}[:-1]",
        "tail": f"{a}[1:]",
    }[ins.op]


def _apply(xp: Any, ins: Instr, v: list[Any]) -> Any:
    a = v[ins.args[0]]
    op = ins.op
    if op == "sin":
        return xp.sin(a)
    if op == "cos":
        return xp.cos(a)
    if op == "tanh":
        return xp.tanh(a)
    if op == "exp":
        return xp.exp(a)
    if op == "square":
        return a * a
    if op == "cube":
        return a**3
    if op == "log1p_sq":
        return xp.log(1.0 + a * a)
    if op == "sqrt1p_sq":
        return xp.sqrt(1.0 + a * a)
    if op == "recip1p_sq":
        return 1.0 / (1.0 + a * a)
    if op == "neg":
        return -a
    if op in _BINARY:
        b = v[ins.args[1]]
        if op == "add":
            return a + b
        if op == "sub":
            return a - b
        if op == "mul":
            return a * b
        return a / (1.0 + b * b)
    if op == "scale":
        return ins.param * a
    if op == "sum":
        return xp.sum(a)
    if op == "sum_axis":
        return xp.sum(a, axis=ins.param)
    if op == "mean":
        return xp.mean(a)
    if op == "prod":
        return xp.prod(a)
    if op == "matmul":
        return a @ v[ins.args[1]]
    if op == "reshape":
        return xp.reshape(a, ins.param)
    if op == "transpose":
        return a.T
    if op == "head":
        return a[:-1]
    if op == "tail":
        return a[1:]
    raise ValueError(op)


def _broadcastable(s: Shape, t: Shape) -> bool:
    """t broadcasts to s (trailing-dimension rule) without changing s."""
    if len(t) > len(s):
        return False
    return all(d == e or e == 1 for d, e in zip(s[::-1], t[::-1]))


def random_program(
    seed: int,
    *,
    n_ops: int | None = None,
    max_ops: int = 7,
    scalar_output: bool = False,
    x_shape: Shape | None = None,
) -> Program:
    """A reproducible random program whose output (and summed output) is not constant in x.

    Drawn programs that are numerically constant at random points (``-v0 + v0``, ...) are
    redrawn from the same generator; programs have no dead code (instructions whose value the
    output does not use are dropped).

    Args:
        seed: seed of the generator.
        n_ops: number of instructions (default: random in ``[2, max_ops]``).
        scalar_output: sum the result (for gradient / hessian / hvp).
        x_shape: shape of x (default: a vector of 2..5 or a matrix of 2..3 x 2..3 entries).

    Returns:
        The :class:`Program`; ``program.x`` is its sample point, ``program(x)`` evaluates it.

    Example:
        >>> import numpy as np
        >>> from anydiff.testing import random_program
        >>> p = random_program(3)
        >>> np.asarray(p(p.x)).shape == p.output_shape
        True
    """
    rng = np.random.default_rng(seed)
    for _ in range(50):
        p = _draw(rng, seed, n_ops, max_ops, scalar_output, x_shape)
        if not p.is_constant() and not p.scalar().is_constant():
            return p
    raise RuntimeError(f"random_program({seed}): no non-constant program in 50 draws")


def _draw(
    rng: np.random.Generator,
    seed: int,
    n_ops: int | None,
    max_ops: int,
    scalar_output: bool,
    x_shape: Shape | None,
) -> Program:
    if x_shape is None:
        if rng.random() < 0.6:
            x_shape = (int(rng.integers(2, 6)),)
        else:
            x_shape = (int(rng.integers(2, 4)), int(rng.integers(2, 4)))
    x = rng.uniform(-1.0, 1.0, size=x_shape)
    shapes: list[Shape] = [tuple(x_shape)]
    bounds: list[float] = [1.0]
    instrs: list[Instr] = []
    n_ops = int(rng.integers(2, max_ops + 1)) if n_ops is None else n_ops

    def pick_operand() -> int:
        # Prefer recent values, so programs are deep compositions rather than shallow fans.
        k = len(shapes)
        w = np.arange(1, k + 1, dtype=float) ** 2
        return int(rng.choice(k, p=w / w.sum()))

    attempts = 0
    while len(instrs) < n_ops and attempts < 50 * n_ops:
        attempts += 1
        i = pick_operand()
        s, b = shapes[i], bounds[i]
        kind = rng.choice(["unary", "binary", "reduce", "matmul", "shape"],
                          p=[0.35, 0.3, 0.1, 0.1, 0.15])
        new: tuple[Instr, Shape, float] | None = None
        if kind == "unary":
            names = [n for n, (_, _, ok) in _UNARY.items() if ok(b)] + ["scale"]
            name = str(rng.choice(names))
            if name == "scale":
                c = float(np.round(rng.uniform(0.5, 2.0) * rng.choice([-1, 1]), 2))
                new = (Instr("scale", (i,), c), s, abs(c) * b)
            else:
                new = (Instr(name, (i,)), s, _UNARY[name][1](b))
        elif kind == "binary":
            partners = [j for j, t in enumerate(shapes) if _broadcastable(s, t)]
            j = int(rng.choice(partners))
            # v - v is identically zero: a program that no longer depends on x tests nothing
            name = str(rng.choice([n for n in _BINARY if not (n == "sub" and i == j)]))
            bound = {"add": b + bounds[j], "sub": b + bounds[j], "mul": b * bounds[j],
                     "div": b}[name]
            new = (Instr(name, (i, j)), s, bound)
        elif kind == "reduce" and len(s) >= 1:
            size = int(np.prod(s))
            choice = str(rng.choice(["sum", "sum_axis", "mean", "prod"]))
            if choice == "sum_axis" and len(s) == 2:
                ax = int(rng.integers(0, 2))
                new = (Instr("sum_axis", (i,), ax), s[:ax] + s[ax + 1:], b * s[ax])
            elif choice == "prod" and size <= 4 and b <= 2.0:
                new = (Instr("prod", (i,)), (), b**size)
            elif choice == "mean":
                new = (Instr("mean", (i,)), (), b)
            else:
                new = (Instr("sum", (i,)), (), b * size)
        elif kind == "matmul" and len(s) >= 1:
            partners = [
                j for j, t in enumerate(shapes)
                if len(t) >= 1 and not (len(s) == 1 and len(t) == 1) and s[-1] == t[0]
            ]
            if partners:
                j = int(rng.choice(partners))
                t = shapes[j]
                out = s[:-1] + t[1:]
                new = (Instr("matmul", (i, j)), out, b * bounds[j] * s[-1])
        elif kind == "shape" and len(s) >= 1:
            size = int(np.prod(s))
            options = ["head", "tail"] if len(s) == 1 and s[0] >= 3 else []
            if len(s) == 2:
                options += ["transpose", "reshape"]
            elif size in (4, 6):
                options.append("reshape")
            if options:
                name = str(rng.choice(options))
                if name == "transpose":
                    new = (Instr("transpose", (i,)), (s[1], s[0]), b)
                elif name == "reshape":
                    target = (size,) if len(s) == 2 else (2, size // 2)
                    new = (Instr("reshape", (i,), target), target, b)
                else:
                    new = (Instr(name, (i,)), (s[0] - 1,), b)
        if new is None or new[2] > 1e3:
            continue
        ins, shape, bound = new
        instrs.append(ins)
        shapes.append(tuple(shape))
        bounds.append(bound)
    if not instrs:  # fall back to one smooth op so every program differentiates something
        instrs.append(Instr("sin", (0,)))
        shapes.append(shapes[0])
    return _prune(Program(seed, x, instrs, shapes, scalar_output))


def _prune(p: Program) -> Program:
    """Drop instructions whose values the output does not use (dead code), renumbering."""
    live = {len(p.instrs)}
    for k in range(len(p.instrs), 0, -1):
        if k in live:
            live.update(p.instrs[k - 1].args)
    new_index = {0: 0}
    instrs, shapes = [], [p.shapes[0]]
    for k, ins in enumerate(p.instrs, start=1):
        if k in live:
            instrs.append(Instr(ins.op, tuple(new_index[a] for a in ins.args), ins.param))
            shapes.append(p.shapes[k])
            new_index[k] = len(instrs)
    return Program(p.seed, p.x, instrs, shapes, p.scalar_output)


def random_programs(count: int, seed: int = 0, **kw: Any) -> list[Program]:
    """``count`` programs with seeds ``seed, seed + 1, ...``."""
    return [random_program(seed + k, **kw) for k in range(count)]


def program_scenarios(
    programs: Sequence[Program],
    ops: Sequence[str] = ("gradient", "jacobian", "pushforward", "pullback"),
) -> list[Scenario]:
    """Scenarios (without references: the harness computes them with the most accurate
    installed backend) for every program and operator. Scalar operators use ``sum`` of the
    program's output.

    Programs that would test nothing are left out per operator: scalar-output programs for
    ``jacobian`` / ``pushforward`` / ``pullback`` (that is a gradient), and programs affine in
    x for ``hessian`` / ``hvp`` (zero second derivatives)."""
    out = []
    for p in programs:
        rng = np.random.default_rng(p.seed + 10_000)
        for op in ops:
            prog = p.scalar() if op in ("gradient", "hessian", "hvp") else p
            if op in ("jacobian", "pushforward", "pullback") and p.output_shape == ():
                continue
            if op in ("hessian", "hvp") and prog.is_affine():
                continue
            tangent = None
            if op in ("pushforward", "hvp"):
                tangent = rng.uniform(-1, 1, size=p.x.shape)
            elif op == "pullback":
                tangent = np.asarray(rng.uniform(-1, 1, size=prog.output_shape))
            out.append(Scenario(op, prog, p.x.copy(), tangent=tangent,
                                name=f"{op}-{prog.name}", tags=("random",)))
    return out


def programs(*, scalar_output: bool = False, max_ops: int = 7) -> Any:
    """A hypothesis strategy of random programs (shrinks towards small seeds).

    Example::

        from hypothesis import given
        from anydiff.testing import programs

        @given(programs(scalar_output=True))
        def test_gradients_agree(p):
            ...
    """
    from hypothesis import strategies as st

    return st.integers(min_value=0, max_value=2**32 - 1).map(
        lambda seed: random_program(seed, scalar_output=scalar_output, max_ops=max_ops)
    )
