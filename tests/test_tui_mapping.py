"""The mapping screen: a stratified document sample with the recognizer's codes; y/n label each
code of the document (App. C mapping capability) and move on by themselves."""
from __future__ import annotations

from textual.widgets import DataTable, Static

from conftest import label_a_paused_version
from workbench.annotate.tasks import pair_id
from workbench.annotate.views import mapping_items
from workbench.tui import WorkbenchApp

SIZE = (160, 48)


async def open_mapping(app, pilot) -> None:
    """The Mapping screen (key 3), once its worker has loaded the queue."""
    await pilot.press("3")
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def test_yes_no_per_code_are_stored_and_the_next_document_follows(built_project):
    store = built_project
    version = store.latest_version()
    app = WorkbenchApp(store.path, "ann")
    async with app.run_test(size=SIZE) as pilot:
        await open_mapping(app, pilot)
        screen = app.screen
        docs = screen.paged()
        sample = store.sample_items("mapping", version)
        assert [k for k, _ in docs.rows_data] == sample and len(sample) == 50
        first = mapping_items(store, version, sample[:2])
        assert docs.current_key() == sample[0]
        codes = screen.query_one("#code-table", DataTable)
        assert codes.row_count == len(first[0].codes)
        body = str(screen.query_one("#doc-body", Static).render())
        assert body.strip() and body.split()[0] in first[0].text
        answers = ["y", "n", "y"][:len(first[0].codes)]
        await pilot.press(*answers)
        await pilot.pause()
        assert docs.current_key() == sample[1]  # the last code of a document leads to the next document
        assert docs.get_row(sample[0])[4] == f"{len(answers)}/{len(first[0].codes)}"
        await pilot.press("y")
        await pilot.press("comma")  # back to the first document: its answers are still shown
        await pilot.pause()
        assert docs.current_key() == sample[0]
        assert [str(codes.get_cell(c.uid, "answer")) for c in first[0].codes[:len(answers)]] == [
            "yes" if a == "y" else "no" for a in answers]
        assert "0/50" not in str(screen.query_one("#mapping-page", Static).render())
    rows = store.labels("mapping", viewer="ann")
    expected = [(pair_id(sample[0], c.uid), "yes" if a == "y" else "no") for c, a in zip(first[0].codes, answers)]
    expected.append((pair_id(sample[1], first[1].codes[0].uid), "yes"))
    assert [(r["item_id"], r["label"]) for r in rows] == expected
    assert {(r["criterion"], r["codebook_version"], r["protocol_version"], r["round"]) for r in rows} == {
        ("appropriate", version, "1.0.0", "first")}


async def test_labels_made_on_the_paused_version_show_as_carried_and_done_on_the_final_one(built_project):
    store = built_project
    paused, final, ids, labels, kept = label_a_paused_version(store)
    app = WorkbenchApp(store.path, "ann")  # the latest version: the final one
    async with app.run_test(size=SIZE) as pilot:
        await open_mapping(app, pilot)
        screen = app.screen
        docs = screen.paged()
        keys = [k for k, _ in docs.rows_data]
        assert keys[:len(ids)] == ids  # the paused version's documents first
        page = str(screen.query_one("#mapping-page", Static).render())
        items = mapping_items(store, final, keys)
        done = [i for i in items if all(pair_id(i.document_id, c.uid) in kept for c in i.codes)]
        assert f"{len(done)}/{len(keys)} documents done by you ({len(kept)} labels carried from v{paused})" in page
        first = next(i for i in items if i not in done)  # the screen opens on the first unfinished document
        assert docs.current_key() == first.document_id
        codes = screen.query_one("#code-table", DataTable)
        for code in first.codes:
            pair = pair_id(first.document_id, code.uid)
            expected = f"{labels[pair]} (v{paused})" if pair in kept else "·"
            assert str(codes.get_cell(code.uid, "answer")) == expected


async def test_an_annotator_with_an_assignment_sees_only_their_documents(built_project):
    from workbench.annotate.assignments import assign
    from workbench.annotate.rounds import round_progress

    store = built_project
    version = store.latest_version()
    shares = assign(store, "mapping", ["ann", "bob", "cy"], overlap=2, seed=1).items
    sample = store.sample_items("mapping", version)
    assert sorted(sum(shares.values(), [])) == sorted(sample * 2)  # every document twice
    app = WorkbenchApp(store.path, "bob")
    async with app.run_test(size=SIZE) as pilot:
        await open_mapping(app, pilot)
        docs = app.screen.paged()
        assert [k for k, _ in docs.rows_data] == shares["bob"] and docs.current_key() == shares["bob"][0]
        first = mapping_items(store, version, shares["bob"][:1])[0]
        await pilot.press(*["y"] * len(first.codes))  # the whole first document
        await pilot.pause()
        assert f"1/{len(shares['bob'])} documents done by you" in str(app.screen.query_one("#mapping-page",
                                                                                          Static).render())
    bob = {a.annotator: a for a in round_progress(store, "mapping", version).annotators}["bob"]
    assert (bob.done, bob.assigned) == (1, len(shares["bob"]))


async def test_mapping_reopens_at_the_first_unfinished_document_and_counts_the_last_one_done(built_project):
    """#25: the screen opened at document 1 whatever was done, and after the last code of the last
    document its status line still said one document fewer than the rows showed (32/33 vs 3/3)."""
    from workbench.annotate.assignments import assign
    from workbench.annotate.labels import record

    store = built_project
    version = store.latest_version()
    mine = assign(store, "mapping", ["ann"], per_annotator=2).items["ann"]
    first, second = mapping_items(store, version, mine)
    for code in first.codes:  # the first document done in an earlier session
        record(store, "mapping", pair_id(first.document_id, code.uid), "appropriate", "yes", "ann", version)
    app = WorkbenchApp(store.path, "ann")
    async with app.run_test(size=SIZE) as pilot:
        await open_mapping(app, pilot)
        screen = app.screen
        assert screen.paged().current_key() == second.document_id
        assert "1/2 documents done by you" in str(screen.query_one("#mapping-page", Static).render())
        await pilot.press(*["n"] * len(second.codes))
        await pilot.pause()
        assert screen.paged().get_row(second.document_id)[4] == f"{len(second.codes)}/{len(second.codes)}"
        assert "2/2 documents done by you" in str(screen.query_one("#mapping-page", Static).render())
