"""The API's wire objects (docs/api.md) as TypedDicts: the client returns the JSON as it came."""

from __future__ import annotations

from typing import Any, Generic, Literal, NotRequired, TypedDict, TypeVar

T = TypeVar("T")

CodemarkType = Literal["comment", "question", "issue", "bookmark", "link"]
CodemarkStatus = Literal["open", "resolved", "archived"]
Role = Literal["owner", "admin", "member"]
ReferenceKind = Literal["upstream", "blame", "other"]
LocationStatus = Literal["unchanged", "shifted", "changed", "moved", "deleted"]

CODEMARK_TYPES: tuple[str, ...] = ("comment", "question", "issue", "bookmark", "link")


class User(TypedDict):
    """A user account."""

    id: str
    email: str
    name: str
    created_at: str
    # What teammates type after `@` to mention them.
    handle: str


class UserRef(TypedDict):
    """A short reference to a user inside another object."""

    id: str
    email: str
    name: str
    # What teammates type after `@` to mention them.
    handle: str


class Team(TypedDict):
    """A team, with the caller's role in it."""

    id: str
    name: str
    role: Role
    # Code-free mode: the server keeps no code of markers, only a keyed fingerprint.
    code_free: bool
    created_at: str


class Member(TypedDict):
    """A user's membership of a team."""

    user_id: str
    email: str
    name: str
    handle: str
    role: Role
    joined_at: str


class PendingInvite(TypedDict):
    """An invite as admins list it: who made it and whether it was used, never its code."""

    id: str
    role: Literal["admin", "member"]
    created_by: UserRef
    created_at: str
    expires_at: str
    used_at: str | None
    used_by: str | None


class Invite(TypedDict):
    """An invite code (shown only once)."""

    # Lists and revokes the invite later (`PendingInvite`).
    id: str
    code: str
    # An invite never makes an owner: ownership is transferred.
    role: Literal["admin", "member"]
    expires_at: str


class Repo(TypedDict):
    """A repository known to a team."""

    id: str
    team_id: str
    name: str
    root_commits: list[str]
    remotes: list[str]
    created_at: str


class BlockAt(TypedDict):
    """Where a block of code is at one commit."""

    commit: str
    path: str
    start_line: int
    end_line: int


class MarkerReference(BlockAt):
    """A marker's block at another commit than its canonical one (e.g. the default branch head)."""

    kind: ReferenceKind


class NewMarker(TypedDict):
    """A code block to pin a new codemark to.

    A *provisional* marker was created on uncommitted lines: ``commit`` is the HEAD of the time,
    the lines its best guess there, and ``code`` the lines as they were on disk.
    """

    repo_id: str
    path: str
    commit: str
    start_line: int
    end_line: int
    code: str
    context_before: str
    context_after: str
    provisional: NotRequired[bool]
    references: NotRequired[list[MarkerReference]]


class Marker(TypedDict):
    """A code block a codemark is pinned to."""

    id: str
    repo_id: str
    path: str
    commit: str
    start_line: int
    end_line: int
    code: str
    context_before: str
    context_after: str
    provisional: bool
    references: list[MarkerReference]
    # A code-free team's server keeps no code or context (they come back ""): the client reads them from git.
    code_free: bool


class Codemark(TypedDict):
    """A discussion pinned to code."""

    id: str
    team_id: str
    type: CodemarkType
    status: CodemarkStatus
    title: str
    text: str
    author: UserRef
    assignees: list[UserRef]
    tags: list[str]
    markers: list[Marker]
    reply_count: int
    created_at: str
    updated_at: str
    pinned: bool
    # The codemark's path on its server (`/c/<id>`); join it with the server URL to share it.
    permalink: str
    mentions: list[str]
    reactions: list[Reaction]
    followers: list[str]
    related: list[str]
    edited: bool


class Reply(TypedDict):
    """An answer in a codemark's thread; a deleted one stays as a tombstone with no text."""

    id: str
    codemark_id: str
    author: UserRef
    text: str
    created_at: str
    updated_at: str
    deleted: bool
    edited: bool
    mentions: list[str]
    reactions: list[Reaction]


class Reaction(TypedDict):
    """One emoji on a codemark or a reply: how many put it there, and who (user ids)."""

    emoji: str
    count: int
    users: list[str]


class Page(TypedDict, Generic[T]):
    """One page of a list; pass ``next_cursor`` back to get the next one."""

    items: list[T]
    next_cursor: str | None


class LoginResult(TypedDict):
    """The answer to a login: the API token (shown once) and the user."""

    token: str
    expires_at: str
    user: User


