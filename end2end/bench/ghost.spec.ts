// Inline completions' numbers (issue 18), printed as `BENCH` lines; `cargo xtask bench ui`.
// The stand-in provider (`end2end/fake-ai.mjs`) answers at once, so what is measured is
// Tandem's own cost: the browser, the socket and the server.
// - keystroke → ghost text shown, minus the two deliberate waits (the browser's 250 ms pause
//   and the server's 75 ms debounce), p50 and p99 over many completions;
// - typing latency (a keystroke at A → the character in B's editor) with completions on and
//   off, the same typing with pauses in both;
// - requests that reached the provider per 100 typed characters.
import type { Page } from "@playwright/test";
import { expect, test } from "../tests/fixtures";
import { focusEnd, newProject, twoEditors } from "../tests/helpers";

const PAUSE_MS = 250;
const DEBOUNCE_MS = 75;
const GHOST = ".monaco-host .ghost-text-decoration, .monaco-host .ghost-text";

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))];
};

async function fills(): Promise<number> {
  const url = process.env.FAKE_AI_URL;
  if (!url) throw new Error("FAKE_AI_URL is not set (`cargo xtask bench ui` sets it)");
  const res = await fetch(`${url}/stats`);
  return (await res.json()).fills;
}

/** Epoch milliseconds, comparable between two pages of one browser. */
const now = (page: Page) => page.evaluate(() => performance.timeOrigin + performance.now());

test("keystroke to ghost text", async ({ page }) => {
  // The socket's part: a `complete` frame sent → its `completion` received (the server's
  // debounce, its work, and the stand-in provider over local HTTP).
  await page.addInitScript(() => {
    const w = window as any;
    w.sentAt = {};
    w.roundTrips = [];
    const text = (d: any) => (typeof d === "string" ? d : new TextDecoder().decode(d));
    const send = WebSocket.prototype.send;
    WebSocket.prototype.send = function (this: WebSocket, d: any) {
      const m = text(d).match(/"type":"complete","id":(\d+)/);
      if (m) w.sentAt[m[1]] = performance.now();
      return send.call(this, d);
    };
    const listen = WebSocket.prototype.addEventListener;
    WebSocket.prototype.addEventListener = function (this: WebSocket, type: string, fn: any, o?: any) {
      if (type === "message") {
        const inner = fn;
        fn = (e: MessageEvent) => {
          const m = text(e.data).match(/"type":"completion","id":(\d+)/);
          if (m && w.sentAt[m[1]]) w.roundTrips.push(performance.now() - w.sentAt[m[1]]);
          return inner(e);
        };
      }
      return listen.call(this, type, fn, o);
    };
  });
  await newProject(page, "gha", "Ghost bench");
  await expect(page.locator("[data-test=editor][data-ready=true]")).toBeAttached();
  await expect(page.getByTestId("ai-status")).toHaveText("AI");
  await focusEnd(page);
  // Records when ghost text appears (a MutationObserver on the editor).
  await page.evaluate(() => {
    const w = window as any;
    w.ghostAt = 0;
    new MutationObserver(() => {
      if (!w.ghostAt && document.querySelector(".monaco-host .ghost-text-decoration, .monaco-host .ghost-text")) {
        w.ghostAt = performance.timeOrigin + performance.now();
      }
    }).observe(document.querySelector(".monaco-host")!, { childList: true, subtree: true });
  });
  const samples: number[] = [];
  for (let i = 0; i < 40; i++) {
    await page.keyboard.type(`\nlet v${i} = `);
    await page.evaluate(() => ((window as any).ghostAt = 0));
    await page.keyboard.type("return");
    // The last keystroke's time (typing returns once the browser has handled it).
    const typed = await now(page);
    await expect(page.locator(GHOST).first()).toContainText("a + b;");
    const shown = await page.evaluate(() => (window as any).ghostAt);
    samples.push(shown - typed - PAUSE_MS - DEBOUNCE_MS);
    await page.keyboard.press("Escape");
    await expect(page.locator(GHOST)).toHaveCount(0);
  }
  console.log(
    `BENCH keystroke → ghost text minus the 250 ms pause and 75 ms debounce: p50 ${pct(samples, 50).toFixed(1)} ms, ` +
      `p99 ${pct(samples, 99).toFixed(1)} ms (n=${samples.length})`,
  );
  const trips: number[] = (await page.evaluate(() => (window as any).roundTrips)).map((t: number) => t - DEBOUNCE_MS);
  console.log(
    `BENCH socket: complete sent → completion received, minus the 75 ms debounce: p50 ${pct(trips, 50).toFixed(1)} ms, ` +
      `p99 ${pct(trips, 99).toFixed(1)} ms (n=${trips.length})`,
  );
});

