"""A lead's round: the sample shared out to annotators with the asked overlap (seeded), each
annotator seeing only their items, progress per annotator, agreement so far and the adjudication
queue, and a closed round refusing further labels; the CLI and the lead screen over them."""
from __future__ import annotations

import json
from collections import Counter
from itertools import combinations

import numpy as np
import pytest
from click.testing import CliRunner
from textual.widgets import DataTable, Static

from workbench.annotate.agreement import agreement
from workbench.annotate.assignments import assign, distribute, visible_items
from workbench.annotate.label_files import export_labels, import_labels
from workbench.annotate.labels import record
from workbench.annotate.sampling import code_quality_sample
from workbench.annotate.rounds import close_round, progress, round_progress
from workbench.cli import main
from workbench.errors import WorkbenchError
from workbench.models import Code
from workbench.tui import WorkbenchApp

TASK = "code_quality"
CRITERIA = ("meaningful", "redundant", "name_fit")
ITEMS = [f"item{i:02d}" for i in range(30)]


def small_codebook(store, k: int = 12) -> int:
    """A codebook version of ``k`` named codes (no members): enough for the code-quality round,
    whose sample is every code of a codebook smaller than the protocol's 100."""
    codes = [Code(i, f"uid{i:02d}", f"code {i}", "test", None, 0, np.zeros(4, np.float32)) for i in range(k)]
    return store.save_codebook("t", 1, "init", None, codes, np.array([], int), np.array([], int), {}, "h", "e")


def label_code(store, uid: str, annotator: str, version: int, values=("1", "0", "1")) -> None:
    for criterion, value in zip(CRITERIA, values):
        record(store, TASK, uid, criterion, value, annotator, version)


# ------------------------------------------------------------------------------ distribution


@pytest.mark.parametrize("n_annotators,overlap", [(3, 2), (4, 2), (5, 3), (2, 2)])
def test_overlap_gives_every_item_exactly_k_annotators_with_balanced_loads(n_annotators, overlap):
    names = [f"a{i}" for i in range(n_annotators)]
    shares = distribute(ITEMS, names, overlap=overlap, seed=7)
    per_item = Counter(item for items in shares.values() for item in items)
    assert set(per_item) == set(ITEMS) and set(per_item.values()) == {overlap}
    loads = [len(items) for items in shares.values()]
    assert max(loads) - min(loads) <= 1 and sum(loads) == overlap * len(ITEMS)
    for items in shares.values():  # no item twice for one annotator, sample order kept
        assert items == [i for i in ITEMS if i in set(items)]
    # every pair of annotators shares items (pairwise κ is defined), about evenly
    together = Counter(frozenset(p) for item in ITEMS for p in combinations([a for a in names if item in shares[a]], 2))
    assert len(together) == n_annotators * (n_annotators - 1) // 2
    assert max(together.values()) - min(together.values()) <= 2
    assert all(set(shares[a]) & set(shares[b]) for a, b in combinations(names, 2))


def test_the_same_seed_gives_the_same_assignment_and_another_seed_another():
    names = ["ann", "bob", "cy"]
    first = distribute(ITEMS, names, overlap=2, seed=3)
    assert distribute(ITEMS, names, overlap=2, seed=3) == first
    assert distribute(ITEMS, names, overlap=2, seed=4) != first


def test_per_annotator_gives_n_distinct_items_and_overlaps_only_past_the_sample():
    split = distribute(ITEMS, ["ann", "bob", "cy"], per_annotator=10, seed=1)
    assert [len(v) for v in split.values()] == [10, 10, 10]
    assert sorted(sum(split.values(), [])) == ITEMS  # 3 × 10 = 30: a partition, no overlap
    shared = distribute(ITEMS, ["ann", "bob", "cy"], per_annotator=14, seed=1)
    per_item = Counter(item for items in shared.values() for item in items)
    assert [len(set(v)) for v in shared.values()] == [14, 14, 14] and sum(per_item.values()) == 42
    assert sum(1 for n in per_item.values() if n >= 2) == 12  # 42 − 30 labels over the sample


@pytest.mark.parametrize("kwargs,message", [
    ({"overlap": 1}, r"agreement \(κ\) needs overlap"),
    ({"overlap": 4}, "needs at least 4 annotators"),
    ({"per_annotator": 31}, "between 1 and the sample's 30"),
    ({"overlap": 2, "per_annotator": 3}, "one of --overlap"),
])
def test_impossible_shares_are_one_line_errors(kwargs, message):
    with pytest.raises(WorkbenchError, match=message):
        distribute(ITEMS, ["ann", "bob", "cy"], seed=0, **kwargs)


# ------------------------------------------------------------------------------ a round


