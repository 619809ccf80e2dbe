"""The annotators' library (DOVE App. C): samples, the recognizer's codes per document, labels
with their provenance, agreement per task, adjudication, and renames from the code-name audit.

The review TUI (:mod:`workbench.tui`) and the ``review`` / ``agreement`` / ``labels`` commands are
thin shells over these functions, so a notebook can do everything the screens do.

Tasks are the protocols in ``annotations/protocols/``: ``proposals`` (approve/reject the edits a
paused build proposes), ``code_quality`` (meaningful, redundant, name fits; App. C "codebook
quality") and ``mapping`` (Yes/No per document–code pair; App. C "mapping capability").

Rounds of a label: ``first`` (blind), ``reannotation`` (items the panel disagreed on, relabelled
with the protocol's detailed instruction, still blind), ``consensus`` (an even split settled in
discussion, with a note) and ``model`` (the recognizer's own Yes/No, one more rater on mapping).

Carried labels: a label row belongs to the codebook version it was made on and is never copied.
Mapping labels count on later versions at read time (:func:`version_labels`): a label made on an
ancestor of version V (its parent chain through applies and renames) on a code whose uid V keeps
counts on V, marked ``carried_from`` its version, so labels made on a paused version are not redone
on the final one; labels of codes split or merged away (new uids) do not carry.
"""
from __future__ import annotations

import calendar
import csv
import json
import math
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from annotations.agreement import DEFAULT_MODEL_NAME, AgreementReport, agreement_report, table_from_rows
from annotations.protocols import AnnotationProtocol, available_protocols, load_protocol

from .errors import WorkbenchError
from .store import Store
from .store.annotations import LABEL_COLUMNS
from .tabular import read_rows

TASKS = ("proposals", "code_quality", "mapping")
RECOGNIZER = DEFAULT_MODEL_NAME
FIRST, REANNOTATION, CONSENSUS, MODEL = "first", "reannotation", "consensus", "model"
ROUNDS = (FIRST, REANNOTATION, CONSENSUS, MODEL)
# Names that already mean something in the labels and decisions tables.
RESERVED_NAMES = {RECOGNIZER, "auto", "missing", "unknown", CONSENSUS}
PAIR = "::"  # mapping item id: "<document id>::<code uid>" (a uid never contains it)
# Free-text companions of the code-quality criteria; stored as labels, not part of agreement.
EXTRA_CRITERIA: dict[str, tuple[str, ...]] = {"code_quality": ("redundant_with", "better_name"),
                                              "mapping": (), "proposals": ()}
HUMAN_ROUNDS = (FIRST, REANNOTATION, CONSENSUS)
# Only mapping labels carry: "does this code apply to this document" judges the document against a
# code that keeps its uid (and meaning). A code-quality label judges the code's members and name,
# which every 'apply' re-clusters and a 'rename' changes, so it stays with its version.
CARRIED_TASKS = ("mapping",)


# ----------------------------------------------------------------------------- checks


def check_annotator(name: str | None) -> str:
    """An annotator name as stored with every label; reserved and empty names are refused."""
    name = (name or "").strip()
    if not name:
        raise WorkbenchError("give the annotator's name: --annotator NAME")
    if name.lower() in RESERVED_NAMES or PAIR in name:
        raise WorkbenchError(f"{name!r} is reserved for the workbench's own rows: choose another annotator name")
    return name


def task_protocol(task: str) -> AnnotationProtocol:
    if task not in TASKS:
        raise WorkbenchError(f"unknown task {task!r}: choose one of {', '.join(TASKS)}")
    if task not in available_protocols():
        raise WorkbenchError(f"no protocol file for task {task!r} in annotations/protocols/")
    return load_protocol(task)


def working_version(store: Store, version: int | None = None) -> int:
    """The codebook version annotators work on: the one asked for, else the latest."""
    if version is None:
        version = store.latest_version()
    if version is None:
        store.load_codebook(version)  # raises the user-facing "no codebook yet"
    store.codes_of(version)  # raises the user-facing error when absent
    return int(version)


def pair_id(document_id: str, code_uid: str) -> str:
    return f"{document_id}{PAIR}{code_uid}"


def split_pair(item_id: str) -> tuple[str, str]:
    document_id, code_uid = item_id.rsplit(PAIR, 1)
    return document_id, code_uid


# ------------------------------------------------------------------------------ sampling


def stratified_sample(strata: Mapping[Hashable, Sequence[str]], size: int, seed: int) -> list[str]:
    """Draw ``size`` items with equal allocation across strata, seeded.

    Each stratum is shuffled with one generator (strata visited in sorted key order), then items are
    taken round-robin, one per stratum per turn, until ``size`` is reached or every stratum is used
    up. Equal rather than proportional allocation keeps small strata (an LLM source, a minority
    culture) represented, as App. C's 15/15 human plus 20 LLM documents were. The round-robin order
    is also the presentation order, so strata are interleaved for the annotator.
    """
    if size < 1:
        raise ValueError(f"size must be positive, got {size}")
    rng = np.random.default_rng(seed)
    queues = []
    for key in sorted(strata, key=str):
        items = list(strata[key])
        queues.append([items[i] for i in rng.permutation(len(items))])
    chosen: list[str] = []
    turn = 0
    while len(chosen) < size and any(turn < len(q) for q in queues):
        for queue in queues:
            if turn < len(queue) and len(chosen) < size:
                chosen.append(queue[turn])
        turn += 1
    return chosen


