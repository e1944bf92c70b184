import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { INITIALIZATION_OPTIONS, serverCommand } from "../src/core/server";

describe("serverCommand", () => {
  it("runs `kibitz lsp` by default", () => {
    assert.deepEqual(serverCommand(undefined, undefined, "/home/a"), { command: "kibitz", args: ["lsp"] });
    assert.deepEqual(serverCommand("  ", [], "/home/a"), { command: "kibitz", args: ["lsp"] });
  });

  it("takes a path, with ~ as the home directory, and the extra arguments after `lsp`", () => {
    assert.deepEqual(serverCommand("~/.local/bin/kibitz", ["--log-level", "debug"], "/home/a"), {
      command: "/home/a/.local/bin/kibitz",
      args: ["lsp", "--log-level", "debug"],
    });
    assert.equal(serverCommand("/usr/bin/kibitz", [], "/home/a").command, "/usr/bin/kibitz");
    assert.equal(serverCommand("~bob/kibitz", [], "/home/a").command, "~bob/kibitz");
  });

  it("leaves out extra arguments that are not strings", () => {
    assert.deepEqual(serverCommand("kibitz", ["-v", 3, null, { a: 1 }], "/h").args, ["lsp", "-v"]);
    assert.deepEqual(serverCommand("kibitz", "-v", "/h").args, ["lsp"]);
  });
});

describe("initialization options", () => {
  it("tell the server this client asks people for text", () => {
    assert.deepEqual(INITIALIZATION_OPTIONS, { prompts: true });
  });
});
