/**
 * A codemark thread from `kibitz/threads`, turned into what a native comment thread shows: where it sits,
 * its header, its state, the context value that picks its menu actions, and one comment per message.
 */

import type { Range, Reaction, Thread } from "./protocol";
import { reactionViews, type ReactionView } from "./reactions";
import { capitalised, oneLine, parseTime } from "./text";

/** What a reaction or a reply is sent to: the codemark itself or one of its replies. */
export type Target = { id: string } | { replyId: string };

export interface CommentView {
  /** The codemark or reply this comment shows; reactions are sent to it. */
  target: Target;
  author: string;
  /** Markdown written by a person: shown untrusted (no commands, no HTML). */
  markdown: string;
  timestamp: Date | undefined;
  reactions: ReactionView[];
  /** `codemark` or `reply`: the `comment` key of menu `when` clauses. */
  contextValue: "codemark" | "reply";
}

export interface ThreadView {
  /** Which thread of the document this is: the codemark's id, `id#2`, `id#3`… for its further blocks. */
  key: string;
  id: string;
  /** Where the thread sits; a thread not placed in the code sits on the first line. */
  range: Range;
  placed: boolean;
  label: string;
  /** `undefined` for codemarks that are never resolved (bookmarks, links). */
  state: "resolved" | "unresolved" | undefined;
  /** Words the `commentThread` key of menu `when` clauses matches, e.g. `codemark resolvable following`. */
  contextValue: string;
  comments: CommentView[];
  permalink: string;
  following: boolean;
}

/** The codemark types that have an open/resolved status a person changes. */
const RESOLVABLE_TYPES: readonly string[] = ["comment", "question", "issue"];

const TOP_OF_FILE: Range = { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };

const LOCATION_WORDS: Record<string, string> = {
  moved: "moved",
  changed: "changed since it was written",
  deleted: "the code was deleted",
  unavailable: "cannot be located in this file",
};

/** Say where the code went, when it is not simply where it was (the server's note when it sent one). */
export function locationNote(thread: Thread): string {
  const status = thread.location.status;
  if (status === "unchanged" || status === "shifted") return "";
  if (thread.location.note !== "") return thread.location.note;
  if (thread.range === null && !(status in LOCATION_WORDS)) return "not placed in this file";
  return LOCATION_WORDS[status] ?? "";
}

/** The thread's header: type, status, title and (when the code moved or changed) where it is now. */
export function threadLabel(thread: Thread): string {
  const parts = [`${capitalised(thread.type)} · ${thread.status}`];
  const title = oneLine(thread.title);
  if (title !== "") parts.push(title);
  let label = parts.join(" — ");
  const note = locationNote(thread);
  if (note !== "") label += ` (${oneLine(note, 120)})`;
  return label;
}

function threadState(thread: Thread): ThreadView["state"] {
  if (!RESOLVABLE_TYPES.includes(thread.type)) return undefined;
  return thread.status === "open" ? "unresolved" : "resolved";
}

/** The context value of a thread: which of resolve, reopen, follow and unfollow its menus offer. */
export function threadContextValue(thread: Thread): string {
  const words = ["codemark"];
  if (RESOLVABLE_TYPES.includes(thread.type)) words.push(thread.status === "open" ? "resolvable" : "reopenable");
  words.push(thread.following ? "following" : "notfollowing");
  return words.join(" ");
}

function comment(target: Target, author: string, markdown: string, createdAt: string, reactions: Reaction[]): CommentView {
  return {
    target,
    author: author === "" ? "someone" : author,
    markdown,
    timestamp: parseTime(createdAt),
    reactions: reactionViews(reactions),
    contextValue: "id" in target ? "codemark" : "reply",
  };
}

/** Map a thread to what the editor shows (`key` tells a codemark's blocks apart; see `planThreads`). */
export function threadView(thread: Thread, key: string = thread.id): ThreadView {
  // A title alone (a bookmark, say) still needs a body: a comment cannot be empty.
  const body = thread.text !== "" ? thread.text : thread.title !== "" ? thread.title : `_(${thread.type} without text)_`;
  return {
    key,
    id: thread.id,
    range: thread.range ?? TOP_OF_FILE,
    placed: thread.range !== null,
    label: threadLabel(thread),
    state: threadState(thread),
    contextValue: threadContextValue(thread),
    comments: [
      comment({ id: thread.id }, thread.author, body, thread.createdAt, thread.reactions),
      ...thread.replies.map((reply) =>
        comment({ replyId: reply.id }, reply.author, reply.text === "" ? "_(empty reply)_" : reply.text, reply.createdAt, reply.reactions),
      ),
    ],
    permalink: thread.permalink,
    following: thread.following,
  };
}

export interface ThreadPlan {
  create: ThreadView[];
  update: ThreadView[];
  /** Keys of the threads shown now that the document no longer has. */
  remove: string[];
}

/**
 * Compare the threads a document shows (by key) with the ones the server sent: threads already shown are
 * updated in place (so an expanded thread and a half-written reply survive a refresh), the rest created or
 * removed. A codemark's first block in the document has its id as key, the next ones `id#2`, `id#3`…
 */
export function planThreads(shown: Iterable<string>, threads: readonly Thread[]): ThreadPlan {
  const current = new Set(shown);
  const blocks = new Map<string, number>();
  const views = threads.map((thread) => {
    const n = (blocks.get(thread.id) ?? 0) + 1;
    blocks.set(thread.id, n);
    return threadView(thread, n === 1 ? thread.id : `${thread.id}#${n}`);
  });
  const incoming = new Set(views.map((view) => view.key));
  return {
    create: views.filter((view) => !current.has(view.key)),
    update: views.filter((view) => current.has(view.key)),
    remove: [...current].filter((key) => !incoming.has(key)),
  };
}
