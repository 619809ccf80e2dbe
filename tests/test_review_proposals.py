"""Review proposals: a code the annotators do not agree on (α per code below the floor) is offered
for a decision — rename, split, merge or keep — checked like any decision and carried out at once."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from textual.widgets import Input, Static

from workbench.annotate.labels import record
from workbench.build.review_proposals import propose_reviews
from workbench.annotate.tasks import pair_id
from workbench.build import decide, review_queue
from workbench.cli import main
from workbench.errors import WorkbenchError
from workbench.tui import WorkbenchApp


def label_three_codes(store, unreliable: int = 1, n_docs: int = 30) -> list[str]:
    """ana and bob label three codes of the latest version on the same documents; they agree on
    every item except those of code ``unreliable`` (bob guesses there). Returns the three uids
    (the largest codes, so that one can be split)."""
    version = store.latest_version()
    codes = [c.uid for c in sorted(store.codes_of(version), key=lambda c: -c.size)][:3]
    docs = [r[0] for r in store.db.execute("select id from documents where source = 'human' order by id limit ?",
                                           [n_docs])]
    rng = np.random.default_rng(5)
    for n, uid in enumerate(codes):
        for doc in docs:
            truth = "yes" if rng.random() < 0.5 else "no"
            other = truth if n != unreliable else ("yes" if rng.random() < 0.5 else "no")
            record(store, "mapping", pair_id(doc, uid), "appropriate", truth, "ana", version)
            record(store, "mapping", pair_id(doc, uid), "appropriate", other, "bob", version)
    return codes


def test_the_code_the_annotators_disagree_on_and_no_other_becomes_a_review_proposal(built_project):
    store = built_project
    before = {p["id"] for p in store.proposals()}
    codes = label_three_codes(store)
    status, views = review_queue(store)
    assert status.state == "finished"
    reviews = [v for v in views if v.kind == "review"]
    assert [store.proposals([v.id])[0]["code_uid"] for v in reviews] == [codes[1]]
    ev = reviews[0].evidence
    assert ev["alpha"] < ev["ci"][1] < 0.667 and ev["floor"] == 0.667 and ev["n_items"] == 30
    # the evidence is every item ana and bob label differently, with the document and both labels
    table = {(d["document_id"], d["labels"]["ana"], d["labels"]["bob"]) for d in ev["disagreements"]}
    assert table and all(a != b for _, a, b in table)
    assert all(d["excerpt"] for d in ev["disagreements"])
    labelled = {pair_id(d, codes[1]) for d, _, _ in table}
    rows = store.labels("mapping", viewer=None, codebook_version=store.latest_version())
    by_item = {}
    for r in rows:
        by_item.setdefault(r["item_id"], {})[r["annotator"]] = r["label"]
    assert labelled == {item for item, by in by_item.items() if by["ana"] != by["bob"]}
    # re-opening finds the same proposal: nothing is duplicated
    assert propose_reviews(store) == [reviews[0].id]
    assert {p["id"] for p in store.proposals()} - before == {reviews[0].id}
    # the floor is a setting: at the upper bound the code is no longer unreliable (its proposal superseded)
    assert propose_reviews(store, alpha_floor=ev["ci"][1]) == []
    assert store.proposals([reviews[0].id])[0]["status"] == "superseded"


def test_a_bad_decision_on_a_review_proposal_is_one_line_and_writes_nothing(built_project):
    store = built_project
    label_three_codes(store)
    pid = propose_reviews(store)[0]
    name = json.loads(store.proposals([pid])[0]["evidence"])["name"]
    bad = [("destroy", []), ("split", ["only one"]), ("split", ["same", "Same"]), ("rename", [" "]),
           ("rename", [name]), ("merge", ["no such code anywhere"]), ("keep", ["a name"]), ("approve", [])]
    for decision, names in bad:
        with pytest.raises(WorkbenchError) as caught:
            decide(store, "ann", review=[(pid, decision, names)])
        assert f"proposal #{pid}:" in str(caught.value) and "\n" not in str(caught.value)
    assert store.count("decisions", "proposal_id = ?", [pid]) == 0
    listed = CliRunner().invoke(main, ["decide", str(store.path), "--by", "ann"])  # no decision: what waits
    assert listed.exit_code == 0 and f"#{pid} review '{name}': α " in listed.output
    out = CliRunner().invoke(main, ["decide", str(store.path), "--split", str(pid), "just one", "--by", "ann"])
    assert out.exit_code != 0 and "a split needs two non-blank names" in out.output
    assert "Traceback" not in out.output and len(out.output.strip().splitlines()) == 1
    # a build's decision words do not apply to a review proposal, nor review words to a build's
    build_proposal = store.proposals(kind="split")[0]
    from workbench.build.decisions import decision_problem
    assert "use approve, reject or edit" in decision_problem(build_proposal, "keep")


def test_keep_changes_nothing_and_is_not_proposed_again_for_the_same_labels(built_project):
    store = built_project
    codes = label_three_codes(store)
    version = store.latest_version()
    pid = propose_reviews(store)[0]
    out = CliRunner().invoke(main, ["decide", str(store.path), "--keep", str(pid), "--by", "ann"])
    assert out.exit_code == 0 and f"review #{pid}: kept, no change" in out.output
    assert "workbench build" not in out.output  # nothing of a build was decided
    assert store.latest_version() == version
    assert store.proposals([pid])[0]["status"] == "kept"
    assert propose_reviews(store) == [] and review_queue(store)[1] == []
    # the proposals task holds the decision like any other (keep as a reject)
    assert [(r["item_id"], r["label"]) for r in store.labels("proposals", viewer=None)] == [(str(pid), "reject")]
    # new labels on the code: proposed again, as a new proposal with the new evidence
    doc = store.db.execute("select id from documents where source = 'human' order by id "
                           "limit 1 offset 40").fetchone()[0]
    record(store, "mapping", pair_id(doc, codes[1]), "appropriate", "yes", "ana", version)
    record(store, "mapping", pair_id(doc, codes[1]), "appropriate", "no", "bob", version)
    again = propose_reviews(store)
    assert len(again) == 1 and again[0] != pid
    assert json.loads(store.proposals(again)[0]["evidence"])["n_items"] == 31


def test_rename_split_and_merge_write_new_versions(built_project):
    store = built_project
    codes = label_three_codes(store)
    version = store.latest_version()
    pid = propose_reviews(store)[0]
    done = decide(store, "ann", rename=[(pid, ["thrift at home"])])
    renamed = done.applied[pid]
    assert renamed == store.latest_version() != version
    after = {c.uid: c for c in store.codes_of(renamed)}
    assert after[codes[1]].name == "thrift at home" and len(after) == len(store.codes_of(version))
    assert store.proposals([pid])[0]["status"] == "applied" and propose_reviews(store) == []

    # split: bob now guesses on code 0 as well (new labels on the renamed version)
    rng = np.random.default_rng(9)
    docs = [r[0] for r in store.db.execute("select id from documents where source = 'human' order by id limit 30")]
    for doc in docs:
        record(store, "mapping", pair_id(doc, codes[0]), "appropriate", "yes" if rng.random() < .5 else "no", "bob",
               renamed)
    by_code = {store.proposals([p])[0]["code_uid"]: p for p in propose_reviews(store)}
    assert codes[0] in by_code
    K = len(store.codes_of(renamed))
    split = decide(store, "ann", review=[(by_code[codes[0]], "split", ["saving", "spending"])]).applied
    split_version = split[by_code[codes[0]]]
    names = [c.name for c in store.codes_of(split_version)]
    assert len(names) == K + 1 and "saving" in names and "spending" in names
    assert codes[0] not in store.code_uids(split_version)

    assert codes[1] not in by_code  # the renamed code's labels are the same: not proposed again
    target = next(c for c in store.codes_of(split_version) if c.uid not in (codes[1],) and c.name)
    for doc in docs:  # make codes[2] unreliable and merge it into target
        record(store, "mapping", pair_id(doc, codes[2]), "appropriate", "yes" if rng.random() < .5 else "no", "bob",
               split_version)
    by_code = {store.proposals([p])[0]["code_uid"]: p for p in propose_reviews(store)}
    merged = decide(store, "ann", review=[(by_code[codes[2]], "merge", [target.name])]).applied
    merge_version = merged[by_code[codes[2]]]
    final = store.codes_of(merge_version)
    assert len(final) == K and codes[2] not in store.code_uids(merge_version)
    assert target.uid not in store.code_uids(merge_version) and target.name in [c.name for c in final]


async def test_the_changes_screen_shows_a_review_proposal_and_r_keeps_the_code(built_project):
    store = built_project
    codes = label_three_codes(store)
    name = next(c.name for c in store.codes_of(store.latest_version()) if c.uid == codes[1])
    app = WorkbenchApp(store.path, "dana")
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        table = app.screen.paged()
        keys = [k for k, _ in table.rows_data]
        assert len(keys) == 1
        row = table.get_row(keys[0])
        assert "review" in row and any(str(cell).startswith("α ") for cell in row)
        table.move_to(keys[0])
        await pilot.pause()
        evidence = str(app.screen.query_one("#evidence-body", Static).render())
        assert name in evidence and "Krippendorff's α" in evidence and "< 0.667" in evidence
        assert "ana: " in evidence and "bob: " in evidence and "•" in evidence
        assert "do not agree on" in str(app.screen.query_one("#build-state", Static).render())
        await pilot.press("e")  # a bad decision in the prompt: one line, nothing written
        await pilot.pause()
        app.screen.query_one(Input).value = "split: only one"
        await pilot.press("enter")
        await pilot.pause()
        assert store.count("decisions", "proposal_id = ?", [int(keys[0])]) == 0
        await pilot.press("r")
        await pilot.pause()
        assert app.screen.paged().rows_data == []
    assert store.proposals([int(keys[0])])[0]["status"] == "kept"
    assert store.decisions_by("dana", [int(keys[0])])[int(keys[0])]["decision"] == "keep"
