"""Shared fixtures: a loopback fake OpenAI server, fresh projects, the shared real data."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from fake_openai import FakeOpenAI
from forced_changes import forced_changes

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

# ../shared/data beside the project; WORKBENCH_SHARED_DATA names it elsewhere (e.g. from a worktree)
SHARED_DATA = Path(os.environ.get("WORKBENCH_SHARED_DATA")
                   or Path(__file__).resolve().parents[1].parent / "shared" / "data")
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def shared_data(*parts: str) -> Path:
    """A path under ../shared/data, or skip the test with the reason."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs {path} (the shared real data is absent on this machine)")
    return path


def _test_seed() -> int | None:
    try:
        return int(os.environ.get("WORKBENCH_TEST_SEED", "0"))
    except ValueError:
        return None  # refused in pytest_configure, with the fix


# Every random choice of the built fixtures (UMAP/HDBSCAN random state, K-means splits, code-set
# sampling, bootstrap and annotation samples) takes this seed. 0 is the projects' default seed;
# another value (WORKBENCH_TEST_SEED=7) gives another clustering, which no test may depend on.
TEST_SEED = _test_seed()


def pytest_configure(config):
    if TEST_SEED is None:
        raise pytest.UsageError(f"WORKBENCH_TEST_SEED={os.environ['WORKBENCH_TEST_SEED']!r}: give a whole number, "
                                "e.g. WORKBENCH_TEST_SEED=7")


SLOW_FIXTURE = "built_project_template"  # the session's build runs UMAP (tens of seconds per process)


def pytest_collection_modifyitems(items):
    """Every test that uses the session's built project, directly or through another fixture, is
    ``slow``: the first of them in a process runs the build and its UMAP. Marked here rather than
    on each test so that a new test of the built project cannot forget it."""
    for item in items:
        if SLOW_FIXTURE in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def slow_tests_are_marked(request, monkeypatch):
    """Fail a test that runs UMAP (a codebook build, a report's map) or starts a Python subprocess
    without the ``slow`` mark, so that ``pytest -m "not slow"`` stays a quick run."""
    import subprocess
    import sys

    from workbench.codebook import clustering
    from workbench.report import plots

    ran: list[str] = []

    def watch(name, function):
        def watched(*args, **kwargs):
            ran.append(name)
            return function(*args, **kwargs)
        return watched

    monkeypatch.setattr(clustering.CosineUMAP, "fit_transform",
                        watch("UMAP (initial codes)", clustering.CosineUMAP.fit_transform))
    monkeypatch.setattr(plots, "codebook_layout", watch("UMAP (codebook map)", plots.codebook_layout))
    popen_init = subprocess.Popen.__init__

    def popen(self, args, *rest, **kwargs):
        if isinstance(args, (list, tuple)) and args and str(args[0]) == sys.executable:
            ran.append("a Python subprocess")
        popen_init(self, args, *rest, **kwargs)

    monkeypatch.setattr(subprocess.Popen, "__init__", popen)
    yield
    if ran and request.node.get_closest_marker("slow") is None:
        pytest.fail(f"{request.node.nodeid} runs {ran[0]}: mark it @pytest.mark.slow")


@pytest.fixture
def fake_openai():
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def project(tmp_path):
    from workbench.store import create_project

    store = create_project(tmp_path / "p.db")
    yield store
    store.close()


@pytest.fixture
def forced_proposals(monkeypatch):
    """Builds run in this test propose one split and one merge per iteration (see ``forced_changes``)."""
    from workbench.build import steps as build_steps

    monkeypatch.setattr(build_steps, "propose_changes", forced_changes)


@pytest.fixture
def paused_build(built_project, forced_proposals):
    """A copy of the session's built project with a new build thread paused at its first review,
    waiting on exactly one split and one merge (constructed: ``forced_changes``)."""
    from workbench.build import run_build

    status = run_build(built_project, restart=True, show_progress=False)
    assert status.state == "paused" and sorted(p["kind"] for p in built_project.proposals(status.proposal_ids)) == [
        "merge", "split"]
    return built_project, status


