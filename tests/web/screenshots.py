"""Screenshots of the web pages for docs/web.md: `make screenshots` (`python -m tests.web.screenshots DIR`).

Starts a real server with a small team and a few threads, opens each main page in Debian's Chromium (light
and dark, desktop and phone width) and writes `<page>-<theme>-<width>.png` into DIR (docs/screenshots by
default).
"""

from __future__ import annotations

import io
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from PIL import Image
from playwright.sync_api import Browser, Page, sync_playwright

from tests.server.conftest import PASSWORD, codemark_body
from tests.server_process import kibitz_server
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
THEMES = ("light", "dark")


@dataclass(frozen=True)
class Scene:
    """What the screenshots show: who signs in and the pages' paths by screenshot name."""

    email: str
    pages: dict[str, str]


class _Api:
    """The API as Ada and Bo use it to fill the team; every answer must be a success."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.tokens: dict[str, dict[str, str]] = {}

    def person(self, name: str) -> None:
        email = f"{name.lower()}@example.com"
        self.call("", "POST", "/auth/signup", {"email": email, "name": name, "password": PASSWORD})
        login = self.call("", "POST", "/auth/login", {"email": email, "password": PASSWORD})
        self.tokens[name] = {"Authorization": f"Bearer {login['token']}"}

    def call(self, who: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        answer = self.client.request(method, "/api/v1" + path, json=body, headers=self.tokens.get(who, {}))
        answer.raise_for_status()
        return answer.json() if answer.content else None


def _scene(client: httpx.Client) -> Scene:
    """Make Ada (owner) and Bo, a team with a few codemarks, replies, a mention and an assignment."""
    api = _Api(client)
    for name in ("Ada", "Bo"):
        api.person(name)
    team = api.call("Ada", "POST", "/teams", {"name": "core"})["id"]
    code = api.call("Ada", "POST", f"/teams/{team}/invites", {"role": "member"})["code"]
    api.call("Bo", "POST", "/teams/join", {"code": code})
    api.call("Ada", "POST", f"/teams/{team}/invites", {"role": "admin"})  # one pending invite to show
    match = {"root_commits": ["b" * 40], "name": "fetcher"}
    repo = api.call("Ada", "POST", f"/teams/{team}/repos/match", match)["id"]
    bo_id = api.call("Bo", "GET", "/me")["user"]["id"]

    def codemark(who: str, **fields: Any) -> str:
        return str(api.call(who, "POST", f"/teams/{team}/codemarks", codemark_body(repo, **fields))["id"])

    codemark(
        "Bo",
        type="issue",
        title="Retry the upload when the token expired",
        text="A 401 in the middle of an upload loses the file; renew the token and send it again.",
        tags=["upload", "auth"],
        assignees=[bo_id],
        marker={"path": "client/upload.py", "code": "def upload(path):\n    return post(path)\n"},
    )
    done = codemark(
        "Ada",
        title="Name this constant",
        text="`86400` reads better as `SECONDS_PER_DAY`.",
        marker={"path": "jobs/cleanup.py", "code": "expiry = now + 86400\n"},
    )
    api.call("Ada", "PATCH", f"/codemarks/{done}", {"status": "resolved"})
    question = codemark(
        "Ada",
        type="question",
        title="Why do we sleep before every fetch?",
        text="The `time.sleep(2)` here costs **two seconds** per call.\n\n- the rate limit?\n- a leftover?",
        tags=["perf"],
        marker={"path": "fetch.py", "code": "def fetch(url):\n    time.sleep(2)\n    return get(url)\n"},
    )
    reply = api.call(
        "Bo", "POST", f"/codemarks/{question}/replies", {"text": "The upstream API rate-limits us."}
    )
    api.call(
        "Bo",
        "PATCH",
        f"/replies/{reply['id']}",
        {"text": "The upstream API rate-limits us: see the *runbook*, @ada."},
    )
    api.call("Ada", "PUT", f"/replies/{reply['id']}/reactions/👍")
    api.call("Ada", "POST", "/tokens", {"name": "laptop CLI", "scope": "write", "expires_days": 90})
    pages = {
        "codemark": f"/c/{question}",
        "feed": f"/t/{team}/feed",
        "inbox": f"/t/{team}/inbox",
        "search": f"/t/{team}/search?q=upload",
        "settings": f"/t/{team}/settings",
        "account": "/account",
    }
    return Scene("ada@example.com", pages)


def _save(page: Page, target: Path) -> Path:
    """Write a screenshot of the whole page as a 256-colour PNG: pages are flat colours and text, so the
    palette loses nothing visible and the files are a third of the size in the repository."""
    shot = Image.open(io.BytesIO(page.screenshot(full_page=True))).convert("RGB")
    shot.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(target, optimize=True)
    return target


def _shoot(browser: Browser, url: str, scene: Scene, out: Path) -> list[Path]:
    written = []
    for size, viewport in SIZES.items():
        for theme in THEMES:
            context = browser.new_context(viewport=viewport, color_scheme=theme)  # type: ignore[arg-type]
            page = context.new_page()
            first = scene.pages["codemark"]
            page.goto(f"{url}/signin?next={first}")
            written.append(_save(page, out / f"signin-{theme}-{size}.png"))
            page.get_by_label("Email").fill(scene.email)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(url + first)
            for name, path in scene.pages.items():
                if page.url != url + path:
                    page.goto(url + path)
                if name == "codemark":
                    page.get_by_text("Earlier version").click()  # show the edited reply's history
                written.append(_save(page, out / f"{name}-{theme}-{size}.png"))
            # Signing out ends this browser's session, so the next account page lists only its own.
            page.get_by_role("button", name="Sign out", exact=True).click()
            page.wait_for_url(url + "/signin*")
            context.close()
    return written


def main(argv: list[str]) -> int:
    """Write the screenshots into the directory given (docs/screenshots by default)."""
    out = Path(argv[1] if len(argv) > 1 else "docs/screenshots")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch) / "data"
        with kibitz_server(Path(scratch) / "server.log", settings={"data_dir": data}) as server:
            with httpx.Client(base_url=server.url) as client:
                scene = _scene(client)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                for path in _shoot(browser, server.url, scene, out):
                    print(path)
                browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
