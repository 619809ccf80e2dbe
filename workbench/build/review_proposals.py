"""Review proposals: codes the annotators do not agree on, offered for a decision like a build's
changes (#14 item 6). A code of the latest codebook version whose Krippendorff's α interval on the
mapping task lies wholly below the floor (0.667) becomes a proposal of kind ``review``, with the
disagreeing items as evidence; it is renamed, split, merged with a named code, or kept.

A review proposal is keyed by a digest of the labels it was made from (its ``thread_id`` is
``review:<digest>``), so re-opening the review finds the same proposal, a code kept (or changed)
is not proposed again for the same labels, and changed labels make a new proposal (the pending one
they replace is marked ``superseded``)."""
from __future__ import annotations

import hashlib
import json

from ..annotate.agreement import agreement, ratings
from ..annotate.tasks import split_pair
from ..errors import WorkbenchError
from ..llm.gateway import Gateway
from ..store import Store
from .context import BuildContext
from .decisions import REVIEW
from .steps import save_changed_version

THREAD_PREFIX = "review:"
EXCERPT_CHARS = 300


def propose_reviews(store: Store, alpha_floor: float | None = None) -> list[int]:
    """Make a review proposal of every unreliable code of the latest version (mapping labels that
    count on it, carried ones included) and return the ids of the pending ones, oldest first.
    ``alpha_floor``: default the project's ``annotation.alpha_floor``. Idempotent."""
    version = store.latest_version()
    if version is None:
        return []
    floor = store.config().annotation.alpha_floor if alpha_floor is None else alpha_floor
    result = agreement(store, "mapping", version, alpha_floor=floor)
    codes = store.codes_of(version)
    names = {c.uid: c.name for c in codes}
    rows = []
    for criterion, units in result.unreliable().items():
        table = ratings(store, "mapping", criterion, version)
        for unit in units:
            if unit.unit not in names:  # labels carried for a code this version lacks
                continue
            items = {item: labels for item, labels in table.items() if split_pair(item)[1] == unit.unit}
            evidence = {"name": names[unit.unit], "criterion": criterion, "alpha": unit.alpha,
                        "ci": [unit.low, unit.high], "n_items": unit.n_items, "floor": floor,
                        "disagreements": _disagreements(store, version, unit.unit, items),
                        "codes": [[c.uid, c.name] for c in codes]}
            rows.append({"thread_id": THREAD_PREFIX + _digest(criterion, unit.unit, items), "iteration": 0,
                         "version": version, "kind": REVIEW, "code_uid": unit.unit, "target_uid": None,
                         "names": json.dumps([]), "names_source": None, "evidence": json.dumps(evidence)})
    current = set(store.save_proposals(rows))
    pending = [p["id"] for p in store.proposals(status="pending", kind=REVIEW)]
    store.set_proposal_status([pid for pid in pending if pid not in current], "superseded")
    return [pid for pid in pending if pid in current]


def _digest(criterion: str, uid: str, items: dict) -> str:
    """The labels a proposal was made from, as a short hash: same labels, same proposal."""
    labels = sorted((str(item), str(annotator), str(label))
                    for item, by in items.items() for annotator, label in by.items())
    return hashlib.sha256(json.dumps([criterion, uid, labels]).encode()).hexdigest()[:16]


def _disagreeing(items: dict) -> dict:
    return {item: by for item, by in items.items() if len({str(label) for label in by.values()}) > 1}


def _disagreements(store: Store, version: int, uid: str, items: dict) -> list[dict]:
    """Each item the annotators label differently: its document, the code's expressions in it
    (the document's opening when it has none), and every annotator's label."""
    disagreeing = _disagreeing(items)
    docs = {item: split_pair(item)[0] for item in disagreeing}
    expressions = store.code_expressions(version, uid, sorted(set(docs.values())))
    texts = {d: r["text"] for d, r in store.documents_by_id(sorted(set(docs.values()) - set(expressions))).items()}
    out = []
    for item, by in disagreeing.items():
        doc = docs[item]
        excerpt = " … ".join(expressions[doc]) if doc in expressions else (texts.get(doc) or "")
        out.append({"document_id": doc, "excerpt": excerpt[:EXCERPT_CHARS],
                    "labels": {str(a): str(label) for a, label in sorted(by.items())}})
    return out


def apply_review(store: Store, proposal: dict, decision: str, names: list[str] | None, decider: str) -> int | None:
    """Carry out a decision (checked by ``decision_problem``) on a review proposal, on the latest
    codebook version: ``keep`` changes nothing; ``rename`` writes a renamed version as the
    code-name audit does; ``split`` and ``merge`` write a version with the build's machinery
    (App. F.1 code reconstruction), a merged code keeping the name of the code it joins. Returns the
    new version (None for keep) and marks the proposal ``kept`` or ``applied``."""
    if decision == "keep":
        store.set_proposal_status([proposal["id"]], "kept")
        return None
    version = store.latest_version()
    codebook = store.load_codebook(version)
    evidence = json.loads(proposal["evidence"] or "{}")
    code = next((c for c in codebook.codes if c.uid == proposal["code_uid"]), None)
    if code is None:
        raise WorkbenchError(f"proposal #{proposal['id']}: codebook v{version} no longer has the code "
                             f"'{evidence.get('name')}'; nothing was changed")
    source = f"annotator:{decider} (review #{proposal['id']})"
    diff = {"review": {"proposal": proposal["id"], "decision": decision, "names": names, "decided_by": decider,
                       "alpha": evidence.get("alpha"), "ci": evidence.get("ci")}}
    if decision == "rename":
        diff["rename"] = [{"uid": code.uid, "idx": code.idx, "old": code.name, "new": names[0],
                           "proposed_by": [decider]}]
        new = store.save_renamed_codebook(version, {code.idx: (names[0], source)}, diff)
    else:
        new = _reconstructed(store, proposal, codebook, code, decision, names, source, diff)
    store.set_proposal_status([proposal["id"]], "applied")
    return new


def _reconstructed(store: Store, proposal: dict, codebook, code, decision: str, names: list[str], source: str,
                   diff: dict) -> int:
    """The version a split or merge of ``code`` makes, through the build's ``save_changed_version``."""
    splits, merges = {}, []
    if decision == "split":
        if code.size < 2:
            raise WorkbenchError(f"proposal #{proposal['id']}: '{code.name}' has {code.size} expression(s); "
                                 "a split needs two")
        splits = {code.idx: ([n.strip() for n in names], source)}
    else:
        target = next((c for c in codebook.codes if c.uid != code.uid and (c.name or "").casefold()
                       == names[0].strip().casefold()), None)
        if target is None:
            raise WorkbenchError(f"proposal #{proposal['id']}: codebook v{codebook.version} has no other code "
                                 f"named {names[0]!r}; nothing was changed")
        merges = [(code.idx, target.idx, target.name, source)]
        diff["merge"] = [[code.uid, target.uid]]
    config = store.config()
    run_id = store.start_run("review", config.digest())
    gateway = Gateway(store, config, run_id)
    try:
        context = BuildContext(store, gateway, config, proposal["thread_id"], show_progress=False)
        return save_changed_version(context, codebook, proposal["id"], "review", splits, merges,
                                    {**diff, "split": [code.uid] if splits else []})
    finally:
        store.finish_run(run_id, gateway.stats.as_dict())
