// The installable app: install criteria, the service worker's offline shell, documents and
// chat kept on the device and merged when the connection is back, and updates announced
// rather than forced. "Offline" is a cut link (end2end/tests/proxy.ts): the page and its
// service worker both lose the server, as in a tunnel.
import { test, expect, allowConsoleErrors } from "./fixtures";
import { create, hydrated, newProject, row, signUp, uniqueName } from "./helpers";
import { link, type Link } from "./proxy";
import { chromium, type Page } from "@playwright/test";
import fs from "node:fs";
import os from "node:os";
import nodePath from "node:path";

/** The text of the editor on screen (several files may be open). */
function shownText(page: Page): Promise<string> {
  return page.evaluate(() => {
    const m = (window as any).monaco;
    if (!m) return ""; // Monaco still loading
    const ed = m.editor.getEditors().find((e: any) => e.getDomNode()?.offsetParent !== null);
    return ed ? ed.getModel().getValue() : "";
  });
}

async function typeAtEnd(page: Page, text: string) {
  await page.locator(".doc-pane:not(.hidden) .monaco-host .view-lines").click();
  await page.keyboard.press("Control+End");
  await page.keyboard.type(text, { delay: 10 });
}

/** Waits until the service worker controls the page (it claims pages on first install). */
async function controlled(page: Page) {
  await expect
    .poll(() => page.evaluate(() => navigator.serviceWorker.ready.then(() => !!navigator.serviceWorker.controller)), {
      timeout: 30_000,
    })
    .toBe(true);
}

/** Offline pages log failed requests (the socket's retries, the worker's refused fetches). */
function allowOfflineNoise(page: Page) {
  allowConsoleErrors(page, /ERR_CONNECTION_REFUSED|ERR_CONNECTION_RESET|ERR_EMPTY_RESPONSE|Failed to fetch|WebSocket|net::|Could not reach the server|503|502/);
}

let net: Link;

test.afterEach(async () => {
  await net?.close();
});

