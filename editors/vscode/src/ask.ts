/** Ask a person the questions a server command still needs (quick picks and input boxes). */

import * as vscode from "vscode";
import { nextQuestion, validateAnswer, withAnswer, type Args, type Question } from "./core/commands";

async function askOne(question: Question): Promise<string | undefined> {
  if (question.kind === "pick") {
    const picked = await vscode.window.showQuickPick(
      question.items.map((item) => ({ label: item.label, description: item.description, value: item.value })),
      { placeHolder: question.placeHolder, ignoreFocusOut: true },
    );
    return picked?.value;
  }
  return vscode.window.showInputBox({
    prompt: question.prompt,
    placeHolder: question.placeHolder,
    ignoreFocusOut: true,
    validateInput: (value) => validateAnswer(question, value),
  });
}

/** Complete the arguments of `command` by asking; nothing when the person cancels. */
export async function completeArgs(command: string, args: Args): Promise<Args | undefined> {
  const asked = new Set<string>();
  let current = args;
  for (let question = nextQuestion(command, current, asked); question !== undefined; question = nextQuestion(command, current, asked)) {
    const answer = await askOne(question);
    if (answer === undefined) return undefined;
    asked.add(question.field);
    current = withAnswer(current, question, answer);
  }
  return current;
}
