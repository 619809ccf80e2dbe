"""Roles enforced in the library (#25): an annotator labels their own items, a reviewer also
decides codebook changes, a lead also assigns, closes and reopens rounds, adjudicates and sees
everyone's labels; unknown and revoked names are refused everywhere; one rule for names. Every
(role × action) cell is walked through the library functions the CLI and the screens call."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from workbench.annotate.adjudication import adjudication_items
from workbench.annotate.agreement import agreement
from workbench.annotate.annotators import add_annotator, annotators, revoke_annotator, set_role
from workbench.annotate.assignments import assign, visible_items
from workbench.annotate.label_files import export_scope, import_labels
from workbench.annotate.labels import label_row, record
from workbench.annotate.roles import sees_labels
from workbench.annotate.rounds import close_round, reopen_round
from workbench.annotate.sampling import code_quality_sample
from workbench.annotate.tasks import CONSENSUS, REANNOTATION
from workbench.build import decide, review_queue
from workbench.cli import main
from workbench.build.decisions import REVIEW
from workbench.errors import WorkbenchError
from test_annotate_rounds import label_code, small_codebook

TASK = "code_quality"
TEAM = {"ana": "annotator", "ben": "annotator", "rev": "reviewer", "lea": "lead"}


def team_round(store) -> tuple[int, dict[str, list[str]]]:
    """A code-quality round on a 12-code codebook shared out to ana and ben (6 codes each, none
    shared), each labelling their first code differently from... themselves; rev and lea assigned nothing."""
    version = small_codebook(store)
    for name, role in TEAM.items():
        add_annotator(store, name, "http://x", role)
    shares = assign(store, TASK, ["ana", "ben"], per_annotator=6, seed=1, by="lea").items
    return version, shares


def review_proposal(store, version: int, uid: str = "uid00") -> int:
    """A pending review proposal of one code (as propose_reviews stores it), decidable by 'keep'."""
    evidence = {"name": "code 0", "criterion": "appropriate", "alpha": 0.1, "ci": [0.0, 0.2], "floor": 0.667,
                "disagreements": [{"document_id": "d1", "labels": {"ana": "yes", "ben": "no"}, "excerpt": "…"}]}
    return store.save_proposals([{"thread_id": f"review:{uid}", "iteration": 0, "version": version, "kind": REVIEW,
                                  "code_uid": uid, "target_uid": None, "names": "[]", "names_source": None,
                                  "evidence": json.dumps(evidence)}])[0]


def attempt(fn, *args, **kwargs) -> bool:
    """True when the library lets the call through, False when it refuses it (with one line)."""
    try:
        fn(*args, **kwargs)
    except WorkbenchError as exc:
        assert "\n" not in str(exc)
        return False
    return True


def shown(fn) -> bool:
    """True when ``fn`` shows something (a true or non-empty answer), False when it shows nothing
    or refuses the viewer."""
    try:
        return bool(fn())
    except WorkbenchError:
        return False


# (action, the roles it is allowed to); run in this order on one project per role
ALLOWED = {
    "label an assigned item": {"annotator", "reviewer", "lead"},
    "label an item assigned to another": {"lead"},
    "decide a codebook change": {"reviewer", "lead"},
    "see the Changes queue": {"reviewer", "lead"},
    "assign a round": {"lead"},
    "record a consensus label": {"lead"},
    "see other annotators' labels while the round is open": {"lead"},
    "see adjudication items of others": {"lead"},
    "see the text of unassigned items": {"lead"},
    "see agreement figures from others' labels while the round is open": {"lead"},
    "export everyone's labels": {"lead"},
    "import labels": {"lead"},
    "close a round": {"lead"},
    "reopen a round": {"lead"},
}


@pytest.mark.parametrize("role", ["annotator", "reviewer", "lead", "unknown", "revoked"])
def test_every_role_may_do_what_its_role_allows_and_nothing_more(project, role):
    version, shares = team_round(project)
    ours, theirs = shares["ana"], shares["ben"]
    name = {"annotator": "ana", "reviewer": "rev", "lead": "lea", "unknown": "dan", "revoked": "ana"}[role]
    if role == "reviewer":  # a reviewer who labels has items of their own
        shares = assign(project, TASK, ["ana", "ben", "rev"], per_annotator=4, seed=1, by="lea").items
        ours, theirs = shares["rev"], shares["ben"]
    label_code(project, theirs[0], "ben", version, ("1", "1", "1"))
    project.record_labels([label_row(TASK, theirs[0], "meaningful", "0", "cem", version)])  # disagreeing with ben
    if role == "revoked":
        revoke_annotator(project, "ana")
    sheet = project.path.with_name("sheet.csv")  # one label of ben's, to import
    sheet.write_text(f"task,item_id,criterion,label,annotator,codebook_version\n{TASK},{theirs[2]},meaningful,1,ben,"
                     f"{version}\n")
    done = {
        "label an assigned item": attempt(record, project, TASK, ours[0], "meaningful", "1", name, version),
        "label an item assigned to another": attempt(record, project, TASK, theirs[1], "meaningful", "1", name,
                                                     version),
        "decide a codebook change": attempt(decide, project, name, review=[(review_proposal(project, version),
                                                                            "keep", [])]),
        "see the Changes queue": attempt(review_queue, project, name),
        "assign a round": attempt(assign, project, TASK, ["ana", "ben"], overlap=2, by=name),
        "record a consensus label": attempt(record, project, TASK, theirs[0], "meaningful", "1", name, version,
                                            round=CONSENSUS, note="settled"),
        "see other annotators' labels while the round is open": shown(
            lambda: sees_labels(project, name, TASK, version)),
        "see adjudication items of others": shown(
            lambda: [i for i in adjudication_items(project, TASK, name, version) if name not in i.raters]),
        "see the text of unassigned items": shown(
            lambda: set(visible_items(project, TASK, version, name, code_quality_sample(project, version)))
            & set(theirs)),
        "see agreement figures from others' labels while the round is open": shown(
            lambda: not agreement(project, TASK, version, viewer=name).blind),
        "export everyone's labels": shown(lambda: export_scope(project, name) is None),
        "import labels": attempt(import_labels, project, sheet, by=name),
        "close a round": attempt(close_round, project, TASK, name),
        "reopen a round": attempt(reopen_round, project, TASK, name),
    }
    allowed = {action for action, roles in ALLOWED.items() if role in roles}
    assert {action for action, ok in done.items() if ok} == allowed


def test_labels_are_shown_to_all_once_the_lead_closes_the_round(project):
    version, _ = team_round(project)
    assert sees_labels(project, "ana", TASK, version) is False and sees_labels(project, "lea", TASK, version)
    close_round(project, TASK, "lea")
    assert sees_labels(project, "ana", TASK, version)  # adjudication: the closed round's labels are shown


def test_decide_by_refuses_an_annotator_with_one_line_and_writes_nothing(project):
    version, _ = team_round(project)
    pid = review_proposal(project, version)
    out = CliRunner().invoke(main, ["decide", str(project.path), "--keep", str(pid), "--by", "ana"])
    assert out.exit_code == 1 and "Traceback" not in out.output
    assert out.output.strip().splitlines() == [
        "Error: ana is an annotator: deciding codebook changes needs the reviewer or lead role "
        "('workbench annotators PROJECT role ana reviewer' gives it)"]
    assert project.count("decisions") == 0 and project.proposals([pid])[0]["status"] == "pending"
    assert decide(project, "Rev", review=[(pid, "keep", [])]).ids
    assert [r["decider"] for r in project.db["decisions"].rows] == ["rev"]  # stored as registered


def test_a_project_without_annotators_is_one_analysts_and_keeps_todays_behaviour(project):
    version = small_codebook(project)
    shares = assign(project, TASK, ["ann", "bob"], overlap=2).items
    label_code(project, shares["ann"][0], "ann", version)
    assert decide(project, "anyone", review=[(review_proposal(project, version), "keep", [])]).ids
    assert close_round(project, TASK, "ann")["closed_by"] == "ann"


def test_one_rule_for_names_unknown_ones_refused_everywhere(project):
    version = small_codebook(project)
    for bad, message in (("lea,ben", "not an annotator name"), ("../x", "not an annotator name"),
                         ("a b", "not an annotator name"), ("", "name is empty"), ("-x", "not an annotator name"),
                         ("recognizer", "reserved")):
        with pytest.raises(WorkbenchError, match=message):
            add_annotator(project, bad, "http://x")
    add_annotator(project, "zoë", "http://x", "lead")
    add_annotator(project, "ana.k_2-b", "http://x")
    with pytest.raises(WorkbenchError, match="'Ana.K_2-b' is 'ana.k_2-b' already"):
        add_annotator(project, "Ana.K_2-b", "http://x")
    with pytest.raises(WorkbenchError, match="'ZOË' is 'zoë' already"):
        add_annotator(project, "ZOË", "http://x")
    with pytest.raises(WorkbenchError, match="no annotator 'dan'.*annotators PROJECT add dan"):
        assign(project, TASK, ["ana.k_2-b", "dan"], overlap=2, by="zoë")
    assert project.count("assignments") == 0
    with pytest.raises(WorkbenchError, match="say who is assigning a round: --by NAME"):
        assign(project, TASK, ["ana.k_2-b", "zoë"], overlap=2)
    done = assign(project, TASK, ["ANA.K_2-B", "Zoë"], overlap=2, by="ZOË")
    assert set(done.items) == {"ana.k_2-b", "zoë"}  # stored as registered
    with pytest.raises(WorkbenchError, match="no annotator 'dan'"):
        record(project, TASK, done.items["zoë"][0], "meaningful", "1", "dan", version)
    with pytest.raises(WorkbenchError, match="no annotator 'dan'"):
        close_round(project, TASK, "dan")
    with pytest.raises(WorkbenchError, match="no annotator 'dan'"):
        set_role(project, "dan", "lead")
    with pytest.raises(WorkbenchError, match="unknown role 'boss'"):
        set_role(project, "zoë", "boss")
    labels_file = project.path.with_name("labels.csv")
    labels_file.write_text(f"task,item_id,criterion,label,annotator,codebook_version\n"
                           f"{TASK},{done.items['zoë'][0]},meaningful,1,Zoë,{version}\n"
                           f"{TASK},{done.items['zoë'][0]},meaningful,1,dan,{version}\n")
    with pytest.raises(WorkbenchError, match="labels.csv, line 3: no annotator 'dan'"):
        import_labels(project, labels_file, by="zoë")
    assert project.count("labels") == 0
    assert set_role(project, "ANA.k_2-b", "reviewer") == "ana.k_2-b"
    assert {(a.name, a.role) for a in annotators(project)} == {("zoë", "lead"), ("ana.k_2-b", "reviewer")}


def test_annotators_cli_takes_a_role_and_refuses_a_bad_name_or_base_url_in_one_line(project):
    run = CliRunner()
    out = run.invoke(main, ["annotators", str(project.path), "add", "lea", "--role", "lead"])
    assert out.exit_code == 0 and "(lead;" in out.output
    for args, says in ((["add", "lea,ben"], "not an annotator name"),
                       (["add", ""], "name is empty"),
                       (["add", "ben", "--base-url", "label.example.org"], "give http://HOST:PORT or https://HOST"),
                       (["add", "ben", "--base-url", "ftp://x"], "not a web address"),
                       (["add", "ben", "--role", "boss"], "Invalid value for '--role'")):
        out = run.invoke(main, ["annotators", str(project.path), *args])
        assert out.exit_code != 0 and says in out.output and "Traceback" not in out.output, args
        assert "--annotator" not in out.output  # no flag this command lacks
    assert [a.name for a in annotators(project)] == ["lea"]
    assert run.invoke(main, ["annotators", str(project.path), "role", "LEA", "reviewer"]).output == \
        "lea is now reviewer\n"
    assert "lea                  reviewer" in run.invoke(main, ["annotators", str(project.path), "list"]).output


def test_adjudication_goes_on_after_the_round_is_closed_to_first_labels(project):
    version, shares = team_round(project)
    item = shares["ana"][0]
    label_code(project, item, "ana", version, ("1", "1", "1"))
    record(project, TASK, item, "meaningful", "0", "lea", version)
    close_round(project, TASK, "lea")
    with pytest.raises(WorkbenchError, match="takes no more labels"):
        record(project, TASK, shares["ana"][1], "meaningful", "1", "ana", version)
    (waiting,) = [i for i in adjudication_items(project, TASK, "ana", version) if i.criterion == "meaningful"]
    assert waiting.status == "re-label" and waiting.labels is None
    record(project, TASK, item, "meaningful", "1", "ana", version, round=REANNOTATION)
    record(project, TASK, item, "meaningful", "0", "lea", version, round=REANNOTATION)
    record(project, TASK, item, "meaningful", "1", "lea", version, round=CONSENSUS, note="discussed")
    (settled,) = [i for i in adjudication_items(project, TASK, "ana", version) if i.criterion == "meaningful"]
    assert settled.status == CONSENSUS and settled.labels == {"ana": "1", "lea": "0"}


def test_while_the_round_is_open_an_annotator_neither_sees_disagreements_nor_re_annotates_nor_votes(project):
    version, shares = team_round(project)
    item = shares["ana"][0]
    label_code(project, item, "ana", version, ("1", "1", "1"))
    record(project, TASK, item, "meaningful", "0", "lea", version)  # a disagreement with ana
    assert adjudication_items(project, TASK, "ana", version) == []  # it would say what lea answered
    assert [i.item_id for i in adjudication_items(project, TASK, None, version)] == [item]  # the lead's view
    with pytest.raises(WorkbenchError, match="re-annotation starts when the lead closes it"):
        record(project, TASK, item, "meaningful", "1", "ana", version, round=REANNOTATION)
    pid = review_proposal(project, version)
    with pytest.raises(WorkbenchError, match="ana is an annotator: deciding codebook changes"):
        record(project, "proposals", str(pid), "decision", "approve", "ana", None)
    close_round(project, TASK, "lea")
    assert [i.item_id for i in adjudication_items(project, TASK, "ana", version)] == [item]


# ------------------------------------------------------------------------------ review quorum


def test_a_quorum_carries_out_a_change_only_when_enough_reviewers_agree_and_a_lead_settles_the_rest(project):
    from workbench.build import resume_payload
    from workbench.report.html import _changes
    from workbench.report.qdpx import build_project

    version, _ = team_round(project)
    add_annotator(project, "rui", "http://x", "reviewer")
    project.save_config(project.config().with_settings({"review.quorum": "2"}))
    agreed, split = review_proposal(project, version, "uid00"), review_proposal(project, version, "uid01")

    first = decide(project, "rev", review=[(agreed, "keep", [])])
    assert first.applied == {} and first.votes[agreed].startswith("waiting (rev keep")
    assert project.proposals([agreed])[0]["status"] == "pending"
    second = decide(project, "rui", review=[(agreed, "keep", [])])
    assert second.applied == {agreed: None} and project.proposals([agreed])[0]["status"] == "kept"

    decide(project, "rev", review=[(split, "keep", [])])
    differing = decide(project, "rui", review=[(split, "rename", ["Civic voice"])])
    assert differing.applied == {} and differing.votes[split] == "to the lead (rev keep, rui rename → Civic voice)"
    with pytest.raises(WorkbenchError, match=r"review.quorum is 2: not settled yet: #\d+ to the lead"):
        resume_payload(project, "rev", [split])
    assert decide(project, "lea", review=[(split, "keep", [])]).applied == {split: None}  # the lead settles it
    assert resume_payload(project, "rev", [split])[str(split)]["decider"] == "lea"

    # every vote with who and when: in the report's changes table and in the .qdpx notes
    rows = {r["id"]: r for r in _changes(project)[0]}
    assert rows[split]["votes"].startswith("rev keep (") and "rui rename → Civic voice (" in rows[split]["votes"]
    assert "lea keep (" in rows[split]["votes"]
    qde = build_project(project, version)[0]
    assert f'name="decisions on review #{split} of \'code 0\'"' in qde
    assert "rui rename → Civic voice (20" in qde and "Z), lea keep (" in qde


def test_quorum_one_keeps_todays_behaviour_one_reviewer_decides(project):
    version, _ = team_round(project)
    pid = review_proposal(project, version)
    assert decide(project, "rev", review=[(pid, "keep", [])]).applied == {pid: None}


def test_round_commands_name_their_round_or_refuse_listing_the_open_ones(project):
    version, shares = team_round(project)
    newer = project.save_codebook("t2", 1, "init", None, project.load_codebook(version).codes, np.array([], int),
                                  np.array([], int), {}, "h", "e")  # a later version that no one labels yet
    assert newer > version
    out = CliRunner().invoke(main, ["round", "close", str(project.path), "--task", TASK, "--by", "lea"])
    assert out.exit_code == 0 and f"round on codebook v{version} is closed" in out.output  # not the latest
    assign(project, TASK, ["ana", "ben"], overlap=2, by="lea")  # the latest version's round, as before
    out = CliRunner().invoke(main, ["round", "reopen", str(project.path), "--task", TASK, "--by", "lea"])
    assert out.exit_code == 0 and f"round on codebook v{version} is open again" in out.output
    out = CliRunner().invoke(main, ["round", "close", str(project.path), "--task", TASK, "--by", "lea"])
    assert out.exit_code == 1 and out.output.strip() == (
        f"Error: 2 open {TASK} rounds (v{version}, v{newer}): name one with --codebook-version")
    with pytest.raises(WorkbenchError, match=f"no closed {TASK} round"):
        reopen_round(project, TASK, "lea")
    with pytest.raises(WorkbenchError, match=f"there is no {TASK} round on codebook v99"):
        close_round(project, TASK, "lea", 99)
    with pytest.raises(WorkbenchError, match="ana is an annotator: closing or reopening a round needs the lead"):
        close_round(project, TASK, "ana", newer)
    assert close_round(project, TASK, "lea", newer)["codebook_version"] == newer
    record(project, TASK, shares["ana"][0], "meaningful", "1", "ana", version)  # v{version} is open again


# ------------------------------------------------------------------------------ label files, re-annotation, agreement


def test_label_files_need_the_lead_once_the_project_has_annotators_an_annotator_exports_their_own(project, tmp_path):
    from workbench.annotate.label_files import export_labels

    version, shares = team_round(project)
    label_code(project, shares["ana"][0], "ana", version)
    label_code(project, shares["ben"][0], "ben", version)
    every = tmp_path / "every.csv"
    with pytest.raises(WorkbenchError, match=r"say who is exporting labels: --by NAME \(a lead exports every label"):
        export_labels(project, every)
    assert not every.exists()
    assert export_labels(project, every, by="LEA") == 6  # a lead: everyone's
    assert export_labels(project, tmp_path / "ana.csv", by="ana") == 3  # an annotator: their own only
    assert {line.split(",")[5] for line in (tmp_path / "ana.csv").read_text().splitlines()[1:]} == {"ana"}
    assert export_labels(project, tmp_path / "rev.csv", by="rev") == 0  # a reviewer too: no one else's
    with pytest.raises(WorkbenchError, match="no annotator 'dan'"):
        export_labels(project, tmp_path / "dan.csv", by="dan")

    project.db.execute("delete from labels")
    for by, says in ((None, "say who is importing labels: --by NAME"),
                     ("ana", "ana is an annotator: importing labels needs the lead role"),
                     ("rev", "rev is a reviewer: importing labels needs the lead role")):
        with pytest.raises(WorkbenchError, match=says):
            import_labels(project, every, by=by)
        assert project.count("labels") == 0
    assert import_labels(project, every, by="lea").imported == 6

    run = CliRunner()
    out = run.invoke(main, ["labels", str(project.path), "--export", str(tmp_path / "x.csv")])
    assert out.exit_code == 1 and out.output.strip().splitlines() == [
        "Error: say who is exporting labels: --by NAME (a lead exports every label, anyone else their own)"]
    out = run.invoke(main, ["labels", str(project.path), "--export", str(tmp_path / "x.csv"), "--by", "ben"])
    assert out.exit_code == 0 and out.output == f"exported 3 label rows (ben's own) to {tmp_path / 'x.csv'}\n"
    out = run.invoke(main, ["labels", str(project.path), "--import", str(every), "--by", "ben"])
    assert out.exit_code == 1 and out.output.strip().splitlines() == [
        "Error: ben is an annotator: importing labels needs the lead role "
        "('workbench annotators PROJECT role ben lead' gives it)"]


def test_after_the_round_closes_only_an_items_first_round_raters_re_annotate_it(project):
    from workbench.annotate.agreement import ratings

    version, shares = team_round(project)
    item = shares["ana"][0]
    assert item not in shares["ben"]
    record(project, TASK, item, "meaningful", "1", "ana", version)
    record(project, TASK, item, "meaningful", "0", "lea", version)  # a disagreement of ana and lea
    close_round(project, TASK, "lea")
    for name in ("ben", "rev"):  # neither rated the item: their word on it must not count
        with pytest.raises(WorkbenchError, match=f"{name} did not label {item!r} .* in the first round: only its "
                                                 "raters re-annotate it"):
            record(project, TASK, item, "meaningful", "1", name, version, round=REANNOTATION)
    record(project, TASK, item, "meaningful", "0", "ana", version, round=REANNOTATION)  # a rater may
    assert ratings(project, TASK, "meaningful", version) == {item: {"ana": "0", "lea": "0"}}
    # a row written around record (an old project, a hand-made file) does not count either
    project.record_labels([label_row(TASK, item, "meaningful", "1", "ben", version, REANNOTATION)])
    assert ratings(project, TASK, "meaningful", version) == {item: {"ana": "0", "lea": "0"}}


def test_an_annotator_sees_no_agreement_figure_from_others_labels_while_the_round_is_open(project):
    version, shares = team_round(project)
    shares = assign(project, TASK, ["ana", "ben"], overlap=2, seed=1, by="lea").items
    for uid in shares["ana"][:4]:
        record(project, TASK, uid, "meaningful", "1", "ana", version)
        record(project, TASK, uid, "meaningful", "0", "ben", version)
    lead = agreement(project, TASK, version, viewer="lea")
    assert not lead.blind and lead.reports["meaningful"].raters == ["ana", "ben"]
    assert len(lead.reports["meaningful"].disagreements) == 4
    for viewer in ("ana", "rev"):
        blind = agreement(project, TASK, version, viewer=viewer)
        report = blind.reports["meaningful"]
        assert blind.blind and blind.as_dict()["blind"] is True
        assert report.raters == (["ana"] if viewer == "ana" else [])  # their own labels only
        assert report.pairwise_kappa.pairs == [] and report.disagreements == []
    assert agreement(project, TASK, version).blind is False  # no viewer: the lead's (the CLI's) view
    close_round(project, TASK, "lea")
    opened = agreement(project, TASK, version, viewer="ana")  # adjudication: the panel's figures
    assert not opened.blind and len(opened.reports["meaningful"].disagreements) == 4


def test_an_export_that_cannot_be_written_is_one_line_naming_the_file(project, tmp_path):
    (tmp_path / "afile").write_text("not a folder")
    target = tmp_path / "afile" / "labels.csv"
    result = CliRunner().invoke(main, ["labels", str(project.path), "--export", str(target)])
    assert result.exit_code == 1 and "Traceback" not in result.output and result.exception is not None
    assert isinstance(result.exception, SystemExit), result.exception
    assert f"{target}: cannot write the labels" in result.output
