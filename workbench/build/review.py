"""The review of a build's proposals and of the annotators' review proposals: the queue, the
decisions (by quorum) and resuming the paused build with them. ``workbench decide`` and the review
screen call these functions."""
from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..annotate.roles import DECIDE, lead_test, require, sees_labels
from ..annotate.tasks import task_protocol
from ..errors import WorkbenchError
from ..formatting import fmt
from ..store import Store
from .decisions import CHANGING, REVIEW, as_payload, decision_problem, quorum_outcome, votes_text
from .review_proposals import apply_review, propose_reviews
from .run import build_status, run_build
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


def proposed_line(values: dict) -> str:
    """What ``propose`` put forward and what it held back, with why."""
    held = values.get("held_back") or []
    return (f"propose: {len(values.get('proposal_ids', []))} proposal(s)"
            + (f"; {len(held)} held back: " + "; ".join(held) if held else ""))


def review_line(evidence: dict) -> str:
    """"α 0.12 [−0.05, 0.31] < 0.667 over 30 items, 9 in disagreement": why a code is up for review."""
    low, high = evidence.get("ci") or [None, None]
    return (f"α {fmt(evidence.get('alpha'))} [{fmt(low)}, {fmt(high)}] < {evidence.get('floor')} over "
            f"{evidence.get('n_items')} items, {len(evidence.get('disagreements') or [])} in disagreement")


def review_queue(store: Store, viewer: str | None = None):
    """(build status, the proposals waiting for a decision): the paused build's, ordered by kind as
    the protocol asks, then the review proposals of the codes the annotators do not agree on
    (computed from the current labels, see :mod:`workbench.build.review_proposals`).

    ``viewer``: who is shown them (None: the lead's view). Only a reviewer or a lead may; while a
    review proposal's round is open, its evidence keeps the disputed items but not who labelled
    them what, unless the viewer is a lead (blind until adjudication)."""
    if viewer is not None:
        require(store, viewer, DECIDE)
    status = build_status(store)
    paused = store.proposals(status.proposal_ids) if status.state == "paused" else []
    views = sorted((_view(p) for p in paused), key=lambda v: (v.kind, v.id))
    reviews = [_view(p) for p in store.proposals(propose_reviews(store))]
    for view in reviews:
        if not sees_labels(store, viewer, "mapping", view.version):
            view.evidence["disagreements"] = [{**item, "labels": {}}
                                              for item in view.evidence.get("disagreements") or []]
            view.evidence["blind"] = True
    return status, views + reviews


def _view(p: dict) -> ProposalView:
    return ProposalView(p["id"], p["kind"], p["version"], p["iteration"], json.loads(p["names"] or "[]"),
                        p["names_source"], json.loads(p["evidence"] or "{}"), p["status"])


@dataclass
class Decided:
    """What ``decide`` recorded: the decision rows, the paused build's proposals still undecided,
    and the versions the decided review proposals made {proposal: version, None when kept}."""

    ids: list[int]
    undecided: list[int]
    applied: dict[int, int | None] = field(default_factory=dict)
    votes: dict[int, str] = field(default_factory=dict)  # under a quorum > 1: where each proposal stands
    on_build: bool = False  # some decision was on the paused build's proposals


def quorum_outcomes(store: Store, proposal_ids: Sequence[int]) -> dict[int, tuple[str, dict | None, str]]:
    """{proposal: (outcome, the settling decision row or None, the votes as text)} under the
    project's ``review.quorum`` (:func:`workbench.build.decisions.quorum_outcome`)."""
    quorum, is_lead = store.config().review.quorum, lead_test(store)
    rows = store.decision_rows(list(proposal_ids))
    return {pid: (*quorum_outcome(rows.get(pid, []), quorum, is_lead), votes_text(rows.get(pid, [])))
            for pid in proposal_ids}


