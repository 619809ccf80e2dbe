"""SQL of the annotations tables (see schema.py); mixed into :class:`workbench.store.Store`."""
from __future__ import annotations

import sqlite_utils


class AnnotationsStoreMixin:
    db: sqlite_utils.Database
