// Drives a running code-server (VS Code in the browser) through a running headless
// Chromium (over CDP) the way a user would: Quick Open, Go to Line, mouse hover,
// F12, code lens, F2, the Problems panel, the command palette. Run by
// tests/e2e/test_vscode.py, which starts and stops both processes; this script only
// connects. Usage: node drive.mjs '<json config>'. Prints one JSON object
// {steps: [{name, ms, ...observed}], error?}; a step that times out
// records what it saw last, saves a screenshot and ends the run.
import { chromium } from "playwright-core";

const cfg = JSON.parse(process.argv[2]);
const out = { steps: [] };
const EDITOR = ".editor-group-container.active .editor-container .monaco-editor";

/** Poll `probe` until `ok(value)`; throw with the last value seen after `ms`. */
async function until(page, what, probe, ok, ms = 20000) {
  const end = Date.now() + ms;
  for (;;) {
    const last = await probe().catch((e) => `error: ${e.message}`);
    if (ok(last)) return last;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; last seen: ${JSON.stringify(last)}`);
    await page.waitForTimeout(100);
  }
}

/** Screen rectangle of `needle` in the first visible line of the active editor that contains all of `lineHas`. */
function locate([editor, lineHas, needle]) {
  const root = document.querySelector(editor);
  for (const line of root ? root.querySelectorAll(".view-line") : []) {
    const text = line.textContent.replace(/\u00a0/g, " ");
    const at = text.indexOf(needle);
    if (at < 0 || !lineHas.every((s) => text.includes(s))) continue;
    const walker = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
    const range = document.createRange();
    let pos = 0;
    let started = false;
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const len = node.textContent.length;
      if (!started && at < pos + len) {
        range.setStart(node, at - pos);
        started = true;
      }
      if (started && at + needle.length <= pos + len) {
        range.setEnd(node, at + needle.length - pos);
        break;
      }
      pos += len;
    }
    return range.getBoundingClientRect().toJSON();
  }
  return null;
}

const center = (r) => ({ x: r.x + r.width / 2, y: r.y + r.height / 2 });
const overlaps = (a, b) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
const visibleTexts = (page, selector) =>
  page.$$eval(selector, (es) => es.filter((e) => e.getClientRects().length > 0).map((e) => e.textContent));

async function step(page, name, fn) {
  const started = Date.now();
  try {
    out.steps.push({ name, ...(await fn()), ms: Date.now() - started });
  } catch (error) {
    out.error = `${name}: ${error.message}`;
    await page.screenshot({ path: `${cfg.artifacts}/failed-${name}.png` }).catch(() => undefined);
    throw error;
  }
}

const activeTab = (page) =>
  page.$eval(".editor-group-container.active .tab.active", (t) => t.getAttribute("data-resource-name"));
const statusItem = (page, id) => page.$eval(`#${id.replace(/\./g, "\\.")}`, (s) => s.textContent.trim());
const selection = (page) => statusItem(page, "status.editor.selection");

/** Open a quick input with `key`, type `text`, wait until the focused row `rowMatches` (Enter before that is lost), Enter. */
async function quickInput(page, key, text, rowMatches) {
  await page.keyboard.press(key);
  const box = await page.waitForSelector(".quick-input-widget .quick-input-box input", { state: "visible" });
  await box.type(text);
  await until(page, `a quick input row for ${text}`,
    () => page.$eval(".quick-input-list .monaco-list-row.focused", (r) => r.getAttribute("aria-label")),
    (label) => typeof label === "string" && rowMatches(label), 15000);
  await page.keyboard.press("Enter");
}

// The rows must match exactly: while the list catches up with the typed text, another row
// (a prefix's result) can have the focus.
async function openFile(page, path) {
  const name = path.split("/").pop();
  const folder = path.split("/").slice(0, -1).join("/");
  await quickInput(page, "Control+P", path, (l) => l.startsWith(`${name} ${folder},`));
  return until(page, `the tab of ${path}`, () => activeTab(page), (t) => t === name);
}

async function goTo(page, line, column) {
  const row = column ? `Go to line ${line} and character ${column}.` : `Go to line ${line}.`;
  await quickInput(page, "Control+G", column ? `${line}:${column}` : String(line), (l) => l === row);
  return until(page, `the cursor at ${line}:${column ?? 1}`, () => selection(page),
    (s) => (column ? s === `Ln ${line}, Col ${column}` : s.startsWith(`Ln ${line},`)));
}

async function command(page, title) {
  await quickInput(page, "F1", title, (l) => l === title || l.startsWith(`${title},`));
}

/** Hover the mouse over a rectangle until the hover shows `expected`; its text. */
async function hover(page, rect, expected) {
  const at = center(rect);
  let moved = 0;
  return until(page, `a hover with "${expected}"`,
    async () => {
      const seen = (await visibleTexts(page, ".monaco-hover-content")).join("\n");
      if (!seen && Date.now() - moved > 2500) { // off and back on: a hover that closed opens again
        await page.mouse.move(at.x, at.y + 40);
        await page.mouse.move(at.x, at.y, { steps: 4 });
        moved = Date.now();
      }
      return seen;
    },
    (t) => typeof t === "string" && t.includes(expected), 20000);
}

async function squigglesOver(page, rect) {
  return until(page, "a squiggle",
    () => page.$$eval(`${EDITOR} .squiggly-error`, (s) => s.map((e) => e.getBoundingClientRect().toJSON())),
    (rects) => Array.isArray(rects) && rects.some((r) => overlaps(r, rect)), 30000);
}

async function run(page) {
  const { manifest, row, label, taxonomy, parquet } = cfg;
  await step(page, "open", async () => {
    await page.goto(`${cfg.url}/?folder=${encodeURIComponent(cfg.folder)}`);
    await page.waitForSelector(".monaco-workbench", { timeout: 30000 });
    const tab = await openFile(page, manifest);
    await goTo(page, row.line);
    return { tab };
  });

  let labelRect;
  await step(page, "diagnostic", async () => {
    labelRect = await until(page, "the label on the row", () => page.evaluate(locate, [EDITOR, row.has, `"${label}"`]), Boolean);
    const squiggles = await squigglesOver(page, labelRect);
    return { squiggleUnderLabel: squiggles.some((r) => overlaps(r, labelRect)) };
  });

  await step(page, "hover", async () => {
    const text = await hover(page, labelRect, cfg.description);
    await page.screenshot({ path: `${cfg.artifacts}/hover.png` });
    await page.keyboard.press("Escape");
    await page.mouse.move(0, 0);
    return { text };
  });

  await step(page, "history", async () => {
    await command(page, "labelsense: Show Label History");
    const title = await until(page, "the label history", () => visibleTexts(page, ".quick-input-title"),
      (t) => Array.isArray(t) && t.some((s) => s.includes("Label history")));
    const rows = await until(page, "history rows", () => visibleTexts(page, ".quick-input-list .monaco-list-row"),
      (r) => Array.isArray(r) && r.length > 0);
    await page.keyboard.press("Escape");
    return { title, rows };
  });

  await step(page, "problems", async () => {
    await page.keyboard.press("Control+Shift+M");
    const filter = await page.waitForSelector(".part.panel .viewpane-filter input", { state: "visible" });
    await filter.fill(cfg.code);
    const rows = await until(page, `a ${cfg.code} row in the Problems panel`,
      () => page.$$eval(".markers-panel .monaco-list-row", (rs) => rs.map((r) => r.textContent)),
      (rs) => Array.isArray(rs) && rs.some((r) => r.includes(cfg.message)), 20000);
    await page.screenshot({ path: `${cfg.artifacts}/problems.png` });
    await command(page, "View: Hide Panel");
    return { rows };
  });

  await step(page, "definition", async () => {
    await goTo(page, row.line, row.column); // the cursor into the label, then F12
    await page.keyboard.press("F12");
    const tab = await until(page, "the taxonomy's tab", () => activeTab(page), (t) => t === taxonomy.path.split("/").pop());
    const where = await until(page, `line ${taxonomy.line}`, () => selection(page), (s) => s.startsWith(`Ln ${taxonomy.line},`));
    return { tab, selection: where };
  });

  await step(page, "codelens", async () => {
    // The lens above the class ("N samples in M files") runs labelsense.showReferences.
    await goTo(page, taxonomy.line, taxonomy.column); // reveals the class
    const lens = await until(page, "the class's code lens",
      () => page.evaluate(([editor, name]) => {
        const line = [...document.querySelectorAll(`${editor} .view-line`)]
          .find((l) => l.textContent.replace(/\u00a0/g, " ").trim() === `${name}:`);
        if (!line) return null;
        const top = line.getBoundingClientRect().top;
        const found = [...document.querySelectorAll(`${editor} .codelens-decoration a`)]
          .map((a) => ({ text: a.textContent, rect: a.getBoundingClientRect().toJSON() }))
          .find((a) => a.rect.bottom <= top + 1 && a.rect.bottom > top - 30);
        return found ?? null;
      }, [EDITOR, label]), Boolean);
    await page.mouse.click(center(lens.rect).x, center(lens.rect).y);
    const files = await until(page, "the references peek",
      () => page.$$eval(".peekview-widget .monaco-list-row", (rs) => rs.map((r) => r.getAttribute("aria-label"))),
      (rs) => Array.isArray(rs) && cfg.references.every((f) => rs.some((r) => r.includes(f))), 15000);
    await page.keyboard.press("Escape");
    return { lens: lens.text, files };
  });

  await step(page, "parquet", async () => {
    const tab = await openFile(page, parquet.path); // the custom editor swaps in the JSONL view
    const language = await until(page, "the JSONL view", () => statusItem(page, "status.editor.mode"), (m) => m === "JSON Lines");
    const firstLine = await until(page, "the view's first row",
      () => page.$eval(`${EDITOR} .view-line`, (l) => l.textContent.replace(/\u00a0/g, " ")), (t) => t.startsWith("{"));
    const rect = await until(page, "the label in the view", () => page.evaluate(locate, [EDITOR, [], `"${label}"`]), Boolean);
    const conflict = await until(page, "the conflicting row", () => page.evaluate(locate, [EDITOR, [parquet.conflictKey], "{"]), Boolean);
    await squigglesOver(page, { ...conflict, width: 600 });
    const text = await hover(page, rect, cfg.description);
    await page.keyboard.press("Escape");
    await page.mouse.move(0, 0);
    return { tab, language, firstLine, hover: text };
  });

  await step(page, "rename", async () => {
    await openFile(page, taxonomy.path);
    await goTo(page, taxonomy.line, taxonomy.column);
    await page.keyboard.press("F2");
    const input = await page.waitForSelector(".rename-box input", { state: "visible" });
    await input.fill(cfg.newName);
    await page.keyboard.press("Enter");
    await until(page, "the renamed class in the taxonomy editor",
      () => page.evaluate(locate, [EDITOR, [], `${cfg.newName}:`]), Boolean, 20000);
    await command(page, "File: Save All Files");
    const dirty = await until(page, "every editor saved",
      () => page.$$eval(".tab.dirty", (ts) => ts.map((t) => t.getAttribute("data-resource-name"))),
      (d) => Array.isArray(d) && d.length === 0, 15000);
    return { dirty };
  });
}

let browser;
try {
  browser = await chromium.connectOverCDP(cfg.cdp, { timeout: 15000 });
  const context = browser.contexts()[0] ?? (await browser.newContext());
  const page = await context.newPage();
  await page.setViewportSize({ width: 1600, height: 1000 });
  page.setDefaultTimeout(20000);
  await run(page);
} catch (error) {
  out.error ??= String(error?.stack ?? error);
} finally {
  process.stdout.write(JSON.stringify(out) + "\n");
  await browser?.close().catch(() => undefined);
}
