"""normalise_remote: every spelling of one remote gives one identity; nothing raises."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from kibitz.remotes import normalise_remote


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/Acme/Widget.git",
        "https://github.com/Acme/Widget",
        "https://github.com/Acme/Widget/",
        "https://github.com/Acme/Widget.git/",
        "http://github.com/Acme/Widget",
        "https://user:secret@github.com/Acme/Widget.git",
        "https://token@GitHub.COM:443/Acme/Widget.git",
        "https://github.com/Acme/Widget.git?ref=main#readme",
        "ssh://git@github.com/Acme/Widget.git",
        "ssh://git@github.com:22/Acme/Widget.git",
        "ssh://git@github.com:2222/Acme//Widget",
        "git+ssh://git@github.com/Acme/Widget",
        "ssh+git://git@github.com/Acme/Widget",
        "SSH://git@github.com/Acme/Widget",
        "git://github.com/Acme/Widget.git",
        "git@github.com:Acme/Widget.git",
        "git@github.com:/Acme/Widget.git",
        "github.com:Acme/Widget",
        "GitHub.com.:Acme/Widget.git",
        "  git@github.com:Acme/Widget.git\n",
        "github.com/Acme/Widget",
    ],
)
def test_spellings_of_one_remote_agree(url: str) -> None:
    assert normalise_remote(url) == "github.com/Acme/Widget"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("git@gitserver:team/repo.git", "gitserver/team/repo"),
        ("git@host:repo.git", "host/repo"),
        (
            "https://gitlab.example.com/group/sub/group/project.git",
            "gitlab.example.com/group/sub/group/project",
        ),
        ("ssh://git@[::1]:2222/owner/name.git", "[::1]/owner/name"),
        ("git@[::1]:owner/name.git", "[::1]/owner/name"),
        ("https://host/owner/name.git.git", "host/owner/name"),
        ("https://host/owner/name.github.io", "host/owner/name.github.io"),
        ("https://host/owner/./name", "host/owner/name"),
        ("https://host/~user/name", "host/~user/name"),
    ],
)
def test_examples(url: str, expected: str) -> None:
    assert normalise_remote(url) == expected


def test_path_case_is_kept_and_host_case_is_not() -> None:
    assert normalise_remote("https://EXAMPLE.org/Owner/Name") == "example.org/Owner/Name"
    assert normalise_remote("https://example.org/owner/name") != normalise_remote(
        "https://example.org/Owner/Name"
    )


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "/srv/git/project.git",
        "./project",
        "../project.git",
        "~/project.git",
        "file:///srv/git/project.git",
        "ftp://host/owner/name",
        "https://host",
        "https://host/",
        "https://host/.git",
        "https://ho st/owner/name",
        "https://host:port/owner/name",
        "https://[::1/owner/name",
        "https://host/owner/../name",
        "https://hōst/owner/name",
        "git@host:",
        "C:\\Users\\me\\project",
        "host\x00/owner/name",
        "not a url",
        "@:",
        "::::",
    ],
)
def test_garbage_gives_empty_string(url: str) -> None:
    assert normalise_remote(url) == ""


@given(st.text())
@example("git@host:owner/name.git.git")
@example("[::1]:x/y")
@example("host:a://b")
@example("a.:b")
def test_idempotent_and_never_raises(url: str) -> None:
    once = normalise_remote(url)
    assert normalise_remote(once) == once


_label = st.from_regex(r"[a-z0-9][a-z0-9-]{0,10}", fullmatch=True)
_host = st.lists(_label, min_size=1, max_size=3).map(".".join)
_segment = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,12}", fullmatch=True).filter(
    lambda s: not s.endswith(".git") and s not in (".", "..")
)
_user = st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True)
_password = st.from_regex(r"[A-Za-z0-9]{1,8}", fullmatch=True)


@given(
    host=_host,
    segments=st.lists(_segment, min_size=1, max_size=4),
    user=_user,
    password=_password,
    port=st.integers(min_value=1, max_value=65535),
    suffix=st.sampled_from(["", ".git", "/", ".git/"]),
)
def test_every_form_of_a_remote_normalises_alike(
    host: str, segments: list[str], user: str, password: str, port: int, suffix: str
) -> None:
    path = "/".join(segments)
    forms = [
        f"https://{host}/{path}{suffix}",
        f"https://{user}:{password}@{host.upper()}:{port}/{path}{suffix}",
        f"http://{host}/{path}{suffix}",
        f"ssh://{user}@{host}:{port}/{path}{suffix}",
        f"git://{host}/{path}{suffix}",
        f"{user}@{host}:{path}{suffix}",
        f"{host}:{path}{suffix}",
    ]
    expected = f"{host}/{path}"
    for form in forms:
        assert normalise_remote(form) == expected, form


@given(user=_user, password=_password, host=_host, segment=_segment)
def test_credentials_never_survive(user: str, password: str, host: str, segment: str) -> None:
    result = normalise_remote(f"https://{user}:{password}XYZ@{host}/{segment}")
    assert result == f"{host}/{segment}"
    assert f"{password}XYZ" not in result
