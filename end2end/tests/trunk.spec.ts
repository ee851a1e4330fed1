// The Trunk bundle (`trunk build --release` → target/trunk, built by `cargo xtask test`):
// the same app rendered in the browser, served by a static host that forwards Tandem's own
// paths to the server, works end to end: sign up, create a project, edit, see it saved.
import fs from "node:fs";
import path from "node:path";
import { test, expect } from "./fixtures";
import { uniqueName, PASSWORD } from "./helpers";
import { link, staticHost, type Link } from "./proxy";
import { startTandem, type Tandem } from "./server";

// Playwright runs from the repository root (`cargo xtask test`).
const DIST = path.resolve("target/trunk");
let host: Link | undefined;
let apart: { close(): Promise<void> } | undefined;
let tandem: Tandem | undefined;

test.afterEach(async () => {
  await host?.close();
  await apart?.close();
  await tandem?.stop();
  host = apart = tandem = undefined;
});

function needBundle() {
  if (!fs.existsSync(path.join(DIST, "index.html"))) {
    // `cargo xtask test` builds the bundle before this suite; a missing one there is a bug.
    expect(process.env.CI, "target/trunk is missing: run `trunk build --release`").toBeFalsy();
    test.skip(true, "target/trunk not built (run `trunk build --release`)");
  }
}

test("the Trunk bundle runs the app from a static host", async ({ browser, baseURL }) => {
  needBundle();
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

test("the Trunk bundle on another origin talks to a server that lists it", async ({ browser }) => {
  needBundle();
  if (!process.env.TANDEM_BIN) {
    expect(process.env.CI, "TANDEM_BIN is missing: `cargo xtask test` sets it").toBeFalsy();
    test.skip(true, "TANDEM_BIN not set (the release server to start)");
  }
  // A static host that forwards nothing, and a server that lists it as a client.
  const site = await staticHost(DIST);
  apart = site;
  tandem = await startTandem({ TANDEM_CLIENT_ORIGINS: site.url });
  site.server = tandem.url;
  const server = tandem.url;

  const ctx = await browser.newContext({ baseURL: site.url });
  const page = await ctx.newPage();
  const calls: string[] = [];
  page.on("request", (r) => calls.push(r.url()));
  await page.goto("/signup");
  await expect(page.locator("body[data-shell=csr][data-mounted=true]")).toBeAttached();
  await page.getByLabel("Username").fill(uniqueName("apart"));
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign up" }).click();
  await page.getByLabel("Project name").fill("Apart");
  await page.getByRole("button", { name: "Create project" }).click();
  await expect(page).toHaveURL(/\/p\/\d+$/);
  const project = page.url().match(/\/p\/(\d+)$/)![1];
  await expect(page.getByTestId("project-title")).toHaveText("Apart");
  await expect(page.locator("[data-test=editor][data-ready=true]")).toBeAttached();
  await page.locator(".monaco-host .view-lines").click();
  await page.keyboard.press("Control+End");
  await page.keyboard.type("\nfrom another origin");
  await expect(page.getByTestId("save-status")).toHaveText("Saved");
  await expect(page.getByTestId("link-status")).toHaveText("Connected");

  // Every call went to the server, none to the static host; downloads point there too.
  expect(calls.filter((u) => u.startsWith(`${server}/api/`)).length).toBeGreaterThan(2);
  expect(calls.filter((u) => /^[^?]*\/(api|ws|yjs)\b/.test(u) && !u.startsWith(server))).toEqual([]);
  await expect(page.getByTestId("download-zip")).toHaveAttribute(
    "href",
    `${server}/api/projects/${project}/export.zip`,
  );

  // The session holds across a reload (the cookie goes with the cross-origin calls), and the
  // edit is on the server.
  await page.reload();
  await expect(page.getByTestId("project-title")).toHaveText("Apart");
  await expect(page.locator(".monaco-host .view-lines")).toContainText("from another origin");
  await ctx.close();
});
