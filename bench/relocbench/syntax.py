"""Ground truth for JavaScript, TypeScript, CSS, C, C++ and Rust, from tree-sitter's syntax trees.

Each grammar turns a file into the same :class:`~relocbench.truth.Module` that ``ast`` gives for Python, so
that the pairing of definitions, the categories and the scoring are shared. What counts as what:

==========  ==========================================================  =====================================
language    definitions (qualified name)                                statements (inside functions)
==========  ==========================================================  =====================================
JavaScript  functions, classes, methods (``get``/``set`` apart), a      expression statements, declarations,
TypeScript  function or class assigned to a variable, a field or a      ``return``, ``throw``, ``break``,
            member (``app.init = function …``, ``const f = () => {``);  ``continue``, imports and exports
            TypeScript adds interfaces, enums and namespaces
CSS         rule sets, by their selectors; ``@media``, ``@supports``,   declarations (``color: red;``)
            ``@keyframes`` and other at-rules with a block, by their
            prelude, as the scope of what is inside
C, C++      functions with a body (``Foo::bar`` when defined outside    expression statements, declarations,
            its class), structs, unions, enums and typedef'd ones;      ``return``, ``break``, ``continue``,
            C++ adds classes and namespaces                             ``goto``, ``throw``
Rust        functions, ``impl`` blocks (``<impl Display for Foo>``),    ``let``, expression statements, the
            traits, structs, enums, unions, modules, ``macro_rules!``   block's last expression, match arms
==========  ==========================================================  =====================================

As with Python, compound statements (``if``, loops, ``switch``, ``try``, preprocessor conditionals, Rust's
``if``/``match``/``loop`` expressions) are looked into and not counted themselves; a statement that holds
a callback is one statement. A statement counts only if it has its lines to itself (nothing but a comment
before or after it on them): in ``if (x) die(5)`` the line is the ``if``'s as much as the call's, and a
codemark on it has no single right answer once the two are wrapped apart. A statement's identity (its
"dump") is its node type and tokens without comments or whitespace, so *edited* statements are re-wrapped
ones, as for Python. The def line of a definition is the first line of its node without decorators,
comments and attributes — except for C and C++ functions, whose def line is the one with their name (GNU
style puts the return type on the line above); their range starts there too, as a Python function's
starts after its decorators.

A file with syntax errors is still read (tree-sitter recovers): definitions and statements that hold an
error are left out, and their lines are kept in ``Module.unparsed`` so that no definition whose code may
hide there is taken for deleted. So are the insides of Rust macros invoked among items (``self_cell!(pub
struct Owned { … })``), which no grammar reads as code.
"""

from __future__ import annotations

import bisect
import importlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Literal

import tree_sitter as ts

from .truth import Definition, Module, Statement, normalise, split_lines

Kind = Literal["compound", "statement"]


@dataclass(frozen=True, slots=True)
class Found:
    """A definition node as a grammar sees it."""

    name: str  # the simple name: a function's own name, a selector
    part: str  # what is added to the enclosing scope's name (``app.init``, ``Foo<T>::get``)
    node: ts.Node  # the whole definition
    body: ts.Node | None  # the braces or block, whose first line ends the header
    inner: ts.Node | None  # where nested definitions and statements are
    is_function: bool
    # The def line when it is not the node's first (a C function's name under its return type).
    line: int | None = None


def _text(node: ts.Node) -> str:
    """Return a node's text with runs of whitespace made one space."""
    raw = node.text or b""
    return " ".join(raw.decode("utf-8", "replace").split())


@cache
def _language(module: str, function: str) -> ts.Language:
    """Return a tree-sitter grammar from its PyPI package (imported on first use)."""
    grammar: Callable[[], object] = getattr(importlib.import_module(module), function)
    return ts.Language(grammar())


@cache
def _parser(module: str, function: str) -> ts.Parser:
    return ts.Parser(_language(module, function))


