/**
 * The Kibitz extension: starts `kibitz lsp` and draws what it sends with VS Code's own parts (comment
 * threads, a status-bar item, quick picks and input boxes). Everything else — finding codemarks,
 * following the code as it is edited, talking to the Kibitz server — is the language server's work.
 */

import * as os from "node:os";
import * as vscode from "vscode";
import {
  ExecuteCommandRequest,
  LanguageClient,
  State,
  type LanguageClientOptions,
  type ServerOptions,
} from "vscode-languageclient/node";
import { completeArgs } from "./ask";
import {
  addArgs,
  doneMessage,
  executeParams,
  firstArgs,
  permalinkOf,
  reactArgs,
  selectionRange,
  type Args,
  type ServerCommandName,
} from "./core/commands";
import { readChangedUri, readStatus } from "./core/protocol";
import { reactionChoices } from "./core/reactions";
import { INITIALIZATION_OPTIONS, serverCommand } from "./core/server";
import type { Reaction } from "./core/protocol";
import { StatusItem } from "./statusItem";
import { CodemarkComment, ThreadsView } from "./threads";

/** Server commands whose arguments may lack text that the extension asks for. */
const PROMPTED: readonly string[] = ["kibitz.add", "kibitz.reply", "kibitz.edit", "kibitz.react"];

