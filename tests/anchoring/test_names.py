"""A definition is not followed to another definition: the declared name, then the body, decide."""

from __future__ import annotations

import textwrap

import pytest

from kibitz.anchoring import Range, relocate
from kibitz.anchoring.names import declared_name, same_definition, same_scope
from kibitz.anchoring.normalise import PreparedText


@pytest.mark.parametrize(
    ("line", "name"),
    [
        ("def htmlsafe_dumps(obj, **kwargs):", "htmlsafe_dumps"),
        ("    async def aread(self) -> bytes:", "aread"),
        ("class Specifier(BaseSpecifier):", "Specifier"),
        ("export default function render(props) {", "render"),
        ("export async function* pages() {", "pages"),
        ("  private static interface Shape {", "Shape"),
        ("pub(crate) unsafe fn read_raw(&self) -> u8 {", "read_raw"),
        ("pub struct Point {", "Point"),
        ("func (s *Server) Serve() error {", None),  # a Go method: the receiver comes first
        ("func Serve() error {", "Serve"),
        ("int parse_args(int argc, char **argv) {", "parse_args"),  # C: the name before the parenthesis
        ("r_index(PyObject *module, PyObject *args)", "r_index"),  # GNU style: the type on the line above
        ("static PyObject **table_of(Table *t)", "table_of"),
        ("    int inner(void) {", None),  # not at the top level
        ("setup(name, version);", None),  # a call
        ("if (ready(x)) {", None),
        ("return define(x)", None),
        ("# def commented_out():", None),
        ("", None),
    ],
)
def test_the_declared_name_is_read_from_the_keyword_and_its_modifiers(line: str, name: str | None) -> None:
    assert declared_name(line) == name


OLD = textwrap.dedent(
    """\
    def dump(obj, fp, **kwargs):
        text = dumps(obj, **kwargs)
        fp.write(text)


    def htmlsafe_dump(obj, fp, **kwargs):
        text = htmlsafe_dumps(obj, **kwargs)
        fp.write(escape(text))
        fp.flush()
    """
)


def _text(source: str) -> PreparedText:
    return PreparedText(source)


def test_another_name_with_another_body_is_not_the_same_definition() -> None:
    old = _text(OLD)
    new = _text(
        OLD.replace("def htmlsafe_dump(", "def compact_dump(").replace("escape(text)", "text.strip()")
    )
    assert same_definition(old, 0, new, 0)  # the same name
    # `htmlsafe_dump` against `dump`: other name, other body.
    assert not same_definition(old, 5, new, 0)


def test_a_renamed_definition_with_its_body_is_the_same_definition() -> None:
    old = _text(OLD)
    new = _text(OLD.replace("def htmlsafe_dump(", "def dump_for_html("))
    assert same_definition(old, 5, new, 5)


def test_lines_that_declare_nothing_are_judged_by_the_name_they_mention() -> None:
    old = _text(OLD)
    assert same_definition(old, 1, old, 6)  # the block's first line declares nothing: not judged
    assert not same_definition(old, 5, old, 1)  # a line of another definition's body
    assert same_definition(old, 5, _text("htmlsafe_dump = partial(dump, escape=True)\n"), 0)


def test_a_deleted_definition_is_not_followed_to_the_one_that_took_its_place() -> None:
    # Where `htmlsafe_dump` was, another function with the same parameters and another body.
    new = OLD.split("\n\n\n")[0] + textwrap.dedent(
        """


        def compact_dump(obj, fp, **kwargs):
            fp.write(json.dumps(obj, separators=(",", ":")))
        """
    )
    # The header alone, and the whole function: both gone, not `compact_dump`.
    for lines in (Range(6, 6), Range(6, 9)):
        found = relocate(OLD, new, lines)
        assert found.status == "deleted", (lines, found)


def test_a_renamed_definition_is_still_followed() -> None:
    new = OLD.replace("def htmlsafe_dump(", "def dump_for_html(")
    for lines in (Range(6, 6), Range(6, 9)):
        found = relocate(OLD, new, lines)
        assert found.status == "changed", (lines, found)
        assert found.range is not None
        assert found.range.start_line == 6