class Grammar:
    """How one language's syntax tree maps to definitions and statements (subclasses fill it in)."""

    key: str = ""
    title: str = ""
    extensions: tuple[str, ...] = ()
    excluded_suffixes: tuple[str, ...] = ()
    grammars: dict[str, tuple[str, str]] = {}  # extension → (module, function returning the grammar)
    separator = "."
    locals_marker = "<locals>"
    comments: frozenset[str] = frozenset({"comment"})
    # Children in these fields (or in no field) of a compound node are looked into; others (conditions,
    # initialisers, parameters) are not statements of the function.
    body_fields: frozenset[str] = frozenset({"body", "consequence", "alternative", "handler", "finalizer"})
    # Node types of functions that are no definition (callbacks, lambdas, closures): indexed for the
    # deleted check only.
    anonymous: frozenset[str] = frozenset()

    def accepts(self, path: str) -> bool:
        """Return True if a file of this name is in this language."""
        return path.endswith(self.extensions) and not path.endswith(self.excluded_suffixes)

    def parser(self, path: str) -> ts.Parser:
        """Return the parser for a file of this language."""
        for extension, (module, function) in self.grammars.items():
            if path.endswith(extension):
                return _parser(module, function)
        module, function = next(iter(self.grammars.values()))
        return _parser(module, function)

    def definition(self, node: ts.Node) -> Found | None:
        """Return the definition a node is, or None."""
        raise NotImplementedError

    def kind(self, node: ts.Node, parent: ts.Node) -> Kind | None:
        """Return whether a node (not a definition) is looked into, counted as a statement, or neither."""
        raise NotImplementedError

    def opaque(self, node: ts.Node) -> bool:
        """Return True if a node outside functions holds code the grammar does not read (a macro's)."""
        return False

    def parse(self, path: str, text: str) -> Module | None:
        """Return the definitions and statements of a file (None if it cannot be parsed at all)."""
        source = text.encode("utf-8", "surrogatepass")
        try:
            tree = self.parser(path).parse(source)
        except (ValueError, RecursionError, MemoryError):
            return None
        return _Reader(self, source, split_lines(text), tree.root_node).read()


