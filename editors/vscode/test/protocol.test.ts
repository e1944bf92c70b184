import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readChangedUri, readRange, readStatus, readThreads } from "../src/core/protocol";
import { DELETED_BOOKMARK, QUESTION } from "./fixtures";

describe("readThreads", () => {
  it("reads every field of the contract", () => {
    const [thread] = readThreads({ threads: [QUESTION] });
    assert.deepEqual(thread, QUESTION);
  });

  it("keeps a thread that is not placed, with no range", () => {
    const [thread] = readThreads({ threads: [DELETED_BOOKMARK] });
    assert.equal(thread?.range, null);
    assert.equal(thread?.location.status, "deleted");
  });

  it("leaves out threads without an id, and keeps each block of a codemark", () => {
    const threads = readThreads({ threads: [null, 7, { title: "no id" }, { id: "" }, QUESTION, { ...QUESTION, range: null }] });
    assert.deepEqual(
      threads.map((thread) => [thread.id, thread.range === null]),
      [
        [QUESTION.id, false],
        [QUESTION.id, true],
      ],
    );
  });

  it("fills what a server of another version left out, and drops unreadable replies and reactions", () => {
    const [thread] = readThreads({
      threads: [{ id: "X", replies: [{ text: "no id" }, { id: "R", reactions: [{ count: 3 }, { emoji: "🎉", count: -1 }] }], reactions: "lots" }],
    });
    assert.deepEqual(thread, {
      id: "X",
      permalink: "",
      type: "comment",
      status: "open",
      title: "",
      text: "",
      author: "",
      createdAt: "",
      range: null,
      location: { status: "unavailable", note: "" },
      replies: [{ id: "R", author: "", text: "", createdAt: "", reactions: [{ emoji: "🎉", count: 0, mine: false }] }],
      reactions: [],
      following: false,
    });
  });

  it("answers nothing for an answer that is not a list of threads", () => {
    for (const answer of [undefined, null, [], "threads", { threads: {} }]) assert.deepEqual(readThreads(answer), []);
  });
});

describe("readRange", () => {
  it("refuses negative, fractional, missing and backwards positions", () => {
    const at = (line: unknown, character: unknown) => ({ line, character });
    assert.equal(readRange({ start: at(-1, 0), end: at(2, 0) }), null);
    assert.equal(readRange({ start: at(1.5, 0), end: at(2, 0) }), null);
    assert.equal(readRange({ start: at(1, 0) }), null);
    assert.equal(readRange({ start: at(3, 0), end: at(2, 0) }), null);
    assert.equal(readRange({ start: at(3, 5), end: at(3, 4) }), null);
    assert.deepEqual(readRange({ start: at(3, 4), end: at(3, 4) }), { start: at(3, 4), end: at(3, 4) });
  });
});

describe("readStatus", () => {
  it("reads a ready status with its user and team", () => {
    assert.deepEqual(readStatus({ state: "ready", user: "alice", team: "acme", message: "signed in" }), {
      state: "ready",
      user: "alice",
      team: "acme",
      message: "signed in",
    });
  });

  it("takes an unknown state or a malformed notification as an error", () => {
    assert.equal(readStatus({ state: "sleeping", message: "zzz" }).state, "error");
    assert.equal(readStatus("ready").state, "error");
    assert.notEqual(readStatus(null).message, "");
  });

  it("leaves out an empty user or team", () => {
    assert.deepEqual(readStatus({ state: "offline", user: "", team: 3, message: "" }), { state: "offline", message: "" });
  });
});

describe("readChangedUri", () => {
  it("reads the uri, or nothing", () => {
    assert.equal(readChangedUri({ uri: "file:///src/a.py" }), "file:///src/a.py");
    assert.equal(readChangedUri({ uri: "" }), undefined);
    assert.equal(readChangedUri({}), undefined);
    assert.equal(readChangedUri(null), undefined);
  });
});