MODULE = textwrap.dedent(
    '''\
    import sys


    def _get_annotations(cls):
        """Get annotations for *cls*."""
        anns = getattr(cls, "__annotations__", None)
        if anns is None:
            return {}
        for base_cls in cls.__mro__[1:]:
            if anns is getattr(base_cls, "__annotations__", None):
                return {}
        return anns


    def other():
        return 1
    '''
)


def test_a_definition_moved_to_another_file_and_edited_there_is_found_by_its_name() -> None:
    new = "import sys\n\n\ndef other():\n    return 1\n"
    # Moved to a compatibility module and half rewritten: its own name is what tells it is the same.
    moved_to = textwrap.dedent(
        '''\
        import inspect


        def _get_annotations(cls):
            """Get annotations for *cls*."""
            anns = cls.__dict__.get("__annotations__")
            if anns is None:
                return {}
            return anns
        '''
    )
    found = relocate(MODULE, new, Range(4, 12), candidates=[moved_to])
    assert (found.status, found.candidate, found.range) == ("moved", 0, Range(4, 9))


def test_a_deleted_rule_is_not_followed_onto_a_declaration() -> None:
    # A stylesheet that replaced its state rules by custom properties: the old selector line looks much
    # like the new property lines, but a line that opens a block is not a line that ends a statement.
    old = textwrap.dedent(
        """\
        .list-group-item-primary {
          color: #084298;
          background-color: #cfe2ff;
        }
        .list-group-item-primary.list-group-item-action:hover {
          color: #084298;
          background-color: #bacbe6;
        }
        .list-group-item-primary.list-group-item-action.active {
          color: #fff;
          background-color: #084298;
          border-color: #084298;
        }
        .list-group-item-secondary {
          color: #41464b;
        }
        """
    )
    properties = [
        "color: var(--bs-primary-text-emphasis)",
        "bg: var(--bs-primary-bg-subtle)",
        "border-color: var(--bs-primary-border-subtle)",
        "action-hover-color: var(--bs-emphasis-color)",
        "action-hover-bg: var(--bs-primary-border-subtle)",
        "action-active-color: var(--bs-emphasis-color)",
        "action-active-bg: var(--bs-primary-border-subtle)",
        "active-color: var(--bs-primary-bg-subtle)",
        "active-bg: var(--bs-primary-text-emphasis)",
        "active-border-color: var(--bs-primary-text-emphasis)",
    ]
    new = (
        ".list-group-item-primary {\n"
        + "".join(f"  --bs-list-group-{line};\n" for line in properties)
        + "}\n.list-group-item-secondary {\n  color: #41464b;\n}\n"
    )
    for lines in (Range(9, 9), Range(9, 13)):
        found = relocate(old, new, lines)
        assert found.status == "deleted", (lines, found)


def test_a_method_whose_only_distinctive_line_was_edited_is_still_found_among_siblings() -> None:
    # Moved to a mixin with its parameter renamed; its body is the same line as every sibling's.
    old = textwrap.dedent(
        """\
        class Headers:
            def __init__(self, defaults=None):
                self._list = []

            def add(self, _key, _value, **kw):
                self._list.append((_key, _value))

            def set(self, _key, _value, **kw):
                is_immutable(self)

            def setlist(self, key, values):
                is_immutable(self)

            def add_header(self, _key, _value, **_kw):
                is_immutable(self)
        """
    )
    new = old.split("\n\n    def set(")[0] + "\n"
    mixin = textwrap.dedent(
        """\
        class ImmutableHeadersMixin:
            def __delitem__(self, key, **kwargs):
                is_immutable(self)

            def set(self, _key, _value, **kwargs):
                is_immutable(self)

            def setlist(self, key, values):
                is_immutable(self)

            def add(self, _key, _value, **kwargs):
                is_immutable(self)

            def add_header(self, _key, _value, **_kwargs):
                is_immutable(self)
        """
    )
    found = relocate(old, new, Range(14, 15), candidates=[mixin])
    assert (found.status, found.candidate, found.range) == ("moved", 0, Range(14, 15))


