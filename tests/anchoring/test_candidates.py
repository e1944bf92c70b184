"""Candidate files: their words and the exact copies of a block in them, against plain definitions."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kibitz.anchoring.candidates import MAX_COPIES, CandidateTexts, vocabulary
from kibitz.anchoring.normalise import WORD, prepare
from kibitz.anchoring.relocate import _probe_from_old

# ASCII word and other characters, every kind of space, and characters beyond ASCII that are (é, 日) and
# are not (→, ∂ is a symbol) word characters.
_characters = "ab_19 \t\n\r\x0b\x1c\x1f\x85\u00a0\u2003é→∂日-.;(){}"
_awkward = st.text(alphabet=st.sampled_from(_characters), max_size=60)


@given(_awkward | st.text(max_size=40))
def test_the_vocabulary_is_every_word_the_pattern_finds(text: str) -> None:
    assert vocabulary(text) == frozenset(WORD.findall(text))


_line = st.sampled_from(["fn a() {", "    let x = 1;", "}", "", "    b(x);", "impl A {", "    c()", "// c"])
_text = st.lists(_line, max_size=14).map(lambda lines: "".join(line + "\n" for line in lines))


@given(_text, st.lists(_text, max_size=5), st.integers(0, 13), st.integers(0, 4))
def test_copies_are_every_place_the_block_stands_verbatim(
    old: str, texts: list[str], start: int, size: int
) -> None:
    prepared = prepare(old)
    end = min(start + size, len(prepared) - 1)
    if start > end:
        return
    probe = _probe_from_old(prepared, start, end)
    found = CandidateTexts(texts).copies(probe)
    keys = probe.code.keys
    everywhere = [
        (index, at)
        for index, text in enumerate(texts)
        for at in range(len(prepare(text)))
        if prepare(text).keys[at : at + len(keys)] == keys
    ]
    if not any(info > 0 for info in probe.infos):
        assert found == []  # a block of blank lines or lines seen everywhere is not looked for
    elif len(everywhere) <= MAX_COPIES:
        assert found == everywhere
    else:
        assert len(found) == MAX_COPIES
        assert set(found) <= set(everywhere)
