"""Ground truth from the syntax tree: where definitions and statements of one version are in the next.

A module is parsed once into its definitions (functions and classes, with qualified names such as
``Group.command`` or ``main.<locals>.helper``) and its simple statements (every ``ast.stmt`` that has
no body of its own: assignments, returns, calls, raises, …), each with its lines and its normalised
text (whitespace removed, blank lines dropped — the same comparison the engine makes).

Which anchors have a known answer, for one old file and its counterpart in the new version:

* **definitions** whose qualified name occurs exactly once in the old file and exactly once in the new
  file: the ``def``/``class`` line (decorators excluded) and the whole range (that line to the last line
  of the body) — unless another file now has a definition of the same name more like the old one (the
  code moved, the name stayed: ambiguous), or the namesake kept less than half of the old text while
  another definition of its file kept at least half, or one new in a file added or changed in the version
  holds more than half of its lines (the name stayed on other code: ambiguous too; see
  ``_taken_by_another``). A
  definition whose name left the file and occurs exactly once in the whole new package, in another file
  that was added or changed, having been unique in the whole old package and kept a similar body, *moved
  to another file*;
* **statements** inside such functions whose ``ast.dump`` (no line numbers) occurs exactly once in the
  old file and exactly once in the file the function is in now;
* **deleted definitions**: the outermost definitions whose name occurs nowhere in the new package and
  whose body is not similar (ratio > 0.5 of normalised lines) to the body of any definition in it, nor
  their text (ratio > 0.3) to a definition of the same simple name (``fmt`` in ``Parser.<locals>.fmt``)
  or to one new under the same parent whose header is nearly theirs (renamed a little:
  ``PackageIndex.renamed``); for the other languages, nor to anonymous or named code that is no
  definition, nor hidden in code the parser did not read (``Module.other_bodies``, ``other_names``,
  ``unparsed``).

Every case falls into one category: kind (def line, def range, statement) × text (``same`` when the
normalised text of the node — the whole definition, or the statement — is equal in both versions,
``edited`` otherwise) × place (``moved`` or ``in place``), or ``deleted``.

**Moved** is decided by order, the way a reader of a diff sees it: among the definitions of one parent
(module, class or function) that have an answer, those outside a longest run kept in the same order in
the new version moved; a definition inside a moved one moved with it; a definition in another file
moved. A statement moved when its function moved, when it is now in another function, or when it is
outside a longest run of its function's statements kept in order.
"""

from __future__ import annotations

import ast
import bisect
import difflib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["def line", "def range", "statement"]
KINDS: tuple[Kind, ...] = ("def line", "def range", "statement")

# A removed definition whose body is at least this alike to some definition of the new version is no
# clear deletion (it may have been renamed or rewritten): it gets no ground truth.
DELETED_MAX_SIMILARITY = 0.5
# A removed definition whose simple name is still defined somewhere in the new version, with a text at
# least this alike, may be the same code rewritten under a new parent: it gets no ground truth either.
DELETED_SAME_NAME_MAX_SIMILARITY = 0.3
# A definition that changed files must keep at least this much of its text to count as the same one.
MOVED_MIN_SIMILARITY = 0.5
# A removed definition whose header (its name, signature or selector) is at least this alike, by characters,
# to that of a definition new in the version under the same parent, with a text alike as a namesake's must
# be, may be the same code renamed a little and rewritten: it gets no ground truth either.
RENAMED_MIN_HEADER_SIMILARITY = 0.9

