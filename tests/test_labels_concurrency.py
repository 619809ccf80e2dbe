"""Several annotators label one project at the same time, each in their own process: WAL, a busy
timeout and one short transaction per label mean every label is stored and no one sees
"database is locked"."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

WRITERS = 4
LABELS_EACH = 500

WRITER = """
import json, sys, time
from pathlib import Path
from workbench import annotate
from workbench.store import open_project

path, name, gate = sys.argv[1], sys.argv[2], Path(sys.argv[3])
store = open_project(path)
(gate / f"ready-{name}").touch()
while not (gate / "go").exists():
    time.sleep(0.002)
errors = []
for i in range(int(sys.argv[4])):
    try:
        annotate.record(store, "mapping", f"doc{i}::code", "appropriate", "yes" if i % 3 else "no", name, 1)
    except Exception as exc:  # counted, not raised: the test asserts there are none
        errors.append(repr(exc))
print(json.dumps({"errors": errors}))
"""


def test_four_processes_write_500_labels_each_without_an_error(project, tmp_path):
    project.close()
    gate = tmp_path / "gate"
    gate.mkdir()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(project.path), f"annotator{n}", str(gate),
                               str(LABELS_EACH)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for n in range(WRITERS)]
    try:
        deadline = time.time() + 120
        while len(list(gate.glob("ready-*"))) < WRITERS:
            assert time.time() < deadline, "writers did not start"
            assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
            time.sleep(0.01)
        started = time.perf_counter()
        (gate / "go").touch()
        outputs = [p.communicate(timeout=120) for p in procs]
        elapsed = time.perf_counter() - started
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, (out, err) in zip(procs, outputs):
        assert p.returncode == 0, err
        assert json.loads(out.strip().splitlines()[-1]) == {"errors": []}
        assert "locked" not in err
    from workbench.store import open_project

    store = open_project(project.path)
    try:
        assert store.count("labels") == WRITERS * LABELS_EACH
        per_writer = dict(store.db.execute("select annotator, count(*) from labels group by 1").fetchall())
        assert per_writer == {f"annotator{n}": LABELS_EACH for n in range(WRITERS)}
        order = [r[0] for r in store.db.execute("select annotator from labels order by id")]
        switches = sum(1 for a, b in zip(order, order[1:]) if a != b)
        assert switches > WRITERS - 1, "the writers ran one after another, not at the same time"
    finally:
        store.close()
    assert elapsed < 60