def test_of_several_places_found_the_one_declaring_the_name_wins() -> None:
    # Shrunk from werkzeug 2.3's split of datastructures.py: the best match by content and context alone
    # was `add`, the sibling declared after it with the same body.
    old = textwrap.dedent(
        """\
            def set(self, _key, _value, **kw):
                is_immutable(self)
                is_immutable(self)
            def add(self, _key, _value, **kw):
                is_immutable(self)
                is_immutable(self)
        """
    )
    candidate = textwrap.dedent(
        """\
                is_immutable(self)

            def popitemlist(self):
                is_immutable(self)

            def poplist(self, key):
                is_immutable(self)

            def __delitem__(self, key, **kwargs):
                is_immutable(self)

            def __setitem__(self, key, value):
                is_immutable(self)
            def set(self, _key, _value, **kwargs):
                is_immutable(self)
            def setlist(self, key, values):
                is_immutable(self)

            def add(self, _key, _value, **kwargs):
                is_immutable(self)

            def add_header(self, _key, _value, **_kwargs):
        """
    )
    found = relocate(old, "", Range(1, 2), candidates=[candidate])
    assert (found.status, found.range, found.candidate) == ("moved", Range(14, 15), 0)


def _header_class(name: str, doc: str, annotated: bool) -> str:
    arrow = " -> str" if annotated else ""
    shown = "{self.to_header()}" if annotated else "{self.to_header()!r}"
    return textwrap.dedent(
        f'''\
        class {name}:
            """{doc}"""

            def keys(self):
                return list(self._items)

            def values(self):
                return [self[k] for k in self._items]

            def __str__(self){arrow}:
                return self.to_header()

            def __repr__(self){arrow}:
                return f"<{{type(self).__name__}} {shown}>"
        '''
    )


def test_of_identical_methods_in_two_classes_the_one_in_the_same_class_wins() -> None:
    old = _header_class("WWWAuthenticate(UpdateDictMixin, dict)", "A www-authenticate header.", False)
    new = "\n\n".join(
        [
            _header_class("Authorization", "An authorization header.", True),
            _header_class("WWWAuthenticate", "A www-authenticate header.", True),
        ]
    )
    start = old.splitlines().index("    def __repr__(self):") + 1
    expected = new.splitlines().index("    def __repr__(self) -> str:", start) + 1
    for end in (start, start + 1):
        found = relocate(old, "", Range(start, end), candidates=[new])
        assert (found.status, found.candidate) == ("moved", 0)
        assert found.range == Range(expected, expected + end - start)


def test_a_line_is_in_the_definition_of_the_nearest_line_above_indented_less() -> None:
    text = _text(
        "impl Serializer for MapKeySerializer {\n"
        "    fn serialize_str(self) {\n"
        "\n"
        "        write(self)\n"
        "    }\n"
        "}\n"
        "fn top() {}\n"
    )
    assert [text.enclosing(line) for line in range(len(text))] == [-1, 0, -1, 1, 0, -1, -1]
    renamed = _text("class Config(Base):\n    def load(self):\n        pass\n")
    assert same_scope(_text("class Config:\n    def load(self):\n        pass\n"), 1, renamed, 1)
    assert not same_scope(_text("class Other:\n    def load(self):\n        pass\n"), 1, renamed, 1)
    assert not same_scope(_text("def load(self):\n    pass\n"), 0, renamed, 1)


def test_a_method_rewritten_and_moved_in_its_class_is_found_by_its_qualified_name() -> None:
    # Two of its ten lines are left: what says it is the same method is its name in the same impl.
    old = textwrap.dedent(
        """\
        impl Page {
            fn render(&self, out: &mut String) -> Result<()> {
                if self.items.is_empty() {
                    out.push_str("<p>No items.</p>");
                    return Ok(());
                }
                for item in &self.items {
                    out.push_str(&item.html());
                }
                Ok(())
            }

            fn title(&self) -> &str {
                &self.title
            }
        }
        """
    )
    new = textwrap.dedent(
        """\
        impl Page {
            fn title(&self) -> &str {
                &self.title
            }

            fn render(&self, out: &mut String) -> Result<()> {
                out.push_str(&self.items.iter().map(Item::html).collect::<String>());
                Ok(())
            }
        }
        """
    )
    found = relocate("// a\n" + old, "// b\n\n\n\n" + new, Range(3, 12))
    assert (found.status, found.range) == ("moved", Range(10, 13))


