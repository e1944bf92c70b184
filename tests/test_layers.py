"""Layers: only the server's operator layer runs event loops, backups sit below erasure, the CLI's
command modules import each other without cycles, and the language server is a client like the CLI."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import kibitz

SOURCE = Path(kibitz.__file__).parent
OPERATOR = SOURCE / "server" / "operator"
CLI = SOURCE / "cli"


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


def _cli_imports() -> dict[str, set[str]]:
    """Return, for each module of the CLI, the modules of the CLI it imports."""
    graph: dict[str, set[str]] = {}
    for path, tree in _modules(CLI):
        # `kibitz.cli.context.json_option` comes from the module `kibitz.cli.context`.
        modules = {".".join(name.split(".")[:3]) for name in _imported(tree)}
        graph[f"kibitz.cli.{path.stem}"] = {name for name in modules if name.startswith("kibitz.cli.")}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """Return one cycle of ``graph`` as a path of its nodes, or [] when it has none."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str]:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return []
        for following in sorted(graph.get(node, ())):
            found = visit(following, [*path, node])
            if found:
                return found
        done.add(node)
        return []

    return next((found for node in sorted(graph) if (found := visit(node, []))), [])


def test_cli_modules_import_each_other_without_cycles() -> None:
    graph = _cli_imports()
    assert "kibitz.cli.codemarks" in graph["kibitz.cli.main"]
    assert "kibitz.cli.team_admin" in graph["kibitz.cli.team"]
    assert _cycle(graph) == []
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_server_settings_are_loaded_in_one_place() -> None:
    loaders = [path.name for path, tree in _modules(CLI) if "Settings.load(" in ast.unparse(tree)]
    assert loaders == ["server_settings.py"]


def test_the_language_server_talks_to_kibitz_only_as_a_client() -> None:
    # Like the CLI it uses the client library, locating and git, and says why a block moved in the CLI's
    # words (whynote); it never reaches into the server, and the CLI (which starts it) stays above it.
    imported = set().union(*(_imported(tree) for _, tree in _modules(SOURCE / "lsp")))
    kibitz_parts = {name.split(".")[1] for name in imported if name.startswith("kibitz.")}
    assert kibitz_parts <= {"client", "gitrepo", "locate", "lsp", "whynote", "__version__"}
    # The wording both share sits below both: it knows locating's answers and how to write a time.
    shared = _imported(ast.parse((SOURCE / "whynote.py").read_text(encoding="utf-8")))
    assert {name.split(".")[1] for name in shared if name.startswith("kibitz.")} == {"locate", "times"}
    assert {"client", "gitrepo", "locate"} <= kibitz_parts
