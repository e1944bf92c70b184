"""The client's view of a git repository: identity, content at a commit, working tree → HEAD."""

from kibitz.gitrepo._hunks import Hunk, LineRange, map_range_through_hunks, parse_hunks
from kibitz.gitrepo._repo import (
    GitError,
    NotARepository,
    RepoLink,
    find_root,
    has_commits,
    head_commit,
    is_tracked,
    map_range_to_head,
    read_file_at,
    read_link,
    remote_urls,
    root_commits,
    write_link,
)

__all__ = [
    "GitError",
    "Hunk",
    "LineRange",
    "NotARepository",
    "RepoLink",
    "find_root",
    "has_commits",
    "head_commit",
    "is_tracked",
    "map_range_through_hunks",
    "map_range_to_head",
    "parse_hunks",
    "read_file_at",
    "read_link",
    "remote_urls",
    "root_commits",
    "write_link",
]
