"""SQL of the scores tables (see schema.py); mixed into :class:`workbench.store.Store`."""
from __future__ import annotations

import sqlite_utils


class ScoresStoreMixin:
    db: sqlite_utils.Database
