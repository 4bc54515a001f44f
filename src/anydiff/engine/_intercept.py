"""What the engine intercepts in NumPy while it traces ``f``, and why (the one place).

Traced arrays reach the engine through NumPy's dispatch protocols (``__array_ufunc__``,
``__array_function__``), but array *creation* does not dispatch: ``np.zeros(n)`` has no traced
argument, and ``np.array([x[0], x[1]])`` / ``np.asarray(x)`` convert their input in C.  Plain
NumPy code as written (``y = np.zeros(n); y[i] += x[i] * i``) therefore needs the creators
themselves to return arrays that accept traced writes.  This module swaps them, in the
``numpy`` namespace, for thin wrappers while a trace is running:

=====================================  =====================================================
intercepted (``numpy.`` attribute)      result inside a traced call, from user code
=====================================  =====================================================
``zeros empty ones full eye identity``  a constant buffer (:class:`Traced` without a trace)
``zeros_like ones_like empty_like``     that joins the transformation whose traced value is
``full_like copy``  (of plain arrays)   first written into it (``np.empty`` is zero-filled)
``array asarray asanyarray``            traced input: itself (``asarray``) or a traced copy
``ascontiguousarray``                   (``array``); lists/tuples holding traced values:
                                        stacked; other data: a constant buffer (``asarray``
                                        of an existing ndarray returns it unchanged)
``r_ c_``                               concatenation that accepts traced pieces
=====================================  =====================================================

SciPy's Python-level functions convert their input with ``np.asarray`` instead of
dispatching, so they are wrapped too: for *every* caller, but they act only inside a trace and
only when an argument is traced (other calls run SciPy's own code).  These wrappers are put
in place when the first trace starts after the SciPy submodule was imported, and stay (one
thread-local check per SciPy call, about 0.1 µs against SciPy's own microseconds of Python
overhead), so traces pay nothing for them:

* ``scipy.special``: ``logsumexp softmax log_softmax polygamma multigammaln``
  (its ufuncs dispatch by themselves; their rules are in :mod:`._scipy_special`);
* ``scipy.stats``: the ``pdf logpdf cdf logcdf sf logsf ppf`` methods of continuous
  distributions and ``pmf logpmf cdf sf`` of discrete ones (the rules: :mod:`._scipy_stats`;
  the others raise naming themselves), ``multivariate_normal``, ``dirichlet``, ``multinomial``
  (also frozen) and ``gaussian_kde`` (:mod:`._scipy_stats_mv`; the class wrappers are in
  :mod:`._intercept_classes`);
* ``scipy.linalg`` (the ``LINALG`` table of :mod:`._scipy_linalg`: solvers, factorizations,
  decompositions, structured matrices), ``scipy.signal`` (``convolve`` & co.),
  ``scipy.integrate`` (``trapezoid simpson cumulative_trapezoid odeint solve_ivp``),
  ``scipy.spatial.distance`` (``cdist pdist squareform``), ``scipy.fft``, ``scipy.stats``
  summary statistics, ``scipy.optimize.rosen``, ``scipy.ndimage`` and ``scipy.interpolate``
  (linear filters, splines), ``numpy.polynomial``'s evaluators: the tables gathered by
  :func:`._scipy_tables.function_tables`.

Names bound elsewhere (``from scipy.special import logsumexp`` in a user module) are found by
identity in the namespaces of modules outside NumPy/SciPy (scanned when the set of modules,
or ``__main__``'s namespace, has changed since the last trace) and swapped as well.  Each
wrapper is importable as ``anydiff.engine._intercept.<name>``, so it pickles.

Why it is safe:

* **Only while tracing, only in the tracing thread.**  The wrappers are installed when the
  first trace in the process starts and the originals are put back when the last one ends
  (also when ``f`` raises), so NumPy outside a trace is untouched (zero cost).  While
  installed, a wrapper checks a thread-local depth first: other threads get the original
  function's result (a plain ndarray) for the price of one attribute lookup.
* **Only for user code.**  Calls made from NumPy, SciPy or anydiff's own implementation
  (their work arrays go to compiled code and must stay ndarrays) get the original result; the
  caller is identified by its frame's module name (:data:`LIBRARY`).
* **Nothing is dropped silently.**  Writing a traced value into an array that was *not*
  created this way (a global, an argument, an array from a library, or one from
  ``from numpy import zeros``, which binds the original) still raises ``EngineError``.

The ``math`` module's functions (``math.sin(x[0])``) are swapped the same way while a trace
runs (:mod:`._intercept_math`): on a traced argument they call the NumPy function; so are
NumPy reductions & co. given a list of traced values (:mod:`._intercept_lists`).

Nested traces (forward over reverse) share one installation (the depth counts them); tape
replays never run ``f``, so they need none.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
import types
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _intercept_lists, _intercept_math
from ._tracer import Traced

#: module-name prefixes whose calls always get NumPy's own result (library internals). The
#: rest of anydiff is library code too, except ``anydiff.testing``, whose scenario functions
#: stand for user code. Any module installed in site-packages or the standard library (jax,
#: torch, pandas, ...) counts as a library as well (:func:`_library_file`): their work arrays go
#: to compiled code, and a traced write into one still raises rather than drops.
LIBRARY = ("numpy", "scipy", "importlib", "anydiff")
USER_IN_LIBRARY = ("anydiff.testing",)

_tls = threading.local()
_lock = threading.Lock()
_active = 0  # traces running in the whole process (all threads); guarded by _lock

_CREATORS = (
    "zeros empty ones full eye identity zeros_like ones_like empty_like full_like copy "
    "array asarray asanyarray ascontiguousarray"
).split()
ORIGINAL: dict[str, Any] = {name: getattr(np, name) for name in (*_CREATORS, "r_", "c_")}


def original(func: Any) -> Any:
    """NumPy's own function for ``func`` when ``func`` is one of the wrappers, else ``func``."""
    for name, w in WRAPPERS.items():
        if w is func:
            return ORIGINAL[name]
    return _intercept_lists.original(func)


