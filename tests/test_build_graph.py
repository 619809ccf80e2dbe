"""The codebook loop as a LangGraph graph: iterations, versions, the review pause and resume."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import TEST_SEED
from workbench.build import build_status, run_build

ROOT = Path(__file__).resolve().parents[1]


def test_auto_approved_build_keeps_every_version_iteration_and_decision(built_project):
    store = built_project
    iterations = store.iterations()
    assert [r["iteration"] for r in iterations] == [1, 2, 3, 4]  # T = 3 refinements, then C^3 is scored
    assert all(r["decoder"] == "offline-latent-v1" and r["S_low"] <= r["S"] <= r["S_high"] for r in iterations)
    versions = store.versions()
    assert versions[0]["reason"] == "init"
    applied = [v for v in versions if v["reason"] == "apply"]
    assert len(applied) == 3  # T = 3 means three refinements
    for v in applied:
        diff = json.loads(v["diff"])
        assert v["parent"] == v["version"] - 1 and diff["K_after"] == v["K"]
        assert diff["K_after"] == diff["K_before"] + len(diff["split"]) - len(diff["merge"])
    proposals = store.proposals()
    assert proposals and {p["status"] for p in proposals} == {"applied"}
    decisions = store.latest_decisions([p["id"] for p in proposals])
    assert {d["decider"] for d in decisions.values()} == {"auto"}
    summary = json.loads(store.db.execute("select summary from build_summaries").fetchone()[0])
    assert summary["final_version"] == store.latest_version()
    assert summary["stop_reason"] == "made T = 3 refinements"
    assert [h["K"] for h in summary["iterations"]] == [r["K"] for r in iterations]
    # every code of every version is named, with its provenance
    assert store.count("codes", "name is null or name_source is null") == 0


def test_the_real_rules_pause_on_well_formed_proposals_or_finish_and_resume_goes_on(built_project):
    """Whatever UMAP/HDBSCAN give on this machine and seed: the paper's split/merge rules either
    propose nothing (the build finishes, converged) or pause on proposals that name codes of the
    paused version, with their evidence, two distinct names per split and an existing other code
    as each merge's target; rejecting them all resumes to the next pause or the end."""
    store = built_project
    store.save_config(store.config().with_settings({"em.iterations": "2"}))
    status = run_build(store, restart=True, show_progress=False)
    for _ in range(3):
        if status.state == "finished":
            assert status.stop_reason
            break
        assert status.state == "paused" and status.proposal_ids == status.undecided
        uids = {c.uid for c in store.load_codebook(status.version).codes}
        for p in store.proposals(status.proposal_ids):
            evidence = json.loads(p["evidence"])
            assert p["version"] == status.version and p["code_uid"] in uids and p["status"] == "pending"
            assert {"n_k", "z", "distortion_history", "size", "name"} <= set(evidence)
            if p["kind"] == "split":
                names = json.loads(p["names"])
                assert p["target_uid"] is None and len(names) == 2 and names[0] != names[1]
            else:
                assert p["kind"] == "merge" and p["target_uid"] in uids - {p["code_uid"]}
        before = status.proposal_ids
        status = run_build(store, resume={str(pid): {"decision": "reject", "decider": "ana"} for pid in before},
                           show_progress=False)
        assert {p["status"] for p in store.proposals(before)} == {"rejected"}
    else:
        pytest.fail("em.iterations = 2 ends the build within three reviews")


def test_the_built_fixtures_take_the_test_seed(built_project):
    config = built_project.config()
    assert config.em.seed == config.alignment.seed == TEST_SEED  # WORKBENCH_TEST_SEED, 0 by default


def test_split_halves_carry_their_proposed_names(built_project):
    store = built_project
    splits = [p for p in store.proposals() if p["kind"] == "split"]
    assert len(splits) == 3, "the template build splits once per refinement (forced_changes)"
    for p in splits:
        names = json.loads(p["names"])
        child = store.db.execute("select count(*) from codes c join codebook_versions v on v.version = c.version "
                                 "where v.iteration = ? and v.reason = 'apply' and c.name in (?, ?)",
                                 [p["iteration"], *names]).fetchone()[0]
        assert len(names) == 2 and child >= 1


def test_review_pauses_and_a_fresh_process_resumes_with_decisions(built_project, forced_proposals):
    store = built_project
    store.save_config(store.config().with_settings({"em.iterations": "2"}))
    status = run_build(store, restart=True, show_progress=False)  # a split and a merge (forced_changes)
    assert status.state == "paused" and len(status.proposal_ids) == 2 and status.undecided == status.proposal_ids
    assert all(p["status"] == "pending" for p in store.proposals(status.proposal_ids))
    approve, reject = status.proposal_ids[0], status.proposal_ids[1:]
    paused_version = status.version
    rejected_uids = {p["code_uid"] for p in store.proposals(reject)}

    decisions = {str(approve): {"decision": "approve", "decider": "ana"},
                 **{str(r): {"decision": "reject", "decider": "ben"} for r in reject}}
    script = ("import json, sys; from workbench.build import run_build; from workbench.store import open_project; "
              "s = run_build(open_project(sys.argv[1]), resume=json.loads(sys.argv[2]), show_progress=False); "
              "print(s.state)")
    done = subprocess.run([sys.executable, "-c", script, str(store.path), json.dumps(decisions)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]

    after = build_status(store)
    assert after.state in ("paused", "finished") and done.stdout.strip().endswith(after.state)
    statuses = {p["id"]: p["status"] for p in store.proposals(status.proposal_ids)}
    assert statuses[approve] == "applied" and all(statuses[r] == "rejected" for r in reject)
    recorded = store.latest_decisions(status.proposal_ids)
    assert recorded[approve]["decider"] == "ana" and all(recorded[r]["decider"] == "ben" for r in reject)
    next_version = store.version_for(status.thread_id, 1, "apply")
    assert next_version is not None and next_version > paused_version
    kept_uids = {r[0] for r in store.db.execute("select uid from codes where version = ?", [next_version])}
    assert rejected_uids <= kept_uids  # a rejected split/merge left its code untouched
