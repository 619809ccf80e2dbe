"""The annotators' library: samples, the recognizer's codes, append-only blind labels, agreement
from label rows, adjudication, renames into a new codebook version, export."""
from __future__ import annotations

import csv
import json
from collections import Counter

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import label_a_paused_version
from workbench.annotate.adjudication import adjudication_items
from workbench.annotate.agreement import agreement
from workbench.annotate.label_files import export_labels
from workbench.annotate.labels import my_label_rows, my_labels, record
from workbench.annotate.renames import apply_renames
from workbench.annotate.sampling import (assigned_codes, code_quality_sample, mapping_sample, recognizer_label,
                                         stratified_sample)
from workbench.annotate.tasks import CONSENSUS, MODEL, REANNOTATION, RECOGNIZER, pair_id, split_pair
from workbench.annotate.views import mapping_items
from workbench.cli import main
from workbench.pipeline.code_view import code_views
from workbench.build import decide, resume_payload
from workbench.errors import WorkbenchError


# ------------------------------------------------------------------------------ sampling


def test_stratified_sample_represents_every_stratum_and_is_seeded():
    strata = {("KR", "human"): [f"k{i}" for i in range(40)], ("US", "human"): [f"u{i}" for i in range(40)],
              ("US", "gpt-4o"): ["g1", "g2", "g3"]}
    drawn = stratified_sample(strata, 20, seed=0)
    assert len(drawn) == len(set(drawn)) == 20
    # Equal allocation: the small stratum is used up, the rest is shared between the others.
    counts = Counter(d[0] for d in drawn)
    assert counts == {"g": 3, "k": 9, "u": 8} or counts == {"g": 3, "k": 8, "u": 9}
    assert stratified_sample(strata, 20, seed=0) == drawn
    assert stratified_sample(strata, 20, seed=1) != drawn
    assert sorted(stratified_sample(strata, 500, seed=0)) == sorted(sum(strata.values(), []))


def test_assigned_codes_are_the_top_m_above_the_floor_and_the_recognizer_says_yes_from_1_over_m():
    q = np.array([0.05, 0.50, 0.005, 0.30, 0.145])
    assert assigned_codes(q, m=3, floor=0.01) == [(1, 0.5), (3, 0.3), (4, 0.145)]
    assert assigned_codes(np.array([0.995, 0.004, 0.001]), m=3, floor=0.01) == [(0, 0.995)]
    assert [recognizer_label(x, 3) for x in (0.5, 1 / 3, 0.3)] == ["yes", "yes", "no"]


def test_mapping_sample_is_drawn_once_stratified_and_stored_with_the_recognizer_codes(built_project):
    store = built_project
    version = store.latest_version()
    ids = mapping_sample(store, version)
    docs = store.documents_by_id(ids)
    assert len(ids) == len(set(ids)) == 50
    strata = Counter((d["group_name"], d["source"]) for d in docs.values())
    all_strata = {(g, s) for g, s, _ in store.document_counts()}
    assert set(strata) == all_strata  # every (group, source) is represented
    assert mapping_sample(store, version, size=10, seed=7) == ids  # stable per task + version
    assert store.sample_items("mapping", version) == ids
    rows = store.labels("mapping", viewer=RECOGNIZER, codebook_version=version, rounds=["model"])
    per_doc = Counter(split_pair(r["item_id"])[0] for r in rows)
    assert set(per_doc) == set(ids) and max(per_doc.values()) <= store.config().em.m
    assert {r["label"] for r in rows} == {"yes", "no"}  # the recognizer can disagree with a human
    items = mapping_items(store, version, ids[:5])
    assert [i.document_id for i in items] == ids[:5]
    uids = {c.uid for c in store.load_codebook(version).codes}
    assert all(item.codes and {c.uid for c in item.codes} <= uids and item.text for item in items)


def test_code_quality_sample_is_all_codes_of_a_small_codebook_in_index_order(built_project):
    version = built_project.latest_version()
    uids = code_quality_sample(built_project, version)
    assert uids == [c.uid for c in built_project.load_codebook(version).codes]
    views = code_views(built_project, version, uids[:2], n_central=3)
    assert [v.uid for v in views] == uids[:2] and all(1 <= len(v.central) <= 3 for v in views)


