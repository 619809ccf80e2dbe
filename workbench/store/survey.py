"""SQL of the survey tables (see schema.py); mixed into :class:`workbench.store.Store`."""
from __future__ import annotations

import sqlite_utils


class SurveyStoreMixin:
    db: sqlite_utils.Database