def assigned_codes(q_row: np.ndarray, m: int, floor: float) -> list[tuple[int, float]]:
    """The codes the recognizer assigns to one document: the top ``m`` of q(z|x, C) (Eq. 15), most
    probable first, without those under ``floor``.

    ``m`` is ``em.m``, the size of the code sets Algorithm 1 samples, and ``floor`` is
    ``em.min_code_p``, App. E.4's sampling floor: a document is shown exactly the codes the loop
    could have used to reconstruct it.
    """
    order = np.argsort(-np.asarray(q_row), kind="stable")[:m]
    return [(int(k), float(q_row[k])) for k in order if q_row[k] >= floor]


def recognizer_label(q: float, m: int) -> str:
    """The recognizer's own Yes/No on a shown pair: "yes" when q ≥ 1/M, i.e. the code holds at
    least an even share of an M-code set. (Every shown code is in the top M, so "yes" for all
    would make the human-vs-recognizer κ 0 by construction; the share rule lets it disagree.)"""
    return "yes" if q >= 1.0 / m else "no"


def _recognizer_rows(store: Store, version: int) -> list[dict]:
    return store.labels("mapping", viewer=RECOGNIZER, codebook_version=version, rounds=[MODEL])


def mapping_sample(store: Store, version: int | None = None, size: int | None = None,
                   seed: int | None = None) -> list[str]:
    """The stratified document sample of the mapping task for a codebook version (default: the
    protocol's 50, by group and source), drawn once and stored with the recognizer's assigned
    codes; later calls, from any process, return the stored sample.

    A version whose ancestor has a mapping sample reuses it: the ancestor's documents come first
    (the rest of the size is drawn as usual), and each of them also shows the ancestor's pairs on
    codes this version keeps, after its own top-M codes, so labels carried from the ancestor
    (:func:`version_labels`) count as done."""
    version = working_version(store, version)
    existing = store.sample_items("mapping", version)
    if existing and _recognizer_rows(store, version):
        return existing
    protocol = task_protocol("mapping")
    docs, _ = store.corpus_rows()
    if not docs:
        raise WorkbenchError(f"{store.path} has no documents with value expressions: run 'workbench extract' first")
    strata: dict[tuple[str, str], list[str]] = defaultdict(list)
    for doc_id, group, source, _topic, _text in docs:
        strata[(group, source)].append(doc_id)
    size = size or protocol.sample.size or len(docs)
    carried_from, carried = _carried_pairs(store, version)
    drawn = list(carried)[:size]
    reused = set(drawn)
    drawn += [d for d in stratified_sample(strata, size, protocol.sample.seed if seed is None else seed)
              if d not in reused][:size - len(drawn)]
    q_by_doc = _posteriors_by_document(store, version)
    em = store.config().em
    codes = store.load_codebook(version).codes
    by_idx, by_uid = {c.idx: c for c in codes}, {c.uid: c for c in codes}
    rule = f"top M={em.m} of q(z|x) with q >= {em.min_code_p}; yes iff q >= 1/M"
    with store.transaction():
        ids = store.create_sample("mapping", version, protocol.version, drawn)
        if not _recognizer_rows(store, version):
            rows = []
            for doc_id in (d for d in ids if d in q_by_doc):
                shown = [(k, q, {}) for k, q in assigned_codes(q_by_doc[doc_id], em.m, em.min_code_p)]
                shown += [(by_uid[uid].idx, float(q_by_doc[doc_id][by_uid[uid].idx]), {"carried_from": carried_from})
                          for uid in carried.get(doc_id, []) if by_uid[uid].idx not in {k for k, _, _ in shown}]
                for rank, (k, q, extra) in enumerate(shown, start=1):
                    rows.append({"task": "mapping", "item_id": pair_id(doc_id, by_idx[k].uid),
                                 "criterion": protocol.criteria[0].id, "label": recognizer_label(q, em.m),
                                 "annotator": RECOGNIZER, "round": MODEL, "codebook_version": version,
                                 "protocol_id": protocol.id, "protocol_version": protocol.version,
                                 "note": json.dumps({"q": round(q, 6), "rank": rank, "code_idx": k, "rule": rule,
                                                     **extra})})
            store.record_labels(rows)
    return ids


