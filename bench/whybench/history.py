"""A generated git history with codemarks whose code changes in one known commit each.

Between the commit the markers are recorded at and the target there are ``commits`` first-parent commits
(10,000 by default). Most edit other files; some (``touch_rate``) add or remove comment lines between the
functions of the markers' files, which shifts the blocks without changing them; a few rename a marker's
file. Each marker's function is then changed, moved to another file, or deleted in exactly one commit: the
truth. In the ``merges`` shape that commit is on a branch merged into the line right after (the truth is the
merge, as ``kibitz`` names it on the first-parent line; the branch commit is accepted too). The stream is
written for ``git fast-import``, which builds 10,000 commits in seconds.
"""

from __future__ import annotations

import random
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

Kind = Literal["changed", "moved", "deleted"]
KINDS: tuple[Kind, ...] = ("changed", "moved", "deleted")
CONTEXT_LINES = 3


@dataclass(frozen=True, slots=True)
class Shape:
    """How a generated history looks."""

    name: str
    seed: int
    commits: int = 10_000
    before: int = 200
    other_files: int = 200
    target_files: int = 40
    functions: int = 30
    markers: int = 100
    touch_rate: float = 0.03
    renames: int = 3
    merges: bool = False
    # Markers recorded at commits spread over the first half of the range, not all at its start.
    spread: bool = False
    held_out: bool = False


@dataclass
class _Function:
    name: str
    lines: list[str]


@dataclass
class _File:
    path: str
    items: list[_Function | str]

    def lines(self) -> list[str]:
        out: list[str] = []
        for item in self.items:
            if isinstance(item, str):
                out.append(item)
            else:
                out.extend(item.lines)
                out.append("")
        return out

    def text(self) -> str:
        return "".join(line + "\n" for line in self.lines())

    def place(self, function: _Function) -> tuple[int, int]:
        """Return the 1-based first and last line of a function of this file."""
        line = 1
        for item in self.items:
            if item is function:
                return line, line + len(function.lines) - 1
            line += 1 if isinstance(item, str) else len(item.lines) + 1
        raise ValueError(function.name)


@dataclass(frozen=True, slots=True)
class Recorded:
    """A marker as ``kibitz add`` would have recorded it (``commit`` is a fast-import mark until imported)."""

    marker_id: str
    commit: str
    path: str
    start_line: int
    end_line: int
    code: str
    context_before: str
    context_after: str


@dataclass(frozen=True, slots=True)
class Truth:
    """What happened to a marker's block, in which commit (and, through a merge, in which branch commit)."""

    kind: Kind
    commit: str
    branch_commit: str | None = None


@dataclass
class Generated:
    """The history's start and target commits, and every marker with its truth (commit ids once imported)."""

    start: str
    target: str
    markers: list[Recorded] = field(default_factory=list)
    truth: dict[str, Truth] = field(default_factory=dict)


# Words code is made of: functions written from them differ the way real ones do, not by a number alone.
_WORD_TEXT = (
    "account batch buffer cache client config cursor digest entry event filter frame handle header "
    "index item journal key label ledger limit message node offset order packet page parser payload "
    "queue record region request result retry route row schema session shard signal slot socket "
    "source state stream table task ticket token trace value window worker"
)
_VERB_TEXT = (
    "apply build check collect decode encode fetch flush format load merge parse read scan sort split write"
)
WORDS = tuple(_WORD_TEXT.split())
VERBS = tuple(_VERB_TEXT.split())


def _function(rng: random.Random, file_number: int, number: int) -> _Function:
    name = f"step_{file_number}_{number}"
    first, second = rng.sample(WORDS, 2)
    body = [f"def {name}({first}, {second}=None):"]
    names = [first, second]
    for _ in range(rng.randint(5, 9)):
        target = f"{rng.choice(WORDS)}_{rng.choice(WORDS)}"
        verb = rng.choice(VERBS)
        call = f"{verb}_{rng.choice(WORDS)}({rng.choice(names)}, {rng.choice(WORDS)}={rng.randint(0, 99)})"
        body.append(f"    {target} = {call}")
        names.append(target)
    body.append(f"    return {names[-1]}")
    return _Function(name, body)


