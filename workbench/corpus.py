"""The corpus the codebook loop works on: documents with expressions, and their embeddings."""
from __future__ import annotations

import numpy as np

from .errors import WorkbenchError
from .llm.gateway import Gateway
from .models import Corpus
from .progress import progress_bar
from .store import Store

DOC_EMBED_CHARS = 2000  # e5 reads 512 tokens; longer text would only cost time


def load_corpus(store: Store, gateway: Gateway, show_progress: bool = True) -> Corpus:
    """Load documents that have expressions, with expression and document embeddings (cached)."""
    docs, exprs = store.corpus_rows()
    if not exprs:
        raise WorkbenchError(f"{store.path} has no value expressions: run 'workbench extract {store.path}' first")
    position = {row[0]: i for i, row in enumerate(docs)}
    texts = [e[2] for e in exprs]
    doc_texts = [d[4] for d in docs]
    with progress_bar("embed expressions + documents", len(texts) + len(doc_texts), show_progress) as advance:
        expr_emb = gateway.embed(texts, on_batch=advance)
        doc_emb = gateway.embed([t[:DOC_EMBED_CHARS] for t in doc_texts], on_batch=advance)
    return Corpus(
        doc_ids=[d[0] for d in docs], doc_groups=[d[1] for d in docs], doc_sources=[d[2] for d in docs],
        doc_topics=[d[3] for d in docs], doc_texts=doc_texts,
        expr_ids=np.array([e[0] for e in exprs], dtype=np.int64),
        expr_doc=np.array([position[e[1]] for e in exprs], dtype=np.int64),
        expr_texts=texts, expr_emb=expr_emb, doc_emb=doc_emb,
    )
