"""Whether a place found for a block that starts with a definition can be that definition.

A line that declares something (``def parse(``, ``class Config``, ``function load(``, ``fn main(``, ``struct
Point``) names it. Another definition's header with the same parameters looks much like it (``def
dump(obj, fp)`` after ``def htmlsafe_dump(obj, fp)`` was deleted), and a block of a few lines under it
may match well enough too. So a place found for a block whose first line declares a name, where the first
line declares another name, is taken only if the bodies under the two headers are alike, as after a
rename; otherwise the definition is gone (or the place is not where it went).

Whatever the language, a line that opens a braced block (a rule's selector, a function's header ending
in ``{``) is not found on a line that ends a statement (``--bs-active-bg: var(--bs-primary);``, a
function's prototype ending in ``;``): the two can look alike character by character, but one is not
the other edited.

The other way round, a place whose first line declares the block's own name is likelier to be it: a
definition moved to another file and edited there on the way keeps its name when little else stays
(``relocate.NAME_BONUS``).

Of places alike, one inside the same enclosing definition as the block (the nearest line above it
indented less: ``class WWWAuthenticate:``, ``impl Serializer for MapKeySerializer {``, ``@media (…) {``)
is likelier too: identical methods of two classes (``__repr__``, ``set``) differ only by where they are
(``same_scope``).

The declaring keywords are those of the common languages; a C function's header at the top level
(``static PyObject *`` above ``r_index(PyObject *module, PyObject *args)``) declares the name before its
parenthesis. Other lines declare no name here and are never checked.
"""

from __future__ import annotations

import re
from collections import Counter

from .normalise import WORD, PreparedText

# Modifiers that may come before the declaring keyword, then the keyword, then the name.
_DECLARATION = re.compile(
    r"^\s*(?:(?:export|default|async|pub(?:\([^)]*\))?|static|public|private|protected|abstract|final|"
    r"unsafe|const|extern|inline|virtual|override|open|sealed|data|suspend|declare)\s+)*"
    r"(?:def|class|function\*?|fn|func|struct|enum|union|trait|interface|type|module|mod|namespace)\s+"
    r"([A-Za-z_$][\w$]*)"
)
# Body lines compared: enough to tell a renamed definition from another one.
BODY_LINES = 30
# The share of the old body's lines found in the other body that makes it the same definition renamed.
RENAMED_BODY = 0.5


# A C or C++ function's header at the top level, with its return type or without (GNU style puts it on the
# line above): words and pointer stars, then the name and its opening parenthesis. Not a call ending in
# ``;``, an assignment, or a statement keyword.
_C_HEADER = re.compile(r"^(?:[A-Za-z_][\w \t*]*?[ \t*])?([A-Za-z_]\w*)[ \t]*\(")
_NOT_NAMES = frozenset(
    [
        "if",
        "for",
        "while",
        "switch",
        "return",
        "sizeof",
        "else",
        "do",
        "case",
        "func",
        "new",
        "await",
        "yield",
        "throw",
        "assert",
        "elif",
        "with",
        "except",
        "lambda",
        "not",
        "and",
        "or",
        "in",
        "is",
        "print",
        "delete",
        "typeof",
        "void",
    ]
)


def declared_name(line: str) -> str | None:
    """Return the name a definition's first line declares, or None if it declares none."""
    found = _DECLARATION.match(line)
    if found is not None:
        return found.group(1)
    header = _C_HEADER.match(line)
    if header is None:
        return _selector(line)
    if "=" in line or line.rstrip().endswith(";"):
        return None
    if _NOT_NAMES.intersection(line[: header.end(1)].split()):
        return None
    return header.group(1)


# A block opened at the top level by a head with no keyword and no parenthesis (a CSS rule's selectors) is
# named by that head; the words of the common languages' own blocks are not names.
_ATTRIBUTES = re.compile(r"\[[^\]]*\]")
_BLOCK_WORDS = frozenset(
    ["else", "try", "loop", "unsafe", "do", "finally", "match", "impl", "extern", "return"]
)


def _selector(line: str) -> str | None:
    """Return the head of a line that opens a block by a head alone (``.nav-tabs .nav-link {``), or None."""
    stripped = line.rstrip()
    if not stripped.endswith("{") or line[:1].isspace() or "(" in stripped:
        return None
    if "=" in _ATTRIBUTES.sub("", stripped):
        # An assignment (``const table = {``); an attribute selector's ``=`` is inside its brackets.
        return None
    head = stripped[:-1].strip()
    if not head or head[0] in "}@" or head.split()[0] in _BLOCK_WORDS:
        return None
    return "".join(head.split())


def _opens_block(line: str) -> bool:
    """Tell whether a line opens a braced block (a rule's selector, a function's header)."""
    return line.rstrip().endswith("{")


def _ends_statement(line: str) -> bool:
    """Tell whether a line ends a statement or declaration (``color: red;``, ``x = f(y);``)."""
    return line.rstrip().endswith(";")


def _body(text: PreparedText, header: int) -> list[str]:
    """Return the keys of the non-blank lines indented deeper than ``header`` right after it."""
    depth = text.indent(header)
    body: list[str] = []
    position = header + 1
    while position < len(text) and len(body) < BODY_LINES:
        if text.keys[position]:
            if text.indent(position) <= depth:
                break
            body.append(text.keys[position])
        position += 1
    return body


def same_definition(old: PreparedText, line: int, new: PreparedText, found: int) -> bool:
    """Tell whether a block starting at ``found`` in ``new`` can be the one starting at ``line`` in ``old``.

    Not if the old line opens a braced block and the new one ends a statement. Else yes when the old line
    declares no name, or the new one declares the same name or declares none but names it; else only if the
    old header's body is mostly found under the new one (a rename).
    """
    if found >= len(new):
        return True
    header, there = old.lines[line], new.lines[found]
    if _opens_block(header) and _ends_statement(there):
        return False
    name = declared_name(header)
    if name is None:
        return True
    other = declared_name(there)
    if other is None:
        # A line that declares nothing can still be the definition written another way (``const f = () =>``
        # for ``function f(``) if it names it; else it is a line of something else (another definition's
        # parameters).
        return name in WORD.findall(there)
    if other == name:
        return True
    old_body = _body(old, line)
    if not old_body:
        return False
    shared = Counter(old_body) & Counter(_body(new, found))
    return sum(shared.values()) >= RENAMED_BODY * len(old_body)


def same_scope(old: PreparedText, line: int, new: PreparedText, found: int) -> bool:
    """Tell whether ``found`` in ``new`` is in the same enclosing definition as ``line`` in ``old``.

    The same when the two headers are the same line, or declare the same name (a class whose bases or
    annotations changed). A block at the top level has no header and is in no scope to share.
    """
    header = old.enclosing(line)
    if header < 0 or found >= len(new):
        return False
    there = new.enclosing(found)
    if there < 0:
        return False
    if old.keys[header] == new.keys[there]:
        return True
    name = declared_name(old.lines[header])
    return name is not None and name == declared_name(new.lines[there])
