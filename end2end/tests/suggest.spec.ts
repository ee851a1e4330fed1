// Code actions as shared suggestions (issue 18): A selects a function and asks the assistant
// to add docs (Ctrl+.); B sees the suggestion over the same lines live, with who asked, and
// accepts it; both editors then hold the documented function, and one Ctrl+Z in B's editor
// takes it out again. The stand-in provider (`end2end/fake-ai.mjs`) puts `/** Adds two
// numbers. */` above the lines it is asked to document.
import { test, expect } from "./fixtures";
import { editorText, twoEditors } from "./helpers";
import type { Page } from "@playwright/test";

const CODE = "\nfunction add(a, b) {\n  return a + b;\n}\n";
const DOC = "/** Adds two numbers. */";

async function ready(page: Page) {
  await expect(page.locator("[data-test=editor][data-ready=true]")).toBeAttached();
  await expect(page.getByTestId("link-status")).toHaveText("Connected");
}

/** Appends `text` to the open file as one edit (typing would get brackets auto-closed). */
async function append(page: Page, text: string) {
  await page.evaluate((t) => {
    const m = (window as any).monaco;
    const e = m.editor.getEditors()[0];
    const end = e.getModel().getFullModelRange().getEndPosition();
    e.executeEdits("test", [{ range: new m.Range(end.lineNumber, end.column, end.lineNumber, end.column), text: t }]);
  }, text);
}

/** Picks `label` in the list Ctrl+. opens (with the keyboard: Monaco's action list takes
 * no synthetic clicks through its pointer guard). */
async function codeAction(page: Page, label: string) {
  await page.keyboard.press("Control+.");
  const focused = page.locator(".action-widget .monaco-list-row.focused");
  await expect(page.locator(".action-widget")).toBeVisible();
  for (let i = 0; i < 10 && !((await focused.textContent()) ?? "").includes(label); i++) {
    await page.keyboard.press("ArrowDown");
  }
  await expect(focused).toContainText(label);
  await page.keyboard.press("Enter");
}

/** Selects the lines from the one starting with `first` through the next `}` line. */
async function selectFunction(page: Page, first: string) {
  await page.evaluate((f) => {
    const m = (window as any).monaco;
    const e = m.editor.getEditors()[0];
    const lines: string[] = e.getModel().getLinesContent();
    const from = lines.findIndex((l) => l.startsWith(f)) + 1;
    const to = lines.findIndex((l, i) => i >= from && l === "}") + 1;
    e.setSelection(new m.Selection(from, 1, to, 2));
    e.focus();
  }, first);
}

test("a suggestion is shared, accepted by another editor and undone in one step", async ({ browser }) => {
  const [a, b] = await twoEditors(browser, ["ann", "bea"], "Docs");
  for (const p of [a, b]) await ready(p.page);
  await append(a.page, CODE);
  await expect.poll(() => editorText(b.page)).toContain("function add(a, b) {");
  await expect(a.page.getByTestId("save-status")).toHaveText("Saved");

  // A: select the function, Ctrl+. lists the AI actions, Add docs.
  await selectFunction(a.page, "function add");
  await codeAction(a.page, "AI: Add docs");

  // B sees it live: in the bar with who asked, and over the lines in the editor.
  const item = b.page.getByTestId("suggestion");
  await expect(item).toHaveAttribute("data-state", "open");
  await expect(item.getByTestId("suggestion-head")).toContainText(`${a.name} asked the assistant to add docs`);
  const zone = b.page.locator("[data-test=suggestion-zone][data-state=open]");
  await expect(zone).toContainText(DOC);
  await expect(a.page.locator("[data-test=suggestion-zone][data-state=open]")).toContainText(DOC);
  expect(await editorText(b.page)).not.toContain(DOC);

  // B accepts: both texts have it, and the suggestion is gone from both views.
  await item.getByTestId("suggestion-accept").click();
  for (const p of [a, b]) {
    await expect.poll(() => editorText(p.page)).toContain(`${DOC}\nfunction add(a, b) {`);
    await expect(p.page.getByTestId("suggestion")).toHaveCount(0);
    await expect(p.page.locator("[data-test=suggestion-zone]")).toHaveCount(0);
  }
  await expect(b.page.getByTestId("save-status")).toHaveText("Saved");

  // One undo in B's editor removes it everywhere; the function stays.
  await b.page.locator(".monaco-host .view-lines").click();
  await b.page.keyboard.press("Control+z");
  for (const p of [a, b]) {
    await expect.poll(() => editorText(p.page)).not.toContain(DOC);
    expect(await editorText(p.page)).toContain("function add(a, b) {\n  return a + b;\n}");
  }
});

test("a suggestion whose lines changed cannot be accepted, and Refactor asks what to do", async ({ browser }) => {
  const [a, b] = await twoEditors(browser, ["cal", "dee"], "Stale");
  for (const p of [a, b]) await ready(p.page);
  await append(a.page, CODE);
  await expect.poll(() => editorText(b.page)).toContain("function add(a, b) {");
  await expect(a.page.getByTestId("save-status")).toHaveText("Saved");

  // The AI actions are in the context menu and in the command palette (F1) too.
  await selectFunction(a.page, "function add");
  await a.page.locator(".monaco-host .view-line", { hasText: "return a + b;" }).click({ button: "right" });
  await expect(a.page.locator(".context-view").getByText("AI: Refactor…")).toBeVisible();
  await a.page.keyboard.press("Escape");
  await selectFunction(a.page, "function add");
  await a.page.keyboard.press("F1");
  await a.page.keyboard.type("AI: Refactor");
  await expect(a.page.locator(".quick-input-widget")).toContainText("AI: Refactor…");
  await a.page.keyboard.press("Escape");
  // Refactor… asks for the request in words first.
  await selectFunction(a.page, "function add");
  await codeAction(a.page, "AI: Refactor…");
  await a.page.getByTestId("refactor-input").fill("use an arrow function");
  await a.page.getByTestId("refactor-send").click();
  const item = b.page.getByTestId("suggestion");
  await expect(item).toHaveAttribute("data-state", "open");
  await expect(item).toContainText("use an arrow function");

  // A changes a line inside it: B's editor shows it no longer applies, and offers no Accept.
  await a.page.evaluate(() => {
    const m = (window as any).monaco;
    const e = m.editor.getEditors()[0];
    const lines: string[] = e.getModel().getLinesContent();
    const line = lines.findIndex((l) => l.includes("return a + b;")) + 1;
    e.executeEdits("test", [{ range: new m.Range(line, 3, line, 3), text: "// " }]);
  });
  await expect(item.getByTestId("suggestion-note")).toContainText("no longer applies");
  await expect(item.getByTestId("suggestion-accept")).toHaveCount(0);
  await expect(b.page.locator("[data-test=suggestion-zone]")).toHaveAttribute("data-state", "open");
  await expect(b.page.locator(".tandem-suggest-zone.inactive")).toHaveCount(1);
  // Dismissed, it is gone for both.
  await item.getByTestId("suggestion-reject").click();
  for (const p of [a, b]) await expect(p.page.getByTestId("suggestion")).toHaveCount(0);
  expect(await editorText(a.page)).not.toContain("Checked by the assistant");
});
