"""Adjudication: the items the panel disagreed on and where each stands, blind until discussion."""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from ..store import Store
from .agreement import default_version, ratings
from .labels import version_labels
from .roles import SEE_LABELS, may, member, sees_labels
from .tasks import CONSENSUS, FIRST, REANNOTATION, task_protocol


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


def adjudication_items(store: Store, task: str, annotator: str | None, codebook_version: int | None = None
                       ) -> list[AdjudicationItem]:
    """Items the panel disagreed on in the first round, with where each stands for this annotator
    (None: the lead's view, where an item no one has re-labelled yet is ``waiting``, never ``re-label``).

    Blind until discussion: other annotators' labels are shown only once every first-round rater
    has re-labelled the item and it is still evenly split (``discuss``), or once it is settled.
    Anyone but a lead sees only the items they labelled themselves.
    """
    protocol = task_protocol(task)
    if annotator is not None:
        annotator, role = member(store, annotator)
        only_mine = not may(role, SEE_LABELS)
    if codebook_version is None:
        codebook_version = default_version(store, task)
    if not sees_labels(store, annotator, task, codebook_version):
        return []  # blind until the lead closes the round: a disagreement says what the other answered
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
            if len(set(first_labels.values())) < 2 or (annotator is not None and only_mine
                                                        and annotator not in first_labels):
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
