"""Paper-scale benchmark without an LLM: a synthetic project the size of the paper's corpus
(15,213 documents, ~120,000 expressions, 384-d embeddings, 4 groups, 12 model sources), and its
cost growth over sizes.

Measures, through the product's own code path (the store, the LangGraph build with the offline
latent decoder, the scoring library): init_codebook, 10 EM iterations, the final score table with
its 200-resample intervals, and peak memory; and UMAP + HDBSCAN alone as BERTopic configures them
on the same embeddings, in the same process. The goals are ratios to that clustering time (issue
16): whole build ≤ 2.0×, init_codebook ≤ 1.05×, score_alignment ≤ 0.2×; and over sizes, a fitted
exponent of time in the number of expressions ≤ 1.1 for everything but UMAP's own, with a
projection to 10× (150k documents, 1.2 M expressions).

Each size runs in its own process (peak memory is per process):

    .venv/bin/python bench/paper_scale.py                       # 0.25×, 0.5×, 1×, 2× (long)
    .venv/bin/python bench/paper_scale.py --scales 0.25         # one size
"""
from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import peak_rss_gb, summary, synthetic_embeddings  # noqa: E402
from workbench.llm.gateway import OFFLINE_EMBEDDER  # noqa: E402
from workbench.store import DocumentRow, create_project, text_hash  # noqa: E402

N_DOCS, EXPR_PER_DOC, GROUPS, SOURCES, VALUES, DIM = 15_213, 8, 4, 12, 300, 384


def make_project(path: Path, scale: float, rng: np.random.Generator):
    n_docs = int(N_DOCS * scale)
    centres = rng.normal(size=(VALUES, DIM))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    centres = 0.75 * centres.mean(axis=0) + centres  # a shared direction: narrow-band cosines, as e5
    parties = [(f"G{g}", "human") for g in range(GROUPS)] + [(f"G{s % GROUPS}", f"model-{s}") for s in range(SOURCES)]
    mixtures = {p: rng.dirichlet(np.full(VALUES, 0.3)) for p in parties}
    store = create_project(path)
    docs, exprs, vectors = [], [], []
    for i in range(n_docs):
        party = parties[i % len(parties)]
        labels = rng.choice(VALUES, size=EXPR_PER_DOC, p=mixtures[party])
        emb, _ = synthetic_embeddings(EXPR_PER_DOC, centres, rng, labels=labels)
        doc = DocumentRow(f"d{i}", party[0], f"topic {i % 500}", party[1], "en", f"synthetic document {i}")
        docs.append(doc)
        texts = [f"synthetic expression {i}.{j} of value {v}" for j, v in enumerate(labels)]
        exprs.append((doc.id, texts))
        vectors += list(zip(texts, emb))
        doc_vec = emb.mean(axis=0)
        vectors.append((doc.text, doc_vec / np.linalg.norm(doc_vec)))  # short: embedded whole
    store.import_documents("synthetic", "-", {}, docs)
    with store.transaction():
        for doc_id, texts in exprs:
            store.save_extraction(doc_id, "synthetic", "-", [(t, None, None) for t in texts])
    store.save_embeddings(OFFLINE_EMBEDDER, [(text_hash(t), v) for t, v in vectors])
    # Seeded vectors stand for raw e5 ones (cache key OFFLINE_EMBEDDER): no language space on top.
    # up to 10 EM iterations whatever S does (no τ1 stop, no small-improvement stop); the build still
    # stops when no split or merge passes its tests ("converged", issue 23), which the output says
    store.save_config(store.config().with_settings({"em.tau1": "1e9", "em.iterations": "10", "em.min_rel_improvement": "0",
                                                    "roles.embedder.representation": "raw"}))
    return store, sum(len(t) for _, t in exprs)


def bertopic_clustering(emb: np.ndarray) -> float:
    """UMAP + HDBSCAN with BERTopic's defaults (n_neighbors 15, 5 dims, min_dist 0, cosine; HDBSCAN
    min_cluster_size 10, euclidean, eom)."""
    import hdbscan
    import umap

    start = time.perf_counter()
    reduced = umap.UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=42,
                        low_memory=False).fit_transform(emb)
    hdbscan.HDBSCAN(min_cluster_size=10, metric="euclidean", cluster_selection_method="eom").fit(reduced)
    return time.perf_counter() - start


