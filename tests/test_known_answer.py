"""``workbench validate --known-answer``: pairs with one topic mix and shifted label mixes, and
Spearman ρ of each method with the true divergence."""
from __future__ import annotations

import csv
import json
from collections import Counter

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import shared_data
from workbench.cli import main
from workbench.errors import WorkbenchError
from workbench.llm.gateway import Gateway
from workbench.measures.known_answer import METHODS, known_answer, read_gold_labels
from workbench.validity.known_answer import draw_pairs, label_divergence, median_bandwidth, rank_agreement, rbf_mmd


def _synthetic(n_topics=10, per_topic=8, n_labels=4, seed=0):
    rng = np.random.default_rng(seed)
    topics = np.repeat(np.arange(n_topics), per_topic)
    labels = (rng.random((topics.size, n_labels)) < 0.4).astype(float)
    return topics, labels


def test_pairs_hold_their_topic_and_shift_labels_with_the_strength():
    topics, labels = _synthetic(per_topic=12)
    topics[:5] = 99  # a topic of 5 documents gives no pairs (6 needed)
    pairs = draw_pairs(topics, labels, rounds=5, seed=1)
    assert len(pairs) == 5 * 10 * 4 and {p.topic for p in pairs} == set(range(10))
    for p in pairs:
        assert set(topics[p.a]) == set(topics[p.b]) == {p.topic}  # the topic is held fixed
        n = np.sum(topics == p.topic)
        assert len(p.a) == n // 2 and len(p.b) == n - n // 2 and not set(p.a) & set(p.b)
        assert (p.value == -1) == (p.strength == 0)
    by_strength = {s: np.nanmean([label_divergence(labels, p.a, p.b) for p in pairs if p.strength == s])
                   for s in (0.0, 3.0, 30.0, 300.0)}
    assert by_strength[0.0] < by_strength[3.0] < by_strength[30.0] < by_strength[300.0]
    # A leans towards its value: it carries value j more often than B in nearly every strong pair
    strong = [p for p in pairs if p.strength == 300.0]
    assert np.mean([labels[p.a, p.value].mean() > labels[p.b, p.value].mean() for p in strong]) > 0.9
    with pytest.raises(ValueError, match="need 2 topics with at least 20"):
        draw_pairs(topics, labels, min_documents=20)


def test_rbf_mmd_tells_shifted_samples_from_resampled_ones():
    rng = np.random.default_rng(0)
    x, y, far = rng.normal(size=(60, 5)), rng.normal(size=(60, 5)), rng.normal(0.8, 1.0, size=(60, 5))
    h = median_bandwidth(np.vstack([x, y]))
    assert h == pytest.approx(np.sqrt(2 * 5), rel=0.15)  # two standard normals in 5-d lie ~√10 apart
    assert abs(rbf_mmd(x, y, h)) < 0.02 < rbf_mmd(x, far, h)
    assert rbf_mmd(x, far, h) == pytest.approx(rbf_mmd(far, x, h))
    same = np.ones((3, 2))
    assert rbf_mmd(same, same, 1.0) == pytest.approx(0.0)


def test_rbf_mmd_and_bandwidth_match_the_equation_written_out():
    """The library kernel (sklearn rbf_kernel, scipy pdist) gives Gretton et al.'s unbiased MMD²."""
    rng = np.random.default_rng(3)
    x, y, h = rng.normal(size=(7, 3)), rng.normal(0.5, 1.0, size=(9, 3)), 1.7
    k = lambda u, v: np.exp(-np.sum((u[:, None] - v[None]) ** 2, axis=2) / (2 * h * h))  # noqa: E731
    by_hand = ((k(x, x).sum() - 7) / 42 + (k(y, y).sum() - 9) / 72 - 2 * k(x, y).mean())
    assert rbf_mmd(x, y, h) == pytest.approx(by_hand, abs=1e-12)
    d = np.sqrt(np.sum((x[:, None] - x[None]) ** 2, axis=2))[~np.eye(7, dtype=bool)]
    assert median_bandwidth(x) == pytest.approx(np.median(d), abs=1e-12)


def test_label_divergence_and_rank_agreement_by_hand():
    labels = np.array([[1, 0], [1, 0], [0, 1], [1, 1]], dtype=float)
    assert label_divergence(labels, np.array([0, 1]), np.array([0, 1])) == 0
    assert label_divergence(labels, np.array([0]), np.array([2])) == pytest.approx(1.0)  # disjoint mixes
    # mean label vectors (1, 1/2) → (2/3, 1/3) and (0, 1); their midpoint (1/3, 2/3)
    kl_a, kl_b = 2 / 3 * np.log2(2) + 1 / 3 * np.log2(1 / 2), np.log2(3 / 2)
    assert label_divergence(labels, np.array([0, 3]), np.array([2])) == pytest.approx(np.sqrt((kl_a + kl_b) / 2))
    truth = np.linspace(0, 1, 30)
    perfect = rank_agreement(truth ** 2, truth, n_boot=200)
    assert perfect.rho == pytest.approx(1) and perfect.low == pytest.approx(1) and perfect.n_pairs == 30
    noise = rank_agreement(np.random.default_rng(0).random(30), truth, n_boot=200)
    assert noise.low < 0 < noise.high
    assert rank_agreement(-truth, truth, n_boot=50).rho == pytest.approx(-1)


