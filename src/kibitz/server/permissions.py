"""The permission matrix: who may call each route, and which token scope it needs.

One table for every route of the app. `deps.get_caller` enforces the scope column on every authenticated
request (a route missing here is refused: fail closed); the roles are enforced by the access layer
(`access.py`) that every route goes through. tests/server/test_authz_matrix.py calls every route as every
kind of caller and checks that exactly the cells this table allows succeed, and fails when a route has no
entry; docs/security.md shows the same table.

`who`:
- `anyone`: no token needed;
- `user`: any signed-in person (the route is about their own account, or creates something new);
- `member`, `admin`, `owner`: at least that role in the team the object belongs to; everyone else gets 404
  for another team's objects and 403 for too weak a role;
- `author`: only the member who wrote the object, whatever their role (nobody edits someone else's words);
- `author-or-admin`: a member who wrote the object, or an admin (the matrix acts on an object the owner
  wrote, so a plain member is refused);
- `self-or-admin`: a member acting on their own membership (leaving), or an admin acting on someone else's.

`scope`: what a named token must carry (`read` < `write` < `admin`; a login session has all three), or
`none` for routes that take no token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Who = Literal["anyone", "user", "member", "author", "author-or-admin", "self-or-admin", "admin", "owner"]
Scope = Literal["none", "read", "write", "admin"]

SCOPES: tuple[Scope, ...] = ("read", "write", "admin")


@dataclass(frozen=True)
class Rule:
    """Who may call a route, and the token scope it needs."""

    who: Who
    scope: Scope
    note: str = ""


def scopes_up_to(scope: Scope) -> str:
    """Return the stored form of a token's scopes: `scope` and every weaker one, space-separated."""
    return " ".join(SCOPES[: SCOPES.index(scope) + 1])


def allows(token_scopes: str, needed: str) -> bool:
    """Tell whether a token with `token_scopes` (space-separated) may call a route that needs `needed`."""
    return needed == "none" or needed in token_scopes.split()


API = "/api/v1"