test("Chromium finds the app installable, and the manifest lists my projects", async ({ baseURL }) => {
  // A profile on disk: Chromium never offers to install from an incognito-like context.
  const dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), "tandem-install-"));
  const profile = await chromium.launchPersistentContext(dir, {
    baseURL,
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run"],
  });
  const page = profile.pages()[0] ?? (await profile.newPage());
  const id = (await newProject(page, "inst", "Installable")).split("/").pop();
  await controlled(page);
  const cdp = await page.context().newCDPSession(page);
  const { installabilityErrors } = await cdp.send("Page.getInstallabilityErrors");
  expect(installabilityErrors).toEqual([]);
  const manifest = await (await page.request.get("/manifest.webmanifest")).json();
  expect(manifest.display).toBe("standalone");
  expect(manifest.shortcuts.map((s: any) => s.url)).toContain(`/p/${id}`);
  // Nobody else's projects: a visitor's manifest has no shortcuts.
  const anon = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", args: ["--no-sandbox"] }).then((b) => b.newContext({ baseURL }));
  const visitor = await (await anon.request.get("/manifest.webmanifest")).json();
  expect(visitor.shortcuts).toEqual([]);
  await anon.browser()?.close();
  await profile.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test("edits made offline survive reloads and merge with a teammate's when the link is back", async ({ browser, baseURL }) => {
  net = await link(baseURL!);
  // A works through the link that will be cut; B straight to the server.
  const actx = await browser.newContext({ baseURL: net.url });
  const a = await actx.newPage();
  const path = await newProject(a, "tunnel", "Train ride");
  await create(a, "file", "one.txt");
  await typeAtEnd(a, "first line\n");
  await create(a, "file", "two.txt");
  await typeAtEnd(a, "second file\n");
  await expect(a.getByTestId("save-status")).toHaveText("Saved");

  const bctx = await browser.newContext();
  const b = await bctx.newPage();
  const bName = uniqueName("platform");
  await signUp(b, bName);
  const invite = await a.request.post("/api/projects/invite", {
    form: { project: path.split("/").pop()!, username: bName, role: "editor" },
  });
  expect(invite.ok()).toBeTruthy();

  await controlled(a);
  // Both files opened once: their copies are on the device. The tunnel starts.
  await net.cut();
  allowOfflineNoise(a);
  await expect(a.getByTestId("link-status")).not.toHaveText("Connected");
  await a.reload();
  await expect(a.locator("body[data-shell=offline][data-mounted=true]")).toBeAttached();
  await expect(row(a, "one.txt")).toBeVisible();
  await expect(row(a, "two.txt")).toBeVisible();
  await row(a, "one.txt").click();
  await expect.poll(() => shownText(a)).toContain("first line");
  await typeAtEnd(a, "typed in the tunnel\n");
  await row(a, "two.txt").click();
  await expect.poll(() => shownText(a)).toContain("second file");
  await typeAtEnd(a, "more offline\n");
  await expect(a.getByTestId("link-status")).toHaveText(/edits? waiting/);
  // A chat message written offline waits on the device.
  await a.getByTestId("chat-input").fill("sent from the tunnel");
  await a.getByTestId("chat-input").press("Enter");

  // A reload offline keeps everything: the copies come back from IndexedDB.
  await a.reload();
  await expect(row(a, "one.txt")).toBeVisible();
  await row(a, "one.txt").click();
  await expect.poll(() => shownText(a)).toContain("typed in the tunnel");
  await row(a, "two.txt").click();
  await expect.poll(() => shownText(a)).toContain("more offline");
  // The installed app starts at "/": offline it lists the projects kept here.
  await a.goto("/");
  await expect(a.getByTestId("kept-projects")).toContainText("Train ride");
  await a.getByTestId("kept-projects").getByRole("link", { name: "Train ride" }).click();
  await expect(row(a, "one.txt")).toBeVisible();

  // Meanwhile B edits one.txt on the server.
  await b.goto(path);
  await hydrated(b);
  await row(b, "one.txt").click();
  await expect.poll(() => shownText(b)).toContain("first line");
  await typeAtEnd(b, "from the platform\n");
  await expect(b.getByTestId("save-status")).toHaveText("Saved");
  await expect.poll(() => shownText(b)).not.toContain("typed in the tunnel");

  // Out of the tunnel: everything merges both ways, nothing lost.
  await net.restore();
  await expect(a.getByTestId("link-status")).toHaveText("Connected", { timeout: 30_000 });
  await expect(a.getByTestId("save-status")).toHaveText("Saved");
  await row(a, "one.txt").click();
  await expect.poll(() => shownText(a)).toContain("from the platform");
  await expect.poll(() => shownText(b)).toContain("typed in the tunnel");
  await row(b, "two.txt").click();
  await expect.poll(() => shownText(b)).toContain("more offline");
  // The chat message arrived exactly once.
  const said = b.locator("[data-test=chat-message]", { hasText: "sent from the tunnel" });
  await expect(said).toHaveCount(1);
  await b.reload();
  await hydrated(b);
  await expect(said).toHaveCount(1);
  await actx.close();
  await bctx.close();
});

test("signing out deletes this device's copies", async ({ browser }) => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await newProject(page, "leave", "Shared laptop");
  await create(page, "file", "secret.txt");
  await typeAtEnd(page, "private notes\n");
  await expect(page.getByTestId("save-status")).toHaveText("Saved");
  await page.goto("/account");
  await hydrated(page);
  await expect(page.getByTestId("local-usage")).not.toHaveAttribute("data-copies", "0");
  await page.getByTestId("logout").click();
  await expect(page).toHaveURL(/\/login/);
  const left = await page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name));
  expect(left).not.toContain("tandem-local");
  await ctx.close();
});

