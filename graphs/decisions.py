"""Turning the decisions recorded in the project into the review node's resume payload."""
from __future__ import annotations

import json

from workbench.store import Store


def resume_decisions(store: Store, proposal_ids: list[int], auto_approve: bool) -> dict[str, dict] | None:
    """Decisions recorded for the paused proposals (by the TUI or ``workbench decide``); with
    ``auto_approve`` the undecided ones are approved by "auto". None if some are still undecided."""
    recorded = store.latest_decisions(proposal_ids)
    decisions: dict[str, dict] = {}
    for pid in proposal_ids:
        if pid in recorded:
            row = recorded[pid]
            decisions[str(pid)] = {"decision": row["decision"], "decider": row["decider"], "decision_id": row["id"],
                                   "names": json.loads(row["names"]) if row["names"] else None}
        elif auto_approve:
            decisions[str(pid)] = {"decision": "approve", "decider": "auto"}
        else:
            return None
    return decisions
