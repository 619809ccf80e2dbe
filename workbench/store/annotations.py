"""SQL of the annotations tables (see schema.py ``_m3``); mixed into :class:`workbench.store.Store`.

Labels are append-only: a label is a new row, never an update, so nothing an annotator wrote is
lost; the latest row per (task, item, criterion, annotator, round) is the one that counts. Each
write is one short ``BEGIN IMMEDIATE`` transaction, so several annotators' processes can label the
same project file at once and wait on the busy timeout instead of failing.
"""
from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import sqlite_utils

from ..errors import WorkbenchError
from ..models import Code

LABEL_COLUMNS = ("id", "task", "item_id", "criterion", "label", "annotator", "round", "codebook_version",
                 "protocol_id", "protocol_version", "note", "created")


class AnnotationsStoreMixin:
    """Samples, labels, and the rename versions that the code-name audit produces."""

    db: sqlite_utils.Database

    # -- samples ------------------------------------------------------------------------------
    def sample_items(self, task: str, codebook_version: int) -> list[str]:
        """The stored sample of a task for a codebook version, in presentation order."""
        return [r[0] for r in self.db.execute(
            "select item_id from annotation_samples where task = ? and codebook_version = ? order by position",
            [task, codebook_version])]

    def create_sample(self, task: str, codebook_version: int, protocol_version: str,
                      item_ids: Sequence[str]) -> list[str]:
        """Store a sample once per (task, codebook version) and return the stored one.

        The check and the insert share one write transaction, so two annotators opening the same
        task at the same moment get the same sample, whichever process draws it first.
        """
        with self.transaction():
            existing = self.sample_items(task, codebook_version)
            if existing:
                return existing
            now = time.time()
            self.db["annotation_samples"].insert_all(
                {"task": task, "item_id": item, "position": i, "codebook_version": codebook_version,
                 "protocol_version": protocol_version, "created": now} for i, item in enumerate(item_ids))
        return list(item_ids)

    # -- a lead's round: assignments and closing (schema ``_m8``) ------------------------------
    def replace_assignments(self, task: str, codebook_version: int, assignment: dict[str, Sequence[str]],
                            seed: int | None) -> int:
        """Store {annotator: item ids} as the round's assignment, replacing any earlier one in the
        same transaction; returns how many earlier rows it replaced."""
        now = time.time()
        with self.transaction():
            replaced = self.db.execute("delete from assignments where task = ? and codebook_version = ?",
                                       [task, codebook_version]).rowcount
            self.db["assignments"].insert_all(
                {"task": task, "codebook_version": codebook_version, "item_id": item, "annotator": annotator,
                 "seed": seed, "created": now} for annotator, items in assignment.items() for item in items)
        return replaced

    def assignments(self, task: str, codebook_version: int) -> dict[str, list[str]]:
        """{annotator: assigned item ids} of a round (empty: no assignment)."""
        found: dict[str, list[str]] = {}
        for annotator, item in self.db.execute(
                "select annotator, item_id from assignments where task = ? and codebook_version = ? order by id",
                [task, codebook_version]):
            found.setdefault(annotator, []).append(item)
        return found

    def assigned(self, task: str, codebook_version: int, annotator: str, item_id: str) -> bool | None:
        """Whether the round assigns ``item_id`` to ``annotator``; None when it assigns nothing."""
        any_row, mine = self.db.execute(
            "select exists(select 1 from assignments where task = :task and codebook_version = :version), "
            "exists(select 1 from assignments where task = :task and codebook_version = :version "
            "and annotator = :annotator and item_id = :item)",
            {"task": task, "version": codebook_version, "annotator": annotator, "item": item_id}).fetchone()
        return bool(mine) if any_row else None

    def round_versions(self, task: str) -> list[int]:
        """Codebook versions with a round of a task: a sample, an assignment or a closing."""
        return [r[0] for r in self.db.execute(
            "select codebook_version from annotation_samples where task = :task union "
            "select codebook_version from assignments where task = :task union "
            "select codebook_version from closed_rounds where task = :task order by 1", {"task": task})]

    def close_round(self, task: str, codebook_version: int, closed_by: str) -> dict:
        """Mark a round closed (once: closing it again keeps the first closing) and return it."""
        with self.transaction():
            self.db.execute("insert or ignore into closed_rounds (task, codebook_version, closed_by, closed) "
                            "values (?, ?, ?, ?)", [task, codebook_version, closed_by, time.time()])
        return self.closed_round(task, codebook_version)

    def reopen_round(self, task: str, codebook_version: int) -> bool:
        """Forget a round's closing; False when it was open."""
        with self.transaction():
            return self.db.execute("delete from closed_rounds where task = ? and codebook_version = ?",
                                   [task, codebook_version]).rowcount > 0

    def closed_round(self, task: str, codebook_version: int | None) -> dict | None:
        """The closing of a round ({task, codebook_version, closed_by, closed}), None while open."""
        rows = list(self.db.query("select * from closed_rounds where task = ? and codebook_version = ?",
                                  [task, codebook_version]))
        return rows[0] if rows else None

    # -- labels -------------------------------------------------------------------------------
    def record_label(self, *, task: str, item_id: str, criterion: str, label: str, annotator: str,
                     codebook_version: int | None, protocol_id: str, protocol_version: str,
                     round: str = "first", note: str | None = None) -> int:
        """Append one label row in its own short transaction; returns its id."""
        return self.record_labels([{
            "task": task, "item_id": item_id, "criterion": criterion, "label": label, "annotator": annotator,
            "round": round, "codebook_version": codebook_version, "protocol_id": protocol_id,
            "protocol_version": protocol_version, "note": note}])[0]

    def record_labels(self, rows: Sequence[dict[str, Any]]) -> list[int]:
        """Append several label rows atomically (all or none); returns their ids."""
        ids = []
        now = time.time()
        with self.transaction():
            for row in rows:
                missing = [c for c in ("task", "item_id", "criterion", "label", "annotator", "protocol_id",
                                       "protocol_version") if row.get(c) in (None, "")]
                if missing:
                    raise WorkbenchError(f"a label needs {', '.join(missing)}: nothing was written")
                ids.append(self.db["labels"].insert(
                    {"task": row["task"], "item_id": str(row["item_id"]), "criterion": row["criterion"],
                     "label": str(row["label"]), "annotator": row["annotator"], "round": row.get("round", "first"),
                     "codebook_version": row.get("codebook_version"), "protocol_id": row["protocol_id"],
                     "protocol_version": row["protocol_version"], "note": row.get("note"),
                     "created": row.get("created") or now}).last_pk)
        return ids

    def label_identities(self) -> list[tuple]:
        """(task, item, criterion, label, annotator, round, version, note or "", created) of every
        label row: what an import compares against so that re-importing adds nothing."""
        return [(*r[:7], r[7] or "", r[8]) for r in self.db.execute(
            "select task, item_id, criterion, label, annotator, round, codebook_version, note, created from labels")]

    def label_targets(self) -> tuple[dict[int, set[str]], dict[int, int]]:
        """({codebook version: code uids}, {proposal id: its codebook version}): what a label's
        item may name, for checking imported labels."""
        uids: dict[int, set[str]] = {v: set() for (v,) in self.db.execute("select version from codebook_versions")}
        for version, uid in self.db.execute("select version, uid from codes"):
            uids.setdefault(version, set()).add(uid)
        return uids, dict(self.db.execute("select id, version from proposals").fetchall())

    def labels(self, task: str | None = None, *, viewer: str | None, adjudication: bool = False,
               codebook_version: int | None = None, codebook_versions: Sequence[int] | None = None,
               rounds: Sequence[str] | None = None, item_ids: Sequence[str] | None = None, criteria: Sequence[str] | None = None) -> list[dict]:
        """Label rows in the order they were written (oldest first).

        Blinding: with ``viewer`` set, only that annotator's own rows are returned unless
        ``adjudication`` is true (the discussion of even splits, where the panel sees every label).
        ``viewer=None`` is the unblinded view for agreement figures and exports, never for showing
        one annotator another's labels. ``codebook_versions`` selects rows of several versions at
        once (the read-time view that carries labels forward, ``annotate.version_labels``).
        """
        where, params = [], []
        if task is not None:
            where.append("task = ?")
            params.append(task)
        if viewer is not None and not adjudication:
            where.append("annotator = ?")
            params.append(viewer)
        if codebook_version is not None:
            where.append("codebook_version = ?")
            params.append(codebook_version)
        for column, values in (("round", rounds), ("item_id", item_ids), ("criterion", criteria),
                               ("codebook_version", codebook_versions)):
            if values is not None:
                values = list(values)
                if not values:
                    return []
                where.append(f"{column} in ({','.join('?' * len(values))})")
                params += [v if column == "codebook_version" else str(v) for v in values]
        sql = "select * from labels" + (" where " + " and ".join(where) if where else "") + " order by id"
        return list(self.db.query(sql, params))

    def labelled_versions(self, task: str) -> list[int]:
        """Codebook versions that have labels of a task by a human annotator (not the recognizer)."""
        return [r[0] for r in self.db.execute(
            "select distinct codebook_version from labels where task = ? and round != 'model' "
            "and codebook_version is not null order by 1", [task])]

    def sampled_versions(self, task: str) -> list[int]:
        """Codebook versions that have a stored sample of a task."""
        return [r[0] for r in self.db.execute(
            "select distinct codebook_version from annotation_samples where task = ? order by 1", [task])]

    def label_summary(self) -> list[dict]:
        """Rows per (task, codebook version, round, annotator)."""
        return list(self.db.query(
            "select task, codebook_version, round, annotator, count(*) as n, count(distinct item_id) as items "
            "from labels group by 1, 2, 3, 4 order by 1, 2, 3, 4"))

    def export_label_rows(self, annotator: str | None = None) -> Iterator[dict]:
        """Every label row ever written (one annotator's, when given), oldest first (for
        ``workbench labels --export``)."""
        where, params = ("where annotator = ? ", [annotator]) if annotator is not None else ("", [])
        yield from self.db.query(f"select {', '.join(LABEL_COLUMNS)} from labels {where}order by id", params)

    # -- decisions on the paused build, as one annotator made them ------------------------------
    def decisions_by(self, decider: str, proposal_ids: Sequence[int]) -> dict[int, dict]:
        """The latest decision of one decider per proposal (the review screen resumes with these,
        so an annotator's submit never carries someone else's later decision)."""
        if not proposal_ids:
            return {}
        marks = ",".join("?" * len(proposal_ids))
        rows = self.db.query(
            f"select * from decisions where id in (select max(id) from decisions where decider = ? "
            f"and proposal_id in ({marks}) group by proposal_id)", [decider, *proposal_ids])
        return {r["proposal_id"]: r for r in rows}

    # -- renames from the code-name audit -------------------------------------------------------
    def save_renamed_codebook(self, parent: int, renames: dict[int, tuple[str, str]], diff: dict) -> int:
        """A new codebook version that copies ``parent`` (codes, uids, centroids, memberships) with
        new names {code idx: (name, name source)}; reason 'rename', the diff records provenance.

        The parent is left as it was: versions are never edited.
        """
        with self.transaction():
            row = self.db.execute("select thread_id, config_hash, embedder from codebook_versions where version = ?",
                                  [parent]).fetchone()
            if row is None:
                raise WorkbenchError(f"no codebook version {parent}: 'workbench status PROJECT' lists the versions")
            thread_id, config_hash, embedder = row
            rename_thread = f"{thread_id}/rename-of-{parent}"
            # One rename version per audit round of a parent: (thread, iteration, reason) stays unique.
            iteration = self.db.execute("select count(*) from codebook_versions where thread_id = ?",
                                        [rename_thread]).fetchone()[0] + 1
            version = self.db["codebook_versions"].insert(
                {"thread_id": rename_thread, "iteration": iteration, "parent": parent, "reason": "rename",
                 "diff": json.dumps(diff), "config_hash": config_hash, "embedder": embedder,
                 "created": time.time()}).last_pk
            codes = list(self.db.query("select * from codes where version = ? order by idx", [parent]))
            unknown = sorted(set(renames) - {c["idx"] for c in codes})
            if unknown:
                raise WorkbenchError(f"codebook version {parent} has no code(s) {unknown}: nothing was written")
            for code in codes:
                if code["idx"] in renames:
                    code["name"], code["name_source"] = renames[code["idx"]]
                code["version"] = version
            self.db["codes"].insert_all(codes)
            self.db.execute("insert into code_members (version, expression_id, idx) "
                            "select ?, expression_id, idx from code_members where version = ?", [version, parent])
        return version

    # -- what the annotation screens read -------------------------------------------------------
    def documents_by_id(self, ids: Sequence[str]) -> dict[str, dict]:
        """{id: document with its group, source, topic and text} for the given ids."""
        found: dict[str, dict] = {}
        ids = list(ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            for row in self.db.query(
                    "select d.id, d.group_name, d.source, d.language, t.text as topic, d.text from documents d "
                    f"left join topics t on t.id = d.topic_id where d.id in ({','.join('?' * len(chunk))})", chunk):
                found[row["id"]] = row
        return found

    def expression_texts(self, ids: Sequence[int]) -> dict[int, str]:
        found: dict[int, str] = {}
        ids = [int(i) for i in ids]
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            found.update(self.db.execute(
                f"select id, text from expressions where id in ({','.join('?' * len(chunk))})", chunk).fetchall())
        return found

    def codes_of(self, version: int) -> list[Code]:
        """The codes of a version without their memberships: what the annotation screens show.
        ``load_codebook`` also reads every expression's membership (≈ 60 ms at paper scale), which
        titles and names do not need."""
        if not self.db.execute("select 1 from codebook_versions where version = ?", [version]).fetchone():
            raise WorkbenchError(f"no codebook version {version}: 'workbench status PROJECT' lists the versions")
        return [Code(r["idx"], r["uid"], r["name"], r["name_source"], r["description"], r["size"],
                     np.frombuffer(r["centroid"], dtype=np.float32))
                for r in self.db.query("select * from codes where version = ? order by idx", [version])]

    def code_member_ids(self, version: int, idxs: Sequence[int]) -> dict[int, list[int]]:
        """{code index: its expression ids, ascending} for some codes of a version."""
        found: dict[int, list[int]] = {int(k): [] for k in idxs}
        idxs = list(found)
        for start in range(0, len(idxs), 500):
            chunk = idxs[start:start + 500]
            for expression_id, idx in self.db.execute(
                    "select expression_id, idx from code_members where version = ? "
                    f"and idx in ({','.join('?' * len(chunk))}) order by expression_id", [version, *chunk]):
                found[idx].append(expression_id)
        return found
