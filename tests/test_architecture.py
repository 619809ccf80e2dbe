"""The layering of docs/architecture.md, checked on the import graph grimp builds from the source
tree: the layers are read from that document's ``layers`` block (folders and modules, highest
first), and the floors from ``tools/import_floors.py``. The checker is itself tested on copies of
the tree with one wrong import appended, each of which it must refuse."""
from __future__ import annotations

import importlib.util
import re
import shutil
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
TOP_LEVEL = ("graphs", "annotations")  # packages beside workbench/, named as they are
MATH = ("workbench.codebook", "workbench.alignment", "workbench.validity", "annotations")
STORE = "workbench.store"
# Math that lives in a service package (the survey baseline's KL / JS of papers/002): it reaches
# neither the store nor the LLM gateway, so it is testable on arrays alone
SERVICE_MATH = ("workbench.survey.metrics",)
MAX_FLOORS = 9


def _floors_tool():
    spec = importlib.util.spec_from_file_location("import_floors", ROOT / "tools" / "import_floors.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


floors_tool = _floors_tool()


def documented_layers() -> list[tuple[str, list[str]]]:
    """(layer, its modules as absolute names), highest first, from the ``layers`` block."""
    block = re.search(r"```layers\n(.*?)```", DOC.read_text("utf-8"), re.S).group(1)
    rows = [line.split() for line in block.splitlines() if line.strip()]
    return [(row[0], [name if name in TOP_LEVEL else f"workbench.{name}" for name in row[1:]]) for row in rows]


def problems(graph: grimp.ImportGraph) -> list[str]:
    """Every way ``graph`` breaks the rules of docs/architecture.md, one line each."""
    layers = documented_layers()
    placed = [name for _, names in layers for name in names]
    found = [f"{name} is in two layers" for name in sorted({n for n in placed if placed.count(n) > 1})]
    units = {floors_tool.unit(m) for m in graph.modules if m != "workbench"}
    found += [f"{name} is in no layer of docs/architecture.md" for name in sorted(units - set(placed))]
    for dep in sorted(graph.find_illegal_dependencies_for_layers(
            [grimp.Layer(*names, independent=False) for _, names in layers])):
        chains = sorted(" -> ".join([*sorted(r.heads), *r.middle, *sorted(r.tails)]) for r in dep.routes)
        found.append(f"{dep.importer} (lower layer) imports {dep.imported}: {chains[0]}")
    # Math and the store share a layer, and neither may reach the other.
    for math in MATH:
        for importer, imported in ((math, STORE), (STORE, math)):
            if importer in graph.modules and graph.chain_exists(importer, imported, as_packages=True):
                found.append(f"{importer} imports {imported}")
    for math in SERVICE_MATH:
        for imported in (STORE, "workbench.llm"):
            if math in graph.modules and graph.chain_exists(math, imported, as_packages=True):
                found.append(f"{math} imports {imported}")
    graphs = {m for m in graph.modules if m.split(".")[0] == "graphs"}
    for module in sorted(graphs):
        for importer in sorted(graph.find_modules_that_directly_import(module) - graphs):
            if not importer.startswith("workbench.build."):
                found.append(f"{importer} imports {module}: only the build package may")
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported.startswith(("workbench.build.run", "workbench.build.review")):
                found.append(f"{module} imports {imported}, the service that runs the graph")
    edges = floors_tool.unit_edges(graph)
    cycles = floors_tool.cycles(edges)
    found += [f"import cycle: {' <-> '.join(c)}" for c in cycles]
    if not cycles and (top := max(floors_tool.floors(edges).values())) > MAX_FLOORS:
        found.append(f"{top} floors, over {MAX_FLOORS}")
    return found


def test_the_source_tree_keeps_the_layers():
    assert problems(floors_tool.import_graph()) == []


def test_every_documented_layer_names_what_exists():
    names = [name for _, names in documented_layers() for name in names]
    missing = [n for n in names if not (ROOT / Path(*n.split("."))).exists()
               and not (ROOT / Path(*n.split("."))).with_suffix(".py").exists()]
    assert missing == []


def test_few_modules_lie_flat_in_workbench():
    """At most 10 modules beside the packages of ``workbench/``, ``__init__.py`` counted."""
    assert len(list((ROOT / "workbench").glob("*.py"))) <= 10


def test_floors_are_few_and_printed_in_the_doc():
    """docs/architecture.md shows the floors of the current tree."""
    floor = floors_tool.floors(floors_tool.unit_edges(floors_tool.import_graph()))
    assert max(floor.values()) <= MAX_FLOORS
    picture = floors_tool.mermaid(floors_tool.unit_edges(floors_tool.import_graph()), floor)
    assert picture in DOC.read_text("utf-8"), "run: python tools/import_floors.py --mermaid"


def _defining(root: Path, needle: str) -> Path:
    """The one file under ``root/workbench`` named ``needle`` or holding a line that starts so."""
    found = [p for p in (root / "workbench").rglob("*.py")
             if p.name == needle or any(line.startswith(needle) for line in p.read_text("utf-8").splitlines())]
    assert len(found) == 1, (needle, found)
    return found[0]


@pytest.fixture
def tree_copy(tmp_path, monkeypatch):
    """The Python files of the tree copied under tmp_path and found first by the import graph."""
    for package in floors_tool.PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package,
                        ignore=lambda d, names: [n for n in names if not (n.endswith(".py") or (Path(d) / n).is_dir())
                                                 or n == "__pycache__"])
        monkeypatch.delitem(sys.modules, package, raising=False)  # find_spec must look on sys.path
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("where, line, named", [
    (None, None, None),
    ("class Store", "import workbench.report", "workbench.store"),
    ("class Gateway", "import workbench.report", "workbench.llm"),
    ("posteriors.py", "import workbench.build", "workbench.pipeline"),
    ("corpus.py", "import workbench.annotate", "workbench.pipeline"),
    ("gateway.py", "import workbench.build.steps", "workbench.llm"),
    ("objective.py", "from workbench.store import Store", "workbench.codebook"),
    ("demo.py", "import workbench.store", None),
    ("code_view.py", "import graphs.nodes", "only the build package"),
    ("metrics.py", "import workbench.store", "workbench.survey.metrics imports workbench.store"),
    ("metrics.py", "import workbench.llm.gateway", "workbench.survey.metrics imports workbench.llm"),
], ids=["unchanged", "store-report", "gateway-report", "posteriors-build", "corpus-annotate", "gateway-steps",
        "math-store", "cli-store", "graphs-importer", "survey-math-store", "survey-math-llm"])