def test_label_file_errors_name_the_line(tmp_path):
    bad = tmp_path / "labels.tsv"
    bad.write_text("id\tcare\ttradition\nd1\t1\t0\nd2\tyes\t0\n", "utf-8")
    with pytest.raises(WorkbenchError, match=r"line 3: column 'care' is 'yes': labels must be 0 or 1"):
        read_gold_labels(bad)
    ok = tmp_path / "ok.csv"
    ok.write_text("Argument ID,care,tradition\nd1,1,0\n", "utf-8")
    assert read_gold_labels(ok)[0] == ["care", "tradition"]


def test_on_the_demo_every_method_gets_a_rho(built_project, tmp_path):
    """Labels that follow the words of the texts: a value label is 'about family' or 'about money'."""
    rows = built_project.db.execute("select id, text from documents where source = 'human'").fetchall()
    path = tmp_path / "gold.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "family", "money", "freedom"])
        for doc_id, text in rows:
            t = text.lower()
            writer.writerow([doc_id, int("famil" in t or "parent" in t), int("money" in t or "pay" in t),
                             int("free" in t)])
    report = known_answer(built_project, path, rounds=2, show_progress=False)
    assert set(report.agreement) == set(METHODS) and report.n_documents == len(rows)
    assert "raw-embedding" in METHODS and report.n_topics == 8 and report.rounds == 2
    assert "half of the topic's documents" in report.notes[0] and "RBF-MMD" in report.notes[1]
    used = {a.n_pairs for a in report.agreement.values()}
    assert len(used) == 1 and 40 <= used.pop() <= 64  # pairs with an unlabelled population are left out
    assert all(-1 <= a.low <= a.rho <= a.high <= 1 for a in report.agreement.values())
    out = CliRunner().invoke(main, ["validate", str(built_project.path), "--known-answer", str(path), "--rounds", "1",
                                    "--json"])
    assert out.exit_code == 0, out.output
    shown = json.loads(out.output)
    assert set(shown["methods"]) == set(METHODS)
    gateway = Gateway(built_project, built_project.config())  # which space (lens included) produced the figures
    assert shown["embedder"] == report.embedder == gateway.embedder_id and shown["codebook_version"] == report.version
    printed = CliRunner().invoke(main, ["validate", str(built_project.path), "--known-answer", str(path), "--rounds", "1"])
    assert gateway.embedder_id in printed.output.replace("\n", "")
    unknown = tmp_path / "other.csv"
    unknown.write_text("id,care\nnot-a-doc,1\n", "utf-8")
    missing = CliRunner().invoke(main, ["validate", str(built_project.path), "--known-answer", str(unknown)])
    assert missing.exit_code != 0 and "none of its ids is a document" in missing.output


@pytest.mark.slow
def test_on_valueeval_validation_arguments(tmp_path):
    """500 real arguments with their gold labels, built offline: every method's ρ is reported
    with an interval (whatever its value: an honest low ρ is a result)."""
    from workbench.build import run_build
    from workbench.pipeline.extract import extract
    from workbench.ingest.documents import IngestOptions, ingest_file
    from workbench.store import create_project

    source = shared_data("valueeval23", "arguments-validation.tsv")
    lines = source.read_text("utf-8").splitlines()[:501]
    arguments = tmp_path / "arguments-validation.tsv"
    arguments.write_text("\n".join(lines) + "\n", "utf-8")
    labels = shared_data("valueeval23", "labels-validation.tsv")
    store = create_project(tmp_path / "ve.db")
    ingest_file(store, arguments, IngestOptions(preset="valueeval"))
    extract(store, show_progress=False)
    store.save_config(store.config().with_settings({"em.iterations": "2", "alignment.n_boot": "0"}))
    assert run_build(store, auto_approve=True, show_progress=False).state == "finished"
    report = known_answer(store, labels, rounds=1, show_progress=False)
    assert report.n_documents > 400 and report.truth_range[1] > report.truth_range[0]
    for a in report.agreement.values():
        assert a.n_pairs == 4 * report.n_topics and a.low <= a.rho <= a.high
    print({m: (round(a.rho, 3), round(a.low, 3), round(a.high, 3)) for m, a in report.agreement.items()})
