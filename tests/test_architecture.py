"""The library's shape (ARCHITECTURE.md): no import cycles, small modules and functions, no
imports hidden in functions. The layers themselves are checked by ``lint-imports`` (make lint)."""

from __future__ import annotations

import ast
from pathlib import Path

import grimp
import networkx as nx
import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "humanclap"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80
#: Functions allowed to be longer, each with the reason in its docstring (at most two).
LONG_FUNCTIONS: frozenset[str] = frozenset()


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _functions(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def _body_lines(func: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines from the first statement after the docstring to the end."""
    body = func.body
    has_doc = isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
    first = body[1] if has_doc and len(body) > 1 else body[0]
    return func.end_lineno - first.lineno + 1


def _cycles(graph: nx.DiGraph) -> list[list[str]]:
    """The import cycles of ``graph``: its strongly connected components of more than one
    module (networkx), each sorted."""
    return sorted(sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1)


def test_cycle_check_finds_a_planted_cycle() -> None:
    graph = nx.DiGraph([("a", "b"), ("b", "c"), ("c", "a"), ("d", "a")])
    assert _cycles(graph) == [["a", "b", "c"]]


def test_no_import_cycles_including_imports_inside_functions() -> None:
    graph = grimp.build_graph("humanclap")  # grimp sees every import statement, nested too
    modules = set(graph.modules)
    imports = nx.DiGraph()
    imports.add_nodes_from(modules)
    for module in modules:
        for imported in graph.find_modules_directly_imported_by(module) & modules:
            imports.add_edge(module, imported)
    assert _cycles(imports) == []


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_shape(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert source.count("\n") <= MAX_MODULE_LINES, f"{path}: over {MAX_MODULE_LINES} lines"
    lines = source.splitlines()
    for func in _functions(ast.parse(source)):
        name = f"{path.relative_to(PACKAGE)}:{func.name}"
        if name not in LONG_FUNCTIONS:
            assert _body_lines(func) <= MAX_FUNCTION_LINES, f"{name}: {_body_lines(func)} lines"
        for node in ast.walk(func):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                assert "# lazy:" in lines[node.lineno - 1], (
                    f"{name}: import inside a function on line {node.lineno} "
                    "(move it to the top, or mark a deliberate lazy import '# lazy: <why>')"
                )
                # humanclap's own modules only in the command line's sub-commands, which load
                # the heavy layers (torch) after checking their input
                own = [a.name for a in node.names] if isinstance(node, ast.Import) else [
                    node.module or ""
                ]  # fmt: skip
                assert path.parent.name == "cli" or not any(
                    m.split(".")[0] == "humanclap" for m in own
                ), f"{name}: lazy import of humanclap's own {own} on line {node.lineno}"


def test_long_function_exceptions_are_few_and_explained() -> None:
    assert len(LONG_FUNCTIONS) <= 2
    for entry in LONG_FUNCTIONS:
        file, name = entry.split(":")
        tree = ast.parse((PACKAGE / file).read_text(encoding="utf-8"))
        func = next(f for f in _functions(tree) if f.name == name)
        assert "longer than" in (ast.get_docstring(func) or ""), entry


def test_public_api_is_listed_and_loads_lazily() -> None:
    import subprocess
    import sys

    import humanclap

    assert set(humanclap.__all__) <= set(dir(humanclap))
    code = (
        "import sys, humanclap; assert 'torch' not in sys.modules, 'torch imported'; "
        "from humanclap import stats; assert humanclap.stats is stats; "
        "print(sorted(n for n in humanclap.__all__ if n != '__version__'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    listed = sorted(
        p.stem if p.is_file() else p.name
        for p in PACKAGE.iterdir()
        if not p.name.startswith("_") and (p.suffix == ".py" or (p / "__init__.py").is_file())
    )
    assert out.stdout.strip() == str(listed)
