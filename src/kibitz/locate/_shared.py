"""The team's shared locations on the server, and the promotion of provisional markers."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence

from kibitz.client import Conflict, KibitzClient, Marker, NewLocation, NotFound
from kibitz.locate._model import ALGORITHM, PinnedMarker, Placement

# The server takes at most this many markers per store or query request, and paths this long.
BATCH = 1000
MAX_PATH_BYTES = 4096


class SharedLocations:
    """Read and share markers' locations at commits for one team, through the API."""

    def __init__(self, client: KibitzClient, team_id: str) -> None:
        self.client = client
        self.team_id = team_id
        # Markers this run promoted, as the server now has them (by marker id): what to show from now on.
        self.promoted: dict[str, Marker] = {}
        # What the team's cache answered, by (commit, marker id): the commit that made the block what it is
        # there, when a client found it (None otherwise).
        self._why_commits: dict[tuple[str, str], str | None] = {}

    def fetch(self, commit: str, marker_ids: Sequence[str]) -> dict[str, Placement]:
        """Return the locations the team already knows at ``commit``, by marker id."""
        found: dict[str, Placement] = {}
        for start in range(0, len(marker_ids), BATCH):
            batch = marker_ids[start : start + BATCH]
            answer = self.client.query_locations(self.team_id, commit, ALGORITHM, batch)
            for known in answer["locations"]:
                self._why_commits[(commit, known["marker_id"])] = known.get("why_commit")
                found[known["marker_id"]] = Placement(
                    known["marker_id"],
                    known["path"],
                    known["start_line"],
                    known["end_line"],
                    known["status"],
                    known["confidence"],
                    source="shared",
                )
        return found

    def why_commits(self, commit: str, marker_ids: Sequence[str]) -> dict[str, str]:
        """Return the commits the team found made these markers' blocks what they are at ``commit``.

        Locations fetched earlier in this run are not asked for again.
        """
        unasked = [marker_id for marker_id in marker_ids if (commit, marker_id) not in self._why_commits]
        if unasked:
            self.fetch(commit, unasked)
        return {
            marker_id: found
            for marker_id in marker_ids
            if (found := self._why_commits.get((commit, marker_id))) is not None
        }

    def store_whys(self, commit: str, found: Iterable[tuple[Placement, str]]) -> None:
        """Share, with their locations at ``commit``, the commits that made the blocks what they are there.

        A location the team knew already keeps its place; the server only adds the commit to it.
        """
        pairs = list(found)
        if pairs:
            self._send(commit, [placement for placement, _ in pairs], {p.marker_id: c for p, c in pairs})

    def store(self, commit: str, placements: Iterable[Placement]) -> None:
        """Share locations computed at ``commit`` (never ones computed on unsaved or uncommitted text).

        An ``unavailable`` block is what this clone cannot see, not a fact about the commit, and a
        ``too_large`` one what this engine gave up on (within a time budget, which depends on the
        machine): never shared.
        """
        self._send(commit, placements, {})

    def _send(self, commit: str, placements: Iterable[Placement], why_commits: Mapping[str, str]) -> None:
        """Send locations at ``commit``, each with the commit that made it so when ``why_commits`` has one."""
        body: list[NewLocation] = []
        for placement in placements:
            status = placement.status
            if (
                status == "unavailable"
                or status == "too_large"
                or (placement.path is not None and not _api_accepts_path(placement.path))
            ):
                continue
            location: NewLocation = {
                "marker_id": placement.marker_id,
                "path": placement.path,
                "start_line": placement.start_line,
                "end_line": placement.end_line,
                "status": status,
                "confidence": placement.confidence,
            }
            why_commit = why_commits.get(placement.marker_id)
            if why_commit is not None:
                # Only when there is one: a server older than this field refuses unknown fields.
                location["why_commit"] = why_commit
            body.append(location)
        for start in range(0, len(body), BATCH):
            self.client.store_locations(self.team_id, commit, ALGORITHM, body[start : start + BATCH])

    def promote(self, pinned: PinnedMarker, commit: str, placement: Placement) -> None:
        """Make ``commit`` the canonical reference of a provisional marker whose code it holds."""
        assert placement.path is not None
        assert placement.start_line is not None
        assert placement.end_line is not None
        # A conflict means a teammate promoted it meanwhile; not found, that the codemark was deleted.
        with contextlib.suppress(Conflict, NotFound):
            codemark = self.client.promote_marker(
                pinned.codemark_id,
                pinned.marker["id"],
                commit=commit,
                path=placement.path,
                start_line=placement.start_line,
                end_line=placement.end_line,
            )
            for marker in codemark["markers"]:
                if marker["id"] == pinned.marker["id"]:
                    self.promoted[marker["id"]] = marker


def _api_accepts_path(path: str) -> bool:
    """Tell whether the API takes a path git allows: no backslash, valid UTF-8, at most 4096 bytes.

    A file name with a backslash, or in another encoding than UTF-8, would make the server refuse
    the whole batch; its location simply stays unshared.
    """
    try:
        encoded = path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\\" not in path and "\0" not in path and len(encoded) <= MAX_PATH_BYTES