class _Reader:
    """One pass over one file's tree."""

    def __init__(self, grammar: Grammar, source: bytes, lines: list[str], root: ts.Node) -> None:
        self.grammar = grammar
        self.source = source
        self.lines = lines
        self.root = root
        self.comment_starts: list[int] = []
        self.comment_ends: list[int] = []
        # Bodies of recorded definitions, by byte span: not indexed again as anonymous functions.
        self.recorded: set[tuple[int, int]] = set()

    def read(self) -> Module | None:
        module = Module()
        self._collect_comments(self.root)
        try:
            self._visit(self.root, "", False, module)
        except RecursionError:
            return None
        if self.grammar.anonymous:
            self._anonymous(self.root, module)
        module.count_statements()
        return module

    def _collect_comments(self, node: ts.Node) -> None:
        """Record where comments are, walking the whole tree once (comments can sit anywhere)."""
        cursor = node.walk()
        comments = self.grammar.comments
        while True:
            current = cursor.node
            if current is not None and current.type in comments:
                self.comment_starts.append(current.start_byte)
                self.comment_ends.append(current.end_byte)
                descend = False
            else:
                descend = True
            if descend and cursor.goto_first_child():
                continue
            while not cursor.goto_next_sibling():
                if not cursor.goto_parent():
                    return

    def _children(self, node: ts.Node) -> Iterator[ts.Node]:
        fields = self.grammar.body_fields
        for index, child in enumerate(node.children):
            if not child.is_named or child.type in self.grammar.comments:
                continue
            field = node.field_name_for_child(index)
            if field is None or field in fields:
                yield child

    def _visit(self, node: ts.Node, scope: str, in_function: bool, module: Module) -> None:
        grammar = self.grammar
        for child in self._children(node):
            if child.type == "ERROR" or child.is_missing:
                self._unparsed(child, module)
                continue
            found = grammar.definition(child)
            if found is not None:
                if found.node.has_error:
                    self._unparsed(found.node, module)
                    continue
                name = self._qualify(scope, found.part, in_function)
                module.add(self._definition(found, name, scope))
                if found.inner is not None:
                    self._visit(found.inner, name, found.is_function, module)
                continue
            if not in_function and grammar.opaque(child):
                self._unparsed(child, module)
                continue
            kind = grammar.kind(child, node)
            if kind == "compound":
                self._visit(child, scope, in_function, module)
            elif kind == "statement" and child.has_error:
                self._unparsed(child, module)
            elif kind == "statement" and self._owns_lines(child):
                start, end = child.start_point.row + 1, _end_line(child)
                owner = scope if in_function else ""
                norm = normalise(self.lines[start - 1 : end])
                module.statements.append(Statement(self._dump(child), owner, start, end, norm))

    def _owns_lines(self, node: ts.Node) -> bool:
        """Return True if nothing but whitespace or a comment shares the node's first and last line."""
        before = self.source[self.source.rfind(b"\n", 0, node.start_byte) + 1 : node.start_byte]
        if before.strip():
            return False
        if self.source[node.end_byte - 1 : node.end_byte] == b"\n":
            return True
        line_end = self.source.find(b"\n", node.end_byte)
        after = self.source[node.end_byte : len(self.source) if line_end < 0 else line_end].strip()
        return not after or after.startswith((b"//", b"/*"))

    def _unparsed(self, node: ts.Node, module: Module) -> None:
        """Remember the lines of a part that was not read as code."""
        module.unparsed.update(normalise(self.lines[node.start_point.row : _end_line(node)]))

    def _qualify(self, scope: str, part: str, in_function: bool) -> str:
        if not scope:
            return part
        separator = self.grammar.separator
        marker = self.grammar.locals_marker
        if in_function and marker:
            return f"{scope}{separator}{marker}{separator}{part}"
        return f"{scope}{separator}{part}"

    def _definition(self, found: Found, qualname: str, scope: str) -> Definition:
        node = found.node
        line = found.line if found.line is not None else _first_line(node, self.grammar.comments)
        end = max(_end_line(node), line)
        body_line = line
        if found.body is not None:
            first = next(
                (
                    child
                    for child in found.body.named_children
                    if child.type not in self.grammar.comments
                    and child.type not in _LEADING
                    and child.type != "ERROR"
                ),
                None,
            )
            body_line = first.start_point.row + 1 if first is not None else _end_line(found.body)
            body_line = min(max(body_line, line), end)
            self.recorded.add((found.body.start_byte, found.body.end_byte))
        return Definition(
            qualname=qualname,
            name=found.name,
            parent=scope,
            line=line,
            end=end,
            header_end=max(line, body_line - 1),
            body_line=body_line,
            norm=normalise(self.lines[line - 1 : end]),
            body=normalise(self.lines[body_line - 1 : end]),
            is_function=found.is_function,
        )

    def _dump(self, node: ts.Node) -> str:
        """Return a statement's identity: its type and text without comments and whitespace."""
        start, end = node.start_byte, node.end_byte
        pieces = []
        position = start
        index = bisect.bisect_left(self.comment_starts, start)
        while index < len(self.comment_starts) and self.comment_starts[index] < end:
            pieces.append(self.source[position : self.comment_starts[index]])
            position = max(position, self.comment_ends[index])
            index += 1
        pieces.append(self.source[position:end])
        text = b"".join(pieces).decode("utf-8", "replace")
        return f"{node.type}:{''.join(text.split())}"

    def _anonymous(self, root: ts.Node, module: Module) -> None:
        """Index the functions that are no definition (``Module.other_bodies`` and ``other_names``)."""
        cursor = root.walk()
        wanted = self.grammar.anonymous
        while True:
            node = cursor.node
            if node is not None and node.type in wanted:
                body = node.child_by_field_name("body")
                if body is not None and (body.start_byte, body.end_byte) not in self.recorded:
                    lines = self.lines[body.start_point.row : _end_line(body)]
                    found = normalise(lines)
                    if len(found) >= 2:
                        module.other_bodies.append(found)
                    name = node.child_by_field_name("name")
                    if name is not None:
                        text = normalise(self.lines[node.start_point.row : _end_line(node)])
                        module.other_names.setdefault(_text(name), []).append(text)
            if cursor.goto_first_child():
                continue
            while not cursor.goto_next_sibling():
                if not cursor.goto_parent():
                    return


