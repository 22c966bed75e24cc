// Parquet manifests as read-only JSONL views. A view is the document
// `labelsense-parquet:///abs/path.parquet[?start=S&count=N]`: its text comes from
// the server's `labelsense/render` request, and the language client syncs it
// (it is in the document selector), so diagnostics, hover and definition work there.
import * as vscode from "vscode";
import type { LanguageClient } from "vscode-languageclient/node";

export const VIEW_SCHEME = "labelsense-parquet";
const RENDER = "labelsense/render";

interface Rendered {
  text: string;
  totalRows: number;
  viewUri: string;
}

export function registerParquetView(client: () => Promise<LanguageClient>): vscode.Disposable {
  const content: vscode.TextDocumentContentProvider = {
    async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
      const query = new URLSearchParams(uri.query);
      const number = (name: string): number | undefined => (query.has(name) ? Number(query.get(name)) : undefined);
      const start = number("start");
      const file = uri.with({ scheme: "file", query: "" });
      const rendered = await (await client()).sendRequest<Rendered>(RENDER, {
        uri: file.toString(),
        start,
        count: number("count"),
      });
      const shown = rendered.text.split("\n").length - 1;
      if (shown < rendered.totalRows - (start ?? 0)) {
        void vscode.window.showInformationMessage(
          `labelsense: showing ${shown} of the ${rendered.totalRows} rows of ${file.path.split("/").pop()}.`,
        );
      }
      return rendered.text;
    },
  };
  // Opening a .parquet file (Explorer, Quick Open) replaces it with its JSONL view.
  const editor: vscode.CustomReadonlyEditorProvider = {
    openCustomDocument: (uri) => ({ uri, dispose: () => undefined }),
    async resolveCustomEditor(document, panel) {
      panel.webview.html = `<p>Opening ${escapeHtml(document.uri.fsPath)} as JSONL…</p>`;
      try {
        await openView(document.uri, panel.viewColumn);
        panel.dispose();
      } catch (error) {
        panel.webview.html = `<p>labelsense cannot show ${escapeHtml(document.uri.fsPath)}: ${escapeHtml(String(error))}</p>`;
      }
    },
  };
  return vscode.Disposable.from(
    vscode.workspace.registerTextDocumentContentProvider(VIEW_SCHEME, content),
    vscode.window.registerCustomEditorProvider("labelsense.parquet", editor),
    vscode.commands.registerCommand("labelsense.openParquetAsJsonl", openParquetAsJsonl),
  );
}

async function openView(file: vscode.Uri, viewColumn?: vscode.ViewColumn): Promise<vscode.TextEditor> {
  const view = await vscode.workspace.openTextDocument(file.with({ scheme: VIEW_SCHEME }));
  const doc = view.languageId === "jsonl" ? view : await vscode.languages.setTextDocumentLanguage(view, "jsonl");
  return vscode.window.showTextDocument(doc, { viewColumn, preview: false });
}

/** The Parquet file given (Explorer menu), else the active one, else one picked from the workspace. */
async function openParquetAsJsonl(uri?: vscode.Uri): Promise<void> {
  const active = vscode.window.activeTextEditor?.document.uri;
  let file = uri ?? (active?.path.endsWith(".parquet") && active.scheme === "file" ? active : undefined);
  if (!file) {
    const found = await vscode.workspace.findFiles("**/*.parquet", "**/node_modules/**", 1000);
    const picked = await vscode.window.showQuickPick(
      found.map((f) => ({ label: vscode.workspace.asRelativePath(f), file: f })),
      { placeHolder: found.length ? "Parquet manifest to open as JSONL" : "no .parquet files in the workspace" },
    );
    file = picked?.file;
  }
  if (file) await openView(file);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
