// Issue 4's user story in real Chromium: one person creates, renames, drags into a folder,
// deletes and restores a file; a teammate sees every step live, and sees who has it open.
import { type Page } from "@playwright/test";
import { expect, test } from "./fixtures";
import { create, hydrated, row, twoEditors } from "./helpers";

/** The text of the active tab's Monaco model. */
function text(page: Page): Promise<string> {
  return page.evaluate(() => {
    const ed = (window as any).monaco.editor.getEditors().find((e: any) => e.hasTextFocus());
    return ed ? ed.getModel().getValue() : "";
  });
}

test("a tree changes live for a teammate, with presence on open files", async ({ browser }) => {
  const [a, b] = await twoEditors(browser, ["tia", "uli"], "Tree");
  // Both start with the README the project got on first open.
  await expect(row(b.page, "README.md")).toBeVisible();

  // Invalid names are explained inline before anything is sent.
  await a.page.getByTestId("new-file").click();
  await a.page.getByTestId("create-name").fill("a/b");
  await expect(a.page.getByTestId("create-error")).toContainText("cannot contain");
  await a.page.getByTestId("create-name").press("Escape");

  await create(a.page, "folder", "lib");
  await expect(row(b.page, "lib")).toBeVisible();
  // New entries go next to the selection: select a root file first.
  await row(a.page, "README.md").click();
  await create(a.page, "file", "util.rs");
  await expect(row(b.page, "util.rs")).toBeVisible();
  // The creator has it open: the teammate sees their dot on it.
  await expect(row(b.page, "util.rs").locator(`[data-test=viewer-dot][data-name="${a.name}"]`)).toBeVisible();

  // Rename inline (F2), drag into the folder.
  await row(a.page, "util.rs").click();
  await a.page.getByTestId("file-tree").press("F2");
  await a.page.getByTestId("rename-input").fill("helpers.rs");
  await a.page.getByTestId("rename-input").press("Enter");
  await expect(row(b.page, "helpers.rs")).toBeVisible();
  await expect(row(b.page, "util.rs")).toHaveCount(0);
  await row(a.page, "helpers.rs").dragTo(row(a.page, "lib"));
  await expect(row(a.page, "helpers.rs")).toHaveAttribute("data-depth", "1");
  // B's "lib" is collapsed: expanding shows the file inside.
  await row(b.page, "lib").click();
  await expect(row(b.page, "helpers.rs")).toHaveAttribute("data-depth", "1");

  // Delete via the context menu; restore from the trash.
  await row(a.page, "helpers.rs").click({ button: "right" });
  await a.page.getByTestId("menu-delete").click();
  await expect(row(b.page, "helpers.rs")).toHaveCount(0);
  await b.page.locator("[data-test=trash] summary").click();
  await expect(b.page.locator("[data-test=trash-item]")).toHaveAttribute("data-name", "lib/helpers.rs");
  await a.page.locator("[data-test=trash] summary").click();
  await a.page.getByTestId("restore").click();
  await expect(row(b.page, "helpers.rs")).toBeVisible();
  await expect(b.page.locator("[data-test=trash-item]")).toHaveCount(0);

  // Ctrl+P finds it by a fuzzy name and opens it in a tab.
  await b.page.keyboard.press("Control+p");
  await b.page.getByTestId("quick-open-input").fill("lhelp");
  await b.page.getByTestId("quick-open-input").press("Enter");
  await expect(b.page.locator("[data-test=file-tab][data-name='helpers.rs']")).toBeVisible();
  await expect(row(a.page, "helpers.rs").locator(`[data-test=viewer-dot][data-name="${b.name}"]`)).toBeVisible();

  // A reload keeps this browser's open tabs and expanded folders.
  await row(b.page, "README.md").click();
  await b.page.reload();
  await hydrated(b.page);
  await expect(b.page.locator("[data-test=file-tab]")).toHaveCount(2);
  await expect(b.page.locator("[data-test=file-tab][data-name='README.md']")).toHaveAttribute("aria-selected", "true");
  await expect(row(b.page, "helpers.rs")).toHaveAttribute("data-depth", "1");

  await a.ctx.close();
  await b.ctx.close();
});

test("search finds live text and a click opens the file at the match", async ({ browser }) => {
  const [a, b] = await twoEditors(browser, ["sia", "sol"], "Search");
  await create(a.page, "file", "notes.md");
  // Type into the new file's editor (the active tab).
  const active = a.page.locator(".doc-pane:not(.hidden)");
  await expect(active.locator("[data-test=editor][data-ready=true]")).toBeAttached();
  await active.locator(".monaco-host .view-lines").click();
  // One text input (as a paste would be): typed Enters could be taken by Monaco's suggestions.
  await a.page.keyboard.insertText("first line\nsecond line\nthe Needle is here\n");
  await expect.poll(() => text(a.page)).toContain("the Needle is here");
  await expect.poll(async () => (await text(a.page)).split("\n")[2]).toBe("the Needle is here");
  await expect(a.page.getByTestId("save-status")).toHaveText("Saved");

  // The teammate searches (case-insensitive by default), then with case and regex.
  await b.page.getByTestId("mode-search").click();
  await b.page.getByTestId("search-input").fill("needle");
  await b.page.getByTestId("search-input").press("Enter");
  await expect(b.page.getByTestId("search-summary")).toHaveText("1 result in 1 file");
  await expect(b.page.locator("[data-test=search-file]")).toHaveAttribute("data-path", "notes.md");
  await b.page.getByTestId("search-case").check();
  await expect(b.page.getByTestId("search-summary")).toHaveText("0 results in 0 files");
  await b.page.getByTestId("search-input").fill("N[a-z]+dle");
  await b.page.getByTestId("search-regex").check();
  await expect(b.page.getByTestId("search-summary")).toHaveText("1 result in 1 file");

  // A click opens the file in a tab with the match selected on line 3.
  const hit = b.page.locator("[data-test=search-hit]");
  await expect(hit).toHaveAttribute("data-line", "3");
  await hit.click();
  await expect(b.page.locator("[data-test=file-tab][data-name='notes.md']")).toHaveAttribute("aria-selected", "true");
  await expect
    .poll(() =>
      b.page.evaluate(() => {
        const ed = (window as any).monaco?.editor.getEditors().find((e: any) => e.hasTextFocus());
        const s = ed?.getSelection();
        return s ? `${s.startLineNumber}:${s.startColumn}-${s.endColumn}` : "";
      }),
    )
    .toBe("3:5-11");
  await a.ctx.close();
  await b.ctx.close();
});