def tracing_here() -> bool:
    """True while this thread runs ``f`` under at least one engine transformation."""
    return getattr(_tls, "depth", 0) > 0


_library: dict[str, bool] = {}  # module name -> whether it is library code (memo)


def _is_library(name: str) -> bool:
    lib = _library.get(name)
    if lib is None:
        # importlib: module code run by an import statement inside f is not f's own code
        lib = name.split(".", 1)[0] in LIBRARY and not name.startswith(USER_IN_LIBRARY)
        _library[name] = lib
    return lib


_library_files: dict[str, bool] = {}  # code file -> whether it is installed library code (memo)


def _installed_roots() -> tuple[str, ...]:
    import site
    import sysconfig

    roots = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    roots.update(site.getsitepackages())
    user = site.getusersitepackages()
    if isinstance(user, str):
        roots.add(user)
    return tuple(sorted(os.path.join(os.path.realpath(r), "") for r in roots if r))


_ROOTS: tuple[str, ...] | None = None


def _library_file(filename: str) -> bool:
    lib = _library_files.get(filename)
    if lib is None:
        global _ROOTS
        if _ROOTS is None:
            _ROOTS = _installed_roots()
        lib = _library_files[filename] = os.path.realpath(filename).startswith(_ROOTS)
    return lib


def _from_user(name: str, depth: int = 2) -> bool:
    """Whether the call of ``name`` ``depth`` frames up is made by user code, directly.

    Library code (:data:`LIBRARY`) gets NumPy's own result.  So does compiled code (Cython,
    C extensions: ``np.random.default_rng`` looks ``np.asarray`` up itself), which has no
    frame of its own and would otherwise be taken for the Python frame that called it: the
    call is direct only if that frame is executing a call (or subscript, for ``r_``) whose
    source text names ``name``.
    """
    f = sys._getframe(depth)
    if _is_library(f.f_globals.get("__name__", "")) or _library_file(f.f_code.co_filename):
        return False
    key = (f.f_code, f.f_lasti, name)
    direct = _direct.get(key)
    if direct is None:
        direct = _direct[key] = _calls_by_name(f.f_code, f.f_lasti, name)
    return direct


_direct: dict[tuple, bool] = {}  # (code, instruction, name) -> whether the call names `name`
_CALL_OPS = frozenset(
    ("CALL", "CALL_FUNCTION_EX", "CALL_KW", "BINARY_SUBSCR", "CALL_FUNCTION", "CALL_METHOD")
)


def current_instruction(code: Any, lasti: int) -> Any:
    """The ``dis.Instruction`` a frame is executing (``f_lasti`` may point into its caches)."""
    import dis

    ins = None
    for i in dis.get_instructions(code):
        if i.offset > lasti:
            break
        ins = i
    return ins


def _calls_by_name(code: Any, lasti: int, name: str) -> bool:
    import linecache

    ins = current_instruction(code, lasti)
    if ins is None or ins.opname not in _CALL_OPS:
        return False  # e.g. an import statement running module code that calls np.asarray
    pos = ins.positions
    if pos is None or pos.lineno is None or pos.col_offset is None or pos.end_col_offset is None:
        return True  # no position information: trust the call instruction
    lines = [
        linecache.getline(code.co_filename, n) for n in range(pos.lineno, (pos.end_lineno or pos.lineno) + 1)
    ]
    if not any(lines):
        return True  # no source (exec, -c): trust the call instruction
    if len(lines) == 1:
        text = lines[0][pos.col_offset : pos.end_col_offset]
    else:
        text = lines[0][pos.col_offset :] + "".join(lines[1:-1]) + lines[-1][: pos.end_col_offset]
    return name in text


