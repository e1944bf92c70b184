"""The latency scenario: 200 codemarks in a 3,000-line file, located after 20 commits of edits.

A real file of about 3,000 lines (by default ``click/core.py`` of the newest click release fetched) goes
through 20 synthetic commits of the edits people make, chosen by a seeded random generator so that every
run builds the same history: a function added (copied from another module of the package and renamed),
a small function deleted, a line edited (an identifier renamed), a statement inserted, a function moved
elsewhere in its class or module, a few lines deleted, statements wrapped in a new ``if`` (re-indented).
Every line remembers which line of the original it came from, so the benchmark knows where each codemark
must be at the end when all its lines survived in order.

The 200 codemarks are ranges of 1–20 lines starting on non-blank lines of the original, carrying their
code and context as the client captures them. What a client does to show them at the newest commit is
one ``relocate_many`` from the reference commit to it (one diff); that call is timed warm — after a
first run, with the engine's memoised results cleared before each timed run so the diff is redone —
and the median of several runs is compared with the target. Relocating from the original to each of
the 20 commits, and chaining the relocations commit by commit, are timed too.
"""

from __future__ import annotations

import ast
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kibitz.anchoring import Anchor, relocate_many

from .score import anchors_for, clear_engine_caches
from .truth import split_lines

Line = tuple[str, int | None]  # text, 0-based line of the original it came from (None: new)

CODEMARKS = 200
COMMITS = 20
RUNS = 7
TARGET_MS = 100.0


@dataclass(slots=True)
class Scenario:
    """The versions of the file, the codemarks on the original and where they must end up."""

    source: str
    versions: list[str]
    codemarks: list[tuple[int, int]]
    expected: list[tuple[int, int] | None]
    edits: dict[str, int] = field(default_factory=dict)


def build(source_name: str, text: str, donors: Sequence[str], seed: int = 3) -> Scenario:
    """Return the 20-commit history of ``text`` and 200 codemarks on it, deterministically."""
    rng = random.Random(seed)
    lines: list[Line] = [(line, index) for index, line in enumerate(split_lines(text))]
    donor_functions = _functions_of(donors)
    versions = [_text(lines)]
    edits: dict[str, int] = {}
    operations: list[tuple[str, Callable[[list[Line], random.Random], bool]]] = [
        ("add function", lambda ls, r: _add_function(ls, r, donor_functions, len(versions))),
        ("delete function", _delete_function),
        ("edit line", _edit_line),
        ("insert statement", _insert_statement),
        ("move function", _move_function),
        ("delete lines", _delete_lines),
        ("wrap in if", _wrap_in_if),
    ]
    for _ in range(COMMITS):
        for _ in range(rng.randint(1, 3)):
            for _attempt in range(10):
                name, operation = rng.choice(operations)
                before = list(lines)
                if operation(lines, rng) and _tree(lines) is not None:
                    edits[name] = edits.get(name, 0) + 1
                    break
                lines[:] = before  # the edit did not apply or broke the syntax: try another
        versions.append(_text(lines))
    original = split_lines(text)
    starts = [index + 1 for index, line in enumerate(original) if line.strip()]
    codemarks = []
    for _ in range(CODEMARKS):
        start = rng.choice(starts)
        size = rng.choice([1] * 4 + [2, 3, 4, 5] + [8, 12, 20])
        codemarks.append((start, min(start + size - 1, len(original))))
    where = {origin: position + 1 for position, (_, origin) in enumerate(lines) if origin is not None}
    expected: list[tuple[int, int] | None] = []
    for start, end in codemarks:
        found = [where.get(line - 1) for line in range(start, end + 1)]
        first = found[0]
        intact = first is not None and all(
            position == first + offset for offset, position in enumerate(found)
        )
        expected.append((first, first + end - start) if intact and first is not None else None)
    return Scenario(source_name, versions, codemarks, expected, edits)


