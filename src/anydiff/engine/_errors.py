"""The one exception the engine raises on purpose."""

from __future__ import annotations

try:  # the package's error hierarchy, when present, so `except UnsupportedError` catches us
    from anydiff._errors import UnsupportedError as _Base
except ImportError:  # pragma: no cover - the engine also works as a standalone package
    _Base = NotImplementedError  # type: ignore[misc,assignment]

OTHER_BACKENDS = "use backend 'jax', 'torch' or 'finitediff' for this function"


class EngineError(_Base):  # type: ignore[misc,valid-type]
    """An operation the engine cannot differentiate, or one that would drop derivatives.

    Raised instead of ever returning a silent zero or a wrong derivative.  The message names
    the operation and suggests another backend.
    """


def no_rule(name: str) -> EngineError:
    """The error for an operation without a derivative rule."""
    return EngineError(f"{name} has no derivative rule in anydiff.engine; {OTHER_BACKENDS}")
