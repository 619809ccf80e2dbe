"""Who may do what in a team's annotation round (#25), checked here by every service that acts for
a name (``decide``, ``record``, ``assign``, ``close_round``, ``reopen_round``, the screens), not
only by the keys a screen hides.

- ``annotator`` labels the items assigned to them and sees their own labels and the instructions;
- ``reviewer`` also decides codebook proposals (``decide``, the Changes screen);
- ``lead`` also assigns, closes and reopens rounds, records consensus labels (adjudication),
  imports label files and sees (and exports) everyone's labels.

A project with no annotator registered is one analyst's: any well-formed name acts as its lead,
as before roles existed. From the first ``annotators add`` on, a name must be registered (and its
link not revoked) to label, decide or lead.

Blindness: while a round is open, no one but a lead sees another annotator's labels, nor any
figure computed from them (:func:`sees_labels`: adjudication items, agreement figures); once
the lead closes it, adjudication shows them.
"""
from __future__ import annotations

from collections.abc import Sequence

from ..errors import WorkbenchError
from ..store import Store
from .tasks import check_annotator

ANNOTATOR, REVIEWER, LEAD = "annotator", "reviewer", "lead"
ROLES = (ANNOTATOR, REVIEWER, LEAD)
# actions, and the roles that may take them
LABEL, DECIDE, ASSIGN, ROUNDS, ADJUDICATE, SEE_LABELS, IMPORT = ("label", "decide", "assign", "rounds",
                                                                 "adjudicate", "see_labels", "import")
ALLOWED = {LABEL: ROLES, DECIDE: (REVIEWER, LEAD), ASSIGN: (LEAD,), ROUNDS: (LEAD,), ADJUDICATE: (LEAD,),
           SEE_LABELS: (LEAD,), IMPORT: (LEAD,)}
DOING = {LABEL: "labelling", DECIDE: "deciding codebook changes", ASSIGN: "assigning a round",
         ROUNDS: "closing or reopening a round", ADJUDICATE: "recording a consensus label",
         SEE_LABELS: "seeing other annotators' labels", IMPORT: "importing labels"}


def check_role(role: str | None) -> str:
    role = (role or "").strip().lower()
    if role not in ROLES:
        raise WorkbenchError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
    return role


def member(store: Store, name: str | None) -> tuple[str, str]:
    """(the name as registered, its role); in a project without annotators (name, lead). An
    unregistered or revoked name is refused in a project that has annotators."""
    name = check_annotator(name)
    if not store.has_annotators():
        return name, LEAD
    row = store.annotator_row(name)
    if row is None:
        known = ", ".join(r["name"] for r in store.annotator_rows() if r["revoked"] is None) or "none active"
        raise WorkbenchError(f"no annotator {name!r} in this project (annotators: {known}): add them first with "
                             f"'workbench annotators PROJECT add {name}'")
    if row["revoked"] is not None:
        raise WorkbenchError(f"{row['name']}'s link is revoked: 'workbench annotators PROJECT add {row['name']}' "
                             "makes them an annotator again")
    return row["name"], row["role"] or ANNOTATOR


def role_of(store: Store, name: str) -> str:
    return member(store, name)[1]


def may(role: str, action: str) -> bool:
    return role in ALLOWED[action]


def require(store: Store, name: str | None, action: str) -> str:
    """``name`` as registered, when its role may take ``action``; else one line saying who may."""
    name, role = member(store, name)
    if not may(role, action):
        allowed = ALLOWED[action]
        raise WorkbenchError(f"{name} is {'an' if role[0] in 'aeiou' else 'a'} {role}: {DOING[action]} needs the "
                             f"{' or '.join(allowed)} role ('workbench annotators PROJECT role {name} {allowed[0]}' "
                             "gives it)")
    return name


def require_lead(store: Store, by: str | None, action: str) -> str | None:
    """Who takes a lead's action: required (and a lead) once the project has annotators; the one
    analyst of a project without annotators need not say (None)."""
    if by is None and not store.has_annotators():
        return None
    if by is None:
        raise WorkbenchError(f"say who is {DOING[action]}: --by NAME (a lead of this project)")
    return require(store, by, action)


def lead_test(store: Store):
    """A predicate: is this decider a lead? (Anyone is, in a project without annotators.)"""
    if not store.has_annotators():
        return lambda name: True
    leads = {r["name"] for r in store.annotator_rows() if r["revoked"] is None and r["role"] == LEAD}
    return lambda name: name in leads


def members(store: Store, names: Sequence[str]) -> list[str]:
    """Names as registered, each once (``Ana`` and ``ana`` are one); unknown ones refused."""
    return list(dict.fromkeys(member(store, n)[0] for n in names))


def sees_labels(store: Store, viewer: str | None, task: str, codebook_version: int | None) -> bool:
    """Whether ``viewer`` may see other annotators' labels of a round: a lead always (None is the
    lead's view), anyone else once the round is closed (adjudication)."""
    if viewer is None or may(role_of(store, viewer), SEE_LABELS):
        return True
    return codebook_version is not None and store.closed_round(task, codebook_version) is not None
