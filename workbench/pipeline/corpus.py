"""The corpus the codebook loop works on: documents with expressions, and their embeddings."""
from __future__ import annotations

import numpy as np

from ..errors import WorkbenchError
from ..llm.gateway import Gateway
from ..models import Corpus
from ..progress import progress_bar
from ..store import Store


def load_corpus(store: Store, gateway: Gateway, show_progress: bool = True, runs: bool = False) -> Corpus:
    """Load documents that have expressions, with expression and document embeddings (cached);
    the project's own, and with ``runs`` the reliability runs' as well."""
    docs, exprs = store.corpus_rows(runs)
    if not exprs:
        raise WorkbenchError(f"{store.path} has no value expressions: run 'workbench extract {store.path}' first")
    position = {row[0]: i for i, row in enumerate(docs)}
    texts = [e[2] for e in exprs]
    doc_texts = [d[4] for d in docs]
    with progress_bar("embed expressions + documents", len(texts) + len(doc_texts), show_progress) as advance:
        expr_emb = gateway.embed(texts, on_batch=advance)
        doc_emb = gateway.embed_documents(doc_texts, on_batch=advance)
    return Corpus(
        doc_ids=[d[0] for d in docs], doc_groups=[d[1] for d in docs], doc_sources=[d[2] for d in docs],
        doc_topics=[d[3] for d in docs], doc_texts=doc_texts,
        expr_ids=np.array([e[0] for e in exprs], dtype=np.int64),
        expr_doc=np.array([position[e[1]] for e in exprs], dtype=np.int64),
        expr_texts=texts, expr_emb=expr_emb, doc_emb=doc_emb,
    )


def training_corpus(corpus: Corpus, sources: list[str], where: object) -> Corpus:
    """The part of ``corpus`` whose documents come from ``sources`` (the codebook's training data);
    every other document is only mapped onto the codebook it learns."""
    keep = np.array([s in sources for s in corpus.doc_sources], dtype=bool)
    if not keep.any():
        present = sorted(set(corpus.doc_sources))
        raise WorkbenchError(f"{where}: no extracted document comes from the training source(s) {sources} "
                             f"(sources present: {present}); name one with 'workbench build --train-source NAME'")
    if keep.all():
        return corpus
    position = np.full(len(keep), -1, dtype=np.int64)
    position[keep] = np.arange(int(keep.sum()))
    exprs = keep[corpus.expr_doc]
    pick = lambda values: [v for v, k in zip(values, keep) if k]  # noqa: E731
    return Corpus(
        doc_ids=pick(corpus.doc_ids), doc_groups=pick(corpus.doc_groups), doc_sources=pick(corpus.doc_sources),
        doc_topics=pick(corpus.doc_topics), doc_texts=pick(corpus.doc_texts),
        expr_ids=corpus.expr_ids[exprs], expr_doc=position[corpus.expr_doc[exprs]],
        expr_texts=[t for t, k in zip(corpus.expr_texts, exprs) if k], expr_emb=corpus.expr_emb[exprs],
        doc_emb=None if corpus.doc_emb is None else corpus.doc_emb[keep],
    )