def test_the_checker_refuses_each_wrong_import(tree_copy, where, line, named):
    """Appending one import the rules forbid makes ``problems`` name it; the unchanged copy, and
    one with an import the rules allow (the CLI's demo importing the store), pass."""
    if where:
        path = _defining(tree_copy, where)
        path.write_text(path.read_text("utf-8") + f"\n{line}\n", "utf-8")
    found = problems(floors_tool.import_graph())
    allowed = named is None
    assert (found == []) if allowed else any(named in p for p in found), found


SQL = re.compile(r"\.(execute|executemany|executescript|query)\(|\.db[.\[]|\bselect .* from\b", re.I)


def sql_outside_store(root: Path) -> list[str]:
    """Lines of ``workbench/`` and ``graphs/`` outside ``workbench/store/`` that talk SQL."""
    files = sorted(p for folder in ("workbench", "graphs") for p in (root / folder).rglob("*.py"))
    return [f"{p.relative_to(root)}:{n}" for p in files if "store" not in p.relative_to(root).parts
            for n, line in enumerate(p.read_text("utf-8").splitlines(), 1) if SQL.search(line)]


def test_sql_is_only_in_the_store():
    assert sql_outside_store(ROOT) == []


@pytest.mark.parametrize("line", ['rows = db.query("select id from documents")', 'cursor.execute("delete from labels")',
                                  "conn.executemany(sql, rows)", 'store.db["documents"].count'])
def test_sql_outside_the_store_is_found(tmp_path, line):
    for folder in ("workbench/pipeline", "workbench/store", "graphs"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "workbench/store/rows.py").write_text(line + "\n")
    assert sql_outside_store(tmp_path) == []
    (tmp_path / "workbench/pipeline/corpus.py").write_text(f"def load(db):\n    {line}\n")
    assert sql_outside_store(tmp_path) == [str(Path("workbench/pipeline/corpus.py")) + ":2"]