def traced_call(f: Callable, x: Any, args: tuple) -> Any:
    """``f(x, *args)`` with the creators intercepted (see the module docstring)."""
    global _active
    depth = getattr(_tls, "depth", 0)
    _tls.depth = depth + 1
    with _lock:
        _active += 1
        if _active == 1:
            _install()
    try:
        return f(x, *args)
    finally:
        _tls.depth = depth
        with _lock:
            _active -= 1
            if _active == 0:
                _uninstall()


def intercepted(f: Callable) -> Callable:
    """``f`` as a function that runs with the creators intercepted (for the trace entries)."""
    return lambda x, *args: traced_call(f, x, args)


_NP = np.__dict__  # the numpy namespace itself (dict operations: the cheapest swap)


def _install() -> None:
    _intercept_math.install()
    _intercept_lists.install()
    for name, wrapper, orig in _SWAPS:
        if _NP.get(name) is orig:  # leave someone else's patch alone
            _NP[name] = wrapper
    if not _hook_installed:
        _install_import_hook()
    if "scipy" in sys.modules or "numpy.polynomial.polynomial" in sys.modules:
        _scipy_install()


def _uninstall() -> None:
    _intercept_math.uninstall()
    _intercept_lists.uninstall()
    for name, wrapper, orig in _SWAPS:
        if _NP.get(name) is wrapper:
            _NP[name] = orig


# ---------------------------------------------------------------------------- wrappers


def buffer(value: Any) -> Traced:
    """A constant buffer holding ``value``: it joins the first trace that writes into it."""
    return Traced(None, value)


def _wrap(name: str, in_trace: Callable) -> Callable:
    orig = ORIGINAL[name]

    @functools.wraps(orig)
    def wrapper(*args: Any, **kw: Any) -> Any:
        if getattr(_tls, "depth", 0) and kw.get("like") is None and _from_user(name):
            return in_trace(orig, *args, **kw)
        return orig(*args, **kw)

    return wrapper


def _make_buffer(orig: Callable, *args: Any, **kw: Any) -> Any:
    if orig is ORIGINAL["empty"]:  # zero-filled: a tape must not record uninitialised memory
        orig = ORIGINAL["zeros"]
    return buffer(orig(*args, **kw))


def _has_traced(obj: Any) -> bool:
    if isinstance(obj, Traced):
        return True
    return isinstance(obj, (list, tuple)) and any(_has_traced(o) for o in obj)


def _full(orig: Callable, shape: Any, fill_value: Any, dtype: Any = None, order: str = "C", **kw: Any) -> Any:
    if _has_traced(fill_value):
        from ._numpy_api import _build, _full_like_kw

        return _full_like_kw(shape, _build(fill_value), dtype=dtype)
    return buffer(orig(shape, fill_value, dtype=dtype, order=order, **kw))


def _like(orig: Callable, a: Any, *args: Any, **kw: Any) -> Any:
    """``zeros_like`` & co. and ``copy`` of data that is not traced (traced data dispatches)."""
    if _has_traced(a):
        from ._numpy_api import _build

        return orig(_build(a), *args, **kw)
    return buffer(orig(a, *args, **kw))


def _full_like(orig: Callable, a: Any, fill_value: Any, dtype: Any = None, **kw: Any) -> Any:
    if not _has_traced(fill_value):
        return _like(orig, a, fill_value, dtype, **kw)
    from ._numpy_api import _build

    a = _build(a) if _has_traced(a) else a
    buf = buffer(ORIGINAL["zeros_like"](a, dtype=dtype)) if not isinstance(a, Traced) else np.zeros_like(a)
    buf[...] = _build(fill_value)
    return buf