def test_code_quality_sample_draws_the_protocol_size_when_the_codebook_is_larger(built_project):
    version = built_project.latest_version()
    uids = code_quality_sample(built_project, version, size=5, seed=3)
    by_uid = built_project.load_codebook(version).by_uid()
    assert len(uids) == 5 and [by_uid[u].idx for u in uids] == sorted(by_uid[u].idx for u in uids)


# -------------------------------------------------------------------------------- labels


def test_labels_are_append_only_carry_provenance_and_are_blind(project):
    first = record(project, "code_quality", "u1", "meaningful", 1, "ann", 3)
    second = record(project, "code_quality", "u1", "meaningful", "0", "ann", 3)
    record(project, "code_quality", "u1", "meaningful", 1, "bob", 3)
    assert second > first
    rows = project.labels("code_quality", viewer=None)
    assert [(r["annotator"], r["label"]) for r in rows] == [("ann", "1"), ("ann", "0"), ("bob", "1")]
    assert {(r["codebook_version"], r["protocol_id"], r["protocol_version"], r["round"]) for r in rows} == {
        (3, "code_quality", "1.0.0", "first")}
    assert all(r["created"] > 0 for r in rows)
    assert my_labels(project, "code_quality", "ann", 3) == {("u1", "meaningful"): "0"}
    assert {r["annotator"] for r in project.labels("code_quality", viewer="bob")} == {"bob"}
    assert {r["annotator"] for r in project.labels("code_quality", viewer="bob", adjudication=True)} == {"ann", "bob"}


@pytest.mark.parametrize("args, message", [
    (("mapping", "d::u", "appropriate", "maybe", "ann"), "not a label"),
    (("mapping", "d::u", "fits", "yes", "ann"), "no criterion"),
    (("mapping", "d::u", "appropriate", "yes", "recognizer"), "reserved"),
    (("mapping", "d::u", "appropriate", "yes", " "), "annotator"),
    (("survey", "x", "appropriate", "yes", "ann"), "unknown task"),
])
def test_invalid_labels_are_refused_and_nothing_is_written(project, args, message):
    with pytest.raises(WorkbenchError, match=message):
        record(project, *args, codebook_version=1)
    assert project.count("labels") == 0


def test_a_consensus_label_needs_a_note(project):
    with pytest.raises(WorkbenchError, match="note"):
        record(project, "mapping", "d::u", "appropriate", "yes", "ann", 1, round=CONSENSUS)
    record(project, "mapping", "d::u", "appropriate", "yes", "ann", 1, round=CONSENSUS, note="author endorses it")
    assert project.labels("mapping", viewer=None)[0]["note"] == "author endorses it"


# ----------------------------------------------------------------------------- agreement

# Ten items, two annotators: both yes 4, both no 3, ann yes / bob no 2, ann no / bob yes 1.
# p_o = 0.7; p_e = 0.6 * 0.5 + 0.4 * 0.5 = 0.5; κ = (0.7 - 0.5) / (1 - 0.5) = 0.4.
ANN = ["yes"] * 4 + ["no"] * 3 + ["yes", "yes", "no"]
BOB = ["yes"] * 4 + ["no"] * 3 + ["no", "no", "yes"]


def seed_two_annotators(store, version=1, task="mapping", criterion="appropriate"):
    for i, (a, b) in enumerate(zip(ANN, BOB)):
        record(store, task, f"d{i}::u", criterion, a, "ann", version)
        record(store, task, f"d{i}::u", criterion, b, "bob", version)


def test_agreement_from_label_rows_equals_the_hand_computed_kappa(project):
    seed_two_annotators(project)
    report = agreement(project, "mapping", 1).reports["appropriate"]
    assert report.pairwise_kappa.mean == pytest.approx(0.4)
    assert report.percent_agreement == pytest.approx(0.7)
    assert report.n_items == 10 and report.raters == ["ann", "bob"]
    assert sorted(report.disagreements) == ["d7::u", "d8::u", "d9::u"]
    # Re-annotation: bob now agrees on d7 and d8. The final round uses it, the first round does not,
    # and a later first-round row does not override a re-annotation.
    for item in ("d7::u", "d8::u"):
        record(project, "mapping", item, "appropriate", "yes", "bob", 1, round=REANNOTATION)
    record(project, "mapping", "d7::u", "appropriate", "no", "bob", 1)
    # Final: 9 agreements of 10; ann yes 6/10, bob yes 7/10: p_e = .42 + .12 = .54, κ = .36 / .46.
    final = agreement(project, "mapping", 1).reports["appropriate"]
    assert final.pairwise_kappa.mean == pytest.approx(0.36 / 0.46)
    # The first round ignores re-annotations: still 7 agreements of 10.
    assert agreement(project, "mapping", 1, round="first").reports["appropriate"].percent_agreement == \
        pytest.approx(0.7)


