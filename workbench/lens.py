"""``workbench lens fit PROJECT --data DIR``: the value lens for an embedder other than the
offline one (whose lens ships with the workbench, :mod:`workbench.llm.value_lens`).

The lens is fitted on the public training split of Touché23-ValueEval (CC BY-SA 4.0; the
validation split is never fitted on), embedded with the project's own embedder, and stored in the
project; ``roles.embedder.representation value-lens`` then uses it. ``tools/fit_value_lens.py``
fits the shipped lens with the same function.
"""
from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import numpy as np

from .errors import WorkbenchError
from .ingest.documents import valueeval_documents
from .llm.gateway import Gateway
from .llm.value_lens import PROJECT_KEY, SOURCE_FILES, ValueLens, encode_lens, fit_value_lens
from .progress import progress_bar
from .store import Store


def read_training_split(data: str | Path) -> tuple[list[str], np.ndarray, list[str], str]:
    """(texts as ``--preset valueeval`` makes them, (n, L) gold labels, label names, a
    provenance line) of the ValueEval training split in folder ``data``."""
    folder = Path(data)
    arguments, labels_file = (folder / name for name in SOURCE_FILES)
    for path in (arguments, labels_file):
        if not path.is_file():
            raise WorkbenchError(f"{path}: not found: --data is the folder holding ValueEval's {SOURCE_FILES[0]} and "
                                 f"{SOURCE_FILES[1]} (the training split; the validation split is for the checks)")
    docs = valueeval_documents(arguments)
    with open(labels_file, encoding="utf-8", newline="") as f:
        table = list(csv.reader(f, delimiter="\t"))
    by_id = {r[0]: r[1:] for r in table[1:]}
    missing = [d.id for d in docs if d.id not in by_id]
    if missing:
        raise WorkbenchError(f"{labels_file}: no labels for argument {missing[0]} of {arguments}: use the labels file "
                             "of the same split")
    labels = np.array([[int(v) for v in by_id[d.id]] for d in docs], dtype=np.float64)
    digest = hashlib.sha256(arguments.read_bytes() + labels_file.read_bytes()).hexdigest()[:16]
    source = (f"Touché23-ValueEval training split ({len(docs):,} arguments, {SOURCE_FILES[0]} + {SOURCE_FILES[1]}, "
              f"sha256 {digest}; CC BY-SA 4.0, doi:10.5281/zenodo.6814563)")
    return [d.text for d in docs], labels, table[0][1:], source


def fit_lens(gateway: Gateway, data: str | Path, show_progress: bool = True) -> ValueLens:
    """The value lens of ``gateway``'s embedder (its own space, no lens), fitted on the training split."""
    texts, labels, names, source = read_training_split(data)
    with progress_bar("embed ValueEval training arguments", len(texts), show_progress) as advance:
        x = gateway.embed_documents(texts, on_batch=advance, lens=False)
    return fit_value_lens(x, labels, names, gateway.base_embedder_id, source)


def fit_project_lens(store: Store, data: str | Path, show_progress: bool = True) -> ValueLens:
    """Fit the lens for the project's (non-offline) embedder and store it in the project."""
    gateway = Gateway(store, store.config())
    if gateway.is_offline("embedder"):
        raise WorkbenchError("the offline embedder's value lens ships with the workbench: set "
                             "roles.embedder.representation value-lens; 'lens fit' is for another embedder")
    lens = fit_lens(gateway, data, show_progress)
    store.set_meta(PROJECT_KEY, encode_lens(lens))
    return lens
