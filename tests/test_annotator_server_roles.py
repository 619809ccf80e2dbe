"""Roles and blindness through the served app (#25): each role's real app process, opened by its
personal link, offers only its role's screens and keys; while the round is open no other
annotator's labels, and no name of an item not assigned to the viewer, reach an annotator's
websocket; the lead's session shows them (so the check can fail)."""
from __future__ import annotations

import asyncio

import numpy as np
import pytest

from bench.annotation_client import AnnotatorClient
from test_annotator_server import Running, token_of
from workbench.annotate.annotators import add_annotator
from workbench.annotate.assignments import assign
from workbench.annotate.labels import record
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
