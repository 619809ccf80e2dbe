"""Decisions on the proposals of a paused build: what makes one applicable, and turning those
recorded in the project into the review node's resume payload."""
from __future__ import annotations

import json
from collections.abc import Sequence

from .store import Store

DECISIONS = ("approve", "reject", "edit")


def decision_problem(proposal: dict, decision: str, names: Sequence[str] | None = None) -> str | None:
    """Why ``decision`` cannot be applied to ``proposal`` (a row of ``proposals``), or None.

    Only a split's names can be edited, and a split makes two codes: two different, non-blank names."""
    if decision not in DECISIONS:
        return f"unknown decision {decision!r}: use approve, reject or edit"
    if decision != "edit":
        return None
    if proposal["kind"] != "split":
        return "only a split's names can be edited: a merged code is named after the merge"
    names = [str(n).strip() for n in names or []]
    if len(names) != 2 or not all(names):
        return f"a split needs two non-blank names, 'first|second' (got {json.dumps(names, ensure_ascii=False)})"
    if names[0].casefold() == names[1].casefold():
        return f"the two codes of a split need different names (both {names[0]!r})"
    return None


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


def as_payload(row: dict) -> dict:
    """A row of ``decisions`` as the review node's resume value for its proposal."""
    return {"decision": row["decision"], "decider": row["decider"], "decision_id": row["id"],
            "names": json.loads(row["names"]) if row["names"] else None}
