"""A constructed split/merge rule for the tests' builds, importable by a test's subprocess too
(``python -c "import forced_changes; forced_changes.install(); …"`` with tests/ on the path)."""
from __future__ import annotations

import numpy as np

from workbench.codebook.objective import usage_zscores
from workbench.codebook.refine import Proposal
from workbench.codebook.vectors import unit_rows


def forced_changes(n_k, distortion_history, centroids, z_split=1.0, z_merge=-0.5, max_splits=None,
                   max_merges=None, rel_tolerance=0.0, excluded=()):
    """A stand-in for ``refine.propose_changes`` that proposes a known case whatever the clustering
    gave: one split of the most-used code and one merge of the least-used other code into its
    nearest neighbour (by centroid cosine), honouring ``excluded`` as the real rule does, with the
    real rule's evidence figures. The real rule is tested on constructed inputs in
    test_codebook_refine.py; the built fixtures use this one so that what they hold (a split and a
    merge per iteration) does not depend on what UMAP/HDBSCAN produce on one CPU."""
    n_k = np.asarray(n_k, dtype=np.float64)
    z = usage_zscores(n_k)
    cen = unit_rows(np.asarray(centroids, dtype=np.float64))
    proposals = []
    for k in sorted(range(n_k.size), key=lambda k: (-n_k[k], k)):
        if (k, None) not in excluded and distortion_history[k]:
            proposals.append(Proposal("split", k, None, {"n_k": float(n_k[k]), "z": float(z[k]),
                                                         "distortion_history": list(distortion_history[k]),
                                                         "median_distortion": 0.0}))
            break
    busy = {p.code for p in proposals}
    for k in sorted(range(n_k.size), key=lambda k: (n_k[k], k)):
        if k in busy:
            continue
        sims = np.where(np.isin(np.arange(n_k.size), [k, *busy]), -np.inf, cen @ cen[k])
        target = int(np.argmax(sims))
        if np.isfinite(sims[target]) and (k, target) not in excluded:
            proposals.append(Proposal("merge", k, target, {"n_k": float(n_k[k]), "z": float(z[k]),
                                                           "distortion_history": list(distortion_history[k]),
                                                           "target_similarity": float(sims[target]),
                                                           "target_n_k": float(n_k[target])}))
            break
    return proposals


def install() -> None:
    """Make this process's builds propose with ``forced_changes`` (for a subprocess of a test)."""
    from workbench.build import steps as build_steps

    build_steps.propose_changes = forced_changes