def test_an_annotator_with_an_assignment_sees_only_their_items_others_the_whole_sample(project):
    version = small_codebook(project)
    done = assign(project, TASK, ["ann", "bob", "cy"], overlap=2, seed=5)
    sample = project.sample_items(TASK, version)
    assert done.codebook_version == version and done.sample_size == len(sample) == 12
    assert done.items == distribute(sample, ["ann", "bob", "cy"], overlap=2, seed=5)
    assert done.overlapped == 12
    for name, items in done.items.items():
        assert visible_items(project, TASK, version, name, sample) == items
    assert visible_items(project, TASK, version, "dee", sample) == sample  # no assignment: as before
    again = assign(project, TASK, ["ann", "bob"], overlap=2, seed=5)  # a new assignment replaces the old
    assert again.replaced == 24 and set(project.assignments(TASK, version)) == {"ann", "bob"}
    assert visible_items(project, TASK, version, "cy", sample) == sample


def test_progress_counts_done_over_assigned_and_the_latest_label_time(project):
    version = small_codebook(project)
    shares = assign(project, TASK, ["ann", "bob", "cy"], overlap=2, seed=0).items
    for uid in shares["ann"][:3]:
        label_code(project, uid, "ann", version)
    record(project, TASK, shares["ann"][3], "meaningful", "1", "ann", version)  # a code half done is not done
    for uid in shares["bob"]:
        label_code(project, uid, "bob", version, ("1", "1", "1"))
    latest = max(r["created"] for r in project.labels(TASK, viewer="bob"))
    result = round_progress(project, TASK, version)
    people = {a.annotator: a for a in result.annotators}
    assert {n: (a.done, a.assigned, a.has_assignment) for n, a in people.items()} == {
        "ann": (3, len(shares["ann"]), True), "bob": (len(shares["bob"]), len(shares["bob"]), True),
        "cy": (0, len(shares["cy"]), True)}
    assert people["bob"].last_active == latest and people["cy"].last_active is None
    expected = agreement(project, TASK, version)  # the agreement so far is the agreement screen's
    assert result.agreement.as_dict() == expected.as_dict()
    both = set(shares["ann"][:3]) & set(shares["bob"])  # ann said "not redundant", bob "redundant"
    assert both and result.waiting == len(both) and result.adjudication == ({"waiting": len(both)} if both else {})
    assert result.closed is None and [r.codebook_version for r in progress(project)] == [version]


def test_someone_labelling_without_an_assignment_counts_against_the_whole_sample(project):
    version = small_codebook(project)
    sample = code_quality_sample(project, version)
    label_code(project, sample[0], "dee", version)
    dee = {a.annotator: a for a in round_progress(project, TASK, version).annotators}["dee"]
    assert (dee.done, dee.assigned, dee.has_assignment) == (1, len(sample), False)


def test_a_closed_round_refuses_labels_and_assignments_and_says_who_closed_it(project, tmp_path):
    version = small_codebook(project)
    shares = assign(project, TASK, ["ann", "bob"], overlap=2).items
    label_code(project, shares["ann"][0], "ann", version)
    export_labels(project, tmp_path / "before.csv")
    closed = close_round(project, TASK, "lea")
    assert (closed["task"], closed["codebook_version"], closed["closed_by"]) == (TASK, version, "lea")
    n = len(project.labels(TASK, viewer=None))
    with pytest.raises(WorkbenchError, match=f"round on codebook v{version} was closed by lea .*no more labels"):
        record(project, TASK, shares["ann"][1], "meaningful", "1", "ann", version)
    with pytest.raises(WorkbenchError, match="is closed: it takes no new assignment"):
        assign(project, TASK, ["ann", "bob"], overlap=2)
    (tmp_path / "after.csv").write_text(f"task,item_id,criterion,label,annotator,codebook_version\n"
                                        f"{TASK},{shares['bob'][0]},meaningful,1,bob,{version}\n")
    with pytest.raises(WorkbenchError, match="after.csv, line 2: .*closed by lea"):
        import_labels(project, tmp_path / "after.csv")
    assert len(project.labels(TASK, viewer=None)) == n  # nothing was written
    assert close_round(project, TASK, "bob", version)["closed_by"] == "lea"  # closing again changes nothing
    assert round_progress(project, TASK, version).closed["closed_by"] == "lea"
    # a label made before the closing (an annotator's file) still fits the round
    project.db.execute("delete from labels")
    assert import_labels(project, tmp_path / "before.csv").imported == 3


def test_an_import_takes_adjudication_labels_made_after_the_closing(project, tmp_path):
    """Re-annotation and consensus start when the round closes: the closing refuses first-round rows only."""
    version = small_codebook(project)
    shares = assign(project, TASK, ["ann", "bob"], overlap=2).items
    item = sorted(set(shares["ann"]) & set(shares["bob"]))[0]
    label_code(project, item, "ann", version)
    close_round(project, TASK, "lea")
    (tmp_path / "adjudication.csv").write_text(
        "task,item_id,criterion,label,annotator,codebook_version,round,note\n"
        f"{TASK},{item},meaningful,0,ann,{version},reannotation,\n"
        f"{TASK},{item},meaningful,0,lea,{version},consensus,discussed\n")
    assert import_labels(project, tmp_path / "adjudication.csv").imported == 2
    (tmp_path / "first.csv").write_text("task,item_id,criterion,label,annotator,codebook_version\n"
                                        f"{TASK},{item},meaningful,1,bob,{version}\n")
    with pytest.raises(WorkbenchError, match="first.csv, line 2: .*closed by lea"):
        import_labels(project, tmp_path / "first.csv")