def _array(orig: Callable, obj: Any, *args: Any, **kw: Any) -> Any:
    """``np.array`` and the ``asarray`` family in user code.

    Traced input: ``asarray`` returns it, ``array`` a traced copy; sequences holding traced
    values are stacked; anything else gets NumPy's result, wrapped as a buffer when it is a
    new array (an existing ndarray passed through unchanged stays itself).
    """
    if not _has_traced(obj):
        r = orig(obj, *args, **kw)
        return r if r is obj or not isinstance(r, np.ndarray) else buffer(r)
    from ._numpy_api import _build, astype, reshape
    from ._rules import COPY, dtype_of, ndim_of, shape_of
    from ._tracer import bind, primal

    dtype = args[0] if args else kw.get("dtype")
    copy = kw.get("copy", orig is ORIGINAL["array"])
    if orig is ORIGINAL["ascontiguousarray"] and isinstance(obj, Traced):
        v = primal(obj)  # NumPy copies a non-contiguous array (``A.T``): no view of ``obj``
        copy = copy or (isinstance(v, np.ndarray) and not v.flags.c_contiguous)
    if isinstance(obj, Traced):
        r = bind(COPY, [obj], {}) if copy else obj
    else:
        r = _build(obj)
    if dtype is not None and dtype_of(r) != np.dtype(dtype):
        r = astype(r, dtype)
    ndmin = kw.get("ndmin", 0)
    if ndim_of(r) < ndmin:
        r = reshape(r, (1,) * (ndmin - ndim_of(r)) + shape_of(r))
    if orig is ORIGINAL["ascontiguousarray"] and ndim_of(r) == 0:
        r = reshape(r, (1,))
    return r


class _Concatenator:
    """``np.r_`` / ``np.c_``: NumPy's object, unless a piece is traced (then ``concatenate``)."""

    def __init__(self, orig: Any, default: tuple[int, int, int], name: str):
        self._orig = orig
        self._name = name
        self._default = default  # (axis, ndmin, trans1d) as in numpy's AxisConcatenator

    def __getitem__(self, key: Any) -> Any:
        if not (getattr(_tls, "depth", 0) and _from_user(self._name)):
            return self._orig[key]
        items = key if isinstance(key, tuple) else (key,)
        if not any(_has_traced(k) for k in items):
            return buffer(self._orig[key])
        return _concat_items(self._orig, items, *self._default)

    def __len__(self) -> int:
        return 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._orig, name)


def _concat_items(orig: Any, items: tuple, axis: int, ndmin: int, trans1d: int) -> Any:
    from ._errors import no_rule
    from ._numpy_api import _build, concatenate, reshape, transpose
    from ._rules import ndim_of, shape_of

    if items and isinstance(items[0], str):
        spec = items[0]
        if spec in ("r", "c") or "," not in spec and not spec.lstrip("-").isdigit():
            raise no_rule(f"np.r_[{spec!r}, ...] (matrix directives) with traced pieces")
        parts = [int(s) for s in spec.split(",")]
        axis = parts[0]
        if len(parts) > 1:
            ndmin = parts[1]
        if len(parts) > 2:
            trans1d = parts[2]
        items = items[1:]
    objs = []
    for it in items:
        if isinstance(it, slice):
            new = orig[it]
            if ndmin > 1:
                new = np.array(new, ndmin=ndmin)
                if trans1d != -1:
                    new = new.swapaxes(-1, trans1d)
            objs.append(new)
            continue
        a = _build(it) if _has_traced(it) else ORIGINAL["asarray"](it)
        nd = ndim_of(a)
        if nd < ndmin:
            a = reshape(a, (1,) * (ndmin - nd) + shape_of(a))
            if trans1d != -1:
                k2, k1 = ndmin - nd, trans1d
                if k1 < 0:
                    k1 += k2 + 1
                d = list(range(ndmin))
                a = transpose(a, d[:k1] + d[k2:] + d[k1:k2])
        objs.append(a)
    return concatenate(objs, axis=axis)


WRAPPERS: dict[str, Any] = {
    **{n: _wrap(n, _make_buffer) for n in ("zeros", "empty", "ones", "eye", "identity")},
    "full": _wrap("full", _full),
    **{n: _wrap(n, _like) for n in ("zeros_like", "ones_like", "empty_like", "copy")},
    "full_like": _wrap("full_like", _full_like),
    **{n: _wrap(n, _array) for n in ("array", "asarray", "asanyarray", "ascontiguousarray")},
    "r_": _Concatenator(ORIGINAL["r_"], (0, 1, -1), "r_"),
    "c_": _Concatenator(ORIGINAL["c_"], (-1, 2, 0), "c_"),
}
# ---------------------------------------------------------------------------- SciPy

_scipy_loaded: set[str] = set()  # scipy submodules whose wrappers are in place
_scipy_by_id: dict[int, tuple[Any, Any]] = {}  # id(original function) -> (original, wrapper)
_seen = [0, 0]  # len(sys.modules) and len(vars(__main__)) at the last scan
_scanned: set[str] = set()  # modules already scanned for names bound to SciPy originals


