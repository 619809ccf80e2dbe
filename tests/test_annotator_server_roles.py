"""Roles and blindness through the served app (#25): each role's real app process, opened by its
personal link, offers only its role's screens and keys; while the round is open no other
annotator's labels, and no name of an item not assigned to the viewer, reach an annotator's
websocket; the lead's session shows them (so the check can fail). And every (role × screen ×
action key) cell: each role's session presses every screen key and every action key of each
screen, an allowed key showing its effect and adding exactly its rows, a refused one adding
nothing and showing the library's one-line refusal."""
from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

import numpy as np
import pytest

from bench.annotation_client import AnnotatorClient
from test_annotator_server import Running, token_of
from workbench.annotate.annotators import add_annotator
from workbench.annotate.assignments import assign
from workbench.annotate.labels import record
from workbench.annotate.rounds import close_round
from workbench.annotate.tasks import REANNOTATION
from workbench.models import Code

TASK = "code_quality"
WORDS = ("harbour", "lantern", "orchard", "quarry", "meadow", "glacier", "thimble", "saffron", "bramble",
         "pylon", "cobalt", "walnut")


def worded_codebook(store) -> int:
    """Twelve codes named by words no screen text contains, so a name on screen is that code's."""
    codes = [Code(i, f"uid{i:02d}", f"{w}-code", "test", None, 0, np.zeros(4, np.float32))
             for i, w in enumerate(WORDS)]
    return store.save_codebook("t", 1, "init", None, codes, np.array([], int), np.array([], int), {}, "h", "e")


# the code-quality task on the Agreement and Adjudicate screens (they open on mapping)
CODE_QUALITY = [("t", "task proposals"), ("t", "task code_quality")]


async def session(running: Running, link: str, steps: list[tuple[str, str]]) -> AnnotatorClient:
    """Open a link, then press each (key, text it shows), waiting for the screen to settle."""
    client = AnnotatorClient(running.base + "/a/" + token_of(link), width=120, height=48)
    await client.connect()
    for key, text in steps:
        if key:
            await client.press(key)
        try:
            await client.wait_for(text, timeout=120)
        except TimeoutError:
            raise AssertionError(f"{text!r} never showed after {key!r}; the screen ends:\n{client.screen[-3000:]}")
        await asyncio.sleep(0.5)  # the screen's worker fills its tables after the title
    return client


@pytest.mark.slow
async def test_each_role_sees_only_its_screens_and_an_annotator_nothing_of_others(project):
    store = project
    version = worded_codebook(store)
    links = {name: add_annotator(store, name, "http://x", role)
             for name, role in (("ana", "annotator"), ("ben", "annotator"), ("cem", "annotator"),
                                ("rev", "reviewer"), ("lea", "lead"))}
    shares = assign(store, TASK, ["ana", "ben", "cem"], overlap=2, seed=0, by="lea").items
    for name in ("ben", "cem"):  # ben and cem label all theirs, disagreeing on every item they share
        for uid in shares[name]:
            record(store, TASK, uid, "meaningful", "1" if name == "ben" else "0", name, version)
    theirs = [uid for uid in shares["ben"] if uid in shares["cem"] and uid not in shares["ana"]]
    mine = shares["ana"]
    assert theirs and mine
    name_of = {f"uid{i:02d}": f"{w}-code" for i, w in enumerate(WORDS)}

    async with Running(store.path, codebook_version=version) as running:
        ana, rev, lea = await asyncio.gather(
            # an annotator lands on Mapping (no corpus here: it says so); 1 (Changes) does nothing;
            # then Names, Agreement, Adjudicate
            session(running, links["ana"], [("", "value code adequately"), ("1", "value code adequately"),
                                             ("2", "fully labelled by you"), ("y", "fully labelled by you"),
                                             ("4", "Items in disagreement"),
                                             *CODE_QUALITY, ("5", "Adjudication"), *CODE_QUALITY]),
            session(running, links["rev"], [("", "Changes to approve"), ("4", "Items in disagreement"),
                                             *CODE_QUALITY]),
            session(running, links["lea"], [("", "Changes to approve"), ("4", "Items in disagreement"),
                                             *CODE_QUALITY, ("5", "Adjudication"), *CODE_QUALITY]))
        for client in (ana, rev, lea):
            await client.close()

    # an annotator: no Changes screen, no lead screen, their own codes only, no one's labels
    assert "Changes to approve" not in ana.screen and "Lead ·" not in ana.screen
    assert "1 Changes" not in ana.screen and "6 Lead" not in ana.screen and "q Quit" in ana.screen
    assert all(name_of[uid] in ana.screen for uid in mine[:3])  # the check can see names on screen
    assert not [name_of[uid] for uid in theirs if name_of[uid] in ana.screen]
    assert "listed once the lead closes the round" in ana.screen
    # a reviewer decides (Changes) but is as blind as an annotator on labels; no lead screen
    assert "Changes to approve" in rev.screen and "6 Lead" not in rev.screen
    assert not [name_of[uid] for uid in theirs if name_of[uid] in rev.screen]
    # the lead sees the disagreements (so a leak would show above)
    assert all(name_of[uid] in lea.screen for uid in theirs) and "6 Lead" in lea.screen
    assert store.count("decisions") == 0
    # the one label typed on the Names screen is ana's, on her first code
    assert [(r["annotator"], r["item_id"], r["label"]) for r in store.labels(TASK, viewer="ana")] == [
        ("ana", mine[0], "1")]