class Me(TypedDict):
    """The signed-in user and their teams."""

    user: User
    teams: list[Team]


class NewLocation(TypedDict):
    """A marker's location at a commit, to share; a ``deleted`` one has no path or lines.

    ``why_commit`` is the commit that made the block what it is there (moved, changed, deleted it), when a
    client found it.
    """

    marker_id: str
    path: str | None
    start_line: int | None
    end_line: int | None
    status: LocationStatus
    confidence: float
    why_commit: NotRequired[str | None]


class SharedLocation(TypedDict):
    """A marker's location at a commit as some client of the team computed it (``why_commit``: see
    ``NewLocation``; null while no client has looked)."""

    marker_id: str
    path: str | None
    start_line: int | None
    end_line: int | None
    status: LocationStatus
    confidence: float
    why_commit: str | None
    commit: str
    algorithm: str
    computed_by: str | None
    created_at: str


class SharedLocations(TypedDict):
    """The answer to a location query: the known locations (markers without one are left out)."""

    locations: list[SharedLocation]


class LocationsStored(TypedDict):
    """How many locations a store request added, and how many were known already (first write wins)."""

    stored: int
    already_known: int


class IdMatches(TypedDict):
    """The ids of a team's codemarks and replies that begin with a prefix (at most 10 of each)."""

    codemarks: list[str]
    replies: list[str]


class CodemarkVersion(TypedDict):
    """A previous title and text of a codemark, and who replaced them when."""

    title: str
    text: str
    editor: UserRef
    replaced_at: str


class ReplyVersion(TypedDict):
    """A previous text of a reply, and when it was replaced."""

    text: str
    replaced_at: str


class SearchMatch(TypedDict):
    """Where every searched word was found: the codemark's own words, or one of its replies."""

    kind: Literal["codemark", "reply"]
    id: str


class SearchHit(TypedDict):
    """A codemark found by a search, with where the words were found."""

    codemark: Codemark
    matches: list[SearchMatch]


class InboxItem(TypedDict):
    """Something for you to look at: a mention, an assignment, or a reply on a codemark you follow."""

    id: str
    kind: Literal["mention", "assignment", "reply"]
    codemark_id: str
    reply_id: str | None
    codemark_title: str
    actor: UserRef
    created_at: str
    read_at: str | None


class InboxPage(Page[InboxItem]):
    """One page of an inbox, and how many of all its items are unread."""

    unread: int


class StreamEvent(TypedDict):
    """One event of a team's log as the stream sends it (docs/realtime.md).

    A ``skipped`` event stands for a change you may not see (someone's bookmark); it has no ``at`` or
    ``data`` and only keeps the numbering gap-free.
    """

    seq: int
    type: str
    team_id: str
    at: NotRequired[str]
    # Who made the change and what it was (``resolved``, ``assigned``, …), when the server knows.
    by: NotRequired[UserRef]
    changes: NotRequired[list[str]]
    data: NotRequired[dict[str, Any]]


TokenKind = Literal["session", "token"]
TokenScope = Literal["read", "write", "admin"]


class Token(TypedDict):
    """One of your API tokens: a login ``session`` or a named ``token`` (never the token itself)."""

    id: str
    name: str
    kind: TokenKind
    # The scope and every weaker one: ["read"], ["read", "write"] or ["read", "write", "admin"].
    scopes: list[TokenScope]
    created_at: str
    expires_at: str
    revoked_at: str | None
    # Whether this is the token the request was made with.
    current: bool


class NewToken(Token):
    """A named token just created: the only answer that carries the token."""

    token: str


class Allowlist(TypedDict):
    """A team's IP allowlist (empty: every address may connect) and the address the server sees for you."""

    cidrs: list[str]
    your_address: str | None


class AuditActor(TypedDict):
    """Who did it: an account id, and its handle unless the account is gone."""

    id: str
    handle: str | None


class Erasure(TypedDict):
    """An erasure request of the ledger: a deleted account or team, by its opaque id."""

    id: str
    subject_kind: Literal["user", "team"]
    subject_id: str
    requested_at: str
    # The policy's latest completion (7 days after the request); in practice it is done within a minute.
    due_at: str
    status: Literal["pending", "done"]
    completed_at: str | None


class AuditEvent(TypedDict):
    """One event of a team's audit trail (docs/security.md lists the actions and their details)."""

    id: str
    at: str
    action: str
    actor: AuditActor | None
    target_id: str | None
    address: str | None
    details: dict[str, Any]
