// Issue 13's terminal story in real Chromium: A opens a terminal and types `ls`, B sees it
// (and sees the scrollback again after a reload); B cannot type until A grants it, then can;
// A removes B from the project and B's terminal view closes at once. Skipped only when the
// server says its sandbox is unavailable, and never under CI.
import { type Page } from "@playwright/test";
import { expect, test } from "./fixtures";
import { hydrated, sandboxOrSkip, twoEditors } from "./helpers";

/** The rows xterm.js renders (its DOM renderer). */
const screen = (page: Page) => page.locator("[data-test=terminal-screen] .xterm-rows");

/** Types a command line into the terminal shown on `page`. */
async function typeLine(page: Page, line: string) {
  await page.locator("[data-test=terminal-screen] .xterm").click();
  await page.keyboard.type(line);
  await page.keyboard.press("Enter");
}

test("a shared terminal: watched live, typed in once granted, closed on removal", async ({ browser }) => {
  const [a, b, url] = await twoEditors(browser, ["tia", "ben"], "Terminal");
  await sandboxOrSkip(a.page);
  await a.page.getByTestId("terminal-new").click();
  await expect(a.page.getByTestId("terminal-mode")).toHaveText("You can type");
  await expect(screen(a.page)).toContainText("/project $");
  await typeLine(a.page, "ls");
  await expect(screen(a.page)).toContainText("README.md");

  // B's panel shows the new terminal's tab; B watches it.
  await b.page.getByTestId("terminal-tab").click();
  await expect(screen(b.page)).toContainText("README.md");
  await expect(b.page.getByTestId("terminal-mode")).toHaveText("Watching");
  await expect(b.page.getByTestId("terminal-typists")).toHaveText(`Typing: ${a.name}`);

  // A reload keeps the terminal and replays its scrollback.
  await b.page.reload();
  await hydrated(b.page);
  await b.page.getByTestId("terminal-tab").click();
  await expect(screen(b.page)).toContainText("README.md");

  // B's keys go nowhere until A grants typing.
  await typeLine(b.page, "echo typed-by-b-early");
  await typeLine(a.page, "echo marker-$((40+2))");
  await expect(screen(b.page)).toContainText("marker-42");
  await expect(screen(a.page)).not.toContainText("typed-by-b-early");
  await a.page.getByTestId("terminal-grant").selectOption({ label: `Let ${b.name} type` });
  await expect(b.page.getByTestId("terminal-mode")).toHaveText("You can type");
  await typeLine(b.page, "echo hello-from-$((1+1))-b");
  await expect(screen(a.page)).toContainText("hello-from-2-b");

  // A removes B: B's terminal closes at once.
  const me = await (await b.page.request.post("/api/me")).json();
  const project = url.split("/").pop()!;
  const res = await a.page.request.post("/api/projects/remove-member", {
    form: { project, user: String(me.id) },
  });
  expect(res.ok()).toBeTruthy();
  await expect(b.page.getByTestId("terminal-view")).toHaveCount(0);
  await expect(b.page.getByTestId("terminal-tab")).toHaveCount(0);
  await expect(b.page.getByTestId("link-status")).toHaveText("You no longer have access");
  // A's terminal goes on, with B no longer among who types.
  await expect(a.page.getByTestId("terminal-typists")).toHaveText(`Typing: ${a.name}`);
  await a.page.getByTestId("terminal-close").click();
  await expect(a.page.getByTestId("terminal-meta")).toContainText(`closed: closed by ${a.name}`);
  await a.ctx.close();
  await b.ctx.close();
});
