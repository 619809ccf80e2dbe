"""Labels with their provenance: checked against the task's protocol and appended; read per
codebook version, with mapping labels carried from ancestors on codes the version keeps."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import WorkbenchError
from ..formatting import local_time
from ..store import Store
from .roles import ADJUDICATE, DECIDE, LABEL, member, may, require, sees_labels
from .tasks import (CARRIED_TASKS, CONSENSUS, EXTRA_CRITERIA, FIRST, MODEL, PAIR, RECOGNIZER, REANNOTATION,
                    check_annotator, split_pair, task_protocol)


def recognizer_rows(store: Store, version: int) -> list[dict]:
    return store.labels("mapping", viewer=RECOGNIZER, codebook_version=version, rounds=[MODEL])


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


def closed_round_error(closed: dict) -> WorkbenchError:
    return WorkbenchError(f"the {closed['task']} round on codebook v{closed['codebook_version']} was closed by "
                          f"{closed['closed_by']} on {local_time(closed['closed'])}: it takes no more labels")


def record(store: Store, task: str, item_id: str, criterion: str, label: Any, annotator: str,
           codebook_version: int | None, round: str = FIRST, note: str | None = None) -> int:
    """Validate a label against the task's protocol and the annotator's role, and append it with
    its provenance. A consensus label is a lead's (:mod:`workbench.annotate.roles`); a first-round
    label must be on an item assigned to its annotator when the round assigns items, and is
    refused once the round is closed (:func:`workbench.annotate.rounds.close_round`); adjudication
    (re-annotation by the item's first-round raters, consensus) goes on after the closing."""
    annotator = require(store, annotator, ADJUDICATE if round == CONSENSUS else DECIDE if task == "proposals"
                        else LABEL)
    if round == REANNOTATION:
        if not may(member(store, annotator)[1], ADJUDICATE) and not sees_labels(store, annotator, task,
                                                                                 codebook_version):
            raise WorkbenchError(f"the {task} round on codebook v{codebook_version} is open: re-annotation starts "
                                 "when the lead closes it")
        check_rater(store, task, codebook_version, annotator, str(item_id), criterion)
    if round == FIRST:
        closed = store.closed_round(task, codebook_version)
        if closed:
            raise closed_round_error(closed)
        check_assigned(store, task, codebook_version, annotator, str(item_id))
    return store.record_labels([label_row(task, item_id, criterion, label, annotator, codebook_version, round,
                                          note)])[0]


def check_rater(store: Store, task: str, codebook_version: int | None, annotator: str, item_id: str,
                criterion: str) -> None:
    """Refuse a re-annotation by anyone who did not label the item on this criterion in the first
    round (a lead included): re-annotation is the panel's second look, and a newcomer's label would
    count as one more rater's (:func:`counted_reannotations`)."""
    rows = version_labels(store, task, codebook_version, viewer=annotator, rounds=[FIRST], criteria=[criterion])
    if not any(r["item_id"] == item_id for r in rows):
        raise WorkbenchError(f"{annotator} did not label {item_id!r} on {criterion} in the first round: only its "
                             "raters re-annotate it")


def counted_reannotations(rows: Sequence[dict]) -> list[dict]:
    """``rows`` without the re-annotations of anyone who did not label that item and criterion in the
    first round (``rows`` must hold the first round's): written around :func:`record` (an older
    project, an import), they do not count."""
    rated = {(r["item_id"], r["criterion"], r["annotator"]) for r in rows if r["round"] == FIRST}
    return [r for r in rows if r["round"] != REANNOTATION or (r["item_id"], r["criterion"], r["annotator"]) in rated]


def check_assigned(store: Store, task: str, codebook_version: int | None, annotator: str, item_id: str) -> None:
    """Refuse a label on a sampled item the round assigns to others (a lead may label any)."""
    if codebook_version is None or task == "proposals":
        return
    item = split_pair(item_id)[0] if PAIR in item_id else item_id
    if store.assigned(task, codebook_version, annotator, item) is False and not may(member(store, annotator)[1],
                                                                                   ADJUDICATE):
        raise WorkbenchError(f"{item_id!r} is not assigned to {annotator} in the {task} round on codebook "
                             f"v{codebook_version}: label your own items")


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