def _end_line(node: ts.Node) -> int:
    """Return the 1-based last line of a node (a node ending at a line's start ends on the line before)."""
    row, column = node.end_point
    return row if column == 0 and row > node.start_point.row else row + 1


_LEADING = frozenset({"decorator", "attribute_item", "inner_attribute_item"})


def _first_line(node: ts.Node, comments: frozenset[str]) -> int:
    """Return the first line of a definition, leaving out leading decorators, comments and attributes."""
    for child in node.children:
        if child.type in comments or child.type in _LEADING:
            continue
        return child.start_point.row + 1
    return node.start_point.row + 1


def _field(node: ts.Node, name: str) -> ts.Node | None:
    return node.child_by_field_name(name)


# --- JavaScript and TypeScript ---------------------------------------------------------------------

_JS_FUNCTIONS = frozenset(
    {
        "function_expression",
        "function",
        "arrow_function",
        "generator_function",
        "generator_function_declaration",
    }
)
_JS_DECLARED_FUNCTIONS = frozenset({"function_declaration", "generator_function_declaration"})
_JS_DECLARED_TYPES = frozenset(
    {"class_declaration", "abstract_class_declaration", "interface_declaration", "enum_declaration"}
)
_JS_SCOPES = frozenset({"internal_module", "module"})
_JS_STATEMENTS = frozenset(
    {
        "expression_statement",
        "lexical_declaration",
        "variable_declaration",
        "return_statement",
        "throw_statement",
        "break_statement",
        "continue_statement",
        "debugger_statement",
        "import_statement",
        "type_alias_declaration",
    }
)
_JS_COMPOUND = frozenset(
    {
        "program",
        "statement_block",
        "if_statement",
        "else_clause",
        "for_statement",
        "for_in_statement",
        "while_statement",
        "do_statement",
        "try_statement",
        "catch_clause",
        "finally_clause",
        "switch_statement",
        "switch_body",
        "switch_case",
        "switch_default",
        "labeled_statement",
        "with_statement",
        "ambient_declaration",
    }
)


class JavaScript(Grammar):
    """JavaScript (and, through TypeScript, its typed superset)."""

    key = "javascript"
    title = "JavaScript"
    extensions: tuple[str, ...] = (".js", ".mjs", ".cjs", ".jsx")
    excluded_suffixes: tuple[str, ...] = (".min.js",)
    grammars = {"": ("tree_sitter_javascript", "language")}
    body_fields = Grammar.body_fields | {"declaration", "member"}
    anonymous = frozenset({"function_expression", "function", "arrow_function", "generator_function"})

    def definition(self, node: ts.Node) -> Found | None:
        """Return the definition a node is, or None."""
        kind = node.type
        if kind in _JS_DECLARED_FUNCTIONS or kind in _JS_DECLARED_TYPES or kind in _JS_SCOPES:
            name, body = _field(node, "name"), _field(node, "body")
            if name is None or body is None:
                return None
            text = _text(name)
            return Found(text, text, node, body, body, kind in _JS_DECLARED_FUNCTIONS)
        if kind == "method_definition":
            name, body = _field(node, "name"), _field(node, "body")
            if name is None or body is None:
                return None
            text = _text(name)
            accessor = next(
                (
                    child.type
                    for child in node.children
                    if child.type in ("get", "set") and not child.is_named
                ),
                None,
            )
            part = f"{accessor} {text}" if accessor else text
            return Found(text, part, node, body, body, True)
        if kind in ("field_definition", "public_field_definition"):
            name = _field(node, "property") or _field(node, "name")
            value = _field(node, "value")
            return self._assigned(node, name, value)
        if kind in ("lexical_declaration", "variable_declaration"):
            declarators = [child for child in node.named_children if child.type == "variable_declarator"]
            if len(declarators) != 1:
                return None
            return self._assigned(node, _field(declarators[0], "name"), _field(declarators[0], "value"))
        if kind == "expression_statement":
            expression = node.named_children[0] if node.named_children else None
            if expression is None or expression.type != "assignment_expression":
                return None
            return self._assigned(node, _field(expression, "left"), _field(expression, "right"))
        return None

    def _assigned(self, node: ts.Node, name: ts.Node | None, value: ts.Node | None) -> Found | None:
        """Return the definition of a function or class given a name by an assignment, or None."""
        if name is None or value is None:
            return None
        part = "".join(_text(name).split())
        simple = part.rpartition(".")[2]
        if value.type == "class":
            body = _field(value, "body")
            return Found(simple, part, node, body, body, False) if body is not None else None
        if value.type in _JS_FUNCTIONS:
            body = _field(value, "body")
            if body is None or body.type != "statement_block":
                return None  # an arrow function with an expression body is an expression
            return Found(simple, part, node, body, body, True)
        return None

    def kind(self, node: ts.Node, parent: ts.Node) -> Kind | None:
        """Return whether a node is looked into, counted as a statement, or neither."""
        kind = node.type
        if kind == "export_statement":
            return "compound" if _field(node, "declaration") is not None else "statement"
        if kind in _JS_COMPOUND:
            return "compound"
        if kind in _JS_STATEMENTS:
            return "statement"
        return None


