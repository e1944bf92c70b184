"""Field rules shared by the wire schemas: pure checks, each raising ValueError with a plain message."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Annotated

import email_validator
from confusable_homoglyphs import confusables
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
    check_invisible(value)
    return value


# Characters that change how text around them is shown without being seen themselves: bidirectional
# controls (which can make "gnp.exe" read as "exe.png") and zero-width or invisible characters (which make
# two different names look the same).
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_INVISIBLE = frozenset(
    "\u00ad\u034f\u115f\u1160\u17b4\u17b5\u180e\u200b\u2060\u2061\u2062\u2063\u2064\u3164\ufeff\uffa0"
)
_JOINERS = frozenset("\u200c\u200d")


def check_invisible(value: str) -> str:
    """Refuse bidirectional controls and zero-width characters; a joiner (ZWNJ, ZWJ) passes only between
    two letters of scripts that need it (not ASCII), as in Persian or Indic names."""
    for i, char in enumerate(value):
        if char in _BIDI_CONTROLS:
            raise ValueError(f"must not contain bidirectional control characters (U+{ord(char):04X})")
        if char in _INVISIBLE or (char in _JOINERS and not _joins_letters(value, i)):
            raise ValueError(f"must not contain zero-width or invisible characters (U+{ord(char):04X})")
    return value


def _joins_letters(value: str, i: int) -> bool:
    before, after = value[i - 1 : i], value[i + 1 : i + 2]
    return all(c and not c.isascii() and unicodedata.category(c)[0] in "LM" for c in (before, after))


# Domains (and their subdomains) that are no one's on the public Internet: the email library's special-use
# names and the suffixes people use on internal networks. A server accepts those it is told to
# (settings.internal_email_domains); the rest are refused at sign-up.
INTERNAL_SUFFIXES: tuple[str, ...] = (*email_validator.SPECIAL_USE_DOMAIN_NAMES, "internal", "lan")
# Stands in for a special-use suffix while the email library checks the rest of the address's syntax.
_STAND_IN = "special-use.example.com"


def domain_within(domain: str, suffixes: Iterable[str]) -> str | None:
    """Return the first of `suffixes` that `domain` is or is under, or None."""
    domain = domain.lower().rstrip(".")
    return next((s for s in suffixes if domain == s or domain.endswith("." + s)), None)


def email_domain(email: str) -> str:
    """Return the domain of an address (after its last `@`), lower case."""
    return email.rpartition("@")[2].lower()


def parse_email(value: str) -> str:
    """Accept an email address by its syntax alone and return its normalised form (as the email-validator
    library gives it); addresses on internal domains (INTERNAL_SUFFIXES) pass here, as whether this server
    accepts them is its own setting."""
    clean_text(value)
    value = value.strip()  # blanks around an address are a slip of the hand, not part of it
    if len(value) > 320:
        raise ValueError("is not a valid email address: it is too long")
    local, _, domain = value.rpartition("@")
    special = domain_within(domain, INTERNAL_SUFFIXES)
    probe = value if special is None else f"{local}@{domain.rstrip('.')[: -len(special)]}{_STAND_IN}"
    try:
        normalized = email_validator.validate_email(probe, check_deliverability=False).normalized
    except email_validator.EmailNotValidError as exc:
        raise ValueError(f"is not a valid email address: {exc}") from None
    return normalized if special is None else normalized[: -len(_STAND_IN)] + special


def check_email(value: str) -> str:
    """Accept a new account's email address (`parse_email`) unless it could pass for another one.

    Refused: a local part or a domain label that mixes scripts in a confusable way (`pаypal` with a Cyrillic
    а), or is wholly made of letters that look like Latin ones (`рау`).
    """
    normalized = parse_email(value)
    local, _, domain = normalized.rpartition("@")
    for part in (local, *domain.split(".")):
        if _looks_like_another(part):
            raise ValueError(
                "is not accepted: it uses letters of other scripts that look like Latin ones, "
                "so it could pass for another address"
            )
    return normalized


def _looks_like_another(part: str) -> bool:
    if part.isascii():
        return False
    if confusables.is_dangerous(part):
        return True
    letters = {c for c in part if c.isalpha()}
    if not letters or any(c.isascii() for c in letters):
        return False
    # Wholly non-Latin, and every letter has a Latin twin: it reads as a Latin word it is not.
    twins = confusables.is_confusable(part, greedy=True, preferred_aliases=["latin"]) or []
    return {str(found["character"]) for found in twins} >= letters


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
EmailAddress = Annotated[str, Field(max_length=320), AfterValidator(check_email)]
# At login: the syntax only, so that an account made before the look-alike rule still signs in.
LoginEmail = Annotated[str, Field(max_length=320), AfterValidator(parse_email)]
Emoji = Annotated[str, AfterValidator(check_emoji)]
