"""Download released versions of pure-Python packages (cached) and read their Python sources.

Releases are fetched as wheels with pip, the ordinary client, into ``bench/.cache/wheels`` (gitignored);
a pure-Python wheel is a zip of the package's modules, which is all the benchmark reads. A wheel already
in the cache is never fetched again, so a run after the first needs no network.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# Consecutive releases per package, oldest first, kept here so that every run measures the same
# histories. Each list is a run of consecutive releases as the index lists them (none skipped).
_RELEASES = {
    "attrs": "21.3.0 21.4.0 22.1.0 22.2.0 23.1.0 23.2.0 24.1.0 24.2.0 24.3.0 25.1.0",
    "click": "8.0.0 8.0.1 8.0.2 8.0.3 8.0.4 8.1.0 8.1.1 8.1.2 8.1.3 8.1.4",
    "flask": "2.2.0 2.2.1 2.2.2 2.2.3 2.2.4 2.2.5 2.3.0 2.3.1 2.3.2 2.3.3 3.0.0",
    "jinja2": "2.11.3 3.0.0 3.0.1 3.0.2 3.0.3 3.1.0 3.1.1 3.1.2 3.1.3 3.1.4",
    "requests": "2.25.1 2.26.0 2.27.0 2.27.1 2.28.0 2.28.1 2.28.2 2.29.0 2.30.0 2.31.0",
    "rich": "13.0.0 13.0.1 13.1.0 13.2.0 13.3.0 13.3.1 13.3.2 13.3.3 13.3.4 13.3.5",
    "httpx": "0.23.0 0.23.1 0.23.2 0.23.3 0.24.0 0.24.1 0.25.0 0.25.1 0.25.2 0.26.0",
    "packaging": "21.0 21.1 21.2 21.3 22.0 23.0 23.1 23.2 24.0 24.1",
    "werkzeug": "2.1.0 2.1.1 2.1.2 2.2.0 2.2.1 2.2.2 2.2.3 2.3.0 2.3.1 2.3.2",
    "pytest": "7.0.0 7.0.1 7.1.0 7.1.1 7.1.2 7.1.3 7.2.0 7.2.1 7.2.2 7.3.0",
}
DEFAULT_VERSIONS: dict[str, tuple[str, ...]] = {name: tuple(v.split()) for name, v in _RELEASES.items()}
# Held out: measured and reported apart, never looked at to tune the engine (their failures are counted,
# not kept). Chosen for being unlike the others: a serialisation library, a large table-driven lexer
# collection, a format-preserving TOML editor.
_HELD_OUT_RELEASES = {
    "marshmallow": "3.19.0 3.20.0 3.20.1 3.20.2 3.21.0 3.21.1 3.21.2 3.21.3 3.22.0 3.23.0",
    "pygments": "2.13.0 2.14.0 2.15.0 2.15.1 2.16.0 2.16.1 2.17.0 2.17.1 2.17.2 2.18.0",
    "tomlkit": "0.11.4 0.11.5 0.11.6 0.11.7 0.11.8 0.12.0 0.12.1 0.12.2 0.12.3 0.12.4",
}
HELD_OUT_VERSIONS: dict[str, tuple[str, ...]] = {
    name: tuple(v.split()) for name, v in _HELD_OUT_RELEASES.items()
}
ALL_VERSIONS: dict[str, tuple[str, ...]] = {**DEFAULT_VERSIONS, **HELD_OUT_VERSIONS}

Sources = dict[str, str]


def _normalised_name(package: str) -> str:
    """Return the project name as it appears at the start of a wheel's file name."""
    return package.lower().replace("-", "_").replace(".", "_")


def cached_wheel(cache: Path, package: str, version: str) -> Path | None:
    """Return the cached wheel of ``package==version``, if it has been downloaded."""
    name = _normalised_name(package)
    for path in sorted(cache.glob("*.whl")):
        stem = path.name.split("-")
        if len(stem) >= 2 and stem[0].lower() == name and stem[1] == version:
            return path
    return None


def download(cache: Path, package: str, version: str) -> Path:
    """Return the wheel of ``package==version``, downloading it with pip unless it is cached."""
    found = cached_wheel(cache, package, version)
    if found is not None:
        return found
    cache.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:"]
    command += ["--disable-pip-version-check", "--dest", str(cache), f"{package}=={version}"]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    found = cached_wheel(cache, package, version)
    if completed.returncode != 0 or found is None:
        detail = (completed.stderr or completed.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"could not download {package}=={version}: {' / '.join(detail)}")
    return found


def download_all(
    cache: Path, wanted: Iterable[tuple[str, str]], workers: int = 4
) -> dict[tuple[str, str], Path]:
    """Return the wheels of many ``(package, version)`` pairs, fetching the missing ones in parallel."""
    pairs = list(wanted)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        paths = list(pool.map(lambda pair: download(cache, *pair), pairs))
    return dict(zip(pairs, paths, strict=True))


def read_sources(wheel: Path) -> Sources:
    """Return the Python modules of a wheel: path inside the wheel → text (undecodable files skipped)."""
    sources: Sources = {}
    with zipfile.ZipFile(wheel) as archive:
        for name in sorted(archive.namelist()):
            top = name.split("/", 1)[0]
            if not name.endswith(".py") or top.endswith((".dist-info", ".data")):
                continue
            try:
                text = archive.read(name).decode("utf-8")
            except UnicodeDecodeError:
                continue
            # The engine and the syntax tree both count CRLF and CR as one line break; so does this.
            text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
            sources[name] = text
    return sources
