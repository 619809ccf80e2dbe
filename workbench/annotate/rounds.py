"""A lead's view of annotation rounds: a round is one sampled task on one codebook version. Per
annotator its done / assigned items and last activity, the agreement so far, the items waiting for
adjudication, and whether the lead closed it (a closed round takes no more labels)."""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from ..errors import WorkbenchError
from ..store import Store
from .adjudication import adjudication_items
from .agreement import TaskAgreement, agreement
from .assignments import SAMPLED_TASKS, only_assigned
from .labels import recognizer_rows, version_labels
from .roles import ROUNDS, require_lead
from .tasks import CONSENSUS, EXTRA_CRITERIA, FIRST, HUMAN_ROUNDS, split_pair, task_protocol

SETTLED = ("resolved", CONSENSUS)  # adjudication statuses that wait for nothing


@dataclass
class AnnotatorProgress:
    annotator: str
    done: int  # items of theirs with every label of the first round (carried labels count)
    assigned: int  # their assigned items; the whole sample when the round assigns them none
    last_active: float | None  # their latest label on the round (any human round), None before one
    has_assignment: bool

    def as_dict(self) -> dict[str, Any]:
        return {"annotator": self.annotator, "done": self.done, "assigned": self.assigned,
                "last_active": self.last_active, "has_assignment": self.has_assignment}


@dataclass
class RoundProgress:
    task: str
    codebook_version: int
    sample_size: int
    annotators: list[AnnotatorProgress]
    agreement: TaskAgreement
    adjudication: dict[str, int] = field(default_factory=dict)  # status -> (item, criterion) count
    closed: dict | None = None  # {closed_by, closed} once the lead closed the round

    @property
    def waiting(self) -> int:
        """Disagreements not settled yet (re-labels outstanding, or an even split to discuss)."""
        return sum(n for status, n in self.adjudication.items() if status not in SETTLED)

    def as_dict(self) -> dict[str, Any]:
        return {"task": self.task, "codebook_version": self.codebook_version, "sample_size": self.sample_size,
                "annotators": [a.as_dict() for a in self.annotators], "adjudication": dict(self.adjudication),
                "waiting_for_adjudication": self.waiting,
                "closed": {"by": self.closed["closed_by"], "at": self.closed["closed"]} if self.closed else None,
                "agreement": self.agreement.as_dict()}


def item_label_keys(store: Store, task: str, codebook_version: int, sample: list[str]) -> dict[str, list[tuple]]:
    """{sampled item: the (label item id, criterion) keys an annotator fills to have done it}: a
    code's every criterion (code quality), a document's every shown code (mapping)."""
    criteria = [c.id for c in task_protocol(task).criteria if c.id not in EXTRA_CRITERIA[task]]
    if task != "mapping":
        return {item: [(item, c) for c in criteria] for item in sample}
    keys: dict[str, list[tuple]] = {item: [] for item in sample}
    for row in recognizer_rows(store, codebook_version):
        document = split_pair(row["item_id"])[0]
        if document in keys:
            keys[document] += [(row["item_id"], c) for c in criteria]
    return keys


def round_progress(store: Store, task: str, codebook_version: int) -> RoundProgress:
    """Progress of one round: annotators assigned or labelling, agreement (final round) and the
    adjudication queue, from the labels that count on the version (carried ones included)."""
    sample = store.sample_items(task, codebook_version)
    keys = item_label_keys(store, task, codebook_version, sample)
    assigned = store.assignments(task, codebook_version)
    filled: dict[str, set[tuple]] = defaultdict(set)
    last: dict[str, float] = {}
    for row in version_labels(store, task, codebook_version, viewer=None, rounds=HUMAN_ROUNDS):
        if row["round"] == FIRST:
            filled[row["annotator"]].add((row["item_id"], row["criterion"]))
        if row["carried_from"] is None and row["round"] != CONSENSUS:
            last[row["annotator"]] = max(last.get(row["annotator"], 0.0), row["created"])
    people = []
    for annotator in sorted(set(assigned) | set(filled)):
        items = only_assigned(sample, assigned.get(annotator))
        done = sum(1 for item in items if keys[item] and all(k in filled[annotator] for k in keys[item]))
        people.append(AnnotatorProgress(annotator, done, len(items), last.get(annotator), annotator in assigned))
    statuses = Counter(i.status for i in adjudication_items(store, task, None, codebook_version))
    agreed = agreement(store, task, codebook_version, alpha_floor=store.config().annotation.alpha_floor)
    return RoundProgress(task, codebook_version, len(sample), people, agreed, dict(statuses),
                         store.closed_round(task, codebook_version))


def rounds(store: Store, task: str | None = None, codebook_version: int | None = None) -> list[tuple[str, int]]:
    """(task, version) of every round with a sample, an assignment or a closing, oldest version first."""
    tasks = [task] if task else SAMPLED_TASKS
    found = []
    for t in tasks:
        if t not in SAMPLED_TASKS:
            raise WorkbenchError(f"task {t!r} has no rounds to follow: use {' or '.join(SAMPLED_TASKS)}")
        found += [(t, v) for v in store.round_versions(t) if codebook_version is None or v == codebook_version]
    return found


def progress(store: Store, task: str | None = None, codebook_version: int | None = None) -> list[RoundProgress]:
    """:func:`round_progress` of every round (of one task, on one version, when given)."""
    return [round_progress(store, t, v) for t, v in rounds(store, task, codebook_version)]


def named_round(store: Store, task: str, codebook_version: int | None, state: str) -> int:
    """The codebook version of the round a command means: the one given (it must exist), else the
    only ``state`` ('open' or 'closed') round of the task; several or none are refused, listed."""
    if task not in SAMPLED_TASKS:
        raise WorkbenchError(f"task {task!r} has no rounds: use {' or '.join(SAMPLED_TASKS)}")
    versions = store.round_versions(task)
    if codebook_version is not None:
        if codebook_version not in versions:
            raise WorkbenchError(f"there is no {task} round on codebook v{codebook_version} (rounds: "
                                 f"{', '.join(f'v{v}' for v in versions) or 'none yet'})")
        return codebook_version
    fits = [v for v in versions if (store.closed_round(task, v) is not None) == (state == "closed")]
    if len(fits) == 1:
        return fits[0]
    which = ", ".join(f"v{v}" for v in fits)
    if fits:
        raise WorkbenchError(f"{len(fits)} {state} {task} rounds ({which}): name one with --codebook-version")
    raise WorkbenchError(f"no {state} {task} round (rounds: {', '.join(f'v{v}' for v in versions) or 'none yet'})")


def close_round(store: Store, task: str, closed_by: str | None, codebook_version: int | None = None) -> dict:
    """Close a round (a lead's act; default: the task's only open round) to first-round labels
    (:func:`workbench.annotate.labels.record`, label imports); adjudication goes on. Closing it
    again changes nothing."""
    closed_by = require_lead(store, closed_by, ROUNDS)
    version = named_round(store, task, codebook_version, "open")
    return store.close_round(task, version, closed_by or "lead")


def reopen_round(store: Store, task: str, by: str | None, codebook_version: int | None = None) -> int:
    """Reopen a closed round (a lead's act; default: the task's only closed round) to labels and
    assignments; returns its codebook version."""
    by = require_lead(store, by, ROUNDS)
    version = named_round(store, task, codebook_version, "closed")
    if not store.reopen_round(task, version):
        raise WorkbenchError(f"the {task} round on codebook v{version} is open already")
    store.log_annotator_event({"event": "reopen", "annotator": by, "remote": None,
                               "detail": f"{task} round on codebook v{version}"})
    return version
