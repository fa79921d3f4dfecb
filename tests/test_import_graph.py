"""The package's import graph, read with `ast`: no cycle, and a core that stands alone.

Every import that runs counts, wherever it is written (module level or inside a function):
a cycle kept apart by a late import is still a cycle. Imports under `if TYPE_CHECKING:`
never run; they name types for annotations and are left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "pytest_boss"
PACKAGE = "pytest_boss"
CORE = "pytest_boss.boss"


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules(root: Path) -> dict[str, Path]:
    return {_module_name(path, root): path for path in sorted(root.rglob("*.py"))}


def _imports(name: str, path: Path, modules: frozenset[str] = frozenset()) -> set[str]:
    """Every module name `path` imports (absolute, relative resolved). `from x import y`
    gives x.y when that is a module, and x itself unless every name is a module: a
    package is always initialised before its modules, so `from . import sibling` is no
    import of the package's own `__init__`."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                if not is_package:
                    anchor = anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names = {f"{base}.{alias.name}" for alias in node.names}
            found.update(names)
            if not names <= modules:
                found.add(base)
    return found


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node except those inside `if TYPE_CHECKING:` blocks."""
    nodes: list[ast.AST] = []
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        nodes.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return nodes


def _graph(root: Path) -> dict[str, set[str]]:
    modules = _modules(root)
    known = frozenset(modules)
    return {
        name: {
            target for target in _imports(name, path, known) if target in known and target != name
        }
        for name, path in modules.items()
    }


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path (first module repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_package_has_no_import_cycle() -> None:
    cycle = _cycle(_graph(PACKAGE_DIR))
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_core_imports_neither_pytest_nor_the_plugin() -> None:
    offenders = []
    for name, path in _modules(PACKAGE_DIR).items():
        if not (name == CORE or name.startswith(CORE + ".")):
            continue
        for target in _imports(name, path):
            top = target.split(".")[0]
            plugin_side = target.startswith(PACKAGE + ".") and not (
                target == CORE or target.startswith(CORE + ".")
            )
            if top in ("pytest", "_pytest", "xdist", "pluggy") or plugin_side or target == PACKAGE:
                offenders.append(f"{name} imports {target}")
    assert offenders == []


# The checks themselves, on small packages written here: they must see what they look for.


def _write(root: Path, files: dict[str, str]) -> Path:
    package = root / "pytest_boss"
    for relative, text in files.items():
        path = package / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return package


def test_a_cycle_through_a_late_import_is_found(tmp_path: Path) -> None:
    package = _write(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "from .b import thing\n",
            "b.py": "def f():\n    from . import c\n",
            "c.py": "if TYPE_CHECKING:\n    from .b import y\nfrom .a import x\n",
        },
    )
    assert _cycle(_graph(package)) == [
        "pytest_boss.a",
        "pytest_boss.b",
        "pytest_boss.c",
        "pytest_boss.a",
    ]


def test_type_only_imports_make_no_cycle(tmp_path: Path) -> None:
    package = _write(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "def f():\n    from . import b\n",
            "b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import f\n",
        },
    )
    assert _cycle(_graph(package)) is None


def test_relative_imports_resolve_from_a_subpackage(tmp_path: Path) -> None:
    package = _write(
        tmp_path,
        {
            "__init__.py": "",
            "errors.py": "",
            "pool/__init__.py": "from .state import S\n",
            "pool/state.py": "from ..errors import E\nfrom . import planner\nfrom . import S\n",
            "pool/planner.py": "",
        },
    )
    graph = _graph(package)
    assert graph["pytest_boss.pool"] == {"pytest_boss.pool.state"}
    assert graph["pytest_boss.pool.state"] == {
        "pytest_boss.errors",
        "pytest_boss.pool",
        "pytest_boss.pool.planner",
    }
    assert _cycle(graph) == ["pytest_boss.pool", "pytest_boss.pool.state", "pytest_boss.pool"]