class TypeScript(JavaScript):
    """TypeScript and TSX sources (declaration files left out: they are generated from the sources)."""

    key = "typescript"
    title = "TypeScript"
    extensions: tuple[str, ...] = (".ts", ".tsx", ".mts", ".cts")
    excluded_suffixes: tuple[str, ...] = (".d.ts", ".d.mts", ".d.cts")
    grammars = {
        ".tsx": ("tree_sitter_typescript", "language_tsx"),
        "": ("tree_sitter_typescript", "language_typescript"),
    }


# --- CSS ---------------------------------------------------------------------------------------------

# Pseudo-classes and pseudo-elements: left out of a rule set's simple name, so that ``li`` and
# ``li:not(:first-child)`` are namesakes (a rule refined, not one deleted and another added).
_PSEUDO = re.compile(r"::?[\w-]+(?:\([^)]*\))?")
_CSS_SCOPES = frozenset({"media_statement", "supports_statement", "keyframes_statement", "at_rule"})


class Css(Grammar):
    """CSS style sheets: rule sets are the definitions, declarations the statements."""

    key = "css"
    title = "CSS"
    extensions: tuple[str, ...] = (".css",)
    excluded_suffixes: tuple[str, ...] = (".min.css",)
    grammars = {"": ("tree_sitter_css", "language")}
    separator = " › "
    locals_marker = ""

    def definition(self, node: ts.Node) -> Found | None:
        """Return the definition a node is, or None."""
        kind = node.type
        if kind == "rule_set":
            selectors = next((child for child in node.named_children if child.type == "selectors"), None)
            block = next((child for child in node.named_children if child.type == "block"), None)
            if selectors is None or block is None:
                return None
            text = _text(selectors)
            return Found(_PSEUDO.sub("", text), text, node, block, block, True)
        if kind == "keyframe_block":
            block = next((child for child in node.named_children if child.type == "block"), None)
            if block is None or block.prev_sibling is None:
                return None
            offset = self._prelude(node, block)
            return Found(offset, offset, node, block, block, True)
        if kind in _CSS_SCOPES:
            block = next(
                (child for child in node.named_children if child.type in ("block", "keyframe_block_list")),
                None,
            )
            if block is None:
                return None
            prelude = self._prelude(node, block)
            return Found(prelude, prelude, node, block, block, False)
        return None

    @staticmethod
    def _prelude(node: ts.Node, block: ts.Node) -> str:
        raw = (node.text or b"")[: block.start_byte - node.start_byte]
        return " ".join(raw.decode("utf-8", "replace").split())

    def kind(self, node: ts.Node, parent: ts.Node) -> Kind | None:
        """Return whether a node is looked into, counted as a statement, or neither."""
        if node.type == "declaration":
            return "statement"
        if node.type in ("stylesheet", "block"):
            return "compound"
        return None


