"""Decisions on proposals: what makes one applicable (a paused build's splits and merges, and the
review proposals of codes the annotators do not agree on), and turning those recorded in the
project into the review node's resume payload."""
from __future__ import annotations

import json
from collections.abc import Sequence

from ..store import Store

DECISIONS = ("approve", "reject", "edit")
REVIEW = "review"  # the kind of a proposal made from an unreliable code (agreement per code)
REVIEW_DECISIONS = ("rename", "split", "merge", "keep")
CHANGING = ("approve", "edit", "rename", "split", "merge")  # decisions that change the codebook


def decision_problem(proposal: dict, decision: str, names: Sequence[str] | None = None) -> str | None:
    """Why ``decision`` cannot be applied to ``proposal`` (a row of ``proposals``), or None.

    A build's split or merge is approved, rejected or (a split's names) edited; a review proposal is
    renamed (one new name), split (two names, as a split), merged with another code of its version
    (its name) or kept. A split makes two codes: two different, non-blank names."""
    if proposal["kind"] == REVIEW:
        return _review_problem(proposal, decision, names)
    if decision not in DECISIONS:
        return f"unknown decision {decision!r}: use approve, reject or edit"
    if decision != "edit":
        return None
    if proposal["kind"] != "split":
        return "only a split's names can be edited: a merged code is named after the merge"
    return _split_names_problem(names)


def _split_names_problem(names: Sequence[str] | None) -> str | None:
    names = [str(n).strip() for n in names or []]
    if len(names) != 2 or not all(names):
        return f"a split needs two non-blank names, 'first|second' (got {json.dumps(names, ensure_ascii=False)})"
    if names[0].casefold() == names[1].casefold():
        return f"the two codes of a split need different names (both {names[0]!r})"
    return None


def _review_problem(proposal: dict, decision: str, names: Sequence[str] | None) -> str | None:
    if decision not in REVIEW_DECISIONS:
        return f"unknown decision {decision!r} on a review proposal: use rename, split, merge or keep"
    if decision == "split":
        return _split_names_problem(names)
    given = [str(n).strip() for n in names or []]
    if decision == "keep":
        return None if not given else "keep takes no name"
    evidence = json.loads(proposal["evidence"] or "{}")
    if len(given) != 1 or not given[0]:
        return f"{decision} needs one non-blank name (got {json.dumps(given, ensure_ascii=False)})"
    if decision == "rename":
        if given[0].casefold() == str(evidence.get("name") or "").casefold():
            return f"the code is already named {given[0]!r}: give a new name, or keep it"
        return None
    others = [name for uid, name in evidence.get("codes", []) if uid != proposal["code_uid"] and name]
    if given[0].casefold() not in {n.casefold() for n in others}:
        return f"no other code of codebook v{proposal['version']} is named {given[0]!r}"
    return None


def parse_review_decision(text: str) -> tuple[str, list[str]]:
    """'rename: new name', 'split: first | second', 'merge: other code' or 'keep' as (decision,
    names); what is not one of them comes back as it is, for :func:`decision_problem` to refuse."""
    decision, _, rest = text.partition(":")
    return decision.strip().casefold(), [n.strip() for n in rest.split("|")] if rest.strip() else []


def resume_decisions(store: Store, proposal_ids: list[int], auto_approve: bool) -> dict[str, dict] | None:
    """Decisions recorded for the paused proposals (by the TUI or ``workbench decide``); with
    ``auto_approve`` the undecided ones are approved by "auto". None if some are still undecided."""
    recorded = store.latest_decisions(proposal_ids)
    decisions: dict[str, dict] = {}
    for pid in proposal_ids:
        if pid in recorded:
            decisions[str(pid)] = as_payload(recorded[pid])
        elif auto_approve:
            decisions[str(pid)] = {"decision": "approve", "decider": "auto"}
        else:
            return None
    return decisions


CARRIED, BY_LEAD, TO_LEAD, WAITING = "carried", "lead", "to the lead", "waiting"


def vote_key(row: dict) -> tuple[str, tuple[str, ...]]:
    """What a vote says: its decision and names (a rename to another name is another vote)."""
    decision = "reject" if row["decision"] == "keep" else row["decision"]
    return decision, tuple(n.strip().casefold() for n in json.loads(row["names"] or "[]"))


def quorum_outcome(votes: Sequence[dict], quorum: int, is_lead) -> tuple[str, dict | None]:
    """What the decisions on one proposal (rows of ``decisions``, oldest first) settle under a
    quorum of ``quorum`` reviewers: each decider's latest row is their vote. A lead's latest vote
    settles it alone (``lead``, that row); else ``quorum`` votes that all say the same carry it
    (``carried``, the latest); any vote that differs (a reject, another decision, another name)
    sends it to the lead (``to the lead``); fewer agreeing votes wait (``waiting``)."""
    latest: dict[str, dict] = {}
    for row in votes:
        latest.pop(row["decider"], None)
        latest[row["decider"]] = row
    leads = [row for row in latest.values() if is_lead(row["decider"])]
    if leads:
        return BY_LEAD, max(leads, key=lambda r: r["id"])
    if len({vote_key(r) for r in latest.values()}) > 1:
        return TO_LEAD, None
    if latest and len(latest) >= quorum:
        return CARRIED, max(latest.values(), key=lambda r: r["id"])
    return WAITING, None


def votes_text(votes: Sequence[dict], stamp=None, every: bool = False) -> str:
    """'ana approve, ben rename → Civic voice': each decider's latest vote in order (``every``:
    every vote), each followed by ``stamp(row["decided_at"])`` when given."""
    latest: dict[object, dict] = {}
    for row in votes:
        key = row["id"] if every else row["decider"]
        latest.pop(key, None)
        latest[key] = row
    return ", ".join(f"{r['decider']} {r['decision']}" + (f" → {' | '.join(json.loads(r['names']))}"
                                                          if r["names"] else "")
                     + (f" ({stamp(r['decided_at'])})" if stamp else "") for r in latest.values())


def as_payload(row: dict) -> dict:
    """A row of ``decisions`` as the review node's resume value for its proposal."""
    return {"decision": row["decision"], "decider": row["decider"], "decision_id": row["id"],
            "names": json.loads(row["names"]) if row["names"] else None}
