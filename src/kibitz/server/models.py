"""Every table, imported in one place so metadata is complete for migrations."""

from kibitz.server.auth.models import ApiToken, User
from kibitz.server.codemarks.models import (
    Codemark,
    CodemarkAssignee,
    CodemarkTag,
    Marker,
    MarkerReference,
    Reply,
)
from kibitz.server.db import Base
from kibitz.server.locations.models import MarkerLocation
from kibitz.server.repos.models import Repo, RepoRemote, RepoRootCommit
from kibitz.server.teams.models import Invite, Membership, Team

__all__ = [
    "ApiToken",
    "Base",
    "Codemark",
    "CodemarkAssignee",
    "CodemarkTag",
    "Invite",
    "Marker",
    "MarkerLocation",
    "MarkerReference",
    "Membership",
    "Reply",
    "Repo",
    "RepoRemote",
    "RepoRootCommit",
    "Team",
    "User",
]