def decide(store: Store, annotator: str, approve: Sequence[int] = (), reject: Sequence[int] = (),
           rename: Sequence[tuple[int, Sequence[str]]] = (), approve_all: bool = False,
           note: str | None = None, review: Sequence[tuple[int, str, Sequence[str]]] = ()) -> Decided:
    """Record decisions on the proposals waiting for one: the one path of ``workbench decide`` and
    the review screen's keys. On a paused build's proposals: approve, reject, and ``rename`` (a
    split approved with two new names). On a pending review proposal, ``review`` (id, decision,
    names): rename (one new name), split (two names), merge (the other code's name) or keep (or
    ``rename`` with one name); each is carried out at once (see :func:`apply_review`). Every
    decision is checked by ``decision_problem`` before any is written (one decision per proposal
    per call, only waiting proposals); each is stored with the same judgement as a ``proposals``
    label (keep as a reject).

    Under ``review.quorum`` N > 1 a reviewer's decision is a vote: a review proposal is carried out
    once N reviewers' votes agree, or a lead decides; votes that differ wait for the lead
    (``Decided.votes`` says where each stands; :func:`resume_payload` the same for a paused build)."""
    annotator = require(store, annotator, DECIDE)
    status = build_status(store)
    paused = status.proposal_ids if status.state != "running" else []
    waiting = paused + [p["id"] for p in store.proposals(status="pending", kind=REVIEW)]
    if not waiting:
        raise WorkbenchError(f"the build is {status.running_line}, not waiting for review, and no review proposal "
                             "is pending: nothing to decide")
    proposals = {p["id"]: p for p in store.proposals(waiting)}
    is_review = {pid for pid, p in proposals.items() if p["kind"] == REVIEW}
    chosen: dict[int, tuple[str, list[str] | None]] = {}
    given = [*((i, "approve", None) for i in approve), *((i, "reject", None) for i in reject),
             *((i, "rename" if int(i) in is_review else "edit", list(names)) for i, names in rename),
             *((i, decision, list(names)) for i, decision, names in review)]
    for pid, decision, names in given:
        if int(pid) in chosen:
            raise WorkbenchError(f"proposal #{pid} is given two decisions ({chosen[int(pid)][0]} and {decision}): "
                                 "give one")
        chosen[int(pid)] = (decision, names)
    if approve_all:
        chosen = {**{pid: ("approve", None) for pid in paused}, **chosen}
    unknown = sorted(set(chosen) - set(waiting))
    if unknown:
        raise WorkbenchError(f"proposal(s) {unknown} are not waiting; waiting: {sorted(waiting)}")
    for pid, (decision, names) in chosen.items():
        problem = decision_problem(proposals[pid], decision, names)
        if problem:
            raise WorkbenchError(f"proposal #{pid}: {problem}")
    if status.state == "running" and any(chosen[pid][0] in CHANGING for pid in chosen):
        raise WorkbenchError(f"the build is {status.running_line}: change codes when it has stopped (keep is fine)")
    protocol = task_protocol("proposals")
    ids = []
    with store.transaction():
        for pid, (decision, names) in sorted(chosen.items()):
            names = [n.strip() for n in names] if names else None
            decision_id = store.record_decision(pid, decision, annotator, names, note)
            store.record_label(task="proposals", item_id=str(pid), criterion=protocol.criteria[0].id,
                               label="reject" if decision in ("reject", "keep") else "approve", annotator=annotator,
                               codebook_version=proposals[pid]["version"], protocol_id=protocol.id,
                               protocol_version=protocol.version,
                               note=json.dumps({"decision": decision, "names": names, "decision_id": decision_id}))
            ids.append(decision_id)
    settled, votes = dict(chosen), {}
    if store.config().review.quorum > 1:
        outcomes = quorum_outcomes(store, sorted(chosen))
        votes = {pid: f"{outcome} ({text})" for pid, (outcome, _, text) in outcomes.items()}
        settled = {pid: (row["decision"], json.loads(row["names"]) if row["names"] else None)
                   for pid, (_, row, _) in outcomes.items() if row is not None}
    applied = {pid: apply_review(store, proposals[pid], decision, names, annotator)
               for pid, (decision, names) in sorted(settled.items()) if pid in is_review}
    decided = store.latest_decisions(paused)
    return Decided(ids, [pid for pid in paused if pid not in decided], applied, votes,
                   any(pid not in is_review for pid in chosen))


def resume_payload(store: Store, annotator: str, proposal_ids: Sequence[int]) -> dict[str, dict]:
    """The review node's resume value made of this annotator's own latest decisions; under
    ``review.quorum`` N > 1, of what the votes settle (every proposal must be settled)."""
    if store.config().review.quorum > 1:
        outcomes = quorum_outcomes(store, list(proposal_ids))
        unsettled = [f"#{pid} {outcome} ({text or 'no vote'})" for pid, (outcome, row, text) in outcomes.items()
                     if row is None]
        if unsettled:
            raise WorkbenchError(f"review.quorum is {store.config().review.quorum}: not settled yet: "
                                 f"{'; '.join(unsettled)} (a lead's decision settles one alone)")
        return {str(pid): as_payload(row) for pid, (_, row, _) in outcomes.items()}
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
    annotator = require(store, annotator, DECIDE)
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
