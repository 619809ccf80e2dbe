"""A build killed with SIGKILL at ten random points resumes to the same codebook as an
uninterrupted run, without asking the LLM twice or computing anything twice."""
from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import TEST_SEED, use_llm
from workbench.build import run_build
from workbench.cli.demo import import_demo_corpus
from workbench.pipeline.extract import extract
from workbench.store import create_project, open_project

ROOT = Path(__file__).resolve().parents[1]
# the build proposes with the tests' constructed rule in the killed processes too (forced_changes)
WORKBENCH = [sys.executable, "-c", "import forced_changes; forced_changes.install(); from workbench.cli import main; main()"]
KILLS, SEED, ITERATIONS = 10, 7, 5


def _checkpoints(path: Path) -> int:
    try:
        with sqlite3.connect(path, timeout=30) as conn:
            return conn.execute("select count(*) from checkpoints").fetchone()[0]
    except sqlite3.OperationalError:  # table not created yet
        return 0


def _final_codebook(path: Path) -> list[tuple]:
    store = open_project(path)
    version = store.latest_version()
    codebook = store.load_codebook(version)
    texts = dict(store.db.execute("select id, text from expressions"))
    members = {c.idx: sorted(texts[int(e)] for e in codebook.expression_ids[codebook.labels == c.idx])
               for c in codebook.codes}
    rows = sorted((c.uid, c.name, c.name_source, c.size, tuple(members[c.idx])) for c in codebook.codes)
    store.close()
    return rows


def _namer(body: dict) -> str:
    """A deterministic LLM namer: the name is a digest of the prompt."""
    prompt = body["messages"][-1]["content"]
    return json.dumps({"code_name": "Value " + hashlib.sha256(prompt.encode()).hexdigest()[:8]})


def _project(path: Path, base_url: str):
    store = create_project(path)
    import_demo_corpus(store, path.parent)
    extract(store, show_progress=False)
    store.save_config(store.config().with_settings({"em.tau1": "100", "em.min_rel_improvement": "0",
                                                     "em.iterations": str(ITERATIONS), "em.seed": str(TEST_SEED)}))
    use_llm(store, base_url, roles=("namer",), model="namer-x")
    return store


def _stored_answers(path: Path) -> dict[str, float]:
    """Prompt text → when its answer was stored in the project's LLM cache."""
    with sqlite3.connect(path, timeout=30) as conn:
        rows = conn.execute("select request, created from llm_calls where error is null and response is not null")
        return {json.loads(request)[-1][1]: created for request, created in rows}


@pytest.mark.slow
def test_kill_9_at_ten_random_points_resumes_to_the_same_codebook(tmp_path, fake_openai, forced_proposals):
    fake_openai.chat = _namer
    # The uninterrupted reference, in process (UMAP compiles once per process).
    (tmp_path / "ref").mkdir()
    reference = _project(tmp_path / "ref" / "ref.db", fake_openai.base_url)
    assert run_build(reference, auto_approve=True, show_progress=False).state == "finished"
    total = _checkpoints(reference.path)
    reference.close()
    reference_calls = len(fake_openai.chat_requests())
    fake_openai.requests.clear()

    (tmp_path / "killed").mkdir()
    path = tmp_path / "killed" / "killed.db"
    store = _project(path, fake_openai.base_url)
    n_docs, embeddings_before = store.count("documents"), store.count("embeddings")

    # Ten kill points drawn with a seed: each process is let through one more checkpoint, then a
    # random delay, so the kill lands anywhere inside the next node (mid-write, mid-LLM-call,
    # between steps), and every killed process has made progress.
    rng = random.Random(SEED)
    delays = [rng.uniform(0.0, 0.15) for _ in range(KILLS)]
    command = [*WORKBENCH, "build", str(path), "--auto-approve", "--quiet"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "tests"), os.environ.get("PYTHONPATH")]))}
    killed_at, labels = [], []
    for n, delay in enumerate(delays):
        threshold = _checkpoints(path) + 1
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 240
        while _checkpoints(path) < threshold and proc.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        # an annotator labels while the build runs; the label must survive the kill
        labels.append(store.record_label(task="mapping", item_id=f"doc-{n}", criterion="code-1", label="1",
                                         annotator="ana", codebook_version=None, protocol_id="mapping",
                                         protocol_version="1"))
        time.sleep(delay)
        assert proc.poll() is None, (f"the build ended before kill {n + 1} (checkpoints {killed_at} of {total}): "
                                     f"{proc.stderr.read()[-2000:]}")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        killed_at.append(_checkpoints(path))
    assert len(killed_at) == KILLS and killed_at == sorted(killed_at)

    final = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr[-2000:]
    assert _checkpoints(path) > killed_at[-1]  # the last kill left work for the final run

    assert _final_codebook(path) == _final_codebook(reference.path)
    # 0 repeated LLM calls: no prompt was sent again once its answer was stored; the only
    # repeats allowed are calls in flight when a kill landed (their answer was never stored).
    stored = _stored_answers(path)
    sent: dict[str, int] = {}
    repeated_after_stored = 0
    for request in fake_openai.chat_requests():
        prompt = request["body"]["messages"][-1]["content"]
        sent[prompt] = sent.get(prompt, 0) + 1
        if sent[prompt] > 1 and stored.get(prompt, float("inf")) < request["received"]:
            repeated_after_stored += 1
    assert repeated_after_stored == 0
    assert len(sent) == reference_calls  # the same distinct prompts as the uninterrupted run
    store.close()
    store = open_project(path)
    computed = sum(json.loads(r[0]).get("embeddings_computed", 0)
                   for r in store.db.execute("select stats from runs where command = 'build'"))
    assert computed == store.count("embeddings") - embeddings_before == n_docs  # document embeddings, once
    assert [r["iteration"] for r in store.iterations()] == list(range(1, ITERATIONS + 2))  # T refinements
    decisions = store.count("decisions")
    assert decisions == store.count("proposals") and decisions > 0  # no decision lost or doubled
    assert store.count("labels") == KILLS and sorted(labels) == [r[0] for r in store.db.execute(
        "select id from labels order by id")]
    store.close()
