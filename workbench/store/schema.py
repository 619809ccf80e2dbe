"""Schema migrations of the project store, applied in order and never rewritten.

Add a new ``_mN`` function and append it to ``MIGRATIONS``; never change a released one.
"""
from __future__ import annotations

import sqlite_utils


def _m1(db: sqlite_utils.Database) -> None:
    db["groups"].create({"name": str, "description": str}, pk="name")
    db["topics"].create({"id": int, "text": str}, pk="id")
    db["topics"].create_index(["text"], unique=True)
    db["imports"].create(
        {"id": int, "file": str, "sha256": str, "options": str, "rows": int, "created": float}, pk="id"
    )
    db["documents"].create(
        {
            "id": str,
            "group_name": str,
            "topic_id": int,
            "source": str,
            "language": str,
            "text": str,
            "truncated": int,
            "import_id": int,
        },
        pk="id",
        foreign_keys=[("group_name", "groups", "name"), ("topic_id", "topics", "id"), ("import_id", "imports", "id")],
    )
    db["documents"].create_index(["group_name", "source"])
    db["gold_labels"].create(
        {"document_id": str, "category": str, "value": int}, pk=("document_id", "category"),
        foreign_keys=[("document_id", "documents", "id")],
    )
    db["extractions"].create(
        {"document_id": str, "strategy": str, "prompt_version": str, "status": str, "n_expressions": int,
         "error": str, "created": float},
        pk="document_id", foreign_keys=[("document_id", "documents", "id")],
    )
    db["expressions"].create(
        {"id": int, "document_id": str, "position": int, "text": str, "code_name": str, "score": float,
         "strategy": str},
        pk="id", foreign_keys=[("document_id", "documents", "id")],
    )
    db["expressions"].create_index(["document_id", "position"], unique=True)
    db["embeddings"].create(
        {"model": str, "text_hash": str, "dim": int, "vector": bytes}, pk=("model", "text_hash")
    )
    db["runs"].create(
        {"id": int, "command": str, "config_hash": str, "started": float, "finished": float, "stats": str}, pk="id"
    )
    db["llm_calls"].create(
        {
            "id": int,
            "cache_key": str,
            "role": str,
            "model": str,
            "base_url": str,
            "prompt_name": str,
            "prompt_hash": str,
            "params": str,
            "request": str,
            "response": str,
            "tokens_in": int,
            "tokens_out": int,
            "latency_ms": float,
            "error": str,
            "run_id": int,
            "created": float,
        },
        pk="id",
    )
    db["llm_calls"].create_index(["cache_key"])


def _m2(db: sqlite_utils.Database) -> None:
    """The codebook loop: versions, codes, memberships, iterations, proposals and decisions."""
    db["codebook_versions"].create(
        {"version": int, "thread_id": str, "iteration": int, "parent": int, "reason": str, "diff": str,
         "config_hash": str, "embedder": str, "created": float},
        pk="version",
    )
    db["codebook_versions"].create_index(["thread_id", "iteration", "reason"], unique=True)
    db["codes"].create(
        {"version": int, "idx": int, "uid": str, "name": str, "name_source": str, "description": str,
         "size": int, "centroid": bytes},
        pk=("version", "idx"), foreign_keys=[("version", "codebook_versions", "version")],
    )
    db["code_members"].create(
        {"version": int, "expression_id": int, "idx": int}, pk=("version", "expression_id"),
    )
    db["em_iterations"].create(
        {"thread_id": str, "iteration": int, "version": int, "K": int, "S": float, "S_low": float, "S_high": float,
         "distortion": float, "doc_entropy": float, "usage_entropy": float, "n_docs": int, "n_reconstructed": int,
         "decoder": str, "per_code": str, "created": float},
        pk=("thread_id", "iteration"),
    )
    db["proposals"].create(
        {"id": int, "thread_id": str, "iteration": int, "version": int, "kind": str, "code_uid": str,
         "target_uid": str, "names": str, "names_source": str, "evidence": str, "status": str, "created": float},
        pk="id",
    )
    db["proposals"].create_index(["thread_id", "iteration", "kind", "code_uid"], unique=True)
    db["decisions"].create(
        {"id": int, "proposal_id": int, "decision": str, "names": str, "decider": str, "note": str,
         "decided_at": float},
        pk="id", foreign_keys=[("proposal_id", "proposals", "id")],
    )
    db["build_summaries"].create({"thread_id": str, "version": int, "summary": str, "created": float},
                                 pk="thread_id")