# --- C and C++ ---------------------------------------------------------------------------------------

_C_TYPES = {"struct_specifier": "struct ", "union_specifier": "union ", "enum_specifier": "enum "}
_C_STATEMENTS = frozenset(
    {
        "expression_statement",
        "declaration",
        "return_statement",
        "break_statement",
        "continue_statement",
        "goto_statement",
        "type_definition",
        "throw_statement",
        "co_return_statement",
        "co_yield_statement",
        "using_declaration",
        "alias_declaration",
        "static_assert_declaration",
    }
)
_C_COMPOUND = frozenset(
    {
        "translation_unit",
        "compound_statement",
        "if_statement",
        "else_clause",
        "for_statement",
        "for_range_loop",
        "while_statement",
        "do_statement",
        "switch_statement",
        "case_statement",
        "labeled_statement",
        "try_statement",
        "catch_clause",
        "preproc_if",
        "preproc_ifdef",
        "preproc_else",
        "preproc_elif",
        "preproc_elifdef",
        "linkage_specification",
        "declaration_list",
        "template_declaration",
    }
)
# Declarators that wrap the one naming a function (``*f(…)``, ``&f(…)``, ``(f)(…)``).
_C_WRAPPERS = frozenset(
    {"pointer_declarator", "reference_declarator", "parenthesized_declarator", "function_declarator"}
)


class C(Grammar):
    """C sources and headers."""

    key = "c"
    title = "C"
    extensions: tuple[str, ...] = (".c", ".h")
    grammars = {"": ("tree_sitter_c", "language")}
    separator = "::"
    type_prefixes: dict[str, str] = _C_TYPES

    def definition(self, node: ts.Node) -> Found | None:
        """Return the definition a node is, or None."""
        kind = node.type
        if kind == "function_definition":
            body = _field(node, "body")
            name = self._function_name(_field(node, "declarator"))
            if body is None or name is None:
                return None
            text = "".join(_text(name).split())
            simple = text.rpartition("::")[2]
            # ``static PyObject *`` alone on a line says nothing: the def line is the one naming it.
            return Found(simple, text, node, body, body, True, line=name.start_point.row + 1)
        if kind in self.type_prefixes:
            name, body = _field(node, "name"), _field(node, "body")
            if name is None or body is None:
                return None
            text = _text(name)
            return Found(text, self.type_prefixes[kind] + text, node, body, body, False)
        if kind == "type_definition":
            specifier, declarator = _field(node, "type"), _field(node, "declarator")
            if specifier is None or declarator is None or specifier.type not in self.type_prefixes:
                return None
            body = _field(specifier, "body")
            if body is None:
                return None
            text = _text(declarator)
            return Found(text, text, node, body, body, False)
        return None

    @staticmethod
    def _function_name(declarator: ts.Node | None) -> ts.Node | None:
        """Return the node naming a function, through pointer, reference and parenthesised declarators."""
        while declarator is not None and declarator.type in _C_WRAPPERS:
            inner = _field(declarator, "declarator")
            if inner is None:
                inner = next((child for child in declarator.named_children), None)
            declarator = inner
        return declarator

    def kind(self, node: ts.Node, parent: ts.Node) -> Kind | None:
        """Return whether a node is looked into, counted as a statement, or neither."""
        if node.type in _C_COMPOUND:
            return "compound"
        if node.type in _C_STATEMENTS:
            return "statement"
        return None


