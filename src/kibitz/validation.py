"""Field rules shared by the wire schemas: pure checks, each raising ValueError with a plain message."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator, Field

MAX_TEXT_BYTES = 64 * 1024
MAX_PATH_BYTES = 4096
MAX_LINE = 10_000_000

_COMMIT_RE = re.compile(r"[0-9a-fA-F]{40}|[0-9a-fA-F]{64}")
_TAG_RE = re.compile(r"[\w.\-/]+")
_DRIVE_RE = re.compile(r"[A-Za-z]:")
_KEYCAP_RE = re.compile("[0-9#*]\ufe0f?\u20e3")
_HANDLE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,31}")


def clean_text(value: str) -> str:
    """Refuse strings a database cannot store faithfully (NUL, lone surrogates)."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (no lone surrogates)") from None
    return value


def has_control_characters(value: str) -> bool:
    """Return whether ``value`` holds a C0 or C1 control character or DEL (what a terminal obeys)."""
    return any(ord(c) < 32 or 127 <= ord(c) <= 159 for c in value)


def _max_bytes(limit: int) -> AfterValidator:
    def check(value: str) -> str:
        if len(value.encode("utf-8")) > limit:
            raise ValueError(f"must be at most {limit} bytes")
        return value

    return AfterValidator(check)


def check_commit(value: str) -> str:
    """Accept a full commit id (SHA-1 or SHA-256) and return it in lower case."""
    if not _COMMIT_RE.fullmatch(value):
        raise ValueError("must be a full commit id of 40 or 64 hex digits")
    return value.lower()


def check_repo_path(value: str) -> str:
    """Accept a repository-relative path with `/` separators and nothing that climbs out of the tree."""
    clean_text(value)
    if not value:
        raise ValueError("must not be empty")
    if len(value.encode("utf-8")) > MAX_PATH_BYTES:
        raise ValueError(f"must be at most {MAX_PATH_BYTES} bytes")
    if has_control_characters(value):
        raise ValueError("must not contain control characters")
    if "\\" in value:
        raise ValueError("must use / as the separator")
    if value.startswith("/") or _DRIVE_RE.match(value):
        raise ValueError("must be relative to the repository root")
    parts = value.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise ValueError("must not contain empty, '.' or '..' components")
    return value


def check_tag(value: str) -> str:
    """Accept a tag of letters, digits, `-`, `_`, `.` and `/`."""
    if not _TAG_RE.fullmatch(value):
        raise ValueError("may contain only letters, digits, '-', '_', '.' and '/'")
    return value


def check_name(value: str) -> str:
    """Accept a display or team name with no control characters and no surrounding blanks."""
    clean_text(value)
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    if has_control_characters(value):
        raise ValueError("must not contain control characters")
    return value


def check_handle(value: str) -> str:
    """Accept a handle: 2–32 letters, digits, `.`, `_` or `-`, starting with a letter or digit."""
    if not _HANDLE_RE.fullmatch(value):
        raise ValueError("must be 2-32 letters, digits, '.', '_' or '-', starting with a letter or digit")
    return value.lower()


def check_emoji(value: str) -> str:
    """Accept an emoji (symbols with their modifiers and joiners), not words or punctuation."""
    if not value or len(value) > 16:
        raise ValueError("must be an emoji")
    if _KEYCAP_RE.fullmatch(value):  # 1️⃣, #️⃣: a digit or sign made an emoji by the keycap mark
        return value
    symbols = 0
    for char in value:
        category = unicodedata.category(char)
        if category == "So" or 0x1F1E6 <= ord(char) <= 0x1F1FF:  # symbols, regional indicators (flags)
            symbols += 1
        elif (
            category in ("Mn", "Me", "Sk", "Cf") or char in "\ufe0f\u20e3"
        ):  # variation, keycap, skin tones, ZWJ
            continue
        else:
            raise ValueError("must be an emoji")
    if symbols == 0:
        raise ValueError("must be an emoji")
    return value


CleanStr = Annotated[str, AfterValidator(clean_text)]
CommitId = Annotated[str, AfterValidator(check_commit)]
RepoPath = Annotated[str, AfterValidator(check_repo_path)]
LongText = Annotated[str, AfterValidator(clean_text), _max_bytes(MAX_TEXT_BYTES)]
Title = Annotated[str, Field(max_length=512), AfterValidator(clean_text)]
Tag = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(check_tag)]
Name = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(check_name)]
Password = Annotated[str, Field(min_length=12, max_length=128), AfterValidator(clean_text)]
LineNumber = Annotated[int, Field(ge=1, le=MAX_LINE)]
Handle = Annotated[str, AfterValidator(check_handle)]
Emoji = Annotated[str, AfterValidator(check_emoji)]
