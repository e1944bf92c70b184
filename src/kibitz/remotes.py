"""Normalise git remote URLs so that every way of writing one remote compares equal.

A repository is recognised across clones by its root commits *or* its remotes (DESIGN.md §2).
The same remote is written many ways — ``https://github.com/Owner/Name.git``,
``git@github.com:Owner/Name``, ``ssh://git@github.com:22/Owner/Name/`` — and each of them must
reduce to ``github.com/Owner/Name``. The client sends the normalised form and the server imports
this same function, so both sides agree by construction.

Rules:

- accepted forms: ``ssh://``, ``git+ssh://``, ``ssh+git://``, ``http://``, ``https://``, ``git://``
  URLs; scp-like ``[user@]host:path``; and the normalised form ``host/path`` itself (so that the
  function is idempotent);
- credentials (``user[:password]@``), the port, a query and a fragment are dropped: the port says
  how to reach a server, not which repository it is, and one repository is routinely served over
  SSH on a custom port and over HTTPS on 443;
- the host is lower-cased (DNS is case-insensitive) and loses a trailing dot; the path keeps its
  case, since many hosts treat ``Owner/Name`` and ``owner/name`` as different repositories;
- empty and ``.`` path segments, trailing ``.git`` suffixes and slashes are dropped;
- anything else — local paths, ``file://`` URLs, ``..`` segments, whitespace, control characters,
  backslashes, malformed hosts or ports — yields ``""``: such a remote identifies nothing that a
  teammate could share. The function never raises.
"""

from __future__ import annotations

import re

__all__ = ["normalise_remote"]

_URL_SCHEMES = frozenset({"ssh", "git+ssh", "ssh+git", "http", "https", "git"})

_SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*)://(.*)", re.DOTALL)
# git's own rule: a colon before the first slash, with no "://", is the scp-like syntax.
_SCP_RE = re.compile(r"(?:[^@/]+@)?(\[[^\]/]*\]|[^:/\[\]@]+):(.*)", re.DOTALL)
_BARE_RE = re.compile(r"(\[[^\]/]*\]|[^:/\[\]@]+)/(.*)", re.DOTALL)

_HOSTNAME_RE = re.compile(r"[a-z0-9_][a-z0-9_.\-]*")
_IPV6_RE = re.compile(r"\[[0-9a-f:.]+\]")
_PORT_RE = re.compile(r":[0-9]*")


def normalise_remote(url: str) -> str:
    """Return ``host/owner/name`` for a git remote URL, or ``""`` if it names no shareable remote."""
    text = url.strip()
    if not text or any(ch.isspace() or not ch.isprintable() or ch == "\\" for ch in text):
        return ""
    match = _SCHEME_RE.fullmatch(text)
    if match:
        if match.group(1).lower() not in _URL_SCHEMES:
            return ""
        return _from_url_rest(match.group(2))
    match = _SCP_RE.fullmatch(text)
    if match:
        return _join(match.group(1), match.group(2))
    match = _BARE_RE.fullmatch(text)
    if match:
        return _join(match.group(1), match.group(2))
    return ""


def _from_url_rest(rest: str) -> str:
    """Normalise what follows ``scheme://``: ``[userinfo@]host[:port]/path[?query][#fragment]``."""
    authority, slash, path = rest.partition("/")
    if not slash:
        return ""
    # The userinfo ends at the last "@" of the authority, which is how git and browsers read it.
    hostport = authority.rpartition("@")[2]
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            return ""
        host, port = hostport[: end + 1], hostport[end + 1 :]
    else:
        colon = hostport.find(":")
        host, port = (hostport, "") if colon < 0 else (hostport[:colon], hostport[colon:])
    if port and not _PORT_RE.fullmatch(port):
        return ""
    path = path.split("#", 1)[0].split("?", 1)[0]
    return _join(host, path)


def _join(host: str, path: str) -> str:
    """Validate and normalise a host and a path, and join them; ``""`` if either is unusable."""
    clean_host = _normalise_host(host)
    if not clean_host:
        return ""
    segments = [segment for segment in path.split("/") if segment not in ("", ".")]
    if ".." in segments:
        return ""
    # Strip every trailing ".git" (and any segment it empties) so a second pass changes nothing.
    while segments:
        last = segments[-1]
        if not last.endswith(".git"):
            break
        if last == ".git":
            segments.pop()
        else:
            segments[-1] = last[: -len(".git")]
    if not segments:
        return ""
    return "/".join([clean_host, *segments])


def _normalise_host(host: str) -> str:
    """Return the lower-cased host without a trailing dot, or ``""`` if it is not a plausible host."""
    if not host.isascii():
        return ""
    lowered = host.lower()
    if lowered.startswith("["):
        return lowered if _IPV6_RE.fullmatch(lowered) else ""
    lowered = lowered.rstrip(".")
    return lowered if _HOSTNAME_RE.fullmatch(lowered) else ""