def measure(scenario: Scenario) -> dict[str, Any]:
    """Time locating the codemarks at the newest commit (and more), and check where they landed."""
    original, head = scenario.versions[0], scenario.versions[-1]
    anchors = anchors_for(split_lines(original), scenario.codemarks)
    relocate_many(original, head, anchors)  # warm up
    runs = []
    for _ in range(RUNS):
        clear_engine_caches()
        began = time.perf_counter()
        located = relocate_many(original, head, anchors)
        runs.append((time.perf_counter() - began) * 1000)
    checked = exact = 0
    for location, expected in zip(located, scenario.expected, strict=True):
        if expected is None:
            continue
        checked += 1
        got = None if location.range is None else (location.range.start_line, location.range.end_line)
        exact += got == expected
    statuses: dict[str, int] = {}
    for location in located:
        statuses[location.status] = statuses.get(location.status, 0) + 1

    clear_engine_caches()
    began = time.perf_counter()
    for version in scenario.versions[1:]:
        relocate_many(original, version, anchors)
    each_ms = (time.perf_counter() - began) * 1000

    clear_engine_caches()
    began = time.perf_counter()
    current: list[Anchor] = anchors
    for older, newer in zip(scenario.versions, scenario.versions[1:], strict=False):
        moved = relocate_many(older, newer, current)
        new_lines = split_lines(newer)
        ranges = [(loc.range.start_line, loc.range.end_line) for loc in moved if loc.range is not None]
        current = anchors_for(new_lines, ranges)
    chained_ms = (time.perf_counter() - began) * 1000

    median = statistics.median(runs)
    return {
        "source": scenario.source,
        "lines": len(split_lines(original)),
        "lines_at_head": len(split_lines(head)),
        "commits": len(scenario.versions) - 1,
        "codemarks": len(scenario.codemarks),
        "edits": scenario.edits,
        "head_ms_median": round(median, 2),
        "head_ms_runs": [round(run, 2) for run in runs],
        "each_commit_ms_total": round(each_ms, 2),
        "chained_ms_total": round(chained_ms, 2),
        "chained_survivors": len(current),
        "checked": checked,
        "exact": exact,
        "exact_percent": round(100.0 * exact / checked, 2) if checked else None,
        "statuses_at_head": statuses,
        "target_ms": TARGET_MS,
        "passed": median <= TARGET_MS,
    }


def summary(result: dict[str, Any]) -> str:
    """Return the scenario's measurements in a few lines of text."""
    edits = ", ".join(f"{name} {count}" for name, count in result["edits"].items())
    return (
        f"Scenario: {result['codemarks']} codemarks in {result['source']}, {result['lines']} lines, "
        f"{result['commits']} commits ({edits})\n"
        f"  located at the newest commit: {result['head_ms_median']} ms "
        f"(median of {len(result['head_ms_runs'])} warm runs)\n"
        f"  located at each of the {result['commits']} commits: {result['each_commit_ms_total']} ms in all; "
        f"chained commit by commit: {result['chained_ms_total']} ms\n"
        f"  exact at the newest commit: {result['exact']} of the {result['checked']} codemarks whose lines "
        f"all survived in order; statuses {result['statuses_at_head']}"
    )


def _text(lines: Sequence[Line]) -> str:
    return "".join(line + "\n" for line, _ in lines)


def _tree(lines: Sequence[Line]) -> ast.Module | None:
    try:
        return ast.parse(_text(lines))
    except SyntaxError:
        return None


