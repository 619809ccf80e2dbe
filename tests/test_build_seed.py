"""``build --seed-codebook FILE``: C⁰ is a codebook the lab already has (.qdc, a .qdpx's codebook, or
a table of name, description, examples), its centroids from the examples or name + description, its
members the expressions of highest q(z|x); provenance in C⁰'s info, ``status`` and the report.

The seeded C⁰ is built on a constructed corpus (no extraction, no UMAP): expressions placed near
known directions, a fake embedder that maps each seed text to a known vector."""
from __future__ import annotations

import json
import uuid

import numpy as np
import pytest

from workbench.build import BuildStatus
from workbench.build.context import BuildContext
from workbench.build.seed import describe_seed, read_seed, split_examples
from workbench.build.steps import SEEDED, init_codebook
from workbench.codebook.assignment import nearest_codes
from workbench.errors import WorkbenchError
from workbench.models import Code, Corpus
from workbench.report import terminal
from workbench.report.export import export_codebook

AXES = np.eye(4, dtype=np.float32)
# What the fake embedder returns for each seed text: examples of 'family' point along axis 0,
# 'nature' along axis 2, and the name + description of 'freedom' along axis 1.
VECTORS = {"my kin": AXES[0], "my parents": AXES[0] + 0.2 * AXES[3], "trees": AXES[2],
           "freedom: being free to choose": AXES[1]}


class FakeGateway:
    embedder_id = "fake"
    document_input = "whole"
    representation = None
    lens_id = None

    def __init__(self):
        self.embedded: list[str] = []

    def embed(self, texts):
        self.embedded += list(texts)
        return np.stack([VECTORS[t] for t in texts])


def seed_csv(tmp_path, rows="family,the family,my kin | my parents\nfreedom,being free to choose,\nnature,,trees\n"):
    path = tmp_path / "seed.csv"
    path.write_text("name,description,examples\n" + rows, "utf-8")
    return path


def test_nearest_codes_is_the_largest_cosine():
    centroids = np.array([[1, 0], [0, 1], [-1, 0]], dtype=np.float32)
    expressions = np.array([[3, 1], [0.1, 2], [-5, -1], [1, 1.01]], dtype=np.float32)
    assert nearest_codes(expressions, centroids).tolist() == [0, 1, 2, 1]


def test_a_table_seed_reads_names_descriptions_and_examples(tmp_path):
    seed = read_seed(seed_csv(tmp_path))
    assert seed.kind == "table" and [c.name for c in seed.codes] == ["family", "freedom", "nature"]
    assert seed.codes[0].examples == ["my kin", "my parents"] and seed.codes[1].examples == []
    assert seed.codes[1].text == "freedom: being free to choose" and seed.codes[2].text == "nature"
    assert read_seed(seed_csv(tmp_path)).codes[0].uid == seed.codes[0].uid  # stable across reads


@pytest.mark.parametrize("rows, message", [
    ("family,a,\nFamily,b,\n", "two codes share the name 'Family'"),
    (",a,\n", "the code's name is empty"),
])
def test_a_bad_table_seed_is_one_line(tmp_path, rows, message):
    with pytest.raises(WorkbenchError, match=message) as error:
        read_seed(seed_csv(tmp_path, rows))
    assert "\n" not in str(error.value)


def test_a_missing_or_foreign_file_is_one_line(tmp_path):
    with pytest.raises(WorkbenchError, match="no such file"):
        read_seed(tmp_path / "none.qdc")
    wrong = tmp_path / "x.qdc"
    wrong.write_text('<Project xmlns="urn:QDA-XML:project:1.0" name="x"/>')
    with pytest.raises(WorkbenchError, match="expected CodeBook"):
        read_seed(wrong)


