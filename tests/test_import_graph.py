"""The package's import graph has no cycle: every `import` of a `jaxsharp.*` module, at module level or inside a
function, is an edge, read from the source with `ast` (nothing is imported).

Rules: `import jaxsharp.a.b` and `from jaxsharp.a.b import name` import `jaxsharp.a.b`; `from jaxsharp.a import b`
imports `jaxsharp.a.b` when that is a module, else `jaxsharp.a`; a package's `__init__.py` is the package. Imports
under `if TYPE_CHECKING:` never run and are not edges; `importlib.import_module(...)` calls are not read.
"""

from __future__ import annotations

import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "jaxsharp"


def module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of the nodes inside `if TYPE_CHECKING:` / `if typing.TYPE_CHECKING:` bodies."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                skipped.update(id(n) for n in ast.walk(child))
    return skipped


def imported_modules(path: pathlib.Path, modules: set[str]) -> set[str]:
    """The jaxsharp modules that `path` imports anywhere in its body."""
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    tree = ast.parse(path.read_text(), filename=str(path))
    skipped = _type_checking_nodes(tree)
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: `from . import x`, `from ..a import b`
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in modules else base)
    return {m for m in found if m in modules and m != me}


def import_graph() -> dict[str, set[str]]:
    files = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(f) for f in files}
    return {module_name(f): imported_modules(f, modules) for f in files}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as [a, b, ..., a], or None (depth-first search, deterministic order)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_the_reader_sees_module_level_and_function_level_imports():
    graph = import_graph()
    assert "jaxsharp.teacher.swinir" in graph["jaxsharp.teacher"]  # module level, `from jaxsharp.teacher.swinir import`
    assert "jaxsharp.teacher" in graph["jaxsharp.port.swinir_torch"]  # inside load_teacher / port
    assert "jaxsharp.port.torch_pickle" in graph["jaxsharp.port.swinir_torch"]
    assert "jaxsharp.port.swinir_torch" in graph["jaxsharp.models"]  # inside models.load_path
    assert "jaxsharp.engine" in graph["jaxsharp.loaded_model"]  # inside LoadedModel.__call__


def test_find_cycle_on_small_graphs():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"b2"}, "b2": {"b"}}) == ["b", "b2", "b"]


def test_the_teacher_never_imports_the_port():
    graph = import_graph()
    port = {m for m in graph if m == "jaxsharp.port" or m.startswith("jaxsharp.port.")}
    for name in ("jaxsharp.teacher", "jaxsharp.teacher.swinir"):
        assert not graph[name] & port, (name, graph[name] & port)
    # The converter needs only the Flax SwinIR, the checkpoint helpers and the pickle reader.
    assert graph["jaxsharp.port.torch_pickle"] == set()


def test_no_import_cycle_in_the_package():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)
