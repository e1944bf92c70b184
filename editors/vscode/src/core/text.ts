/** Helpers for showing text written by other people in places that take a single line of text. */

const WHITESPACE = /\s+/g;
// `$(name)` draws an icon in a status bar item or a quick pick; a name chosen by a person must not.
const ICON_SYNTAX = /\$\(/g;

/** Collapse any run of whitespace (newlines included) to one space and cut the text to `max` characters. */
export function oneLine(text: string, max = 80): string {
  const flat = text.replace(WHITESPACE, " ").trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1).trimEnd()}…`;
}

/** Make text safe for labels that read `$(icon)` syntax. */
export function withoutIcons(text: string): string {
  return text.replace(ICON_SYNTAX, "$\u200b(");
}

/** Capitalise the first letter ("question" → "Question"). */
export function capitalised(word: string): string {
  return word.length === 0 ? word : word.charAt(0).toUpperCase() + word.slice(1);
}

/** Parse an ISO 8601 time, or nothing when it is missing or malformed. */
export function parseTime(iso: string): Date | undefined {
  if (iso === "") return undefined;
  const time = new Date(iso);
  return Number.isNaN(time.getTime()) ? undefined : time;
}
