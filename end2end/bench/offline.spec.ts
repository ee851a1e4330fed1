// The installable app's numbers (issue 17), printed as `BENCH` lines; `cargo xtask bench ui`.
// - bytes: the hydrate wasm (raw and gzip -9) and everything a cold IDE page load transfers;
// - time to interactive of the IDE page (navigation → the editor shows the file), cold (new
//   profile: no HTTP cache, no service worker) and warm (the worker installed), with CPU ×4
//   and "Slow 4G" (150 ms, 1.6 Mbit/s) applied by a throttling link, which, unlike Chromium's
//   emulation, also slows the worker's own fetches;
// - reopening a project with 20 files offline (navigation → tree, then each file shown);
// - merging 1,000 offline edits (link back → Saved, and → the other member has them).
import fs from "node:fs";
import zlib from "node:zlib";
import type { Browser, BrowserContext, Page } from "@playwright/test";
import { expect, test, allowConsoleErrors } from "../tests/fixtures";
import { create, hydrated, newProject, row, signUp, uniqueName } from "../tests/helpers";
import { link } from "../tests/proxy";

const RUNS = Number(process.env.RUNS ?? 3);
const SLOW_4G = { latencyMs: 150, downKbps: 1600 };

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function editorShown(page: Page) {
  await expect(page.locator(".doc-pane:not(.hidden) [data-test=editor][data-ready=true]")).toBeAttached({ timeout: 120_000 });
}

function noisy(page: Page) {
  allowConsoleErrors(page, /ERR_|Failed to fetch|WebSocket|net::|Could not reach the server|50[23]/);
}

test("bytes of the first load", async ({ browser, baseURL }) => {
  const wasm = fs.readFileSync("target/site/pkg/tandem_bg.wasm");
  const js = fs.readFileSync("target/site/pkg/tandem.js");
  const gz = (b: Buffer) => zlib.gzipSync(b, { level: 9 }).length;
  console.log(`BENCH hydrate wasm: ${wasm.length} B raw, ${gz(wasm)} B gzip -9; its JS ${js.length} B raw, ${gz(js)} B gzip`);
  const ctx = await browser.newContext({ baseURL });
  const page = await ctx.newPage();
  const path = await newProject(page, "bytes", "Bytes");
  await editorShown(page);
  // A new profile for the measured load: nothing cached.
  const cold = await browser.newContext({ baseURL, storageState: await ctx.storageState() });
  const p = await cold.newPage();
  const cdp = await cold.newCDPSession(p);
  await cdp.send("Network.enable");
  let bytes = 0;
  let requests = 0;
  cdp.on("Network.loadingFinished", (e: any) => {
    bytes += e.encodedDataLength;
    requests += 1;
  });
  await p.goto(path);
  await editorShown(p);
  console.log(`BENCH IDE page, cold, until the editor shows: ${requests} requests, ${bytes} B transferred (compressed as served)`);
  await ctx.close();
  await cold.close();
});

/** A new profile signed in as `state`, behind a Slow 4G link, its CPU slowed four times. */
async function throttled(browser: Browser, baseURL: string, state: Awaited<ReturnType<BrowserContext["storageState"]>>) {
  const net = await link(baseURL, SLOW_4G);
  // Cookies are per host, not per port: the session works through the link.
  const ctx = await browser.newContext({ baseURL: net.url, storageState: state });
  const page = await ctx.newPage();
  const cdp = await ctx.newCDPSession(page);
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: 4 });
  return { page, close: async () => { await ctx.close(); await net.close(); } };
}

test("time to interactive of the IDE page, cold and warm, CPU x4 and Slow 4G", async ({ browser, baseURL }) => {
  const setup = await browser.newContext({ baseURL });
  const s = await setup.newPage();
  const path = await newProject(s, "tti", "TTI");
  await editorShown(s);
  const state = await setup.storageState();
  const cold: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const { page, close } = await throttled(browser, baseURL!, state);
    let t0 = Date.now();
    await page.goto(path);
    await editorShown(page);
    cold.push(Date.now() - t0);
    // Let the worker finish installing (it precaches in the background), then load again.
    await expect
      .poll(() => page.evaluate(() => navigator.serviceWorker.ready.then(() => !!navigator.serviceWorker.controller)), { timeout: 300_000 })
      .toBe(true);
    t0 = Date.now();
    await page.goto(path);
    await editorShown(page);
    warm.push(Date.now() - t0);
    await close();
  }
  console.log(`BENCH IDE TTI cold (CPU x4, Slow 4G): median ${median(cold)} ms of [${cold.join(", ")}]`);
  console.log(`BENCH IDE TTI warm, service worker (CPU x4, Slow 4G): median ${median(warm)} ms of [${warm.join(", ")}]`);
  await setup.close();
});