def _carried_pairs(store: Store, version: int) -> tuple[int | None, dict[str, list[str]]]:
    """(the nearest ancestor with a mapping sample, {its document: uids of its shown pairs that
    ``version`` keeps}, in its sample order); (None, {}) when no ancestor has one."""
    kept = store.code_uids(version)
    for ancestor in store.version_lineage(version)[1:]:
        sample = store.sample_items("mapping", ancestor)
        if sample:
            pairs: dict[str, list[str]] = {doc: [] for doc in sample}
            for row in _recognizer_rows(store, ancestor):
                doc_id, uid = split_pair(row["item_id"])
                if doc_id in pairs and uid in kept:
                    pairs[doc_id].append(uid)
            return ancestor, pairs
    return None, {}


def _posteriors_by_document(store: Store, version: int) -> dict[str, np.ndarray]:
    """q(z|x, C) of every extracted document (any source: models' documents are mapped onto the
    codebook too), with the build's σ (workbench.posteriors; cached embeddings)."""
    from .corpus import load_corpus
    from .llm.gateway import Gateway
    from .posteriors import build_sigma, code_posteriors

    config = store.config()
    corpus = load_corpus(store, Gateway(store, config), show_progress=False)
    codebook = store.load_codebook(version)
    q_docs, _ = code_posteriors(corpus, codebook, build_sigma(store, corpus, codebook, config.em.sigma_mode))
    return dict(zip(corpus.doc_ids, q_docs))


def code_quality_sample(store: Store, version: int | None = None, size: int | None = None,
                        seed: int | None = None) -> list[str]:
    """Code uids of the code-quality sample (default 100, uniformly at random as App. C), shown to
    every annotator in the same order (by code index); all codes when the codebook is smaller."""
    version = working_version(store, version)
    existing = store.sample_items("code_quality", version)
    if existing:
        return existing
    protocol = task_protocol("code_quality")
    codes = store.codes_of(version)
    size = size or protocol.sample.size or len(codes)
    if len(codes) <= size:
        chosen = codes
    else:
        rng = np.random.default_rng(protocol.sample.seed if seed is None else seed)
        picked = sorted(rng.choice(len(codes), size=size, replace=False).tolist())
        chosen = [codes[i] for i in picked]
    return store.create_sample("code_quality", version, protocol.version, [c.uid for c in chosen])


# ------------------------------------------------------------------------- what is shown


@dataclass
class CodeView:
    idx: int
    uid: str
    name: str | None
    name_source: str | None
    description: str | None
    size: int
    central: list[str] = field(default_factory=list)


@dataclass
class MappingItem:
    document_id: str
    group: str
    source: str
    topic: str | None
    text: str
    codes: list[CodeView]  # the recognizer's codes, most probable first


def code_views(store: Store, version: int, uids: Sequence[str] | None = None, n_central: int = 5) -> list[CodeView]:
    """Codes of a version with their ``n_central`` most central expressions (cosine to the centroid,
    over cached embeddings), in the order of ``uids`` (default: every code by index)."""
    from .llm.gateway import Gateway
    from .naming import central_texts

    codes = store.codes_of(version)  # memberships only of the codes wanted, and only for n_central
    by_uid = {c.uid: c for c in codes}
    wanted = [by_uid[u] for u in (uids if uids is not None else [c.uid for c in codes]) if u in by_uid]
    central: dict[int, list[str]] = {}
    if n_central:
        members = store.code_member_ids(version, [c.idx for c in wanted])
        texts = store.expression_texts([int(e) for ids in members.values() for e in ids])
        own = {c.idx: [texts[int(e)] for e in members[c.idx] if int(e) in texts] for c in wanted}
        everything = [t for c in wanted for t in own[c.idx]]
        emb = Gateway(store, store.config()).embed(everything) if everything else None
        start = 0
        for code in wanted:
            if own[code.idx]:
                block = emb[start:start + len(own[code.idx])]
                central[code.idx] = central_texts(own[code.idx], block, code.centroid, n_central)
            start += len(own[code.idx])
    views = [CodeView(c.idx, c.uid, c.name, c.name_source, c.description, c.size, central.get(c.idx, []))
             for c in wanted]
    return views


def mapping_items(store: Store, version: int, document_ids: Sequence[str] | None = None) -> list[MappingItem]:
    """Sampled documents with the codes the recognizer assigned (as stored with the sample)."""
    document_ids = list(document_ids) if document_ids is not None else store.sample_items("mapping", version)
    by_doc: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for row in _recognizer_rows(store, version):
        doc_id, uid = split_pair(row["item_id"])
        by_doc[doc_id].append((json.loads(row["note"] or "{}").get("rank", 0), uid))
    codes = {c.uid: c for c in code_views(store, version, n_central=0)}
    docs = store.documents_by_id(document_ids)
    items = []
    for doc_id in document_ids:
        doc = docs.get(doc_id)
        if doc is None:
            continue
        shown = [codes[uid] for _, uid in sorted(by_doc.get(doc_id, [])) if uid in codes]
        items.append(MappingItem(doc_id, doc["group_name"], doc["source"], doc["topic"], doc["text"], shown))
    return items


