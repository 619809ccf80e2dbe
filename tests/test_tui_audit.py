"""The code-name audit screen: keys write meaningful / redundant / name-fits labels with their
provenance, a redundant code names its partner, a better name becomes a new codebook version."""
from __future__ import annotations

from textual.widgets import Input, Static

from workbench.annotate.labels import record
from workbench.annotate.sampling import code_quality_sample
from workbench.tui import WorkbenchApp

SIZE = (160, 48)


def cells(table, uid):
    return [table.get_cell(uid, c) for c in ("meaningful", "redundant", "name_fit")]


async def open_audit(pilot, app):
    await pilot.press("2")
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()
    return app.screen


async def test_keys_label_each_criterion_and_the_cursor_moves_on(built_project):
    store = built_project
    version = store.latest_version()
    codes = store.load_codebook(version).codes
    record(store, "code_quality", codes[0].uid, "meaningful", "0", "other", version)  # someone else's label
    app = WorkbenchApp(store.path, "ann")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_audit(pilot, app)
        table = screen.paged()
        assert [k for k, _ in table.rows_data] == code_quality_sample(store, version)
        assert cells(table, codes[0].uid) == ["·", "·", "·"]  # blind: 'other's label is not shown
        assert "most central expressions" in str(screen.query_one("#code-detail-body", Static).render())
        await pilot.press("y", "n", "y")  # meaningful 1, redundant 0, name fits 1 → next code
        assert table.current_key() == codes[1].uid and table.current_column_key() == "meaningful"
        await pilot.press("n")
        await pilot.pause()
        assert cells(table, codes[0].uid) == ["1", "0", "1"]
        assert cells(table, codes[1].uid)[0] == "0"
    mine = store.labels("code_quality", viewer="ann")
    assert [(r["item_id"], r["criterion"], r["label"]) for r in mine] == [
        (codes[0].uid, "meaningful", "1"), (codes[0].uid, "redundant", "0"), (codes[0].uid, "name_fit", "1"),
        (codes[1].uid, "meaningful", "0")]
    assert {(r["codebook_version"], r["protocol_id"], r["protocol_version"], r["round"]) for r in mine} == {
        (version, "code_quality", "1.0.0", "first")}


async def test_redundant_names_its_partner_and_a_better_name_is_written_into_a_new_version(built_project):
    store = built_project
    version = store.latest_version()
    codes = store.load_codebook(version).codes
    app = WorkbenchApp(store.path, "ann")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_audit(pilot, app)
        table = screen.paged()
        await pilot.press("y", "y")  # meaningful 1, redundant 1 → asks with which code
        await pilot.pause()
        app.screen.query_one(Input).value = f"#{codes[2].idx}"
        await pilot.press("enter")
        await pilot.pause()
        assert table.get_cell(codes[0].uid, "redundant") == f"1 (#{codes[2].idx})"
        await pilot.press("n")  # name fits: no → cursor on the next code
        table.move_to(codes[0].uid)
        await pilot.press("b")
        await pilot.pause()
        prompt = app.screen.query_one(Input)
        assert prompt.value == codes[0].name
        prompt.value = "maritime livelihood"
        await pilot.press("enter")
        await pilot.pause()
        assert table.get_cell(codes[0].uid, "better_name") == "maritime livelihood"
        await pilot.press("w")
        await pilot.pause()
        assert "renames written into codebook version" in str(screen.query_one("#audit-page", Static).render())
    labels = {(r["criterion"]): r["label"] for r in store.labels("code_quality", viewer="ann")}
    assert labels["redundant_with"] == codes[2].uid and labels["better_name"] == "maritime livelihood"
    new = store.latest_version()
    assert new > version
    renamed = store.load_codebook(new).codes[0]
    assert renamed.uid == codes[0].uid and renamed.name == "maritime livelihood"
    assert renamed.name_source.startswith("annotator:ann")
    assert store.load_codebook(version).codes[0].name == codes[0].name


async def test_escape_in_the_prompt_writes_nothing(built_project):
    store = built_project
    app = WorkbenchApp(store.path, "ann")
    async with app.run_test(size=SIZE) as pilot:
        await open_audit(pilot, app)
        await pilot.press("b")
        await pilot.pause()
        app.screen.query_one(Input).value = "never saved"
        await pilot.press("escape")
        await pilot.pause()
    assert store.labels("code_quality", viewer="ann") == []
