"""A lead's assignment of a round's sample to annotators: who labels which sampled item of a task
on a codebook version. An annotator with an assignment sees only their items in the mapping and
audit screens; one without sees the whole sample, as before assignments existed."""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from ..errors import WorkbenchError
from ..pipeline.code_view import working_version
from ..store import Store
from .roles import ASSIGN, SEE_LABELS, may, member, members, require_lead
from .sampling import code_quality_sample, mapping_sample

SAMPLED_TASKS = ("mapping", "code_quality")  # the tasks with a sample to share out (proposals have none)
DEFAULT_OVERLAP = 2  # the fewest annotators per item from which agreement (κ, α) is defined


def distribute(items: Sequence[str], annotators: Sequence[str], *, overlap: int | None = None,
               per_annotator: int | None = None, seed: int = 0) -> dict[str, list[str]]:
    """Share ``items`` out to ``annotators``, seeded; each annotator's items keep the order of ``items``.

    ``overlap`` K: every item goes to K different annotators (K ≥ 2, since Cohen's κ, Fleiss' κ
    and α compare the labels of one item by two or more annotators). The items are shuffled, then
    each goes to the K least-loaded annotators, ties going to those who share the fewest items
    with the ones already picked: the loads differ by at most one item, and the pairs are spread
    so that every pair of annotators shares items (pairwise κ is defined) once there are enough.
    ``per_annotator`` N: every annotator gets N distinct items, consecutive runs of the shuffled
    items (wrapping round): the runs overlap only when N·n exceeds the number of items, so
    agreement needs N·n > len(items).
    """
    annotators = list(dict.fromkeys(annotators))
    n = len(annotators)
    if not n:
        raise WorkbenchError("name the annotators: --annotators a,b,c")
    if not items:
        raise WorkbenchError("the sample is empty: nothing to assign")
    if (overlap is None) == (per_annotator is None):
        raise WorkbenchError("give one of --overlap K and --per-annotator N")
    order = [items[i] for i in np.random.default_rng(seed).permutation(len(items))]
    chosen: dict[str, set[str]] = {a: set() for a in annotators}
    if overlap is not None:
        if overlap < 2:
            raise WorkbenchError(f"--overlap {overlap} gives no item two annotators, and agreement (κ) needs "
                                 "overlap: use --overlap 2 or more, or --per-annotator N for a split")
        if overlap > n:
            raise WorkbenchError(f"--overlap {overlap} needs at least {overlap} annotators; {n} given")
        load = dict.fromkeys(annotators, 0)
        shared: Counter = Counter()  # frozenset({a, b}) -> items a and b share so far
        for item in order:
            picked: list[str] = []
            for _ in range(overlap):
                picked.append(min((a for a in annotators if a not in picked),
                                  key=lambda a: (load[a], sum(shared[frozenset((a, b))] for b in picked))))
            for a in picked:
                load[a] += 1
                chosen[a].add(item)
            shared.update(frozenset(pair) for pair in combinations(picked, 2))
    else:
        if not 1 <= per_annotator <= len(items):
            raise WorkbenchError(f"--per-annotator must be between 1 and the sample's {len(items)} items")
        for j, annotator in enumerate(annotators):
            chosen[annotator] = {order[(j * per_annotator + t) % len(order)] for t in range(per_annotator)}
    return {a: [item for item in items if item in chosen[a]] for a in annotators}


def overlapped(assignment: dict[str, Sequence[str]]) -> int:
    """How many items two or more annotators are assigned (the items agreement can use)."""
    counts: dict[str, int] = {}
    for items in assignment.values():
        for item in items:
            counts[item] = counts.get(item, 0) + 1
    return sum(1 for c in counts.values() if c >= 2)


def round_sample(store: Store, task: str, codebook_version: int | None = None) -> tuple[int, list[str]]:
    """(version, the round's sample) of a sampled task, drawn now if no annotator opened it yet
    (the mapping draw computes q(z|x) for the corpus)."""
    if task not in SAMPLED_TASKS:
        raise WorkbenchError(f"task {task!r} has no sample to assign: use {' or '.join(SAMPLED_TASKS)}")
    version = working_version(store, codebook_version)
    draw = mapping_sample if task == "mapping" else code_quality_sample
    return version, draw(store, version)


@dataclass
class Assignment:
    task: str
    codebook_version: int
    items: dict[str, list[str]]  # annotator -> assigned items, in sample order
    sample_size: int
    replaced: int  # assignment rows of an earlier assignment of the round that this one replaced

    @property
    def overlapped(self) -> int:
        return overlapped(self.items)


def assign(store: Store, task: str, annotators: Sequence[str], *, overlap: int | None = None,
           per_annotator: int | None = None, seed: int = 0, codebook_version: int | None = None,
           by: str | None = None) -> Assignment:
    """Assign the round's sample (task on a codebook version, default the latest) to annotators
    (:func:`distribute`) and store it, replacing an earlier assignment of the round. Default:
    ``overlap`` 2. A closed round is refused; so are names the project does not have, and, in a
    project with annotators, ``by`` who is not a lead."""
    require_lead(store, by, ASSIGN)
    names = members(store, annotators)
    if overlap is None and per_annotator is None:
        overlap = DEFAULT_OVERLAP
    version, sample = round_sample(store, task, codebook_version)
    closed = store.closed_round(task, version)
    if closed:
        raise WorkbenchError(f"the {task} round on codebook v{version} is closed: it takes no new assignment")
    items = distribute(sample, names, overlap=overlap, per_annotator=per_annotator, seed=seed)
    replaced = store.replace_assignments(task, version, items, seed)
    return Assignment(task, version, items, len(sample), replaced)


def visible_items(store: Store, task: str, codebook_version: int, annotator: str,
                  sample: Sequence[str]) -> list[str]:
    """The sampled items an annotator labels: their assigned ones (in sample order); the whole
    sample when the round assigns no one, or for a lead; none for anyone else the round leaves out
    (they never see the text of an item not theirs)."""
    assigned = store.assignments(task, codebook_version)
    name, role = member(store, annotator)
    if assigned and name not in assigned and not may(role, SEE_LABELS):
        return []
    return only_assigned(sample, assigned.get(name))


def only_assigned(sample: Sequence[str], mine: Sequence[str] | None) -> list[str]:
    """The sample's items that are in ``mine``, in sample order; the whole sample when ``mine`` is empty."""
    mine = set(mine or ())
    return [item for item in sample if item in mine] if mine else list(sample)