def test_agreement_includes_the_recognizer_as_one_more_rater(project):
    seed_two_annotators(project)
    recognizer = ["yes"] * 5 + ["no"] * 5
    project.record_labels([{"task": "mapping", "item_id": f"d{i}::u", "criterion": "appropriate", "label": label,
                            "annotator": RECOGNIZER, "round": MODEL, "codebook_version": 1,
                            "protocol_id": "mapping", "protocol_version": "1.0.0"}
                           for i, label in enumerate(recognizer)])
    model = agreement(project, "mapping", 1).reports["appropriate"].model
    # ann vs recognizer: agree on 0-3 (yes) and 5, 6, 9 (no): p_o = .7; p_e = .6*.5 + .4*.5 = .5; κ = .4
    assert {p.rater_a: p.kappa for p in model.pairs}["ann"] == pytest.approx(0.4)
    # bob vs recognizer: agree on 0-3 and 5-8: p_o = .8; p_e = .5*.5 + .5*.5 = .5; κ = .6
    assert {p.rater_a: p.kappa for p in model.pairs}["bob"] == pytest.approx(0.6)
    assert model.mean == pytest.approx(0.5)
    assert "recognizer" not in agreement(project, "mapping", 1).reports["appropriate"].raters


def test_four_annotators_mean_pairwise_kappa_and_fleiss(project):
    # 4 raters × 6 items (columns): u0 and u2 are 2–2 splits, u3 and u5 are 3–1, u1 and u4 unanimous.
    labels = {"a": "111100", "b": "110100", "c": "011000", "d": "010101"}
    for rater, row in labels.items():
        for i, value in enumerate(row):
            record(project, "code_quality", f"u{i}", "meaningful", value, rater, 2)
    report = agreement(project, "code_quality", 2).reports["meaningful"]
    from annotations.agreement import cohen_kappa, fleiss_kappa_from_counts
    pairs = [("a", "b"), ("a", "c"), ("a", "d"), ("b", "c"), ("b", "d"), ("c", "d")]
    expected = np.mean([cohen_kappa(list(labels[x]), list(labels[y])) for x, y in pairs])
    assert report.pairwise_kappa.mean == pytest.approx(expected)
    counts = np.array([[row.count("0"), row.count("1")] for row in
                       ("".join(labels[r][i] for r in "abcd") for i in range(6))])
    assert report.fleiss_kappa.kappa == pytest.approx(fleiss_kappa_from_counts(counts))
    assert report.fleiss_kappa.n_items == 6 and sorted(report.even_splits) == ["u0", "u2"]
    assert sorted(report.disagreements) == ["u0", "u2", "u3", "u5"]


# -------------------------------------------------------------------------- adjudication


def test_adjudication_is_blind_until_discussion_and_ends_in_a_consensus_with_a_note(project):
    seed_two_annotators(project)
    items = {i.item_id: i for i in adjudication_items(project, "mapping", "ann", 1)}
    assert sorted(items) == ["d7::u", "d8::u", "d9::u"]
    assert {i.status for i in items.values()} == {"re-label"} and all(i.labels is None for i in items.values())
    for item in items:
        record(project, "mapping", item, "appropriate", "yes", "ann", 1, round=REANNOTATION)
    waiting = adjudication_items(project, "mapping", "ann", 1)
    assert {i.status for i in waiting} == {"waiting"} and all(i.labels is None for i in waiting)
    assert {i.status for i in adjudication_items(project, "mapping", "bob", 1)} == {"re-label"}
    record(project, "mapping", "d7::u", "appropriate", "yes", "bob", 1, round=REANNOTATION)
    record(project, "mapping", "d8::u", "appropriate", "no", "bob", 1, round=REANNOTATION)
    record(project, "mapping", "d9::u", "appropriate", "yes", "bob", 1, round=REANNOTATION)
    after = {i.item_id: i for i in adjudication_items(project, "mapping", "bob", 1)}
    assert after["d7::u"].status == "resolved" and after["d8::u"].status == "discuss"
    assert after["d8::u"].labels == {"ann": "yes", "bob": "no"}  # revealed for the discussion
    record(project, "mapping", "d8::u", "appropriate", "no", "bob", 1, round=CONSENSUS, note="topic, not value")
    settled = {i.item_id: i for i in adjudication_items(project, "mapping", "ann", 1)}["d8::u"]
    assert settled.status == CONSENSUS and settled.consensus["note"] == "topic, not value"


