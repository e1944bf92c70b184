"""Released versions of JavaScript, TypeScript, CSS, C, C++ and Rust packages (cached), and their sources.

The histories of the other languages are packages published on the npm registry (JavaScript, TypeScript and
CSS) and source distributions on PyPI that carry C, C++ or Rust code. Each is fetched with the ordinary
client into ``bench/.cache/`` (gitignored): ``npm pack`` for npm packages, ``pip download --no-binary`` for
sources on PyPI (only the package itself is taken from source; the tools pip needs to read its metadata
come as wheels). An archive already in the cache is never fetched again, so a run after the first needs no
network.

Every package is pinned below with its language, a run of consecutive releases (as the registry lists them,
pre-releases left out, none skipped), the folders of the archive that hold its own code (not bundles,
generated files, vendored libraries or tests) and whether it is *held out*: the engine is never tuned on
held-out packages, and they are reported apart, to show whether its accuracy holds on code nobody looked
at while changing it.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from .syntax import LANGUAGES

Registry = Literal["npm", "pypi"]
Sources = dict[str, str]

# Files larger than this are skipped: bundles and amalgamations that slipped past the folder filter.
MAX_FILE_BYTES = 2_000_000
# Files with a line longer than this are minified or generated: nobody pins a discussion to them.
MAX_LINE_CHARACTERS = 2_000


@dataclass(frozen=True, slots=True)
class Package:
    """One package's pinned history: where it comes from, its language and which of its files count."""

    name: str
    language: str
    registry: Registry
    versions: tuple[str, ...]
    roots: tuple[str, ...]
    held_out: bool = False
    # Path fragments of files to leave out (minified or right-to-left copies, tests, vendored code).
    exclude: tuple[str, ...] = ()

    def wants(self, path: str) -> bool:
        """Return True if a file of the archive (top folder removed) is this package's own code."""
        spec = LANGUAGES[self.language]
        if not path.startswith(self.roots) or not spec.accepts(path):
            return False
        return not any(fragment in path for fragment in self.exclude)


def _package(
    name: str,
    language: str,
    registry: Registry,
    versions: str,
    roots: str,
    *,
    held_out: bool = False,
    exclude: str = "",
) -> Package:
    return Package(
        name,
        language,
        registry,
        tuple(versions.split()),
        tuple(roots.split()),
        held_out,
        tuple(exclude.split()),
    )


_TESTS = "/test/ /tests/ /__tests__/ .test. .spec. /testing/"
_CSS_COPIES = ".min.css .rtl.css .rtl.min.css"
_RUST_TESTS = "/tests/ /benches/ /fuzz/"

