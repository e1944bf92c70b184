/** How the language server is started, from the extension's settings. */

export interface ServerCommand {
  command: string;
  args: string[];
}

/**
 * Build the command line of `kibitz lsp` from the `kibitz.path` and `kibitz.args` settings. A leading
 * `~/` is the home directory (settings are often copied between machines); anything that is not a
 * string in the extra arguments is left out rather than passed as "[object Object]".
 */
export function serverCommand(path: unknown, extraArgs: unknown, home: string): ServerCommand {
  let command = typeof path === "string" ? path.trim() : "";
  if (command === "") command = "kibitz";
  if (command === "~" || command.startsWith("~/")) command = home + command.slice(1);
  const extra = Array.isArray(extraArgs) ? extraArgs.filter((arg): arg is string => typeof arg === "string") : [];
  return { command, args: ["lsp", ...extra] };
}

/** The `initializationOptions` this client sends: it asks people for text itself. */
export const INITIALIZATION_OPTIONS = { prompts: true } as const;
