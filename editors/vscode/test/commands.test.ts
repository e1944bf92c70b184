import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  addArgs,
  doneMessage,
  executeParams,
  firstArgs,
  nextQuestion,
  permalinkOf,
  reactArgs,
  selectionRange,
  validateAnswer,
  withAnswer,
  type Args,
  type Question,
} from "../src/core/commands";

/** Answer the questions of `command` from a script, as a person would, and return the final arguments. */
function converse(command: string, args: Args, answers: Record<string, string>): { asked: string[]; args: Args } {
  const asked = new Set<string>();
  const order: string[] = [];
  let current = args;
  for (let question = nextQuestion(command, current, asked); question !== undefined; question = nextQuestion(command, current, asked)) {
    assert.ok(order.length < 10, "the questions never end");
    const answer = answers[question.field];
    assert.ok(answer !== undefined, `unexpected question ${question.field}`);
    asked.add(question.field);
    order.push(question.field);
    current = withAnswer(current, question, answer);
  }
  return { asked: order, args: current };
}

const RANGE = { start: { line: 4, character: 0 }, end: { line: 6, character: 12 } };

describe("adding a codemark", () => {
  it("asks the type, then the title, then the text", () => {
    const { asked, args } = converse("kibitz.add", addArgs("file:///r/a.py", RANGE), {
      type: "question",
      title: "  Why retry twice?  ",
      text: "The client already retries.",
    });
    assert.deepEqual(asked, ["type", "title", "text"]);
    assert.deepEqual(args, { uri: "file:///r/a.py", range: RANGE, type: "question", title: "Why retry twice?", text: "The client already retries." });
  });

  it("leaves out a title left empty, and does not ask again", () => {
    const { asked, args } = converse("kibitz.add", { uri: "u", range: RANGE }, { type: "comment", title: "", text: "Nice." });
    assert.deepEqual(asked, ["type", "title", "text"]);
    assert.equal("title" in args, false);
  });

  it("asks only what a code action left out", () => {
    const { asked } = converse("kibitz.add", { uri: "u", range: RANGE, type: "issue", title: "Leaks" }, { text: "The file is never closed." });
    assert.deepEqual(asked, ["text"]);
    assert.deepEqual(converse("kibitz.add", { uri: "u", range: RANGE, type: "comment", text: "from the gutter" }, { title: "" }).asked, ["title"]);
  });

  it("lets a bookmark go without text, but not a comment", () => {
    const bookmark = nextQuestion("kibitz.add", { type: "bookmark", title: "" });
    const comment = nextQuestion("kibitz.add", { type: "comment", title: "" });
    assert.equal(bookmark?.kind === "input" && bookmark.optional, true);
    assert.equal(comment?.kind === "input" && comment.optional, false);
    assert.deepEqual(converse("kibitz.add", { type: "bookmark" }, { title: "entry", text: "" }).args, { type: "bookmark", title: "entry" });
  });

  it("offers the five types, and asks again for a type the server does not know", () => {
    const question = nextQuestion("kibitz.add", { type: "rant" });
    assert.equal(question?.field, "type");
    assert.deepEqual(
      question?.kind === "pick" ? question.items.map((item) => item.value) : [],
      ["comment", "question", "issue", "bookmark", "link"],
    );
  });
});

describe("other commands", () => {
  it("asks for the text of a reply, unless it is there", () => {
    assert.deepEqual(converse("kibitz.reply", { id: "A" }, { text: "Done." }).args, { id: "A", text: "Done." });
    assert.deepEqual(converse("kibitz.reply", { id: "A", text: "Done." }, {}).asked, []);
    assert.deepEqual(converse("kibitz.reply", { id: "A", text: "   " }, { text: "Done." }).asked, ["text"]);
  });

  it("asks for the emoji of a reaction from the palette", () => {
    const question = nextQuestion("kibitz.react", { replyId: "R" });
    assert.equal(question?.field, "emoji");
    assert.ok(question?.kind === "pick" && question.items.some((item) => item.value === "👍"));
    assert.equal(nextQuestion("kibitz.react", { id: "A", emoji: "🎉" }), undefined);
  });

  it("asks for new text when an edit carries neither title nor text", () => {
    assert.equal(nextQuestion("kibitz.edit", { id: "A" })?.field, "text");
    assert.equal(nextQuestion("kibitz.edit", { id: "A", title: "New title" }), undefined);
  });

  it("asks nothing for commands that need no text", () => {
    for (const command of ["kibitz.resolve", "kibitz.reopen", "kibitz.follow", "kibitz.openInBrowser", "kibitz.unknown"]) {
      assert.equal(nextQuestion(command, { id: "A" }), undefined);
    }
  });
});

describe("validateAnswer", () => {
  const text: Question = { field: "text", kind: "input", prompt: "", placeHolder: "", optional: false };
  const title: Question = { field: "title", kind: "input", prompt: "", placeHolder: "", optional: true };

  it("refuses empty required text and a title over several lines", () => {
    assert.match(validateAnswer(text, "  ") ?? "", /Escape/);
    assert.equal(validateAnswer(text, "ok"), undefined);
    assert.equal(validateAnswer(title, ""), undefined);
    assert.match(validateAnswer(title, "one\ntwo") ?? "", /one line/);
  });
});

describe("selectionRange", () => {
  const lengths = (line: number) => [10, 20, 30, 40][line] ?? 0;

  it("takes the whole line of the cursor when nothing is selected", () => {
    const cursor = { start: { line: 2, character: 5 }, end: { line: 2, character: 5 } };
    assert.deepEqual(selectionRange(cursor, lengths), { start: { line: 2, character: 0 }, end: { line: 2, character: 30 } });
  });

  it("stops a selection of whole lines at the end of its last line", () => {
    const lines = { start: { line: 0, character: 0 }, end: { line: 2, character: 0 } };
    assert.deepEqual(selectionRange(lines, lengths), { start: { line: 0, character: 0 }, end: { line: 1, character: 20 } });
  });

  it("keeps any other selection as it is", () => {
    assert.deepEqual(selectionRange(RANGE, lengths), RANGE);
  });
});

describe("arguments and results", () => {
  it("sends a reaction to the codemark or to a reply, and takes it back with remove", () => {
    assert.deepEqual(reactArgs({ id: "A" }, "👍", false), { id: "A", emoji: "👍" });
    assert.deepEqual(reactArgs({ replyId: "R" }, "👍", true), { replyId: "R", emoji: "👍", remove: true });
  });

  it("sends one object argument", () => {
    assert.deepEqual(executeParams("kibitz.resolve", { id: "A" }), { command: "kibitz.resolve", arguments: [{ id: "A" }] });
  });

  it("reads the argument of a code action's command, whatever it holds", () => {
    assert.deepEqual(firstArgs([{ id: "A" }, "extra"]), { id: "A" });
    for (const args of [undefined, [], ["A"], [null], [[1]]]) assert.deepEqual(firstArgs(args), {});
  });

  it("tells where a new codemark is", () => {
    assert.equal(doneMessage("kibitz.add", { id: "A", permalink: "https://k.example/c/A" }), "Codemark added: https://k.example/c/A");
    assert.equal(doneMessage("kibitz.add", null), "Codemark added.");
    assert.equal(doneMessage("kibitz.reply", { id: "R" }), undefined);
  });

  it("reads a permalink, whatever the result holds", () => {
    assert.equal(permalinkOf({ permalink: "https://k.example/c/A" }), "https://k.example/c/A");
    for (const result of [undefined, null, "https://k.example/c/A", { permalink: 7 }]) assert.equal(permalinkOf(result), "");
  });
});