# Five packages per language are measured and may be used to tune the engine; two more per language are
# held out. Versions are runs of consecutive releases; each package's roots are its own source folders.
PACKAGES: tuple[Package, ...] = (
    # JavaScript: hand-written CommonJS and ES modules.
    _package(
        "express", "javascript", "npm", "4.17.2 4.17.3 4.18.0 4.18.1 4.18.2 4.18.3 4.19.0 4.19.1", "lib/"
    ),
    _package("commander", "javascript", "npm", "9.2.0 9.3.0 9.4.0 9.4.1 9.5.0 10.0.0 10.0.1 11.0.0", "lib/"),
    _package("ws", "javascript", "npm", "8.11.0 8.12.0 8.12.1 8.13.0 8.14.0 8.14.1 8.14.2 8.15.0", "lib/"),
    _package(
        "semver",
        "javascript",
        "npm",
        "7.3.8 7.4.0 7.5.0 7.5.1 7.5.2 7.5.3 7.5.4 7.6.0",
        "classes/ functions/ internal/ ranges/ index.js",
    ),
    _package(
        "terser", "javascript", "npm", "5.14.2 5.15.0 5.15.1 5.16.0 5.16.1 5.16.2 5.16.3 5.16.4", "lib/"
    ),
    _package(
        "markdown-it",
        "javascript",
        "npm",
        "12.0.4 12.0.5 12.0.6 12.1.0 12.2.0 12.3.0 12.3.1 12.3.2",
        "lib/",
        held_out=True,
    ),
    _package(
        "mocha",
        "javascript",
        "npm",
        "10.0.0 10.1.0 10.2.0 10.3.0 10.4.0 10.5.0 10.5.1 10.5.2",
        "lib/",
        held_out=True,
        exclude="/browser-entry",
    ),
    # TypeScript: packages that publish their .ts sources beside the compiled code.
    _package("rxjs", "typescript", "npm", "7.5.2 7.5.3 7.5.4 7.5.5 7.5.6 7.5.7 7.6.0 7.7.0", "src/"),
    _package("mobx", "typescript", "npm", "6.9.0 6.9.1 6.10.0 6.10.1 6.10.2 6.11.0 6.12.0 6.12.1", "src/"),
    _package(
        "@reduxjs/toolkit",
        "typescript",
        "npm",
        "1.9.3 1.9.4 1.9.5 1.9.6 1.9.7 2.0.0 2.0.1 2.1.0",
        "src/",
        exclude=_TESTS,
    ),
    _package(
        "@trpc/server",
        "typescript",
        "npm",
        "10.43.0 10.43.1 10.43.2 10.43.3 10.43.4 10.43.6 10.43.7 10.44.0",
        "src/",
        exclude=_TESTS,
    ),
    _package("immer", "typescript", "npm", "9.0.18 9.0.19 9.0.20 9.0.21 10.0.0 10.0.1 10.0.2 10.0.3", "src/"),
    _package(
        "@tanstack/query-core",
        "typescript",
        "npm",
        "5.8.1 5.8.2 5.8.3 5.8.6 5.8.7 5.10.0 5.12.0 5.12.1",
        "src/",
        held_out=True,
        exclude=_TESTS,
    ),
    _package(
        "@tiptap/core",
        "typescript",
        "npm",
        "2.2.6 2.3.0 2.3.1 2.3.2 2.4.0 2.5.0 2.5.1 2.5.2",
        "src/",
        held_out=True,
    ),
    # CSS: style sheets as published (hand-written, or compiled from Sass and kept readable).
    _package(
        "bootstrap",
        "css",
        "npm",
        "5.2.0 5.2.1 5.2.2 5.2.3 5.3.0 5.3.1 5.3.2 5.3.3",
        "dist/css/",
        exclude=_CSS_COPIES,
    ),
    _package(
        "bulma", "css", "npm", "0.7.5 0.8.0 0.8.1 0.8.2 0.9.0 0.9.1 0.9.2 0.9.3", "css/", exclude=_CSS_COPIES
    ),
    _package(
        "@picocss/pico",
        "css",
        "npm",
        "1.5.3 1.5.4 1.5.5 1.5.6 1.5.7 1.5.8 1.5.9 1.5.10",
        "css/",
        exclude=_CSS_COPIES,
    ),
    _package(
        "tachyons",
        "css",
        "npm",
        "4.8.0 4.8.1 4.9.0 4.9.1 4.10.0 4.11.0 4.11.1 4.12.0",
        "src/",
        exclude=_CSS_COPIES,
    ),
    _package(
        "foundation-sites",
        "css",
        "npm",
        "6.6.0 6.6.1 6.6.2 6.6.3 6.7.0 6.7.1 6.7.2 6.7.3",
        "dist/css/",
        exclude=_CSS_COPIES + " -rtl.",
    ),
    _package(
        "uikit",
        "css",
        "npm",
        "3.16.10 3.16.11 3.16.12 3.16.13 3.16.14 3.16.15 3.16.17 3.16.18",
        "dist/css/",
        held_out=True,
        exclude=_CSS_COPIES,
    ),
    _package(
        "purecss",
        "css",
        "npm",
        "1.0.0 1.0.1 2.0.0 2.0.1 2.0.3 2.0.5 2.0.6 2.1.0",
        "build/",
        held_out=True,
        exclude=_CSS_COPIES,
    ),
    # C: extension modules on PyPI.
    _package("psycopg2", "c", "pypi", "2.9.3 2.9.4 2.9.5 2.9.6 2.9.7 2.9.8 2.9.9 2.9.10", "psycopg/"),
    _package("pygit2", "c", "pypi", "1.12.0 1.12.1 1.12.2 1.13.0 1.13.1 1.13.2 1.13.3 1.14.0", "src/"),
    _package("bitarray", "c", "pypi", "2.8.0 2.8.1 2.8.2 2.8.3 2.8.4 2.8.5 2.9.0 2.9.1", "bitarray/"),
    _package(
        "simplejson", "c", "pypi", "3.17.6 3.18.0 3.18.1 3.18.2 3.18.3 3.18.4 3.19.1 3.19.2", "simplejson/"
    ),
    _package(
        "cffi",
        "c",
        "pypi",
        "1.14.4 1.14.5 1.14.6 1.15.0 1.15.1 1.16.0 1.17.0 1.17.1",
        "c/ src/c/",
        exclude="/libffi_",
    ),
    _package(
        "psutil", "c", "pypi", "5.9.1 5.9.2 5.9.3 5.9.4 5.9.5 5.9.6 5.9.7 5.9.8", "psutil/", held_out=True
    ),
    _package(
        "ujson",
        "c",
        "pypi",
        "5.4.0 5.5.0 5.6.0 5.7.0 5.8.0 5.9.0 5.10.0 5.11.0",
        "lib/ python/",
        held_out=True,
    ),
    # C++: extension modules and binding libraries on PyPI.
    _package(
        "greenlet",
        "cpp",
        "pypi",
        "3.0.0 3.0.1 3.0.2 3.0.3 3.1.0 3.1.1 3.2.0 3.2.1",
        "src/greenlet/",
        exclude=_TESTS,
    ),
    _package(
        "pybind11",
        "cpp",
        "pypi",
        "2.10.4 2.11.0 2.11.1 2.11.2 2.12.0 2.12.1 2.13.0 2.13.1",
        "pybind11/include/",
    ),
    _package("kiwisolver", "cpp", "pypi", "1.4.2 1.4.3 1.4.4 1.4.5 1.4.6 1.4.7 1.4.8 1.4.9", "py/ kiwi/"),
    _package("pyodbc", "cpp", "pypi", "4.0.34 4.0.35 4.0.39 5.0.0 5.0.1 5.1.0 5.2.0 5.3.0", "src/"),
    _package("pikepdf", "cpp", "pypi", "9.0.0 9.1.0 9.1.1 9.1.2 9.2.0 9.2.1 9.3.0 9.4.0", "src/core/"),
    _package(
        "jpype1", "cpp", "pypi", "1.4.0 1.4.1 1.5.0 1.5.1 1.5.2 1.6.0 1.7.0 1.7.1", "native/", held_out=True
    ),
    _package(
        "python-rapidjson",
        "cpp",
        "pypi",
        "1.14 1.15 1.16 1.17 1.18 1.19 1.20 1.21",
        "rapidjson.cpp",
        held_out=True,
    ),
    # Rust: PyO3 extension modules on PyPI.
    _package("orjson", "rust", "pypi", "3.9.7 3.9.8 3.9.9 3.9.10 3.9.11 3.9.12 3.9.13 3.9.14", "src/"),
    _package(
        "cryptography", "rust", "pypi", "41.0.5 41.0.6 41.0.7 42.0.0 42.0.1 42.0.2 42.0.3 42.0.4", "src/rust/"
    ),
    _package("rustworkx", "rust", "pypi", "0.12.0 0.12.1 0.13.0 0.13.1 0.13.2 0.14.0 0.14.1 0.14.2", "src/"),
    _package(
        "qiskit",
        "rust",
        "pypi",
        "1.0.0 1.0.1 1.0.2 1.1.0 1.1.1 1.1.2 1.2.0 1.2.1",
        "crates/",
        exclude=_RUST_TESTS,
    ),
    _package("tiktoken", "rust", "pypi", "0.4.0 0.5.0 0.5.1 0.5.2 0.6.0 0.7.0 0.8.0 0.9.0", "src/"),
    _package(
        "libcst",
        "rust",
        "pypi",
        "1.1.0 1.2.0 1.3.0 1.3.1 1.4.0 1.5.0 1.5.1 1.6.0",
        "native/",
        held_out=True,
        exclude=_RUST_TESTS,
    ),
    _package(
        "bcrypt", "rust", "pypi", "4.0.0 4.0.1 4.1.1 4.1.2 4.1.3 4.2.0 4.2.1 4.3.0", "src/", held_out=True
    ),
)

