"""The agreement screen shows κ per pair and its mean, Fleiss' κ, α, percent agreement and the
items in disagreement, per task and round, computed from the stored labels."""
from __future__ import annotations

from textual.widgets import DataTable, Static

from annotations.agreement import cohen_kappa
from workbench.annotate.labels import record
from workbench.annotate.sampling import mapping_sample
from workbench.annotate.tasks import REANNOTATION, RECOGNIZER, pair_id
from workbench.annotate.views import mapping_items
from workbench.formatting import fmt
from workbench.tui import WorkbenchApp

SIZE = (180, 50)
ANN = ["yes"] * 4 + ["no"] * 3 + ["yes", "yes", "no"]
BOB = ["yes"] * 4 + ["no"] * 3 + ["no", "no", "yes"]  # with ANN: κ = (.7 - .5) / (1 - .5) = .4


def rows_of(screen, selector):
    table = screen.query_one(selector, DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def refresh(pilot, app, *keys):
    await pilot.press(*keys)
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def test_agreement_figures_per_task_round_and_the_recognizer(built_project):
    store = built_project
    version = store.latest_version()
    sample = mapping_sample(store, version)
    items = mapping_items(store, version, sample)
    pairs = [pair_id(i.document_id, c.uid) for i in items for c in i.codes][:10]
    for item, a, b in zip(pairs, ANN, BOB):
        record(store, "mapping", item, "appropriate", a, "ann", version)
        record(store, "mapping", item, "appropriate", b, "bob", version)
    recognizer = {r["item_id"]: r["label"] for r in store.labels("mapping", viewer=RECOGNIZER)}
    expected_ann = cohen_kappa(ANN, [recognizer[p] for p in pairs])
    record(store, "code_quality", "some-code", "meaningful", "1", "ann", version)

    app = WorkbenchApp(store.path, "cy")
    async with app.run_test(size=SIZE) as pilot:
        await refresh(pilot, app, "4")
        screen = app.screen
        title = str(screen.query_one("#agreement-title", Static).render())
        assert "task mapping" in title and f"codebook v{version}" in title
        (summary,) = rows_of(screen, "#agreement-summary")
        assert summary[:5] == ["appropriate", "10", "20", "2", "0.400"]
        assert summary[7] == "70.0%" and summary[9] == "3"
        pair_rows = rows_of(screen, "#agreement-pairs")
        assert ["appropriate", "ann", "bob", "0.400", "10"] in pair_rows
        assert ["appropriate", "ann", "recognizer", fmt(expected_ann), "10"] in pair_rows
        disagreements = screen.paged().rows_data
        assert len(disagreements) == 3 and all(" · " in cells[1] for _, cells in disagreements)
        # Nobody's label is on this screen: only which items are in disagreement.
        assert not any(cell in ("yes", "no") for _, cells in disagreements for cell in cells)

        # A re-annotation that resolves one disagreement changes the final round, not the first.
        record(store, "mapping", pairs[7], "appropriate", "yes", "bob", version, round=REANNOTATION)
        await refresh(pilot, app, "g")
        assert rows_of(screen, "#agreement-summary")[0][9] == "2"
        await refresh(pilot, app, "r")
        assert "round first" in str(screen.query_one("#agreement-title", Static).render())
        assert rows_of(screen, "#agreement-summary")[0][4] == "0.400"

        await refresh(pilot, app, "t")  # proposals (no labels yet in this copy)
        await refresh(pilot, app, "t")  # code_quality
        assert "task code_quality" in str(screen.query_one("#agreement-title", Static).render())
        summary = rows_of(screen, "#agreement-summary")
        assert [r[0] for r in summary] == ["meaningful", "redundant", "name_fit"]
        assert summary[0][1:5] == ["1", "1", "1", "n/a"]


async def test_an_annotator_sees_agreement_over_their_own_labels_only_while_the_round_is_open(project):
    from test_annotate_roles import team_round
    from workbench.annotate.assignments import assign
    from workbench.annotate.rounds import close_round
    from workbench.tui.agreement_screen import BLIND_TITLE

    version, _ = team_round(project)
    shares = assign(project, "code_quality", ["ana", "ben"], overlap=2, seed=1, by="lea").items
    for uid in shares["ana"][:4]:
        record(project, "code_quality", uid, "meaningful", "1", "ana", version)
        record(project, "code_quality", uid, "meaningful", "0", "ben", version)

    async def seen(name):
        app = WorkbenchApp(project.path, name)
        async with app.run_test(size=SIZE) as pilot:
            await refresh(pilot, app, "4")
            await refresh(pilot, app, "t", "t")  # mapping → proposals → code_quality
            screen = app.screen
            return (str(screen.query_one("#pairs-title", Static).render()), rows_of(screen, "#agreement-summary")[0],
                    rows_of(screen, "#agreement-pairs"), len(screen.paged().rows_data))

    title, summary, pairs, listed = await seen("ana")
    assert title == BLIND_TITLE and summary[1:4] == ["4", "4", "1"] and summary[9] == "0"
    assert pairs == [] and listed == 0  # nothing from ben's labels: no κ, no disagreement
    title, summary, pairs, listed = await seen("lea")  # the lead's view: so the check can fail
    assert title != BLIND_TITLE and ["meaningful", "ana", "ben", fmt(0.0), "4"] in pairs and listed == 4
    close_round(project, "code_quality", "lea")
    title, _, pairs, listed = await seen("ana")  # adjudication: the panel's figures
    assert title != BLIND_TITLE and pairs and listed == 4