class Kibitz implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private readonly output = vscode.window.createOutputChannel("Kibitz", { log: true });
  private readonly status = new StatusItem();
  private readonly threads = new ThreadsView(
    () => this.threadSource(),
    (message) => this.output.appendLine(message),
  );
  private serverPath = "kibitz";

  /** Start (or restart) the language server with the current settings. */
  async start(): Promise<void> {
    await this.stop();
    const settings = vscode.workspace.getConfiguration("kibitz");
    const { command, args } = serverCommand(settings.get("path"), settings.get("args"), os.homedir());
    this.serverPath = command;
    const serverOptions: ServerOptions = { command, args };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: "file" }],
      initializationOptions: INITIALIZATION_OPTIONS,
      outputChannel: this.output,
      middleware: {
        // Code actions from the server carry commands without the text a person must write: ask first.
        executeCommand: async (name, commandArgs, next) => {
          if (!PROMPTED.includes(name)) return next(name, commandArgs) as unknown;
          const completed = await completeArgs(name, firstArgs(commandArgs));
          if (completed === undefined) return undefined;
          return this.report(name, () => Promise.resolve(next(name, [completed])));
        },
      },
    };
    const client = new LanguageClient("kibitz", "Kibitz", serverOptions, clientOptions);
    this.client = client;
    client.onNotification("kibitz/status", (params: unknown) => this.status.show(readStatus(params)));
    client.onNotification("kibitz/threadsChanged", (params: unknown) => {
      const uri = readChangedUri(params);
      if (uri !== undefined) void this.threads.refreshServerUri(uri, (text) => client.protocol2CodeConverter.asUri(text));
    });
    client.onDidChangeState((event) => {
      if (event.newState === State.Starting) this.status.show("starting");
      if (event.newState === State.Stopped) {
        this.status.show("stopped", this.serverPath);
        this.threads.clear();
      }
      // Also after the client restarted a crashed server by itself: the threads were cleared with it.
      if (event.newState === State.Running && this.client === client) void this.threads.refreshAll();
    });
    this.status.show("starting");
    try {
      await client.start();
    } catch (error) {
      this.output.appendLine(`could not start \`${command} ${args.join(" ")}\`: ${String(error)}`);
      this.status.show("stopped", this.serverPath);
    }
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.threads.clear();
    if (client !== undefined && client.isRunning()) await client.stop();
  }

  private threadSource() {
    const client = this.client;
    if (client === undefined || !client.isRunning()) return undefined;
    return {
      serverUri: (uri: vscode.Uri) => client.code2ProtocolConverter.asUri(uri),
      threads: (uri: string) => client.sendRequest("kibitz/threads", { uri }),
    };
  }

  /** Run a server command with its one argument, asking first for what is missing. */
  async run(command: ServerCommandName, args: Args): Promise<unknown> {
    if (this.client === undefined || !this.client.isRunning()) {
      void vscode.window.showErrorMessage("Kibitz: the language server is not running (see the Kibitz output).");
      return undefined;
    }
    const completed = await completeArgs(command, args);
    const client = this.client;
    if (completed === undefined || client === undefined) return undefined;
    return this.report(command, () => client.sendRequest(ExecuteCommandRequest.type, executeParams(command, completed)));
  }

  /** Run a command, say what it did or why it failed, and show the change at once. */
  private async report(command: string, send: () => Promise<unknown>): Promise<unknown> {
    try {
      const result = await send();
      const message = doneMessage(command, result);
      if (message !== undefined) void vscode.window.showInformationMessage(message);
      const active = vscode.window.activeTextEditor?.document.uri;
      if (active !== undefined) void this.threads.refresh(active);
      return result;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      void vscode.window.showErrorMessage(`Kibitz: ${message}`);
      return undefined;
    }
  }

  /** Register the extension's commands and event handlers. */
  register(context: vscode.ExtensionContext): void {
    const command = (name: string, handler: (...args: never[]) => unknown) =>
      context.subscriptions.push(vscode.commands.registerCommand(name, handler));
    const codemark = (thread: vscode.CommentThread | undefined) =>
      thread === undefined ? undefined : this.threads.codemarkOf(thread);

    command("kibitz.addCodemark", () => this.addOnSelection());
    command("kibitz.restart", () => this.start());
    command("kibitz.showOutput", () => this.output.show());
    command("kibitz.thread.reply", (reply: vscode.CommentReply) => this.reply(reply));
    command("kibitz.thread.add", (reply: vscode.CommentReply) => this.addFromGutter(reply));
    const onThread = (name: string, server: ServerCommandName, extra: Args = {}) =>
      command(name, (thread: vscode.CommentThread) => {
        const view = codemark(thread);
        return view === undefined ? undefined : this.run(server, { id: view.id, ...extra });
      });
    onThread("kibitz.thread.resolve", "kibitz.resolve");
    onThread("kibitz.thread.reopen", "kibitz.reopen");
    onThread("kibitz.thread.follow", "kibitz.follow", { follow: true });
    onThread("kibitz.thread.unfollow", "kibitz.follow", { follow: false });
    command("kibitz.thread.openInBrowser", (thread: vscode.CommentThread) => this.openInBrowser(codemark(thread)));
    command("kibitz.comment.react", (comment: CodemarkComment) => this.pickReaction(comment));

    this.threads.controller.reactionHandler = async (comment, reaction) => {
      if (!(comment instanceof CodemarkComment)) return;
      await this.run("kibitz.react", reactArgs(comment.target, reaction.label, reaction.authorHasReacted));
    };

    context.subscriptions.push(
      this,
      vscode.workspace.onDidOpenTextDocument((document) => void this.threads.refresh(document.uri)),
      vscode.workspace.onDidCloseTextDocument((document) => this.threads.forget(document.uri)),
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration("kibitz.path") || event.affectsConfiguration("kibitz.args")) void this.start();
      }),
    );
  }

  private async addOnSelection(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (editor === undefined || editor.document.uri.scheme !== "file") {
      void vscode.window.showWarningMessage("Kibitz: select some code in a file of a git repository first.");
      return;
    }
    const client = this.client;
    if (client === undefined) return void this.run("kibitz.add", {});
    const document = editor.document;
    const range = selectionRange(editor.selection, (line) => document.lineAt(line).text.length);
    await this.run("kibitz.add", addArgs(client.code2ProtocolConverter.asUri(document.uri), range));
  }

  private async reply(reply: vscode.CommentReply): Promise<void> {
    const view = this.threads.codemarkOf(reply.thread);
    if (view === undefined) return this.addFromGutter(reply);
    await this.run("kibitz.reply", { id: view.id, text: reply.text });
  }

  /** A thread started from the gutter becomes a codemark: its first message is the text. */
  private async addFromGutter(reply: vscode.CommentReply): Promise<void> {
    const client = this.client;
    const range = reply.thread.range;
    if (client === undefined) return;
    const lspRange = {
      start: { line: range.start.line, character: range.start.character },
      end: { line: range.end.line, character: range.end.character },
    };
    const args = { ...addArgs(client.code2ProtocolConverter.asUri(reply.thread.uri), lspRange), text: reply.text };
    const result = await this.run("kibitz.add", args);
    // The codemark comes back as a thread of its own from the server; the draft thread goes.
    if (result !== undefined) reply.thread.dispose();
  }

  /** The server opens the page (`window/showDocument`); the permalink also goes to the clipboard. */
  private async openInBrowser(view: { id: string } | undefined): Promise<void> {
    if (view === undefined) return;
    const permalink = permalinkOf(await this.run("kibitz.openInBrowser", { id: view.id }));
    if (permalink === "") return;
    await vscode.env.clipboard.writeText(permalink);
    vscode.window.setStatusBarMessage(`Kibitz: copied ${permalink}`, 4000);
  }

  private async pickReaction(comment: CodemarkComment): Promise<void> {
    const reactions: Reaction[] = comment.view.reactions;
    const picked = await vscode.window.showQuickPick(
      reactionChoices(reactions).map((choice) => ({ label: choice.label, description: choice.description, choice })),
      { placeHolder: "React with…" },
    );
    if (picked === undefined) return;
    await this.run("kibitz.react", reactArgs(comment.target, picked.choice.emoji, picked.choice.remove));
  }

  dispose(): void {
    void this.stop();
    this.threads.dispose();
    this.status.dispose();
    this.output.dispose();
  }
}

let kibitz: Kibitz | undefined;

/** Start the extension: the language server, the comment threads and the status-bar item. */
export async function activate(context: vscode.ExtensionContext): Promise<void> {
  kibitz = new Kibitz();
  kibitz.register(context);
  await kibitz.start();
}

/** Stop the language server when VS Code closes or the extension is turned off. */
export async function deactivate(): Promise<void> {
  await kibitz?.stop();
  kibitz = undefined;
}
