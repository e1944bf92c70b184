"""The web benchmark's pieces on a tiny team: seeding threads, signing in as a browser, measuring a pair."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

import web
from api import _SENTENCES, PEOPLE, seed_service
from kibitz.settings import Settings
from tests.server_process import kibitz_server

REPLIES = 6


def test_the_held_out_texts_are_docstrings_drawn_by_seed() -> None:
    first = web.held_out_texts(30, random.Random(5))
    assert len(first) == 30
    assert first == web.held_out_texts(30, random.Random(5))
    assert first != web.held_out_texts(30, random.Random(6))
    # None of them comes from the sentences the tuned thread is made of.
    assert not any(sentence in text for text in first for sentence in _SENTENCES)
    path, code, start = web.held_out_code(18, random.Random(1))
    assert path.endswith(".py")
    assert code.count("\n") == 18
    assert start >= 1


def test_tuned_replies_use_markdown() -> None:
    rng = random.Random(2)
    replies = [web.tuned_reply(rng) for _ in range(60)]
    assert any("`" in r for r in replies)
    assert any("\n- " in r for r in replies)
    assert any("```python" in r for r in replies)


def test_a_tiny_run_measures_each_page_next_to_its_api(tmp_path: Path) -> None:
    served = {
        "data_dir": tmp_path / "data",
        "database_url": "",
        "encrypt_at_rest": True,
        "log_level": "warning",
    }
    settings = Settings.load(**served, fast_password_hashing=True)
    seeded = asyncio.run(seed_service(settings, 30, random.Random(1), files=10))
    threads = asyncio.run(web.seed_threads(settings, seeded.team_id, REPLIES, 1))
    assert [t.kind for t in threads] == ["tuned", "held-out"]
    assert all(t.replies == REPLIES for t in threads)

    with kibitz_server(tmp_path / "kibitz.log", settings=served) as server:
        email = PEOPLE[0][0]
        page_headers = {"Accept": web.HTML_ACCEPT, "Cookie": web.browser_session(server.url, email)}
        api_headers = {"Authorization": f"Bearer {web.api_token(server.url, email)}"}
        plan = web.pairs(seeded.team_id, threads)
        assert [p.name for p in plan] == ["thread-tuned", "thread-held-out", "feed-tuned", "feed-held-out"]
        latency = []
        for pair in plan:
            for label, unit, headers in (
                (pair.page_label, [pair.page], page_headers),
                (pair.api_label, pair.api, api_headers),
            ):
                result = asyncio.run(
                    web.measure(
                        pair.name, label, pair.part, server.url, server.pid, headers, unit,
                        connections=1, duration=0.2, warmup=0,
                    )
                )  # fmt: skip
                assert result.errors == 0, result.first_error
                assert result.units > 0
                assert result.p50_ms <= result.p95_ms <= result.p99_ms
                latency.append(result)
        # A page without the session cookie is not a page: the sign-in redirect counts as an error.
        signed_out = asyncio.run(
            web.measure(
                "x", "signed out", "tuned", server.url, server.pid, {"Accept": web.HTML_ACCEPT},
                [plan[0].page], connections=1, duration=0.1, warmup=0,
            )
        )  # fmt: skip
        assert signed_out.errors == signed_out.units > 0
    thread_page = latency[0]
    assert thread_page.response_bytes > latency[1].response_bytes // 4
    verdicts = web.verdicts(latency, latency)
    assert set(verdicts) == {p.name for p in plan}
    assert all(v["p95_page_over_api"] > 0 for v in verdicts.values())


def test_the_command_line_refuses_nonsense() -> None:
    with pytest.raises(SystemExit):
        web.parse_args(["--replies", "0"])
    assert web.parse_args(["--duration", "1"]).replies == 200