# -------------------------------------------------------------------------------- renames


def test_accepted_renames_become_a_new_codebook_version_with_provenance(built_project):
    store = built_project
    version = store.latest_version()
    codebook = store.load_codebook(version)
    renamed, kept = codebook.codes[0], codebook.codes[1]
    for annotator, fit, better in (("ann", "0", "neighbourly help"), ("bob", "0", "neighbourly help"),
                                   ("cy", "1", None)):
        record(store, "code_quality", renamed.uid, "name_fit", fit, annotator, version)
        if better:
            record(store, "code_quality", renamed.uid, "better_name", better, annotator, version)
    # A better name without a majority against the current name is not accepted.
    record(store, "code_quality", kept.uid, "name_fit", "0", "ann", version)
    record(store, "code_quality", kept.uid, "name_fit", "1", "bob", version)
    record(store, "code_quality", kept.uid, "better_name", "something else", "ann", version)

    new = apply_renames(store, version, "ann")
    assert new is not None and new > version
    after = store.load_codebook(new)
    assert [c.uid for c in after.codes] == [c.uid for c in codebook.codes]
    assert after.codes[0].name == "neighbourly help"
    assert after.codes[0].name_source == "annotator:ann+bob (audit of v%d)" % version
    assert after.codes[1].name == kept.name
    assert np.array_equal(after.labels, codebook.labels) and np.array_equal(after.expression_ids,
                                                                            codebook.expression_ids)
    assert store.load_codebook(version).codes[0].name == renamed.name  # the audited version is unchanged
    row = [v for v in store.versions() if v["version"] == new][0]
    diff = json.loads(row["diff"])
    assert row["reason"] == "rename" and row["parent"] == version
    assert diff["rename"][0]["old"] == renamed.name and diff["rename"][0]["proposed_by"] == ["ann", "bob"]
    assert diff["rename"][0]["votes_not_fit"] == 2 and diff["rename"][0]["votes"] == 3
    assert len(diff["rename"][0]["label_ids"]) == 5 and diff["accepted_by"] == "ann"
    assert apply_renames(store, version, "bob") == new  # written once


def test_no_accepted_rename_writes_no_version(built_project):
    before = built_project.latest_version()
    assert apply_renames(built_project, before, "ann") is None
    assert built_project.latest_version() == before


# ------------------------------------------------------------------------------ decisions


def test_decide_records_the_decision_and_a_proposals_label(paused_build):
    store, status = paused_build
    waiting = status.proposal_ids
    split = next(p for p in store.proposals(waiting) if p["kind"] == "split")
    merge = next(p for p in store.proposals(waiting) if p["kind"] == "merge")
    decide(store, "ann", rename=[(split["id"], ["a", "b"])])
    with pytest.raises(WorkbenchError, match="merged code"):
        decide(store, "ann", rename=[(merge["id"], ["x"])])
    with pytest.raises(WorkbenchError, match="two non-blank names"):
        decide(store, "ann", rename=[(split["id"], ["only one"])])
    with pytest.raises(WorkbenchError, match="not waiting"):
        decide(store, "ann", approve=[store.proposals()[0]["id"]])  # of the finished build
    assert store.decisions_by("ann", [split["id"], merge["id"]])[split["id"]]["names"] == '["a", "b"]'
    labels = store.labels("proposals", viewer="ann")
    assert [(r["item_id"], r["label"], r["codebook_version"]) for r in labels] == [
        (str(split["id"]), "approve", split["version"])]
    with pytest.raises(WorkbenchError, match="undecided"):
        resume_payload(store, "ann", [split["id"], merge["id"]])
    decide(store, "ann", reject=[merge["id"]])
    payload = resume_payload(store, "ann", [split["id"], merge["id"]])
    assert payload[str(merge["id"])]["decision"] == "reject" and payload[str(split["id"])]["names"] == ["a", "b"]


# --------------------------------------------------------------------------------- export


