/**
 * The messages `kibitz lsp` sends to rich clients (see the editor contract in the project's docs), and
 * readers that check them: a server of another version must not crash the extension with a field it
 * does not expect, so everything that arrives is read through these functions.
 */

export interface Position {
  line: number;
  character: number;
}

export interface Range {
  start: Position;
  end: Position;
}

export interface Reaction {
  emoji: string;
  count: number;
  mine: boolean;
}

export interface Reply {
  id: string;
  author: string;
  text: string;
  createdAt: string;
  reactions: Reaction[];
}

export interface LocationInfo {
  status: string;
  note: string;
}

export interface Thread {
  id: string;
  permalink: string;
  type: string;
  status: string;
  title: string;
  text: string;
  author: string;
  createdAt: string;
  range: Range | null;
  location: LocationInfo;
  replies: Reply[];
  reactions: Reaction[];
  following: boolean;
}

export type StatusState = "ready" | "signed-out" | "offline" | "error";

export interface Status {
  state: StatusState;
  user?: string;
  team?: string;
  message: string;
}

/** The codemark types the server accepts in `kibitz.add`, in the order a person picks them. */
export const CODEMARK_TYPES = ["comment", "question", "issue", "bookmark", "link"] as const;
export type CodemarkType = (typeof CODEMARK_TYPES)[number];

const STATUS_STATES: readonly string[] = ["ready", "signed-out", "offline", "error"];

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function str(value: unknown, fallback = ""): string {
  return typeof value === "string" ? value : fallback;
}

function nonNegativeInt(value: unknown): number | undefined {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : undefined;
}

function readPosition(value: unknown): Position | undefined {
  if (!isObject(value)) return undefined;
  const line = nonNegativeInt(value.line);
  const character = nonNegativeInt(value.character);
  return line === undefined || character === undefined ? undefined : { line, character };
}

/** Read an LSP range; anything malformed (or an end before the start) is no range at all. */
export function readRange(value: unknown): Range | null {
  if (!isObject(value)) return null;
  const start = readPosition(value.start);
  const end = readPosition(value.end);
  if (start === undefined || end === undefined) return null;
  if (end.line < start.line || (end.line === start.line && end.character < start.character)) return null;
  return { start, end };
}

function readReactions(value: unknown): Reaction[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((item): Reaction[] => {
    if (!isObject(item) || typeof item.emoji !== "string" || item.emoji === "") return [];
    return [{ emoji: item.emoji, count: nonNegativeInt(item.count) ?? 0, mine: item.mine === true }];
  });
}

function readReply(value: unknown): Reply[] {
  if (!isObject(value) || typeof value.id !== "string" || value.id === "") return [];
  return [
    {
      id: value.id,
      author: str(value.author),
      text: str(value.text),
      createdAt: str(value.createdAt),
      reactions: readReactions(value.reactions),
    },
  ];
}

/** Read one thread, or nothing when it has no id (a thread without one cannot be answered). */
export function readThread(value: unknown): Thread | undefined {
  if (!isObject(value) || typeof value.id !== "string" || value.id === "") return undefined;
  const location = isObject(value.location) ? value.location : {};
  return {
    id: value.id,
    permalink: str(value.permalink),
    type: str(value.type, "comment"),
    status: str(value.status, "open"),
    title: str(value.title),
    text: str(value.text),
    author: str(value.author),
    createdAt: str(value.createdAt),
    range: readRange(value.range),
    location: { status: str(location.status, "unavailable"), note: str(location.note) },
    replies: Array.isArray(value.replies) ? value.replies.flatMap(readReply) : [],
    reactions: readReactions(value.reactions),
    following: value.following === true,
  };
}

/**
 * Read the answer to `kibitz/threads`; threads that cannot be read are left out. A codemark with several
 * blocks in the document comes once per block, with the same id.
 */
export function readThreads(value: unknown): Thread[] {
  if (!isObject(value) || !Array.isArray(value.threads)) return [];
  return value.threads.flatMap((item) => readThread(item) ?? []);
}

/** Read a `kibitz/status` notification; an unknown state is taken as an error the server explains. */
export function readStatus(value: unknown): Status {
  if (!isObject(value)) return { state: "error", message: "The language server sent a status it could not explain." };
  const state = STATUS_STATES.includes(str(value.state)) ? (value.state as StatusState) : "error";
  const status: Status = { state, message: str(value.message) };
  if (typeof value.user === "string" && value.user !== "") status.user = value.user;
  if (typeof value.team === "string" && value.team !== "") status.team = value.team;
  return status;
}

/** Read the `uri` of a `kibitz/threadsChanged` notification. */
export function readChangedUri(value: unknown): string | undefined {
  return isObject(value) && typeof value.uri === "string" && value.uri !== "" ? value.uri : undefined;
}
