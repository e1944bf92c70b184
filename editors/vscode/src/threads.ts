/**
 * Codemarks as native comment threads (the Comments API): one controller, one thread per codemark in
 * each open document, refreshed from `kibitz/threads` whenever the server says a document's threads
 * changed. Threads are updated in place so that an expanded thread or a half-written reply survives.
 */

import * as vscode from "vscode";
import type { Range as LspRange } from "./core/protocol";
import { readThreads } from "./core/protocol";
import { planThreads, type CommentView, type Target, type ThreadView } from "./core/threads";

/** A comment that knows which codemark or reply it shows, for reactions. */
export class CodemarkComment implements vscode.Comment {
  readonly body: vscode.MarkdownString;
  readonly mode = vscode.CommentMode.Preview;
  readonly author: vscode.CommentAuthorInformation;
  readonly contextValue: string;
  readonly reactions: vscode.CommentReaction[];
  readonly timestamp: Date | undefined;

  constructor(
    readonly view: CommentView,
    readonly thread: ThreadView,
  ) {
    // Text written by teammates: no command links, no HTML.
    this.body = new vscode.MarkdownString(view.markdown, false);
    this.body.isTrusted = false;
    this.body.supportHtml = false;
    this.author = { name: view.author };
    this.contextValue = view.contextValue;
    this.timestamp = view.timestamp;
    this.reactions = view.reactions.map((reaction) => ({
      label: reaction.emoji,
      iconPath: "",
      count: reaction.count,
      authorHasReacted: reaction.mine,
    }));
  }

  get target(): Target {
    return this.view.target;
  }
}

/** What the view needs from the language client. */
export interface ThreadSource {
  /** The document's uri as the language server knows it. */
  serverUri(uri: vscode.Uri): string;
  /** Ask the server for a document's threads (the raw answer). */
  threads(serverUri: string): Promise<unknown>;
}

interface Shown {
  thread: vscode.CommentThread;
  view: ThreadView;
}

interface DocumentThreads {
  uri: vscode.Uri;
  shown: Map<string, Shown>;
  /** Incremented by every refresh, so that a slow answer never overwrites a newer one. */
  generation: number;
}

function toRange(range: LspRange): vscode.Range {
  return new vscode.Range(range.start.line, range.start.character, range.end.line, range.end.character);
}

export class ThreadsView implements vscode.Disposable {
  readonly controller = vscode.comments.createCommentController("kibitz", "Kibitz");
  private readonly documents = new Map<string, DocumentThreads>();
  private readonly ids = new WeakMap<vscode.CommentThread, ThreadView>();

  constructor(
    private readonly source: () => ThreadSource | undefined,
    private readonly onError: (message: string) => void,
  ) {
    this.controller.options = { prompt: "Reply…", placeHolder: "Reply (Markdown)" };
    // Any line of a file can start a codemark from the gutter, as in pull-request extensions; it also
    // gives existing threads their reply box.
    this.controller.commentingRangeProvider = {
      provideCommentingRanges: (document) =>
        document.uri.scheme === "file" ? [new vscode.Range(0, 0, Math.max(0, document.lineCount - 1), 0)] : [],
    };
  }

  /** The codemark a thread shows, or nothing for a thread started from the gutter. */
  codemarkOf(thread: vscode.CommentThread): ThreadView | undefined {
    return this.ids.get(thread);
  }

  /** Fetch and show the threads of a document (also for a server uri from `kibitz/threadsChanged`). */
  async refresh(uri: vscode.Uri): Promise<void> {
    const source = this.source();
    if (source === undefined || uri.scheme !== "file") return;
    const key = source.serverUri(uri);
    let doc = this.documents.get(key);
    if (doc === undefined) {
      doc = { uri, shown: new Map(), generation: 0 };
      this.documents.set(key, doc);
    }
    const generation = ++doc.generation;
    let answer: unknown;
    try {
      answer = await source.threads(key);
    } catch (error) {
      // The server stays the judge: keep what is shown and say why it could not be refreshed.
      this.onError(`could not fetch the codemarks of ${vscode.workspace.asRelativePath(uri)}: ${String(error)}`);
      return;
    }
    if (generation !== doc.generation || this.documents.get(key) !== doc) return;
    this.apply(doc, readThreads(answer));
  }

  /** Refresh a document named by the server, if it is shown or open (a closed one gets no threads). */
  async refreshServerUri(serverUri: string, toCode: (uri: string) => vscode.Uri): Promise<void> {
    const uri = this.documents.get(serverUri)?.uri ?? toCode(serverUri);
    const open = vscode.workspace.textDocuments.some((document) => document.uri.toString() === uri.toString());
    if (open || this.documents.has(serverUri)) await this.refresh(uri);
  }

  /** Refresh every document that has threads, and the open ones that might. */
  async refreshAll(): Promise<void> {
    const uris = new Map<string, vscode.Uri>();
    for (const doc of this.documents.values()) uris.set(doc.uri.toString(), doc.uri);
    for (const document of vscode.workspace.textDocuments) uris.set(document.uri.toString(), document.uri);
    await Promise.all([...uris.values()].map((uri) => this.refresh(uri)));
  }

  /** Forget a closed document's threads. */
  forget(uri: vscode.Uri): void {
    for (const [key, doc] of this.documents) {
      if (doc.uri.toString() !== uri.toString()) continue;
      for (const shown of doc.shown.values()) shown.thread.dispose();
      this.documents.delete(key);
    }
  }

  /** Remove every thread (the language server stopped). */
  clear(): void {
    for (const doc of this.documents.values()) for (const shown of doc.shown.values()) shown.thread.dispose();
    this.documents.clear();
  }

  private apply(doc: DocumentThreads, threads: ReturnType<typeof readThreads>): void {
    const plan = planThreads(doc.shown.keys(), threads);
    for (const key of plan.remove) {
      doc.shown.get(key)?.thread.dispose();
      doc.shown.delete(key);
    }
    for (const view of plan.create) {
      const thread = this.controller.createCommentThread(doc.uri, toRange(view.range), []);
      thread.collapsibleState = vscode.CommentThreadCollapsibleState.Collapsed;
      this.show(thread, view);
      doc.shown.set(view.key, { thread, view });
    }
    for (const view of plan.update) {
      const shown = doc.shown.get(view.key);
      if (shown === undefined) continue;
      this.show(shown.thread, view);
      shown.view = view;
    }
  }

  private show(thread: vscode.CommentThread, view: ThreadView): void {
    const range = toRange(view.range);
    if (!thread.range.isEqual(range)) thread.range = range;
    thread.label = view.label;
    thread.contextValue = view.contextValue;
    thread.canReply = true;
    thread.state =
      view.state === undefined
        ? undefined
        : view.state === "resolved"
          ? vscode.CommentThreadState.Resolved
          : vscode.CommentThreadState.Unresolved;
    thread.comments = view.comments.map((comment) => new CodemarkComment(comment, view));
    this.ids.set(thread, view);
  }

  dispose(): void {
    this.clear();
    this.controller.dispose();
  }
}