def use_llm(store, base_url: str, roles=("extractor", "namer", "decoder", "generator"), model="fake-model",
            **settings_extra) -> None:
    """Point LLM roles of a project at an endpoint."""
    settings = {}
    for role in roles:
        settings |= {f"roles.{role}.provider": "openai", f"roles.{role}.model": model,
                     f"roles.{role}.base_url": base_url}
        settings |= {f"roles.{role}.{key}": str(value) for key, value in settings_extra.items()}
    cfg = store.config().with_settings(settings)
    store.save_config(cfg)


@pytest.fixture(scope="session")
def built_project_template(tmp_path_factory):
    """A project built once per test session: the demo corpus, extracted and built offline with
    auto-approve for T = 3 refinements (UMAP compiles once per process, ~40 s), each refinement one
    split and one merge (``forced_changes``), every random choice seeded with ``TEST_SEED``.
    Tests copy it."""
    from workbench.build import run_build
    from workbench.cli.demo import import_demo_corpus
    from workbench.pipeline.extract import extract
    from workbench.store import create_project

    directory = tmp_path_factory.mktemp("built")
    store = create_project(directory / "built.db")
    import_demo_corpus(store, directory)
    extract(store, show_progress=False)
    # em.objective paper: the constructed changes are made whatever they do to reconstruction, so
    # the build runs all T refinements (objective reconstruction would hold back a split of
    # indistinct halves and stop at the first change that lowers held-out −d̄: that build is
    # test_refinement_reconstruction.py's, held to what is true for any outcome).
    store.save_config(store.config().with_settings({"em.tau1": "100", "em.min_rel_improvement": "0",  # to T
                                                     "em.objective": "paper",
                                                     "alignment.n_boot": "10", "em.seed": str(TEST_SEED),
                                                     "alignment.seed": str(TEST_SEED)}))
    with pytest.MonkeyPatch.context() as patch:
        from workbench.build import steps as build_steps

        patch.setattr(build_steps, "propose_changes", forced_changes)
        status = run_build(store, auto_approve=True, iterations=3, show_progress=False)
    assert status.state == "finished" and status.alignment["n_rows"] > 0  # scored by the final node
    store.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return directory / "built.db"


@pytest.fixture
def built_project(built_project_template, tmp_path):
    """A fresh copy of the session's built project (codebook versions, iterations, proposals)."""
    import shutil

    from workbench.store import open_project

    path = tmp_path / "built.db"
    shutil.copyfile(built_project_template, path)
    store = open_project(path)
    yield store
    store.close()


def centroid_width(store) -> int:
    """How wide a code centroid of STORE is: its embedder's vectors seen through its representation
    (384 raw, 404 through the default value lens)."""
    from workbench.llm.gateway import Gateway

    return Gateway(store, store.config()).embed(["width"]).shape[1]


def label_a_paused_version(store, size: int = 6):
    """Two annotators label every pair of a mapping sample drawn on an earlier version of the built
    project (one whose codes the final version partly split or merged away), as annotators do while
    a build is paused. Returns (paused version, final version, sampled documents, {pair item id:
    ann's label}, pair item ids whose code the final version keeps)."""
    from workbench.annotate.labels import record
    from workbench.annotate.sampling import mapping_sample
    from workbench.annotate.tasks import pair_id, split_pair
    from workbench.annotate.views import mapping_items

    final = store.latest_version()
    paused = next(v for v in store.version_lineage(final)[1:] if store.code_uids(v) - store.code_uids(final))
    ids = mapping_sample(store, paused, size=size, seed=TEST_SEED)
    pairs = [pair_id(item.document_id, code.uid) for item in mapping_items(store, paused, ids)
             for code in item.codes]
    labels = {}
    for n, pair in enumerate(pairs):
        labels[pair] = "yes" if n % 2 else "no"
        record(store, "mapping", pair, "appropriate", labels[pair], "ann", paused)
        record(store, "mapping", pair, "appropriate", labels[pair] if n % 3 else "yes", "bob", paused)
    kept = {pair for pair in pairs if split_pair(pair)[1] in store.code_uids(final)}
    return paused, final, ids, labels, kept
