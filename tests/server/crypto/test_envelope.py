"""Sealing: round trips, and every kind of tampering gives SealBroken and nothing else."""

from __future__ import annotations

import base64
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kibitz.server.crypto.envelope import PREFIX, key_id_of, open_sealed, open_sealed_bytes, seal, unpack
from kibitz.server.crypto.framing import frame
from kibitz.server.errors import SealBroken

KEY = bytes(range(32))
KEY_ID = "dk-0123456789abcdef"
CELL = {"table": "reply", "column": "text", "row": "r0000000000000001"}


def _raw(sealed: str) -> bytes:
    text = sealed[len(PREFIX) :]
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _text(raw: bytes) -> str:
    return PREFIX + base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def test_round_trip_and_header() -> None:
    sealed = seal(KEY, KEY_ID, "def f():\n    return 1  # café", **CELL)
    assert sealed.startswith(PREFIX)
    assert "café" not in sealed
    assert key_id_of(sealed) == KEY_ID
    assert open_sealed(KEY, KEY_ID, sealed, **CELL) == "def f():\n    return 1  # café"


def test_every_flipped_byte_of_the_binary_envelope_is_refused() -> None:
    sealed = seal(KEY, KEY_ID, "short", **CELL)
    raw = _raw(sealed)
    for position in range(len(raw)):
        for mask in (0x01, 0x80):
            tampered = bytearray(raw)
            tampered[position] ^= mask
            with pytest.raises(SealBroken):
                open_sealed(KEY, KEY_ID, _text(bytes(tampered)), **CELL)


def test_every_changed_character_of_the_text_form_is_refused() -> None:
    sealed = seal(KEY, KEY_ID, "short", **CELL)
    for position in range(len(sealed)):
        for replacement in {"A", "z", "_", "!", chr(ord(sealed[position]) ^ 1)} - {sealed[position]}:
            tampered = sealed[:position] + replacement + sealed[position + 1 :]
            with pytest.raises(SealBroken):
                open_sealed(KEY, KEY_ID, tampered, **CELL)


def test_truncated_and_extended_values_are_refused() -> None:
    sealed = seal(KEY, KEY_ID, "short", **CELL)
    for end in range(len(sealed)):
        with pytest.raises(SealBroken):
            open_sealed(KEY, KEY_ID, sealed[:end], **CELL)
    for extra in ("A", "AA", "AAAA", "="):
        with pytest.raises(SealBroken):
            open_sealed(KEY, KEY_ID, sealed + extra, **CELL)


@pytest.mark.parametrize(
    "moved",
    [
        {**CELL, "row": "r0000000000000002"},
        {**CELL, "column": "title"},
        {**CELL, "table": "codemark"},
        # Field boundaries cannot shift: ("reply", "text") and ("replyt", "ext") are different cells.
        {**CELL, "table": "replyt", "column": "ext"},
    ],
)
def test_a_value_moved_to_another_cell_is_refused(moved: dict[str, str]) -> None:
    sealed = seal(KEY, KEY_ID, "secret", **CELL)
    with pytest.raises(SealBroken):
        open_sealed(KEY, KEY_ID, sealed, **moved)


def test_another_key_id_or_key_is_refused() -> None:
    sealed = seal(KEY, KEY_ID, "secret", **CELL)
    with pytest.raises(SealBroken):
        open_sealed(KEY, "dk-fedcba9876543210", sealed, **CELL)
    with pytest.raises(SealBroken):
        open_sealed(os.urandom(32), KEY_ID, sealed, **CELL)
    with pytest.raises(SealBroken):
        open_sealed(KEY[:16], KEY_ID, sealed, **CELL)
    # Relabelled with another key id in the header (and sealed again by someone holding that key): no.
    relabelled = seal(KEY, "dk-fedcba9876543210", "secret", **CELL)
    with pytest.raises(SealBroken):
        open_sealed(KEY, KEY_ID, relabelled, **CELL)


def test_text_and_bytes_are_not_interchangeable() -> None:
    as_bytes = seal(KEY, KEY_ID, b"secret", **CELL)
    as_text = seal(KEY, KEY_ID, "secret", **CELL)
    with pytest.raises(SealBroken):
        open_sealed(KEY, KEY_ID, as_bytes, **CELL)
    with pytest.raises(SealBroken):
        open_sealed_bytes(KEY, KEY_ID, as_text, **CELL)


@pytest.mark.parametrize("garbage", ["", "plain text", "kz1.", "kz1.!!!!", "kz2.AQ", PREFIX + "AQID"])
def test_values_that_are_not_sealed_are_refused(garbage: str) -> None:
    with pytest.raises(SealBroken):
        open_sealed(KEY, KEY_ID, garbage, **CELL)
    with pytest.raises(SealBroken):
        unpack(garbage)


def test_100000_seals_use_100000_distinct_nonces() -> None:
    nonces = {unpack(seal(KEY, KEY_ID, "x", **CELL)).nonce for _ in range(100_000)}
    assert len(nonces) == 100_000


def test_equal_plaintexts_seal_differently() -> None:
    assert seal(KEY, KEY_ID, "same", **CELL) != seal(KEY, KEY_ID, "same", **CELL)


def test_bad_keys_and_key_ids_are_programming_errors() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        seal(KEY[:31], KEY_ID, "x", **CELL)
    with pytest.raises(ValueError, match="key id"):
        seal(KEY, "", "x", **CELL)


@given(text=st.text(), table=st.text(min_size=1), column=st.text(), row=st.text())
def test_any_text_round_trips(text: str, table: str, column: str, row: str) -> None:
    cell = {"table": table, "column": column, "row": row}
    assert open_sealed(KEY, KEY_ID, seal(KEY, KEY_ID, text, **cell), **cell) == text


@given(data=st.binary())
def test_any_bytes_round_trip(data: bytes) -> None:
    assert open_sealed_bytes(KEY, KEY_ID, seal(KEY, KEY_ID, data, **CELL), **CELL) == data


@given(st.lists(st.text(max_size=4), max_size=4), st.lists(st.text(max_size=4), max_size=4))
def test_framing_is_unambiguous(first: list[str], second: list[str]) -> None:
    assert (frame(*first) == frame(*second)) == (first == second)


@given(
    garbage=st.text()
    | st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_").map(
        lambda body: PREFIX + body
    )
)
def test_any_string_that_is_not_a_sealed_value_gives_seal_broken(garbage: str) -> None:
    with pytest.raises(SealBroken):
        open_sealed(KEY, KEY_ID, garbage, **CELL)