test("a new version is announced, not forced", async ({ browser, baseURL }) => {
  net = await link(baseURL!);
  const ctx = await browser.newContext({ baseURL: net.url });
  const page = await ctx.newPage();
  await signUp(page, uniqueName("upd"));
  await controlled(page);
  await page.evaluate(() => ((window as any).__stillHere = true));
  net.newWorker("// a newer build");
  await page.evaluate(() => navigator.serviceWorker.getRegistration().then((r) => r?.update()));
  await expect(page.getByTestId("update-banner")).toBeVisible({ timeout: 60_000 });
  // Nothing reloaded on its own.
  expect(await page.evaluate(() => (window as any).__stillHere)).toBe(true);
  const reloaded = page.waitForEvent("load");
  await page.getByTestId("update-reload").click();
  await reloaded;
  await hydrated(page);
  expect(await page.evaluate(() => (window as any).__stillHere ?? false)).toBe(false);
  await expect(page.getByTestId("update-banner")).toHaveCount(0);
  await ctx.close();
});

/** The names of the documents kept in this browser's local copies. */
function keptNames(page: Page): Promise<string[]> {
  return page.evaluate(
    () =>
      new Promise<string[]>((resolve, reject) => {
        const req = indexedDB.open("tandem-local");
        req.onerror = () => reject(req.error);
        req.onsuccess = () => {
          const tx = req.result.transaction("docs");
          const all = tx.objectStore("docs").getAll();
          all.onsuccess = () => {
            resolve(all.result.map((d: any) => d.name).sort());
            req.result.close();
          };
          all.onerror = () => reject(all.error);
        };
      }),
  );
}

async function closeTab(page: Page, name: string) {
  // A file with edits not on the server asks before its tab closes.
  page.once("dialog", (d) => d.accept());
  await page.locator(`[data-test=file-tab][data-name="${name}"] [data-test=tab-close]`).click();
  await expect(page.locator(`[data-test=file-tab][data-name="${name}"]`)).toHaveCount(0);
}

test("local copies stay within their bounds: least recently used go, open and unsent ones stay", async ({ browser, baseURL }) => {
  net = await link(baseURL!);
  const ctx = await browser.newContext({ baseURL: net.url });
  const page = await ctx.newPage();
  await newProject(page, "bounds", "Bounded");
  for (const n of ["old.txt", "unsent.txt", "open.txt"]) {
    await create(page, "file", n);
    await typeAtEnd(page, `text of ${n}\n`);
    await expect(page.getByTestId("save-status")).toHaveText("Saved");
  }
  await expect.poll(() => keptNames(page)).toEqual(expect.arrayContaining(["old.txt", "open.txt", "unsent.txt"]));
  await controlled(page);
  // unsent.txt gets an edit the server never sees, then its tab closes.
  await net.cut();
  allowOfflineNoise(page);
  await page.locator("[data-test=file-tab][data-name='unsent.txt']").click();
  await typeAtEnd(page, "only on this device\n");
  await expect(page.getByTestId("link-status")).toHaveText(/edits? waiting/);
  await closeTab(page, "unsent.txt");
  await closeTab(page, "old.txt");
  // Bounds of one byte: everything evictable goes at the next write.
  await page.evaluate(() => localStorage.setItem("tandem.offline.limits", "1,1"));
  await page.reload();
  await expect(page.locator("body[data-mounted=true]")).toBeAttached();
  await page.locator("[data-test=file-tab][data-name='open.txt']").click();
  await typeAtEnd(page, "a write that checks the bounds\n");
  await expect.poll(() => keptNames(page)).not.toContain("old.txt");
  const kept = await keptNames(page);
  expect(kept).toContain("open.txt"); // open: kept
  expect(kept).toContain("unsent.txt"); // edits not on the server: kept
  // Back online, the unsent edit reaches the server; then it may go like any other.
  await net.restore();
  await page.evaluate(() => window.dispatchEvent(new Event("online")));
  await expect(page.getByTestId("link-status")).toHaveText("Connected", { timeout: 30_000 });
  await row(page, "unsent.txt").click();
  await expect.poll(() => shownText(page)).toContain("only on this device");
  await expect(page.getByTestId("save-status")).toHaveText("Saved");
  await ctx.close();
});
