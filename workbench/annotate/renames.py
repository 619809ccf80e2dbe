"""Renames from the code-name audit: the ones a version's audit accepts, written as a new version."""
from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from dataclasses import dataclass

from ..store import Store
from .labels import counted_reannotations
from .roles import DECIDE, require
from .tasks import FIRST, REANNOTATION, task_protocol


@dataclass
class Rename:
    idx: int
    uid: str
    old_name: str | None
    new_name: str
    proposed_by: list[str]
    votes_not_fit: int
    votes: int
    label_ids: list[int]


def accepted_renames(store: Store, version: int) -> list[Rename]:
    """Renames the audit of a version accepts: more than half of the annotators who judged a code's
    name said it does not fit, and at least one proposed a better name; the name proposed by most
    annotators wins (ties: the one proposed first)."""
    rows = counted_reannotations(store.labels("code_quality", viewer=None, codebook_version=version,
                                              rounds=[FIRST, REANNOTATION], criteria=["name_fit", "better_name"]))
    rows.sort(key=lambda r: ({FIRST: 0, REANNOTATION: 1}[r["round"]], r["id"]))
    fit: dict[str, dict[str, dict]] = defaultdict(dict)
    better: dict[str, dict[str, dict]] = defaultdict(dict)
    for row in rows:
        (fit if row["criterion"] == "name_fit" else better)[row["item_id"]][row["annotator"]] = row
    by_uid = {c.uid: c for c in store.codes_of(version)}
    renames = []
    for uid, proposals in better.items():
        votes = fit.get(uid, {})
        not_fit = sum(1 for r in votes.values() if r["label"] == "0")
        if uid not in by_uid or not votes or not_fit * 2 <= len(votes):
            continue
        counts = Counter(r["label"] for r in proposals.values())
        first_seen = {}
        for r in sorted(proposals.values(), key=lambda r: r["id"]):
            first_seen.setdefault(r["label"], r["id"])
        name = max(counts, key=lambda n: (counts[n], -first_seen[n]))
        code = by_uid[uid]
        renames.append(Rename(code.idx, uid, code.name, name, sorted(a for a, r in proposals.items()
                                                                      if r["label"] == name),
                              not_fit, len(votes), sorted(r["id"] for r in [*votes.values(), *proposals.values()])))
    return sorted(renames, key=lambda r: r.idx)


def apply_renames(store: Store, version: int, accepted_by: str) -> int | None:
    """Write the accepted renames of an audited version into a NEW codebook version (reason
    'rename'; the diff names old and new names, proposers, votes and the label ids). Returns the new
    version, the same one again if these renames were already written, or None if none is accepted."""
    accepted_by = require(store, accepted_by, DECIDE)
    renames = accepted_renames(store, version)
    if not renames:
        return None
    changes = [{"uid": r.uid, "idx": r.idx, "old": r.old_name, "new": r.new_name, "proposed_by": r.proposed_by,
                "votes_not_fit": r.votes_not_fit, "votes": r.votes, "label_ids": r.label_ids} for r in renames]
    for existing in store.versions():
        if existing["reason"] == "rename" and existing["parent"] == version:
            done = json.loads(existing["diff"]).get("rename", [])
            if [(c["uid"], c["new"]) for c in done] == [(c["uid"], c["new"]) for c in changes]:
                return existing["version"]
    protocol = task_protocol("code_quality")
    diff = {"rename": changes, "audited_version": version, "accepted_by": accepted_by,
            "protocol": f"{protocol.id}@{protocol.version}", "at": time.time()}
    names = {r.idx: (r.new_name, f"annotator:{'+'.join(r.proposed_by)} (audit of v{version})") for r in renames}
    return store.save_renamed_codebook(version, names, diff)
