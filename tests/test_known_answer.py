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
from workbench.known_answer import METHODS, known_answer, read_gold_labels
from workbench.validity.known_answer import draw_pairs, label_divergence, rank_agreement


def _synthetic(n_topics=10, per_topic=8, n_labels=4, seed=0):
    rng = np.random.default_rng(seed)
    topics = np.repeat(np.arange(n_topics), per_topic)
    labels = (rng.random((topics.size, n_labels)) < 0.4).astype(float)
    return topics, labels


def test_pairs_share_their_topic_mix_and_shift_labels_with_the_tilt():
    topics, labels = _synthetic()
    pairs = draw_pairs(topics, labels, n_pairs=60, n_topics=6, seed=1)
    for a, b in pairs:
        assert Counter(topics[a]) == Counter(topics[b]) and len(a) == 6  # one document per topic each
        assert not set(a) & set(b)
    flat = draw_pairs(topics, labels, n_pairs=60, n_topics=6, max_tilt=0.0, seed=1)
    steep = draw_pairs(topics, labels, n_pairs=60, n_topics=6, max_tilt=20.0, seed=1)
    mean_js = lambda ps: np.nanmean([label_divergence(labels, a, b) for a, b in ps])  # noqa: E731
    assert mean_js(steep) > 1.3 * mean_js(flat)
    with pytest.raises(ValueError, match="need 20 topics"):
        draw_pairs(topics, labels, n_topics=20)


def test_label_divergence_and_rank_agreement_by_hand():
    labels = np.array([[1, 0], [1, 0], [0, 1], [1, 1]], dtype=float)
    assert label_divergence(labels, np.array([0, 1]), np.array([0, 1])) == 0
    assert label_divergence(labels, np.array([0]), np.array([2])) == pytest.approx(1.0)  # disjoint mixes
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
    report = known_answer(built_project, path, n_pairs=30, n_topics=6, show_progress=False)
    assert set(report.agreement) == set(METHODS) and report.n_documents == len(rows)
    used = {a.n_pairs for a in report.agreement.values()}
    assert len(used) == 1 and 20 <= used.pop() <= 30  # pairs with an unlabelled population are left out
    assert all(-1 <= a.low <= a.rho <= a.high <= 1 for a in report.agreement.values())
    out = CliRunner().invoke(main, ["validate", str(built_project.path), "--known-answer", str(path), "--pairs", "10",
                                    "--topics", "6", "--json"])
    assert out.exit_code == 0, out.output
    assert set(json.loads(out.output)["methods"]) == set(METHODS)
    unknown = tmp_path / "other.csv"
    unknown.write_text("id,care\nnot-a-doc,1\n", "utf-8")
    missing = CliRunner().invoke(main, ["validate", str(built_project.path), "--known-answer", str(unknown)])
    assert missing.exit_code != 0 and "none of its ids is a document" in missing.output


@pytest.mark.slow
def test_on_valueeval_validation_arguments(tmp_path):
    """500 real arguments with their gold labels, built offline: every method's ρ is reported
    with an interval (whatever its value: an honest low ρ is a result)."""
    from workbench.build import run_build
    from workbench.extract import extract
    from workbench.ingest import IngestOptions, ingest_file
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
    report = known_answer(store, labels, n_pairs=40, n_topics=12, show_progress=False)
    assert report.n_documents > 400 and report.truth_range[1] > report.truth_range[0]
    for a in report.agreement.values():
        assert 30 <= a.n_pairs <= 40 and a.low <= a.rho <= a.high
    print({m: (round(a.rho, 3), round(a.low, 3), round(a.high, 3)) for m, a in report.agreement.items()})
