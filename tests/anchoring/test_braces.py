"""A block that was one bracketed construct ends where its own brackets close, wherever it went."""

from __future__ import annotations

import random
import textwrap

from hypothesis import given
from hypothesis import strategies as st

from kibitz.anchoring import Range, relocate
from kibitz.anchoring.normalise import PreparedText, open_brackets
from kibitz.anchoring.shape import braced_end, is_whole_braced

RULES = PreparedText(".a {\n  color: red;\n}\n.b { color: blue; }\nfn f(\n    x: u8,\n) -> u8 {\n    x\n}\n")


def test_a_whole_braced_block_is_open_until_its_last_line() -> None:
    assert is_whole_braced(RULES, 0, 2)  # a CSS rule
    assert is_whole_braced(RULES, 4, 8)  # a function whose parameters are wrapped
    assert not is_whole_braced(RULES, 0, 1)  # not closed
    assert not is_whole_braced(RULES, 0, 3)  # closed before its last line
    assert not is_whole_braced(RULES, 3, 3)  # one line


def test_the_end_is_where_the_brackets_opened_at_the_start_close() -> None:
    assert braced_end(RULES, 0, 1) == 2
    assert braced_end(RULES, 4, 5) == 8
    assert braced_end(RULES, 3, 3) == 3  # opened and closed on its own line: the end given stays
    assert braced_end(PreparedText("a {\n  b\n"), 0, 1) == 1  # never closed: the end given stays


@given(st.text(alphabet=st.sampled_from("ab ({[]}) \n\t"), max_size=60), st.randoms())
def test_a_lines_bracket_balance_is_the_same_however_often_and_in_whatever_order_asked(
    text: str, rng: random.Random
) -> None:
    prepared = PreparedText(text)
    positions = [*range(len(prepared)), *range(len(prepared))]
    rng.shuffle(positions)
    for position in positions:
        assert prepared.balance(position) == open_brackets(prepared.keys[position])


OLD = textwrap.dedent(
    """\
    use x;

    pub fn pyobject_to_obtype(obj: *mut PyObject, opts: Opt) -> ObType {
        let ob_type = ob_type!(obj);
        if is_class_by_type!(ob_type, STR_TYPE) {
            ObType::Str
        } else if is_class_by_type!(ob_type, INT_TYPE) {
            ObType::Int
        } else {
            pyobject_to_obtype_unlikely(obj, opts)
        }
    }

    fn other() {}
    """
)


def test_a_function_moved_and_shortened_ends_at_its_own_closing_brace() -> None:
    # Moved to another file, one branch shorter, and followed at once by another function: the place
    # found for its text would run four lines into that function.
    moved_to = textwrap.dedent(
        """\
        #[inline(always)]
        pub fn pyobject_to_obtype(obj: *mut PyObject, opts: Opt) -> ObType {
            let ob_type = ob_type!(obj);
            if is_class_by_type!(ob_type, STR_TYPE) {
                ObType::Str
            } else {
                pyobject_to_obtype_unlikely(obj, opts)
            }
        }
        #[cfg_attr(feature = "optimize", optimize(size))]
        fn pyobject_to_obtype_unlikely(obj: *mut PyObject, opts: Opt) -> ObType {
            ObType::Unknown
        }
        """
    )
    found = relocate(OLD, "use x;\n\nfn other() {}\n", Range(3, 12), candidates=[moved_to])
    assert (found.status, found.candidate, found.range) == ("moved", 0, Range(2, 9))


HEADED = PreparedText(
    "impl<'a, W> SerializeSeq for Compound<'a, W>\n"  # 0
    "where\n"
    "    W: io::Write,\n"
    "{\n"
    "    fn end(self) {}\n"
    "}\n"  # 5
    "static PyObject *\n"
    "green_switch(PyObject *self, PyObject *args)\n"
    "{\n"
    "    return NULL;\n"
    "}\n"  # 10
    "def f():\n"
    "    return g(\n"
    "        a,\n"
    "    )\n"
)