def _any_traced(values: Any) -> bool:
    for a in values:
        if type(a) is Traced:
            return True
        if type(a) in (list, tuple) and any(type(b) is Traced for b in a):
            return True
    return False


def _engine_route(args: tuple, kw: dict) -> bool:
    """Whether a wrapped SciPy call must take the engine's route: a trace runs in this thread
    and an argument is traced."""
    return bool(getattr(_tls, "depth", 0)) and (_any_traced(args) or _any_traced(kw.values()))


def _function_wrapper(orig: Callable, impl: Callable, key: str) -> Callable:
    engages = getattr(impl, "engages", lambda args, kw: False)  # traced values an ODE's closure hides

    @functools.wraps(orig)
    def wrapper(*args: Any, **kw: Any) -> Any:
        if _engine_route(args, kw) or (getattr(_tls, "depth", 0) and engages(args, kw)):
            return impl(*args, **kw)
        return orig(*args, **kw)

    # importable under its own name, so pickling the (swapped) SciPy function still works; kept
    # on a namespace object, not as module globals (doctest would run SciPy's examples here)
    wrapper.__module__, wrapper.__qualname__ = __name__, f"scipy_wrappers.{key}"
    setattr(scipy_wrappers, key, wrapper)
    return wrapper


scipy_wrappers = types.SimpleNamespace()


#: the SciPy submodules whose functions are wrapped (each has a table of rules)
_SCIPY_SUBS = "special linalg signal stats integrate spatial.distance fft optimize ndimage interpolate"
_SCIPY_SUBS = tuple(f"scipy.{s}" for s in _SCIPY_SUBS.split()) + tuple(  # and NumPy's Python-level evaluators
    f"numpy.polynomial.{s}" for s in "polynomial chebyshev legendre hermite hermite_e laguerre".split()
)


def _scipy_build(sub: str) -> None:
    """Put the wrappers of SciPy submodule ``sub`` in place (once)."""
    from ._intercept_classes import wrap_classes
    from ._scipy_tables import function_tables

    mod = sys.modules[sub]
    wrap_classes(sub, _engine_route)  # methods of SciPy's classes (distributions, splines)
    for name, impl in function_tables()[sub].items():
        orig = getattr(mod, name, None)
        if orig is None or id(orig) in _scipy_by_id:
            continue
        w = _function_wrapper(orig, impl, f"{sub.replace('.', '_')}_{name}")
        _scipy_by_id[id(orig)] = (orig, w)
        setattr(mod, name, w)


def _initializing(mod: Any) -> bool:
    return bool(getattr(getattr(mod, "__spec__", None), "_initializing", False))


def _scipy_install(finished: str | None = None) -> None:
    """Wrap the SciPy submodules imported so far (``finished``: one whose import has just run
    to its end, still flagged as initialising by importlib)."""
    mods = sys.modules
    for sub in _SCIPY_SUBS:
        # A submodule still being imported (scipy.signal imports scipy.special, whose import
        # hook fires first) lacks its functions: it is built when its own import finishes.
        if sub not in _scipy_loaded and sub in mods and (sub == finished or not _initializing(mods[sub])):
            _scipy_loaded.add(sub)
            _scipy_build(sub)
    main = mods.get("__main__")
    n_main = len(getattr(main, "__dict__", ()))
    if _seen == [len(mods), n_main] or not _scipy_by_id:
        return
    _seen[:] = [len(mods), n_main]
    for key, m in list(mods.items()):
        if (key in _scanned and key != "__main__") or key.split(".", 1)[0] in ("numpy", "scipy"):
            continue
        _scanned.add(key)
        d = getattr(m, "__dict__", None)
        if not isinstance(d, dict):
            continue
        for k, v in list(d.items()):
            hit = _scipy_by_id.get(id(v))
            if hit is not None and hit[0] is v:
                d[k] = hit[1]


class _ScipyImportHook:
    """Puts the wrappers in place as soon as a SciPy submodule finishes importing.

    Needed for ``import scipy.special`` inside ``f`` during its first trace (the trace started
    before the module existed).  Only those four module names are looked at; every other
    import passes through untouched.
    """

    WATCH = frozenset(_SCIPY_SUBS)

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name not in self.WATCH:
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec = find(name, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        run = getattr(loader, "exec_module", None)
        if run is not None:

            def exec_module(module: Any) -> None:
                run(module)
                _scipy_install(module.__name__)

            loader.exec_module = exec_module
        return spec


_hook_installed = False


def _install_import_hook() -> None:
    global _hook_installed
    _hook_installed = True
    sys.meta_path.insert(0, _ScipyImportHook())


_SWAPS = tuple((name, w, ORIGINAL[name]) for name, w in WRAPPERS.items())
