"""The adjudication screen: first-round disagreements are labelled again with the detailed
instruction, blind; an item still evenly split is settled by a consensus label with a note."""
from __future__ import annotations

from textual.widgets import Input, Static

from workbench.annotate.labels import record
from workbench.annotate.tasks import CONSENSUS, REANNOTATION
from workbench.tui import WorkbenchApp

SIZE = (160, 48)


async def test_relabel_blind_then_discuss_and_record_a_consensus(built_project):
    store = built_project
    version = store.latest_version()
    codes = store.load_codebook(version).codes[:3]
    # First round: ann and bob disagree on 'meaningful' for codes 0 and 1, agree on code 2.
    for code, a, b in zip(codes, "110", "000"):
        record(store, "code_quality", code.uid, "meaningful", a, "ann", version)
        record(store, "code_quality", code.uid, "meaningful", b, "bob", version)

    app = WorkbenchApp(store.path, "ann")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        await pilot.pause()
        screen = app.screen
        await pilot.press("t")  # mapping → proposals
        await pilot.press("t")  # → code_quality
        await pilot.pause()
        table = screen.paged()
        assert [cells[0] for _, cells in table.rows_data] == ["re-label", "re-label"]
        assert [k for k, _ in table.rows_data] == [f"meaningful|{codes[0].uid}", f"meaningful|{codes[1].uid}"]
        detail = str(screen.query_one("#adj-detail-body", Static).render())
        assert "Detailed instruction" in detail and "bob" not in detail  # blind while re-labelling
        await pilot.press("y", "n")  # ann keeps 1 on code 0, changes to 0 on code 1
        await pilot.pause()
        assert [cells[0] for _, cells in table.rows_data] == ["waiting for others", "waiting for others"]
    rean = store.labels("code_quality", viewer="ann", rounds=[REANNOTATION])
    assert [(r["item_id"], r["label"]) for r in rean] == [(codes[0].uid, "1"), (codes[1].uid, "0")]

    record(store, "code_quality", codes[0].uid, "meaningful", "0", "bob", version, round=REANNOTATION)
    record(store, "code_quality", codes[1].uid, "meaningful", "0", "bob", version, round=REANNOTATION)
    app = WorkbenchApp(store.path, "bob")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5", "t", "t")
        await pilot.pause()
        screen = app.screen
        table = screen.paged()
        assert [cells[0] for _, cells in table.rows_data] == ["discuss (2–2)", "resolved by majority"]
        detail = str(screen.query_one("#adj-detail-body", Static).render())
        assert "ann: 1" in detail and "bob: 0" in detail  # revealed for the discussion
        await pilot.press("n")
        await pilot.pause()
        app.screen.query_one(Input).value = "a habit, not a principle"
        await pilot.press("enter")
        await pilot.pause()
        assert table.rows_data[0][1][0] == "consensus"
        assert "a habit, not a principle" in str(screen.query_one("#adj-detail-body", Static).render())
    consensus = store.labels("code_quality", viewer=None, rounds=[CONSENSUS])
    assert [(r["item_id"], r["label"], r["annotator"], r["note"]) for r in consensus] == [
        (codes[0].uid, "0", "bob", "a habit, not a principle")]
