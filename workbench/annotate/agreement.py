"""Agreement per task and criterion (App. C figures) over the labels that count on a version."""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from annotations.agreement import (AgreementReport, UnitAlpha, agreement_report, alpha_per_unit, table_from_rows,
                                   unreliable_units)

from ..config import ALPHA_FLOOR
from ..errors import WorkbenchError
from ..store import Store
from .labels import counted_reannotations, recognizer_rows, version_labels
from .roles import member, sees_labels
from .tasks import CARRIED_TASKS, FIRST, HUMAN_ROUNDS, REANNOTATION, split_pair, task_protocol


@dataclass
class TaskAgreement:
    task: str
    codebook_version: int | None
    round: str
    reports: dict[str, AgreementReport]  # criterion -> report
    protocol_version: str
    carried: dict[int, int] = field(default_factory=dict)  # version made on -> labels counted from it
    # mapping: Krippendorff's α per code (criterion -> one per code), and the floor its interval is held to
    per_code: dict[str, list[UnitAlpha]] = field(default_factory=dict)
    alpha_floor: float = ALPHA_FLOOR
    blind: bool = False  # the viewer's own labels only: the round is open and they are no lead

    def unreliable(self) -> dict[str, list[UnitAlpha]]:
        """Per criterion, the codes whose α interval lies wholly below ``alpha_floor``."""
        return {c: unreliable_units(units, self.alpha_floor) for c, units in self.per_code.items()}

    def carried_text(self) -> str:
        """'12 labels carried from v4' (empty when none is carried)."""
        return ", ".join(f"{n} labels carried from v{v}" for v, n in sorted(self.carried.items()))

    def as_dict(self) -> dict[str, Any]:
        return {"task": self.task, "codebook_version": self.codebook_version, "round": self.round,
                "protocol_version": self.protocol_version, "carried_from": {str(v): n for v, n in self.carried.items()},
                "criteria": {c: json.loads(r.model_dump_json()) for c, r in self.reports.items()},
                "per_code_alpha": {c: [_unit(u) for u in units] for c, units in self.per_code.items()},
                "alpha_floor": self.alpha_floor, "blind": self.blind,
                "unreliable_codes": {c: [u.unit for u in units] for c, units in self.unreliable().items()}}


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
    """The one row per (item, annotator) that counts; ``final``: a re-annotation (by a first-round
    rater) replaces the first-round label, and a version's own label replaces one carried from an
    ancestor."""
    rounds = [FIRST] if round == FIRST else [FIRST, REANNOTATION]
    rows = counted_reannotations(version_labels(store, task, codebook_version, viewer=None, rounds=rounds,
                                                criteria=[criterion]))
    rank = {FIRST: 0, REANNOTATION: 1}
    rows.sort(key=lambda r: rank[r["round"]])  # stable: keeps version_labels' order within a round
    return list({(r["item_id"], r["annotator"]): r for r in rows}.values())


def ratings(store: Store, task: str, criterion: str, codebook_version: int | None,
            round: str = "final") -> dict[Hashable, dict[Hashable, Hashable]]:
    """{item: {annotator: label}}; ``final``: a re-annotation replaces the first-round label."""
    return table_from_rows((r["item_id"], r["annotator"], r["label"])
                           for r in _counted_rows(store, task, criterion, codebook_version, round))


def agreement(store: Store, task: str, codebook_version: int | None = None, round: str = "final",
              alpha_floor: float = ALPHA_FLOOR, viewer: str | None = None) -> TaskAgreement:
    """Every App. C figure per criterion of a task: pairwise Cohen's κ and their mean, Fleiss' κ,
    Krippendorff's α, percent agreement, items in disagreement; on mapping also each annotator's κ
    against the recognizer, and Krippendorff's α per code with a bootstrap interval over its items
    (codes whose interval lies below ``alpha_floor`` — Krippendorff's 0.667 — are the unreliable ones).

    ``viewer``: who is shown the figures (None: the lead's view, as the CLI's). While the round is
    open, anyone but a lead gets figures over their own labels only (``blind``): κ between others,
    or which items the panel split on, would tell them what the others answered
    (:func:`workbench.annotate.roles.sees_labels`)."""
    if round not in ("final", FIRST):
        raise WorkbenchError(f"unknown round {round!r}: use final or first")
    protocol = task_protocol(task)
    if codebook_version is None:
        codebook_version = default_version(store, task)
    blind = not sees_labels(store, viewer, task, codebook_version)
    mine = member(store, viewer)[0] if blind else None
    reports = {}
    per_code: dict[str, list[UnitAlpha]] = {}
    carried: Counter = Counter()
    for criterion in protocol.criteria:
        rows = [r for r in _counted_rows(store, task, criterion.id, codebook_version, round)
                if mine is None or r["annotator"] == mine]
        carried.update(r["carried_from"] for r in rows if r["carried_from"] is not None)
        table = table_from_rows((r["item_id"], r["annotator"], r["label"]) for r in rows)
        model = None
        if task == "mapping":
            model = {r["item_id"]: r["label"] for r in recognizer_rows(store, codebook_version)} \
                if codebook_version is not None else {}
        reports[criterion.id] = agreement_report(table, model)
        if task == "mapping":
            per_code[criterion.id] = alpha_per_unit(table, {item: split_pair(item)[1] for item in table})
    return TaskAgreement(task, codebook_version, round, reports, protocol.version, dict(carried), per_code,
                         alpha_floor, blind)


def _unit(u: UnitAlpha) -> dict[str, Any]:
    return {"code": u.unit, "alpha": u.alpha, "ci": [u.low, u.high], "n_items": u.n_items}
