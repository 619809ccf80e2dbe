"""Issue 23: the value lens, a representation fitted on public labelled data that keeps what an
embedding says about values; applied by the gateway on cached vectors, recorded with the codebook,
and fitted for another embedder by ``workbench lens fit`` (or refused in one line)."""
from __future__ import annotations

import re

import numpy as np
import pytest
from click.testing import CliRunner

from workbench.cli import main
from workbench.errors import WorkbenchError
from workbench.lens import fit_project_lens
from workbench.llm import value_lens as vl
from workbench.llm.gateway import Gateway

LABELS = ("care", "tradition")


def _planted(n=200, d=16, seed=0):
    """Vectors whose first two axes carry two labels, the rest noise (a 'topic')."""
    rng = np.random.default_rng(seed)
    y = (rng.random((n, 2)) < 0.4).astype(float)
    x = rng.normal(size=(n, d))
    x[:, :2] += 3 * y
    return x / np.linalg.norm(x, axis=1, keepdims=True), y


def test_lens_puts_value_features_beside_the_rest():
    x, y = _planted()
    lens = vl.fit_value_lens(x, y, list(LABELS), "test-embedder", "planted")
    out = lens.apply(x)
    assert out.shape == (len(x), 2 + x.shape[1]) and np.allclose(np.linalg.norm(out, axis=1), 1)
    # half of every squared unit vector is the value profile, half the rest
    assert np.allclose(np.sum(out[:, :2] ** 2, axis=1), vl.VALUE_SHARE)
    care = out[:, 0]
    assert care[y[:, 0] == 1].mean() > care[y[:, 0] == 0].mean() + 0.3
    assert np.allclose(out[:, 2:] @ lens.directions.T, 0, atol=1e-9)  # the rest holds nothing of the probes
    again = vl.ValueLens.from_bytes(lens.to_bytes())
    assert again.tag == lens.tag and np.allclose(again.apply(x), out)
    with pytest.raises(WorkbenchError, match="fitted on 16-d vectors of test-embedder and got 3-d"):
        lens.apply(np.ones((2, 3)))
    with pytest.raises(ValueError, match="label column 1 has one class only"):
        vl.fit_value_lens(x, np.c_[y[:, 0], np.zeros(len(x))], list(LABELS), "e", "s")


def test_shipped_lens_is_the_offline_embedders_and_attributed():
    lens = vl.shipped_value_lens()
    assert len(lens.label_names) == 20 and lens.directions.shape == (20, 384)
    assert "training split" in lens.source and "CC BY-SA 4.0" in lens.source and "validation" not in lens.source
    assert np.allclose(lens.basis @ lens.basis.T, np.eye(20), atol=1e-9)


def _offline_gateway(project, representation):
    project.save_config(project.config().with_settings({"roles.embedder.representation": representation}))
    gateway = Gateway(project, project.config())
    rng = np.random.default_rng(1)
    calls = []

    def fake_e5(texts):
        calls.append(len(texts))
        return rng.normal(size=(len(texts), 384)).astype(np.float32)

    gateway._embedder = fake_e5
    return gateway, calls


def test_gateway_applies_the_lens_on_vectors_cached_before_it(project):
    gateway, calls = _offline_gateway(project, "value-lens")
    lensed = gateway.embed(["a", "b", "c"])
    base = gateway.embed(["a", "b", "c"], lens=False)
    assert lensed.shape == (3, 20 + 384) and base.shape == (3, 384) and calls == [3]  # embedded once
    assert np.allclose(lensed, vl.shipped_value_lens().apply(base), atol=1e-5)
    plain = Gateway(project, project.config().with_settings({"roles.embedder.representation": "language-centered"}))
    assert gateway.base_embedder_id == plain.embedder_id  # the same cache: turning the lens on re-embeds nothing
    assert gateway.embedder_id == plain.embedder_id + vl.shipped_value_lens().tag
    assert gateway.lens_id == vl.shipped_value_lens().tag.lstrip("|") and plain.lens_id is None
    assert np.allclose(plain.embed(["a", "b", "c"]), base) and calls == [3]


def _training_split(folder, n=40):
    rng = np.random.default_rng(0)
    folder.mkdir()
    args = ["Argument ID\tConclusion\tStance\tPremise"]
    labels = ["Argument ID\t" + "\t".join(LABELS)]
    for i in range(n):
        args.append(f"A{i:03d}\ttopic {i % 4}\tin favor of\tpremise number {i}")
        labels.append(f"A{i:03d}\t{i % 2}\t{int(rng.random() < 0.5) if i > 1 else i}")
    (folder / "arguments-training.tsv").write_text("\n".join(args) + "\n", "utf-8")
    (folder / "labels-training.tsv").write_text("\n".join(labels) + "\n", "utf-8")
    return folder


def test_another_embedder_is_refused_until_lens_fit_and_then_uses_its_own(project, tmp_path, monkeypatch):
    settings = {"roles.embedder.provider": "openai", "roles.embedder.model": "some-embedder",
                "roles.embedder.base_url": "http://127.0.0.1:9/v1", "roles.embedder.representation": "value-lens"}
    project.save_config(project.config().with_settings(settings))
    with pytest.raises(WorkbenchError, match=r"has none in this project: run 'workbench lens fit .* --data "):
        Gateway(project, project.config()).embedder_id
    rng = np.random.default_rng(2)
    monkeypatch.setattr(Gateway, "_embed_backend", lambda self: lambda texts: rng.normal(size=(len(texts), 8)))
    data = _training_split(tmp_path / "valueeval")
    lens = fit_project_lens(project, data, show_progress=False)
    gateway = Gateway(project, project.config())
    assert lens.embedder == gateway.base_embedder_id == "http://127.0.0.1:9/v1|some-embedder"
    assert gateway.value_lens().tag == lens.tag and gateway.representation == "value-lens"
    assert gateway.embed(["x"]).shape == (1, 2 + 8)
    project.save_config(project.config().with_settings({"roles.embedder.model": "another"}))
    with pytest.raises(WorkbenchError, match=re.escape("fitted for http://127.0.0.1:9/v1|some-embedder")):
        Gateway(project, project.config()).value_lens()


def test_lens_fit_cli_refuses_the_offline_embedder_and_a_folder_without_the_training_split(project, tmp_path):
    out = CliRunner().invoke(main, ["lens", "fit", str(project.path), "--data", str(tmp_path)])
    assert out.exit_code != 0 and "ships with the workbench" in out.output and "Traceback" not in out.output
    project.save_config(project.config().with_settings({"roles.embedder.provider": "openai",
                                                        "roles.embedder.model": "m"}))
    out = CliRunner().invoke(main, ["lens", "fit", str(project.path), "--data", str(tmp_path)])
    assert out.exit_code != 0 and "arguments-training.tsv: not found" in out.output


def test_shipped_figures_show_the_lens_keeps_translations_together():
    """bench/language_neutrality.py measured the lens on the held-back parallel statements."""
    from workbench.measures.language_neutrality import translation_ratio
    from workbench.llm.language_space import RATIO_TARGET, SHARE_TARGET, shipped_figures

    figures = shipped_figures()
    # measured through the lens that ships: refitting it without re-running the bench fails here
    assert figures["representations"]["value-lens"]["lens"] == vl.shipped_value_lens().tag.lstrip("|")
    assert translation_ratio(figures, "value-lens") <= RATIO_TARGET
    assert figures["representations"]["value-lens"]["held_back_kmeans"]["share"] >= SHARE_TARGET
