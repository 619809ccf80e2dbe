"""The import graph of the source tree, one node per module or package of ``workbench/`` (a
package counted as one; ``graphs/`` counted with ``build``, whose wiring it is), each on the floor
one above the highest it imports. Built by grimp from the code's own imports (those under
``if TYPE_CHECKING:`` too). ``tests/test_architecture.py`` checks the floors; docs/architecture.md
shows the picture this prints:

    python tools/import_floors.py            # the floors, then each unit with what it imports
    python tools/import_floors.py --mermaid  # the picture for docs/architecture.md
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("workbench", "graphs", "annotations")


def import_graph() -> grimp.ImportGraph:
    """Every import between the modules of ``PACKAGES`` as found on ``sys.path``."""
    return grimp.build_graph(*PACKAGES, cache_dir=None)


def unit(module: str) -> str:
    """The node a module belongs to: ``workbench.X`` for anything in ``workbench/X``, ``build`` for
    ``graphs``, the top-level package otherwise."""
    parts = module.split(".")
    if parts[0] == "graphs":
        return "workbench.build"
    return ".".join(parts[:2]) if parts[0] == "workbench" else parts[0]


def unit_edges(graph: grimp.ImportGraph) -> dict[str, set[str]]:
    """{unit: the other units it imports} (``workbench/__init__.py`` is empty, and left out)."""
    edges: dict[str, set[str]] = {}
    for module in graph.modules:
        if module == "workbench":
            continue
        found = edges.setdefault(unit(module), set())
        found |= {unit(m) for m in graph.find_modules_directly_imported_by(module) if m != "workbench"}
    for name, found in edges.items():
        found.discard(name)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one unit (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def floors(edges: dict[str, set[str]]) -> dict[str, int]:
    """{unit: 1 + the highest floor among what it imports} (1 for a unit importing none); the
    graph must have no cycle."""
    if found := cycles(edges):
        raise ValueError(f"import cycles: {found}")
    floor: dict[str, int] = {}

    def of(node: str) -> int:
        if node not in floor:
            floor[node] = 1 + max((of(n) for n in edges.get(node, ())), default=0)
        return floor[node]

    for node in edges:
        of(node)
    return floor


def short(name: str) -> str:
    return name.removeprefix("workbench.")


def mermaid(edges: dict[str, set[str]], floor: dict[str, int]) -> str:
    """A top-down flowchart with one row per floor, highest first, and an arrow from each unit to
    what it imports from the floor right below (longer arrows are implied by the floors)."""
    lines = ["flowchart TD"]
    for level in sorted(set(floor.values()), reverse=True):
        names = sorted(n for n in floor if floor[n] == level)
        lines.append(f"  subgraph F{level}[\"floor {level}\"]")
        lines += [f"    {short(n).replace('.', '_')}[\"{short(n)}\"]" for n in names]
        lines.append("  end")
    for node in sorted(edges, key=lambda n: (-floor[n], n)):
        for target in sorted(edges[node]):
            if floor[target] == floor[node] - 1:
                lines.append(f"  {short(node).replace('.', '_')} --> {short(target).replace('.', '_')}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mermaid", action="store_true", help="print the picture for docs/architecture.md")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    edges = unit_edges(import_graph())
    floor = floors(edges)
    if args.mermaid:
        print(mermaid(edges, floor))
        return
    for level in sorted(set(floor.values()), reverse=True):
        print(f"floor {level}: {' '.join(sorted(short(n) for n in floor if floor[n] == level))}")
    print()
    for node in sorted(edges, key=lambda n: (-floor[n], n)):
        print(f"{short(node)} -> {' '.join(sorted(short(n) for n in edges[node]))}")


if __name__ == "__main__":
    main()
