"""Score tables (Eq. 22 + App. E.4 per group × source), bootstrap CIs and transport flows."""
import numpy as np
import pytest
from pydantic import ValidationError

from workbench.config import AlignmentConfig
from workbench.alignment.cost import cost_matrix
from workbench.alignment.scoring import Flow, mean_posterior, score_table, top_flows
from workbench.alignment.uot import debiased_uot

K = 6


def _docs(rng, n, weights):
    """n sparse document posteriors: 2 codes each, drawn with the given code weights."""
    X = np.zeros((n, K))
    for row in X:
        idx = rng.choice(K, size=2, replace=False, p=weights)
        row[idx] = rng.dirichlet(np.ones(2))
    return X


@pytest.fixture(scope="module")
def corpus():
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(K, 8)) + 1.0
    w_g1 = np.array([0.3, 0.3, 0.1, 0.1, 0.1, 0.1])
    w_g2 = np.array([0.1, 0.1, 0.1, 0.1, 0.3, 0.3])
    groups = {"G1": _docs(rng, 80, w_g1), "G2": _docs(rng, 70, w_g2)}
    sources = {"like_g1": _docs(rng, 40, w_g1), "like_g2": _docs(rng, 50, w_g2)}
    return emb, groups, sources


def test_mean_posterior_by_hand():
    docs = np.array([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    # mean = (0.5, 1/6, 0); the empty third document drops out after renormalising to 1:
    # (0.5, 0.1667, 0) / 0.6667 = (0.75, 0.25, 0)
    np.testing.assert_allclose(mean_posterior(docs), [0.75, 0.25, 0.0])


def test_table_shape_order_and_counts(corpus):
    emb, groups, sources = corpus
    rows = score_table(groups, sources, emb, n_boot=0)
    assert [(r.group, r.source) for r in rows] == [
        ("G1", "like_g1"), ("G1", "like_g2"), ("G2", "like_g1"), ("G2", "like_g2"),
    ]
    assert [(r.n_group_docs, r.n_source_docs) for r in rows] == [(80, 40), (80, 50), (70, 40), (70, 50)]
    assert all(r.ci_low is None and r.ci_high is None for r in rows)
    for r in rows:
        assert r.r == pytest.approx((0.1 - r.D) * 10)


def test_table_values_equal_direct_eq22(corpus):
    # The table batches and caches solves; each cell must still be Eq. 22 with the group's cost.
    emb, groups, sources = corpus
    cfg = AlignmentConfig(n_boot=0)
    rows = {(r.group, r.source): r.D for r in score_table(groups, sources, emb, cfg)}
    for g, gd in groups.items():
        D = cost_matrix(emb, gd, cfg.eps2)
        for s, sd in sources.items():
            direct = debiased_uot(mean_posterior(gd), mean_posterior(sd), D, cfg.eps, cfg.tau)
            assert rows[(g, s)] == pytest.approx(direct, abs=1e-9)


def test_pooled_cost_uses_all_groups_documents(corpus):
    emb, groups, sources = corpus
    rows = score_table(groups, sources, emb, n_boot=0, cost_from="pooled")
    D = cost_matrix(emb, np.concatenate([groups["G1"], groups["G2"]]))
    direct = debiased_uot(mean_posterior(groups["G2"]), mean_posterior(sources["like_g1"]), D, 0.02, 1.0)
    assert rows[2].D == pytest.approx(direct, abs=1e-9)


def test_matching_source_scores_higher(corpus):
    emb, groups, sources = corpus
    r = {(row.group, row.source): row.r for row in score_table(groups, sources, emb, n_boot=0)}
    assert r[("G1", "like_g1")] > r[("G1", "like_g2")]
    assert r[("G2", "like_g2")] > r[("G2", "like_g1")]


def test_source_identical_to_group_scores_one(corpus):
    emb, groups, _ = corpus
    (row,) = score_table({"G1": groups["G1"]}, {"copy": groups["G1"].copy()}, emb, n_boot=0)
    assert row.D == pytest.approx(0.0, abs=1e-9)
    assert row.r == pytest.approx(1.0, abs=1e-8)


def test_bootstrap_is_reproducible_for_a_seed(corpus):
    emb, groups, sources = corpus
    first = score_table(groups, sources, emb, n_boot=8, seed=7)
    again = score_table(groups, sources, emb, n_boot=8, seed=7)
    other = score_table(groups, sources, emb, n_boot=8, seed=8)
    assert first == again
    assert [r.ci_low for r in first] != [r.ci_low for r in other]
    for r in first:
        assert r.ci_low < r.ci_high
        assert r.D == pytest.approx(next(o.D for o in other if (o.group, o.source) == (r.group, r.source)))


def test_a_cells_ci_does_not_depend_on_the_rest_of_the_table(corpus):
    emb, groups, sources = corpus
    full = score_table(groups, sources, emb, n_boot=10, seed=3)
    alone = score_table({"G2": groups["G2"]}, {"like_g2": sources["like_g2"]}, emb, n_boot=10, seed=3)
    cell = next(r for r in full if (r.group, r.source) == ("G2", "like_g2"))
    assert (cell.ci_low, cell.ci_high) == pytest.approx((alone[0].ci_low, alone[0].ci_high), abs=1e-10)


def test_config_object_and_overrides_are_validated(corpus):
    emb, groups, sources = corpus
    with pytest.raises(ValidationError):
        score_table(groups, sources, emb, eps=-1.0)
    with pytest.raises(ValidationError):
        score_table(groups, sources, emb, no_such_setting=1)
    via_config = score_table(groups, sources, emb, AlignmentConfig(eps=0.05, n_boot=0))
    via_kwargs = score_table(groups, sources, emb, eps=0.05, n_boot=0)
    assert via_config == via_kwargs


def test_bad_inputs_are_refused(corpus):
    emb, groups, sources = corpus
    with pytest.raises(ValueError, match="codes"):
        score_table(groups, {"short": np.ones((3, K - 1))}, emb, n_boot=0)
    with pytest.raises(ValueError, match="no value mass"):
        score_table(groups, {"empty": np.zeros((3, K))}, emb, n_boot=0)


def test_top_flows_by_hand():
    plan = np.array([[0.5, 0.1, 0.0], [0.02, 0.3, 0.05], [0.0, 0.2, 0.4]])
    names = ["care", "duty", "freedom"]
    assert top_flows(plan, names, 3) == [
        Flow("care", "care", 0.5, 0, 0),
        Flow("freedom", "freedom", 0.4, 2, 2),
        Flow("duty", "duty", 0.3, 1, 1),
    ]
    moved = top_flows(plan, names, 2, include_diagonal=False)
    assert [(f.source_code, f.target_code, f.mass) for f in moved] == [
        ("freedom", "duty", 0.2), ("care", "duty", 0.1),
    ]
    # ties are ordered by (i, j)
    tie = top_flows(np.array([[0.0, 0.3], [0.3, 0.0]]), ["x", "y"], 2, include_diagonal=False)
    assert [(f.i, f.j) for f in tie] == [(0, 1), (1, 0)]
    assert len(top_flows(plan, names, 100)) == 9
