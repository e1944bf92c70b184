"""The engine is pure: it imports nothing from git, HTTP, the database or the rest of Kibitz."""

from __future__ import annotations

import ast
from pathlib import Path

import kibitz.anchoring

PACKAGE = Path(kibitz.anchoring.__file__).parent
ALLOWED = {
    "__future__",
    "bisect",
    "collections",
    "contextlib",
    "contextvars",
    "dataclasses",
    "difflib",
    "functools",
    "itertools",
    "math",
    "re",
    # The engine's only look outside its inputs: the CPU time it has spent (its budget).
    "time",
    "typing",
}


def test_modules_import_only_the_standard_library_and_each_other() -> None:
    for path in sorted(PACKAGE.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # a relative import stays inside the package
                    continue
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] in ALLOWED, f"{path.name} imports {name}"
