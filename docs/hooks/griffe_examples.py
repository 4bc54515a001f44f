"""Griffe extension for the API reference: read ``Example:`` docstring sections (the singular form
used throughout anydiff) as Google-style ``Examples:``, so doctests render as code."""

from __future__ import annotations

import re
from typing import Any

import griffe

_SINGULAR = re.compile(r"^(\s*)Example:[ \t]*$", re.MULTILINE)


class ExampleSections(griffe.Extension):
    def on_object(self, *, obj: Any, **kwargs: Any) -> None:
        doc = getattr(obj, "docstring", None)
        if doc is not None and "Example:" in doc.value:
            doc.value = _SINGULAR.sub(r"\1Examples:", doc.value)
