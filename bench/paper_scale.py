"""Paper-scale benchmark without an LLM: a synthetic project the size of the paper's corpus
(15,213 documents, ~120,000 expressions, 384-d embeddings, 4 groups, 12 model sources).

Measures, through the product's own code path (the store, the LangGraph build with the offline
latent decoder, the scoring library): init_codebook, 10 EM iterations, all 48 scores, and peak
memory. Also times UMAP + HDBSCAN alone as BERTopic configures them on the same embeddings and
prints the ratio of the workbench's clustering stage to that.
Targets: build + scores ≤ 5 min and ≤ 4 GB on 2 cores.

    .venv/bin/python bench/paper_scale.py [--scale 0.1]
"""
from __future__ import annotations

import argparse
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
    store.save_config(store.config().with_settings({"em.tau1": "1e9", "em.iterations": "10",
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the paper's corpus size")
    args = parser.parse_args()
    from workbench.build import run_build

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        store, n_expr = make_project(Path(tmp) / "paper.db", args.scale, rng)
        setup = time.perf_counter() - start
        # warm the numba JIT of UMAP so neither side pays the one-off compile
        import umap

        umap.UMAP(n_components=5, n_neighbors=15, metric="cosine", random_state=0).fit_transform(
            rng.normal(size=(300, 16)))  # the cosine kernels the build and BERTopic both use
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
        emb = store.cached_embeddings(OFFLINE_EMBEDDER, [text_hash(t) for t in
                                                         [r[0] for r in store.db.execute("select text from expressions order by id")]])
        bertopic = bertopic_clustering(np.stack(list(emb.values())))
    total = build
    init = marks.get("init_codebook", float("nan"))
    figures = {
        "documents / expressions": f"{int(N_DOCS * args.scale):,} / {n_expr:,}",
        "set-up (s)": f"{setup:.1f}",
        "build (s)": f"{build:.1f} ({len(status.history)} iterations, K {status.history[0]['K']} → "
                     f"{status.history[-1]['K']})",
        "per node (s)": ", ".join(f"{k} {v:.1f}" for k, v in sorted(marks.items(), key=lambda kv: -kv[1])),
        "scores (s)": f"{marks.get('score_alignment', float('nan')):.1f} "
                      f"({status.alignment.get('n_rows', 0)} rows, score_alignment node)",
        "peak memory (GB)": f"{peak:.2f}",
        "BERTopic UMAP+HDBSCAN (s)": f"{bertopic:.1f}",
        "init_codebook ÷ BERTopic clustering": f"{init / bertopic:.2f}",
    }
    summary("bench paper_scale", figures, {"build + scores ≤ 5 min": total <= 300, "peak ≤ 4 GB": peak <= 4.0})


if __name__ == "__main__":
    main()
