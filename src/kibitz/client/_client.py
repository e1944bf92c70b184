"""A synchronous HTTP client with one method per route of docs/api.md, and no business logic."""

from __future__ import annotations

import ssl
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, cast
from urllib.parse import quote

import httpx

from kibitz import __version__
from kibitz.client._errors import ApiError, KibitzError, NotLoggedIn, error_from_response
from kibitz.client._tls import TlsOptions, connection_failed
from kibitz.client._types import (
    Allowlist,
    AuditEvent,
    Codemark,
    CodemarkVersion,
    Erasure,
    IdMatches,
    InboxPage,
    Invite,
    LocationsStored,
    LoginResult,
    Me,
    Member,
    NewLocation,
    NewMarker,
    NewToken,
    Page,
    PendingInvite,
    Reaction,
    ReferenceKind,
    Reply,
    ReplyVersion,
    Repo,
    SearchHit,
    SharedLocations,
    Team,
    Token,
    User,
)

API_PREFIX = "/api/v1"
# Large enough for the biggest page the API serves (200 codemarks).
PAGE_LIMIT = 200


def _seg(value: str) -> str:
    """Quote an id for use as one path segment, so that no input can reach another route."""
    return quote(value, safe="")


class KibitzClient:
    """Talk to one Kibitz server, optionally as the owner of an API token."""

    def __init__(
        self,
        server_url: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        ca_file: str | Path | None = None,
        cert_sha256: str | None = None,
    ) -> None:
        """Prepare a client; ``ca_file`` and ``cert_sha256`` (a pinned fingerprint) say whom to trust."""
        server_url = server_url.strip().rstrip("/")
        if not server_url.startswith(("http://", "https://")):
            raise KibitzError(f"server URL {server_url!r} must start with http:// or https://")
        self.tls = TlsOptions.from_values(ca_file, cert_sha256)
        self.tls.check_url(server_url)
        self.server_url = server_url
        self.token = token
        headers = {"User-Agent": f"kibitz/{__version__}", "Accept": "application/json"}
        # The pin is checked inside the TLS layer (kibitz.client._tls), before any request leaves.
        verify: ssl.SSLContext | bool = self.tls.ssl_context() or True
        self._http = httpx.Client(
            base_url=server_url, headers=headers, timeout=timeout, transport=transport, verify=verify
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> KibitzClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        auth: bool = True,
        prefix: str = API_PREFIX,
    ) -> Any:
        """Send one request and return the decoded JSON answer (None for 204)."""
        return self._send(method, path, json=json, params=params, auth=auth, prefix=prefix)[1]

    def _send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        auth: bool = True,
        prefix: str = API_PREFIX,
    ) -> tuple[int, Any]:
        """Send one request and return the status code and the decoded JSON answer (None for 204)."""
        headers = {}
        if auth:
            if not self.token:
                raise NotLoggedIn("not logged in: run `kibitz login` first")
            headers["Authorization"] = f"Bearer {self.token}"
        query = {key: value for key, value in (params or {}).items() if value is not None}
        try:
            response = self._http.request(
                method, prefix + path, json=json, params=query or None, headers=headers
            )
        except httpx.TransportError as exc:
            raise connection_failed(self.server_url, exc) from exc
        if response.is_error:
            raise error_from_response(response)
        if response.status_code == 204 or not response.content:
            return response.status_code, None
        try:
            return response.status_code, response.json()
        except ValueError as exc:
            raise ApiError(
                response.status_code, "invalid_response", f"{self.server_url} did not answer with JSON"
            ) from exc

    def _paginate(self, path: str, params: dict[str, Any]) -> Iterator[Any]:
        """Yield every item of a paginated list, following ``next_cursor``."""
        cursor: str | None = None
        while True:
            page = self._request("GET", path, params={**params, "limit": PAGE_LIMIT, "cursor": cursor})
            yield from page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return

    # -- health and accounts ----------------------------------------------------------------

    def healthz(self) -> dict[str, Any]:
        """Return the server's health answer (``{"status": "ok"}``)."""
        return cast(dict[str, Any], self._request("GET", "/healthz", auth=False, prefix=""))

    def signup(
        self, email: str, name: str, password: str, *, handle: str | None = None, invite: str | None = None
    ) -> User:
        """Create an account (joining the team of `invite`, if given); without a handle the server derives
        one from the email."""
        body = {"email": email, "name": name, "password": password}
        if handle is not None:
            body["handle"] = handle
        if invite is not None:
            body["invite"] = invite.strip()
        return cast(User, self._request("POST", "/auth/signup", json=body, auth=False))

    def login(self, email: str, password: str) -> LoginResult:
        """Exchange an email and password for an API token (the client does not keep it)."""
        body = {"email": email, "password": password}
        return cast(LoginResult, self._request("POST", "/auth/login", json=body, auth=False))

    def logout(self) -> None:
        """Revoke the token this client uses."""
        self._request("POST", "/auth/logout")

    def me(self) -> Me:
        """Return the signed-in user and their teams."""
        return cast(Me, self._request("GET", "/me"))

    # -- teams ------------------------------------------------------------------------------

    def create_team(self, name: str) -> Team:
        """Create a team owned by the caller."""
        return cast(Team, self._request("POST", "/teams", json={"name": name}))

    def list_teams(self) -> list[Team]:
        """Return the caller's teams."""
        return cast(list[Team], self._request("GET", "/teams"))

    def join_team(self, code: str) -> Team:
        """Join a team with an invite code."""
        return cast(Team, self._request("POST", "/teams/join", json={"code": code}))

    def list_members(self, team_id: str) -> list[Member]:
        """Return the members of a team."""
        return cast(list[Member], self._request("GET", f"/teams/{_seg(team_id)}/members"))

    def create_invite(self, team_id: str, role: str = "member") -> Invite:
        """Create an invite code for a team."""
        return cast(Invite, self._request("POST", f"/teams/{_seg(team_id)}/invites", json={"role": role}))

    def list_invites(self, team_id: str, *, include_inactive: bool = False) -> list[PendingInvite]:
        """Return a team's pending invites, newest first (used and expired ones too if asked); admins."""
        params = {"all": "true" if include_inactive else None}
        path = f"/teams/{_seg(team_id)}/invites"
        return cast(list[PendingInvite], self._request("GET", path, params=params))

    def revoke_invite(self, team_id: str, invite_id: str) -> None:
        """Revoke an unused invite of a team, so its code stops working; admins."""
        self._request("DELETE", f"/teams/{_seg(team_id)}/invites/{_seg(invite_id)}")

    def update_member(self, team_id: str, user_id: str, role: str) -> Member:
        """Change a member's role."""
        path = f"/teams/{_seg(team_id)}/members/{_seg(user_id)}"
        return cast(Member, self._request("PATCH", path, json={"role": role}))

    def remove_member(self, team_id: str, user_id: str) -> None:
        """Remove a member from a team (anyone may remove themselves)."""
        self._request("DELETE", f"/teams/{_seg(team_id)}/members/{_seg(user_id)}")

    # -- repos ------------------------------------------------------------------------------

    def match_repo(
        self, team_id: str, root_commits: Sequence[str], remotes: Sequence[str], name: str | None = None
    ) -> Repo:
        """Return the team's repo with any of these root commits or remotes, creating it if none."""
        body: dict[str, Any] = {"root_commits": list(root_commits), "remotes": list(remotes)}
        if name is not None:
            body["name"] = name
        return cast(Repo, self._request("POST", f"/teams/{_seg(team_id)}/repos/match", json=body))

    def list_repos(self, team_id: str) -> list[Repo]:
        """Return a team's repos."""
        return cast(list[Repo], self._request("GET", f"/teams/{_seg(team_id)}/repos"))

    def get_repo(self, team_id: str, repo_id: str) -> Repo:
        """Return one of a team's repos."""
        return cast(Repo, self._request("GET", f"/teams/{_seg(team_id)}/repos/{_seg(repo_id)}"))

    def rename_repo(self, team_id: str, repo_id: str, name: str) -> Repo:
        """Rename one of a team's repos (admins; names are unique in the team)."""
        url = f"/teams/{_seg(team_id)}/repos/{_seg(repo_id)}"
        return cast(Repo, self._request("PATCH", url, json={"name": name}))

    def remove_repo(self, team_id: str, repo_id: str) -> None:
        """Remove a repo no codemark is pinned to (admins)."""
        self._request("DELETE", f"/teams/{_seg(team_id)}/repos/{_seg(repo_id)}")

    # -- codemarks --------------------------------------------------------------------------

    def create_codemark(
        self,
        team_id: str,
        *,
        type: str,
        text: str,
        markers: Sequence[NewMarker],
        title: str | None = None,
        assignees: Sequence[str] | None = None,
        tags: Sequence[str] | None = None,
    ) -> Codemark:
        """Create a codemark pinned to one or more code blocks."""
        body: dict[str, Any] = {"type": type, "text": text, "markers": list(markers)}
        if title is not None:
            body["title"] = title
        if assignees:
            body["assignees"] = list(assignees)
        if tags:
            body["tags"] = list(tags)
        return cast(Codemark, self._request("POST", f"/teams/{_seg(team_id)}/codemarks", json=body))

    def list_codemarks(
        self,
        team_id: str,
        *,
        repo_id: str | None = None,
        path: str | None = None,
        status: str | None = None,
        type: str | None = None,
        author: str | None = None,
        assignee: str | None = None,
        tag: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[Codemark]:
        """Return one page of a team's codemarks, newest first."""
        params = {
            "repo_id": repo_id,
            "path": path,
            "status": status,
            "type": type,
            "author": author,
            "assignee": assignee,
            "tag": tag,
            "limit": limit,
            "cursor": cursor,
        }
        return cast(Page[Codemark], self._request("GET", f"/teams/{_seg(team_id)}/codemarks", params=params))

    def iter_codemarks(
        self,
        team_id: str,
        *,
        repo_id: str | None = None,
        path: str | None = None,
        status: str | None = None,
        type: str | None = None,
        author: str | None = None,
        assignee: str | None = None,
        tag: str | None = None,
    ) -> Iterator[Codemark]:
        """Yield every codemark matching the filters, newest first, fetching page after page."""
        params = {
            "repo_id": repo_id,
            "path": path,
            "status": status,
            "type": type,
            "author": author,
            "assignee": assignee,
            "tag": tag,
        }
        return cast(Iterator[Codemark], self._paginate(f"/teams/{_seg(team_id)}/codemarks", params))

    def id_matches(self, team_id: str, prefix: str) -> IdMatches:
        """Return the ids of a team's codemarks and replies you may see that begin with ``prefix``."""
        url = f"/teams/{_seg(team_id)}/ids"
        return cast(IdMatches, self._request("GET", url, params={"prefix": prefix}))

    def get_codemark(self, codemark_id: str) -> Codemark:
        """Return one codemark."""
        return cast(Codemark, self._request("GET", f"/codemarks/{_seg(codemark_id)}"))

    def update_codemark(self, codemark_id: str, **changes: Any) -> Codemark:
        """Change any of a codemark's ``title``, ``text``, ``status``, ``tags`` and ``assignees``."""
        return cast(Codemark, self._request("PATCH", f"/codemarks/{_seg(codemark_id)}", json=changes))

    def delete_codemark(self, codemark_id: str) -> None:
        """Delete a codemark and its thread."""
        self._request("DELETE", f"/codemarks/{_seg(codemark_id)}")

    # -- markers and their locations -------------------------------------------------------

    def add_reference(
        self,
        codemark_id: str,
        marker_id: str,
        *,
        kind: ReferenceKind,
        commit: str,
        path: str,
        start_line: int,
        end_line: int,
    ) -> tuple[Codemark, bool]:
        """Record where a marker's block is at another commit; return the codemark and whether it was new."""
        url = f"/codemarks/{_seg(codemark_id)}/markers/{_seg(marker_id)}/references"
        body = {"kind": kind, "commit": commit, "path": path, "start_line": start_line, "end_line": end_line}
        status, answer = self._send("POST", url, json=body)
        # 201: added; 200: that commit was known already, nothing changed.
        return cast(Codemark, answer), status == 201

    def promote_marker(
        self, codemark_id: str, marker_id: str, *, commit: str, path: str, start_line: int, end_line: int
    ) -> Codemark:
        """Give a provisional marker a real reference: a commit whose lines hold its code."""
        url = f"/codemarks/{_seg(codemark_id)}/markers/{_seg(marker_id)}/promote"
        body = {"commit": commit, "path": path, "start_line": start_line, "end_line": end_line}
        return cast(Codemark, self._request("POST", url, json=body))

    def store_locations(
        self, team_id: str, commit: str, algorithm: str, locations: Sequence[NewLocation]
    ) -> LocationsStored:
        """Share markers' locations at a commit (at most 1000); the first location stored wins."""
        body = {"commit": commit, "algorithm": algorithm, "locations": list(locations)}
        return cast(LocationsStored, self._request("POST", f"/teams/{_seg(team_id)}/locations", json=body))

    def query_locations(
        self, team_id: str, commit: str, algorithm: str, marker_ids: Sequence[str]
    ) -> SharedLocations:
        """Return the shared locations of markers (at most 1000) at a commit."""
        body = {"commit": commit, "algorithm": algorithm, "marker_ids": list(marker_ids)}
        url = f"/teams/{_seg(team_id)}/locations/query"
        return cast(SharedLocations, self._request("POST", url, json=body))

    # -- replies ----------------------------------------------------------------------------

    def add_reply(self, codemark_id: str, text: str) -> Reply:
        """Answer in a codemark's thread."""
        return cast(
            Reply, self._request("POST", f"/codemarks/{_seg(codemark_id)}/replies", json={"text": text})
        )

    def list_replies(
        self, codemark_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> Page[Reply]:
        """Return one page of a codemark's replies, oldest first."""
        params = {"limit": limit, "cursor": cursor}
        return cast(
            Page[Reply], self._request("GET", f"/codemarks/{_seg(codemark_id)}/replies", params=params)
        )

    def iter_replies(self, codemark_id: str) -> Iterator[Reply]:
        """Yield every reply of a codemark, oldest first."""
        return cast(Iterator[Reply], self._paginate(f"/codemarks/{_seg(codemark_id)}/replies", {}))

    def update_reply(self, reply_id: str, text: str) -> Reply:
        """Change the text of a reply."""
        return cast(Reply, self._request("PATCH", f"/replies/{_seg(reply_id)}", json={"text": text}))

    def delete_reply(self, reply_id: str) -> None:
        """Delete a reply."""
        self._request("DELETE", f"/replies/{_seg(reply_id)}")

    # -- conversations: reactions, history, follows, relations ------------------------------

    def react(self, kind: Literal["codemarks", "replies"], object_id: str, emoji: str) -> list[Reaction]:
        """Put your emoji on a codemark or a reply (nothing changes if it is there); return its reactions."""
        path = f"/{kind}/{_seg(object_id)}/reactions/{_seg(emoji)}"
        return cast(list[Reaction], self._request("PUT", path))

    def unreact(self, kind: Literal["codemarks", "replies"], object_id: str, emoji: str) -> list[Reaction]:
        """Take your emoji back from a codemark or a reply; return its reactions."""
        path = f"/{kind}/{_seg(object_id)}/reactions/{_seg(emoji)}"
        return cast(list[Reaction], self._request("DELETE", path))

    def codemark_history(self, codemark_id: str) -> list[CodemarkVersion]:
        """Return the previous titles and texts of a codemark, newest first."""
        return cast(list[CodemarkVersion], self._request("GET", f"/codemarks/{_seg(codemark_id)}/history"))

    def reply_history(self, reply_id: str) -> list[ReplyVersion]:
        """Return the previous texts of a reply, newest first."""
        return cast(list[ReplyVersion], self._request("GET", f"/replies/{_seg(reply_id)}/history"))

    def follow(self, codemark_id: str) -> Codemark:
        """Follow a codemark: its replies come to your inbox."""
        return cast(Codemark, self._request("PUT", f"/codemarks/{_seg(codemark_id)}/follow"))

    def unfollow(self, codemark_id: str) -> Codemark:
        """Stop following a codemark."""
        return cast(Codemark, self._request("DELETE", f"/codemarks/{_seg(codemark_id)}/follow"))

    def relate(self, codemark_id: str, other_id: str) -> Codemark:
        """Mark two codemarks of a team as related."""
        path = f"/codemarks/{_seg(codemark_id)}/related/{_seg(other_id)}"
        return cast(Codemark, self._request("PUT", path))

    def unrelate(self, codemark_id: str, other_id: str) -> Codemark:
        """Remove the relation between two codemarks."""
        path = f"/codemarks/{_seg(codemark_id)}/related/{_seg(other_id)}"
        return cast(Codemark, self._request("DELETE", path))

    # -- search and inbox -----------------------------------------------------------------------

    def search(
        self,
        team_id: str,
        query: str,
        *,
        status: str | None = None,
        type: str | None = None,
        author: str | None = None,
        assignee: str | None = None,
        tag: str | None = None,
        repo_id: str | None = None,
        path: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[SearchHit]:
        """Return one page of the team's codemarks whose words or replies hold every word of ``query``."""
        params = {
            "q": query,
            "status": status,
            "type": type,
            "author": author,
            "assignee": assignee,
            "tag": tag,
            "repo_id": repo_id,
            "path": path,
            "since": since,
            "until": until,
            "limit": limit,
            "cursor": cursor,
        }
        return cast(Page[SearchHit], self._request("GET", f"/teams/{_seg(team_id)}/search", params=params))

    def inbox(
        self, team_id: str, *, unread: bool = False, limit: int | None = None, cursor: str | None = None
    ) -> InboxPage:
        """Return one page of your inbox in a team, newest first, and its unread count."""
        params = {"unread": "true" if unread else None, "limit": limit, "cursor": cursor}
        return cast(InboxPage, self._request("GET", f"/teams/{_seg(team_id)}/inbox", params=params))

    def mark_inbox_read(self, team_id: str, ids: Sequence[str] | None = None) -> int:
        """Mark inbox items read (all of them when ``ids`` is None); return how many were unread."""
        body: dict[str, Any] = {"all": True} if ids is None else {"ids": list(ids)}
        answer = self._request("POST", f"/teams/{_seg(team_id)}/inbox/read", json=body)
        return int(answer["marked"])

    # -- tokens and sessions ----------------------------------------------------------------

    def list_tokens(self, *, include_inactive: bool = False) -> list[Token]:
        """Return your tokens and login sessions, newest first (revoked and expired ones only if asked)."""
        params = {"all": "true" if include_inactive else None}
        return cast(list[Token], self._request("GET", "/tokens", params=params))

    def create_token(self, name: str, scope: str = "read", *, expires_days: int | None = None) -> NewToken:
        """Create a named token with ``scope`` (read, write or admin); the answer holds the token, once."""
        body: dict[str, Any] = {"name": name, "scope": scope}
        if expires_days is not None:
            body["expires_days"] = expires_days
        return cast(NewToken, self._request("POST", "/tokens", json=body))

    def revoke_token(self, token_id: str) -> None:
        """Revoke one of your tokens or sessions."""
        self._request("DELETE", f"/tokens/{_seg(token_id)}")

    def revoke_member_tokens(self, team_id: str, user_id: str) -> int:
        """Revoke every token and session of a member of your team (admins); return how many."""
        answer = self._request("DELETE", f"/teams/{_seg(team_id)}/members/{_seg(user_id)}/tokens")
        return int(answer["revoked"])

    def change_password(self, current_password: str, new_password: str) -> int:
        """Change your password; return how many other login sessions it ended."""
        body = {"current_password": current_password, "new_password": new_password}
        return int(self._request("POST", "/auth/password", json=body)["sessions_ended"])

    # -- team administration ----------------------------------------------------------------

    def transfer_ownership(self, team_id: str, user_id: str) -> Member:
        """Make a member the team's owner (owners only); you become an admin. Return the new owner."""
        body = {"user_id": user_id}
        return cast(Member, self._request("POST", f"/teams/{_seg(team_id)}/transfer", json=body))

    def set_code_free(self, team_id: str, on: bool) -> Team:
        """Turn the team's code-free mode on or off (admins); return the team."""
        return cast(Team, self._request("PATCH", f"/teams/{_seg(team_id)}", json={"code_free": on}))

    # -- erasure ------------------------------------------------------------------------------

    def delete_account(self, password: str) -> Erasure:
        """Erase your account and everything you wrote, for good; return the erasure request."""
        return cast(Erasure, self._request("DELETE", "/me", json={"password": password}))

    def delete_team(self, team_id: str, confirm: str) -> Erasure:
        """Erase a team and everything in it (owners; `confirm` is its name); return the erasure request."""
        body = {"confirm": confirm}
        return cast(Erasure, self._request("DELETE", f"/teams/{_seg(team_id)}", json=body))

    def erasures(self, team_id: str) -> list[Erasure]:
        """Return the erasure requests of a team's members and of the team (admins), newest first."""
        return cast(list[Erasure], self._request("GET", f"/teams/{_seg(team_id)}/erasures"))

    # -- network allowlist and audit trail ----------------------------------------------------

    def get_allowlist(self, team_id: str) -> Allowlist:
        """Return the team's IP allowlist (admins) and the address the server sees for you."""
        return cast(Allowlist, self._request("GET", f"/teams/{_seg(team_id)}/allowlist"))

    def set_allowlist(self, team_id: str, cidrs: Sequence[str]) -> Allowlist:
        """Replace the team's IP allowlist (admins; an empty list clears it); return it normalised."""
        body = {"cidrs": list(cidrs)}
        return cast(Allowlist, self._request("PUT", f"/teams/{_seg(team_id)}/allowlist", json=body))

    def audit(
        self, team_id: str, *, action: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> Page[AuditEvent]:
        """Return one page of the team's audit trail (admins), newest first; ``action`` may be a family."""
        params = {"action": action, "limit": limit, "cursor": cursor}
        return cast(Page[AuditEvent], self._request("GET", f"/teams/{_seg(team_id)}/audit", params=params))

    # -- export archives ----------------------------------------------------------------------

    def export_me(self) -> bytes:
        """Return the archive of your own data (profile, memberships, what you wrote), as sent."""
        return self._download("/me/export")

    def export_team(self, team_id: str) -> bytes:
        """Return the archive of a whole team (owners only), for `kibitz server import` elsewhere."""
        return self._download(f"/teams/{_seg(team_id)}/export")

    def _download(self, path: str) -> bytes:
        """GET an archive and return its bytes unchanged (two exports compare byte for byte)."""
        if not self.token:
            raise NotLoggedIn("not logged in: run `kibitz login` first")
        try:
            # A large team's archive takes a while to build: allow more than the usual request timeout.
            response = self._http.get(
                API_PREFIX + path, headers={"Authorization": f"Bearer {self.token}"}, timeout=600.0
            )
        except httpx.TransportError as exc:
            raise connection_failed(self.server_url, exc) from exc
        if response.is_error:
            raise error_from_response(response)
        return response.content
