// Tandem on a phone (390×844, touch): the bottom tab bar, a long press on a tree row for its
// menu, typing into the editor; and, on any screen, remote cursor names that stay off the
// line the reader's cursor is on.
import { test, expect } from "./fixtures";
import { create, focusEnd, newProject, row, twoEditors } from "./helpers";
import type { Page } from "@playwright/test";

const PHONE = {
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 3,
  isMobile: true,
  hasTouch: true,
};

/** A finger resting on an element for `ms`, through Chromium's touch input. */
async function longPress(page: Page, selector: string, ms = 700) {
  const box = await page.locator(selector).boundingBox();
  if (!box) throw new Error(`${selector} is not on screen`);
  const point = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Input.dispatchTouchEvent", { type: "touchStart", touchPoints: [point] });
  await page.waitForTimeout(ms); // the press itself: holding still is what is tested
  await cdp.send("Input.dispatchTouchEvent", { type: "touchEnd", touchPoints: [] });
}

test("on a phone: tabs, a long press opens a row's menu, and typing works", async ({ browser }) => {
  const ctx = await browser.newContext(PHONE);
  const page = await ctx.newPage();
  await newProject(page, "phone", "Pocket");
  const tabs = page.getByRole("tablist", { name: "Panels" });
  await expect(tabs).toBeVisible();
  // The tab bar sits at the bottom of the screen.
  const bar = await tabs.boundingBox();
  expect(bar!.y + bar!.height).toBeGreaterThan(844 - 120);
  await tabs.getByRole("tab", { name: "Files" }).tap();
  await expect(page.locator(".pane.tree")).toBeVisible();
  await expect(page.locator(".pane.editor")).toBeHidden();
  await create(page, "file", "notes.md");
  // Rows are finger-sized.
  const rowBox = await row(page, "notes.md").boundingBox();
  expect(rowBox!.height).toBeGreaterThanOrEqual(40);
  await longPress(page, '[data-test=tree-row][data-name="notes.md"]');
  await expect(page.getByTestId("context-menu")).toBeVisible();
  await expect(page.getByTestId("menu-rename")).toBeVisible();
  // A tap elsewhere closes it.
  await page.getByTestId("project-title").tap();
  await expect(page.getByTestId("context-menu")).toHaveCount(0);
  // The long press did not also open the file a second time or leave the tree.
  await row(page, "notes.md").tap();
  await tabs.getByRole("tab", { name: "Editor" }).tap();
  await expect(page.locator(".doc-pane:not(.hidden) [data-test=editor][data-ready=true]")).toBeAttached();
  await page.locator(".doc-pane:not(.hidden) .monaco-host .view-lines").tap();
  await page.keyboard.type("typed on a phone");
  await expect(page.locator(".doc-pane:not(.hidden) .view-lines")).toContainText("typed on a phone");
  await expect(page.getByTestId("save-status")).toHaveText("Saved");
  await tabs.getByRole("tab", { name: "Chat" }).tap();
  await expect(page.locator(".pane.chat")).toBeVisible();
  await ctx.close();
});

test("a remote cursor's name never covers the line my cursor is on", async ({ browser }) => {
  const [a, b] = await twoEditors(browser, ["lbla", "lblb"], "Labels");
  await row(a.page, "README.md").click();
  await row(b.page, "README.md").click();
  await focusEnd(a.page);
  await a.page.keyboard.type("\none\ntwo\nthree\nfour\n");
  await expect.poll(() => b.page.evaluate(() => (window as any).monaco.editor.getModels()[0].getValue())).toContain("four");
  const lineOf = async (p: Page, text: string) =>
    p.evaluate((t) => {
      const m = (window as any).monaco.editor.getModels()[0];
      return m.getLinesContent().findIndex((l: string) => l === t) + 1;
    }, text);
  const twoLine = await lineOf(a.page, "two");
  // A reads line "two"; B's cursor goes to the line below it.
  await a.page.evaluate((line) => {
    const ed = (window as any).monaco.editor.getEditors()[0];
    ed.setPosition({ lineNumber: line, column: 1 });
    ed.focus();
  }, twoLine);
  await b.page.evaluate((line) => {
    const ed = (window as any).monaco.editor.getEditors()[0];
    ed.setPosition({ lineNumber: line, column: 2 });
    ed.focus();
  }, twoLine + 1);
  const label = a.page.locator(".tandem-cursor-label", { hasText: b.name });
  // Above would cover "two": the name goes below B's line.
  await expect(label).toHaveAttribute("data-place", "below");
  // And it fades once B's cursor rests, leaving the caret.
  await expect(label).toHaveClass(/idle/, { timeout: 10_000 });
  // A moves to the line below B's: the name may go above again.
  await a.page.evaluate((line) => {
    const ed = (window as any).monaco.editor.getEditors()[0];
    ed.setPosition({ lineNumber: line, column: 1 });
  }, twoLine + 2);
  await b.page.keyboard.press("End"); // B moves: the name shows again
  await expect(label).toHaveAttribute("data-place", "above");
  await a.ctx.close();
  await b.ctx.close();
});
