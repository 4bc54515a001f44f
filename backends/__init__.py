"""Adapters, one module per AD system, installed as ``anydiff.backends``.

Each module defines ``Adapter``, a subclass of :class:`anydiff._protocol.Adapter`, and imports
its framework at module import: the registry imports a module only when its backend is used.
Adapters depend on the interface's protocol only, never on one another.
"""
