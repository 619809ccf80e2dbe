"""Annotators' server under load: N annotators label the mapping sample at once through
``workbench serve``'s sessions (scripted websocket clients speaking textual-serve's protocol, one
real app process each) while a build runs on the same project file.

Prints labels stored / expected, lost, duplicated and misattributed rows (from each annotator's
keystrokes, bench/annotation_client.py), and the server-side keypress-to-screen latency: from a
key's arrival at the server to the next screen output it sends back for that session
(``TimedAppService``), p50 / p95 over every key after the mapping screen has loaded.

The project is the demo corpus built offline (T = 3, auto-approve), kept at --project so that
reruns skip its build; each run works on a copy. The build that runs during labelling is
``workbench build --restart --auto-approve`` on that copy (offline); sessions stay on the version
that existed before it (``serve --codebook-version``).

    .venv/bin/python bench/annotation_server.py [--annotators 8] [--labels 300] [--think-ms 100] [--no-build]
Target: every label stored exactly once under its annotator's name (the issue sets no latency target).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.annotation_client import (READY, AnnotatorClient, KEYS, compare_labels,  # noqa: E402
                                     expected_mapping_labels, mapping_answers)
from bench.common import summary  # noqa: E402

def ensure_project(path: Path) -> None:
    """The demo corpus, extracted and built offline (as the tests' built project)."""
    if path.exists():
        return
    from workbench.build import run_build
    from workbench.cli.demo import import_demo_corpus
    from workbench.pipeline.extract import extract
    from workbench.store import create_project

    print(f"building the demo project at {path} (once)…", flush=True)
    store = create_project(path)
    import_demo_corpus(store, path.parent)
    extract(store, show_progress=False)
    store.save_config(store.config().with_settings({"em.tau1": "100", "em.min_rel_improvement": "0",
                                                     "alignment.n_boot": "10"}))
    run_build(store, auto_approve=True, iterations=3, show_progress=False)
    store.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def label_round(path: Path, names: list[str], links: dict[str, str], version: int, n_labels: int,
                      think: float, with_build: bool) -> dict:
    from workbench.tui.serve import AnnotatorServer

    server = AnnotatorServer(path, codebook_version=version)
    runner = web.AppRunner(await server._make_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    answers = {name: mapping_answers(n_labels, seed) for seed, name in enumerate(names)}
    loaded_keys: dict[str, int] = {}
    silent: Counter = Counter()

    def session_of(name: str):
        return next(iter(server.sessions[name].values()))

    async def annotate(name: str) -> AnnotatorClient:
        client = AnnotatorClient(f"http://127.0.0.1:{port}/a/{links[name]}")
        await client.connect()
        await client.wait_for(READY, timeout=300)  # an annotator lands on the mapping screen (#25)
        loaded_keys[name] = len(session_of(name).latencies)
        for answer in answers[name]:
            if not await client.press(KEYS[answer]):
                silent[name] += 1
            await asyncio.sleep(think)
        return client

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    build = subprocess.Popen([sys.executable, "-c", "from workbench.cli import main; main()", "build", str(path),
                              "--restart", "--auto-approve", "--iterations", "12", "--quiet"] if with_build
                             else [sys.executable, "-c", "pass"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    start = time.perf_counter()
    try:
        clients = await asyncio.gather(*(annotate(name) for name in names))
        labelled = time.perf_counter() - start
        build_running = build.poll() is None
        await asyncio.sleep(5)  # the last keys' labels reach the file
        # latencies of the labelling keys only (not the app's start nor the screen switch)
        keys = [lat for name in names for lat in session_of(name).latencies[loaded_keys[name]:]]
        for client in clients:
            await client.close()
    finally:
        await runner.cleanup()
        _, build_err = build.communicate(timeout=1800)
    return {"answers": answers, "keys": keys, "silent": sum(silent.values()), "labelled_s": labelled,
            "build_running": build_running, "build_rc": build.returncode, "build_err": build_err}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--project", type=Path, default=Path(tempfile.gettempdir()) / "dove-bench-serve" / "demo.db")
    parser.add_argument("--annotators", type=int, default=8)
    parser.add_argument("--labels", type=int, default=300, help="labels per annotator")
    parser.add_argument("--think-ms", type=float, default=100, help="pause between an annotator's keys")
    parser.add_argument("--no-build", action="store_true", help="label without a build running (for comparison)")
    args = parser.parse_args()
    args.project.parent.mkdir(parents=True, exist_ok=True)
    ensure_project(args.project)

    from workbench.annotate.annotators import add_annotator
    from workbench.annotate.tasks import pair_id
    from workbench.annotate.views import mapping_items
    from workbench.store import open_project

    work = args.project.with_name("run.db")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{work}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(args.project, work)
    store = open_project(work)
    version = store.latest_version()
    names = [f"annotator{n}" for n in range(args.annotators)]
    links = {name: add_annotator(store, name, "http://x").rsplit("/a/", 1)[1] for name in names}
    print(f"{args.annotators} annotators × {args.labels} labels on codebook v{version}"
          + ("" if args.no_build else " while a build runs") + "…", flush=True)
    run = asyncio.run(label_round(work, names, links, version, args.labels, args.think_ms / 1000, not args.no_build))

    pairs = [pair_id(item.document_id, code.uid)
             for item in mapping_items(store, version, store.sample_items("mapping", version)) for code in item.codes]
    expected = {name: expected_mapping_labels(pairs, run["answers"][name]) for name in names}
    stored: dict[str, Counter] = {}
    for row in store.labels("mapping", viewer=None, rounds=["first"]):
        stored.setdefault(row["annotator"], Counter())[(row["item_id"], row["label"])] += 1
    figures = compare_labels(expected, stored)
    p50, p95 = (percentile(run["keys"], q) * 1000 for q in (0.5, 0.95))
    exact = figures["lost"] == figures["duplicates"] == figures["misattributed"] == 0 and \
        figures["stored"] == figures["expected"]
    summary("annotation server", {
        "size": f"{args.annotators} annotators × {args.labels} labels ({len(pairs)} pairs in the sample), "
                f"{args.think_ms:.0f} ms between keys",
        "labels stored / expected": f"{figures['stored']:,} / {figures['expected']:,}",
        "lost / duplicates / misattributed": f"{figures['lost']} / {figures['duplicates']} / "
                                             f"{figures['misattributed']}",
        "keys with no screen output within 10 s": str(run["silent"]),
        "server-side keypress-to-screen": f"p50 {p50:.0f} ms, p95 {p95:.0f} ms over {len(run['keys']):,} keys",
        "labelling wall time": f"{run['labelled_s']:.0f} s",
        "build": "none (--no-build)" if args.no_build else
                 ("still running when labelling ended" if run["build_running"] else "finished before labelling did")
                 + f"; exit code {run['build_rc']}" + ("; 'locked' in its stderr" if "locked" in run["build_err"]
                                                       else ""),
    }, {"every label once, under its name": exact})


if __name__ == "__main__":
    main()