_COMPOUND = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.If,
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.With,
    ast.AsyncWith,
    ast.Try,
    ast.TryStar,
    ast.Match,
)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def split_lines(text: str) -> list[str]:
    """Split a text into lines as the engine and git count them (a final newline ends a line)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def normalise(lines: Iterable[str]) -> tuple[str, ...]:
    """Return lines with all whitespace removed, blank ones dropped."""
    keys = ("".join(line.split()) for line in lines)
    return tuple(key for key in keys if key)


@dataclass(frozen=True, slots=True)
class Definition:
    """A function or class: qualified name, parent's qualified name, lines and normalised text.

    ``name`` is the simple name (``fmt`` of ``Parser.<locals>.fmt``), which finds namesakes elsewhere.
    """

    qualname: str
    name: str
    parent: str
    line: int
    end: int
    header_end: int
    body_line: int
    norm: tuple[str, ...]
    body: tuple[str, ...]
    is_function: bool


@dataclass(frozen=True, slots=True)
class Statement:
    """A simple statement: its AST dump, the function it is in ("" if none), lines, normalised text."""

    dump: str
    owner: str
    line: int
    end: int
    norm: tuple[str, ...]


@dataclass(slots=True)
class Module:
    """What the benchmark needs to know about one parsed file."""

    definitions: list[Definition] = field(default_factory=list)
    by_name: dict[str, list[Definition]] = field(default_factory=dict)
    statements: list[Statement] = field(default_factory=list)
    dumps: Counter[str] = field(default_factory=Counter)
    by_dump: dict[str, Statement] = field(default_factory=dict)
    # Normalised bodies of code that is no definition (an anonymous function, a callback), and the texts of
    # named code that is none either (``return function createSlice(…) {``), by name: a deleted definition
    # must not resemble these either, or its code may only have moved into one.
    other_bodies: list[tuple[str, ...]] = field(default_factory=list)
    other_names: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)
    # Normalised lines of code the parser did not read as code (syntax errors tree-sitter recovered from, the
    # insides of Rust macros): they hold no definitions or statements, and a deleted definition must not be
    # hidden in them either.
    unparsed: set[str] = field(default_factory=set)

    def add(self, definition: Definition) -> None:
        """Record a definition."""
        self.definitions.append(definition)
        self.by_name.setdefault(definition.qualname, []).append(definition)

    def count_statements(self) -> None:
        """Count the statements by dump, once they are all recorded."""
        for statement in self.statements:
            self.dumps[statement.dump] += 1
            self.by_dump.setdefault(statement.dump, statement)

    def unique(self, qualname: str) -> Definition | None:
        """Return the definition with this qualified name if there is exactly one."""
        found = self.by_name.get(qualname, [])
        return found[0] if len(found) == 1 else None

    def unique_statement(self, dump: str) -> Statement | None:
        """Return the statement with this dump if there is exactly one."""
        return self.by_dump[dump] if self.dumps[dump] == 1 else None


def parse_module(text: str) -> Module | None:
    """Return the definitions and statements of a Python source, or None if it does not parse."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    lines = split_lines(text)
    module = Module()
    try:
        _visit(tree, "", False, lines, module)
    except RecursionError:
        return None
    module.count_statements()
    return module