test("time to interactive of the dashboard, cold, CPU x4 and Slow 4G", async ({ browser, baseURL }) => {
  const setup = await browser.newContext({ baseURL });
  const s = await setup.newPage();
  await newProject(s, "ttd", "TTD");
  const state = await setup.storageState();
  const cold: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const { page, close } = await throttled(browser, baseURL!, state);
    const t0 = Date.now();
    await page.goto("/");
    await hydrated(page);
    cold.push(Date.now() - t0);
    await close();
  }
  console.log(`BENCH dashboard TTI cold (CPU x4, Slow 4G; navigation → hydrated): median ${median(cold)} ms of [${cold.join(", ")}]`);
  await setup.close();
});

test("reopen a project with 20 files offline; merge 1,000 offline edits", async ({ browser, baseURL }) => {
  test.setTimeout(600_000);
  const net = await link(baseURL!);
  // Tall enough for the whole tree of 21 rows (it draws only the rows on screen).
  const ctx = await browser.newContext({ baseURL: net.url, viewport: { width: 1280, height: 1400 } });
  const a = await ctx.newPage();
  const path = await newProject(a, "reopen", "Twenty");
  const names = Array.from({ length: 20 }, (_, i) => `f${String(i).padStart(2, "0")}.txt`);
  for (const n of names) {
    await create(a, "file", n);
    await editorShown(a);
    await a.locator(".doc-pane:not(.hidden) .monaco-host .view-lines").click();
    await a.keyboard.type(`contents of ${n}\n`);
  }
  await expect(a.getByTestId("save-status")).toHaveText("Saved");
  await expect
    .poll(() => a.evaluate(() => navigator.serviceWorker.ready.then(() => !!navigator.serviceWorker.controller)), { timeout: 120_000 })
    .toBe(true);
  noisy(a);
  const reopen: number[] = [];
  const perFile: number[] = [];
  await net.cut();
  await expect(a.getByTestId("link-status")).not.toHaveText("Connected");
  for (let i = 0; i < RUNS; i++) {
    const t0 = Date.now();
    await a.reload();
    await expect(row(a, names[19])).toBeVisible();
    reopen.push(Date.now() - t0);
    for (const n of names) {
      const t = Date.now();
      await row(a, n).click();
      await expect(a.locator(`.doc-pane:not(.hidden) .view-lines`)).toContainText(`contents of ${n}`);
      perFile.push(Date.now() - t);
    }
  }
  console.log(`BENCH reopen offline (navigation → tree of 20 files): median ${median(reopen)} ms of [${reopen.join(", ")}]`);
  console.log(`BENCH open a kept file offline (click → its text shown): median ${median(perFile)} ms, max ${Math.max(...perFile)} ms over ${perFile.length}`);

  // A second member stays online.
  const bctx = await browser.newContext({ baseURL });
  const b = await bctx.newPage();
  const bName = uniqueName("merge");
  await signUp(b, bName);
  // The invite goes over the real server (A's link is cut): A's session cookie works there too.
  const res = await a.context().request.post(`${baseURL}/api/projects/invite`, {
    form: { project: path.split("/").pop()!, username: bName, role: "editor" },
  });
  expect(res.ok()).toBeTruthy();
  await b.goto(path);
  await hydrated(b);
  await row(b, names[0]).click();
  await editorShown(b);

  await row(a, names[0]).click();
  await a.locator(".doc-pane:not(.hidden) .monaco-host .view-lines").click();
  await a.keyboard.press("Control+End");
  const marker = "Z".repeat(1000);
  await a.keyboard.type(marker); // 1,000 keystrokes, 1,000 local updates
  await expect(a.getByTestId("link-status")).toHaveAttribute("data-waiting", /^(\d{4,})$/);
  await net.restore();
  const t0 = Date.now();
  await a.evaluate(() => window.dispatchEvent(new Event("online")));
  await expect(a.getByTestId("link-status")).toHaveText("Connected", { timeout: 60_000 });
  const connected = Date.now() - t0;
  await expect(a.getByTestId("save-status")).toHaveText("Saved", { timeout: 60_000 });
  const saved = Date.now() - t0;
  await expect(b.locator(".doc-pane:not(.hidden) .view-lines")).toContainText("ZZZZZZZZZZ", { timeout: 60_000 });
  await expect.poll(() => b.evaluate(() => (window as any).monaco.editor.getModels().some((m: any) => m.getValue().includes("Z".repeat(1000))))).toBe(true);
  const seen = Date.now() - t0;
  console.log(`BENCH merge 1,000 offline edits: link back → Connected ${connected} ms, → Saved ${saved} ms, → the other member has them ${seen} ms`);
  await ctx.close();
  await bctx.close();
  await net.close();
});
