/** The status-bar item: who is signed in, in which team, or what is wrong. */

import * as vscode from "vscode";
import type { Status } from "./core/protocol";
import { statusView, type ClientState } from "./core/status";

export class StatusItem implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem("kibitz.status", vscode.StatusBarAlignment.Left, 10);

  constructor() {
    this.item.name = "Kibitz";
    this.item.command = "kibitz.showOutput";
    this.show("starting");
    this.item.show();
  }

  /** Show a status from the server or the client's own state. */
  show(status: Status | ClientState, serverPath?: string): void {
    const view = statusView(status, serverPath);
    this.item.text = view.text;
    this.item.tooltip = view.tooltip;
    this.item.backgroundColor =
      view.severity === "normal" ? undefined : new vscode.ThemeColor(`statusBarItem.${view.severity}Background`);
  }

  dispose(): void {
    this.item.dispose();
  }
}