# ------------------------------------------------------------------------------ every (role × screen × action key)


def dispute(store, version: int, uid: str) -> None:
    """ben and cem answer every document's pair with code ``uid`` oppositely (written as a file
    import would, outside any assignment): its α interval lies below the floor, so the Changes
    screen offers it as a review proposal (:mod:`workbench.build.review_proposals`)."""
    from workbench.annotate.labels import label_row
    from workbench.annotate.tasks import pair_id

    store.record_labels([label_row("mapping", pair_id(f"d{i}", uid), "appropriate", label, who, version)
                         for i in range(1, 5) for who, label in (("ben", "yes"), ("cem", "no"))])


def walk_project(store, name: str) -> tuple[int, str]:
    """Four documents of 120 lines each, every one shown with two codes and assigned (mapping) to
    ``name``; a code-quality round of ``name`` and ben on all twelve codes, where ben's labels
    make a rename accepted (uid11) and two disagreements with ``name`` (uid00 to re-label, uid01
    split 1–1 once re-annotated, to discuss); three codes disputed on mapping (review proposals).
    Returns the codebook version and ``name``'s link."""
    from workbench.annotate.tasks import MODEL, RECOGNIZER, pair_id, task_protocol
    from workbench.store import DocumentRow

    version = worded_codebook(store)
    links = {who: add_annotator(store, who, "http://x", role)
             for who, role in (("ana", "annotator"), ("ben", "annotator"), ("cem", "annotator"),
                                       ("rev", "reviewer"), ("lea", "lead"))}
    docs = [f"d{i}" for i in range(1, 5)]
    store.import_documents("t", "-", {}, [DocumentRow(d, "G", None, "human", "en", "\n".join(
        f"{d} line {n:03d} of a long statement about what matters" for n in range(120))) for d in docs])
    protocol = task_protocol("mapping")
    store.create_sample("mapping", version, protocol.version, docs)
    store.record_labels([{"task": "mapping", "item_id": pair_id(d, f"uid{2 * i + k:02d}"), "criterion": "appropriate",
                          "label": "yes", "annotator": RECOGNIZER, "round": MODEL, "codebook_version": version,
                          "protocol_id": protocol.id, "protocol_version": protocol.version,
                          "note": json.dumps({"rank": k + 1})} for i, d in enumerate(docs) for k in range(2)])
    assign(store, "mapping", [name], per_annotator=4, by="lea")
    assign(store, TASK, [name, "ben"], overlap=2, by="lea")
    for who, label in ((name, "1"), ("ben", "0")):
        record(store, TASK, "uid00", "meaningful", label, who, version)
        record(store, TASK, "uid01", "meaningful", label, who, version)
    record(store, TASK, "uid11", "name_fit", "0", "ben", version)
    record(store, TASK, "uid11", "better_name", "ben-name", "ben", version)
    for uid in ("uid02", "uid03", "uid04"):
        dispute(store, version, uid)
    return version, links[name]


@dataclass
class Step:
    key: str  # what is typed (a key, or text for a prompt followed by enter)
    shows: str | None  # text the screen must show after it (None: nothing to wait for)
    labels: int = 0  # rows it must add: labels, decisions, codebook versions (all else unchanged)
    decisions: int = 0
    versions: int = 0
    before: object = None  # what the test changes in the project before the key (refresh keys)


