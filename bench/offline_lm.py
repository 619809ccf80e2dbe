"""Offline LM decoder benchmark: the demo built with roles.decoder.offline_decoder = lm.

Prints the build's S(C) terms per iteration and the decoder's cost: seconds per iteration (the
reconstruct node at doc_budget documents), per document and per scored code set (2·N1 per document).
Run (Python 3.12 venv with cyllama):
    .venv/bin/python bench/offline_lm.py --docs 6 --iterations 2
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import summary  # noqa: E402
from workbench.build import run_build  # noqa: E402
from workbench.demo import import_demo_corpus  # noqa: E402
from workbench.extract import extract  # noqa: E402
from workbench.llm.local_lm import local_lm  # noqa: E402
from workbench.report.terminal import print_build_status  # noqa: E402
from workbench.store import create_project  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=6, help="em.doc_budget: documents reconstructed per iteration")
    parser.add_argument("--iterations", type=int, default=2, help="refinement iterations T")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="bench_offline_lm_"))
    store = create_project(directory / "demo.db")
    import_demo_corpus(store, directory)
    extract(store, show_progress=False)
    config = store.config().with_settings({"em.tau1": "1e9", "roles.decoder.offline_decoder": "lm",
                                           "em.doc_budget": str(args.docs)})
    store.save_config(config)
    start = time.perf_counter()
    local_lm()
    load = time.perf_counter() - start

    marks: list[tuple[str, float]] = [("start", time.perf_counter())]
    status = run_build(store, auto_approve=True, iterations=args.iterations,
                       on_update=lambda node, _values: marks.append((node, time.perf_counter())))
    print_build_status(store, status)
    per_iteration = [t - marks[n - 1][1] for n, (node, t) in enumerate(marks) if node == "reconstruct"]
    rows = store.iterations(status.thread_id)
    docs = sum(r["n_reconstructed"] for r in rows) / max(len(rows), 1)
    sets = docs * 2 * config.em.n1
    mean = sum(per_iteration) / max(len(per_iteration), 1)
    summary("bench offline-lm", {
        "decoder": ", ".join(sorted({r["decoder"] for r in rows})),
        "model load (s)": f"{load:.1f}",
        "iterations timed": str(len(per_iteration)),
        "documents per iteration": f"{docs:.0f} (doc_budget {args.docs})",
        "seconds per iteration (reconstruct)": " / ".join(f"{t:.0f}" for t in per_iteration),
        "seconds per document": f"{mean / docs:.1f}" if docs else "n/a",
        "seconds per scored code set": f"{mean / sets:.2f}" if sets else "n/a",
        "build wall (s)": f"{marks[-1][1] - marks[0][1]:.0f}",
        **{f"t = {r['iteration']}: K, S(C) [95% CI], −d̄, +β1 term, −β2 term, σ":
           f"{r['K']}, {r['S']:.4f} [{r['S_low']:.4f}, {r['S_high']:.4f}], {-r['distortion']:.4f}, "
           f"{r['beta1_term']:.4f}, {r['beta2_term']:.4f}, {r['sigma']:.4f}" for r in rows},
    }, {"build finished": status.state == "finished"})


if __name__ == "__main__":
    main()
