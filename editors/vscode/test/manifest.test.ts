/**
 * The manifest (package.json) against the code: the menus' `when` clauses must match the context values
 * the mapping gives threads, and every command the extension registers must be declared, and back.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { readThread } from "../src/core/protocol";
import { threadContextValue } from "../src/core/threads";
import { QUESTION } from "./fixtures";

const ROOT = join(__dirname, "..");

interface MenuItem {
  command: string;
  when?: string;
}
interface Manifest {
  main: string;
  engines: { vscode: string };
  devDependencies: Record<string, string>;
  contributes: {
    commands: { command: string }[];
    menus: Record<string, MenuItem[]>;
    configuration: { properties: Record<string, { scope?: string }> };
  };
}

const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as Manifest;

/** Evaluate the `when` clauses these menus use: `a == b`, `!key`, `key`, `key =~ /re/`, joined by `&&`. */
function holds(when: string | undefined, context: Record<string, string | boolean>): boolean {
  if (when === undefined) return true;
  return when.split("&&").every((raw) => {
    const clause = raw.trim();
    const regex = /^(\S+) =~ \/(.*)\/$/.exec(clause);
    if (regex) return new RegExp(regex[2] ?? "").test(String(context[regex[1] ?? ""] ?? ""));
    const equal = /^(\S+) == (\S+)$/.exec(clause);
    if (equal) return context[equal[1] ?? ""] === equal[2];
    if (clause.startsWith("!")) return !context[clause.slice(1)];
    if (clause === "false") return false;
    if (/^\w+$/.test(clause)) return Boolean(context[clause]);
    throw new Error(`a when clause this test cannot read: ${clause}`);
  });
}

function threadActions(overrides: Record<string, unknown>): string[] {
  const thread = readThread({ ...QUESTION, ...overrides });
  assert.ok(thread);
  const context = { commentController: "kibitz", commentThread: threadContextValue(thread) };
  return (manifest.contributes.menus["comments/commentThread/title"] ?? [])
    .filter((item) => holds(item.when, context))
    .map((item) => item.command)
    .sort();
}

describe("thread title actions", () => {
  it("offer resolve on an open question someone follows", () => {
    assert.deepEqual(threadActions({}), ["kibitz.thread.openInBrowser", "kibitz.thread.resolve", "kibitz.thread.unfollow"]);
  });

  it("offer reopen on a resolved one, and follow when not followed", () => {
    assert.deepEqual(threadActions({ status: "resolved", following: false }), [
      "kibitz.thread.follow",
      "kibitz.thread.openInBrowser",
      "kibitz.thread.reopen",
    ]);
  });

  it("offer neither resolve nor reopen on a bookmark", () => {
    assert.deepEqual(threadActions({ type: "bookmark", following: false }), ["kibitz.thread.follow", "kibitz.thread.openInBrowser"]);
  });
});

describe("thread reply actions", () => {
  const actions = (context: Record<string, string | boolean>) =>
    (manifest.contributes.menus["comments/commentThread/context"] ?? []).filter((item) => holds(item.when, context)).map((item) => item.command);

  it("reply on a codemark's thread, add on a thread started from the gutter, nothing on other extensions' threads", () => {
    assert.deepEqual(actions({ commentController: "kibitz", commentThread: "codemark resolvable following" }), ["kibitz.thread.reply"]);
    assert.deepEqual(actions({ commentController: "kibitz", commentThreadIsEmpty: true }), ["kibitz.thread.add"]);
    assert.deepEqual(actions({ commentController: "github-pr", commentThread: "codemark" }), []);
  });
});

describe("commands", () => {
  const declared = manifest.contributes.commands.map((item) => item.command).sort();
  const source = readFileSync(join(ROOT, "src", "extension.ts"), "utf8");
  const registered = [...source.matchAll(/(?:command|onThread)\("(kibitz\.[\w.]+)"/g)].map((match) => match[1]).sort();

  it("are all declared, and every declared one is registered", () => {
    assert.ok(registered.length > 5);
    assert.deepEqual(registered, declared);
  });

  it("in menus are all declared", () => {
    for (const [menu, items] of Object.entries(manifest.contributes.menus)) {
      for (const item of items) assert.ok(declared.includes(item.command), `${menu}: ${item.command}`);
    }
  });

  it("never collide with the server's command names, which the language client registers itself", () => {
    const server = ["kibitz.add", "kibitz.reply", "kibitz.edit", "kibitz.resolve", "kibitz.reopen", "kibitz.react", "kibitz.follow", "kibitz.openInBrowser"];
    assert.deepEqual(declared.filter((name) => server.includes(name)), []);
  });
});

describe("settings", () => {
  it("take the program to run from the user's settings only: a workspace cannot choose what runs", () => {
    const properties = manifest.contributes.configuration.properties;
    assert.equal(properties["kibitz.path"]?.scope, "machine");
    assert.equal(properties["kibitz.args"]?.scope, "machine");
  });
});

describe("package", () => {
  it("declares types of VS Code no newer than the editors it supports", () => {
    const engine = manifest.engines.vscode.replace(/^\^/, "");
    const types = manifest.devDependencies["@types/vscode"]?.replace(/^[~^]/, "");
    assert.equal(types, engine);
  });

  it("has a lock file that names no registry: every package pinned by version and integrity only", () => {
    const lock = readFileSync(join(ROOT, "package-lock.json"), "utf8");
    const packages = (JSON.parse(lock) as { packages: Record<string, { resolved?: string; integrity?: string; link?: boolean }> }).packages;
    for (const [path, entry] of Object.entries(packages)) {
      if (path === "" || entry.link === true) continue;
      assert.equal(entry.resolved, undefined, path);
      assert.ok(entry.integrity?.startsWith("sha"), path);
    }
    assert.doesNotMatch(lock, /registry/i);
  });

  it("ships only the bundle, the manifest, the README and the licence", () => {
    const ignore = readFileSync(join(ROOT, ".vscodeignore"), "utf8")
      .split("\n")
      .filter((line) => line !== "" && !line.startsWith("#"));
    assert.deepEqual(ignore, ["**", `!${manifest.main.replace(/^\.\//, "")}`, "!package.json", "!README.md", "!LICENSE"]);
  });
});
