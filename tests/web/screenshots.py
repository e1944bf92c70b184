"""Screenshots of the web pages for docs/web.md: `make screenshots` (`python -m tests.web.screenshots DIR`).

Starts a real server with a small team and a thread, opens each page in Debian's Chromium (light and dark,
desktop and phone width) and writes `<page>-<theme>-<width>.png` into DIR (docs/screenshots by default).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import httpx
from playwright.sync_api import Browser, sync_playwright

from tests.server.conftest import PASSWORD, codemark_body
from tests.server_process import kibitz_server
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
THEMES = ("light", "dark")


def _thread(api: httpx.Client) -> tuple[str, str]:
    """Make Ada and Bo, a team, and a question with an answer; return Ada's email and the permalink."""
    tokens = {}
    for name in ("Ada", "Bo"):
        email = f"{name.lower()}@example.com"
        api.post("/api/v1/auth/signup", json={"email": email, "name": name, "password": PASSWORD})
        login = api.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        tokens[name] = {"Authorization": f"Bearer {login.json()['token']}"}
    ada, bo = tokens["Ada"], tokens["Bo"]
    team = api.post("/api/v1/teams", json={"name": "core"}, headers=ada).json()["id"]
    code = api.post(f"/api/v1/teams/{team}/invites", json={"role": "member"}, headers=ada).json()["code"]
    api.post("/api/v1/teams/join", json={"code": code}, headers=bo)
    repo = api.post(f"/api/v1/teams/{team}/repos/match", json={"root_commits": ["b" * 40]}, headers=ada)
    body = codemark_body(
        repo.json()["id"],
        type="question",
        title="Why do we sleep before every fetch?",
        text="The `time.sleep(2)` here costs **two seconds** per call.\n\n- the rate limit?\n- a leftover?",
        tags=["perf"],
        assignees=[],
        marker={"path": "fetch.py", "code": "def fetch(url):\n    time.sleep(2)\n    return get(url)\n"},
    )
    cm = api.post(f"/api/v1/teams/{team}/codemarks", json=body, headers=ada).json()
    api.post(
        f"/api/v1/codemarks/{cm['id']}/replies",
        json={"text": "The upstream API rate-limits us: see the *runbook*."},
        headers=bo,
    )
    return "ada@example.com", str(cm["permalink"])


def _shoot(browser: Browser, url: str, email: str, permalink: str, out: Path) -> list[Path]:
    written = []
    for size, viewport in SIZES.items():
        for theme in THEMES:
            context = browser.new_context(viewport=viewport, color_scheme=theme)  # type: ignore[arg-type]
            page = context.new_page()
            page.goto(f"{url}/signin?next={permalink}")
            for name, path in (("signin", None), ("codemark", permalink)):
                if path is not None:
                    page.get_by_label("Email").fill(email)
                    page.get_by_label("Password").fill(PASSWORD)
                    page.get_by_role("button", name="Sign in").click()
                    page.wait_for_url(url + path)
                target = out / f"{name}-{theme}-{size}.png"
                page.screenshot(path=str(target), full_page=True)
                written.append(target)
            context.close()
    return written


def main(argv: list[str]) -> int:
    """Write the screenshots into the directory given (docs/screenshots by default)."""
    out = Path(argv[1] if len(argv) > 1 else "docs/screenshots")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch) / "data"
        with kibitz_server(Path(scratch) / "server.log", settings={"data_dir": data}) as server:
            with httpx.Client(base_url=server.url) as api:
                email, permalink = _thread(api)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                for path in _shoot(browser, server.url, email, permalink, out):
                    print(path)
                browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