@dataclass
class ProposalView:
    id: int
    kind: str
    version: int
    iteration: int
    names: list[str]
    names_source: str | None
    evidence: dict[str, Any]
    status: str


def review_queue(store: Store):
    """(build status, the proposals the paused build waits for, ordered by kind as the protocol
    asks). Not paused: an empty queue."""
    from graphs.runner import build_status

    status = build_status(store)
    if status.state != "paused":
        return status, []
    views = [ProposalView(p["id"], p["kind"], p["version"], p["iteration"], json.loads(p["names"] or "[]"),
                          p["names_source"], json.loads(p["evidence"] or "{}"), p["status"])
             for p in store.proposals(status.proposal_ids)]
    return status, sorted(views, key=lambda v: (v.kind, v.id))


# -------------------------------------------------------------------------------- labels


def label_row(task: str, item_id: str, criterion: str, label: Any, annotator: str, codebook_version: int | None,
              round: str = FIRST, note: str | None = None) -> dict[str, Any]:
    """A label checked against the task's protocol, with its provenance, ready to append."""
    protocol = task_protocol(task)
    annotator = check_annotator(annotator)
    if round not in (FIRST, REANNOTATION, CONSENSUS):
        raise WorkbenchError(f"unknown round {round!r}: use first, reannotation or consensus")
    text = str(label).strip() if label is not None else ""
    if criterion in EXTRA_CRITERIA[task]:
        if not text:
            raise WorkbenchError(f"{criterion} needs a value")
    else:
        try:
            allowed = [str(v) for v in protocol.criterion(criterion).values]
        except KeyError as exc:
            raise WorkbenchError(str(exc.args[0])) from None
        if text not in allowed:
            raise WorkbenchError(f"{text!r} is not a label of {task}.{criterion}: use one of {', '.join(allowed)}")
    if round == CONSENSUS and not (note or "").strip():
        raise WorkbenchError("a consensus label needs a note saying how the discussion settled it")
    return {"task": task, "item_id": str(item_id), "criterion": criterion, "label": text, "annotator": annotator,
            "codebook_version": codebook_version, "protocol_id": protocol.id, "protocol_version": protocol.version,
            "round": round, "note": note}


def record(store: Store, task: str, item_id: str, criterion: str, label: Any, annotator: str,
           codebook_version: int | None, round: str = FIRST, note: str | None = None) -> int:
    """Validate a label against the task's protocol and append it with its provenance."""
    return store.record_labels([label_row(task, item_id, criterion, label, annotator, codebook_version, round,
                                          note)])[0]


def version_labels(store: Store, task: str, codebook_version: int | None, *, viewer: str | None,
                   rounds: Sequence[str], criteria: Sequence[str] | None = None) -> list[dict]:
    """The label rows that count on a codebook version: its own and, on mapping, those carried
    from its ancestors on codes it keeps (each row's ``carried_from`` is the version it was made
    on, None for its own). Ordered so that the latest label counts: carried rows first (older
    versions first), then the version's own, each in the order written."""
    if codebook_version is None or task not in CARRIED_TASKS:
        rows = store.labels(task, viewer=viewer, codebook_version=codebook_version, rounds=rounds, criteria=criteria)
        return [{**r, "carried_from": None} for r in rows]
    rows = store.labels(task, viewer=viewer, codebook_versions=store.version_lineage(codebook_version),
                        rounds=rounds, criteria=criteria)
    kept = store.code_uids(codebook_version)
    counted = [{**r, "carried_from": None if r["codebook_version"] == codebook_version else r["codebook_version"]}
               for r in rows if r["codebook_version"] == codebook_version
               or (PAIR in r["item_id"] and split_pair(r["item_id"])[1] in kept)]
    return sorted(counted, key=lambda r: (r["carried_from"] is None, r["codebook_version"], r["id"]))


def my_label_rows(store: Store, task: str, annotator: str, codebook_version: int | None = None,
                  round: str = FIRST) -> dict[tuple[str, str], dict]:
    """This annotator's current label rows {(item, criterion): row} of one round (blind view),
    carried ones included (``row["carried_from"]``)."""
    rows = version_labels(store, task, codebook_version, viewer=annotator, rounds=[round])
    return {(r["item_id"], r["criterion"]): r for r in rows}


def my_labels(store: Store, task: str, annotator: str, codebook_version: int | None = None,
              round: str = FIRST) -> dict[tuple[str, str], str]:
    """This annotator's current labels {(item, criterion): label} of one round (blind view)."""
    return {key: r["label"] for key, r in my_label_rows(store, task, annotator, codebook_version, round).items()}


@dataclass
class Decided:
    """What ``decide`` recorded: the decision rows, and the waiting proposals still undecided."""

    ids: list[int]
    undecided: list[int]


