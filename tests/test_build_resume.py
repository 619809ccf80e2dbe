"""A build killed with SIGKILL at three points resumes to the same codebook as an uninterrupted
run, without computing anything twice."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from workbench.demo import import_demo_corpus
from workbench.extract import extract
from workbench.store import create_project, open_project

ROOT = Path(__file__).resolve().parents[1]
WORKBENCH = [sys.executable, "-c", "from workbench.cli import main; main()"]


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
    rows = sorted((c.uid, c.name, c.size, tuple(members[c.idx])) for c in codebook.codes)
    store.close()
    return rows


@pytest.mark.slow
def test_kill_9_at_three_points_resumes_to_the_same_codebook(built_project_template, tmp_path):
    path = tmp_path / "killed.db"
    store = create_project(path)
    import_demo_corpus(store, tmp_path)
    extract(store, show_progress=False)
    store.save_config(store.config().with_settings({"em.tau1": "100", "em.iterations": "3"}))
    n_docs = store.count("documents")
    embeddings_before = store.count("embeddings")
    store.close()

    command = [*WORKBENCH, "build", str(path), "--auto-approve", "--quiet"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    kill_points = []
    for threshold in (6, 12, 18):
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 240
        while _checkpoints(path) < threshold and proc.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, f"the build ended before checkpoint {threshold}: {proc.stderr.read()[-2000:]}"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kill_points.append(_checkpoints(path))
    assert kill_points == sorted(kill_points) and len(set(kill_points)) == 3

    final = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr[-2000:]

    assert _final_codebook(path) == _final_codebook(built_project_template)
    store = open_project(path)
    computed = sum(json.loads(r[0]).get("embeddings_computed", 0)
                   for r in store.db.execute("select stats from runs where command = 'build'"))
    assert computed == store.count("embeddings") - embeddings_before == n_docs  # document embeddings, once
    iterations = [r["iteration"] for r in store.iterations()]
    assert iterations == [1, 2, 3]
    decisions = store.count("decisions")
    assert decisions == store.count("proposals") and decisions > 0  # no decision lost or doubled
