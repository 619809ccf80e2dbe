"""Copies of a project, kept beside it, that build the codebook again with other settings
(``workbench stability``'s seeds; the no-redundancy ablation's β1 = β2 = 0). A copy keeps the
project's extractions and cached embeddings, so nothing is extracted or embedded again, and a
build killed half-way resumes in it; the project's own codebook versions are left as they are."""
from __future__ import annotations

from pathlib import Path

from ..build import THREAD_KEY
from ..store import Store, open_project


def variant_project(store: Store, path: Path, settings: dict[str, str], origin_key: str) -> tuple[Store, bool]:
    """The copy of ``store`` at ``path`` with ``settings`` applied (once, when it is made), and
    whether the copy's own build has been started in it already (its build thread is not the
    project's, recorded under the meta key ``origin_key``)."""
    if not path.exists():
        partial = path.with_suffix(".part")
        store.copy_to(partial)  # a copy interrupted half-way is never taken for a finished one
        partial.rename(path)
    copy = open_project(path)
    origin = copy.get_meta(origin_key)
    if origin is None:  # the project's own build thread, copied: the variant's build is a new thread
        origin = copy.get_meta(THREAD_KEY) or "build-1"
        copy.save_config(copy.config().with_settings(settings))
        copy.set_meta(origin_key, origin)
    return copy, (copy.get_meta(THREAD_KEY) or "build-1") != origin
