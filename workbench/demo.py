"""``workbench demo``: the whole pipeline, offline, on an illustrative corpus shipped with the
package (``demo_corpus.jsonl``: texts written for the demo, not research data)."""
from __future__ import annotations

import shutil
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from .extract import extract
from .ingest import IngestOptions, ingest_file
from .store import create_project


def run_demo(directory: Path, echo: Callable[[str], None] = print) -> Path:
    """Create ``DIR/demo.db`` afresh, import the demo corpus, extract, and report."""
    directory.mkdir(parents=True, exist_ok=True)
    project = directory / "demo.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{project}{suffix}").unlink(missing_ok=True)
    corpus = directory / "demo_corpus.jsonl"
    with resources.as_file(resources.files(__package__).joinpath("demo_corpus.jsonl")) as shipped:
        shutil.copyfile(shipped, corpus)
    echo(f"demo project: {project} (corpus: illustrative texts written for the demo, not research data)")
    store = create_project(project)
    rows = [r for r in corpus.read_text("utf-8").splitlines() if r.strip()]
    by_part: dict[tuple[str, str], list[str]] = {}
    import json

    for line in rows:
        rec = json.loads(line)
        by_part.setdefault((rec["group"], rec["source"]), []).append(line)
    for (group, source), lines in sorted(by_part.items()):
        part = directory / f"demo_{group}_{source}.jsonl".replace(" ", "_")
        part.write_text("\n".join(lines) + "\n", "utf-8")
        result = ingest_file(store, part, IngestOptions(group=group, source=source))
        echo(f"imported {result.documents} documents: group {group}, source {source}")
    report = extract(store)
    echo(f"extracted {report.expressions} value expressions from {report.documents} documents [{report.mode}]")
    return project
