/** Threads as `kibitz lsp` sends them (the shapes of the editor contract), for the tests. */

export const QUESTION = {
  id: "01HZX0QUESTION01",
  permalink: "https://kibitz.example/c/01HZX0QUESTION01",
  type: "question",
  status: "open",
  title: "Why retry twice?",
  text: "The client already retries.\n\nIs the **second** loop needed?",
  author: "alice",
  createdAt: "2026-11-30T09:15:00Z",
  range: { start: { line: 9, character: 0 }, end: { line: 13, character: 20 } },
  location: { status: "moved", note: "moved from old/path.py:10-14" },
  replies: [
    {
      id: "01HZX0REPLY00001",
      author: "bob",
      text: "Yes: the first one only covers timeouts.",
      createdAt: "2026-11-30T10:00:00Z",
      reactions: [{ emoji: "👍", count: 2, mine: true }],
    },
  ],
  reactions: [{ emoji: "👀", count: 1, mine: false }],
  following: true,
};

export const DELETED_BOOKMARK = {
  id: "01HZX0BOOKMARK01",
  permalink: "https://kibitz.example/c/01HZX0BOOKMARK01",
  type: "bookmark",
  status: "open",
  title: "parser entry point",
  text: "",
  author: "carol",
  createdAt: "2026-10-01T08:00:00Z",
  range: null,
  location: { status: "deleted", note: "" },
  replies: [],
  reactions: [],
  following: false,
};