def _visit(node: ast.AST, scope: str, in_function: bool, lines: list[str], module: Module) -> None:
    """Collect the definitions and simple statements below ``node`` in source order."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (*_FUNCTIONS, ast.ClassDef)):
            name = f"{scope}.<locals>.{child.name}" if in_function else f"{scope}.{child.name}"
            name = name.lstrip(".")
            end = child.end_lineno or child.lineno
            body_line = child.body[0].lineno if child.body else child.lineno
            definition = Definition(
                qualname=name,
                name=child.name,
                parent=scope,
                line=child.lineno,
                end=end,
                header_end=max(child.lineno, body_line - 1),
                body_line=body_line,
                norm=normalise(lines[child.lineno - 1 : end]),
                body=normalise(lines[body_line - 1 : end]),
                is_function=isinstance(child, _FUNCTIONS),
            )
            module.add(definition)
            _visit(child, name, isinstance(child, _FUNCTIONS), lines, module)
        elif isinstance(child, _COMPOUND):
            _visit(child, scope, in_function, lines, module)
        elif isinstance(child, ast.stmt):
            end = child.end_lineno or child.lineno
            owner = scope if in_function else ""
            text = normalise(lines[child.lineno - 1 : end])
            module.statements.append(Statement(ast.dump(child), owner, child.lineno, end, text))
        elif isinstance(child, (ast.excepthandler, ast.match_case)):
            _visit(child, scope, in_function, lines, module)


def similarity(first: Sequence[str], second: Sequence[str]) -> float:
    """Return how alike two normalised texts are (difflib ratio over lines; characters if short)."""
    if not first and not second:
        return 1.0
    if len(first) <= 3 and len(second) <= 3:
        return difflib.SequenceMatcher(None, "\n".join(first), "\n".join(second), autojunk=False).ratio()
    return difflib.SequenceMatcher(None, first, second, autojunk=False).ratio()


def longest_ordered(values: Sequence[int]) -> set[int]:
    """Return the indexes of a longest strictly increasing subsequence of ``values`` (earliest wins)."""
    tails: list[int] = []
    tail_index: list[int] = []
    previous = [-1] * len(values)
    for index, value in enumerate(values):
        position = bisect.bisect_left(tails, value)
        if position == len(tails):
            tails.append(value)
            tail_index.append(index)
        else:
            tails[position] = value
            tail_index[position] = index
        previous[index] = tail_index[position - 1] if position > 0 else -1
    kept: set[int] = set()
    index = tail_index[-1] if tail_index else -1
    while index >= 0:
        kept.add(index)
        index = previous[index]
    return kept


@dataclass(frozen=True, slots=True)
class Expected:
    """Where an anchor must land: a path and lines; ``end_max`` allows a def line that wraps."""

    path: str
    start: int
    end: int
    end_max: int


@dataclass(frozen=True, slots=True)
class Case:
    """One anchor of the old file with its known answer (``expected`` None: it was deleted)."""

    kind: Kind
    start: int
    end: int
    expected: Expected | None
    edited: bool = False
    moved: bool = False
    label: str = ""

    @property
    def category(self) -> str:
        """Return the category the case is scored in."""
        if self.expected is None:
            return f"deleted · {self.kind}"
        return (
            f"{self.kind} · {'edited' if self.edited else 'same'} · {'moved' if self.moved else 'in place'}"
        )


def categories() -> list[str]:
    """Return every category in report order."""
    found = [
        f"{kind} · {text} · {place}"
        for kind in KINDS
        for text in ("same", "edited")
        for place in ("in place", "moved")
    ]
    return [*found, "deleted · def line", "deleted · def range"]


@dataclass(frozen=True, slots=True)
class PackageIndex:
    """Every definition of one version of a package, by qualified name, with the file it is in."""

    by_name: Mapping[str, Sequence[tuple[str, Definition]]]
    by_simple_name: Mapping[str, Sequence[tuple[str, ...]]]
    bodies: Sequence[tuple[str, ...]]
    unparsed: frozenset[str] = frozenset()

    @classmethod
    def build(cls, modules: Mapping[str, Module]) -> PackageIndex:
        """Index the definitions of the parsed modules of a version."""
        by_name: dict[str, list[tuple[str, Definition]]] = {}
        by_simple_name: dict[str, list[tuple[str, ...]]] = {}
        bodies: list[tuple[str, ...]] = []
        unparsed: set[str] = set()
        for path, module in modules.items():
            for definition in module.definitions:
                by_name.setdefault(definition.qualname, []).append((path, definition))
                by_simple_name.setdefault(definition.name, []).append(definition.norm)
                bodies.append(definition.body)
            bodies.extend(module.other_bodies)
            for name, texts in module.other_names.items():
                by_simple_name.setdefault(name, []).extend(texts)
            unparsed |= module.unparsed
        return cls(by_name, by_simple_name, bodies, frozenset(unparsed))

    def count(self, qualname: str) -> int:
        """Return how many definitions of the package have this qualified name."""
        return len(self.by_name.get(qualname, ()))

    def resembles(self, definition: Definition) -> bool:
        """Return True if some definition looks like a new version of ``definition``.

        That is: its body is alike (ratio above ``DELETED_MAX_SIMILARITY``), or it has the same simple
        name and a text alike above ``DELETED_SAME_NAME_MAX_SIMILARITY``, or its first line or half its
        body's lines are in code of the new version that the parser did not read.
        """
        for namesake in self.by_simple_name.get(definition.name, ()):
            if similarity(definition.norm, namesake) > DELETED_SAME_NAME_MAX_SIMILARITY:
                return True
        if self.unparsed and definition.norm:
            hidden = sum(line in self.unparsed for line in definition.body)
            if definition.norm[0] in self.unparsed or 2 * hidden >= len(definition.body):
                return True
        body = definition.body
        matcher = difflib.SequenceMatcher(None, autojunk=False)
        matcher.set_seq2(body)
        short = len(body) <= 3
        for other in self.bodies:
            if short and len(other) <= 3:
                if similarity(body, other) > DELETED_MAX_SIMILARITY:
                    return True
                continue
            matcher.set_seq1(other)
            if (
                matcher.real_quick_ratio() > DELETED_MAX_SIMILARITY
                and matcher.quick_ratio() > DELETED_MAX_SIMILARITY
                and matcher.ratio() > DELETED_MAX_SIMILARITY
            ):
                return True
        return False

    def renamed(self, definition: Definition, old: PackageIndex) -> bool:
        """Return True if a definition new in this version (by name) may be ``definition`` renamed.

        It has the same parent, a header alike at least ``RENAMED_MIN_HEADER_SIMILARITY``
        (``li a::after {`` → ``li ::after {``, ``def fetch_items(s):`` → ``def fetch_item(s):``) and a text
        alike above ``DELETED_SAME_NAME_MAX_SIMILARITY``, the likeness asked of a namesake.
        """
        header = _header(definition)
        matcher = difflib.SequenceMatcher(None, autojunk=False)
        matcher.set_seq2(header)
        for qualname, places in self.by_name.items():
            if old.count(qualname):
                continue
            for _path, other in places:
                if other.parent != definition.parent:
                    continue
                if _alike(matcher, _header(other), RENAMED_MIN_HEADER_SIMILARITY) and (
                    similarity(definition.norm, other.norm) > DELETED_SAME_NAME_MAX_SIMILARITY
                ):
                    return True
        return False


def _header(definition: Definition) -> str:
    """Return a definition's normalised header: the lines before its body (its first, if none)."""
    return "".join(definition.norm[: max(1, len(definition.norm) - len(definition.body))])


@dataclass(frozen=True, slots=True)
class _Match:
    old: Definition
    new: Definition
    path: str
    other_file: bool


def file_cases(
    old: Module,
    new: Module | None,
    new_path: str | None,
    old_index: PackageIndex,
    new_index: PackageIndex,
    new_modules: Mapping[str, Module],
    changed: frozenset[str],
) -> list[Case]:
    """Return the anchors of one old file with known answers in the new version of the package.

    ``new`` is the file's counterpart (same path or renamed) or None if it was removed; ``changed`` holds
    the new version's files that were added or changed, where a definition may have moved to.
    """
    matches: list[_Match] = []
    deleted: list[Definition] = []
    for definition in old.definitions:
        name = definition.qualname
        if old.unique(name) is None:
            continue
        here = new.unique(name) if new is not None else None
        if here is not None and new_path is not None and new is not None:
            if not _better_elsewhere(definition, here, new_path, new_index) and not _taken_by_another(
                definition, here, new, new_path, new_modules, changed, old_index
            ):
                matches.append(_Match(definition, here, new_path, other_file=False))
            continue
        if new is not None and name in new.by_name:
            continue
        elsewhere = new_index.by_name.get(name, ())
        if len(elsewhere) == 1 and old_index.count(name) == 1:
            path, there = elsewhere[0]
            if (
                path != new_path
                and path in changed
                and similarity(definition.norm, there.norm) >= MOVED_MIN_SIMILARITY
            ):
                matches.append(_Match(definition, there, path, other_file=True))
            continue
        if elsewhere or new is None:
            continue
        parent_gone = definition.parent and definition.parent not in new.by_name
        if (
            not parent_gone
            and not new_index.resembles(definition)
            and not new_index.renamed(definition, old_index)
        ):
            deleted.append(definition)

    moved = _moved_definitions(matches)
    cases: list[Case] = []
    for match in matches:
        old_def, new_def = match.old, match.new
        edited = old_def.norm != new_def.norm
        is_moved = moved[old_def.qualname]
        label = old_def.qualname
        line = Expected(match.path, new_def.line, new_def.line, new_def.header_end)
        whole = Expected(match.path, new_def.line, new_def.end, new_def.end)
        cases.append(Case("def line", old_def.line, old_def.line, line, edited, is_moved, label))
        cases.append(Case("def range", old_def.line, old_def.end, whole, edited, is_moved, label))
    cases.extend(_statement_cases(old, matches, moved, new_modules))
    for definition in deleted:
        label = definition.qualname
        cases.append(Case("def line", definition.line, definition.line, None, label=label))
        cases.append(Case("def range", definition.line, definition.end, None, label=label))
    return cases


def _better_elsewhere(definition: Definition, here: Definition, path: str, new_index: PackageIndex) -> bool:
    """Return True if another file now has a definition of that name more like the old one.

    Then the code moved while the name stayed behind (a class split into a thin subclass here and the
    real body elsewhere): either place could be the answer, so the definition gets no ground truth.
    """
    others = [
        other for other_path, other in new_index.by_name.get(definition.qualname, ()) if other_path != path
    ]
    if not others or definition.norm == here.norm:
        return False
    kept = similarity(definition.norm, here.norm)
    return any(similarity(definition.norm, other.norm) > kept for other in others)


def _taken_by_another(
    definition: Definition,
    here: Definition,
    new: Module,
    new_path: str,
    new_modules: Mapping[str, Module],
    changed: frozenset[str],
    old_index: PackageIndex,
) -> bool:
    """Return True if the name now holds other code while another definition took the old code.

    That is: the namesake kept less than ``MOVED_MIN_SIMILARITY`` of the text and another definition kept
    at least that much: one of the file (``:root { colours }`` became ``:root, [data-theme=light] {
    colours }`` beside a new ``:root { breakpoints }``), or one new in a file added or changed in the
    version, where code may move to as a definition moves to another file (bootstrap 5.3 moved those
    colours to other files and left ``:root`` the breakpoints; Flask 3.0 moved ``Flask.__init__``'s body to
    ``App.__init__`` in a new file). Either could be the answer: no ground truth. Another file is held to
    more: a definition of it that was there before, by name, is no place code went in this version (two
    ``delete_cookie`` methods alike in two classes), and it must hold more than half of the old lines that
    say something, in order: not a text alike as a whole because it is short (``return self.readline()``
    for ``return (self.fspath, None, self.fspath)``, a struct of two fields for one of five that had those
    two), nor one that shares its closing brackets.
    """
    if definition.norm == here.norm:
        return False
    kept = similarity(definition.norm, here.norm)
    if kept >= MOVED_MIN_SIMILARITY:
        return False
    matcher = difflib.SequenceMatcher(None, autojunk=False)
    matcher.set_seq2(definition.norm)
    short = len(definition.norm) <= 3
    for other in new.definitions:
        if other is here:
            continue
        if short or len(other.norm) <= 3:
            if similarity(definition.norm, other.norm) >= MOVED_MIN_SIMILARITY:
                return True
            continue
        if _alike(matcher, other.norm, MOVED_MIN_SIMILARITY):
            return True
    matcher.set_seq2(_saying(definition.norm))
    for path in sorted(changed - {new_path}):
        module = new_modules.get(path)
        for other in module.definitions if module is not None else ():
            if any(p == path for p, _ in old_index.by_name.get(other.qualname, ())):
                continue
            if _holds_most_of(matcher, _saying(other.norm)):
                return True
    return False


def _saying(lines: Sequence[str]) -> tuple[str, ...]:
    """Return the lines that say something: not those of brackets and punctuation alone (``}``, ``):``)."""
    return tuple(line for line in lines if any(character.isalnum() for character in line))


def _alike(matcher: difflib.SequenceMatcher[str], other: Sequence[str], least: float) -> bool:
    """Return True if ``other`` and the matcher's second text are alike: a ratio of at least ``least``."""
    matcher.set_seq1(other)
    return matcher.real_quick_ratio() >= least and matcher.quick_ratio() >= least and matcher.ratio() >= least


def _holds_most_of(matcher: difflib.SequenceMatcher[str], other: Sequence[str]) -> bool:
    """Return True if ``other`` holds more than half of the matcher's second text's lines, in order."""
    size = len(matcher.b)  # type: ignore[attr-defined]  # the text set by set_seq2 (typeshed omits it)
    if not size or 2 * min(size, len(other)) <= size:
        return False
    matcher.set_seq1(other)
    # quick_ratio counts the lines both hold in any order: a bound on those held in order.
    if matcher.quick_ratio() * (size + len(other)) <= size:
        return False
    return 2 * sum(block.size for block in matcher.get_matching_blocks()) > size


def _moved_definitions(matches: Sequence[_Match]) -> dict[str, bool]:
    """Return, per old qualified name, whether the definition moved (see the module docstring)."""
    moved: dict[str, bool] = {}
    siblings: dict[str, list[_Match]] = {}
    for match in matches:
        if match.other_file:
            moved[match.old.qualname] = True
        else:
            siblings.setdefault(match.old.parent, []).append(match)
    for group in siblings.values():
        group.sort(key=lambda match: match.old.line)
        kept = longest_ordered([match.new.line for match in group])
        for index, match in enumerate(group):
            moved[match.old.qualname] = index not in kept
    # A definition inside a moved one moved with it; parents come before children in source order.
    for match in sorted(matches, key=lambda match: match.old.line):
        parent = match.old.parent
        if parent and moved.get(parent, False):
            moved[match.old.qualname] = True
    return moved


def _statement_cases(
    old: Module, matches: Sequence[_Match], moved: Mapping[str, bool], new_modules: Mapping[str, Module]
) -> list[Case]:
    """Return the statement anchors inside matched functions, with their answers."""
    functions = {match.old.qualname: match for match in matches if match.old.is_function}
    found: list[tuple[Statement, Statement, _Match]] = []
    for statement in old.statements:
        match = functions.get(statement.owner)
        if match is None or old.dumps[statement.dump] != 1:
            continue
        target = new_modules.get(match.path)
        there = target.unique_statement(statement.dump) if target is not None else None
        if there is not None:
            found.append((statement, there, match))
    by_owner: dict[str, list[int]] = {}
    for index, (statement, there, match) in enumerate(found):
        if there.owner == statement.owner and not match.other_file:
            by_owner.setdefault(statement.owner, []).append(index)
    in_order: set[int] = set()
    for indexes in by_owner.values():
        indexes.sort(key=lambda index: found[index][0].line)
        kept = longest_ordered([found[index][1].line for index in indexes])
        in_order.update(indexes[position] for position in kept)
    cases = []
    for index, (statement, there, match) in enumerate(found):
        is_moved = moved[match.old.qualname] or index not in in_order
        expected = Expected(match.path, there.line, there.end, there.end)
        label = f"{statement.owner}: {statement.norm[0][:60] if statement.norm else ''}"
        edited = statement.norm != there.norm
        cases.append(Case("statement", statement.line, statement.end, expected, edited, is_moved, label))
    return cases


def pair_files(old: Mapping[str, str], new: Mapping[str, str]) -> dict[str, str | None]:
    """Return each old file's counterpart in the new version: same path, else a renamed file, else None.

    A file that is gone is paired with the added file whose set of normalised lines overlaps it most
    (Jaccard ≥ 0.5), as git's rename detection would.
    """
    pairs: dict[str, str | None] = {path: path for path in old if path in new}
    removed = [path for path in old if path not in new]
    added = [path for path in new if path not in old]
    if removed and added:
        line_sets = {path: set(normalise(split_lines(old[path]))) for path in removed}
        line_sets.update({path: set(normalise(split_lines(new[path]))) for path in added})
        scored = []
        for gone in removed:
            for came in added:
                union = line_sets[gone] | line_sets[came]
                if union:
                    scored.append((len(line_sets[gone] & line_sets[came]) / len(union), gone, came))
        taken: set[str] = set()
        for score, gone, came in sorted(scored, reverse=True):
            if score >= 0.5 and gone not in pairs and came not in taken:
                pairs[gone] = came
                taken.add(came)
    for path in removed:
        pairs.setdefault(path, None)
    return pairs
