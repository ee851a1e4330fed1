// Issue 3's user story in real Chromium: two people edit one file live in Monaco, see each
// other's named cursors, keep typing through a network cut, and undo only their own edits.
import { type Browser, type Page } from "@playwright/test";
import { allowConsoleErrors, expect, test } from "./fixtures";
import {
  converged,
  editorText,
  focusEnd,
  hydrated,
  type Person,
  seeEachOther,
  twoEditors as twoEditorsIn,
  typeTogether,
} from "./helpers";

/** Two editors of a new project, each with its editor showing the project's README. */
async function twoEditors(browser: Browser): Promise<[Person, Person, string]> {
  const [a, b, url] = await twoEditorsIn(browser, ["ann", "bob"], "Pair");
  for (const p of [a, b]) await editorReady(p.page);
  return [a, b, url];
}

async function editorReady(page: Page) {
  await expect(page.locator("[data-test=editor][data-ready=true]")).toBeAttached();
  await expect(page.getByTestId("link-status")).toHaveText("Connected");
}

/** The text in the page's Monaco model. */
const text = editorText;

test("two people type at once, converge, and see each other's cursors", async ({ browser }) => {
  const [a, b] = await twoEditors(browser);
  // Each person's words stay together: remote typing never moves the local cursor.
  const final = await typeTogether(a, b, "alpha types here. ", "bravo types there. ");

  // Named cursors of the other person, and both people in the file's avatars.
  await seeEachOther(a, b);

  // "Saved" means the server has it: a reload shows the same text.
  await expect(a.page.getByTestId("save-status")).toHaveText("Saved");
  await expect(b.page.getByTestId("save-status")).toHaveText("Saved");
  await b.page.reload();
  await hydrated(b.page);
  await editorReady(b.page);
  expect(await text(b.page)).toBe(final);

  // When one leaves, their cursor goes with them.
  await b.ctx.close();
  await expect(a.page.locator(".tandem-cursor-label")).toHaveCount(0);
  await a.ctx.close();
});

test("edits made offline merge when the network returns", async ({ browser }) => {
  const [a, b] = await twoEditors(browser);
  await focusEnd(a.page);
  await a.page.keyboard.type("shared start. ", { delay: 10 });
  await converged(a.page, b.page);

  // Requests made while the network is cut fail; Chromium logs that, and it is expected here.
  allowConsoleErrors(a.page, /net::ERR_INTERNET_DISCONNECTED/);
  await a.ctx.setOffline(true);
  await expect(a.page.getByTestId("link-status")).toHaveText("Offline");
  await focusEnd(a.page);
  await a.page.keyboard.type("written offline. ", { delay: 10 });
  await expect(a.page.getByTestId("save-status")).toHaveText("Unsaved changes");
  await focusEnd(b.page);
  await b.page.keyboard.type("written meanwhile. ", { delay: 10 });
  // The offline edit has not reached anyone.
  await b.page.waitForTimeout(500);
  expect(await text(b.page)).not.toContain("written offline.");

  await a.ctx.setOffline(false);
  await expect(a.page.getByTestId("link-status")).toHaveText("Connected");
  const final = await converged(a.page, b.page);
  for (const part of ["shared start. ", "written offline. ", "written meanwhile. "]) {
    expect(final).toContain(part);
  }
  await expect(a.page.getByTestId("save-status")).toHaveText("Saved");
  await a.ctx.close();
  await b.ctx.close();
});

test("Ctrl+Z undoes only your own edits", async ({ browser }) => {
  const [a, b] = await twoEditors(browser);
  await focusEnd(a.page);
  await a.page.keyboard.type("mine ", { delay: 10 });
  await converged(a.page, b.page);
  await focusEnd(b.page);
  await b.page.keyboard.type("theirs ", { delay: 10 });
  await converged(a.page, b.page);
  expect(await text(a.page)).toBe("mine theirs ");

  await a.page.keyboard.press("Control+z");
  await expect.poll(() => text(b.page)).toBe("theirs ");
  expect(await text(a.page)).toBe("theirs ");

  await a.page.keyboard.press("Control+Shift+z");
  await expect.poll(() => text(b.page)).toBe("mine theirs ");
  await expect(a.page.getByTestId("save-status")).toHaveText("Saved");
  await a.ctx.close();
  await b.ctx.close();
});
