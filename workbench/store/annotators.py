"""SQL of the annotators' links and the server's audit log (schema.py ``_m8_annotator_links``);
mixed into :class:`workbench.store.Store`.

A link's token is never stored, only its sha256; a revoked annotator keeps their row (with the time
of revocation) so that a refusal can say whose link it was and the name is not silently reused.
"""
from __future__ import annotations

import time

import sqlite_utils


class AnnotatorsStoreMixin:
    """Annotator rows (name, token hash, created, revoked) and the append-only event log."""

    db: sqlite_utils.Database

    def annotator_rows(self) -> list[dict]:
        """Every annotator with a link, revoked ones included, by name."""
        return list(self.db.query("select name, token_hash, created, revoked, role from annotators order by name"))

    def annotator_row(self, name: str) -> dict | None:
        """The row of ``name``, matched without regard to case (names are unique that way; SQLite's
        ``nocase`` folds ASCII only, so the few rows are compared here)."""
        key = name.casefold()
        return next((r for r in self.annotator_rows() if r["name"].casefold() == key), None)

    def has_annotators(self) -> bool:
        return self.db.execute("select exists(select 1 from annotators)").fetchone()[0] == 1

    def save_annotator(self, name: str, token_hash: str, role: str, event: dict) -> None:
        """Give ``name`` a (new) link's hash and a role, active, and log ``event`` in the same transaction."""
        with self.transaction():
            self.db["annotators"].upsert({"name": name, "token_hash": token_hash, "created": time.time(),
                                          "revoked": None, "role": role}, pk="name")
            self.db["annotator_events"].insert({**event, "time": time.time()})

    def set_annotator_role(self, name: str, role: str, event: dict) -> None:
        with self.transaction():
            self.db.execute("update annotators set role = ? where name = ?", [role, name])
            self.db["annotator_events"].insert({**event, "time": time.time()})

    def register_annotators(self, details: dict[str, str]) -> None:
        """Annotators known by their labels only (imported from a QDA project): a row without a link
        (no token hash) for each new name, and an ``import`` event with ``details[name]``."""
        with self.transaction():
            for name, detail in details.items():
                self.db["annotators"].insert({"name": name, "token_hash": None, "created": time.time(),
                                              "revoked": None}, pk="name", ignore=True)
                self.db["annotator_events"].insert({"event": "import", "annotator": name, "detail": detail,
                                                    "time": time.time()})

    def revoke_annotator_row(self, name: str, event: dict) -> None:
        with self.transaction():
            self.db.execute("update annotators set revoked = ? where name = ?", [time.time(), name])
            self.db["annotator_events"].insert({**event, "time": time.time()})

    def log_annotator_event(self, event: dict) -> None:
        with self.transaction():
            self.db["annotator_events"].insert({**event, "time": time.time()})

    def annotator_events(self, limit: int | None = None) -> list[dict]:
        """The audit log, oldest first (the last ``limit`` events when given)."""
        sql = "select id, time, event, annotator, remote, detail from annotator_events order by id desc"
        if limit is not None:
            sql += f" limit {int(limit)}"
        return list(reversed(list(self.db.query(sql))))