def _m3(db: sqlite_utils.Database) -> None:
    """Annotation: stable samples per task and append-only labels (a label is never overwritten;
    the latest row per (task, item, criterion, annotator, round) counts)."""
    db["annotation_samples"].create(
        {"id": int, "task": str, "item_id": str, "position": int, "codebook_version": int, "protocol_version": str,
         "created": float},
        pk="id",
    )
    db["annotation_samples"].create_index(["task", "codebook_version", "item_id"], unique=True)
    db["labels"].create(
        {"id": int, "task": str, "item_id": str, "criterion": str, "label": str, "annotator": str,
         "round": str, "codebook_version": int, "protocol_id": str, "protocol_version": str, "note": str,
         "created": float},
        pk="id",
    )
    db["labels"].create_index(["task", "item_id", "criterion", "annotator"])


def _m4(db: sqlite_utils.Database) -> None:
    """Survey baseline: imported surveys and simulated responses (one row per respondent × question)."""
    db["surveys"].create({"id": int, "name": str, "file": str, "sha256": str, "definition": str, "warnings": str,
                          "created": float}, pk="id")
    db["survey_responses"].create(
        {"id": int, "survey_id": int, "run_name": str, "model": str, "country": str, "respondent": int,
         "question_id": str, "city": str, "params": str, "prompt": str, "raw": str, "parsed": str, "valid": int,
         "created": float},
        pk="id", foreign_keys=[("survey_id", "surveys", "id")],
    )
    db["survey_responses"].create_index(["run_name", "respondent", "question_id"], unique=True)


def _m5(db: sqlite_utils.Database) -> None:
    """Scores: DOVE alignment and other methods' scores in one table format (group × source)."""
    db["scores"].create(
        {"id": int, "method": str, "codebook_version": int, "group_name": str, "source": str, "value": float,
         "raw": float, "ci_low": float, "ci_high": float, "n_group": int, "n_source": int, "config": str,
         "created": float},
        pk="id",
    )
    db["scores"].create_index(["method", "codebook_version"])


def _m6(db: sqlite_utils.Database) -> None:
    """S(C) as its three terms, and the σ of Eq. 15 each iteration used (fixed per build since #11)."""
    for column in ("sigma", "beta1_term", "beta2_term"):
        db["em_iterations"].add_column(column, float)


def _m7(db: sqlite_utils.Database) -> None:
    """Scores: the bootstrap bias of raw, the interval method, and the split-half ceiling of
    value (with the documents per half it used) and value / ceiling."""
    db["scores"].add_column("raw_bias", float)
    db["scores"].add_column("ci_method", str)
    db["scores"].add_column("ceiling", float)
    db["scores"].add_column("ceiling_n", int)
    db["scores"].add_column("value_over_ceiling", float)


def _m8_generation_provenance(db: sqlite_utils.Database) -> None:
    """Documents: the generation template and request seed a generated document came from, and the
    reliability run (``workbench reliability``) it belongs to; NULL run = one of the project's own
    documents (run documents are kept out of its sources, training and score tables)."""
    db["documents"].add_column("template", str)
    db["documents"].add_column("seed", int)
    db["documents"].add_column("reliability_run", str)
    db["documents"].create_index(["reliability_run"])


# SQL condition on documents ``d``: the project's own documents (not a reliability run's).
OWN = "d.reliability_run is null"


