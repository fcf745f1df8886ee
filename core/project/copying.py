"""Copying a project between a file and a PostgreSQL database (``annotator copy``): the
facade's name for :func:`core.store.copying.copy_project`."""

from __future__ import annotations

from core.store.copying import CopySummary, copy_project

__all__ = ["CopySummary", "copy_project"]
