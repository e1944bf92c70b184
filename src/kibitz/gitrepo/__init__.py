"""The client's view of a git repository: identity, content at a commit, changes, working tree."""

from kibitz.gitrepo._changes import (
    ChangeKind,
    FileChange,
    changes_between,
    parse_name_status,
    untracked_files,
    working_tree_changes,
)
from kibitz.gitrepo._hunks import (
    Hunk,
    LineRange,
    map_range_nearest,
    map_range_through_hunks,
    parse_hunks,
)
from kibitz.gitrepo._objects import ObjectReader
from kibitz.gitrepo._repo import (
    GitError,
    NotARepository,
    RepoLink,
    default_branch_head,
    find_root,
    has_commits,
    head_commit,
    hunks_from_head,
    ignored_by,
    is_shallow,
    read_link,
    remote_urls,
    resolve_commit,
    root_commits,
    write_link,
)
from kibitz.gitrepo._search import files_containing
from kibitz.gitrepo._worktree import WorkingTree

__all__ = [
    "ChangeKind",
    "FileChange",
    "GitError",
    "Hunk",
    "LineRange",
    "NotARepository",
    "ObjectReader",
    "RepoLink",
    "WorkingTree",
    "changes_between",
    "default_branch_head",
    "files_containing",
    "find_root",
    "has_commits",
    "head_commit",
    "hunks_from_head",
    "ignored_by",
    "is_shallow",
    "map_range_nearest",
    "map_range_through_hunks",
    "parse_hunks",
    "parse_name_status",
    "read_link",
    "remote_urls",
    "resolve_commit",
    "root_commits",
    "untracked_files",
    "working_tree_changes",
    "write_link",
]