def test_a_construct_may_open_its_body_below_a_header_of_balanced_lines() -> None:
    assert is_whole_braced(HEADED, 0, 5)  # `where` clauses between the header and its body
    assert is_whole_braced(HEADED, 6, 10)  # a C function's return type and signature on lines of their own
    assert not is_whole_braced(HEADED, 11, 14)  # a bracket opened deeper is a statement in a body
    assert not is_whole_braced(HEADED, 4, 6)  # `fn end(self) {}` is whole by itself, not a header
    assert braced_end(HEADED, 0, 2) == 5
    assert braced_end(HEADED, 6, 7) == 10


def test_an_impl_with_where_clauses_moved_and_shortened_ends_at_its_own_brace() -> None:
    old = textwrap.dedent(
        """\
        use x;

        impl<'a, W, F> ser::SerializeSeq for Compound<'a, W, F>
        where
            W: io::Write + WriteExt,
            F: Formatter,
        {
            fn serialize_element(&mut self, value: &T) -> Result<()> {
                self.state = State::Rest;
                value.serialize(&mut *self.ser)
            }

            fn end(self) -> Result<()> {
                match self.state {
                    State::Empty => Ok(()),
                    _ => self.ser.formatter.end_array(&mut self.ser.writer).map_err(Error::io),
                }
            }
        }
        """
    )
    moved_to = textwrap.dedent(
        """\
        impl<'a, W, F> ser::SerializeSeq for Compound<'a, W, F>
        where
            W: io::Write + WriteExt,
            F: Formatter,
        {
            fn serialize_element(&mut self, value: &T) -> Result<()> {
                self.state = State::Rest;
                value.serialize(&mut *self.ser)
            }

            fn end(self) -> Result<()> {
                self.ser.formatter.end_array(&mut self.ser.writer).map_err(Error::io)
            }
        }

        impl<'a, W, F> ser::SerializeMap for Compound<'a, W, F>
        where
            W: io::Write + WriteExt,
            F: Formatter,
        {
            fn end(self) -> Result<()> {
                unreachable!()
            }
        }
        """
    )
    found = relocate(old, "use x;\n", Range(3, 19), candidates=[moved_to])
    assert (found.status, found.candidate, found.range) == ("moved", 0, Range(1, 14))


def test_a_method_cut_down_to_one_branch_is_found_by_its_header_not_by_a_closing_brace() -> None:
    # Moved to another file with its first branch removed: the closing braces of that branch had paired
    # with the previous method's, leaving the header unpaired and the place too weak to be an answer.
    old = textwrap.dedent(
        """\
        impl Serializer {
            fn serialize_str(self, value: &str) -> Result<()> {
                format_escaped_str(&mut self.writer, value).map_err(Error::io)
            }

            #[inline(always)]
            fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq> {
                if len == Some(0) {
                    unsafe {
                        reserve_minimum!(self.writer);
                        self.writer.write_reserved_fragment(b"[]").unwrap();
                    }
                    Ok(Compound {
                        ser: self,
                        state: State::Empty,
                    })
                } else {
                    self.formatter
                        .begin_array(&mut self.writer)
                        .map_err(Error::io)?;
                    Ok(Compound {
                        ser: self,
                        state: State::First,
                    })
                }
            }
        }
        """
    )
    moved_to = textwrap.dedent(
        """\
        impl Serializer {
            fn serialize_newtype_struct<T>(self, _name: &'static str, value: &T) -> Result<()>
            where
                T: ?Sized + Serialize,
            {
                value.serialize(self)
            }

            #[inline(always)]
            fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq> {
                self.formatter
                    .begin_array(&mut self.writer)
                    .map_err(Error::io)?;
                Ok(Compound {
                    ser: self,
                    state: State::First,
                })
            }

            fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple> {
                unreachable!();
            }
        }
        """
    )
    found = relocate(old, "", Range(7, 26), candidates=[moved_to])
    assert (found.status, found.candidate, found.range) == ("moved", 0, Range(10, 18))