def decide(store: Store, annotator: str, approve: Sequence[int] = (), reject: Sequence[int] = (),
           rename: Sequence[tuple[int, Sequence[str]]] = (), approve_all: bool = False,
           note: str | None = None) -> Decided:
    """Record decisions on the proposals the build waits for: the one path of ``workbench decide``
    and the review screen's keys. ``rename`` approves a split with new names (two, different, not
    blank). Every decision is checked before any is written (one decision per proposal per call,
    only waiting proposals); each is stored with the same judgement as a ``proposals`` label."""
    from graphs.decisions import decision_problem
    from graphs.runner import build_status

    annotator = check_annotator(annotator)
    status = build_status(store)
    waiting = status.proposal_ids if status.state != "running" else []
    if not waiting:
        raise WorkbenchError(f"the build is {status.running_line}, not waiting for review: nothing to decide")
    chosen: dict[int, tuple[str, list[str] | None]] = {}
    given = [*((i, "approve", None) for i in approve), *((i, "reject", None) for i in reject),
             *((i, "edit", list(names)) for i, names in rename)]
    for pid, decision, names in given:
        if int(pid) in chosen:
            raise WorkbenchError(f"proposal #{pid} is given two decisions ({chosen[int(pid)][0]} and {decision}): "
                                 "give one")
        chosen[int(pid)] = (decision, names)
    if approve_all:
        chosen = {pid: chosen.get(pid, ("approve", None)) for pid in waiting}
    unknown = sorted(set(chosen) - set(waiting))
    if unknown:
        raise WorkbenchError(f"proposal(s) {unknown} are not waiting; waiting: {sorted(waiting)}")
    proposals = {p["id"]: p for p in store.proposals(sorted(chosen))}
    for pid, (decision, names) in chosen.items():
        problem = decision_problem(proposals[pid], decision, names)
        if problem:
            raise WorkbenchError(f"proposal #{pid}: {problem}")
    protocol = task_protocol("proposals")
    ids = []
    with store.transaction():
        for pid, (decision, names) in sorted(chosen.items()):
            names = [n.strip() for n in names] if names else None
            decision_id = store.record_decision(pid, decision, annotator, names, note)
            store.record_label(task="proposals", item_id=str(pid), criterion=protocol.criteria[0].id,
                               label="reject" if decision == "reject" else "approve", annotator=annotator,
                               codebook_version=proposals[pid]["version"], protocol_id=protocol.id,
                               protocol_version=protocol.version,
                               note=json.dumps({"decision": decision, "names": names, "decision_id": decision_id}))
            ids.append(decision_id)
    decided = store.latest_decisions(waiting)
    return Decided(ids, [pid for pid in waiting if pid not in decided])


def resume_payload(store: Store, annotator: str, proposal_ids: Sequence[int]) -> dict[str, dict]:
    """The review node's resume value made of this annotator's own latest decisions."""
    from graphs.decisions import as_payload

    mine = store.decisions_by(annotator, list(proposal_ids))
    undecided = [p for p in proposal_ids if p not in mine]
    if undecided:
        raise WorkbenchError(f"decide every proposal first: {', '.join(f'#{p}' for p in undecided)} undecided")
    return {str(pid): as_payload(row) for pid, row in mine.items()}


def resume_review(store: Store, annotator: str, on_update: Callable[[str, dict], None] | None = None,
                  reviewed: Sequence[int] | None = None):
    """Resume a paused build with this annotator's decisions; runs until the next pause or the end.

    ``reviewed``: the proposals the annotator was shown. When someone else resumed the build
    first (or is resuming it now), nothing runs and the error says which of this annotator's
    recorded decisions were not applied and where they differ from what was."""
    from graphs.runner import build_status, run_build

    status = build_status(store)
    shown = list(reviewed) if reviewed is not None else status.proposal_ids
    if status.state != "paused" or sorted(shown) != sorted(status.proposal_ids):
        raise WorkbenchError(_not_applied(store, annotator, shown, status))
    payload = resume_payload(store, annotator, status.proposal_ids)
    return run_build(store, show_progress=False, on_update=on_update, resume=payload, by=annotator)


def _not_applied(store: Store, annotator: str, shown: Sequence[int], status) -> str:
    """The message for a submit that came too late: the build moved on without these decisions."""
    where = f"the build is {status.running_line}" if status.state == "running" else (
        f"the build has moved on (now {status.state})")
    mine = store.decisions_by(annotator, list(shown))
    if not mine:
        return f"{where}, not waiting for these proposals: nothing of yours to resume with"
    outcome = {p["id"]: p["status"] for p in store.proposals(sorted(mine))}
    conflicts = [f"#{pid} you {row['decision']}, build {outcome[pid]}" for pid, row in sorted(mine.items())
                 if outcome[pid] in ("approved", "applied", "rejected")
                 and (row["decision"] == "reject") != (outcome[pid] == "rejected")]
    return (f"{where}: your {len(mine)} decision(s) on {', '.join(f'#{p}' for p in sorted(mine))} are recorded "
            f"(for agreement and adjudication) but were not applied"
            + (f"; conflicts: {'; '.join(conflicts)}" if conflicts else "; none conflicts with what was applied"))