# ------------------------------------------------------------------------------ CLI


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


def test_agreement_of_a_version_the_project_lacks_is_one_line(project):
    version = small_codebook(project)
    for extra in ((), ("--progress",)):
        code, out = run("agreement", project.path, "--codebook-version", version + 5, *extra)
        assert code == 1 and "Traceback" not in out and "no labels yet" not in out, out
        assert f"{version + 5}" in out and len(out.strip().splitlines()) == 1, out


def test_assign_progress_and_close_on_the_command_line(project):
    version = small_codebook(project)
    path = project.path
    code, out = run("assign", path, "--task", TASK, "--annotators", "ann,bob,cy", "--overlap", "2", "--seed", "9")
    assert code == 0, out
    shares = project.assignments(TASK, version)
    assert f"assigned the {TASK} round on codebook v{version}: 12 items" in out
    assert all(f"{name:<16} {len(shares[name]):>4} items" in out for name in ("ann", "bob", "cy"))
    assert "12 of 12 items have two or more annotators" in out
    code, out = run("assign", path, "--task", TASK, "--annotators", "ann,bob", "--per-annotator", "6")
    assert code == 0 and "0 of 12 items have two or more annotators" in out
    assert "agreement (κ, α) cannot be computed" in out
    code, out = run("assign", path, "--task", TASK, "--annotators", "ann", "--overlap", "2")
    assert code == 1 and "needs at least 2 annotators" in out and "Traceback" not in out
    shares = assign(project, TASK, ["ann", "bob", "cy"], overlap=2, seed=9).items
    for uid in shares["ann"][:2]:
        label_code(project, uid, "ann", version)
    code, out = run("agreement", path, "--progress")
    assert code == 0, out
    assert f"{TASK} round on codebook v{version} (open): 12 sampled items" in out
    assert f"ann                 2/{len(shares['ann']):<4} done assigned" in out
    assert f"cy                  0/{len(shares['cy']):<4} done assigned; last active never" in out
    assert "waiting for adjudication: 0" in out
    code, out = run("round", "close", path, "--task", TASK, "--by", "lea")
    assert code == 0 and f"round on codebook v{version} is closed (by lea" in out
    code, out = run("agreement", path, "--progress", "--json")
    rounds = json.loads(out)
    assert code == 0 and [(r["task"], r["codebook_version"], r["closed"]["by"]) for r in rounds] == [
        (TASK, version, "lea")]
    assert {a["annotator"]: (a["done"], a["assigned"]) for a in rounds[0]["annotators"]} == {
        n: (2 if n == "ann" else 0, len(items)) for n, items in shares.items()}
    assert rounds[0]["agreement"]["task"] == TASK
    code, out = run("agreement", path, "--progress", "--task", "proposals")
    assert code == 1 and "has no rounds to follow" in out
    code, out = run("review", path, "--annotator", "lea", "--lead", "--serve")  # the browser app is 'serve' now
    assert code == 1 and "workbench serve PROJECT" in out and "Traceback" not in out


# ------------------------------------------------------------------------------ TUI

SIZE = (180, 50)


async def settle(pilot, app, *keys):
    await pilot.press(*keys)
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def test_the_lead_screen_shows_each_rounds_progress_and_refreshes(project):
    version = small_codebook(project)
    shares = assign(project, TASK, ["ann", "bob"], overlap=2, seed=2).items
    label_code(project, shares["ann"][0], "ann", version)
    app = WorkbenchApp(project.path, "lea", lead=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert app.current_mode == "lead"
        table = app.screen.query_one(f"#lead-{TASK}", DataTable)
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        assert [r[:4] for r in rows] == [[f"v{version}", "open", "ann", f"1/{len(shares['ann'])}"],
                                         ["", "", "bob", f"0/{len(shares['bob'])}"]]
        assert rows[1][4] == "never" and rows[0][4] != "never"
        label_code(project, shares["bob"][0], "bob", version)
        close_round(project, TASK, "lea")
        await settle(pilot, app, "g")
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        assert rows[0][1].startswith("closed by lea") and rows[1][3] == f"1/{len(shares['bob'])}"
        assert "mapping rounds: 0" in str(app.screen.query_one("#lead-mapping-title", Static).render())


async def test_without_lead_the_lead_screen_is_not_offered(project):
    small_codebook(project)
    app = WorkbenchApp(project.path, "ann")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app, "6")
        assert app.current_mode == "review"


async def test_the_audit_screen_shows_an_assigned_annotator_only_their_codes(project):
    version = small_codebook(project)
    shares = assign(project, TASK, ["ann", "bob", "cy"], overlap=2, seed=4).items
    for name, expected in (("ann", shares["ann"]), ("dee", project.sample_items(TASK, version))):
        app = WorkbenchApp(project.path, name)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot, app, "2")
            assert [k for k, _ in app.screen.paged().rows_data] == expected
