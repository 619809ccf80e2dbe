"""``workbench demo``: the whole pipeline, offline, on an illustrative corpus shipped with the
package (``demo_corpus.jsonl``: texts written for the demo, not research data)."""
from __future__ import annotations

import json
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from ..build import run_build

from ..ingest.documents import IngestOptions, ingest_file
from ..pipeline.extract import extract
from ..report.terminal import print_build_status, print_codebook, print_node_update
from ..store import Store, create_project

DEMO_ITERATIONS = 4


def import_demo_corpus(store: Store, directory: Path, echo: Callable[[str], None] = lambda _: None) -> None:
    """Import the shipped illustrative corpus, one file per (group, source)."""
    with resources.as_file(resources.files("workbench").joinpath("demo_corpus.jsonl")) as shipped:
        lines = [r for r in Path(shipped).read_text("utf-8").splitlines() if r.strip()]
    by_part: dict[tuple[str, str], list[str]] = {}
    for line in lines:
        rec = json.loads(line)
        by_part.setdefault((rec["group"], rec["source"]), []).append(line)
    for (group, source), part_lines in sorted(by_part.items()):
        part = directory / f"demo_{group}_{source}.jsonl".replace(" ", "_")
        part.write_text("\n".join(part_lines) + "\n", "utf-8")
        result = ingest_file(store, part, IngestOptions(group=group, source=source))
        echo(f"imported {result.documents} documents: group {group}, source {source}")


def run_demo(directory: Path, echo: Callable[[str], None] = print) -> Path:
    """Create ``DIR/demo.db`` afresh, import the demo corpus, extract, build, and report."""
    directory.mkdir(parents=True, exist_ok=True)
    project = directory / "demo.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{project}{suffix}").unlink(missing_ok=True)
    echo(f"demo project: {project} (corpus: illustrative texts written for the demo, not research data)")
    store = create_project(project)
    import_demo_corpus(store, directory, echo)
    report = extract(store)
    echo(f"extracted {report.expressions} value expressions from {report.documents} documents [{report.mode}]")
    # S(C)'s scale depends on the embedder (the paper's τ1 = 1.0 was set for its own); on this
    # small corpus the offline score passes 1.0 at once, so the demo lets all T iterations run.
    store.save_config(store.config().with_settings({"em.tau1": "1e9"}))
    status = run_build(store, auto_approve=True, iterations=DEMO_ITERATIONS, on_update=print_node_update)
    print_build_status(store, status)
    print_codebook(store, None, top=2)
    # The build's score_alignment node stored the group × source table; scoring again with halves
    # adds each group against a random half of itself (the ceiling a source can reach).
    from ..measures.score import score_project
    from ..report.html import write_report
    from ..report.terminal import print_scores

    print_scores(score_project(store, halves=True))
    files = write_report(store, directory / "report")
    echo(f"report: {files.index} (open it in a browser); files: " + ", ".join(f.name for f in files.files))
    return project
