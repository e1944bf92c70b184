import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PALETTE, reactionChoices, reactionSummary, reactionViews } from "../src/core/reactions";

describe("reactionViews", () => {
  it("lists the palette first, with the counts people used, then other emoji in the server's order", () => {
    const views = reactionViews([
      { emoji: "🦄", count: 1, mine: false },
      { emoji: "🎉", count: 3, mine: true },
    ]);
    assert.deepEqual(
      views.map((view) => view.emoji),
      [...PALETTE, "🦄"],
    );
    assert.deepEqual(views.find((view) => view.emoji === "🎉"), { emoji: "🎉", count: 3, mine: true });
    assert.deepEqual(views.find((view) => view.emoji === "👍"), { emoji: "👍", count: 0, mine: false });
  });

  it("keeps the first of a repeated emoji", () => {
    const views = reactionViews([
      { emoji: "👍", count: 1, mine: false },
      { emoji: "👍", count: 9, mine: true },
    ]);
    assert.equal(views.filter((view) => view.emoji === "👍").length, 1);
    assert.equal(views[0]?.count, 1);
  });
});

describe("reactionChoices", () => {
  it("offers to take back your own reaction and counts the others", () => {
    const choices = reactionChoices([{ emoji: "👍", count: 3, mine: true }, { emoji: "🚀", count: 1, mine: false }], ["👍", "🚀", "👀"]);
    assert.deepEqual(choices, [
      { emoji: "👍", label: "👍", description: "yours — pick to take it back, 2 others", remove: true },
      { emoji: "🚀", label: "🚀", description: "1 other", remove: false },
      { emoji: "👀", label: "👀", description: "", remove: false },
    ]);
  });
});

describe("reactionSummary", () => {
  it("names the reactions people used", () => {
    assert.equal(reactionSummary([{ emoji: "👍", count: 2, mine: false }, { emoji: "👀", count: 0, mine: false }, { emoji: "🎉", count: 1, mine: true }]), "👍 2 · 🎉 1");
    assert.equal(reactionSummary([]), "");
  });
});
