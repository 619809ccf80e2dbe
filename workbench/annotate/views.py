"""What the annotation screens show besides a code (:mod:`workbench.pipeline.code_view`): a sampled document
with the recognizer's codes, and short titles of label items."""
from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import WorkbenchError
from ..pipeline.code_view import CodeView, code_views
from ..store import Store
from .labels import recognizer_rows
from .tasks import PAIR, split_pair


@dataclass
class MappingItem:
    document_id: str
    group: str
    source: str
    topic: str | None
    text: str
    codes: list[CodeView]  # the recognizer's codes, most probable first


def mapping_items(store: Store, version: int, document_ids: Sequence[str] | None = None) -> list[MappingItem]:
    """Sampled documents with the codes the recognizer assigned (as stored with the sample)."""
    document_ids = list(document_ids) if document_ids is not None else store.sample_items("mapping", version)
    by_doc: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for row in recognizer_rows(store, version):
        doc_id, uid = split_pair(row["item_id"])
        by_doc[doc_id].append((json.loads(row["note"] or "{}").get("rank", 0), uid))
    codes = {c.uid: c for c in code_views(store, version, n_central=0)}
    docs = store.documents_by_id(document_ids)
    items = []
    for doc_id in document_ids:
        doc = docs.get(doc_id)
        if doc is None:
            continue
        shown = [codes[uid] for _, uid in sorted(by_doc.get(doc_id, [])) if uid in codes]
        items.append(MappingItem(doc_id, doc["group_name"], doc["source"], doc["topic"], doc["text"], shown))
    return items


def item_titles(store: Store, task: str, codebook_version: int | None, item_ids: Sequence[str]) -> dict[str, str]:
    """Short readable titles of items: 'document · code name', '#idx code name', '#id split …'."""
    titles = {str(i): str(i) for i in item_ids}
    if task == "proposals":
        ids = [int(i) for i in item_ids if str(i).isdigit()]
        for p in store.proposals(ids) if ids else []:
            titles[str(p["id"])] = f"#{p['id']} {p['kind']} '{json.loads(p['evidence'] or '{}').get('name')}'"
        return titles
    try:
        by_uid = {c.uid: c for c in store.codes_of(codebook_version)} if codebook_version is not None else {}
    except WorkbenchError:  # labels of a version that is not in this project: show the raw ids
        return titles
    for item in item_ids:
        if task == "mapping" and PAIR in item:
            doc_id, uid = split_pair(item)
            code = by_uid.get(uid)
            titles[item] = f"{doc_id} · {code.name if code else uid}"
        elif task == "code_quality" and item in by_uid:
            titles[item] = f"#{by_uid[item].idx} {by_uid[item].name}"
    return titles
