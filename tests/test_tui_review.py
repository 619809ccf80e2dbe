"""The review screen: the paused build's proposals with their evidence, keys that approve, reject
and edit, and a submit that resumes the graph in a worker until the next pause."""
from __future__ import annotations

import json

import pytest
from textual.widgets import Input, Log, Static

from workbench.build import build_status
from workbench.tui import WorkbenchApp

SIZE = (160, 48)


@pytest.fixture
def paused(paused_build):
    """A copy of the session's built project paused at its first review on one split and one merge;
    the build resumed from this screen proposes one of each again (``forced_changes``)."""
    return paused_build


def kinds(store, ids):
    return {p["id"]: p["kind"] for p in store.proposals(ids)}


def text_of(app, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def test_keys_approve_reject_and_edit_record_decisions_with_the_annotator(paused):
    store, status = paused
    app = WorkbenchApp(store.path, "dana")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = app.screen.paged()
        shown = [int(k) for k, _ in table.rows_data]
        assert sorted(shown) == sorted(status.proposal_ids)
        by_kind = kinds(store, shown)
        split = next(p for p in shown if by_kind[p] == "split")
        merge = next(p for p in shown if by_kind[p] == "merge")
        # The evidence panel names usage, z, the distortion history and who proposed the names.
        table.move_to(str(split))
        await pilot.pause()
        evidence = text_of(app, "#evidence-body")
        assert "usage n_k" in evidence and "z =" in evidence and "distortion history" in evidence
        assert "offline-ctfidf" in evidence and "•" in evidence

        await pilot.press("e")  # edit the split's names in the prompt
        await pilot.pause()
        app.screen.query_one(Input).value = "thrift | family care"
        await pilot.press("enter")
        await pilot.pause()
        table.move_to(str(merge))
        await pilot.press("r")
        table.move_to(str(merge))
        await pilot.press("a")  # a change of mind is a new row; the latest counts
        await pilot.pause()
        assert "edit: thrift | family care" in table.get_row(str(split))
        assert "approve" in table.get_row(str(merge))

    mine = store.decisions_by("dana", shown)
    assert mine[split]["decision"] == "edit" and json.loads(mine[split]["names"]) == ["thrift", "family care"]
    assert mine[merge]["decision"] == "approve"
    rows = store.db.execute("select proposal_id, decision, decider from decisions where decider = 'dana' "
                            "order by id").fetchall()
    assert rows == [(split, "edit", "dana"), (merge, "reject", "dana"), (merge, "approve", "dana")]
    labels = store.labels("proposals", viewer=None)
    assert [(r["item_id"], r["label"], r["annotator"], r["protocol_version"]) for r in labels] == [
        (str(split), "approve", "dana", "1.0.0"), (str(merge), "reject", "dana", "1.0.0"),
        (str(merge), "approve", "dana", "1.0.0")]
    assert build_status(store).state == "paused"  # deciding does not resume by itself


async def test_edit_on_a_merge_and_submit_with_undecided_proposals_write_nothing(paused):
    store, status = paused
    app = WorkbenchApp(store.path, "dana")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = app.screen.paged()
        merge = next(p for p, k in kinds(store, status.proposal_ids).items() if k == "merge")
        table.move_to(str(merge))
        await pilot.press("e")
        await pilot.pause()
        assert not app.screen.query(Input)  # no prompt: a merged code is named after the merge
        await pilot.press("s")
        await pilot.pause()
        assert not app.workers._workers  # nothing resumed
        notes = [n.message for n in app._notifications]
        assert any("decide every proposal first" in m for m in notes)
    assert store.decisions_by("dana", status.proposal_ids) == {}
    assert build_status(store).proposal_ids == status.proposal_ids


async def test_pause_review_resume_reaches_the_next_pause(paused):
    store, first = paused
    by_kind = kinds(store, first.proposal_ids)
    split = min(p for p, k in by_kind.items() if k == "split")
    app = WorkbenchApp(store.path, "dana")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = app.screen.paged()
        decisions = {}
        for pid in [int(k) for k, _ in table.rows_data]:  # edit the split's names, reject the rest
            table.move_to(str(pid))
            if pid == split:
                await pilot.press("e")
                await pilot.pause()
                app.screen.query_one(Input).value = "thrift | family care"
                await pilot.press("enter")
                decisions[pid] = "edit"
            else:
                await pilot.press("r")
                decisions[pid] = "reject"
        await pilot.pause()
        await pilot.press("s")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        log = "\n".join(app.screen.query_one("#build-log", Log).lines)
        second = build_status(store)
        assert second.state == "paused", log
        assert set(second.proposal_ids).isdisjoint(first.proposal_ids)
        # The screen now lists the new proposals and says so.
        assert sorted(int(k) for k, _ in app.screen.paged().rows_data) == sorted(second.proposal_ids)
        assert "resuming build" in log and "apply: codebook version" in log and "paused again" in log
        assert "paused for review" in text_of(app, "#build-state")
        latest = store.iterations(second.thread_id)[-1]  # S(C) shown as its three terms
        assert f"= −d̄ {-latest['distortion']:.4f} + β1·M·H(z|x) {latest['beta1_term']:.4f}" in text_of(app, "#build-state")
        assert "score: iteration" in log and "β1·M·H(z|x)" in log  # build/lines.py, as the terminal prints it

    statuses = {p["id"]: p["status"] for p in store.proposals(first.proposal_ids)}
    assert statuses == {pid: "applied" if d == "edit" else "rejected" for pid, d in decisions.items()}
    deciders = store.db.execute(
        f"select distinct decider from decisions where proposal_id in ({','.join(map(str, first.proposal_ids))})"
    ).fetchall()
    assert deciders == [("dana",)]
    applied = store.db.execute("select version, diff from codebook_versions where thread_id = ? and reason = 'apply'",
                               [first.thread_id]).fetchone()
    diff = json.loads(applied[1])
    assert diff["rejected"] == sorted(pid for pid, d in decisions.items() if d == "reject")
    # The annotator's names are in the next codebook version, with the annotator as their source.
    named = {c.name: c.name_source for c in store.load_codebook(applied[0]).codes}
    assert named["thrift"] == named["family care"] == "annotator:dana"
