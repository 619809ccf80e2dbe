"""The project store: one SQLite file per project; this package holds every SQL statement.

WAL mode and a busy timeout are set on every connection, so several annotators and a running build
can share one file. Schema changes are forward migrations (``schema.MIGRATIONS``), applied in order
and recorded in ``meta.schema_version``; nothing is ever dropped and recreated. The SQL is split by
subject into mixins (``codebook``, ``annotations``) of the one :class:`Store`.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sqlite_utils

from ..config import WorkbenchConfig, parse_config
from ..errors import WorkbenchError
from .annotations import AnnotationsStoreMixin
from .annotators import AnnotatorsStoreMixin
from .codebook import CodebookStoreMixin
from .scores import ScoresStoreMixin
from .survey import SurveyStoreMixin
from .schema import MIGRATIONS, OWN

BUSY_TIMEOUT_MS = 60_000


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


MAX_DOCUMENT_CHARS = 100_000  # a document's text at most (ingest cuts or refuses longer ones, generate cuts)


@dataclass(frozen=True)
class DocumentRow:
    id: str
    group_name: str
    topic: str | None
    source: str
    language: str
    text: str
    truncated: bool = False
    template: str | None = None  # the generation template (prompts/NAME) of a generated document
    seed: int | None = None  # the request seed it was generated with, if one was sent
    reliability_run: str | None = None  # a reliability run's document, kept apart from the project's sources


class Store(CodebookStoreMixin, AnnotationsStoreMixin, AnnotatorsStoreMixin, SurveyStoreMixin, ScoresStoreMixin):
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
    def copy_to(self, path: str | Path) -> None:
        """A consistent copy of the whole project file at ``path`` (SQLite's online backup)."""
        target = sqlite3.connect(str(path))
        try:
            self.db.conn.backup(target)
        finally:
            target.close()

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
                     "import_id": import_id, "template": d.template, "seed": d.seed,
                     "reliability_run": d.reliability_run}
                    for d in docs
                ),
                batch_size=500,
            )
            if gold:
                self.db["gold_labels"].insert_all(
                    ({"document_id": d, "category": c, "value": v} for d, c, v in gold), batch_size=1000
                )
        return import_id

    def run_documents(self) -> dict[str, str]:
        """{document id: reliability run} of every reliability run's document."""
        return dict(self.db.execute("select id, reliability_run from documents where reliability_run is not null"))

    def generation_options(self, source: str, group: str) -> dict | None:
        """The options ``workbench generate`` recorded for the project's documents of (source,
        group), from their latest import (None when they were imported, not generated)."""
        row = self.db.execute(
            f"select i.options from imports i where i.file like 'generate:%' and exists (select 1 from documents d "
            f"where d.import_id = i.id and d.source = ? and d.group_name = ? and {OWN}) order by i.id desc limit 1",
            [source, group]).fetchone()
        return json.loads(row[0]) if row else None

    def count(self, table: str, where: str | None = None, params: Sequence = ()) -> int:
        sql = f"select count(*) from [{table}]" + (f" where {where}" if where else "")
        return self.db.execute(sql, list(params)).fetchone()[0]

    def extraction_counts(self) -> dict[str, int]:
        """{status: documents} of the extractions ("ok", "failed"), 0 for a status with none."""
        found = dict(self.db.execute(f"select e.status, count(*) from extractions e join documents d "
                                     f"on d.id = e.document_id where {OWN} group by e.status").fetchall())
        return {"ok": 0, "failed": 0, **found}

    def checkpoint_connection(self) -> sqlite3.Connection:
        """A second connection on the project file (same WAL) for LangGraph's checkpointer."""
        conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        return conn

    def document_counts(self) -> list[tuple[str, str, int]]:
        """(group, source, documents) for the project summary."""
        return [tuple(r) for r in self.db.execute(
            f"select group_name, source, count(*) from documents d where {OWN} group by 1, 2 order by 1, 2")]

    def language_counts(self) -> list[tuple[str, str, str, int]]:
        """(group, source, language, documents): the stored script-based language guesses."""
        return [tuple(r) for r in self.db.execute(
            f"select group_name, source, coalesce(language, 'und'), count(*) from documents d where {OWN} "
            "group by 1, 2, 3 order by 1, 2, 3")]

    def training_documents(self, sources: Sequence[str]) -> list[tuple[str | None, str]]:
        """(topic, text) of the project's documents from ``sources`` (a build's training documents)."""
        marks = ",".join("?" * len(sources))
        return [tuple(r) for r in self.db.execute(
            f"select t.text, d.text from documents d left join topics t on t.id = d.topic_id "
            f"where d.source in ({marks}) and {OWN} order by d.rowid", list(sources))]

    def documents_without_extraction(self, limit: int | None = None, runs: bool = False) -> list[DocumentRow]:
        """The project's documents without expressions yet (``runs``: the reliability runs' instead)."""
        sql = f"""select d.id, d.group_name, t.text, d.source, d.language, d.text, d.truncated
                 from documents d left join topics t on t.id = d.topic_id
                 where not exists (select 1 from extractions e where e.document_id = d.id and e.status = 'ok')
                 and {"not " if runs else ""}{OWN} order by d.rowid"""
        if limit is not None:
            sql += f" limit {int(limit)}"
        return [DocumentRow(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6])) for r in self.db.execute(sql)]

    # -- expressions --------------------------------------------------------------------------
    def save_extraction(self, document_id: str, strategy: str, prompt_version: str,
                        expressions: Sequence[tuple[str, str, float | None]], error: str | None = None) -> None:
        """Store a document's value expressions (text, code name, score) or its failure, atomically.

        Plain statements: it runs once per LLM reply on the event loop that has calls in flight,
        and sqlite-utils' insert_all/upsert re-read the schema on every call (issue 16)."""
        with self.transaction():
            self.db.execute("delete from expressions where document_id = ?", [document_id])
            self.db.conn.executemany(
                "insert into expressions (document_id, position, text, code_name, score, strategy) "
                "values (?, ?, ?, ?, ?, ?)",
                [(document_id, i, text, name, score, strategy) for i, (text, name, score) in enumerate(expressions)])
            self.db.execute(
                "insert into extractions (document_id, strategy, prompt_version, status, n_expressions, error, created) "
                "values (?, ?, ?, ?, ?, ?, ?) on conflict (document_id) do update set strategy = excluded.strategy, "
                "prompt_version = excluded.prompt_version, status = excluded.status, "
                "n_expressions = excluded.n_expressions, error = excluded.error, created = excluded.created",
                [document_id, strategy, prompt_version, "failed" if error else "ok", len(expressions), error,
                 time.time()])

    def document_texts(self) -> list[tuple[str, str]]:
        """(id, text) of every document, in import order."""
        return [tuple(r) for r in self.db.execute("select id, text from documents order by rowid")]

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

    def save_embeddings(self, model: str, items: Sequence[tuple[str, np.ndarray]],
                        run: tuple[int, dict] | None = None) -> None:
        """Store embeddings; with ``run`` (run id, its stats counting them) the run's stats are
        written in the same transaction, so a run killed mid-way counts exactly what it stored."""
        with self.transaction():
            self.db["embeddings"].insert_all(
                ({"model": model, "text_hash": h, "dim": int(v.shape[0]),
                  "vector": np.asarray(v, dtype=np.float32).tobytes()} for h, v in items),
                replace=True, batch_size=500,
            )
            if run is not None:
                self.db["runs"].update(run[0], {"stats": json.dumps(run[1])})

    # -- LLM call log and cache ---------------------------------------------------------------
    def cached_response(self, cache_key: str) -> dict | None:
        rows = list(self.db.query(
            "select response, tokens_in, tokens_out from llm_calls where cache_key = ? and error is null "
            "order by id desc limit 1", [cache_key]))
        return rows[0] if rows else None

    def log_call(self, record: dict) -> None:
        # A plain INSERT: sqlite-utils' insert re-reads the table's schema on every call, which at
        # dozens of calls a second held the event loop for ~1.5 ms a call (issue 16).
        row = {**record, "created": time.time()}
        with self.transaction():
            self.db.execute(f"insert into llm_calls ({', '.join(row)}) values ({', '.join('?' * len(row))})",
                            list(row.values()))

    # -- runs ---------------------------------------------------------------------------------
    def start_run(self, command: str, config_hash: str, estimate: dict | None = None,
                  parent: int | None = None) -> int:
        """A new run of ``command``; ``estimate``: what it was estimated to cost (``--estimate``);
        ``parent``: the run it is part of, whose calls it counts towards (:meth:`run_usage`)."""
        with self.transaction():
            return self.db["runs"].insert(
                {"command": command, "config_hash": config_hash, "started": time.time(), "finished": None,
                 "stats": "{}", "estimate": json.dumps(estimate) if estimate is not None else None, "parent": parent}
            ).last_pk

    def finish_run(self, run_id: int, stats: dict) -> None:
        with self.transaction():
            self.db["runs"].update(run_id, {"finished": time.time(), "stats": json.dumps(stats)})

    def latest_estimated_run(self, command: str) -> dict | None:
        """The last run of ``command`` started with an estimate (id, started, finished, stats and
        estimate as dicts), or None."""
        rows = list(self.db.query("select id, started, finished, stats, estimate from runs where command = ? "
                                  "and estimate is not null order by id desc limit 1", [command]))
        return {**rows[0], "stats": json.loads(rows[0]["stats"] or "{}"),
                "estimate": json.loads(rows[0]["estimate"])} if rows else None

    def run_usage(self, run_id: int) -> list[dict]:
        """The model calls a run made, with those of the runs that are part of it: per (role, model)
        the calls that reached the model (a call whose every retry failed never did; a cache hit
        is no call) and the tokens the endpoint counted."""
        return list(self.db.query(
            "select role, model, count(*) as calls, coalesce(sum(tokens_in), 0) as tokens_in, "
            "coalesce(sum(tokens_out), 0) as tokens_out from llm_calls where cache_key is not null and "
            "run_id in (select id from runs where id = :run or parent = :run) group by role, model order by min(id)",
            {"run": run_id}))



