"""Public ids: the shape the API and the CLI check, random in every position."""

from __future__ import annotations

from kibitz.ids import _ALPHABET, ID_LENGTH, is_id, is_id_prefix, new_id


def test_new_ids_have_the_checked_shape_and_never_repeat() -> None:
    made = [new_id() for _ in range(5_000)]
    assert all(len(made_id) == ID_LENGTH and is_id(made_id) for made_id in made)
    assert all(is_id_prefix(made_id[:4]) for made_id in made)
    assert len(set(made)) == len(made)


def test_every_character_of_the_alphabet_appears_in_every_position() -> None:
    made = [new_id() for _ in range(4_000)]
    for position in range(ID_LENGTH):
        seen = {made_id[position] for made_id in made}
        # 4,000 draws of 32 equally likely characters miss one with a chance of about 32 * e**-125.
        assert seen == set(_ALPHABET), position


def test_malformed_ids_are_not_ids() -> None:
    assert not is_id("0123456789abcdeI")  # a letter outside the alphabet
    assert not is_id(new_id()[:-1])
    assert not is_id_prefix("abc")
