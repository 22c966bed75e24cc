// The labelsense extension: starts `labelsense serve` as a language client for
// JSONL / Parquet manifests, taxonomies and labelsense.toml, and adds a few
// commands on top of what the client maps by itself.
import * as fs from "node:fs";
import * as path from "node:path";
import * as vscode from "vscode";
import {
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  LanguageClient,
  type LanguageClientOptions,
  type Location,
  type Position,
  type ServerOptions,
} from "vscode-languageclient/node";
import { VIEW_SCHEME, registerParquetView } from "./parquet";

const SECTION = "labelsense";

// What the server handles; taxonomies and configs are matched by name (a
// taxonomy with another name is still read for the manifests, just not linted as you type).
const DOCUMENT_SELECTOR = [
  { scheme: "file", language: "jsonl" },
  { scheme: "file", pattern: "**/*.{jsonl,ndjson}" },
  { scheme: "file", pattern: "**/taxonomy*.{yaml,yml,json}" },
  { scheme: "file", pattern: "**/{classes,labels}.txt" },
  { scheme: "file", pattern: "**/labelsense.toml" },
  { scheme: VIEW_SCHEME, language: "jsonl" },
];

// The client, or undefined when it could not start; restarts queue up behind each other.
let current: Promise<LanguageClient | undefined> = Promise.resolve(undefined);

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel("labelsense");
  context.subscriptions.push(
    output,
    registerParquetView(running),
    vscode.commands.registerCommand("labelsense.showLabelHistory", showLabelHistory),
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration(`${SECTION}.server`)) {
        await restart(output);
      } else if (event.affectsConfiguration(SECTION)) {
        // The server pulls the section back through workspace/configuration (see `configuration` below).
        const client = await current;
        await client?.sendNotification(DidChangeConfigurationNotification.type, { settings: null });
      }
    }),
  );
  // Awaited so that the server's commands (labelsense.reindex) exist once activation ends.
  await restart(output);
}

export async function deactivate(): Promise<void> {
  const client = await current;
  if (client?.isRunning()) await client.stop();
}

/** The running client, waiting for it while it (re)starts. */
async function running(): Promise<LanguageClient> {
  const client = await current;
  if (!client) throw new Error("the labelsense language server is not running");
  return client;
}

function restart(output: vscode.OutputChannel): Promise<void> {
  current = current
    .then(async (previous) => {
      if (previous?.isRunning()) await previous.stop().catch(() => undefined);
      return start(output);
    })
    .catch(() => undefined);
  return current.then(() => undefined);
}

async function start(output: vscode.OutputChannel): Promise<LanguageClient | undefined> {
  const [command, ...args] = serverCommand();
  const commandLine = [command, ...args, "serve"].join(" ");
  output.appendLine(`starting ${commandLine}`);
  const serverOptions: ServerOptions = {
    command,
    args: [...args, "serve"],
    options: { cwd: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: DOCUMENT_SELECTOR,
    outputChannel: output,
    initializationOptions: serverSettings(undefined),
    middleware: {
      workspace: {
        configuration: async (params, token, next) => {
          const result = await next(params, token);
          return Array.isArray(result)
            ? result.map((value, i) => (params.items[i]?.section === SECTION ? serverSettings(value) : value))
            : result;
        },
      },
      executeCommand: async (name, args, next) =>
        name === "labelsense.showReferences" ? showReferences(args, next) : next(name, args),
    },
  };
  const client = new LanguageClient("labelsense", "labelsense", serverOptions, clientOptions);
  try {
    await client.start();
    return client;
  } catch (error) {
    output.appendLine(`cannot start ${commandLine}: ${String(error)}`);
    void vscode.window
      .showErrorMessage(`labelsense: cannot start the language server (${command}). Set "labelsense.server.command".`, "Open Settings")
      .then((action) => action && vscode.commands.executeCommand("workbench.action.openSettings", "labelsense.server.command"));
    return undefined;
  }
}

/** The server's settings: the `labelsense` section without the client's own entries (`server`, `trace`). */
function serverSettings(section: unknown): Record<string, unknown> {
  const raw = section ?? vscode.workspace.getConfiguration().get(SECTION);
  const settings = { ...(typeof raw === "object" && raw !== null ? (raw as Record<string, unknown>) : {}) };
  delete settings.server;
  delete settings.trace;
  return settings;
}

/** `labelsense.server.command` (string or argv array), else `labelsense` on PATH, else the workspace's .venv. */
function serverCommand(): string[] {
  const configured = vscode.workspace.getConfiguration(SECTION).get<string | string[] | null>("server.command");
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? "";
  const expand = (arg: string): string => arg.replace(/\$\{workspaceFolder\}/g, folder);
  if (typeof configured === "string" && configured.trim()) return [expand(configured)];
  if (Array.isArray(configured) && configured.length > 0) return configured.map(expand);
  const exe = process.platform === "win32" ? "labelsense.exe" : "labelsense";
  const onPath = (process.env.PATH ?? "").split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, exe));
  const venvs = vscode.workspace.isTrusted
    ? (vscode.workspace.workspaceFolders ?? []).map((f) =>
        path.join(f.uri.fsPath, ".venv", process.platform === "win32" ? "Scripts" : "bin", exe))
    : [];
  return [[...onPath, ...venvs].find(isExecutable) ?? exe];
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The code lens command: the server answers with locations, VS Code's references peek shows them. */
async function showReferences(args: unknown[], next: (name: string, args: unknown[]) => unknown): Promise<void> {
  const { protocol2CodeConverter: p2c } = await running();
  const [uri, position] = args as [string, Position];
  const locations = ((await next("labelsense.showReferences", args)) ?? []) as Location[];
  await vscode.commands.executeCommand(
    "editor.action.showReferences",
    p2c.asUri(uri),
    p2c.asPosition(position),
    locations.map((l) => p2c.asLocation(l)),
  );
}

interface Change {
  short: string;
  committed: boolean;
  author: string;
  date: string;
  summary: string;
  previous: (string[] | null)[];
  labels: (string[] | null)[];
}

/** Labels of a change side: `cat`, `cat, dog` (multi-label), `cat | dog` (several rows). */
function labelsText(entries: (string[] | null)[]): string {
  return entries.length ? entries.map((e) => (e === null ? "(no label)" : e.join(", "))).join(" | ") : "(none)";
}

/** `labelsense.labelHistory` for the row under the cursor, in a quick pick (newest first). */
async function showLabelHistory(): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor) return;
  const line = editor.selection.active.line;
  let changes: Change[];
  try {
    const client = await running();
    changes = ((await client.sendRequest(ExecuteCommandRequest.type, {
      command: "labelsense.labelHistory",
      arguments: [client.code2ProtocolConverter.asUri(editor.document.uri), line],
    })) ?? []) as Change[];
  } catch (error) {
    void vscode.window.showWarningMessage(`labelsense: ${error instanceof Error ? error.message : String(error)}`);
    return;
  }
  const items = changes.map((ch) => ({
    label: `${labelsText(ch.previous)} → ${labelsText(ch.labels)}`,
    description: ch.committed ? `${ch.author}, ${ch.date.slice(0, 10)}` : "Not Committed Yet",
    detail: ch.committed ? `${ch.short} ${ch.summary}` : undefined,
  }));
  await vscode.window.showQuickPick(items, {
    title: `Label history of line ${line + 1}`,
    placeHolder: items.length ? "newest first" : "no label changes in the history",
  });
}
