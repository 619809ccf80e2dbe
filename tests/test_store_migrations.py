"""Schema migrations: a project written by any earlier schema version opens with the current code,
reaches the latest version and keeps every row it had."""
from __future__ import annotations

import json

import numpy as np
import pytest

from workbench.store import Store, open_project
from workbench.store.schema import MIGRATIONS

VECTOR = np.arange(4, dtype=np.float32).tobytes()
# Representative rows of the tables each migration creates (parents before children: foreign keys
# are on). A migration that drops, recreates or rewrites one of these tables loses or changes them.
ROWS: dict[int, dict[str, list[dict]]] = {
    1: {
        "groups": [{"name": "Harbourside", "description": "coastal"}],
        "topics": [{"id": 1, "text": "work"}],
        "imports": [{"id": 1, "file": "docs.jsonl", "sha256": "ab" * 32, "options": "{}", "rows": 1,
                     "created": 1.5}],
        "documents": [{"id": "d1", "group_name": "Harbourside", "topic_id": 1, "source": "human", "language": "en",
                       "text": "We look after each other.", "truncated": 0, "import_id": 1}],
        "gold_labels": [{"document_id": "d1", "category": "care", "value": 1}],
        "extractions": [{"document_id": "d1", "strategy": "llm", "prompt_version": "1", "status": "ok",
                         "n_expressions": 1, "error": None, "created": 2.5}],
        "expressions": [{"id": 1, "document_id": "d1", "position": 0, "text": "care for neighbours",
                         "code_name": "care", "score": 0.9, "strategy": "llm"}],
        "embeddings": [{"model": "emb", "text_hash": "h1", "dim": 4, "vector": VECTOR}],
        "runs": [{"id": 1, "command": "extract", "config_hash": "c", "started": 1.0, "finished": 2.0, "stats": "{}"}],
        "llm_calls": [{"id": 1, "cache_key": "k", "role": "extractor", "model": "m", "base_url": "http://x",
                       "prompt_name": "extract", "prompt_hash": "p", "params": "{}", "request": "{}",
                       "response": "{}", "tokens_in": 3, "tokens_out": 4, "latency_ms": 5.0, "error": None,
                       "run_id": 1, "created": 3.0}],
    },
    2: {
        "codebook_versions": [{"version": 1, "thread_id": "t", "iteration": 0, "parent": None, "reason": "init",
                               "diff": "{}", "config_hash": "c", "embedder": "emb", "created": 4.0}],
        "codes": [{"version": 1, "idx": 0, "uid": "u0", "name": "care", "name_source": "namer",
                   "description": "caring", "size": 1, "centroid": VECTOR}],
        "code_members": [{"version": 1, "expression_id": 1, "idx": 0}],
        "em_iterations": [{"thread_id": "t", "iteration": 0, "version": 1, "K": 1, "S": 0.5, "S_low": 0.4,
                           "S_high": 0.6, "distortion": 0.1, "doc_entropy": 0.2, "usage_entropy": 0.3, "n_docs": 1,
                           "n_reconstructed": 1, "decoder": "offline", "per_code": "[]", "created": 5.0}],
        "proposals": [{"id": 1, "thread_id": "t", "iteration": 0, "version": 1, "kind": "split", "code_uid": "u0",
                       "target_uid": None, "names": json.dumps(["a", "b"]), "names_source": "namer",
                       "evidence": "{}", "status": "pending", "created": 6.0}],
        "decisions": [{"id": 1, "proposal_id": 1, "decision": "approve", "names": None, "decider": "ann",
                       "note": None, "decided_at": 7.0}],
        "build_summaries": [{"thread_id": "t", "version": 1, "summary": "{}", "created": 8.0}],
    },
    3: {
        "annotation_samples": [{"id": 1, "task": "mapping", "item_id": "d1", "position": 0, "codebook_version": 1,
                                "protocol_version": "1.0.0", "created": 9.0}],
        "labels": [{"id": 1, "task": "mapping", "item_id": "d1::u0", "criterion": "appropriate", "label": "yes",
                    "annotator": "ann", "round": "first", "codebook_version": 1, "protocol_id": "mapping",
                    "protocol_version": "1.0.0", "note": None, "created": 10.0}],
    },
    4: {
        "surveys": [{"id": 1, "name": "wvs", "file": "wvs.json", "sha256": "cd" * 32, "definition": "{}",
                     "warnings": "[]", "created": 11.0}],
        "survey_responses": [{"id": 1, "survey_id": 1, "run_name": "r", "model": "m", "country": "NZ",
                              "respondent": 0, "question_id": "q1", "city": "Auckland", "params": "{}",
                              "prompt": "p", "raw": "3", "parsed": "3", "valid": 1, "created": 12.0}],
    },
    5: {
        "scores": [{"id": 1, "method": "dove", "codebook_version": 1, "group_name": "Harbourside",
                    "source": "human", "value": 0.8, "raw": 0.02, "ci_low": 0.7, "ci_high": 0.9, "n_group": 1,
                    "n_source": 1, "config": "{}", "created": 13.0}],
    },
    9: {
        "assignments": [{"id": 1, "task": "mapping", "codebook_version": 1, "item_id": "d1", "annotator": "ann",
                         "seed": 0, "created": 14.0}],
        "closed_rounds": [{"task": "mapping", "codebook_version": 1, "closed_by": "lea", "closed": 15.0}],
    },
    10: {
        "annotators": [{"name": "ann", "token_hash": "ef" * 32, "created": 14.0, "revoked": None}],
        "annotator_events": [{"id": 1, "time": 15.0, "event": "login", "annotator": "ann", "remote": "127.0.0.1",
                              "detail": ""}],
    },
    15: {
        "version_results": [{"codebook_version": 1, "what": "score_figures", "value": "{}", "created": 16.0}],
    },
}


