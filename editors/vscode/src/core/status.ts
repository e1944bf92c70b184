/** What the status-bar item says for each state of the language server. */

import type { Status } from "./protocol";
import { oneLine, withoutIcons } from "./text";

export interface StatusView {
  /** Status-bar text; `$(name)` are the editor's icons. */
  text: string;
  tooltip: string;
  /** `warning` and `error` colour the item so that a broken set-up is noticed. */
  severity: "normal" | "warning" | "error";
}

/** The client's own states, before the server can speak or after it stopped. */
export type ClientState = "starting" | "stopped";

function name(text: string): string {
  return withoutIcons(oneLine(text, 40));
}

/** Map a `kibitz/status` notification (or the client's own state) to the status-bar item. */
export function statusView(status: Status | ClientState, serverPath = "kibitz"): StatusView {
  if (status === "starting") {
    return { text: "$(sync~spin) Kibitz", tooltip: "Kibitz: starting the language server…", severity: "normal" };
  }
  if (status === "stopped") {
    return {
      text: "$(error) Kibitz: not running",
      tooltip:
        `Kibitz: the language server (\`${serverPath} lsp\`) is not running. ` +
        "Check the kibitz.path setting and the Kibitz output, then run “Kibitz: restart the language server”.",
      severity: "error",
    };
  }
  const message = status.message !== "" ? `\n${status.message}` : "";
  switch (status.state) {
    case "ready": {
      const who = status.user !== undefined ? name(status.user) : "signed in";
      const team = status.team !== undefined ? ` · ${name(status.team)}` : "";
      return {
        text: `$(comment-discussion) ${who}${team}`,
        tooltip: `Kibitz: signed in${status.user !== undefined ? ` as ${status.user}` : ""}` +
          `${status.team !== undefined ? `, team ${status.team}` : ""}${message}`,
        severity: "normal",
      };
    }
    case "signed-out":
      return {
        text: "$(account) Kibitz: signed out",
        tooltip: `Kibitz: signed out. Run \`kibitz login\` in a terminal.${message}`,
        severity: "warning",
      };
    case "offline":
      return {
        text: "$(cloud-offline) Kibitz: offline",
        tooltip: `Kibitz: the server cannot be reached; showing the codemarks last seen.${message}`,
        severity: "warning",
      };
    case "error":
      return { text: "$(error) Kibitz", tooltip: `Kibitz: ${status.message || "something went wrong."}`, severity: "error" };
  }
}
