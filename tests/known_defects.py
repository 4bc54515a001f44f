"""Harness cases that fail because of defects other branches are fixing (issue 8 items).

``KNOWN`` maps a ``test_cross_backend.py::test_backend_scenario`` id to the reason of its strict
xfail; ``KNOWN_PAIRS`` the same for ``test_second_order_pair``. Each reason names its item of
issue 8. Strict: once the fix lands the case passes, the xfail fails, and the entry goes.
"""

from __future__ import annotations

KNOWN: dict[str, str] = {}
KNOWN_PAIRS: dict[str, str] = {}
