"""A build that never bricks (#12): one checked path for every decision, a stored bad decision
re-decided instead of crashing ``apply``, unsplittable codes and rejected changes held back with
the reason, one running build per project (pid, node, start), and late reviewers told."""
from __future__ import annotations

import json
import os
import subprocess
import time

import numpy as np
import pytest
from click.testing import CliRunner

from workbench.build import steps as build_steps
from workbench.build import build_status, decide, holder_alive, resume_review, run_build
from workbench.build.context import BuildContext
from workbench.cli import main
from workbench.codebook.refine import evidence_changes
from workbench.errors import WorkbenchError
from workbench.llm.gateway import Gateway


@pytest.fixture
def paused(paused_build):
    return paused_build


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def of_kind(store, ids, kind):
    return [p["id"] for p in store.proposals(ids) if p["kind"] == kind]


def test_decide_refuses_what_apply_could_not_use(paused):
    store, status = paused
    split = of_kind(store, status.proposal_ids, "split")[0]
    merge = of_kind(store, status.proposal_ids, "merge")[0]
    for args, says in [(["--rename", split, "one name"], "two non-blank names"),
                       (["--rename", split, "a|b|c"], "two non-blank names"),
                       (["--rename", split, "a| "], "two non-blank names"),
                       (["--rename", split, "Thrift|thrift"], "different names"),
                       (["--rename", merge, "a|b"], "merged code"),
                       (["--approve", split, "--reject", split], "two decisions"),
                       (["--approve", split, "--by", "auto"], "reserved")]:
        result = cli("decide", store.path, *args, *([] if "--by" in args else ["--by", "ann"]))
        assert result.exit_code == 1 and says in result.output, (args, result.output)
        assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert store.count("decisions") == store.count("proposals") - len(status.proposal_ids)  # only the auto ones
    result = cli("decide", store.path, "--rename", split, " thrift | family care ", "--by", "ann")
    assert result.exit_code == 0, result.output
    assert json.loads(store.latest_decisions([split])[split]["names"]) == ["thrift", "family care"]
    assert [r["label"] for r in store.labels("proposals", viewer="ann")] == ["approve"]  # the TUI's label too


def test_a_stored_bad_decision_stops_apply_with_how_to_redecide(paused):
    store, status = paused
    split = of_kind(store, status.proposal_ids, "split")[0]
    store.record_decision(split, "edit", "ann", ["one name"])  # as the old ``decide`` stored it
    for pid in status.proposal_ids:
        if pid != split:
            store.record_decision(pid, "reject", "ann")
    for _ in range(2):  # every resume says the same one line, never an IndexError
        with pytest.raises(WorkbenchError, match=rf"proposal #{split} .*re-decide it with 'workbench decide"):
            run_build(store, show_progress=False)
    stuck = build_status(store)
    assert stuck.state == "interrupted" and stuck.next_nodes == ["apply"] and stuck.proposal_ids
    result = cli("build", store.path, "--quiet")
    assert result.exit_code == 1 and "re-decide" in result.output and "Traceback" not in result.output
    assert cli("decide", store.path, "--rename", split, "thrift|family care", "--by", "ann").exit_code == 0
    after = run_build(store, show_progress=False)
    assert after.state in ("paused", "finished")
    version = store.version_for(status.thread_id, 1, "apply")
    named = {c.name: c.name_source for c in store.load_codebook(version).codes}
    assert named["thrift"] == named["family care"] == "annotator:ann"
    assert store.proposals([split])[0]["status"] == "applied"


def test_a_code_of_one_repeated_sentence_is_not_proposed_for_a_split(built_project):
    store = built_project
    codebook = store.load_codebook()
    config = store.config().with_settings({"em.z_split": "-10"})  # every code over the median may split
    ctx = BuildContext(store, Gateway(store, config), config, "build-1", show_progress=False)
    labels = ctx.member_labels(codebook)
    big = max(codebook.codes, key=lambda c: int((labels == c.idx).sum()))
    ids = [int(ctx.corpus().expr_ids[i]) for i in np.flatnonzero(labels == big.idx)]
    store.db.execute(f"update expressions set text = (select text from expressions where id = ?) "
                     f"where id in ({','.join(map(str, ids))})", [ids[0]])  # a restated topic
    ctx = BuildContext(store, Gateway(store, config), config, "build-1", show_progress=False)
    history = {c.uid: [0.1, 0.1] for c in codebook.codes} | {big.uid: [0.9, 1.0]}
    update = build_steps.propose(ctx, {"version": codebook.version, "iteration": 99, "distortion_history": history})
    kinds = [(p["kind"], p["code_uid"]) for p in store.proposals(update["proposal_ids"])]
    assert ("split", big.uid) not in kinds
    assert any(f"split of '{big.name}' held back" in why and "same sentence" in why for why in update["held_back"])