class _Writer:
    """Writes the fast-import stream: one commit at a time, marks counted."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.mark = 0
        self.time = 1_700_000_000

    def commit(
        self,
        branch: str,
        message: str,
        files: dict[str, str],
        *,
        parent: int | None,
        merge: int | None = None,
        renames: tuple[tuple[str, str], ...] = (),
    ) -> int:
        self.mark += 1
        self.time += 60
        out = self.out
        out.write(f"commit refs/heads/{branch}\nmark :{self.mark}\n".encode())
        who = f"Dev {self.mark % 7} <dev{self.mark % 7}@example.com> {self.time} +0000\n"
        out.write(f"author {who}committer {who}".encode())
        data = message.encode()
        out.write(b"data %d\n%s\n" % (len(data), data))
        if parent is not None:
            out.write(b"from :%d\n" % parent)
        if merge is not None:
            out.write(b"merge :%d\n" % merge)
        for old, new in renames:
            out.write(f'R "{old}" "{new}"\n'.encode())
        for path, text in files.items():
            blob = text.encode()
            out.write(f"M 100644 inline {path}\n".encode() + b"data %d\n" % len(blob) + blob + b"\n")
        return self.mark


def write_history(shape: Shape, out: IO[bytes]) -> Generated:
    """Write a shape's history as a fast-import stream; return its markers and truth, by fast-import marks."""
    rng = random.Random(shape.seed)
    writer = _Writer(out)
    others = {
        f"pkg/module_{n}.py": [f"value_{n}_{k} = {k}" for k in range(30)] for n in range(shape.other_files)
    }
    targets = [
        _File(f"src/part_{n}.py", [_function(rng, n, k) for k in range(shape.functions)])
        for n in range(shape.target_files)
    ]
    files = {**{p: "".join(line + "\n" for line in lines) for p, lines in others.items()}}
    files.update({t.path: t.text() for t in targets})
    head = writer.commit("main", "Initial import", files, parent=None)

    def edit_other(number: int) -> dict[str, str]:
        path = rng.choice(sorted(others))
        lines = others[path]
        lines[rng.randrange(len(lines))] = f"value_{number} = {number}"
        return {path: "".join(line + "\n" for line in lines)}

    def touch_target(number: int) -> dict[str, str]:
        target = rng.choice(targets)
        comments = [index for index, item in enumerate(target.items) if isinstance(item, str)]
        if comments and rng.random() < 0.4:
            del target.items[rng.choice(comments)]
        else:
            target.items.insert(rng.randrange(len(target.items) + 1), f"# note {number}")
        return {target.path: target.text()}

    for number in range(shape.before):
        head = writer.commit("main", f"Before {number}", edit_other(number), parent=head)
    start_mark = head

    functions = [(target, item) for target in targets for item in target.items if isinstance(item, _Function)]
    chosen = rng.sample(functions, shape.markers)
    kinds = {function.name: rng.choice(KINDS) for _, function in chosen}
    # Recorded at the start (or spread over the first half); changed in one commit after that.
    recorded_at = {
        function.name: rng.randrange(0, shape.commits // 2) if shape.spread else 0 for _, function in chosen
    }
    event_at = {
        function.name: rng.randrange(recorded_at[function.name] + 1, shape.commits + 1)
        for _, function in chosen
    }
    by_event: dict[int, list[_Function]] = {}
    for _, function in chosen:
        by_event.setdefault(event_at[function.name], []).append(function)
    by_record: dict[int, list[_Function]] = {}
    for _, function in chosen:
        by_record.setdefault(recorded_at[function.name], []).append(function)
    rename_at = set(rng.sample([n for n in range(1, shape.commits + 1) if n not in by_event], shape.renames))

    generated = Generated(start=f":{start_mark}", target="")
    marks_of: dict[str, tuple[int, int | None]] = {}
    file_of = {function.name: target for target, function in chosen}

    def record(number: int) -> None:
        for function in by_record.get(number, []):
            target = file_of[function.name]
            start, end = target.place(function)
            lines = target.lines()
            before = lines[max(start - 1 - CONTEXT_LINES, 0) : start - 1]
            after = lines[end : end + CONTEXT_LINES]
            generated.markers.append(
                Recorded(
                    marker_id=function.name,
                    commit=f":{head}",
                    path=target.path,
                    start_line=start,
                    end_line=end,
                    code="".join(line + "\n" for line in function.lines),
                    context_before="".join(line + "\n" for line in before),
                    context_after="".join(line + "\n" for line in after),
                )
            )

    record(0)
    for number in range(1, shape.commits + 1):
        if number in by_event:
            changed: dict[str, str] = {}
            for function in by_event[number]:
                changed.update(_apply(rng, kinds[function.name], function, file_of, targets))
            message = f"Rework {', '.join(f.name for f in by_event[number])}"
            if shape.merges:
                branch = writer.commit("topic", message, changed, parent=head)
                head = writer.commit(
                    "main", f"Merge branch 'topic' ({number})", changed, parent=head, merge=branch
                )
                for function in by_event[number]:
                    marks_of[function.name] = (head, branch)
            else:
                head = writer.commit("main", message, changed, parent=head)
                for function in by_event[number]:
                    marks_of[function.name] = (head, None)
        elif number in rename_at:
            target = rng.choice(targets)
            old, target.path = target.path, target.path.replace("src/", "src/renamed/", 1)
            if old == target.path:
                target.path = old.replace(".py", "_v2.py")
            head = writer.commit("main", f"Move {old}", {}, parent=head, renames=((old, target.path),))
        elif rng.random() < shape.touch_rate:
            head = writer.commit("main", f"Notes {number}", touch_target(number), parent=head)
        else:
            head = writer.commit("main", f"Edit {number}", edit_other(number), parent=head)
        record(number)
    generated.target = f":{head}"
    for name, (mark, side) in marks_of.items():
        generated.truth[name] = Truth(kinds[name], f":{mark}", None if side is None else f":{side}")
    return generated


def _apply(
    rng: random.Random, kind: Kind, function: _Function, file_of: dict[str, _File], targets: list[_File]
) -> dict[str, str]:
    """Change, move or delete a function; return the files' new texts."""
    target = file_of[function.name]
    if kind == "changed":
        function.lines[2] = function.lines[2].replace("(", "(1 + ", 1)
        return {target.path: target.text()}
    target.items.remove(function)
    if kind == "deleted":
        return {target.path: target.text()}
    destination = rng.choice([other for other in targets if other is not target])
    destination.items.append(function)
    file_of[function.name] = destination
    return {target.path: target.text(), destination.path: destination.text()}


def build(shape: Shape, root: Path, *, commit_graph: bool = False) -> Generated:
    """Create the repository at ``root`` with ``git fast-import``; return its markers and truth by commit."""
    root.mkdir(parents=True)
    subprocess.run(["git", "init", "--quiet", "--initial-branch=main", str(root)], check=True)
    marks = root / ".git" / "kibitz-bench-marks"
    importer = subprocess.Popen(
        ["git", "fast-import", "--quiet", f"--export-marks={marks}"], cwd=root, stdin=subprocess.PIPE
    )
    assert importer.stdin is not None
    generated = write_history(shape, importer.stdin)
    importer.stdin.close()
    if importer.wait() != 0:
        raise RuntimeError("git fast-import failed")
    ids = dict(line.split() for line in marks.read_text().splitlines())
    subprocess.run(["git", "reset", "--quiet", "--hard", "main"], cwd=root, check=True)
    if commit_graph:
        subprocess.run(
            ["git", "commit-graph", "write", "--reachable", "--changed-paths"], cwd=root, check=True
        )
    return _resolved(generated, ids)


def _resolved(generated: Generated, ids: dict[str, str]) -> Generated:
    def commit(mark: str) -> str:
        return ids[mark]

    resolved = Generated(commit(generated.start), commit(generated.target))
    resolved.markers = [
        Recorded(
            m.marker_id,
            commit(m.commit),
            m.path,
            m.start_line,
            m.end_line,
            m.code,
            m.context_before,
            m.context_after,
        )
        for m in generated.markers
    ]
    resolved.truth = {
        name: Truth(t.kind, commit(t.commit), None if t.branch_commit is None else commit(t.branch_commit))
        for name, t in generated.truth.items()
    }
    return resolved


def shapes(commits: int, markers: int) -> Iterator[Shape]:
    """Yield the tuning shape, then the held-out ones (other seeds and shapes, never tuned on)."""
    yield Shape("tuning", seed=1, commits=commits, markers=markers)
    held = max(markers // 2, 10)
    yield Shape("held-out: another seed", seed=2, commits=commits, markers=held, held_out=True)
    yield Shape(
        "held-out: busy files",
        seed=3,
        commits=commits,
        markers=held,
        target_files=10,
        functions=60,
        touch_rate=0.25,
        spread=True,
        held_out=True,
    )
    yield Shape(
        "held-out: merged branches", seed=4, commits=commits, markers=held, merges=True, held_out=True
    )
