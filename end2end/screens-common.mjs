// What the review screenshot scripts share: the server, the output folder, and a new person
// signed up in their own browser context.
import { selectors } from "@playwright/test";

export const base = process.env.BASE_URL;
export const out = process.env.OUT ?? "/tmp/shots";
export const PASSWORD = "correct horse battery staple";
selectors.setTestIdAttribute("data-test");

export async function person(browser, name, viewport) {
  const ctx = await browser.newContext({ viewport, baseURL: base });
  const page = await ctx.newPage();
  await page.goto("/signup");
  await page.locator("body[data-hydrated=true]").waitFor({ state: "attached" });
  await page.getByLabel("Username").fill(name);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign up" }).click();
  await page.waitForURL(/\/$/);
  return { ctx, page };
}