# ------------------------------------------------------------------------------ agreement


@dataclass
class TaskAgreement:
    task: str
    codebook_version: int | None
    round: str
    reports: dict[str, AgreementReport]  # criterion -> report
    protocol_version: str
    carried: dict[int, int] = field(default_factory=dict)  # version made on -> labels counted from it

    def carried_text(self) -> str:
        """'12 labels carried from v4' (empty when none is carried)."""
        return ", ".join(f"{n} labels carried from v{v}" for v, n in sorted(self.carried.items()))

    def as_dict(self) -> dict[str, Any]:
        return {"task": self.task, "codebook_version": self.codebook_version, "round": self.round,
                "protocol_version": self.protocol_version, "carried_from": {str(v): n for v, n in self.carried.items()},
                "criteria": {c: json.loads(r.model_dump_json()) for c, r in self.reports.items()}}


def carried_summary(store: Store) -> list[dict]:
    """Labels carried forward, per (task, version they count on, version made on, round,
    annotator): n rows on so many items. Shown for every version with a sample of the task and
    for the latest version."""
    latest = store.latest_version()
    out = []
    for task in CARRIED_TASKS:
        for version in sorted(set(store.sampled_versions(task)) | ({latest} if latest is not None else set())):
            rows: dict[tuple, list[str]] = defaultdict(list)
            for r in version_labels(store, task, version, viewer=None, rounds=HUMAN_ROUNDS):
                if r["carried_from"] is not None:
                    rows[(r["carried_from"], r["round"], r["annotator"])].append(r["item_id"])
            out += [{"task": task, "codebook_version": version, "carried_from": made_on, "round": round_,
                     "annotator": annotator, "n": len(items), "items": len(set(items))}
                    for (made_on, round_, annotator), items in sorted(rows.items())]
    return out


def default_version(store: Store, task: str) -> int | None:
    """Agreement's default version: the newest one with human labels of the task (proposals: all)."""
    if task == "proposals":
        return None
    versions = store.labelled_versions(task)
    return versions[-1] if versions else None


def _counted_rows(store: Store, task: str, criterion: str, codebook_version: int | None,
                  round: str = "final") -> list[dict]:
    """The one row per (item, annotator) that counts; ``final``: a re-annotation replaces the
    first-round label, and a version's own label replaces one carried from an ancestor."""
    rounds = [FIRST] if round == FIRST else [FIRST, REANNOTATION]
    rows = version_labels(store, task, codebook_version, viewer=None, rounds=rounds, criteria=[criterion])
    rank = {FIRST: 0, REANNOTATION: 1}
    rows.sort(key=lambda r: rank[r["round"]])  # stable: keeps version_labels' order within a round
    return list({(r["item_id"], r["annotator"]): r for r in rows}.values())


def ratings(store: Store, task: str, criterion: str, codebook_version: int | None,
            round: str = "final") -> dict[Hashable, dict[Hashable, Hashable]]:
    """{item: {annotator: label}}; ``final``: a re-annotation replaces the first-round label."""
    return table_from_rows((r["item_id"], r["annotator"], r["label"])
                           for r in _counted_rows(store, task, criterion, codebook_version, round))


def agreement(store: Store, task: str, codebook_version: int | None = None, round: str = "final") -> TaskAgreement:
    """Every App. C figure per criterion of a task: pairwise Cohen's κ and their mean, Fleiss' κ,
    Krippendorff's α, percent agreement, items in disagreement; on mapping also each annotator's κ
    against the recognizer."""
    if round not in ("final", FIRST):
        raise WorkbenchError(f"unknown round {round!r}: use final or first")
    protocol = task_protocol(task)
    if codebook_version is None:
        codebook_version = default_version(store, task)
    reports = {}
    carried: Counter = Counter()
    for criterion in protocol.criteria:
        rows = _counted_rows(store, task, criterion.id, codebook_version, round)
        carried.update(r["carried_from"] for r in rows if r["carried_from"] is not None)
        table = table_from_rows((r["item_id"], r["annotator"], r["label"]) for r in rows)
        model = None
        if task == "mapping":
            model = {r["item_id"]: r["label"] for r in _recognizer_rows(store, codebook_version)} \
                if codebook_version is not None else {}
        reports[criterion.id] = agreement_report(table, model)
    return TaskAgreement(task, codebook_version, round, reports, protocol.version, dict(carried))


def fmt(value: float | None, digits: int = 3) -> str:
    """A figure as shown on screen and in the terminal ('n/a' when undefined)."""
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


# --------------------------------------------------------------------------- adjudication


@dataclass
class AdjudicationItem:
    task: str
    criterion: str
    item_id: str
    codebook_version: int | None
    status: str  # "re-label", "waiting", "discuss", "resolved", "consensus"
    raters: list[str]
    labels: dict[str, str] | None  # every annotator's final label; None while still blind
    consensus: dict | None = None
    mine: str | None = None  # this annotator's re-annotation


