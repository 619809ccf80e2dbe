"""Several annotators label one project at the same time, each in their own process, while a build
runs on it: WAL, a busy timeout and short transactions mean every label is stored, the build
finishes, and no one sees "database is locked"."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

WRITERS = 4
LABELS_EACH = 500

WRITER = """
import json, sys, time
from pathlib import Path
from workbench.annotate.labels import record
from workbench.store import open_project

path, name, gate = sys.argv[1], sys.argv[2], Path(sys.argv[3])
store = open_project(path)
(gate / f"ready-{name}").touch()
while not (gate / "go").exists():
    time.sleep(0.002)
errors = []
for i in range(int(sys.argv[4])):
    try:
        record(store, "mapping", f"doc{i}::code", "appropriate", "yes" if i % 3 else "no", name, 1)
    except Exception as exc:  # counted, not raised: the test asserts there are none
        errors.append(repr(exc))
print(json.dumps({"errors": errors}))
"""


def test_four_annotators_write_500_labels_each_while_a_build_runs(built_project, tmp_path):
    path = built_project.path
    versions_before = built_project.count("codebook_versions")
    built_project.close()
    gate = tmp_path / "gate"
    gate.mkdir()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    build = subprocess.Popen([sys.executable, "-c", "from workbench.cli import main; main()", "build", str(path),
                              "--restart", "--auto-approve", "--iterations", "12", "--quiet"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), f"annotator{n}", str(gate),
                               str(LABELS_EACH)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for n in range(WRITERS)]
    try:
        deadline = time.time() + 180
        # the annotators start once the build has a new codebook and is in its EM iterations
        while len(list(gate.glob("ready-*"))) < WRITERS or _count(path, "codebook_versions") <= versions_before:
            assert time.time() < deadline, "writers or build did not start"
            assert all(p.poll() is None for p in [*procs, build]), [p.communicate() for p in [*procs, build]]
            time.sleep(0.01)
        go = time.time()
        (gate / "go").touch()
        outputs = [p.communicate(timeout=120) for p in procs]
        done = time.time()
        _, build_err = build.communicate(timeout=300)
    finally:
        for p in [*procs, build]:
            if p.poll() is None:
                p.kill()
    for p, (out, err) in zip(procs, outputs):
        assert p.returncode == 0, err
        assert json.loads(out.strip().splitlines()[-1]) == {"errors": []}
        assert "locked" not in err
    assert build.returncode == 0 and "locked" not in build_err and "Traceback" not in build_err, build_err
    from workbench.store import open_project

    store = open_project(path)
    try:
        assert store.count("labels") == WRITERS * LABELS_EACH
        per_writer = dict(store.db.execute("select annotator, count(*) from labels group by 1").fetchall())
        assert per_writer == {f"annotator{n}": LABELS_EACH for n in range(WRITERS)}
        order = [r[0] for r in store.db.execute("select annotator from labels order by id")]
        switches = sum(1 for a, b in zip(order, order[1:]) if a != b)
        assert switches > WRITERS - 1, "the writers ran one after another, not at the same time"
        # the build wrote while the annotators did: EM iterations stored inside the labelling window
        during = store.count("em_iterations", "thread_id = 'build-2' and created between ? and ?", [go, done])
        assert during > 0, "the build did not run while the labels were written"
    finally:
        store.close()


def _count(path: Path, table: str) -> int:
    with sqlite3.connect(path, timeout=30) as conn:
        return conn.execute(f"select count(*) from {table}").fetchone()[0]
