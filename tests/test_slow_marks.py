"""The ``slow`` mark: tests of the built project are marked by the conftest, and a test that runs
UMAP or starts a Python subprocess without the mark fails, so ``pytest -m "not slow"`` stays quick."""
from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

CONFTEST = Path(__file__).with_name("conftest.py")


@pytest.fixture
def suite(pytester):
    pytester.makeconftest(CONFTEST.read_text("utf-8"))
    pytester.makeini('[pytest]\nasyncio_default_fixture_loop_scope = function\nmarkers =\n    slow: runs UMAP/HDBSCAN or subprocesses\n')
    return pytester


def test_tests_of_the_built_project_are_marked_slow(suite):
    suite.makepyfile(test_inner="""
        import pytest

        @pytest.fixture
        def through(built_project):
            return built_project

        def test_direct(built_project): pass
        def test_through_a_fixture(through): pass
        def test_quick(tmp_path): pass
    """)
    result = suite.runpytest_inprocess("--collect-only", "-q", "-m", "slow")
    result.stdout.fnmatch_lines(["*test_direct", "*test_through_a_fixture", "*2/3 tests collected*"])


@pytest.mark.slow
def test_an_unmarked_test_that_starts_a_python_subprocess_fails(suite):
    suite.makepyfile(test_inner="""
        import subprocess, sys
        import pytest

        def test_unmarked():
            subprocess.run([sys.executable, "-c", "pass"], check=True)

        @pytest.mark.slow
        def test_marked():
            subprocess.run([sys.executable, "-c", "pass"], check=True)
    """)
    result = suite.runpytest_inprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*test_unmarked runs a Python subprocess: mark it @pytest.mark.slow*"])


@pytest.mark.slow  # run in process, the inner test's call is seen by this test's own watch too
def test_an_unmarked_test_that_runs_the_initial_codes_umap_fails(suite):
    """The watch sits on the reducer the build uses (UMAP itself replaced by a stand-in here, so
    that this test takes a second)."""
    suite.makepyfile(test_inner="""
        import sys, types
        import numpy as np
        import pytest
        from workbench.codebook.clustering import ClusterPipeline, CosineUMAP, initial_codes

        class Given:
            def fit_predict(self, X):
                return np.zeros(len(X), dtype=int)

        @pytest.fixture(autouse=True)
        def stand_in_umap(monkeypatch):
            fake = types.SimpleNamespace(UMAP=lambda **kw: types.SimpleNamespace(fit_transform=lambda X: X[:, :2]))
            monkeypatch.setitem(sys.modules, "umap", fake)

        def test_unmarked():
            initial_codes(np.eye(12), ClusterPipeline(CosineUMAP(), Given()))

        @pytest.mark.slow
        def test_marked():
            initial_codes(np.eye(12), ClusterPipeline(CosineUMAP(), Given()))
    """)
    result = suite.runpytest_inprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*test_unmarked runs UMAP (initial codes): mark it @pytest.mark.slow*"])