def run_one(scale: float) -> dict:
    """Build and score one synthetic project of ``scale`` × the paper's size; its figures."""
    from workbench.build import run_build

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        store, n_expr = make_project(Path(tmp) / "paper.db", scale, rng)
        setup = time.perf_counter() - start
        # Warm numba's JIT of UMAP and of pynndescent (used from 4,096 points on) so that neither
        # the build nor BERTopic's clustering pays the one-off compile.
        import umap

        for low_memory in (True, False):  # the build's setting and BERTopic's compile different kernels
            umap.UMAP(n_components=5, n_neighbors=15, metric="cosine", random_state=0, n_jobs=1,
                      low_memory=low_memory).fit_transform(rng.normal(size=(4200, 16)))
        marks: dict[str, float] = {}
        last = [time.perf_counter()]

        def on_update(node: str, _values: dict) -> None:
            now = time.perf_counter()
            marks[node] = marks.get(node, 0.0) + now - last[0]
            last[0] = now

        start = last[0] = time.perf_counter()
        status = run_build(store, auto_approve=True, show_progress=False, on_update=on_update)
        build = time.perf_counter() - start
        peak = peak_rss_gb()
        final = store.load_codebook(status.version)
        init = store.load_codebook(store.initial_version_of(status.version)[0])
        texts = [r[0] for r in store.db.execute("select text from expressions order by id")]
        emb = store.cached_embeddings(OFFLINE_EMBEDDER, [text_hash(t) for t in texts])
        bertopic = bertopic_clustering(np.stack(list(emb.values())))
    digest = lambda cb: hashlib.sha256(cb.expression_ids.tobytes() + cb.labels.astype(np.int64).tobytes()).hexdigest()[:12]  # noqa: E731
    rows = status.alignment.get("rows", [])
    return {"scale": scale, "documents": int(N_DOCS * scale), "expressions": n_expr, "setup": setup, "build": build,
            "nodes": marks, "peak_gb": peak, "bertopic": bertopic, "iterations": len(status.history),
            "stop": status.stop_reason,
            "K": [status.history[0]["K"], status.history[-1]["K"]], "score_rows": len(rows),
            "ci_mc_error": max((r.get("ci_mc") or 0.0) for r in rows) if rows else None,
            "init_codebook": digest(init), "final_codebook": digest(final)}


def exponent(sizes: list[float], values: list[float]) -> float:
    """Least-squares slope of log(value) on log(size): cost ∝ size^exponent."""
    return float(np.polyfit(np.log(sizes), np.log(np.maximum(values, 1e-9)), 1)[0])


def report(results: list[dict]) -> None:
    """Per size: time, memory and the ratios; over sizes: exponents and the 10× projection."""
    figures: dict[str, str] = {}
    for r in results:
        n = r["nodes"]
        figures[f"{r['scale']}× ({r['documents']:,} docs / {r['expressions']:,} expressions)"] = (
            f"build {r['build']:.1f} s, peak {r['peak_gb']:.2f} GB, UMAP+HDBSCAN {r['bertopic']:.1f} s; "
            f"build ÷ clustering {r['build'] / r['bertopic']:.2f}, init_codebook ÷ clustering "
            f"{n.get('init_codebook', np.nan) / r['bertopic']:.2f}, score_alignment ÷ clustering "
            f"{n.get('score_alignment', np.nan) / r['bertopic']:.2f}; K {r['K'][0]} → {r['K'][1]} in "
            f"{r['iterations']} iterations ({r.get('stop')}); interval ends' Monte-Carlo error ≤ {r['ci_mc_error'] or 0:.4f} (r)")
        figures[f"{r['scale']}× per node (s)"] = ", ".join(f"{k} {v:.1f}" for k, v in sorted(n.items(), key=lambda kv: -kv[1]))
        figures[f"{r['scale']}× codebooks (init, final)"] = f"{r['init_codebook']}, {r['final_codebook']}"
    paper = min(results, key=lambda r: abs(r["scale"] - 1.0))
    targets = {
        "build ≤ 2.0× clustering": paper["build"] <= 2.0 * paper["bertopic"],
        "init_codebook ≤ 1.05× clustering": paper["nodes"].get("init_codebook", np.inf) <= 1.05 * paper["bertopic"],
        "score_alignment ≤ 0.2× clustering": paper["nodes"].get("score_alignment", np.inf) <= 0.2 * paper["bertopic"],
    }
    if len(results) > 1:
        sizes = [r["expressions"] for r in results]
        series = {"build": [r["build"] for r in results],
                  "build without init_codebook (UMAP's node)": [r["build"] - r["nodes"].get("init_codebook", 0.0)
                                                                for r in results],
                  **{k: [r["nodes"].get(k, 0.0) for r in results] for k in paper["nodes"]},
                  "UMAP+HDBSCAN (BERTopic)": [r["bertopic"] for r in results],
                  "peak memory": [r["peak_gb"] for r in results]}
        slopes = {k: exponent(sizes, v) for k, v in series.items()}
        figures["fitted exponent in expressions"] = ", ".join(f"{k} {b:.2f}" for k, b in slopes.items())
        figures["projection to 10× (150k docs, 1.2 M expressions)"] = (
            f"build {paper['build'] * 10 ** slopes['build'] / 60:.0f} min, peak memory "
            f"{paper['peak_gb'] * 10 ** slopes['peak memory']:.1f} GB (from the 1× run and the exponents)")
        umaps = ("init_codebook", "UMAP+HDBSCAN (BERTopic)")
        grows = [f"{k} {b:.2f}" for k, b in slopes.items() if k not in umaps and b > 1.1]
        figures["above an exponent of 1.1 (all but UMAP's own)"] = ", ".join(grows) or "none"
        targets["exponent ≤ 1.1 (all but UMAP's own)"] = not grows
    summary("bench paper_scale", figures, targets)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scales", default="0.25,0.5,1,2", help="comma-separated fractions of the paper's size")
    parser.add_argument("--one", type=float, help=argparse.SUPPRESS)  # a child process: one size, JSON out
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(run_one(args.one)))
        return
    results = []
    for scale in (float(x) for x in args.scales.split(",")):
        out = subprocess.run([sys.executable, __file__, "--one", str(scale)], check=True, capture_output=True,
                             text=True).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
        print(f"  {scale}×: {json.dumps(results[-1])}", flush=True)  # each size as it ends (the whole run is long)
    report(results)


if __name__ == "__main__":
    main()