def test_the_workbench_qdc_and_qdpx_seed_with_their_guids_and_examples(project, tmp_path):
    from workbench.report.qdpx import export_project

    uids = [str(uuid.uuid5(uuid.NAMESPACE_URL, k)) for k in ("a", "b")]
    codes = [Code(i, u, n, "test", f"the value {n}", 0, np.ones(4, np.float32))
             for i, (u, n) in enumerate(zip(uids, ["care", "duty"]))]
    project.save_codebook("t", 0, "init", None, codes, np.zeros(0), np.zeros(0), {}, "h", "e")
    qdc = read_seed(export_codebook(project, "qdc", tmp_path / "c.qdc"))
    assert qdc.kind == "qdc" and [(c.uid, c.name, c.description) for c in qdc.codes] == [
        (uids[0], "care", "the value care"), (uids[1], "duty", "the value duty")]
    assert read_seed(export_project(project, tmp_path / "p.qdpx").path).codes == qdc.codes
    assert split_examples("the value\n\nExamples:\n- one\n- two") == ("the value", ["one", "two"])


def constructed_context(project, seed) -> BuildContext:
    """A build context over a constructed corpus: six expressions near axes 0, 1 and 2."""
    emb = np.array([AXES[0] + 0.1 * AXES[1], AXES[0], AXES[1] + 0.3 * AXES[0], AXES[1],
                    AXES[2] + 0.2 * AXES[3], AXES[2] + 0.1 * AXES[0]], dtype=np.float32)
    corpus = Corpus(["d1", "d2", "d3"], ["G"] * 3, ["human"] * 3, [None] * 3, ["t1", "t2", "t3"],
                    np.arange(10, 16), np.array([0, 0, 1, 1, 2, 2]), [f"e{i}" for i in range(6)], emb)
    ctx = BuildContext(project, FakeGateway(), project.config(), "build-1", show_progress=False, seed=seed)
    ctx._corpus = corpus
    return ctx


def test_a_seeded_initial_codebook_is_the_seed_with_members_by_q(project, tmp_path):
    seed = read_seed(seed_csv(tmp_path))
    ctx = constructed_context(project, seed)
    update = init_codebook(ctx, {})
    book = project.load_codebook(update["version"])
    assert [(c.uid, c.name, c.name_source, c.description) for c in book.codes] == [
        (s.uid, s.name, SEEDED, s.description or None) for s in seed.codes]
    # centroids: the mean of the examples (family), name + description (freedom), one example (nature)
    family = (AXES[0] + AXES[0] + 0.2 * AXES[3]) / np.linalg.norm(AXES[0] + AXES[0] + 0.2 * AXES[3])
    np.testing.assert_allclose(book.codes[0].centroid, family, rtol=1e-6)
    np.testing.assert_allclose(book.codes[1].centroid, AXES[1])
    assert ctx.gateway.embedded == ["my kin", "my parents", "freedom: being free to choose", "trees"]
    assert book.expression_ids.tolist() == [10, 11, 12, 13, 14, 15]
    assert book.labels.tolist() == [0, 0, 1, 1, 2, 2] and [c.size for c in book.codes] == [2, 2, 2]
    info = project.build_record("build-1")
    assert info["seeded"] == {"file": str(seed_csv(tmp_path)), "sha256": seed.sha256, "kind": "table", "codes": 3,
                              "centroids": {"examples": 2, "name + description": 1}}
    assert info["sigma"] > 0 and info["train_sources"] == ["human"]
    assert init_codebook(ctx, {})["version"] == update["version"]  # idempotent on re-run


def test_status_and_report_say_the_codebook_was_seeded_and_from_which_file(project, tmp_path, capsys):
    seed = read_seed(seed_csv(tmp_path))
    init_codebook(constructed_context(project, seed), {})
    terminal.print_build_status(project, BuildStatus("build-1", "interrupted", ["name_codes"]))
    text = " ".join(capsys.readouterr().out.split())
    assert f"C⁰ seeded from {seed.file} (table, 3 codes; centroids: 2 from examples, 1 from name + description)" \
        in text
    assert describe_seed(json.loads(json.dumps(project.build_record("build-1")["seeded"]))) in text


def test_cli_refuses_a_bad_seed_in_one_line_before_building(tmp_path):
    from click.testing import CliRunner

    from workbench.cli import main
    from workbench.store import create_project

    create_project(tmp_path / "p.db").close()
    result = CliRunner().invoke(main, ["build", str(tmp_path / "p.db"), "--seed-codebook", str(tmp_path / "no.csv")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.strip().count("\n") == 0 and "no such file" in result.output
