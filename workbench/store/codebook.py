"""SQL of the codebook loop: versions, codes, memberships, iterations, proposals, decisions."""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence

import numpy as np
import sqlite_utils

from ..errors import WorkbenchError
from ..models import Code, Codebook
from .schema import OWN

BUILD_LOCK = "build_lock"  # meta key: the running build's holder (pid, node, started, heartbeat)


class CodebookStoreMixin:
    """SQL of the codebook loop (mixed into :class:`Store`)."""

    db: sqlite_utils.Database

    def version_for(self, thread_id: str, iteration: int, reason: str) -> int | None:
        row = self.db.execute("select version from codebook_versions where thread_id = ? and iteration = ? "
                              "and reason = ?", [thread_id, iteration, reason]).fetchone()
        return row[0] if row else None

    def latest_version(self) -> int | None:
        return self.db.execute("select max(version) from codebook_versions").fetchone()[0]

    def save_codebook(self, thread_id: str, iteration: int, reason: str, parent: int | None, codes: list[Code],
                      expression_ids: np.ndarray, labels: np.ndarray, diff: dict, config_hash: str,
                      embedder: str) -> int:
        """Store a new codebook version; idempotent per (thread, iteration, reason) so a node that
        re-runs after a crash finds the version it already wrote."""
        with self.transaction():
            existing = self.version_for(thread_id, iteration, reason)
            if existing is not None:
                return existing
            version = self.db["codebook_versions"].insert(
                {"thread_id": thread_id, "iteration": iteration, "parent": parent, "reason": reason,
                 "diff": json.dumps(diff), "config_hash": config_hash, "embedder": embedder, "created": time.time()}
            ).last_pk
            self.db["codes"].insert_all(
                {"version": version, "idx": c.idx, "uid": c.uid, "name": c.name, "name_source": c.name_source,
                 "description": c.description, "size": c.size,
                 "centroid": np.asarray(c.centroid, dtype=np.float32).tobytes()} for c in codes)
            # Plain rows: one per expression per version is a build's largest write, and sqlite-utils
            # builds and checks a dict for each.
            self.db.conn.executemany(
                "insert into code_members (version, expression_id, idx) values (?, ?, ?)",
                zip([version] * len(labels), np.asarray(expression_ids).tolist(), np.asarray(labels).tolist()))
            return version

    def load_codebook(self, version: int | None = None) -> Codebook:
        version = self.latest_version() if version is None else version
        if version is None:
            raise WorkbenchError("the project has no codebook yet: run 'workbench build PROJECT'")
        if not self.db.execute("select 1 from codebook_versions where version = ?", [version]).fetchone():
            raise WorkbenchError(f"no codebook version {version}: 'workbench status PROJECT' lists the versions")
        codes = [Code(r["idx"], r["uid"], r["name"], r["name_source"], r["description"], r["size"],
                      np.frombuffer(r["centroid"], dtype=np.float32))
                 for r in self.db.query("select * from codes where version = ? order by idx", [version])]
        members = np.array(self.db.execute("select expression_id, idx from code_members where version = ? "
                                           "order by expression_id", [version]).fetchall(), dtype=np.int64)
        members = members.reshape(-1, 2)
        return Codebook(version, codes, members[:, 0], members[:, 1])

    def coded_expressions(self, version: int) -> list[dict]:
        """Every expression (id, document_id, position, text, strategy) with the uid of the code
        ``version`` assigns it to (``uid`` None when the version leaves it unassigned), ordered by
        document and position."""
        return list(self.db.query(
            "select e.id, e.document_id, e.position, e.text, e.strategy, c.uid from expressions e "
            "left join code_members m on m.expression_id = e.id and m.version = ? "
            "left join codes c on c.version = m.version and c.idx = m.idx "
            "order by e.document_id, e.position", [version]))

    def name_codes(self, version: int, names: dict[int, tuple[str, str, str | None]]) -> None:
        """Set (name, source, description) of codes of a version that have no name yet."""
        with self.transaction():
            for idx, (name, source, description) in names.items():
                self.db.execute("update codes set name = ?, name_source = ?, description = coalesce(?, description) "
                                "where version = ? and idx = ?", [name, source, description, version, idx])

    def version_lineage(self, version: int) -> list[int]:
        """``version`` and its ancestors through their parents (applies and renames), newest first;
        ``[version]`` alone when the project has no such version."""
        rows = self.db.execute(
            "with recursive lineage(version, parent, depth) as ("
            "select version, parent, 0 from codebook_versions where version = ? union all "
            "select v.version, v.parent, l.depth + 1 from codebook_versions v join lineage l on v.version = l.parent "
            "where l.depth < 10000) select version from lineage order by depth", [version]).fetchall()
        return [r[0] for r in rows] or [version]

    def code_uids(self, version: int) -> set[str]:
        """Uids of the codes of a version (empty when there is no such version)."""
        return {r[0] for r in self.db.execute("select uid from codes where version = ?", [version])}

    def initial_version_of(self, version: int) -> tuple[int, dict]:
        """The initial codebook C⁰ that ``version`` descends from (through applies and renames), with
        its info: what the build recorded when it started (σ, training sources, clustering counts)."""
        current = version
        for _ in range(10_000):
            row = self.db.execute("select parent, reason, diff from codebook_versions where version = ?",
                                  [current]).fetchone()
            if row is None:
                raise WorkbenchError(f"no codebook version {current}: 'workbench status PROJECT' lists the versions")
            parent, reason, diff = row
            if reason == "init" or parent is None:
                return current, json.loads(diff or "{}")
            current = parent
        raise WorkbenchError(f"codebook version {version}: its parents form a cycle")

    def build_record(self, thread_id: str) -> dict | None:
        """What a build recorded on its C⁰ (σ, training sources, clustering counts), or None before C⁰."""
        version = self.version_for(thread_id, 0, "init")
        return None if version is None else self.initial_version_of(version)[1]

    def versions(self) -> list[dict]:
        return list(self.db.query(
            "select v.version, v.iteration, v.reason, v.parent, v.diff, count(c.idx) as K from codebook_versions v "
            "left join codes c on c.version = v.version group by v.version order by v.version"))

    def save_iteration(self, row: dict) -> None:
        with self.transaction():
            self.db["em_iterations"].upsert({**row, "created": time.time()}, pk=("thread_id", "iteration"))

    def iterations(self, thread_id: str | None = None) -> list[dict]:
        sql = "select * from em_iterations" + (" where thread_id = ?" if thread_id else "") + " order by created"
        return list(self.db.query(sql, [thread_id] if thread_id else []))

    def code_usage(self, version: int) -> dict[str, float]:
        """{code uid: n_k} of a version from the build's latest scoring of it ({} if never scored)."""
        row = self.db.execute("select per_code from em_iterations where version = ? order by created desc limit 1",
                              [version]).fetchone()
        return {c["uid"]: c["n_k"] for c in json.loads(row[0])} if row else {}

    def save_proposals(self, rows: list[dict]) -> list[int]:
        """Insert proposals once per (thread, iteration, kind, code); returns their ids."""
        ids = []
        with self.transaction():
            for row in rows:
                key = [row["thread_id"], row["iteration"], row["kind"], row["code_uid"]]
                found = self.db.execute("select id from proposals where thread_id = ? and iteration = ? and kind = ? "
                                        "and code_uid = ?", key).fetchone()
                ids.append(found[0] if found else self.db["proposals"].insert(
                    {**row, "status": "pending", "created": time.time()}).last_pk)
        return ids

    def proposals(self, ids: Sequence[int] | None = None, status: str | None = None,
                  kind: str | None = None) -> list[dict]:
        where, params = [], []
        if ids is not None:
            where.append(f"id in ({','.join('?' * len(ids))})")
            params += list(ids)
        for column, value in (("status", status), ("kind", kind)):
            if value:
                where.append(f"{column} = ?")
                params.append(value)
        sql = "select * from proposals" + (" where " + " and ".join(where) if where else "") + " order by id"
        return list(self.db.query(sql, params))

    def record_decision(self, proposal_id: int, decision: str, decider: str, names: list[str] | None = None,
                        note: str | None = None) -> int:
        """A decision is a new row; the latest per proposal counts. Nothing is overwritten."""
        with self.transaction():
            return self.db["decisions"].insert(
                {"proposal_id": proposal_id, "decision": decision, "names": json.dumps(names) if names else None,
                 "decider": decider, "note": note, "decided_at": time.time()}).last_pk

    def decision_rows(self, proposal_ids: Sequence[int] | None = None) -> dict[int, list[dict]]:
        """{proposal: every decision on it, oldest first} (every proposal's when ``proposal_ids`` is None)."""
        if proposal_ids is not None and not proposal_ids:
            return {}
        where = f" where proposal_id in ({','.join('?' * len(proposal_ids))})" if proposal_ids is not None else ""
        found: dict[int, list[dict]] = {}
        for row in self.db.query(f"select * from decisions{where} order by id", list(proposal_ids or [])):
            found.setdefault(row["proposal_id"], []).append(row)
        return found

    def latest_decisions(self, proposal_ids: Sequence[int]) -> dict[int, dict]:
        if not proposal_ids:
            return {}
        marks = ",".join("?" * len(proposal_ids))
        rows = self.db.query(
            f"select * from decisions where id in (select max(id) from decisions where proposal_id in ({marks}) "
            "group by proposal_id)", list(proposal_ids))
        return {r["proposal_id"]: r for r in rows}

    def code_expressions(self, version: int, uid: str, document_ids: Sequence[str]) -> dict[str, list[str]]:
        """{document id: its expressions that are members of the code ``uid`` of ``version``}."""
        if not document_ids:
            return {}
        rows = self.db.execute(
            "select e.document_id, e.text from expressions e join code_members m on m.expression_id = e.id "
            "join codes c on c.version = m.version and c.idx = m.idx where m.version = ? and c.uid = ? "
            f"and e.document_id in ({','.join('?' * len(document_ids))}) order by e.id",
            [version, uid, *document_ids]).fetchall()
        found: dict[str, list[str]] = {}
        for doc_id, text in rows:
            found.setdefault(doc_id, []).append(text)
        return found

    def set_proposal_status(self, ids: Sequence[int], status: str) -> None:
        with self.transaction():
            for pid in ids:
                self.db.execute("update proposals set status = ? where id = ?", [status, pid])

    def build_lock(self) -> dict | None:
        """The holder recorded by the last build that started and has not finished (maybe dead)."""
        text = self.get_meta(BUILD_LOCK)  # type: ignore[attr-defined]
        return json.loads(text) if text else None

    def claim_build_lock(self, holder: dict, alive: Callable[[dict], bool]) -> dict | None:
        """Record ``holder`` as the running build unless a live one holds the project: then return
        that one and write nothing. Check and write are one transaction, so two builds never both win."""
        with self.transaction():
            current = self.build_lock()
            if current is not None and alive(current):
                return current
            self.db["meta"].upsert({"key": BUILD_LOCK, "value": json.dumps(holder)}, pk="key")
        return None

    def touch_build_lock(self, token: str, node: str) -> None:
        """Heartbeat: the node the holder with ``token`` is running now."""
        with self.transaction():
            current = self.build_lock()
            if current is not None and current.get("token") == token:
                self.db["meta"].upsert({"key": BUILD_LOCK, "value": json.dumps(
                    {**current, "node": node, "beat": time.time()})}, pk="key")

    def release_build_lock(self, token: str) -> None:
        with self.transaction():
            current = self.build_lock()
            if current is not None and current.get("token") == token:
                self.db.execute("delete from meta where key = ?", [BUILD_LOCK])

    def save_summary(self, thread_id: str, version: int, summary: dict) -> None:
        with self.transaction():
            self.db["build_summaries"].upsert({"thread_id": thread_id, "version": version,
                                               "summary": json.dumps(summary), "created": time.time()},
                                              pk="thread_id")

    def build_summary(self, thread_id: str) -> dict:
        """The finished build's summary ({} before ``finalize``)."""
        row = self.db.execute("select summary from build_summaries where thread_id = ?", [thread_id]).fetchone()
        return json.loads(row[0]) if row else {}

    def corpus_rows(self, runs: bool = False) -> tuple[list[tuple], list[tuple]]:
        """(documents with at least one expression, expressions) in a stable order: the project's
        own documents, and with ``runs`` the reliability runs' as well."""
        own = "" if runs else f"and {OWN}"
        docs = self.db.execute(
            "select d.id, d.group_name, d.source, t.text, d.text from documents d "
            "left join topics t on t.id = d.topic_id "
            f"where exists (select 1 from expressions e where e.document_id = d.id) {own} order by d.rowid").fetchall()
        exprs = self.db.execute("select e.id, e.document_id, e.text from expressions e join documents d "
                                f"on d.id = e.document_id where 1 {own} order by e.id").fetchall()
        return docs, exprs


