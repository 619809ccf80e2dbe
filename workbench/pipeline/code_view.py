"""The one view of a code that every surface shows (review TUI, ``workbench codebook``, the
report and the exports): name, who named it, description, size, usage n_k and its most central
expressions."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..llm.gateway import Gateway
from ..models import Code
from ..store import Store
from .name_codes import central_texts


def working_version(store: Store, version: int | None = None) -> int:
    """The codebook version asked for, else the latest; a one-line error when there is none."""
    if version is None:
        version = store.latest_version()
    if version is None:
        store.load_codebook(version)  # raises the user-facing "no codebook yet"
    store.codes_of(version)  # raises the user-facing error when absent
    return int(version)


@dataclass
class CodeView(Code):
    """A code with what the surfaces show besides its own fields."""

    usage: float | None = None  # n_k at the build's latest scoring of the version
    central: list[str] = field(default_factory=list)  # most central expressions first


def code_views(store: Store, version: int | None, uids: Sequence[str] | None = None,
               n_central: int = 5) -> list[CodeView]:
    """Codes of a version (default: the latest) with their usage and their ``n_central`` most central
    expressions (cosine to the centroid, over cached embeddings), in the order of ``uids`` (default:
    every code by index)."""
    version = working_version(store, version)
    codes = store.codes_of(version)  # memberships only of the codes wanted, and only for n_central
    by_uid = {c.uid: c for c in codes}
    wanted = [by_uid[u] for u in (uids if uids is not None else [c.uid for c in codes]) if u in by_uid]
    central: dict[int, list[str]] = {}
    if n_central:
        members = store.code_member_ids(version, [c.idx for c in wanted])
        texts = store.expression_texts([int(e) for ids in members.values() for e in ids])
        own = {c.idx: [texts[int(e)] for e in members[c.idx] if int(e) in texts] for c in wanted}
        everything = [t for c in wanted for t in own[c.idx]]
        emb = Gateway(store, store.config()).embed(everything) if everything else None
        start = 0
        for code in wanted:
            if own[code.idx]:
                block = emb[start:start + len(own[code.idx])]
                central[code.idx] = central_texts(own[code.idx], block, code.centroid, n_central)
            start += len(own[code.idx])
    usage = store.code_usage(version)
    return [CodeView(**vars(c), usage=usage.get(c.uid), central=central.get(c.idx, [])) for c in wanted]
