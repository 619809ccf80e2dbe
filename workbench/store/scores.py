"""SQL of the scores tables (see schema.py); mixed into :class:`workbench.store.Store`.

One row per (method, codebook version, group, source) cell. DOVE's rows carry the codebook
version they were computed with; other methods' rows (imported for validity analyses) have
none. Re-scoring a cell replaces it, so a table always shows one value per cell and version;
each row keeps the settings (``config``, JSON) it was computed with.

Rows go in and come out with the fields of :mod:`workbench.vocabulary` (``group``, ``r``, ``D``,
``n_group_docs``, …); the columns keep their older names (``group_name``, ``value``, ``raw``,
``n_group``, …), mapped here and nowhere else, so that existing projects need no migration.
"""
from __future__ import annotations

import json
import time
from collections.abc import Sequence

import sqlite_utils

from ..vocabulary import HUMAN, METHOD, SCORE_COLUMNS
from .schema import OWN

# The select list that renames each column to its field.
SCORE_SELECT = ", ".join(["id", "method", "codebook_version",
                        *(f'{column} as "{name}"' for name, column in SCORE_COLUMNS.items()), "config", "created"])


class ScoresStoreMixin:
    db: sqlite_utils.Database

    def save_scores(self, method: str, codebook_version: int | None, rows: Sequence[dict], config: dict) -> int:
        """Store score cells in one transaction, replacing earlier rows of the same cells.

        ``rows``: dicts with group, source and optionally r and the other fields of
        ``vocabulary.SCORE_COLUMNS`` (None when absent; keys that are not fields are not stored,
        e.g. ``ScoreRow.as_dict()``'s ci_power). Returns the number of rows written.
        """
        now = time.time()
        config_text = json.dumps(config, sort_keys=True)
        with self.transaction():
            for row in rows:
                self.db.execute(
                    "delete from scores where method = ? and codebook_version is ? and group_name = ? and source = ?",
                    [method, codebook_version, row["group"], row["source"]])
            self.db["scores"].insert_all(
                ({"method": method, "codebook_version": codebook_version,
                  **{column: r.get(name) for name, column in SCORE_COLUMNS.items()},
                  "config": config_text, "created": now} for r in rows),
                batch_size=500)
        return len(rows)

    def delete_scores(self, method_prefix: str, codebook_version: int) -> None:
        """Drop a version's rows whose method starts with ``method_prefix`` (a set of runs replaced whole)."""
        with self.transaction():
            self.db.execute("delete from scores where substr(method, 1, ?) = ? and codebook_version = ?",
                            [len(method_prefix), method_prefix, codebook_version])

    def load_scores(self, method: str | None = None, codebook_version: int | None = None) -> list[dict]:
        """Score rows in the order they were written, with their fields named as in
        ``vocabulary.SCORE_COLUMNS`` (and id, method, codebook_version, config, created); filter by
        method and/or codebook version."""
        where, params = [], []
        if method is not None:
            where.append("method = ?")
            params.append(method)
        if codebook_version is not None:
            where.append("codebook_version = ?")
            params.append(codebook_version)
        sql = f"select {SCORE_SELECT} from scores" + (" where " + " and ".join(where) if where else "") + " order by id"
        return list(self.db.query(sql, params))

    def scored_versions(self, method: str = METHOD) -> list[int]:
        """Codebook versions that have rows of ``method``, oldest first."""
        return [r[0] for r in self.db.execute(
            "select distinct codebook_version from scores where method = ? and codebook_version is not null "
            "order by 1", [method])]

    def save_version_result(self, codebook_version: int, what: str, value: dict | list) -> None:
        """Store what a service computed on a codebook version (JSON), replacing an earlier one."""
        with self.transaction():
            self.db["version_results"].upsert({"codebook_version": codebook_version, "what": what,
                                               "value": json.dumps(value), "created": time.time()},
                                              pk=("codebook_version", "what"))

    def version_result(self, codebook_version: int, what: str) -> dict | list | None:
        """What :meth:`save_version_result` stored, or None when nothing was."""
        row = self.db.execute("select value from version_results where codebook_version = ? and what = ?",
                              [codebook_version, what]).fetchone()
        return json.loads(row[0]) if row else None

    def has_scores_like(self, method_prefix: str, codebook_version: int) -> bool:
        """Whether a version has rows whose method starts with ``method_prefix``."""
        return self.db.execute("select 1 from scores where substr(method, 1, ?) = ? and codebook_version = ? limit 1",
                               [len(method_prefix), method_prefix, codebook_version]).fetchone() is not None

    # -- read-only views the report and ``generate`` need and no other mixin offers yet ---------
    def extraction_strategies(self) -> list[str]:
        """The strategies that extracted the documents' value expressions, the most used first."""
        return [r[0] for r in self.db.execute(
            "select strategy from extractions where status = 'ok' group by strategy order by count(*) desc, strategy")]

    def report_decisions(self) -> list[dict]:
        """Each proposal with its latest decision (None when undecided), in proposal order."""
        return list(self.db.query(
            "select p.id, p.thread_id, p.iteration, p.kind, p.status, p.evidence, d.decision, d.decider "
            "from proposals p left join decisions d on d.id = "
            "(select max(id) from decisions where proposal_id = p.id) order by p.id"))

    def topic_texts(self, group: str | None = None, source: str = HUMAN) -> list[str]:
        """Topics of a source's documents (optionally of one group), in the order first imported;
        what ``workbench generate`` asks a model to write on."""
        sql = ("select t.text from topics t where exists (select 1 from documents d where d.topic_id = t.id "
               f"and {OWN} and d.source = ?" + (" and d.group_name = ?" if group else "") + ") order by t.id")
        return [r[0] for r in self.db.execute(sql, [source, group] if group else [source])]