def test_a_rejected_change_is_not_proposed_again_on_the_same_evidence(paused):
    store, status = paused
    rejected = {(p["kind"], p["code_uid"], p["target_uid"]): p["id"] for p in store.proposals(status.proposal_ids)}
    decide(store, "ann", reject=status.proposal_ids)
    beats, proposed = [], []

    def on_update(node, values):
        lock = store.build_lock()
        beats.append((node, lock["node"], lock["pid"], lock["by"]))
        if node == "propose":
            proposed.append(values)

    after = run_build(store, show_progress=False, on_update=on_update, by="ann")
    assert beats and all(node == beat and pid == os.getpid() and by == "ann" for node, beat, pid, by in beats)
    assert store.build_lock() is None  # released when the run ends
    again = [p for p in store.proposals(after.proposal_ids)
             if (p["kind"], p["code_uid"], p["target_uid"]) in rejected]
    for p in again:  # only with new evidence, saying which
        assert json.loads(p["evidence"])["changed_since_rejection"]["proposal"] in rejected.values()
    held = proposed[0]["held_back"]
    assert held and all("rejected as #" in why and "evidence has not changed" in why for why in held)
    assert len(held) + len(again) >= 1


def test_evidence_changes_name_what_moved():
    then = {"size": 12, "target_size": 30, "n_k": 4.0, "distortion_history": [0.5]}
    assert evidence_changes(then, {**then, "n_k": 4.2, "distortion_history": [0.5, 0.52]}) == {}
    assert evidence_changes(then, {**then, "size": 13, "n_k": 5.0}) == {"size": [12, 13], "n_k": [4.0, 5.0]}
    assert evidence_changes(then, {**then, "distortion_history": [0.5, 0.7]}) == {"distortion": [0.5, 0.7]}


@pytest.fixture
def live_pid():
    proc = subprocess.Popen(["sleep", "60"])
    yield proc
    proc.kill()
    proc.wait()


def hold(store, pid, node="reconstruct", by=None):
    assert store.claim_build_lock({"pid": pid, "token": "other", "node": node, "started": time.time(),
                                   "beat": time.time(), "by": by}, holder_alive) is None


def test_a_running_build_is_shown_and_a_second_one_refused(paused, live_pid):
    store, _ = paused
    hold(store, live_pid.pid)
    status = build_status(store)
    assert status.state == "running" and status.holder["pid"] == live_pid.pid
    shown = cli("status", store.path)
    assert f"running (pid {live_pid.pid}, node reconstruct, started" in shown.output and "interrupted" not in shown.output
    with pytest.raises(WorkbenchError, match=rf"running \(pid {live_pid.pid}, node reconstruct"):
        run_build(store, show_progress=False)
    refused = cli("build", store.path, "--quiet", "--restart")
    assert refused.exit_code == 1 and f"pid {live_pid.pid}" in refused.output
    assert cli("decide", store.path, "--approve-all", "--by", "ann").exit_code == 1  # nothing decided mid-run
    assert build_status(store).thread_id == status.thread_id and store.count("decisions", "decider = 'ann'") == 0
    live_pid.kill()
    live_pid.wait()  # like kill -9: the lock stays behind, its pid is dead
    assert build_status(store).state == "paused"
    assert run_build(store, auto_approve=True, show_progress=False).state in ("paused", "finished")
    assert store.build_lock() is None


def test_a_late_reviewer_is_told_which_decisions_were_not_applied(paused, live_pid):
    store, status = paused
    ids = status.proposal_ids
    decide(store, "ann", approve_all=True)
    decide(store, "bob", reject=ids)
    hold(store, live_pid.pid, node="review", by="ann")  # ann's resume is running
    with pytest.raises(WorkbenchError, match=r"running \(pid .*by ann\): your .* not applied"):
        resume_review(store, "bob", reviewed=ids)
    live_pid.kill()
    live_pid.wait()
    resume_review(store, "ann", reviewed=ids)
    with pytest.raises(WorkbenchError) as late:
        resume_review(store, "bob", reviewed=ids)
    message = str(late.value)
    assert "moved on" in message and "not applied" in message
    assert all(f"#{pid} you reject, build applied" in message for pid in ids)
    assert set(store.decisions_by("bob", ids)) == set(ids)  # kept for agreement and adjudication