ROUTES: dict[tuple[str, str], Rule] = {
    # Operations and disclosure: no token.
    ("GET", "/healthz"): Rule("anyone", "none"),
    ("GET", "/readyz"): Rule("anyone", "none", "says whether the database answers"),
    ("GET", "/metrics"): Rule("anyone", "none", "loopback or trusted proxies only (see docs/security.md)"),
    ("GET", "/.well-known/security.txt"): Rule("anyone", "none"),
    ("GET", f"{API}/openapi.json"): Rule("anyone", "none", "the API's OpenAPI document"),
    # Accounts.
    ("POST", f"{API}/auth/signup"): Rule("anyone", "none"),
    ("POST", f"{API}/auth/login"): Rule("anyone", "none", "throttled per account and per address"),
    ("POST", f"{API}/auth/logout"): Rule("user", "read", "revokes the token it is called with"),
    ("POST", f"{API}/auth/password"): Rule("user", "admin", "ends every other session"),
    ("GET", f"{API}/me"): Rule("user", "read"),
    ("GET", f"{API}/me/export"): Rule("user", "read", "your profile, memberships and everything you wrote"),
    ("DELETE", f"{API}/me"): Rule(
        "user", "admin", "erases your account; needs your password; refused while you are a team's last owner"
    ),
    ("GET", f"{API}/tokens"): Rule(
        "user", "admin", "your own tokens; a read or write token cannot see the others"
    ),
    ("POST", f"{API}/tokens"): Rule("user", "admin", "a token cannot mint one with more scopes than it has"),
    ("DELETE", f"{API}/tokens/{{token_id}}"): Rule(
        "user", "admin", "your own tokens only; a weaker token signs itself out with /auth/logout"
    ),
    # Teams.
    ("POST", f"{API}/teams"): Rule("user", "write"),
    ("GET", f"{API}/teams"): Rule("user", "read"),
    ("POST", f"{API}/teams/join"): Rule("user", "write"),
    ("PATCH", f"{API}/teams/{{team_id}}"): Rule(
        "admin", "admin", "code-free mode; applies to markers written from then on"
    ),
    ("GET", f"{API}/teams/{{team_id}}/members"): Rule("member", "read"),
    ("POST", f"{API}/teams/{{team_id}}/invites"): Rule("admin", "admin", "only an owner invites admins"),
    ("GET", f"{API}/teams/{{team_id}}/invites"): Rule(
        "admin", "admin", "never shows codes; `all=true`: used too"
    ),
    ("DELETE", f"{API}/teams/{{team_id}}/invites/{{invite_id}}"): Rule(
        "admin", "admin", "unused ones; only an owner revokes an admin invite"
    ),
    ("PATCH", f"{API}/teams/{{team_id}}/members/{{user_id}}"): Rule(
        "admin", "admin", "only an owner changes an owner's role or makes owners"
    ),
    ("DELETE", f"{API}/teams/{{team_id}}/members/{{user_id}}"): Rule(
        "self-or-admin", "admin", "only an owner removes an owner; the last owner cannot leave"
    ),
    ("DELETE", f"{API}/teams/{{team_id}}/members/{{user_id}}/tokens"): Rule(
        "admin",
        "admin",
        "closes this team to that member's current tokens and sessions (not their other teams); "
        "an owner's only by an owner",
    ),
    ("POST", f"{API}/teams/{{team_id}}/transfer"): Rule("owner", "admin", "the new owner must be a member"),
    ("GET", f"{API}/teams/{{team_id}}/allowlist"): Rule("admin", "admin"),
    ("PUT", f"{API}/teams/{{team_id}}/allowlist"): Rule(
        "admin", "admin", "refused if it would exclude the address of the request"
    ),
    ("GET", f"{API}/teams/{{team_id}}/audit"): Rule("admin", "admin"),
    ("DELETE", f"{API}/teams/{{team_id}}"): Rule(
        "owner", "admin", "erases the team and everything in it; `confirm` repeats its name"
    ),
    ("GET", f"{API}/teams/{{team_id}}/erasures"): Rule("admin", "admin", "the erasure ledger of the team"),
    ("GET", f"{API}/teams/{{team_id}}/export"): Rule(
        "owner", "admin", "the whole team, to move it to another server"
    ),
    # Repos.
    ("POST", f"{API}/teams/{{team_id}}/repos/match"): Rule("member", "write"),
    ("GET", f"{API}/teams/{{team_id}}/repos"): Rule("member", "read"),
    ("GET", f"{API}/teams/{{team_id}}/repos/{{repo_id}}"): Rule("member", "read"),
    ("PATCH", f"{API}/teams/{{team_id}}/repos/{{repo_id}}"): Rule(
        "admin", "admin", "names are unique in the team"
    ),
    ("DELETE", f"{API}/teams/{{team_id}}/repos/{{repo_id}}"): Rule(
        "admin", "admin", "refused while a codemark is pinned to it"
    ),
    # Codemarks and their threads.
    ("POST", f"{API}/teams/{{team_id}}/codemarks"): Rule("member", "write"),
    ("GET", f"{API}/teams/{{team_id}}/codemarks"): Rule("member", "read"),
    ("GET", f"{API}/teams/{{team_id}}/ids"): Rule(
        "member", "read", "ids of codemarks and replies you may see that begin with a prefix"
    ),
    ("GET", f"{API}/codemarks/{{codemark_id}}"): Rule("member", "read"),
    ("GET", "/c/{codemark_id}"): Rule(
        "member", "read", "the permalink: the page for a browser, JSON for `Accept: application/json`"
    ),
    ("PATCH", f"{API}/codemarks/{{codemark_id}}"): Rule(
        "author-or-admin", "write", "an assignee may also resolve or reopen it (only `status`)"
    ),
    ("DELETE", f"{API}/codemarks/{{codemark_id}}"): Rule("author-or-admin", "write"),
    ("GET", f"{API}/codemarks/{{codemark_id}}/history"): Rule("member", "read"),
    ("PUT", f"{API}/codemarks/{{codemark_id}}/follow"): Rule("member", "write"),
    ("DELETE", f"{API}/codemarks/{{codemark_id}}/follow"): Rule("member", "write"),
    ("PUT", f"{API}/codemarks/{{codemark_id}}/related/{{other_id}}"): Rule("member", "write"),
    ("DELETE", f"{API}/codemarks/{{codemark_id}}/related/{{other_id}}"): Rule("member", "write"),
    ("PUT", f"{API}/codemarks/{{codemark_id}}/reactions/{{emoji}}"): Rule("member", "write"),
    ("DELETE", f"{API}/codemarks/{{codemark_id}}/reactions/{{emoji}}"): Rule("member", "write"),
    ("POST", f"{API}/codemarks/{{codemark_id}}/replies"): Rule("member", "write"),
    ("GET", f"{API}/codemarks/{{codemark_id}}/replies"): Rule("member", "read"),
    ("PATCH", f"{API}/replies/{{reply_id}}"): Rule("author", "write", "only its author edits a reply"),
    ("DELETE", f"{API}/replies/{{reply_id}}"): Rule("author-or-admin", "write"),
    ("GET", f"{API}/replies/{{reply_id}}/history"): Rule("member", "read"),
    ("PUT", f"{API}/replies/{{reply_id}}/reactions/{{emoji}}"): Rule("member", "write"),
    ("DELETE", f"{API}/replies/{{reply_id}}/reactions/{{emoji}}"): Rule("member", "write"),
    ("POST", f"{API}/codemarks/{{codemark_id}}/markers/{{marker_id}}/references"): Rule("member", "write"),
    # Any member's client promotes a provisional marker once it sees a commit holding its code.
    ("POST", f"{API}/codemarks/{{codemark_id}}/markers/{{marker_id}}/promote"): Rule("member", "write"),
    # Shared locations, inbox, search, stream.
    ("POST", f"{API}/teams/{{team_id}}/locations"): Rule("member", "write"),
    ("POST", f"{API}/teams/{{team_id}}/locations/query"): Rule("member", "read"),
    ("GET", f"{API}/teams/{{team_id}}/inbox"): Rule("member", "read"),
    ("POST", f"{API}/teams/{{team_id}}/inbox/read"): Rule("member", "read", "marks your own items read"),
    ("GET", f"{API}/teams/{{team_id}}/search"): Rule("member", "read"),
    ("GET", f"{API}/stream"): Rule(
        "member", "read", "WebSocket; the team is named in the first message; a page's session cookie counts"
    ),
}

