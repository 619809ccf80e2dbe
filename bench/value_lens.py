"""The value lens's design, measured on ValueEval's *training* split only (issue 23).

Each alternative is fitted on two thirds of the training topics and measured on the other third
(three folds by conclusion, so the measured topics are never fitted on), with a proxy of DOVE:
k-means codes (K = 30) over the held-out documents' vectors, Eq. 15 posteriors with the codes'
spread σ, and the debiased UOT of Eq. 22, scored by the known-answer draw of
``workbench.validity.known_answer`` (pairs within one topic, value shifts s = 3, 30, 300 and
unshifted pairs). Also printed: the raw-embedding baseline (RBF-MMD on the language-centered
vectors) and the issue's reference, JS between the populations' mean probe probabilities.
The validation split is not read: it is for ``bench/v2_valueeval.py`` and ``validate``.

Alternatives (x: a language-centered e5 vector; W, b: one balanced logistic probe per value; Q:
orthonormal rows spanning W; μ: the training mean):
  centered         x itself (no lens)
  probe            unit((W x + b − μ_z) / s_z), the standardised probe logits
  probe C=0.1      the same with stronger L2 on the probes
  span             unit(Q (x − μ))
  amplified λ      unit((x − μ) + (λ − 1) QᵀQ (x − μ))
  probe+rest α     [√α unit(z), √(1 − α) unit((I − QᵀQ)(x − μ))]   (α = ½: the shipped lens)

    .venv/bin/python bench/value_lens.py [--data ../shared/data/valueeval23]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import summary  # noqa: E402

ALTERNATIVES = [("centered", {}), ("probe", {}), ("probe", {"c": 0.1}), ("span", {}), ("amplified", {"lam": 3.0}),
                ("amplified", {"lam": 10.0}), ("probe+rest", {"alpha": 0.5}), ("probe+rest", {"alpha": 0.8})]


def representation(kind: str, x: np.ndarray, y: np.ndarray, c: float = 1.0, alpha: float = 0.5, lam: float = 3.0):
    """The map of alternative ``kind`` fitted on training vectors ``x`` (n, d) with labels ``y``."""
    from workbench.codebook.vectors import unit_rows
    from workbench.llm.value_lens import fit_probes

    if kind == "centered":
        return unit_rows
    mu = x.mean(axis=0)
    w, b = fit_probes(x, y, c)
    logits = x @ w.T + b
    zm, zs = logits.mean(axis=0), logits.std(axis=0)
    q = np.linalg.qr(w.T)[0].T
    maps = {
        "probe": lambda v: unit_rows((v @ w.T + b - zm) / zs),
        "span": lambda v: unit_rows((v - mu) @ q.T),
        "amplified": lambda v: unit_rows((v - mu) + (lam - 1) * ((v - mu) @ q.T) @ q),
        "probe+rest": lambda v: np.hstack([np.sqrt(alpha) * unit_rows((v @ w.T + b - zm) / zs),
                                           np.sqrt(1 - alpha) * unit_rows((v - mu) - ((v - mu) @ q.T) @ q)]),
    }
    return maps[kind]


def measure(v: np.ndarray, base: np.ndarray, labels: np.ndarray, pairs, probe: np.ndarray) -> dict[str, float]:
    """Spearman ρ of the proxy DOVE, the raw-embedding baseline and the mean-probe reference."""
    from sklearn.cluster import KMeans

    from workbench.config import AlignmentConfig
    from workbench.alignment.scoring import score_table
    from workbench.codebook.assignment import code_spread, soft_assign
    from workbench.codebook.vectors import unit_rows
    from workbench.survey.metrics import js_distance
    from workbench.validity.known_answer import label_divergence, median_bandwidth, rank_agreement, rbf_mmd

    km = KMeans(30, n_init=3, random_state=0).fit(v)
    cen = unit_rows(km.cluster_centers_)
    q = soft_assign(v, cen, code_spread(v, km.labels_, cen))
    cfg, h = AlignmentConfig(n_boot=0, ceiling_splits=0), median_bandwidth(base)
    truth, dove, mmd, ref = [], [], [], []
    for p in pairs:
        truth.append(label_divergence(labels, p.a, p.b))
        dove.append(score_table({"A": q[p.a]}, {"B": q[p.b]}, cen, cfg)[0].D)
        mmd.append(rbf_mmd(base[p.a], base[p.b], h))
        pa, pb = probe[p.a].mean(axis=0), probe[p.b].mean(axis=0)
        ref.append(js_distance(pa / pa.sum(), pb / pb.sum()))
    t = np.array(truth)
    return {name: rank_agreement(np.array(d), t, n_boot=0).rho
            for name, d in (("DOVE (proxy)", dove), ("raw-embedding", mmd), ("mean probe", ref))}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/valueeval23")
    args = parser.parse_args()
    from sklearn.model_selection import GroupKFold

    from workbench.ingest.documents import valueeval_documents
    from workbench.lens import read_training_split
    from workbench.llm.gateway import Gateway
    from workbench.llm.value_lens import LENS_BASE, fit_probes
    from workbench.store import create_project
    from workbench.validity.known_answer import draw_pairs

    texts, labels, _, _ = read_training_split(args.data)
    topics = np.array([d.topic for d in valueeval_documents(args.data / "arguments-training.tsv")], dtype=object)
    with tempfile.TemporaryDirectory() as tmp:
        store = create_project(Path(tmp) / "lens.db")
        store.save_config(store.config().with_settings({"roles.embedder.representation": LENS_BASE}))
        x = Gateway(store, store.config()).embed_documents(texts).astype(np.float64)
    table: dict[str, list[dict[str, float]]] = {}
    for fold, (fit, held) in enumerate(GroupKFold(3).split(x, labels, topics)):
        pairs = draw_pairs(topics[held], labels[held], rounds=2, seed=fold)
        w, b = fit_probes(x[fit], labels[fit])
        probe = 1 / (1 + np.exp(-(x[held] @ w.T + b)))
        for kind, options in ALTERNATIVES:
            name = kind + "".join(f" {k}={v:g}" for k, v in options.items())
            rep = representation(kind, x[fit], labels[fit], **options)
            table.setdefault(name, []).append(measure(rep(x[held]), x[held], labels[held], pairs, probe))
            print(f"fold {fold} {name:22s}", {k: round(v, 3) for k, v in table[name][-1].items()}, flush=True)
    print("\nmean Spearman ρ over the 3 folds (training split; held-out topics)")
    means = {name: {k: float(np.mean([r[k] for r in rows])) for k in rows[0]} for name, rows in table.items()}
    for name, m in means.items():
        print(f"  {name:22s} " + "  ".join(f"{k} {v:.3f}" for k, v in m.items()))
    best = max(means, key=lambda n: means[n]["DOVE (proxy)"])
    summary("bench value_lens", {"best alternative (proxy DOVE ρ)": best}, {})


if __name__ == "__main__":
    main()
