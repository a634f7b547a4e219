"""No import cycles in ptrack/: lower layers never import the ones that use them.

The graph has one node per module of the package (a package is its
``__init__``) and an edge for each import of another ptrack module, wherever it
is written: at module level and inside functions, since a lazy import only
hides a cycle until the function runs. Imports under ``if TYPE_CHECKING:`` do
not count: they never run. ``from ptrack.x import y`` is an edge to the module
``ptrack.x.y`` when that is a module, else to ``ptrack.x``. Dynamic imports
(``importlib.import_module("ptrack.x")``) are not seen.

The package edge: importing ``ptrack.x`` runs ``ptrack/__init__.py`` first, but
that is not an edge, or every package re-exporting its submodules would be a
cycle. So a package's ``__init__`` may import its submodules (the thin face that
re-exports the API), and in turn no submodule may import the package itself:
``import ptrack`` or ``from ptrack import name`` where ``name`` is not a
submodule is an edge to ``ptrack``, which closes a cycle with any submodule the
package imports. The same holds for subpackages such as ``ptrack.classifier``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import ptrack

PACKAGE = Path(ptrack.__file__).resolve().parent


def _modules(root: Path) -> dict[str, Path]:
    """Every module under ``root`` by dotted name, a package by its own name."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = [root.name, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements in ``node`` that can run, at any depth."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        yield node
    elif isinstance(node, ast.If) and _is_type_checking(node):
        for statement in node.orelse:
            yield from _import_nodes(statement)
    else:
        for child in ast.iter_child_nodes(node):
            yield from _import_nodes(child)


def _known(name: str, modules: dict[str, Path]) -> str | None:
    """The module ``name`` names, or the nearest enclosing one (``import a.b.c``)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(name: str, modules: dict[str, Path]) -> set[str]:
    """The other modules of ``modules`` that module ``name`` imports."""
    path = modules[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in _import_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                for alias in node.names
            ]
        found.update(known for t in targets if (known := _known(t, modules)))
    found.discard(name)
    return found


def _graph(root: Path) -> dict[str, set[str]]:
    modules = _modules(root)
    return {name: _imports(name, modules) for name in modules}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each group of modules that import each other, as a path."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)

    cycles = []
    for group in groups:
        start = min(group)
        paths = {start: [start]}
        queue = [start]
        while queue:  # the shortest way back to start within the group
            node = queue.pop(0)
            for other in sorted(graph[node] & group):
                if other == start:
                    cycles.append([*paths[node], start])
                    queue.clear()
                    break
                if other not in paths:
                    paths[other] = [*paths[node], other]
                    queue.append(other)
    return sorted(cycles)


def test_ptrack_has_no_import_cycle() -> None:
    cycles = _cycles(_graph(PACKAGE))
    assert not cycles, "import cycles in ptrack/:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_graph_holds_lazy_imports() -> None:
    graph = _graph(PACKAGE)
    assert "ptrack.tasks" in graph["ptrack.dispatch"]  # imported inside functions only
    assert "ptrack.registry" in graph["ptrack.tasks"]
    assert "ptrack.registry" in graph["ptrack"]


def test_a_cycle_is_named_wherever_its_imports_are_written(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "from pkg.low import thing\nfrom pkg import sub\n",
        "low.py": "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from pkg.high import High\nelse:\n    import os\n",
        "high.py": "def f():\n    from pkg.mid import g\n",
        "mid.py": "from . import high\n",
        "sub/__init__.py": "from .leaf import x\n",
        "sub/leaf.py": "from pkg import thing\n",  # the package itself, not a submodule
    }
    for name, text in files.items():
        (package / name).write_text(text)
    graph = _graph(package)
    assert graph["pkg.low"] == set()
    assert graph["pkg.sub"] == {"pkg.sub.leaf"}
    assert _cycles(graph) == [
        ["pkg", "pkg.sub", "pkg.sub.leaf", "pkg"],
        ["pkg.high", "pkg.mid", "pkg.high"],
    ]
