"""Exceptions raised by anydiff on purpose.

Every class derives from :class:`AnydiffError` and from the built-in exception a NumPy / SciPy
user would try to catch first, so ``except ValueError`` keeps working.
"""

from __future__ import annotations


class AnydiffError(Exception):
    """Base class of every exception anydiff raises on purpose."""


class AnydiffValueError(AnydiffError, ValueError):
    """An argument has the wrong shape or structure (e.g. a tangent unlike ``x``)."""


class AnydiffTypeError(AnydiffError, TypeError):
    """An argument has the wrong type (e.g. an integer ``x``, or ``out=`` with an immutable array)."""


class PreparationMismatchError(AnydiffValueError):
    """Arguments given to a prepared operator differ from those the preparation was made with."""


class BackendUnavailableError(AnydiffError, ImportError):
    """The AD system behind a backend is not installed."""


class UnsupportedError(AnydiffError, NotImplementedError):
    """A backend cannot differentiate this function or pattern; the message says which can."""
