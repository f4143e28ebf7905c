/**
 * The VS Code side of archc: starts `archc lsp` and hands it the `archc.*` settings. Everything
 * else (diagnostics, hovers with shapes, params and MACs, completion, formatting, inlay hints)
 * is the server's.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import * as vscode from "vscode";
import {
  LanguageClient,
  TransportKind,
  type LanguageClientOptions,
  type ServerOptions,
} from "vscode-languageclient/node";

let client: LanguageClient | undefined;

/** The archc command: the setting, else the workspace's own install, else the PATH. */
export function archcCommand(
  setting: string | undefined,
  folders: readonly string[],
  exists: (path: string) => boolean = existsSync,
): string {
  if (setting) return setting;
  const bin = process.platform === "win32" ? "archc.cmd" : "archc";
  for (const folder of folders) {
    const local = join(folder, "node_modules", ".bin", bin);
    if (exists(local)) return local;
  }
  return bin;
}

function settings(): Record<string, unknown> {
  const c = vscode.workspace.getConfiguration("archc");
  return {
    network: c.get<string>("network") ?? "",
    set: c.get<string[]>("set") ?? [],
    inlayHints: c.get<boolean>("inlayHints") ?? true,
    debounceMs: c.get<number>("debounceMs") ?? 15,
  };
}

async function start(context: vscode.ExtensionContext): Promise<void> {
  const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
  const command = archcCommand(
    vscode.workspace.getConfiguration("archc").get<string>("path"),
    folders,
  );
  const serverOptions: ServerOptions = {
    command,
    args: ["lsp"],
    transport: TransportKind.stdio,
    options: { shell: process.platform === "win32", ...(folders[0] ? { cwd: folders[0] } : {}) },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: "arch" },
      { scheme: "untitled", language: "arch" },
    ],
    // Changes to archc.* reach the server as workspace/didChangeConfiguration.
    synchronize: {
      configurationSection: "archc",
      // Imported files changed on disk re-check the open files that import them.
      fileEvents: vscode.workspace.createFileSystemWatcher("**/*.arch"),
    },
    initializationOptions: { archc: settings() },
  };
  client = new LanguageClient("archc", "archc", serverOptions, clientOptions);
  try {
    await client.start();
  } catch (e) {
    void vscode.window.showErrorMessage(
      `archc: cannot start '${command} lsp' (${e instanceof Error ? e.message : String(e)}); install archc (npm install archc) or set archc.path`,
    );
  }
  context.subscriptions.push(client);
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  context.subscriptions.push(
    vscode.commands.registerCommand("archc.restartServer", async () => {
      await client?.stop();
      await start(context);
    }),
  );
  await start(context);
}

export function deactivate(): Thenable<void> | undefined {
  return client?.stop();
}