def test_a_match_that_took_in_the_header_above_starts_at_the_blocks_own_header() -> None:
    # Its wrapped signature was joined into one line; the signature wrapped the old way that the search
    # met first is the function above it.
    old = textwrap.dedent(
        """\
        fn format_escaped_str_contents<W, F>(
            writer: &mut W,
            formatter: &mut F,
            bytes: &[u8],
        ) -> io::Result<()>
        where
            W: ?Sized + io::Write + WriteExt,
            F: Formatter,
        {
            let len = bytes.len();
            let mut start = 0;
            let mut index = 0;
            while index < len {
                let escape = ESCAPE[bytes[index] as usize];
                index += 1;
                if escape == 0 {
                    continue;
                }
                start = index;
            }
            Ok(())
        }
        """
    )
    moved_to = textwrap.dedent(
        """\
        fn format_escaped_str_with_escapes<W>(
            writer: &mut W,
            value: &[u8],
            initial: usize,
        ) -> io::Result<()>
        where
            W: ?Sized + io::Write + WriteExt,
        {
            format_escaped_str_contents(writer, value).unwrap();
            Ok(())
        }

        fn format_escaped_str_contents<W>(writer: &mut W, bytes: &[u8]) -> io::Result<()>
        where
            W: ?Sized + io::Write + WriteExt,
        {
            let len = bytes.len();
            let mut start = 0;
            let mut index = 0;
            while index < len {
                let escape = ESCAPE[bytes[index] as usize];
                index += 1;
                if escape == 0 {
                    continue;
                }
                start = index;
            }
            Ok(())
        }
        """
    )
    found = relocate(old, "", Range(1, 22), candidates=[moved_to])
    assert (found.status, found.candidate, found.range) == ("moved", 0, Range(13, 29))


def test_a_deleted_c_function_is_not_followed_to_one_with_a_similar_signature() -> None:
    # Shrunk from bitarray 2.9, which removed `r_index` where a new function took its place.
    old = "static PyObject *\nr_index(PyObject *module, PyObject *args)\n"
    new = "static PyObject *\nchdi_new(PyObject *module, PyObject *args)\n"
    assert relocate(old, new, Range(2, 2)).status == "deleted"


def test_a_c_function_moved_to_another_file_with_every_parameter_type_changed_is_found_by_its_name() -> None:
    # greenlet 3.1.1 split greenlet.cpp and changed its wrapper types: the header keeps only its name.
    old = textwrap.dedent(
        """\
        static int
        green_init(BorrowedGreenlet self, BorrowedObject args, BorrowedObject kwargs)
        {
            PyArgParseParam run;
            PyArgParseParam nparent;
        }
        """
    )
    moved_to = textwrap.dedent(
        """\
        // green_init is used in the tp_init slot.
        static int
        green_init(PyGreenlet* self, PyObject* args, PyObject* kwargs)
        {
            PyArgParseParam run;
            PyArgParseParam nparent;
        }

        static PyTypeObject type = {
            .tp_init=(initproc)green_init,
        };
        """
    )
    found = relocate(old, "#include <Python.h>\n", Range(2, 2), candidates=[moved_to])
    assert (found.status, found.candidate, found.range) == ("moved", 0, Range(3, 3))