BY_NAME: dict[str, Package] = {package.name: package for package in PACKAGES}


def _normalised(name: str) -> str:
    """Return a project name as archive file names spell it, for comparison."""
    return name.lower().lstrip("@").replace("/", "-").replace("_", "-").replace(".", "-")


def cached_archive(cache: Path, package: Package, version: str) -> Path | None:
    """Return the cached archive of ``package`` at ``version``, if it has been downloaded."""
    folder = cache / package.registry
    if not folder.is_dir():
        return None
    wanted = _normalised(package.name)
    for path in sorted(folder.iterdir()):
        for suffix in (".tar.gz", ".tgz", ".zip"):
            if path.name.endswith(suffix):
                stem = path.name[: -len(suffix)]
                name, _, found = stem.rpartition("-")
                if found == version and _normalised(name) == wanted:
                    return path
    return None


def download(cache: Path, package: Package, version: str) -> Path:
    """Return the archive of ``package`` at ``version``, downloading it unless it is cached."""
    found = cached_archive(cache, package, version)
    if found is not None:
        return found
    folder = cache / package.registry
    folder.mkdir(parents=True, exist_ok=True)
    if package.registry == "npm":
        command = ["npm", "pack", "--json", "--ignore-scripts", "--pack-destination", str(folder)]
        command.append(f"{package.name}@{version}")
    else:
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--disable-pip-version-check",
        ]
        # Only the package comes from source: its build tools stay wheels.
        command += ["--no-binary", package.name, "--dest", str(folder), f"{package.name}=={version}"]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    found = cached_archive(cache, package, version)
    if completed.returncode != 0 or found is None:
        detail = (completed.stderr or completed.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"could not download {package.name} {version}: {' / '.join(detail)}")
    return found


