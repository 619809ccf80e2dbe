"""The project store: one SQLite file per project, and the only module that speaks SQL.

WAL mode and a busy timeout are set on every connection, so several annotators and a running build
can share one file. Schema changes are forward migrations (``MIGRATIONS``), applied in order and
recorded in ``meta.schema_version``; nothing is ever dropped and recreated.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sqlite_utils

from .config import WorkbenchConfig, parse_config
from .errors import WorkbenchError
from .models import Code, Codebook

BUSY_TIMEOUT_MS = 60_000


def _m1(db: sqlite_utils.Database) -> None:
    db["groups"].create({"name": str, "description": str}, pk="name")
    db["topics"].create({"id": int, "text": str}, pk="id")
    db["topics"].create_index(["text"], unique=True)
    db["imports"].create(
        {"id": int, "file": str, "sha256": str, "options": str, "rows": int, "created": float}, pk="id"
    )
    db["documents"].create(
        {
            "id": str,
            "group_name": str,
            "topic_id": int,
            "source": str,
            "language": str,
            "text": str,
            "truncated": int,
            "import_id": int,
        },
        pk="id",
        foreign_keys=[("group_name", "groups", "name"), ("topic_id", "topics", "id"), ("import_id", "imports", "id")],
    )
    db["documents"].create_index(["group_name", "source"])
    db["gold_labels"].create(
        {"document_id": str, "category": str, "value": int}, pk=("document_id", "category"),
        foreign_keys=[("document_id", "documents", "id")],
    )
    db["extractions"].create(
        {"document_id": str, "strategy": str, "prompt_version": str, "status": str, "n_expressions": int,
         "error": str, "created": float},
        pk="document_id", foreign_keys=[("document_id", "documents", "id")],
    )
    db["expressions"].create(
        {"id": int, "document_id": str, "position": int, "text": str, "code_name": str, "score": float,
         "strategy": str},
        pk="id", foreign_keys=[("document_id", "documents", "id")],
    )
    db["expressions"].create_index(["document_id", "position"], unique=True)
    db["embeddings"].create(
        {"model": str, "text_hash": str, "dim": int, "vector": bytes}, pk=("model", "text_hash")
    )
    db["runs"].create(
        {"id": int, "command": str, "config_hash": str, "started": float, "finished": float, "stats": str}, pk="id"
    )
    db["llm_calls"].create(
        {
            "id": int,
            "cache_key": str,
            "role": str,
            "model": str,
            "base_url": str,
            "prompt_name": str,
            "prompt_hash": str,
            "params": str,
            "request": str,
            "response": str,
            "tokens_in": int,
            "tokens_out": int,
            "latency_ms": float,
            "error": str,
            "run_id": int,
            "created": float,
        },
        pk="id",
    )
    db["llm_calls"].create_index(["cache_key"])


def _m2(db: sqlite_utils.Database) -> None:
    """The codebook loop: versions, codes, memberships, iterations, proposals and decisions."""
    db["codebook_versions"].create(
        {"version": int, "thread_id": str, "iteration": int, "parent": int, "reason": str, "diff": str,
         "config_hash": str, "embedder": str, "created": float},
        pk="version",
    )
    db["codebook_versions"].create_index(["thread_id", "iteration", "reason"], unique=True)
    db["codes"].create(
        {"version": int, "idx": int, "uid": str, "name": str, "name_source": str, "description": str,
         "size": int, "centroid": bytes},
        pk=("version", "idx"), foreign_keys=[("version", "codebook_versions", "version")],
    )
    db["code_members"].create(
        {"version": int, "expression_id": int, "idx": int}, pk=("version", "expression_id"),
    )
    db["em_iterations"].create(
        {"thread_id": str, "iteration": int, "version": int, "K": int, "S": float, "S_low": float, "S_high": float,
         "distortion": float, "doc_entropy": float, "usage_entropy": float, "n_docs": int, "n_reconstructed": int,
         "decoder": str, "per_code": str, "created": float},
        pk=("thread_id", "iteration"),
    )
    db["proposals"].create(
        {"id": int, "thread_id": str, "iteration": int, "version": int, "kind": str, "code_uid": str,
         "target_uid": str, "names": str, "names_source": str, "evidence": str, "status": str, "created": float},
        pk="id",
    )
    db["proposals"].create_index(["thread_id", "iteration", "kind", "code_uid"], unique=True)
    db["decisions"].create(
        {"id": int, "proposal_id": int, "decision": str, "names": str, "decider": str, "note": str,
         "decided_at": float},
        pk="id", foreign_keys=[("proposal_id", "proposals", "id")],
    )
    db["build_summaries"].create({"thread_id": str, "version": int, "summary": str, "created": float},
                                 pk="thread_id")


MIGRATIONS = [_m1, _m2]


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class DocumentRow:
    id: str
    group_name: str
    topic: str | None
    source: str
    language: str
    text: str
    truncated: bool = False


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
            self.db["code_members"].insert_all(
                ({"version": version, "expression_id": int(e), "idx": int(k)} for e, k in zip(expression_ids, labels)),
                batch_size=2000)
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

    def name_codes(self, version: int, names: dict[int, tuple[str, str, str | None]]) -> None:
        """Set (name, source, description) of codes of a version that have no name yet."""
        with self.transaction():
            for idx, (name, source, description) in names.items():
                self.db.execute("update codes set name = ?, name_source = ?, description = coalesce(?, description) "
                                "where version = ? and idx = ?", [name, source, description, version, idx])

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

    def proposals(self, ids: Sequence[int] | None = None, status: str | None = None) -> list[dict]:
        where, params = [], []
        if ids is not None:
            where.append(f"id in ({','.join('?' * len(ids))})")
            params += list(ids)
        if status:
            where.append("status = ?")
            params.append(status)
        sql = "select * from proposals" + (" where " + " and ".join(where) if where else "") + " order by id"
        return list(self.db.query(sql, params))

    def record_decision(self, proposal_id: int, decision: str, decider: str, names: list[str] | None = None,
                        note: str | None = None) -> int:
        """A decision is a new row; the latest per proposal counts. Nothing is overwritten."""
        with self.transaction():
            return self.db["decisions"].insert(
                {"proposal_id": proposal_id, "decision": decision, "names": json.dumps(names) if names else None,
                 "decider": decider, "note": note, "decided_at": time.time()}).last_pk

    def latest_decisions(self, proposal_ids: Sequence[int]) -> dict[int, dict]:
        if not proposal_ids:
            return {}
        marks = ",".join("?" * len(proposal_ids))
        rows = self.db.query(
            f"select * from decisions where id in (select max(id) from decisions where proposal_id in ({marks}) "
            "group by proposal_id)", list(proposal_ids))
        return {r["proposal_id"]: r for r in rows}

    def set_proposal_status(self, ids: Sequence[int], status: str) -> None:
        with self.transaction():
            for pid in ids:
                self.db.execute("update proposals set status = ? where id = ?", [status, pid])

    def save_summary(self, thread_id: str, version: int, summary: dict) -> None:
        with self.transaction():
            self.db["build_summaries"].upsert({"thread_id": thread_id, "version": version,
                                               "summary": json.dumps(summary), "created": time.time()},
                                              pk="thread_id")

    def corpus_rows(self) -> tuple[list[tuple], list[tuple]]:
        """(documents with at least one expression, expressions) in a stable order."""
        docs = self.db.execute(
            "select d.id, d.group_name, d.source, t.text, d.text from documents d "
            "left join topics t on t.id = d.topic_id "
            "where exists (select 1 from expressions e where e.document_id = d.id) order by d.rowid").fetchall()
        exprs = self.db.execute("select id, document_id, text from expressions order by id").fetchall()
        return docs, exprs


class Store(CodebookStoreMixin):
    """A project database. Open with :func:`open_project` or :func:`create_project`."""

    def __init__(self, path: Path):
        self.path = Path(path)
        conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        self.db = sqlite_utils.Database(conn)

    # -- schema -------------------------------------------------------------------------------
    @property
    def schema_version(self) -> int:
        if not self.db["meta"].exists():
            return 0
        row = self.db.execute("select value from meta where key = 'schema_version'").fetchone()
        return int(row[0]) if row else 0

    def migrate(self) -> int:
        """Apply pending forward migrations; returns the new schema version."""
        with self.transaction():
            if not self.db["meta"].exists():
                self.db["meta"].create({"key": str, "value": str}, pk="key")
            current = self.schema_version
            for version, migration in enumerate(MIGRATIONS, start=1):
                if version > current:
                    migration(self.db)
                    self.db["meta"].upsert({"key": "schema_version", "value": str(version)}, pk="key")
        return self.schema_version

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One short write transaction; ``BEGIN IMMEDIATE`` takes the write lock up front so that
        concurrent writers wait on the busy timeout instead of failing mid-way."""
        conn = self.db.conn
        if conn.in_transaction:
            yield
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    def close(self) -> None:
        self.db.conn.close()

    # -- meta and config ----------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("select value from meta where key = ?", [key]).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction():
            self.db["meta"].upsert({"key": key, "value": value}, pk="key")

    def config(self) -> WorkbenchConfig:
        text = self.get_meta("config")
        return parse_config(text, source=f"{self.path}: stored config") if text else WorkbenchConfig()

    def save_config(self, config: WorkbenchConfig) -> None:
        self.set_meta("config", config.model_dump_json())

    # -- documents ----------------------------------------------------------------------------
    def existing_document_ids(self, ids: Iterable[str]) -> set[str]:
        ids = list(ids)
        found: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            found.update(r[0] for r in self.db.execute(f"select id from documents where id in ({marks})", chunk))
        return found

    def import_documents(self, file: str, sha256: str, options: dict, docs: Sequence[DocumentRow],
                         gold: Sequence[tuple[str, str, int]] = ()) -> int:
        """Insert a validated file's documents (and gold labels) in one transaction."""
        with self.transaction():
            import_id = self.db["imports"].insert(
                {"file": file, "sha256": sha256, "options": json.dumps(options), "rows": len(docs),
                 "created": time.time()}
            ).last_pk
            for group in sorted({d.group_name for d in docs}):
                self.db["groups"].insert({"name": group, "description": ""}, ignore=True)
            topic_ids = {}
            for topic in sorted({d.topic for d in docs if d.topic}):
                self.db["topics"].insert({"text": topic}, ignore=True)
                topic_ids[topic] = self.db.execute("select id from topics where text = ?", [topic]).fetchone()[0]
            self.db["documents"].insert_all(
                (
                    {"id": d.id, "group_name": d.group_name, "topic_id": topic_ids.get(d.topic) if d.topic else None,
                     "source": d.source, "language": d.language, "text": d.text, "truncated": int(d.truncated),
                     "import_id": import_id}
                    for d in docs
                ),
                batch_size=500,
            )
            if gold:
                self.db["gold_labels"].insert_all(
                    ({"document_id": d, "category": c, "value": v} for d, c, v in gold), batch_size=1000
                )
        return import_id

    def count(self, table: str, where: str | None = None, params: Sequence = ()) -> int:
        sql = f"select count(*) from [{table}]" + (f" where {where}" if where else "")
        return self.db.execute(sql, list(params)).fetchone()[0]

    def document_counts(self) -> list[tuple[str, str, int]]:
        """(group, source, documents) for the project summary."""
        return [tuple(r) for r in self.db.execute(
            "select group_name, source, count(*) from documents group by 1, 2 order by 1, 2")]

    def documents_without_extraction(self, limit: int | None = None) -> list[DocumentRow]:
        sql = """select d.id, d.group_name, t.text, d.source, d.language, d.text, d.truncated
                 from documents d left join topics t on t.id = d.topic_id
                 where not exists (select 1 from extractions e where e.document_id = d.id and e.status = 'ok')
                 order by d.rowid"""
        if limit is not None:
            sql += f" limit {int(limit)}"
        return [DocumentRow(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6])) for r in self.db.execute(sql)]

    # -- expressions --------------------------------------------------------------------------
    def save_extraction(self, document_id: str, strategy: str, prompt_version: str,
                        expressions: Sequence[tuple[str, str, float | None]], error: str | None = None) -> None:
        """Store a document's value expressions (text, code name, score) or its failure, atomically."""
        with self.transaction():
            self.db.execute("delete from expressions where document_id = ?", [document_id])
            self.db["expressions"].insert_all(
                {"document_id": document_id, "position": i, "text": text, "code_name": name, "score": score,
                 "strategy": strategy}
                for i, (text, name, score) in enumerate(expressions)
            )
            self.db["extractions"].upsert(
                {"document_id": document_id, "strategy": strategy, "prompt_version": prompt_version,
                 "status": "failed" if error else "ok", "n_expressions": len(expressions), "error": error,
                 "created": time.time()},
                pk="document_id",
            )

    def expressions_of(self, document_id: str) -> list[dict]:
        return list(self.db.query(
            "select position, text, code_name, score, strategy from expressions where document_id = ? "
            "order by position", [document_id]))

    # -- embeddings ---------------------------------------------------------------------------
    def cached_embeddings(self, model: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(hashes), 500):
            chunk = list(hashes[start:start + 500])
            marks = ",".join("?" * len(chunk))
            for h, vec in self.db.execute(
                f"select text_hash, vector from embeddings where model = ? and text_hash in ({marks})",
                [model, *chunk],
            ):
                found[h] = np.frombuffer(vec, dtype=np.float32)
        return found

    def save_embeddings(self, model: str, items: Sequence[tuple[str, np.ndarray]]) -> None:
        with self.transaction():
            self.db["embeddings"].insert_all(
                ({"model": model, "text_hash": h, "dim": int(v.shape[0]),
                  "vector": np.asarray(v, dtype=np.float32).tobytes()} for h, v in items),
                replace=True, batch_size=500,
            )

    # -- LLM call log and cache ---------------------------------------------------------------
    def cached_response(self, cache_key: str) -> dict | None:
        rows = list(self.db.query(
            "select response, tokens_in, tokens_out from llm_calls where cache_key = ? and error is null "
            "order by id desc limit 1", [cache_key]))
        return rows[0] if rows else None

    def log_call(self, record: dict) -> None:
        with self.transaction():
            self.db["llm_calls"].insert({**record, "created": time.time()})

    # -- runs ---------------------------------------------------------------------------------
    def start_run(self, command: str, config_hash: str) -> int:
        with self.transaction():
            return self.db["runs"].insert(
                {"command": command, "config_hash": config_hash, "started": time.time(), "finished": None,
                 "stats": "{}"}
            ).last_pk

    def finish_run(self, run_id: int, stats: dict) -> None:
        with self.transaction():
            self.db["runs"].update(run_id, {"finished": time.time(), "stats": json.dumps(stats)})


def create_project(path: str | Path) -> Store:
    path = Path(path)
    if path.exists():
        raise WorkbenchError(f"{path} already exists: choose another name, or use the existing project")
    if not path.parent.exists():
        raise WorkbenchError(f"folder {path.parent} does not exist: create it first")
    store = Store(path)
    store.migrate()
    store.save_config(WorkbenchConfig())
    return store


def open_project(path: str | Path) -> Store:
    path = Path(path)
    if not path.is_file():
        raise WorkbenchError(f"no project at {path}: create it with 'workbench init {path}'")
    try:
        store = Store(path)
        store.db.execute("select count(*) from sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        raise WorkbenchError(f"{path} is not a workbench project ({exc})") from None
    if not store.db["meta"].exists():
        raise WorkbenchError(f"{path} is an SQLite file but not a workbench project: create one with 'workbench init'")
    store.migrate()
    return store
