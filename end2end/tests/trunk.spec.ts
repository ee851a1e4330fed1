// The Trunk bundle (`trunk build --release` → target/trunk, built by `cargo xtask test`):
// the same app rendered in the browser, served by a static host that forwards Tandem's own
// paths to the server, works end to end: sign up, create a project, edit, see it saved.
import fs from "node:fs";
import path from "node:path";
import { test, expect } from "./fixtures";
import { uniqueName, PASSWORD } from "./helpers";
import { link, type Link } from "./proxy";

// Playwright runs from the repository root (`cargo xtask test`).
const DIST = path.resolve("target/trunk");
let host: Link | undefined;

test.afterEach(async () => {
  await host?.close();
});

test("the Trunk bundle runs the app from a static host", async ({ browser, baseURL }) => {
  if (!fs.existsSync(path.join(DIST, "index.html"))) {
    // `cargo xtask test` builds the bundle before this suite; a missing one there is a bug.
    expect(process.env.CI, "target/trunk is missing: run `trunk build --release`").toBeFalsy();
    test.skip(true, "target/trunk not built (run `trunk build --release`)");
  }
  host = await link(baseURL!, undefined, DIST);
  const ctx = await browser.newContext({ baseURL: host.url });
  const page = await ctx.newPage();
  await page.goto("/signup");
  await expect(page.locator("body[data-shell=csr][data-mounted=true]")).toBeAttached();
  await page.getByLabel("Username").fill(uniqueName("csr"));
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign up" }).click();
  await page.getByLabel("Project name").fill("Static");
  await page.getByRole("button", { name: "Create project" }).click();
  await expect(page).toHaveURL(/\/p\/\d+$/);
  await expect(page.getByTestId("project-title")).toHaveText("Static");
  await expect(page.locator("[data-test=editor][data-ready=true]")).toBeAttached();
  await page.locator(".monaco-host .view-lines").click();
  await page.keyboard.press("Control+End");
  await page.keyboard.type("\nfrom the static bundle");
  await expect(page.getByTestId("save-status")).toHaveText("Saved");
  await expect(page.getByTestId("link-status")).toHaveText("Connected");
  await ctx.close();
});