def download_all(
    cache: Path, wanted: Iterable[tuple[Package, str]], workers: int = 4
) -> dict[tuple[str, str], Path]:
    """Return the archives of many ``(package, version)`` pairs, fetching the missing ones in parallel."""
    pairs = list(wanted)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        paths = list(pool.map(lambda pair: download(cache, *pair), pairs))
    return {(package.name, version): path for (package, version), path in zip(pairs, paths, strict=True)}


def _members(archive: Path) -> Iterator[tuple[str, bytes]]:
    """Yield the regular files of a tar or zip archive: path without its top folder, and bytes."""
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as opened:
            for info in opened.infolist():
                if not info.is_dir() and info.file_size <= MAX_FILE_BYTES:
                    yield info.filename.partition("/")[2], opened.read(info)
        return
    with tarfile.open(archive, "r:*") as opened:
        for member in opened:
            if not member.isfile() or member.size > MAX_FILE_BYTES:
                continue
            handle = opened.extractfile(member)
            if handle is not None:
                yield member.name.partition("/")[2], handle.read()


def read_sources(package: Package, archive: Path) -> Sources:
    """Return the package's own source files in an archive: path → text (undecodable files skipped)."""
    sources: Sources = {}
    for path, data in _members(archive):
        path = str(PurePosixPath(path))
        if not package.wants(path):
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        if any(len(line) > MAX_LINE_CHARACTERS for line in text.splitlines()):
            continue
        # As for Python: the engine and the parsers count CRLF and CR as one line break.
        sources[path] = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return dict(sorted(sources.items()))
