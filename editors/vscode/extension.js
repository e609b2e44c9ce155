// The VS Code side of lstmc: the grammar (contributed in package.json) colours
// .lstm files, and this starts `lstmc lsp` for diagnostics, hover, go to
// definition and completion. The language client adds `--stdio` itself.
const { existsSync } = require("node:fs");
const { join } = require("node:path");
const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

/** The configured command, else the workspace's installed lstmc, else lstmc on the PATH. */
function serverCommand() {
  const configured = vscode.workspace.getConfiguration("lstmc").get("serverCommand");
  if (configured) return configured;
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    const local = join(folder.uri.fsPath, "node_modules", ".bin", "lstmc");
    if (existsSync(local)) return local;
  }
  return "lstmc";
}

function activate(context) {
  const command = serverCommand();
  const server = { command, args: ["lsp"], transport: TransportKind.stdio };
  client = new LanguageClient("lstmc", "lstmc", { run: server, debug: server }, { documentSelector: [{ scheme: "file", language: "lstm" }] });
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client?.stop();
}

module.exports = { activate, deactivate };