def walk(store, version: int, name: str, role: str) -> list[Step]:
    """Every action key of every screen, in an order where a key never lands on a screen that
    binds it otherwise; each with what it must do for this role (a refused key: its one line)."""
    decides, lead = role in ("reviewer", "lead"), role == "lead"
    article = "an annotator" if role == "annotator" else f"a {role}"
    refused = f"{name} is {article}:"

    def close_and_split_uid01():  # the lead closes the round; uid01 stays 1–1 after re-annotation
        close_round(store, TASK, "lea")
        record(store, TASK, "uid01", "meaningful", "1", name, version, round=REANNOTATION)
        record(store, TASK, "uid01", "meaningful", "0", "ben", version, round=REANNOTATION)

    return [
        # 2 Names: label the first code (y, n), a better name (b), write renames (w, deciding), help (i)
        Step("2", "Code-name audit"),
        Step("y", "your label: 1", labels=1), Step("n", "your label: 0", labels=1),
        Step("b", "A better name for"), Step("-fresh\r", "your better name:", labels=1),
        Step("w", "renames written into codebook version", versions=1) if decides else Step("w", refused),
        Step("i", "A value is what a person"), Step("i", None), Step("]", None), Step("[", None),
        # 6 Lead (refused but for a lead, then g lands on Names, which does not bind it)
        Step("6", "Lead · ") if lead else Step("6", refused),
        Step("g", "Lead · 2 rounds" if lead else None),
        # 3 Mapping: y, n on the first document's two codes (then the next document), . , d u i ] [
        Step("3", "Mapping labels"),
        Step("y", "yes", labels=1), Step("n", "d2 · group G", labels=1),
        Step(".", "d3 · group G"), Step(",", "d2 · group G"),
        Step("d", " line "), Step("u", " line "), Step("i", "You will see one document"), Step("i", None),
        Step("]", None), Step("[", None),
        # 1 Changes (refused for an annotator: its keys then land on Mapping, which binds none of them)
        Step("1", "Changes to approve") if decides else Step("1", refused),
        # (a decision is also a label of the proposals task, for agreement on decisions)
        *([Step("a", "'rename: new name'"), Step("keep\r", "kept", labels=1, decisions=1),
           Step("r", "kept", labels=1, decisions=1),
           Step("e", "'rename: new name'"), Step("keep\r", "kept", labels=1, decisions=1)] if decides else
          [Step("a", None), Step("r", None), Step("e", None)]),
        Step("s", "the build is not waiting for review" if decides else None),
        Step("g", "glacier-code" if decides else None, before=lambda: dispute(store, version, "uid05")),
        Step("]", None), Step("[", None),
        # 4 Agreement: t (to proposals, then code_quality), r, g; blind but for a lead
        Step("4", "Cohen's κ per pair" if lead else "Your labels only"), Step("t", "task proposals"),
        Step("t", "task code_quality"), Step("r", "round first"), Step("g", "Agreement · task code_quality"),
        Step("]", None), Step("[", None),
        # 5 Adjudicate, once the lead closed the round: re-label uid00 (y), then uid01 split 1–1 (n):
        # a lead records the consensus with a note, anyone else is told the lead does
        Step("5", "Adjudication", before=close_and_split_uid01),
        Step("t", "task proposals"), Step("t", "task code_quality"),
        Step("y", "your re-annotation: 1", labels=1),
        *([Step("n", "Consensus label"), Step("settled in talk\r", "consensus", labels=1)] if lead else
          [Step("n", "the lead records the consensus label")]),
        Step("g", "discuss (2–2)", before=lambda: record(store, TASK, "uid00", "meaningful", "0", "ben", version,
                                                          round=REANNOTATION)),
        Step("]", None), Step("[", None),
    ]


def state(store) -> tuple[int, int, int]:
    return store.count("labels"), store.count("decisions"), len(store.versions())


@pytest.mark.slow
@pytest.mark.parametrize("role", ["annotator", "reviewer", "lead"])
async def test_every_action_key_of_every_screen_does_what_the_role_allows_through_the_served_app(project, role):
    """Each role's own app process, opened by its link: every screen key and every action key of
    each screen pressed; an allowed one must show its effect and add exactly its rows, a refused
    one must add nothing and show the library's one line."""
    store = project
    name = {"annotator": "ana", "reviewer": "rev", "lead": "lea"}[role]
    version, link = walk_project(store, name)
    async with Running(store.path, codebook_version=version) as running:
        client = AnnotatorClient(running.base + "/a/" + token_of(link), width=120, height=48)
        await client.connect()
        await client.wait_for("Mapping labels" if role == "annotator" else "Changes to approve", timeout=120)
        await asyncio.sleep(1)
        try:
            for n, step in enumerate(walk(store, version, name, role)):
                if step.before is not None:
                    step.before()
                before = state(store)
                client.screen = ""
                await client.press(step.key, timeout=10 if step.shows else 0.3)
                if step.shows is not None:
                    try:
                        await client.wait_for(step.shows, timeout=60)
                    except TimeoutError:
                        raise AssertionError(f"step {n} {step.key!r} ({role}): {step.shows!r} never showed; "
                                             f"the screen sent:\n{client.screen[-3000:]}") from None
                await asyncio.sleep(0.6)  # the screen's worker, and a write, settle
                added = tuple(a - b for a, b in zip(state(store), before))
                assert added == (step.labels, step.decisions, step.versions), (n, step.key, role, added)
            await client.press("q")  # the app's last key: the session ends
            async with asyncio.timeout(30):
                while not client.closed:
                    await asyncio.sleep(0.1)
        finally:
            await client.close()
    # every label the walk added is under the session's own name (ben's and cem's the test wrote)
    assert {r["annotator"] for r in store.labels(viewer=None)} - {"recognizer"} <= {name, "ben", "cem"}