# The web pages and their forms (docs/web.md), called with a browser session (which has every scope) and,
# for forms, a CSRF token; tests/web/test_page_matrix.py holds them to this table as the API's test does.
PAGE_ROUTES: dict[tuple[str, str], Rule] = {
    ("GET", "/static/{name}"): Rule("anyone", "none", "the pages' stylesheets and script"),
    ("GET", "/signin"): Rule("anyone", "none", "page"),
    ("POST", "/signin"): Rule("anyone", "none", "form; throttled like the API's login"),
    ("POST", "/signout"): Rule("anyone", "none", "form; ends this browser's session"),
    ("GET", "/signup"): Rule("anyone", "none", "page; as the server's sign-up mode allows"),
    ("POST", "/signup"): Rule("anyone", "none", "form; as the server's sign-up mode allows"),
    ("GET", "/"): Rule("user", "read", "page: your teams"),
    ("POST", "/c/{codemark_id}/reply"): Rule("member", "write", "form"),
    ("POST", "/c/{codemark_id}/edit"): Rule("author-or-admin", "write", "form: title and text"),
    ("POST", "/c/{codemark_id}/status"): Rule(
        "author-or-admin", "write", "form: resolve or reopen; an assignee may too"
    ),
    ("POST", "/c/{codemark_id}/react"): Rule("member", "write", "form"),
    ("POST", "/c/{codemark_id}/follow"): Rule("member", "write", "form"),
    ("POST", "/r/{reply_id}/edit"): Rule("author", "write", "form: only its author edits a reply"),
    ("POST", "/r/{reply_id}/react"): Rule("member", "write", "form"),
    # The team's pages, the account page and their forms.
    ("GET", "/t/{team_id}/feed"): Rule("member", "read", "page: codemarks, with the listing's filters"),
    ("GET", "/t/{team_id}/inbox"): Rule("member", "read", "page: your inbox in the team"),
    ("POST", "/t/{team_id}/inbox/read"): Rule("member", "read", "form: marks your own items read"),
    ("GET", "/t/{team_id}/search"): Rule("member", "read", "page"),
    ("GET", "/t/{team_id}/settings"): Rule(
        "member", "read", "page: members to everyone; invites, allowlist, code-free mode, audit to admins"
    ),
    ("GET", "/t/{team_id}/settings/audit"): Rule("admin", "admin", "page"),
    ("POST", "/t/{team_id}/settings/members/{user_id}/role"): Rule(
        "admin", "admin", "form; only an owner changes an owner's role or makes owners"
    ),
    ("POST", "/t/{team_id}/settings/members/{user_id}/remove"): Rule(
        "self-or-admin", "admin", "form; only an owner removes an owner; the last owner cannot leave"
    ),
    ("POST", "/t/{team_id}/settings/invites"): Rule("admin", "admin", "form; only an owner invites admins"),
    ("POST", "/t/{team_id}/settings/invites/{invite_id}/revoke"): Rule(
        "admin", "admin", "form; only an owner revokes an admin invite"
    ),
    ("POST", "/t/{team_id}/settings/allowlist"): Rule(
        "admin", "admin", "form; refused if it would exclude the address of the request"
    ),
    ("POST", "/t/{team_id}/settings/code-free"): Rule("admin", "admin", "form"),
    ("GET", "/account"): Rule("user", "admin", "page: profile, teams, tokens and sessions"),
    ("POST", "/account/password"): Rule("user", "admin", "form; ends every other session"),
    ("POST", "/account/tokens"): Rule("user", "admin", "form; the token is shown once"),
    ("POST", "/account/tokens/{token_id}/revoke"): Rule("user", "admin", "form; your own tokens only"),
    ("GET", "/account/export"): Rule("user", "read", "download: your archive"),
    ("POST", "/account/delete"): Rule(
        "user", "admin", "form; needs your password; refused while you are a team's last owner"
    ),
}
ROUTES.update(PAGE_ROUTES)


