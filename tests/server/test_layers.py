"""The server's layers: only the operator layer runs event loops, and backups sit below erasure."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import kibitz

SOURCE = Path(kibitz.__file__).parent
OPERATOR = SOURCE / "server" / "operator"


def _modules(directory: Path) -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(directory.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"))


def _imported(tree: ast.Module) -> set[str]:
    """Return the absolute modules a module imports, at its top or inside functions."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _runs_an_event_loop(tree: ast.Module) -> bool:
    return any(
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "run"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "asyncio"
        for node in ast.walk(tree)
    )


def test_only_the_operator_layer_runs_async_code_to_completion() -> None:
    runners = [
        path.relative_to(SOURCE).as_posix()
        for path, tree in _modules(SOURCE)
        if _runs_an_event_loop(tree) and OPERATOR not in path.parents
    ]
    assert runners == []
    assert _runs_an_event_loop(ast.parse((OPERATOR / "_running.py").read_text(encoding="utf-8")))


def test_no_domain_module_imports_the_operator_layer() -> None:
    importers = [
        path.relative_to(SOURCE).as_posix()
        for path, tree in _modules(SOURCE / "server")
        if OPERATOR not in path.parents
        and any(name.startswith("kibitz.server.operator") for name in _imported(tree))
    ]
    assert importers == []


def test_backups_sit_below_erasure() -> None:
    erasure_users = [
        path.name
        for path, tree in _modules(SOURCE / "server" / "backup")
        if any(name.startswith("kibitz.server.erasure") for name in _imported(tree))
    ]
    assert erasure_users == []
    erasure_imports = set().union(*(_imported(tree) for _, tree in _modules(SOURCE / "server" / "erasure")))
    assert "kibitz.server.backup.purge.purge_destroyed_from_backups" in erasure_imports