def adjudication_items(store: Store, task: str, annotator: str, codebook_version: int | None = None
                       ) -> list[AdjudicationItem]:
    """Items the panel disagreed on in the first round, with where each stands for this annotator.

    Blind until discussion: other annotators' labels are shown only once every first-round rater
    has re-labelled the item and it is still evenly split (``discuss``), or once it is settled.
    """
    protocol = task_protocol(task)
    if codebook_version is None:
        codebook_version = default_version(store, task)
    consensus_rows = version_labels(store, task, codebook_version, viewer=None, rounds=[CONSENSUS])
    consensus = {(r["item_id"], r["criterion"]): r for r in consensus_rows}
    items = []
    for criterion in protocol.criteria:
        first = ratings(store, task, criterion.id, codebook_version, FIRST)
        final = ratings(store, task, criterion.id, codebook_version, "final")
        rean = version_labels(store, task, codebook_version, viewer=None, rounds=[REANNOTATION],
                              criteria=[criterion.id])
        relabelled: dict[str, dict[str, str]] = defaultdict(dict)
        for row in rean:
            relabelled[row["item_id"]][row["annotator"]] = row["label"]
        for item, first_labels in first.items():
            if len(set(first_labels.values())) < 2:
                continue
            raters = sorted(first_labels)
            done = relabelled.get(item, {})
            settled = consensus.get((item, criterion.id))
            if settled:
                status = CONSENSUS
            elif annotator in raters and annotator not in done:
                status = "re-label"
            elif not all(r in done for r in raters):
                status = "waiting"
            else:
                top = Counter(final[item].values()).most_common()
                status = "discuss" if len(top) > 1 and top[0][1] == top[1][1] else "resolved"
            revealed = status in ("discuss", "resolved", CONSENSUS)
            items.append(AdjudicationItem(task, criterion.id, item, codebook_version, status, raters,
                                          dict(final[item]) if revealed else None, settled, done.get(annotator)))
    return items


# -------------------------------------------------------------------------------- renames


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
    rows = store.labels("code_quality", viewer=None, codebook_version=version, rounds=[FIRST, REANNOTATION],
                        criteria=["name_fit", "better_name"])
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
    accepted_by = check_annotator(accepted_by)
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


# --------------------------------------------------------------------------------- export


def export_labels(store: Store, path: str | Path) -> int:
    """Write every label ever recorded to a CSV file (one row per label row); returns the count."""
    path = Path(path)
    if not path.parent.exists():
        raise WorkbenchError(f"folder {path.parent} does not exist: create it first")
    n = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*LABEL_COLUMNS, "created_utc"])
        for row in store.export_label_rows():
            created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(row["created"])) if row["created"] else ""
            writer.writerow([*(row[c] for c in LABEL_COLUMNS), created])
            n += 1
    return n


IMPORT_COLUMNS = ("task", "item_id", "criterion", "label", "annotator")  # round, codebook_version, note,
# protocol_version and created_utc are read when present (an export of this workbench has them all)


@dataclass
class LabelImport:
    imported: int
    already_present: int
    recognizer_rows: int  # round "model": the recognizer's own labels, recomputed here, not imported


def import_labels(store: Store, path: str | Path) -> LabelImport:
    """Append the labels of a CSV/TSV/JSON file (the columns ``workbench labels --export`` writes).

    The whole file is checked first — task, criterion and label against the protocols, the item
    (document, code or proposal) and codebook version against the project, annotator names,
    rounds, times, types, repeated rows — and then written in one transaction; a bad row raises an
    error naming the file, the line and the fix, and nothing is written. A row already in the
    project (same task, item, criterion, label, annotator, round and version, and the same second
    when the file gives a time) is skipped, so importing a file twice adds nothing the second time.
    """
    rows_in = read_rows(path, IMPORT_COLUMNS, "labels")
    path = Path(path)
    uids, proposals = store.label_targets()
    documents = store.existing_document_ids({str(r.get("item_id") or "").rsplit(PAIR, 1)[0] for _, r in rows_in
                                             if str(r.get("task") or "").strip() == "mapping"})
    existing = store.label_keys()
    existing_untimed = {k[:7] for k in existing}
    rows, seen, recognizer_rows = [], {}, 0
    for line, raw in rows_in:
        try:
            row = _imported_label(raw, uids, proposals, documents)
        except WorkbenchError as exc:
            raise WorkbenchError(f"{path}, line {line}: {exc}") from None
        if row is None:
            recognizer_rows += 1
            continue
        key = (row["task"], row["item_id"], row["criterion"], row["label"], row["annotator"], row["round"],
               row["codebook_version"], int(row["created"]) if row["created"] else None)
        if key in seen:
            raise WorkbenchError(f"{path}, line {line}: repeats line {seen[key]}: remove one of them")
        seen[key] = line
        if (key in existing) if row["created"] else (key[:7] in existing_untimed):
            continue
        row["created"] = row["created"] or time.time()
        rows.append(row)
    store.record_labels(rows)
    return LabelImport(len(rows), len(seen) - len(rows), recognizer_rows)


