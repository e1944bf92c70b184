"""Histories of released versions: pairs of versions, pairs of files, and the anchors to relocate.

Versions ``i`` and ``i + d`` of a package are paired for every distance ``d``. Within a pair, each old
file is matched with its counterpart (same path, else a renamed file) and, if its text changed, becomes
one *file pair*: the old and new text, the candidates (the new version's other files that were added or
changed, where code may have moved to) and the anchors with known answers. Identical files are left out:
every method answers them trivially (the engine from its identical-text fast path). A file pair seen
again at the same distance (the same texts between other versions) is measured once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from .truth import Case, Module, PackageIndex, file_cases, pair_files, parse_module

Sources = Mapping[str, str]
# Parses one file: path (its extension may choose the grammar) and text → module, or None.
Parse = Callable[[str, str], Module | None]


def parse_python(path: str, text: str) -> Module | None:
    """Return the module of a Python file (``ast``)."""
    return parse_module(text)


@dataclass(frozen=True, slots=True)
class FilePair:
    """One old file, its new text ("" if the file was removed), candidates and anchors."""

    package: str
    old_version: str
    new_version: str
    distance: int
    old_path: str
    new_path: str | None
    old_text: str
    new_text: str
    candidate_paths: tuple[str, ...]
    candidate_texts: tuple[str, ...]
    cases: tuple[Case, ...]


@dataclass(slots=True)
class Stats:
    """How much of the histories the benchmark looked at."""

    version_pairs: int = 0
    file_pairs: int = 0
    identical_files: int = 0
    repeated_file_pairs: int = 0
    renamed_files: int = 0
    removed_files: int = 0
    unparsable_files: int = 0
    # File pairs measured although a part of one text was not read as code (that part gives no anchors).
    partly_parsed_files: int = 0


@dataclass(slots=True)
class _Parsed:
    """Parsed modules of one version and its package index."""

    modules: dict[str, Module]
    index: PackageIndex


@dataclass(slots=True)
class History:
    """The released versions of one package, parsed lazily and once per distinct text."""

    package: str
    versions: Sequence[str]
    sources: Mapping[str, Sources]
    parse: Parse = parse_python
    _texts: dict[tuple[str, str], Module | None] = field(default_factory=dict)
    _parsed: dict[str, _Parsed] = field(default_factory=dict)

    def module(self, path: str, text: str) -> Module | None:
        """Return the parsed module of a file (None if it does not parse), parsing each text once."""
        key = (PurePosixPath(path).suffix, _digest(text))
        if key not in self._texts:
            self._texts[key] = self.parse(path, text)
        return self._texts[key]

    def parsed(self, version: str) -> _Parsed:
        """Return the modules and index of one version."""
        found = self._parsed.get(version)
        if found is None:
            modules = {}
            for path, text in self.sources[version].items():
                module = self.module(path, text)
                if module is not None:
                    modules[path] = module
            found = self._parsed[version] = _Parsed(modules, PackageIndex.build(modules))
        return found

    def file_pairs(self, distance: int, stats: Stats) -> Iterator[FilePair]:
        """Yield the file pairs of every pair of versions ``distance`` apart, counting into ``stats``."""
        seen: set[tuple[str, str | None, str, str]] = set()
        for position in range(len(self.versions) - distance):
            old_version = self.versions[position]
            new_version = self.versions[position + distance]
            stats.version_pairs += 1
            yield from self._pairs(old_version, new_version, distance, seen, stats)

    def _pairs(
        self,
        old_version: str,
        new_version: str,
        distance: int,
        seen: set[tuple[str, str | None, str, str]],
        stats: Stats,
    ) -> Iterator[FilePair]:
        old_sources, new_sources = self.sources[old_version], self.sources[new_version]
        old, new = self.parsed(old_version), self.parsed(new_version)
        changed = frozenset(path for path, text in new_sources.items() if old_sources.get(path) != text)
        for old_path, new_path in pair_files(old_sources, new_sources).items():
            old_text = old_sources[old_path]
            new_text = new_sources[new_path] if new_path is not None else ""
            if new_path is None:
                stats.removed_files += 1
            elif new_path != old_path:
                stats.renamed_files += 1
            if old_text == new_text:
                stats.identical_files += 1
                continue
            key = (old_path, new_path, _digest(old_text), _digest(new_text))
            if key in seen:
                stats.repeated_file_pairs += 1
                continue
            seen.add(key)
            old_module = old.modules.get(old_path)
            new_module = new.modules.get(new_path) if new_path is not None else None
            if old_module is None or (new_path is not None and new_module is None):
                stats.unparsable_files += 1
                continue
            cases = file_cases(old_module, new_module, new_path, old.index, new.index, new.modules, changed)
            if not cases:
                continue
            if old_module.unparsed or (new_module is not None and new_module.unparsed):
                stats.partly_parsed_files += 1
            candidates = tuple(sorted(changed - {new_path}))
            stats.file_pairs += 1
            yield FilePair(
                package=self.package,
                old_version=old_version,
                new_version=new_version,
                distance=distance,
                old_path=old_path,
                new_path=new_path,
                old_text=old_text,
                new_text=new_text,
                candidate_paths=candidates,
                candidate_texts=tuple(new_sources[path] for path in candidates),
                cases=tuple(cases),
            )


def _digest(text: str) -> str:
    """Return a short stable fingerprint of a text."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