def _definitions(
    lines: Sequence[Line],
) -> list[tuple[ast.AST | None, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Return the functions of the current text with their parent (a class, or None at top level)."""
    tree = _tree(lines)
    if tree is None:
        return []
    found: list[tuple[ast.AST | None, ast.FunctionDef | ast.AsyncFunctionDef]] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.append((None, node))
        elif isinstance(node, ast.ClassDef):
            found.extend(
                (node, item)
                for item in node.body
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
            )
    return found


def _span(node: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[int, int]:
    """Return the 0-based first (decorators included) and last line of a function."""
    first = min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])
    return first - 1, (node.end_lineno or node.lineno) - 1


def _simple_statements(lines: Sequence[Line]) -> list[ast.stmt]:
    """Return the one-line simple statements inside functions."""
    found: list[ast.stmt] = []
    for _, function in _definitions(lines):
        for node in ast.walk(function):
            if (
                isinstance(node, (ast.Assign, ast.AugAssign, ast.Return, ast.Expr, ast.Raise))
                and node.lineno == node.end_lineno
                and not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
            ):
                found.append(node)
    return found


def _functions_of(donors: Sequence[str]) -> list[list[str]]:
    """Return the top-level functions of other modules, as lines, to be pasted in as new code."""
    found = []
    for text in donors:
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        lines = split_lines(text)
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and (node.end_lineno or 0) - node.lineno < 40:
                found.append(lines[node.lineno - 1 : node.end_lineno])
    return found or [["def added_function():", "    return None"]]


def _add_function(lines: list[Line], rng: random.Random, donors: list[list[str]], commit: int) -> bool:
    top = [node for parent, node in _definitions(lines) if parent is None]
    if not top:
        return False
    at = _span(rng.choice(top))[0]
    body = list(rng.choice(donors))
    name = body[0].split("(")[0].split()[-1]
    body[0] = body[0].replace(f"def {name}(", f"def {name}_c{commit}(", 1)
    lines[at:at] = [(line, None) for line in [*body, "", ""]]
    return True


def _delete_function(lines: list[Line], rng: random.Random) -> bool:
    small = [node for _, node in _definitions(lines) if _span(node)[1] - _span(node)[0] <= 25]
    if not small:
        return False
    first, last = _span(rng.choice(small))
    while last + 1 < len(lines) and not lines[last + 1][0].strip():
        last += 1
    del lines[first : last + 1]
    return True


def _edit_line(lines: list[Line], rng: random.Random) -> bool:
    statements = _simple_statements(lines)
    if not statements:
        return False
    index = rng.choice(statements).lineno - 1
    text, origin = lines[index]
    words = [word for word in _identifiers(text) if len(word) >= 4]
    if not words:
        return False
    word = rng.choice(words)
    lines[index] = (text.replace(word, f"{word}_new", 1), origin)
    return True


def _insert_statement(lines: list[Line], rng: random.Random) -> bool:
    statements = _simple_statements(lines)
    if not statements:
        return False
    node = rng.choice(statements)
    index = node.lineno - 1
    indent = lines[index][0][: node.col_offset]
    lines.insert(index + 1, (f'{indent}_log.debug("checkpoint %s", {rng.randint(1, 999)})', None))
    return True


def _move_function(lines: list[Line], rng: random.Random) -> bool:
    definitions = _definitions(lines)
    movable = [(parent, node) for parent, node in definitions if _span(node)[1] - _span(node)[0] <= 60]
    if not movable:
        return False
    parent, node = rng.choice(movable)
    siblings = [other for p, other in definitions if p is parent and other is not node]
    if not siblings:
        return False
    first, last = _span(node)
    while last + 1 < len(lines) and not lines[last + 1][0].strip():
        last += 1
    block = lines[first : last + 1]
    target = _span(rng.choice(siblings))[0]
    del lines[first : last + 1]
    if target > first:
        target -= len(block)
    lines[target:target] = block
    return True


def _delete_lines(lines: list[Line], rng: random.Random) -> bool:
    statements = _simple_statements(lines)
    if not statements:
        return False
    index = rng.choice(statements).lineno - 1
    del lines[index : index + 1]
    return True


def _wrap_in_if(lines: list[Line], rng: random.Random) -> bool:
    statements = _simple_statements(lines)
    if not statements:
        return False
    node = rng.choice(statements)
    index = node.lineno - 1
    indent = lines[index][0][: node.col_offset]
    simple = {(statement.lineno - 1, statement.col_offset) for statement in statements}
    count = 1
    while count < 3 and (index + count, node.col_offset) in simple:
        count += 1
    wrapped = [("    " + text, origin) for text, origin in lines[index : index + count]]
    lines[index : index + count] = [(f"{indent}if _enabled:", None), *wrapped]
    return True


def _identifiers(text: str) -> list[str]:
    words = []
    current = ""
    for char in text + " ":
        if char.isalnum() or char == "_":
            current += char
        else:
            if current and not current[0].isdigit() and current not in _KEYWORDS:
                words.append(current)
            current = ""
    return words


_KEYWORDS = frozenset(
    {"return", "raise", "self", "None", "True", "False", "lambda", "await", "yield", "else", "elif"}
)
