"""The filters of the feed and search pages, read from a page's query string.

A filter form sends every field, the unused ones empty: an empty field means "any", not a bad value. The
values are checked by the same rules as the API's query parameters, and a bad one is reported on the page
(the listing then runs without filters rather than guessing).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kibitz.server.codemarks.schemas import CodemarkType
from kibitz.server.codemarks.service import CodemarkFilter
from kibitz.validation import CleanStr, RepoPath, Tag

IdParam = Annotated[str, Field(min_length=1, max_length=64, pattern="^[0-9a-z]+$")]
StatusParam = Literal["open", "resolved", "archived", "all"]

# The labels of the form's fields, as the error message names them.
LABELS = {
    "q": "Words",
    "status": "Status",
    "type": "Type",
    "author": "Author",
    "assignee": "Assignee",
    "tag": "Tag",
    "repo": "Repository",
    "path": "Path",
    "cursor": "Page",
    "unread": "Unread only",
}


class ListingQuery(BaseModel):
    """The filters of a listing of codemarks, with the cursor of the page to show."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    status: StatusParam = "all"
    type: CodemarkType | None = None
    author: IdParam | None = None
    assignee: IdParam | None = None
    tag: Tag | None = None
    repo: IdParam | None = None
    path: RepoPath | None = None
    cursor: Annotated[str, Field(max_length=512)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _blank_is_any(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            return {key: value for key, value in data.items() if value not in ("", None)}
        return data

    def codemark_filter(self) -> CodemarkFilter:
        """Return the service's filter of these values."""
        return CodemarkFilter(
            repo_id=self.repo,
            path=self.path,
            status=None if self.status == "all" else self.status,
            type=self.type,
            author_id=self.author,
            assignee_id=self.assignee,
            tag=self.tag,
        )

    def params(self, **changes: str | None) -> dict[str, str]:
        """Return the query parameters of these values (unset ones left out), with `changes` applied."""
        values = {**self.model_dump(), **changes}
        return {key: str(value) for key, value in values.items() if value not in (None, "", "all")}

    def query_string(self, **changes: str | None) -> str:
        """Return `params` as a query string (without the `?`)."""
        return urlencode(self.params(**changes))

    @property
    def filtered(self) -> bool:
        """Tell whether any filter (not the page, nor a search's words) narrows the listing."""
        return bool(self.params(cursor=None, q=None))


Q = TypeVar("Q", bound="ListingQuery")


class SearchQuery(ListingQuery):
    """A search's words, with the filters of a listing."""

    q: Annotated[CleanStr, Field(max_length=500)] | None = None


def error_messages(error: ValidationError) -> list[str]:
    """Say what is wrong with each bad field, naming it by its label."""
    messages = []
    for problem in error.errors():
        field = str(problem["loc"][0]) if problem["loc"] else ""
        messages.append(f"{LABELS.get(field, field)}: {problem['msg']}")
    return messages


def read_query(model: type[Q], params: Mapping[str, str]) -> tuple[Q, list[str]]:
    """Return the query a page was asked with, or the empty query and what was wrong with it."""
    try:
        return model.model_validate(dict(params)), []
    except ValidationError as error:
        return model(), error_messages(error)