def _imported_label(raw: dict, uids: dict[int, set[str]], proposals: dict[int, int],
                    documents: set[str]) -> dict[str, Any] | None:
    """One file row as a label row (``None`` for the recognizer's own rows); raises the error."""
    cells = {c: _cell(raw.get(c), c) for c in (*IMPORT_COLUMNS, "round", "codebook_version", "note",
                                                "protocol_version", "created_utc")}
    if cells["round"] == MODEL:
        return None
    task, item = cells["task"], cells["item_id"]
    if not task:
        raise WorkbenchError(f"task is empty: use one of {', '.join(TASKS)}")
    if not item:
        raise WorkbenchError("item_id is empty: fill it in")
    if not cells["annotator"]:
        raise WorkbenchError("annotator is empty: fill in the name of who gave the label")
    version = _optional_int(cells["codebook_version"], "codebook_version")
    if version is not None and version not in uids:
        raise WorkbenchError(f"codebook version {version} is not in this project (it has "
                             f"{', '.join(map(str, sorted(uids))) or 'none'}): fix codebook_version")
    row = label_row(task, item, cells["criterion"], cells["label"], cells["annotator"], version,
                    cells["round"] or FIRST, cells["note"] or None)
    if task == "proposals":
        proposal = int(item) if item.isdigit() else None
        if proposal not in proposals:
            raise WorkbenchError(f"item {item!r} is not a proposal of this project: give a proposal id "
                                 "('workbench status PROJECT' lists them)")
        if version is not None and version != proposals[proposal]:
            raise WorkbenchError(f"proposal {item} was made on codebook version {proposals[proposal]}, not {version}: "
                                 "fix codebook_version or leave it empty")
        row["codebook_version"] = proposals[proposal]
    else:
        if version is None:
            raise WorkbenchError(f"codebook_version is empty: a {task} label belongs to a codebook version, fill it in")
        document, uid = item.rsplit(PAIR, 1) if task == "mapping" and PAIR in item else (None, item)
        if task == "mapping" and document is None:
            raise WorkbenchError(f"item {item!r} is not a document{PAIR}code pair: write DOCUMENT_ID{PAIR}CODE_UID")
        if document is not None and document not in documents:
            raise WorkbenchError(f"document {document!r} is not in this project: fix item_id or ingest the document")
        for code in [uid] + ([row["label"]] if row["criterion"] == "redundant_with" else []):
            if code not in uids[version]:
                raise WorkbenchError(f"code {code!r} is not in codebook version {version}: give a code uid of that "
                                     "version ('workbench codebook PROJECT --version V' lists them)")
    row["protocol_version"] = cells["protocol_version"] or row["protocol_version"]
    row["created"] = _utc(cells["created_utc"])
    return row


def _cell(value: Any, column: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise WorkbenchError(f"column {column!r} must be text or a number, got {type(value).__name__} "
                             f"{json.dumps(value)[:40]}: write it as text")
    return str(value).strip()


def _optional_int(text: str, column: str) -> int | None:
    if not text:
        return None
    try:
        return int(float(text)) if float(text).is_integer() else int(text)
    except ValueError:
        raise WorkbenchError(f"{column} {text!r} is not a whole number: write e.g. 3, or leave it empty") from None


def _utc(text: str) -> float | None:
    if not text:
        return None
    try:
        return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))
    except ValueError:
        raise WorkbenchError(f"created_utc {text!r} is not a UTC time like 2026-11-23T14:05:00Z: fix it or leave "
                             "it empty (then the import time is used)") from None


def item_titles(store: Store, task: str, codebook_version: int | None, item_ids: Sequence[str]) -> dict[str, str]:
    """Short readable titles of items: 'document · code name', '#idx code name', '#id split …'."""
    titles = {str(i): str(i) for i in item_ids}
    if task == "proposals":
        ids = [int(i) for i in item_ids if str(i).isdigit()]
        for p in store.proposals(ids) if ids else []:
            titles[str(p["id"])] = f"#{p['id']} {p['kind']} '{json.loads(p['evidence'] or '{}').get('name')}'"
        return titles
    try:
        by_uid = {c.uid: c for c in store.codes_of(codebook_version)} if codebook_version is not None else {}
    except WorkbenchError:  # labels of a version that is not in this project: show the raw ids
        return titles
    for item in item_ids:
        if task == "mapping" and PAIR in item:
            doc_id, uid = split_pair(item)
            code = by_uid.get(uid)
            titles[item] = f"{doc_id} · {code.name if code else uid}"
        elif task == "code_quality" and item in by_uid:
            titles[item] = f"#{by_uid[item].idx} {by_uid[item].name}"
    return titles