def test_a_match_that_began_at_a_statement_like_the_header_starts_at_the_header_just_above() -> None:
    # The new body's first statement repeats the old header's parameter: alike enough to be taken for it.
    old = textwrap.dedent(
        """\
        static int
        green_is_gc(BorrowedGreenlet self)
        {
            int result = 0;
            if (self->main() || !self->active()) {
                result = 1;
            }
            return result;
        }
        """
    )
    moved_to = textwrap.dedent(
        """\
        static int
        green_is_gc(PyObject* _self)
        {
            BorrowedGreenlet self(_self);
            int result = 0;
            if (self->main() || !self->active()) {
                result = 1;
            }
            return result;
        }

        static int
        green_clear(PyGreenlet* self)
        {
            return 0;
        }
        """
    )
    for end in (2, 9):
        found = relocate(old, "#include <Python.h>\n", Range(2, end), candidates=[moved_to])
        assert (found.status, found.candidate, found.range) == ("moved", 0, Range(2, 10 if end == 9 else 2))


def test_a_place_ranked_up_but_not_good_enough_does_not_hide_one_that_is() -> None:
    from kibitz.anchoring.relocate import ACCEPT, IN_PLACE_BONUS, _decide, _Found

    weak_in_place = _Found(3, 5, "changed", ACCEPT - IN_PLACE_BONUS / 2)  # ranks above the move
    moved = _Found(40, 42, "moved", ACCEPT + 0.01)
    found = _decide([weak_in_place, moved], (3, 5), 100)
    assert (found.status, found.range) == ("moved", Range(41, 43))
    assert _decide([weak_in_place], (3, 5), 100).status == "deleted"


@pytest.mark.parametrize(
    ("line", "name"),
    [
        (
            ".nav-tabs .nav-link.disabled, .nav-tabs .nav-link:disabled {",
            ".nav-tabs.nav-link.disabled,.nav-tabs.nav-link:disabled",
        ),
        ("nav[aria-label=breadcrumb] ul li {", "nav[aria-label=breadcrumb]ulli"),
        ("} else {", None),
        ("unsafe {", None),
        ("@media (min-width: 576px) {", None),
        ("  .nested {", None),  # not at the top level
        ("const table = {", None),
    ],
)
def test_a_block_opened_by_a_head_alone_is_named_by_it(line: str, name: str | None) -> None:
    assert declared_name(line) == name


def test_a_deleted_css_rule_is_not_followed_to_another_selector_with_another_body() -> None:
    old = textwrap.dedent(
        """\
        .nav-link:hover {
          color: blue;
        }
        .nav-tabs .nav-link:disabled {
          color: gray;
          background-color: transparent;
          border-color: transparent;
        }
        """
    )
    new = textwrap.dedent(
        """\
        .nav-link:hover {
          color: blue;
        }
        .nav-link:disabled {
          color: gray;
          pointer-events: none;
          cursor: default;
        }
        """
    )
    assert relocate(old, new, Range(4, 4)).status == "deleted"
    same_body = new.replace("pointer-events: none;\n  cursor: default;", "background-color: transparent;")
    renamed = relocate(old, same_body, Range(4, 8))
    assert renamed.status == "changed"  # most of its body under another selector: the rule, renamed


def test_a_rewritten_header_is_looked_for_by_the_words_it_still_shares() -> None:
    # Of `def pformat(obj, verbose=False):` the rarest words, `verbose` and `False`, are nowhere in the new
    # file: taking them (as the engine did, in an order that also changed from one process to the next)
    # looked for nothing, and the rewritten function was reported deleted (jinja2 3.1).
    others = "".join(f"def helper_{i}(value):\n    return value * {i} + offset_{i}\n\n\n" for i in range(20))
    old = textwrap.dedent(
        """\
        def pformat(obj, verbose=False):
            \"\"\"Prettyprint an object.\"\"\"
            try:
                from pretty import pretty
                return pretty(obj, verbose=verbose)
            except ImportError:
                from pprint import pformat
                return pformat(obj)
        """
    )
    new = others + textwrap.dedent(
        """\
        def pformat(obj: t.Any) -> str:
            \"\"\"Format an object using pprint.\"\"\"
            from pprint import pformat  # type: ignore

            return pformat(obj)
        """
    )
    header = new.splitlines().index("def pformat(obj: t.Any) -> str:") + 1
    assert relocate(old, new, Range(1, 1)).range == Range(header, header)
