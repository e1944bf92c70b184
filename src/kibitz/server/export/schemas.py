"""The export archive, format `kibitz-export` version 1 (docs/api.md, "Export archives").

These models are the archive's definition: the API writes archives with them, `kibitz server import` reads
them back with them, and their JSON Schema is in the OpenAPI document (`UserExport`, `TeamExport`). Every list
has a fixed order (documented per field) so that two exports of the same data are byte-identical apart from
`exported_at`. Unknown fields are refused: an archive from a newer format says so by its `version`.
"""

from __future__ import annotations

import datetime as dt
from typing import Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from kibitz.server.codemarks.schemas import ReferenceKind

FORMAT: Final = "kibitz-export"
VERSION: Final = 1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProfileRecord(_Strict):
    """A person as team members see them."""

    id: str
    email: str
    name: str
    handle: str
    created_at: AwareDatetime


class ReferenceRecord(_Strict):
    """A marker's block at another commit; in the order they were recorded."""

    # The kinds the API accepts: an archive cannot bring one the API would fail to answer with.
    kind: ReferenceKind
    commit: str
    path: str
    start_line: int
    end_line: int
    created_at: AwareDatetime


class MarkerRecord(_Strict):
    """One code block of a codemark; in the codemark's order (`position`)."""

    id: str
    repo_id: str
    position: int
    path: str
    commit: str
    start_line: int
    end_line: int
    code: str
    context_before: str
    context_after: str
    provisional: bool
    references: list[ReferenceRecord]


class CodemarkVersionRecord(_Strict):
    """A replaced version of a codemark's title and text; oldest first."""

    editor_id: str
    title: str
    text: str
    replaced_at: AwareDatetime


class CodemarkRecord(_Strict):
    """A codemark with its markers, tags, assignees, mentions and edit history; by (created_at, id)."""

    id: str
    team_id: str
    type: str
    status: str
    title: str
    text: str
    author_id: str
    pinned: bool
    created_at: AwareDatetime
    updated_at: AwareDatetime
    markers: list[MarkerRecord]
    tags: list[str] = Field(description="Sorted.")
    assignees: list[str] = Field(description="User ids, sorted.")
    mentions: list[str] = Field(description="User ids mentioned in the title or text, in recorded order.")
    history: list[CodemarkVersionRecord]


class ReplyVersionRecord(_Strict):
    """A replaced version of a reply's text; oldest first."""

    text: str
    replaced_at: AwareDatetime


class ReplyRecord(_Strict):
    """A reply (a tombstone when `deleted_at` is set: its text is empty); by (created_at, id)."""

    id: str
    team_id: str
    codemark_id: str
    author_id: str
    text: str
    created_at: AwareDatetime
    updated_at: AwareDatetime
    deleted_at: AwareDatetime | None
    mentions: list[str] = Field(description="User ids mentioned, in recorded order.")
    history: list[ReplyVersionRecord]


class ReactionRecord(_Strict):
    """An emoji on a codemark (`reply_id` empty) or a reply; in the order they were made."""

    team_id: str
    codemark_id: str
    reply_id: str
    user_id: str
    emoji: str
    created_at: AwareDatetime


class FollowRecord(_Strict):
    """A person following a codemark's thread; by (codemark_id, user_id)."""

    codemark_id: str
    user_id: str


class MembershipRecord(_Strict):
    """The exporting person's role in a team; by team id."""

    team_id: str
    team_name: str
    role: str
    joined_at: AwareDatetime
    # False when the team's allowlist does not admit the address the export was requested from: the team's
    # content is then left out, as the API would refuse to show it from there.
    content_included: bool


class TokenRecord(_Strict):
    """An API token's or session's metadata (never the token or its hash); by (created_at, id)."""

    id: str
    name: str
    kind: str
    scopes: list[str]
    created_at: AwareDatetime
    expires_at: AwareDatetime
    revoked_at: AwareDatetime | None


class InboxRecord(_Strict):
    """An item of the exporting person's inbox; by (created_at, id)."""

    id: str
    team_id: str
    kind: str
    codemark_id: str
    reply_id: str
    actor_id: str
    created_at: AwareDatetime
    read_at: AwareDatetime | None


class _Header(_Strict):
    format: Literal["kibitz-export"] = FORMAT
    version: Literal[1] = VERSION
    exported_at: AwareDatetime
    server_version: str


class UserExport(_Header):
    """Everything of one person: profile, memberships, tokens' metadata and everything they wrote."""

    kind: Literal["user"] = "user"
    user: ProfileRecord
    memberships: list[MembershipRecord]
    tokens: list[TokenRecord]
    codemarks: list[CodemarkRecord] = Field(description="Codemarks they wrote, bookmarks included.")
    replies: list[ReplyRecord] = Field(description="Replies they wrote, on anyone's codemark.")
    reactions: list[ReactionRecord]
    follows: list[FollowRecord]
    inbox: list[InboxRecord]


class TeamRecord(_Strict):
    """The team itself; `event_seq` is where its event log stood (an import continues from there)."""

    id: str
    name: str
    created_at: AwareDatetime
    allowlist: list[str] = Field(description="CIDRs, in stored order.")
    event_seq: int = Field(ge=0)
    # Absent in archives made before code-free mode existed: those teams kept code.
    code_free: bool = Field(default=False, description="Code-free mode: markers keep no code.")


class MemberRecord(_Strict):
    """A member's role; by user id."""

    user_id: str
    role: Literal["member", "admin", "owner"]
    joined_at: AwareDatetime


class RepoRecord(_Strict):
    """A repo with the identities that find it; by (created_at, id)."""

    id: str
    name: str
    created_at: AwareDatetime
    root_commits: list[str] = Field(description="In the order they were learned.")
    remotes: list[str] = Field(description="Normalised remote URLs, in the order they were learned.")


class RelationRecord(_Strict):
    """Two related codemarks, the smaller id first; sorted."""

    first_id: str
    second_id: str


class LocationRecord(_Strict):
    """A shared location of a marker at a commit; in the order they were stored."""

    marker_id: str
    commit: str
    algorithm: str
    path: str | None
    start_line: int | None
    end_line: int | None
    status: str
    confidence: float
    computed_by: str | None
    created_at: AwareDatetime


class TeamExport(_Header):
    """A whole team, to move it to another server; nobody's bookmarks, no inboxes, no event log."""

    kind: Literal["team"] = "team"
    team: TeamRecord
    people: list[ProfileRecord] = Field(
        description="Everyone the archive names (members and former members who wrote or reacted); by id."
    )
    members: list[MemberRecord]
    repos: list[RepoRecord]
    codemarks: list[CodemarkRecord]
    replies: list[ReplyRecord]
    reactions: list[ReactionRecord]
    follows: list[FollowRecord]
    relations: list[RelationRecord]
    locations: list[LocationRecord]


def archive_bytes(archive: UserExport | TeamExport) -> bytes:
    """Return the archive as written: compact JSON in field order, UTF-8, one trailing newline."""
    return archive.model_dump_json().encode() + b"\n"


def export_filename(kind: str, subject_id: str, when: dt.datetime) -> str:
    """Return the file name the API suggests for an archive."""
    return f"kibitz-{kind}-{subject_id}-{when.strftime('%Y%m%dT%H%M%SZ')}.json"
