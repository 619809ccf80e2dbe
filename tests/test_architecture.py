"""The layering of docs/architecture.md, checked on the imports and calls of the source tree."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MATH = ("workbench.codebook", "workbench.alignment", "workbench.validity", "annotations.agreement",
        "workbench.survey.metrics")
INTERFACES = ("workbench.cli", "workbench.tui")
SERVICES = ("workbench.ingest", "workbench.extract", "workbench.build", "workbench.annotate", "workbench.score",
            "workbench.validate", "workbench.generate", "workbench.report", "workbench.code_view")
BELOW_MATH = ("workbench.store", "workbench.llm", "graphs", *SERVICES, *INTERFACES)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports (relative imports resolved), at any depth of the file."""
    name = module_name(path)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.add(module)
            found |= {f"{module}.{a.name}" for a in node.names}
    return found


def sources(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def test_module_name_and_relative_imports_resolve():
    assert module_name(ROOT / "workbench" / "cli" / "__init__.py") == "workbench.cli"
    assert "workbench.build" in imports_of(ROOT / "workbench" / "cli" / "build.py")
    assert "workbench.build.steps" in imports_of(ROOT / "graphs" / "nodes.py")


def test_only_the_build_service_imports_graphs():
    importers = {module_name(p) for p in sources("workbench") if any(within(m, ("graphs",)) for m in imports_of(p))}
    assert importers == {"workbench.build.run"}


def test_graphs_never_import_the_service_that_runs_them():
    for path in sources("graphs"):
        assert not any(within(m, ("workbench.build.run", "workbench.build.review")) for m in imports_of(path)), path


@pytest.mark.parametrize("path", sources("workbench/codebook", "workbench/alignment", "workbench/validity")
                         + [ROOT / "annotations" / "agreement.py", ROOT / "workbench" / "survey" / "metrics.py"],
                         ids=lambda p: module_name(p))
def test_math_imports_nothing_above_or_beside_it(path):
    assert within(module_name(path), MATH)
    wrong = sorted(m for m in imports_of(path) if within(m, BELOW_MATH))
    assert wrong == [], f"{module_name(path)} imports {wrong}"


def test_services_and_math_never_import_an_interface():
    for path in sources("workbench", "graphs", "annotations"):
        if not within(module_name(path), INTERFACES):
            assert not any(within(m, INTERFACES) for m in imports_of(path)), path


def test_sql_is_only_in_the_store():
    statement = re.compile(r"\.(execute|executemany|executescript)\(|\.db\.|\bselect .* from\b", re.I)
    outside = [f"{p.relative_to(ROOT)}:{n}" for p in sources("workbench", "graphs")
               if "store" not in p.relative_to(ROOT).parts
               for n, line in enumerate(p.read_text("utf-8").splitlines(), 1) if statement.search(line)]
    assert outside == []