class Cpp(C):
    """C++ sources and headers."""

    key = "cpp"
    title = "C++"
    extensions: tuple[str, ...] = (
        ".cc",
        ".cpp",
        ".cxx",
        ".c++",
        ".hpp",
        ".hh",
        ".hxx",
        ".h++",
        ".h",
        ".ipp",
        ".inl",
    )
    grammars = {"": ("tree_sitter_cpp", "language")}
    type_prefixes = {
        "struct_specifier": "",
        "union_specifier": "",
        "enum_specifier": "",
        "class_specifier": "",
    }
    anonymous = frozenset({"lambda_expression"})

    def definition(self, node: ts.Node) -> Found | None:
        """Return the definition a node is, or None."""
        if node.type == "namespace_definition":
            body = _field(node, "body")
            if body is None:
                return None
            name = _field(node, "name")
            text = _text(name) if name is not None else "(anonymous namespace)"
            return Found(text, text, node, body, body, False)
        return super().definition(node)


# --- Rust --------------------------------------------------------------------------------------------

_RUST_TYPES = frozenset({"struct_item", "enum_item", "union_item", "trait_item", "mod_item"})
_RUST_COMPOUND = frozenset(
    {
        "source_file",
        "declaration_list",
        "block",
        "if_expression",
        "else_clause",
        "match_expression",
        "match_block",
        "loop_expression",
        "while_expression",
        "for_expression",
        "unsafe_block",
        "async_block",
        "const_block",
    }
)


class Rust(Grammar):
    """Rust sources."""

    key = "rust"
    title = "Rust"
    extensions: tuple[str, ...] = (".rs",)
    grammars = {"": ("tree_sitter_rust", "language")}
    separator = "::"
    comments = frozenset({"line_comment", "block_comment"})
    body_fields = Grammar.body_fields | {"value"}
    anonymous = frozenset({"closure_expression"})

    def definition(self, node: ts.Node) -> Found | None:
        """Return the definition a node is, or None."""
        kind = node.type
        if kind == "function_item":
            name, body = _field(node, "name"), _field(node, "body")
            if name is None or body is None:
                return None
            text = _text(name)
            return Found(text, text, node, body, body, True)
        if kind == "impl_item":
            kind_node, trait, body = _field(node, "type"), _field(node, "trait"), _field(node, "body")
            if kind_node is None or body is None:
                return None
            implemented = _text(kind_node)
            part = (
                f"<impl {_text(trait)} for {implemented}>" if trait is not None else f"<impl {implemented}>"
            )
            return Found(implemented, part, node, body, body, False)
        if kind in _RUST_TYPES or kind == "macro_definition":
            name = _field(node, "name")
            if name is None:
                return None
            body = _field(node, "body")
            if kind == "mod_item" and body is None:
                return None  # `mod name;` only points to another file
            text = _text(name)
            inner = body if kind in ("trait_item", "mod_item") else None
            return Found(text, text, node, body, inner, False)
        return None

    def opaque(self, node: ts.Node) -> bool:
        """Return True for a macro invoked among items (its tokens may well be items)."""
        return node.type == "macro_invocation" or (
            node.type == "expression_statement"
            and bool(node.named_children)
            and node.named_children[0].type == "macro_invocation"
        )

    def kind(self, node: ts.Node, parent: ts.Node) -> Kind | None:
        """Return whether a node is looked into, counted as a statement, or neither."""
        kind = node.type
        if kind in _RUST_COMPOUND:
            return "compound"
        if kind == "expression_statement":
            inner = node.named_children[0] if node.named_children else None
            return "compound" if inner is not None and inner.type in _RUST_COMPOUND else "statement"
        if kind == "match_arm":
            value = _field(node, "value")
            return "compound" if value is not None and value.type == "block" else "statement"
        if kind in ("let_declaration", "macro_invocation"):
            return "statement"
        if parent.type == "block" and kind not in ("attribute_item", "inner_attribute_item", "label"):
            return "statement"  # the block's value, its last expression
        return None


GRAMMARS: tuple[Grammar, ...] = (JavaScript(), TypeScript(), Css(), C(), Cpp(), Rust())
LANGUAGES: dict[str, Grammar] = {grammar.key: grammar for grammar in GRAMMARS}