def project_at(path, k: int) -> Store:
    """A project database written by the code of schema version ``k``: only the first ``k``
    migrations applied (as ``Store.migrate`` applied them then), with the rows of those versions."""
    store = Store(path)
    store.db["meta"].create({"key": str, "value": str}, pk="key")
    for version, migration in enumerate(MIGRATIONS[:k], start=1):
        migration(store.db)
        store.db["meta"].upsert({"key": "schema_version", "value": str(version)}, pk="key")
        for table, rows in ROWS.get(version, {}).items():
            store.db[table].insert_all(rows)
    return store


def test_rows_cover_every_table_of_every_migration(tmp_path):
    store = project_at(tmp_path / "all.db", len(MIGRATIONS))
    tables = set(store.db.table_names()) - {"meta"}
    assert tables == {t for rows in ROWS.values() for t in rows}, "add rows of the new tables to ROWS"


@pytest.mark.parametrize("k", range(len(MIGRATIONS)))
def test_a_project_of_every_earlier_schema_version_upgrades_and_keeps_its_rows(tmp_path, k):
    old = project_at(tmp_path / f"v{k}.db", k)
    assert old.schema_version == k
    old.close()

    store = open_project(tmp_path / f"v{k}.db")
    assert store.schema_version == len(MIGRATIONS)
    for version in range(1, k + 1):
        for table, rows in ROWS.get(version, {}).items():
            kept = [{c: r[c] for c in rows[0]} for r in store.db[table].rows]
            assert kept == rows, table
    if k >= 2:  # the current code reads what the old one wrote
        codebook = store.load_codebook(1)
        assert [c.uid for c in codebook.codes] == ["u0"] and codebook.expression_ids.tolist() == [1]
    if k >= 3:
        assert [r["label"] for r in store.labels("mapping", viewer=None, codebook_version=1)] == ["yes"]
    assert store.migrate() == len(MIGRATIONS)  # opening it again changes nothing
    store.close()


def test_an_estimate_kept_in_a_runs_stats_moves_to_its_own_column(tmp_path):
    """Before schema 14, extract and generate kept their estimate inside the run's stats."""
    old = project_at(tmp_path / "v13.db", 13)
    estimate = {"command": "extract", "note": "", "cost": 0.5,
                "roles": [{"role": "extractor", "model": "m", "calls": 1, "tokens_in": 3, "tokens_out": 4}]}
    old.db["runs"].insert({"id": 2, "command": "extract", "config_hash": "c", "started": 3.0, "finished": 4.0,
                           "stats": json.dumps({"calls": 1, "estimate": estimate})})
    old.close()
    store = open_project(tmp_path / "v13.db")
    run = store.latest_estimated_run("extract")
    assert run["id"] == 2 and run["estimate"] == estimate and run["stats"] == {"calls": 1}
    assert store.db["runs"].get(1)["estimate"] is None  # a run without one keeps none
    assert store.run_usage(1) == [{"role": "extractor", "model": "m", "calls": 1, "tokens_in": 3, "tokens_out": 4}]
    from workbench.report.terminal import run_cost_lines

    assert run_cost_lines(store, ("extract",))[0].startswith("last extract: 0 calls (estimate 1)")  # status reads it
    store.close()


def test_a_project_of_schema_11_before_the_roles_migration_was_numbered_11_opens(tmp_path):
    """Schema 11 was once the bias-corrected score column (the roles migration came later and took
    number 11): such a project reaches the latest version with both, its rows kept."""
    old = project_at(tmp_path / "old11.db", 10)
    old.db["scores"].add_column("value_corrected", float)  # what migration 11 did then
    old.db["meta"].upsert({"key": "schema_version", "value": "11"}, pk="key")
    assert "role" not in old.db["annotators"].columns_dict
    old.close()
    store = open_project(tmp_path / "old11.db")
    assert store.schema_version == len(MIGRATIONS)
    assert "value_corrected" in store.db["scores"].columns_dict
    assert [r["role"] for r in store.db["annotators"].rows] == ["annotator"]  # the link of ROWS[10]
    for table, rows in ROWS[1].items():
        assert [{c: r[c] for c in rows[0]} for r in store.db[table].rows] == rows, table
    store.close()
