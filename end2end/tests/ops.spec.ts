// The operations console on a server of its own (a broadcast and maintenance reach every page
// of the server they run on, so never the shared one): the admin's banner appears at once for
// everyone, in the IDE and on the dashboard, and can be dismissed; maintenance turns open
// editors read-only with a banner saying why, and lifting it gives editing back without a
// reload; someone who is not an admin gets a 403 page.
import { allowConsoleErrors, expect, test } from "./fixtures";
import { editorText, focusEnd, hydrated, signUp, twoEditors, uniqueName } from "./helpers";
import { startTandem, type Tandem } from "./server";

let tandem: Tandem | undefined;
test.afterEach(async () => {
  await tandem?.stop();
  tandem = undefined;
});

async function readOnly(page: import("@playwright/test").Page): Promise<boolean> {
  return page.evaluate(() => {
    const m = (window as any).monaco;
    return m.editor.getEditors()[0].getOption(m.editor.EditorOption.readOnly);
  });
}

test("the admin's broadcast and maintenance reach every open page", async ({ browser }) => {
  if (!process.env.TANDEM_BIN) {
    expect(process.env.CI, "TANDEM_BIN is missing: `cargo xtask test` sets it").toBeFalsy();
    test.skip(true, "TANDEM_BIN not set (the release server to start)");
  }
  tandem = await startTandem({});
  const [a, b] = await twoEditors(browser, ["opa", "opb"], "Ops", [tandem.url, tandem.url]);
  for (const p of [a, b]) {
    await expect(p.page.locator("[data-test=editor][data-ready=true]")).toBeAttached();
  }
  const dashCtx = await browser.newContext({ baseURL: tandem.url });
  const dash = await dashCtx.newPage();
  await signUp(dash, uniqueName("opc"));
  await expect(dash.locator("main.dashboard[data-live=on]")).toBeAttached();

  const adminCtx = await browser.newContext({ baseURL: tandem.url });
  const admin = await adminCtx.newPage();
  const adminName = uniqueName("root");
  await signUp(admin, adminName);
  // Not an admin yet: the console is a 403 page (which Chromium logs).
  allowConsoleErrors(admin, /status of 403/);
  const refused = await admin.goto("/admin");
  expect(refused?.status()).toBe(403);
  tandem.command(["user", "admin", adminName]);
  await admin.goto("/account");
  await admin.getByTestId("ops-link").getByRole("link", { name: "Operations console" }).click();
  await expect(admin).toHaveURL(/\/admin$/);
  await hydrated(admin);
  await expect(admin.getByTestId("ops-sockets")).toBeVisible();
  await expect(admin.locator("[data-test=ops-user]")).toHaveCount(4);

  await admin.getByTestId("ops-banner-text").fill("Deploy at five <b>today</b>");
  await admin.getByTestId("ops-banner-send").click();
  for (const p of [a.page, b.page, dash, admin]) {
    // Shown as text, never as markup.
    await expect(p.getByTestId("notice-banner")).toContainText("Deploy at five <b>today</b>");
  }
  await expect(admin.getByTestId("ops-banner-now")).toBeVisible();
  // Dismissed on one page; the others keep it.
  await dash.getByTestId("notice-banner").getByRole("button", { name: "Dismiss" }).click();
  await expect(dash.getByTestId("notice-banner")).toHaveCount(0);
  await expect(a.page.getByTestId("notice-banner")).toBeVisible();

  await admin.getByTestId("ops-maintenance-text").fill("Moving to a bigger disk");
  await admin.getByTestId("ops-maintenance-toggle").click();
  for (const p of [a.page, b.page, dash]) {
    await expect(p.getByTestId("notice-maintenance")).toContainText("Moving to a bigger disk");
  }
  await expect(a.page.getByTestId("readonly-banner")).toContainText("maintenance");
  await expect.poll(() => readOnly(a.page)).toBe(true);
  await focusEnd(a.page);
  await a.page.keyboard.type("during", { delay: 10 });
  expect(await editorText(a.page)).not.toContain("during");
  await expect(a.page.getByTestId("link-status")).toHaveText("Connected");

  await expect(admin.getByTestId("ops-maintenance-toggle")).toHaveText("Lift maintenance");
  await admin.getByTestId("ops-maintenance-toggle").click();
  for (const p of [a.page, b.page, dash]) {
    await expect(p.getByTestId("notice-maintenance")).toHaveCount(0);
  }
  await expect.poll(() => readOnly(a.page)).toBe(false);
  await expect(a.page.getByTestId("readonly-banner")).toHaveCount(0);
  await focusEnd(a.page);
  await a.page.keyboard.type("after", { delay: 10 });
  await expect.poll(() => editorText(b.page)).toContain("after");
  await expect(a.page.getByTestId("save-status")).toHaveText("Saved");

  // The banner taken down disappears everywhere.
  await admin.getByTestId("ops-banner-down").click();
  for (const p of [a.page, b.page, admin]) {
    await expect(p.getByTestId("notice-banner")).toHaveCount(0);
  }
  for (const ctx of [a.ctx, b.ctx, dashCtx, adminCtx]) await ctx.close();
});
