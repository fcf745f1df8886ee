"""The Qt binding must not leak or drop references: PySide6 6.12.0 dropped one reference to
None on every call of a method returning nothing, which aborts a long session with
"Fatal Python error: none_dealloc" (pyproject.toml excludes that release)."""

from __future__ import annotations

import sys


def test_void_qt_calls_keep_none_refcount() -> None:
    from PySide6.QtCore import QPoint

    point = QPoint(1, 2)
    before = sys.getrefcount(None)
    for i in range(2000):
        point.setX(i)
    assert abs(sys.getrefcount(None) - before) < 50