def _pattern(template: str) -> re.Pattern[str]:
    return re.compile(
        "".join(r"[^/]+" if part.startswith("{") else re.escape(part) for part in _PARTS(template))
    )


_PARTS = re.compile(r"\{[^}]+\}|[^{]+").findall
# By method and number of segments: a request is matched against a handful of templates at most.
_BY_SHAPE: dict[tuple[str, int], list[tuple[re.Pattern[str], str]]] = {}
for _method, _template in ROUTES:
    _BY_SHAPE.setdefault((_method, _template.count("/")), []).append((_pattern(_template), _template))


def template_for_request(method: str, path: str, route_path: str) -> str | None:
    """Return the full template of the route that served `path` (as in ROUTES), or None if it has none."""
    found = [
        template
        for pattern, template in _BY_SHAPE.get((method.upper(), path.count("/")), ())
        if pattern.fullmatch(path)
    ]
    if len(found) > 1:  # `/teams/join` also matches `/teams/{team_id}`: the route's own template decides
        found = [template for template in found if template.endswith(route_path)]
    return found[0] if len(found) == 1 else None


def rule_for_request(method: str, path: str, route_path: str) -> Rule | None:
    """Return the rule of the route that served `path`; `route_path` is the matched route's own template.

    (Included routers keep their own, shorter templates, so the full one is found by matching the path.)
    """
    template = template_for_request(method, path, route_path)
    return ROUTES.get((method.upper(), template)) if template is not None else None


# -- the table in docs/security.md -----------------------------------------------------------------------

PERSONAS = ("anonymous", "another team", "member", "admin", "owner")
_TEAM_ROLES = {"member": 0, "admin": 1, "owner": 2}
_NEEDS_ROLE: dict[Who, str] = {"member": "member", "admin": "admin", "owner": "owner"}


def cell(who: Who, persona: str) -> str:
    """Say what `persona` (one of PERSONAS) may do on a route open to `who`, as docs/security.md words it."""
    if who == "anyone":
        return "yes"
    if persona == "anonymous":
        return "no (401)"
    if who == "user":
        return "yes"
    if persona == "another team":
        return "no (404)"
    if who == "author":
        return "own only (else 403)"
    if who == "author-or-admin":
        return "yes" if _TEAM_ROLES[persona] >= _TEAM_ROLES["admin"] else "own only (else 403)"
    if who == "self-or-admin":
        return "yes" if _TEAM_ROLES[persona] >= _TEAM_ROLES["admin"] else "self only (else 403)"
    return "yes" if _TEAM_ROLES[persona] >= _TEAM_ROLES[_NEEDS_ROLE[who]] else "no (403)"


def markdown_table() -> str:
    """Return the permission matrix as the Markdown table docs/security.md shows (generated, never edited)."""
    header = ["route", *PERSONAS, "token scope", "note"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for (method, path), rule in ROUTES.items():
        cells = [f"`{method} {path}`", *(cell(rule.who, p) for p in PERSONAS), rule.scope, rule.note]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # python -m kibitz.server.permissions: print the table for docs/security.md
    print(markdown_table(), end="")
