import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { statusView } from "../src/core/status";

describe("statusView", () => {
  it("names the user and the team when signed in", () => {
    const view = statusView({ state: "ready", user: "alice", team: "acme", message: "" });
    assert.equal(view.text, "$(comment-discussion) alice · acme");
    assert.equal(view.tooltip, "Kibitz: signed in as alice, team acme");
    assert.equal(view.severity, "normal");
  });

  it("says how to sign in when signed out", () => {
    const view = statusView({ state: "signed-out", message: "The token was revoked." });
    assert.equal(view.text, "$(account) Kibitz: signed out");
    assert.match(view.tooltip, /kibitz login/);
    assert.match(view.tooltip, /The token was revoked\./);
    assert.equal(view.severity, "warning");
  });

  it("warns when offline and shows the server's message on an error", () => {
    assert.equal(statusView({ state: "offline", message: "" }).text, "$(cloud-offline) Kibitz: offline");
    assert.equal(statusView({ state: "offline", message: "" }).severity, "warning");
    const error = statusView({ state: "error", message: "This repository is not linked: run `kibitz init`." });
    assert.equal(error.severity, "error");
    assert.equal(error.tooltip, "Kibitz: This repository is not linked: run `kibitz init`.");
  });

  it("does not let a name draw icons or spill over the status bar", () => {
    const view = statusView({ state: "ready", user: "$(zap) mallory\nthe second line", team: "x".repeat(100), message: "" });
    assert.doesNotMatch(view.text.replace("$(comment-discussion)", ""), /\$\(/);
    assert.doesNotMatch(view.text, /\n/);
    assert.ok(view.text.length < 100);
  });

  it("covers the client's own states, naming the program that did not start", () => {
    assert.equal(statusView("starting").severity, "normal");
    const stopped = statusView("stopped", "/opt/kibitz/bin/kibitz");
    assert.equal(stopped.severity, "error");
    assert.match(stopped.tooltip, /\/opt\/kibitz\/bin\/kibitz lsp/);
    assert.match(stopped.tooltip, /kibitz\.path/);
  });
});