def test_export_writes_every_label_row(project, tmp_path):
    seed_two_annotators(project)
    record(project, "mapping", "d1::u", "appropriate", "no", "ann", 1)  # a change is a new row
    path = tmp_path / "labels.csv"
    assert export_labels(project, path) == 21
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert len(rows) == 21 and rows[-1]["label"] == "no" and rows[-1]["annotator"] == "ann"
    assert set(rows[0]) >= {"task", "item_id", "criterion", "label", "annotator", "round", "codebook_version",
                            "protocol_version", "created_utc"}


def test_mapping_labels_made_on_a_paused_version_count_on_the_final_one_for_kept_codes(built_project):
    store = built_project
    paused, final, ids, labels, kept = label_a_paused_version(store)
    assert kept and set(labels) - kept  # some codes kept their uid, others were split or merged away
    humans_before = store.count("labels", "round != 'model'")
    mine = my_label_rows(store, "mapping", "ann", final)
    assert {item for item, _ in mine} == kept  # the labels of codes split/merged away do not carry
    assert all(r["carried_from"] == paused and r["codebook_version"] == paused for r in mine.values())
    assert my_labels(store, "mapping", "ann", final) == {(p, "appropriate"): labels[p] for p in kept}

    # the final version's sample reuses the paused one's documents and shows the kept pairs
    assert mapping_sample(store, final, size=len(ids)) == ids
    shown = {pair_id(item.document_id, code.uid) for item in mapping_items(store, final, ids) for code in item.codes}
    assert kept <= shown
    items = mapping_items(store, final, ids)
    done = [item.document_id for item in items
            if all((pair_id(item.document_id, c.uid), "appropriate") in mine for c in item.codes)]
    # documents whose every shown code kept its uid are done without relabelling (how many depends on
    # how the build changed the codebook; the count is checked against the rule, not a fixed number)
    assert done == [item.document_id for item in items if all(pair_id(item.document_id, c.uid) in kept
                                                              for c in item.codes)]

    result = agreement(store, "mapping", final)
    assert result.carried == {paused: 2 * len(kept)}
    assert result.reports["appropriate"].n_items == len(kept)
    assert result.as_dict()["carried_from"] == {str(paused): 2 * len(kept)}

    # read-time view: nothing was copied (only the recognizer's rows of the final sample were added)
    assert store.count("labels", "round != 'model'") == humans_before
    assert store.labels("mapping", viewer="ann", codebook_version=final) == []

    # a label made on the final version replaces the carried one
    item = sorted(kept)[0]
    other = "no" if labels[item] == "yes" else "yes"
    record(store, "mapping", item, "appropriate", other, "ann", final)
    row = my_label_rows(store, "mapping", "ann", final)[(item, "appropriate")]
    assert (row["label"], row["carried_from"], row["codebook_version"]) == (other, None, final)
    assert agreement(store, "mapping", final).carried == {paused: 2 * len(kept) - 1}


def test_a_code_the_annotators_disagree_on_is_the_only_unreliable_one(built_project):
    store = built_project
    version = store.latest_version()
    codes = [c.uid for c in store.codes_of(version)][:3]
    docs = [r[0] for r in store.db.execute("select id from documents where source = 'human' order by id limit 30")]
    rng = np.random.default_rng(5)
    for n, uid in enumerate(codes):
        for doc in docs:
            truth = "yes" if rng.random() < 0.5 else "no"
            other = truth if n != 1 else ("yes" if rng.random() < 0.5 else "no")  # code 1: bob guesses
            record(store, "mapping", pair_id(doc, uid), "appropriate", truth, "ana", version)
            record(store, "mapping", pair_id(doc, uid), "appropriate", other, "bob", version)
    result = agreement(store, "mapping", version)
    alphas = {u.unit: u for u in result.per_code["appropriate"]}
    assert set(alphas) == set(codes) and all(alphas[c].n_items == 30 for c in codes)
    assert alphas[codes[0]].alpha == pytest.approx(1.0) and alphas[codes[2]].alpha == pytest.approx(1.0)
    assert [u.unit for u in result.unreliable()["appropriate"]] == [codes[1]]
    data = result.as_dict()
    assert data["unreliable_codes"] == {"appropriate": [codes[1]]} and data["alpha_floor"] == 0.667
    out = CliRunner().invoke(main, ["agreement", str(store.path), "--task", "mapping"])
    assert out.exit_code == 0 and "1 whose 95 % interval lies below 0.667" in out.output
