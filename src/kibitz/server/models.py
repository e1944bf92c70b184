"""Every table, imported in one place so metadata is complete for migrations."""

from kibitz.server.audit.models import AuditEvent
from kibitz.server.auth.models import ApiToken, User
from kibitz.server.codemarks.models import (
    Codemark,
    CodemarkAssignee,
    CodemarkEdit,
    CodemarkTag,
    Follower,
    Marker,
    MarkerReference,
    Mention,
    Reaction,
    Relation,
    Reply,
    ReplyEdit,
)
from kibitz.server.crypto.models import KeystoreBinding
from kibitz.server.db import Base
from kibitz.server.erasure.models import ErasureRequest
from kibitz.server.events.models import Event
from kibitz.server.inbox.models import InboxItem
from kibitz.server.locations.models import MarkerLocation
from kibitz.server.repos.models import Repo, RepoRemote, RepoRootCommit
from kibitz.server.search.models import SearchToken
from kibitz.server.teams.models import Invite, Membership, Team

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Base",
    "Codemark",
    "CodemarkAssignee",
    "CodemarkEdit",
    "CodemarkTag",
    "ErasureRequest",
    "Event",
    "Follower",
    "InboxItem",
    "Invite",
    "KeystoreBinding",
    "Marker",
    "MarkerLocation",
    "MarkerReference",
    "Membership",
    "Mention",
    "Reaction",
    "Relation",
    "Reply",
    "ReplyEdit",
    "Repo",
    "RepoRemote",
    "RepoRootCommit",
    "SearchToken",
    "Team",
    "User",
]
