/**
 * The arguments of the server's commands (`workspace/executeCommand`, one object each) and the questions
 * the extension asks a person to complete them. The server sends code actions whose arguments lack the
 * text (this client said `prompts: true`); the same questions complete those and the extension's own
 * commands, one at a time, because what to ask next can depend on an answer (a question's title).
 */

import { CODEMARK_TYPES, type CodemarkType, type Range } from "./protocol";
import { PALETTE } from "./reactions";

export type Args = Record<string, unknown>;

/** The commands of the language server this extension runs or completes. */
export const SERVER_COMMANDS = [
  "kibitz.add",
  "kibitz.reply",
  "kibitz.edit",
  "kibitz.resolve",
  "kibitz.reopen",
  "kibitz.react",
  "kibitz.follow",
  "kibitz.openInBrowser",
] as const;
export type ServerCommandName = (typeof SERVER_COMMANDS)[number];

export interface PickItem {
  value: string;
  label: string;
  description: string;
}

export type Question =
  | { field: "type" | "emoji"; kind: "pick"; placeHolder: string; items: PickItem[] }
  | { field: "title" | "text"; kind: "input"; prompt: string; placeHolder: string; optional: boolean };

const TYPE_ITEMS: Record<CodemarkType, string> = {
  comment: "a remark about this code",
  question: "ask the team; resolve it once answered",
  issue: "something to fix",
  bookmark: "a private note for yourself",
  link: "a permalink to share",
};

/** Types whose text may be left empty. */
const TEXT_OPTIONAL: readonly string[] = ["bookmark", "link"];

function isType(value: unknown): value is CodemarkType {
  return typeof value === "string" && (CODEMARK_TYPES as readonly string[]).includes(value);
}

function hasText(value: unknown): boolean {
  return typeof value === "string" && value.trim() !== "";
}

const TYPE_QUESTION: Question = {
  field: "type",
  kind: "pick",
  placeHolder: "What kind of codemark?",
  items: CODEMARK_TYPES.map((type) => ({ value: type, label: type, description: TYPE_ITEMS[type] })),
};

const EMOJI_QUESTION: Question = {
  field: "emoji",
  kind: "pick",
  placeHolder: "React with…",
  items: PALETTE.map((emoji) => ({ value: emoji, label: emoji, description: "" })),
};

function titleQuestion(type: CodemarkType): Question {
  const placeHolder = type === "question" ? "e.g. Why is this retried twice?" : type === "issue" ? "e.g. The socket is never closed" : "";
  return { field: "title", kind: "input", prompt: `Title of the ${type} (optional)`, placeHolder, optional: true };
}

function textQuestion(prompt: string, optional: boolean): Question {
  return { field: "text", kind: "input", prompt, placeHolder: "Markdown", optional };
}

/**
 * The next thing to ask before `command` can run with `args`, or nothing when it is complete.
 * `asked` holds the fields already asked, so an optional field left empty is not asked again.
 */
export function nextQuestion(command: string, args: Args, asked: ReadonlySet<string> = new Set()): Question | undefined {
  const ask = (field: string): boolean => !asked.has(field);
  switch (command) {
    case "kibitz.add": {
      if (!isType(args.type)) return ask("type") ? TYPE_QUESTION : undefined;
      if (args.title === undefined && ask("title")) return titleQuestion(args.type);
      const optional = TEXT_OPTIONAL.includes(args.type);
      if (!hasText(args.text) && ask("text")) return textQuestion(`Text of the ${args.type}${optional ? " (optional)" : ""}`, optional);
      return undefined;
    }
    case "kibitz.reply":
      return !hasText(args.text) && ask("text") ? textQuestion("Your reply", false) : undefined;
    case "kibitz.edit":
      return args.title === undefined && args.text === undefined && ask("text") ? textQuestion("New text", false) : undefined;
    case "kibitz.react":
      return typeof args.emoji !== "string" || args.emoji === "" ? (ask("emoji") ? EMOJI_QUESTION : undefined) : undefined;
    default:
      return undefined;
  }
}

/** Put an answer into the arguments; an optional field answered with nothing is left out. */
export function withAnswer(args: Args, question: Question, answer: string): Args {
  const next: Args = { ...args };
  if (question.kind === "input") {
    const value = question.field === "title" ? answer.trim() : answer;
    if (value.trim() === "") delete next[question.field];
    else next[question.field] = value;
  } else {
    next[question.field] = answer;
  }
  return next;
}

/** Check what a person typed in an input box: the message to show, or nothing when it will do. */
export function validateAnswer(question: Question, answer: string): string | undefined {
  if (question.kind !== "input") return undefined;
  if (!question.optional && answer.trim() === "") return "Type some text, or press Escape to cancel.";
  if (question.field === "title" && /[\r\n]/.test(answer)) return "A title is one line.";
  return undefined;
}

/** Arguments of `kibitz.add` for a selection in a document (uri as the language server knows it). */
export function addArgs(uri: string, range: Range): Args {
  return { uri, range };
}

/**
 * The range to add a codemark on: the selection, or the whole line of the cursor when nothing is
 * selected. A selection that ends at the start of a line (whole lines picked with the mouse) stops at
 * the end of the line before, so the codemark does not take in a line the person did not mean.
 */
export function selectionRange(selection: Range, lineLength: (line: number) => number): Range {
  const { start, end } = selection;
  if (start.line === end.line && start.character === end.character) {
    return { start: { line: start.line, character: 0 }, end: { line: start.line, character: lineLength(start.line) } };
  }
  if (end.character === 0 && end.line > start.line) {
    return { start, end: { line: end.line - 1, character: lineLength(end.line - 1) } };
  }
  return { start, end };
}

/** Arguments for a reaction: to a codemark (`id`) or a reply (`replyId`); `remove` takes it back. */
export function reactArgs(target: { id: string } | { replyId: string }, emoji: string, remove: boolean): Args {
  return remove ? { ...target, emoji, remove: true } : { ...target, emoji };
}

/** The permalink in a command's result (`kibitz.add`, `kibitz.openInBrowser`), or "". */
export function permalinkOf(result: unknown): string {
  if (typeof result !== "object" || result === null) return "";
  const permalink = (result as Args).permalink;
  return typeof permalink === "string" ? permalink : "";
}

/** What to tell a person once a command succeeded, or nothing when the change shows by itself. */
export function doneMessage(command: string, result: unknown): string | undefined {
  if (command !== "kibitz.add") return undefined;
  const permalink = permalinkOf(result);
  return permalink === "" ? "Codemark added." : `Codemark added: ${permalink}`;
}

/** The parameters of `workspace/executeCommand` for a server command with its one object argument. */
export function executeParams(command: ServerCommandName, args: Args): { command: string; arguments: [Args] } {
  return { command, arguments: [args] };
}

/** Take the one object argument of a server command sent by a code action (or nothing usable). */
export function firstArgs(args: readonly unknown[] | undefined): Args {
  const first = args?.[0];
  return typeof first === "object" && first !== null && !Array.isArray(first) ? { ...(first as Args) } : {};
}
