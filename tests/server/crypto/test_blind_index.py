"""Blind indexes: equal for equal normalised values, unrelated across purposes and keys."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kibitz.server.crypto.blind_index import blind_index, index_matches, normalise_email, normalise_exact

TEAM_A = bytes(32)
TEAM_B = bytes([1]) * 32


def test_equal_normalised_emails_have_equal_indexes() -> None:
    first = blind_index(TEAM_A, "user.email", normalise_email("  Alice@Example.COM "))
    second = blind_index(TEAM_A, "user.email", normalise_email("alice@example.com"))
    assert first == second
    assert len(first) == 64
    assert first != blind_index(TEAM_A, "user.email", normalise_email("bob@example.com"))


def test_composed_and_decomposed_paths_index_alike() -> None:
    composed, decomposed = "src/caf\u00e9.py", "src/cafe\u0301.py"
    assert blind_index(TEAM_A, "marker.path", normalise_exact(composed)) == blind_index(
        TEAM_A, "marker.path", normalise_exact(decomposed)
    )
    # Paths are case-sensitive: only emails are case-folded.
    assert normalise_exact("Src/A.py") != normalise_exact("src/a.py")


def test_purposes_and_keys_separate_indexes() -> None:
    value = "src/app.py"
    by_path = blind_index(TEAM_A, "marker.path", value)
    assert by_path != blind_index(TEAM_A, "repo.remote", value)
    assert by_path != blind_index(TEAM_B, "marker.path", value)
    # The purpose and the value are framed, so moving characters between them changes the digest.
    assert blind_index(TEAM_A, "ab", "c") != blind_index(TEAM_A, "a", "bc")


def test_index_matches_compares() -> None:
    stored = blind_index(TEAM_A, "user.email", "alice@example.com")
    assert index_matches(TEAM_A, "user.email", "alice@example.com", stored)
    assert not index_matches(TEAM_A, "user.email", "alice@example.org", stored)
    assert not index_matches(TEAM_B, "user.email", "alice@example.com", stored)


def test_bad_keys_and_purposes_are_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        blind_index(b"short", "user.email", "x")
    with pytest.raises(ValueError, match="purpose"):
        blind_index(TEAM_A, "", "x")


@given(st.text(), st.text())
def test_distinct_values_get_distinct_indexes(first: str, second: str) -> None:
    assert (blind_index(TEAM_A, "p", first) == blind_index(TEAM_A, "p", second)) == (first == second)