test("typing latency with completions on and off, and requests per 100 characters", async ({ browser }) => {
  const [a, b] = await twoEditors(browser, ["gta", "gtb"], "Typing bench");
  for (const p of [a.page, b.page]) {
    await expect(p.locator("[data-test=editor][data-ready=true]")).toBeAttached();
  }
  // B listens to its model: the time each change arrived and the text's length then.
  await b.page.evaluate(() => {
    const w = window as any;
    w.arrivals = [];
    const model = w.monaco.editor.getModels()[0];
    model.onDidChangeContent(() => w.arrivals.push([performance.timeOrigin + performance.now(), model.getValueLength()]));
  });
  const run = async (label: string) => {
    await focusEnd(a.page);
    await a.page.keyboard.press("Enter");
    await expect.poll(() => b.page.evaluate(() => (window as any).monaco.editor.getModels()[0].getValueLength()))
      .toBe(await a.page.evaluate(() => (window as any).monaco.editor.getModels()[0].getValueLength()));
    await b.page.evaluate(() => ((window as any).arrivals = []));
    const start = await a.page.evaluate(() => (window as any).monaco.editor.getModels()[0].getValueLength());
    const before = await fills();
    const sent: Array<[number, number]> = [];
    // 200 characters in words, 60 ms apart, a 400 ms pause (a completion's worth) every 10.
    for (let i = 0; i < 200; i++) {
      const ch = i % 10 === 9 ? " " : "abcdefghij"[i % 10];
      const t = await now(a.page);
      await a.page.keyboard.type(ch);
      sent.push([t, start + i + 1]);
      await a.page.waitForTimeout(i % 10 === 9 ? 400 : 60);
      // A shown suggestion is dismissed, so the text typed stays what is measured.
      if (i % 10 === 9) await a.page.keyboard.press("Escape");
    }
    await expect.poll(() => b.page.evaluate(() => (window as any).monaco.editor.getModels()[0].getValueLength()))
      .toBe(start + 200);
    const arrivals: Array<[number, number]> = await b.page.evaluate(() => (window as any).arrivals);
    const latencies = sent.map(([t, len]) => {
      const hit = arrivals.find(([, l]) => l >= len);
      return hit ? hit[0] - t : NaN;
    }).filter((x) => !Number.isNaN(x));
    const upstream = (await fills()) - before;
    console.log(
      `BENCH typing latency A→B, completions ${label}: p50 ${pct(latencies, 50).toFixed(1)} ms, ` +
        `p99 ${pct(latencies, 99).toFixed(1)} ms (n=${latencies.length}); provider requests per 100 characters: ${(upstream / 2).toFixed(1)}`,
    );
  };
  await expect(a.page.getByTestId("ai-status")).toHaveText("AI");
  await run("on");
  await a.page.getByTestId("ai-status").click();
  await expect(a.page.getByTestId("ai-status")).toHaveText("AI off");
  await run("off");
  await a.page.getByTestId("ai-status").click();
  await expect(a.page.getByTestId("ai-status")).toHaveText("AI");
  await run("on, again");
  await a.ctx.close();
  await b.ctx.close();
});