def storage_error(path: Path, exc: sqlite3.OperationalError) -> WorkbenchError:
    """The one line a user reads when SQLite cannot write or open a project."""
    text = str(exc)
    if "readonly" in text or "unable to open" in text:
        return WorkbenchError(f"{path.resolve()}: cannot write the project ({text}): make the file and its folder "
                              "writable (SQLite keeps -wal and -shm files beside it), or copy the project to a "
                              "folder you can write")
    return WorkbenchError(f"{path.resolve()}: the project file is busy or damaged ({text}): try again; if it "
                          "persists, check that no other program holds it open")


def _check_writable(path: Path) -> None:
    """Every command writes (migrations, runs, labels); say so before SQLite fails half-way."""
    for target, what in ((path, "file"), (path.parent, "folder")):
        if not os.access(target, os.W_OK):
            raise WorkbenchError(f"{path.resolve()}: the project {what} {target.resolve()} is read-only: make it "
                                 "writable (chmod u+w), or copy the project to a folder you can write")


def create_project(path: str | Path) -> Store:
    path = Path(path)
    if path.exists():
        raise WorkbenchError(f"{path} already exists: choose another name, or use the existing project")
    if not path.parent.exists():
        raise WorkbenchError(f"folder {path.parent.resolve()} does not exist: create it first")
    try:
        store = Store(path)
        store.migrate()
    except sqlite3.OperationalError as exc:
        raise storage_error(path, exc) from None
    store.save_config(WorkbenchConfig())
    return store


def open_project(path: str | Path) -> Store:
    path = Path(path)
    if not path.is_file():
        raise WorkbenchError(f"no project at {path.resolve()}: create it with 'workbench init {path}'")
    _check_writable(path)
    try:
        store = Store(path)
        store.db.execute("select count(*) from sqlite_master").fetchone()
    except sqlite3.OperationalError as exc:
        raise storage_error(path, exc) from None
    except sqlite3.DatabaseError as exc:
        raise WorkbenchError(f"{path} is not a workbench project ({exc})") from None
    if not store.db["meta"].exists():
        raise WorkbenchError(f"{path} is an SQLite file but not a workbench project: create one with 'workbench init'")
    store.migrate()
    return store
