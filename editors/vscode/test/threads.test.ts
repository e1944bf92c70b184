import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readThread, type Thread } from "../src/core/protocol";
import { locationNote, planThreads, threadContextValue, threadLabel, threadView } from "../src/core/threads";
import { DELETED_BOOKMARK, QUESTION } from "./fixtures";

function thread(overrides: Record<string, unknown> = {}): Thread {
  const read = readThread({ ...QUESTION, ...overrides });
  assert.ok(read);
  return read;
}

describe("threadView", () => {
  it("shows a question as an unresolved thread at its range, the codemark first and then its replies", () => {
    const view = threadView(thread());
    assert.deepEqual(view.range, QUESTION.range);
    assert.equal(view.placed, true);
    assert.equal(view.state, "unresolved");
    assert.equal(view.label, "Question · open — Why retry twice? (moved from old/path.py:10-14)");
    assert.deepEqual(
      view.comments.map((comment) => [comment.target, comment.author, comment.markdown, comment.contextValue]),
      [
        [{ id: QUESTION.id }, "alice", QUESTION.text, "codemark"],
        [{ replyId: "01HZX0REPLY00001" }, "bob", "Yes: the first one only covers timeouts.", "reply"],
      ],
    );
    assert.equal(view.comments[1]?.timestamp?.toISOString(), "2026-11-30T10:00:00.000Z");
    assert.equal(view.permalink, QUESTION.permalink);
  });

  it("gives each comment its reactions merged into the palette", () => {
    const [codemark, reply] = threadView(thread()).comments;
    assert.deepEqual(
      codemark?.reactions.filter((reaction) => reaction.count > 0),
      [{ emoji: "👀", count: 1, mine: false }],
    );
    assert.deepEqual(reply?.reactions[0], { emoji: "👍", count: 2, mine: true });
  });

  it("puts a codemark whose code was deleted on the first line, labelled as such, with its title as body", () => {
    const bookmark = readThread(DELETED_BOOKMARK);
    assert.ok(bookmark);
    const view = threadView(bookmark);
    assert.equal(view.placed, false);
    assert.deepEqual(view.range, { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } });
    assert.equal(view.label, "Bookmark · open — parser entry point (the code was deleted)");
    assert.equal(view.state, undefined);
    assert.equal(view.comments[0]?.markdown, "parser entry point");
  });

  it("never shows an empty comment", () => {
    const view = threadView(thread({ title: "", text: "", replies: [{ id: "R", text: "" }] }));
    assert.ok(view.comments.every((comment) => comment.markdown.trim() !== ""));
    assert.equal(view.comments[1]?.author, "someone");
  });

  it("shows a resolved issue as resolved, and a malformed time as no time", () => {
    const view = threadView(thread({ type: "issue", status: "resolved", createdAt: "yesterday" }));
    assert.equal(view.state, "resolved");
    assert.equal(view.comments[0]?.timestamp, undefined);
  });

  it("keeps a title written over several lines on one line of the header", () => {
    assert.equal(threadLabel(thread({ title: "first\n\nsecond", location: { status: "unchanged" } })), "Question · open — first second");
  });
});

describe("locationNote", () => {
  it("says nothing when the code is where it was", () => {
    assert.equal(locationNote(thread({ location: { status: "unchanged", note: "" } })), "");
    assert.equal(locationNote(thread({ location: { status: "shifted", note: "3 lines down" } })), "");
  });

  it("prefers the server's note, and has words of its own for the rest", () => {
    assert.equal(locationNote(thread({ location: { status: "changed", note: "" } })), "changed since it was written");
    assert.equal(locationNote(thread({ location: { status: "changed", note: "edited by bob" } })), "edited by bob");
    assert.equal(locationNote(thread({ range: null, location: { status: "lost-in-space" } })), "not placed in this file");
  });
});

describe("threadContextValue", () => {
  it("offers resolve on an open question and reopen on a resolved one", () => {
    assert.equal(threadContextValue(thread()), "codemark resolvable following");
    assert.equal(threadContextValue(thread({ status: "resolved", following: false })), "codemark reopenable notfollowing");
  });

  it("offers neither on a bookmark or a link", () => {
    for (const type of ["bookmark", "link"]) assert.equal(threadContextValue(thread({ type })), "codemark following");
  });
});

describe("planThreads", () => {
  it("updates the threads shown, creates the new ones and removes the gone ones", () => {
    const plan = planThreads(["A", "B"], [thread({ id: "B" }), thread({ id: "C" })]);
    assert.deepEqual(plan.update.map((view) => view.id), ["B"]);
    assert.deepEqual(plan.create.map((view) => view.id), ["C"]);
    assert.deepEqual(plan.remove, ["A"]);
  });

  it("keeps apart the blocks of one codemark in the same document", () => {
    const second = { start: { line: 40, character: 0 }, end: { line: 42, character: 0 } };
    const plan = planThreads(["A#2"], [thread({ id: "A" }), thread({ id: "A", range: second }), thread({ id: "A", range: null })]);
    assert.deepEqual(plan.create.map((view) => view.key), ["A", "A#3"]);
    assert.deepEqual(plan.update.map((view) => [view.key, view.id, view.range]), [["A#2", "A", second]]);
    assert.deepEqual(plan.remove, []);
  });

  it("removes everything when the document has no threads any more", () => {
    assert.deepEqual(planThreads(["A"], []), { create: [], update: [], remove: ["A"] });
  });
});
