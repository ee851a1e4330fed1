// Page changes inside the app (client-side routing) leave nothing behind: no window listener,
// socket callback or timer of the page left may touch its disposed state. Before the fix,
// IDE -> "Share & settings" -> "Back to the editor" panicked the wasm ("Tried to access a
// reactive value that has already been disposed", then `RuntimeError: unreachable`); the
// fixture fails this test on any page error or console error.
import { expect, test } from "./fixtures";
import { hydrated, projectLink, signUp, uniqueName } from "./helpers";

test("moving between the IDE, its settings and the dashboard leaves no errors", async ({
  browser,
}) => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await signUp(page, uniqueName("nav"));
  await page.getByLabel("Project name").fill("Walkabout");
  await page.getByRole("button", { name: "Create project" }).click();
  await expect(page).toHaveURL(/\/p\/\d+$/);
  const ideUrl = page.url();
  await expect(page.locator("[data-test=editor][data-ready=true]")).toBeAttached();
  await expect(page.getByTestId("link-status")).toHaveText("Connected");

  for (let round = 0; round < 2; round++) {
    await page.getByTestId("settings-link").click();
    await expect(page.getByRole("heading", { name: "Settings · Walkabout" })).toBeVisible();
    // Events the IDE listened to on the window: a click (the tree's context menu), a resize
    // (the tree's virtual list), a key (quick open).
    await page.locator("body").click();
    await page.setViewportSize({ width: 1100 + round * 10, height: 800 });
    await page.keyboard.press("Control+p");
    await page.getByRole("link", { name: "← Back to the editor" }).click();
    await expect(page).toHaveURL(ideUrl);
    await expect(page.locator("[data-test=editor][data-ready=true]")).toBeAttached();
    await expect(page.getByTestId("link-status")).toHaveText("Connected");
  }

  // Out to the dashboard through the header and back into the project.
  await page.getByRole("link", { name: "Tandem" }).click();
  await expect(projectLink(page, "Walkabout")).toBeVisible();
  await page.locator("body").click();
  await page.keyboard.press("Control+p");
  await projectLink(page, "Walkabout").click();
  await expect(page).toHaveURL(ideUrl);
  await hydrated(page);
  await expect(page.locator("[data-test=editor][data-ready=true]")).toBeAttached();
  // Still one working page: quick open opens and closes.
  await page.keyboard.press("Control+p");
  await expect(page.getByRole("dialog")).toBeVisible();
  await page.keyboard.press("Escape");
  await ctx.close();
});