def _m9_assignments_and_closed_rounds(db: sqlite_utils.Database) -> None:
    """A lead's round: which annotator labels which sampled item of a task on a codebook version
    (no rows: everyone sees the whole sample), and the rounds the lead closed to further labels."""
    db["assignments"].create(
        {"id": int, "task": str, "codebook_version": int, "item_id": str, "annotator": str, "seed": int,
         "created": float},
        pk="id",
    )
    db["assignments"].create_index(["task", "codebook_version", "annotator", "item_id"], unique=True)
    db["closed_rounds"].create(
        {"task": str, "codebook_version": int, "closed_by": str, "closed": float},
        pk=("task", "codebook_version"),
    )


def _m10_annotator_links(db: sqlite_utils.Database) -> None:
    """Annotators with personal links: the sha256 of each link's token (never the token), and the
    audit log of the annotators' server (adds, logins, refusals, revocations)."""
    db["annotators"].create({"name": str, "token_hash": str, "created": float, "revoked": float}, pk="name")
    db["annotators"].create_index(["token_hash"], unique=True)
    db["annotator_events"].create(
        {"id": int, "time": float, "event": str, "annotator": str, "remote": str, "detail": str}, pk="id")


def _m11_annotator_roles(db: sqlite_utils.Database) -> None:
    """Each annotator's role (annotator, reviewer, lead; workbench/annotate/roles.py). Links added
    before roles existed become plain annotators: a lead gives wider roles with 'annotators role'."""
    db["annotators"].add_column("role", str)
    db.execute("update annotators set role = 'annotator' where role is null")


def _m12_score_corrected(db: sqlite_utils.Database) -> None:
    """Scores: the bias-corrected value where the bootstrap bias of raw exceeds its spread (issue 24).
    This was migration 11 before the roles one took that number: a project written then is at 11
    with this column and without the roles', which is applied here instead."""
    if "value_corrected" not in db["scores"].columns_dict:
        db["scores"].add_column("value_corrected", float)
    if "role" not in db["annotators"].columns_dict:
        _m11_annotator_roles(db)


def _m13_heldout_reconstruction(db: sqlite_utils.Database) -> None:
    """Refinement judged by reconstruction (issue 23): each iteration's mean distortion on the
    held-out documents, how many there were, and whether the change that made the version was kept
    (1/0; NULL for C⁰ and under ``em.objective paper``)."""
    db["em_iterations"].add_column("heldout_distortion", float)
    db["em_iterations"].add_column("n_heldout", int)
    db["em_iterations"].add_column("kept", int)


def _m14_run_estimates(db: sqlite_utils.Database) -> None:
    """Cost before a run (issue 26): a run keeps the estimate it was started with (JSON, moved out
    of its stats where extract and generate kept it) and the run it is part of (an extraction
    inside a build, the generations of a reliability run), whose calls it adds to."""
    db["runs"].add_column("estimate", str)
    db["runs"].add_column("parent", int)
    db.execute("update runs set estimate = json_extract(stats, '$.estimate'), stats = json_remove(stats, '$.estimate') "
               "where json_valid(stats) and json_extract(stats, '$.estimate') is not null")


def _m15_version_results(db: sqlite_utils.Database) -> None:
    """What a service computed on a codebook version for the report to read (issue 27): ``what``
    names it (``score_figures`` from ``score``, ``reliability`` from ``workbench reliability``), ``value``
    is JSON; computing it again replaces it."""
    db["version_results"].create({"codebook_version": int, "what": str, "value": str, "created": float},
                                 pk=("codebook_version", "what"))


MIGRATIONS = [_m1, _m2, _m3, _m4, _m5, _m6, _m7, _m8_generation_provenance, _m9_assignments_and_closed_rounds,
              _m10_annotator_links, _m11_annotator_roles, _m12_score_corrected, _m13_heldout_reconstruction,
              _m14_run_estimates, _m15_version_results]
