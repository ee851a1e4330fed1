// Issue 12's live revocation in real Chromium: an editor removed while typing is told at once
// and what they type after that reaches nobody; a demoted editor's file turns read-only
// without a reload; an account deleted from the account page hands its project over and
// stops its other tabs.
import { type Page } from "@playwright/test";
import { allowConsoleErrors, expect, test } from "./fixtures";
import { PASSWORD, hydrated, twoEditors } from "./helpers";

function text(page: Page): Promise<string> {
  return page.evaluate(() => (window as any).monaco.editor.getModels()[0].getValue());
}

async function ready(page: Page) {
  await expect(page.locator("[data-test=editor][data-ready=true]")).toBeAttached();
  await expect(page.getByTestId("link-status")).toHaveText("Connected");
}

async function userId(page: Page): Promise<string> {
  const me = await page.request.post("/api/me");
  expect(me.ok()).toBeTruthy();
  return String((await me.json()).id);
}

async function typeAtEnd(page: Page, s: string) {
  await page.locator(".monaco-host .view-lines").click();
  await page.keyboard.press("Control+End");
  await page.keyboard.type(s, { delay: 10 });
}

test("a member removed while typing is cut off at once", async ({ browser }) => {
  const [a, b, url] = await twoEditors(browser, ["own", "rem"], "Revocation");
  for (const p of [a, b]) await ready(p.page);
  const project = url.split("/").pop()!;
  const bId = await userId(b.page);

  await typeAtEnd(b.page, "typed while a member ");
  await expect.poll(() => text(a.page)).toContain("typed while a member ");

  const res = await a.page.request.post("/api/projects/remove-member", {
    form: { project, user: bId },
  });
  expect(res.ok()).toBeTruthy();
  // The bound: the removed person sees why within a second of the removal.
  await expect(b.page.getByTestId("link-status")).toHaveText("You no longer have access", {
    timeout: 1_000,
  });
  await expect(b.page.locator(".editor-error")).toContainText("You no longer have access");
  // Their editor no longer takes keystrokes, and nothing more reaches the owner.
  await b.page.keyboard.type("after removal", { delay: 10 });
  expect(await text(b.page)).not.toContain("after removal");
  await a.page.waitForTimeout(300); // a quiet period is the assertion: nothing arrives
  expect(await text(a.page)).not.toContain("after removal");
  // It stays that way: no reconnect loop brings the socket back.
  await expect(b.page.getByTestId("link-status")).toHaveText("You no longer have access");
  await a.ctx.close();
  await b.ctx.close();
});

test("a demoted editor's file turns read-only without a reload", async ({ browser }) => {
  const [a, b, url] = await twoEditors(browser, ["own", "dem"], "Demotion");
  for (const p of [a, b]) await ready(p.page);
  const project = url.split("/").pop()!;
  const bId = await userId(b.page);

  const res = await a.page.request.post("/api/projects/set-role", {
    form: { project, user: bId, role: "viewer" },
  });
  expect(res.ok()).toBeTruthy();
  await expect(b.page.getByTestId("my-role")).toHaveText("Viewer");
  await expect(b.page.getByTestId("role-changed")).toContainText("You are now a viewer.");
  // The document reopened read-only: typing changes nothing, here or for the owner.
  await expect(b.page.getByTestId("readonly-banner")).toBeVisible();
  await typeAtEnd(b.page, "viewer keystrokes");
  expect(await text(b.page)).not.toContain("viewer keystrokes");
  await a.page.waitForTimeout(300); // a quiet period is the assertion: nothing arrives
  expect(await text(a.page)).not.toContain("viewer keystrokes");
  await expect(b.page.getByTestId("link-status")).toHaveText("Connected");
  await a.ctx.close();
  await b.ctx.close();
});

test("deleting an account hands a project over and signs out its other tab", async ({
  browser,
}) => {
  const [a, b, url] = await twoEditors(browser, ["del", "heir"], "Handed over");
  for (const p of [a, b]) await ready(p.page);
  // A second tab of the leaving account, open in the IDE.
  const other = await a.ctx.newPage();
  await other.goto(url);
  await ready(other);

  await a.page.goto("/account");
  await hydrated(a.page);
  const card = a.page.getByTestId("delete-account");
  const choice = card.getByTestId("owned-project");
  await expect(choice).toHaveCount(1);
  await expect(choice.getByRole("combobox")).toHaveValue(await userId(b.page));
  await expect(choice.getByRole("option", { name: `Hand it to ${b.name} (Editor)` })).toBeAttached();
  await card.getByLabel("Your password").fill(PASSWORD);
  // The refused attempt answers 422, which Chromium logs.
  allowConsoleErrors(a.page, /status of 422/);
  await card.getByLabel("Type your username to confirm").fill("not me");
  await card.getByRole("button", { name: "Delete my account" }).click();
  await expect(card.getByText("Type your username to confirm.")).toBeVisible();
  await card.getByLabel("Type your username to confirm").fill(a.name);
  await card.getByRole("button", { name: "Delete my account" }).click();
  await expect(a.page).toHaveURL(/\/login/);
  // The other tab is told at once and stays stopped (no reconnect loop).
  await expect(other.getByTestId("link-status")).toHaveText(
    /^(You no longer have access|Signed out)$/,
  );

  // The heir owns the project now, and the old name signs in no more.
  await b.page.reload();
  await hydrated(b.page);
  await expect(b.page.getByTestId("my-role")).toHaveText("Owner");
  const res = await a.page.request.post("/api/login", {
    form: { name: a.name, password: PASSWORD },
  });
  expect(res.ok()).toBeFalsy();
  await a.ctx.close();
  await b.ctx.close();
});
