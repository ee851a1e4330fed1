// Every test imports `test` and `expect` from here. The fixture watches every page of every
// browser context the test opens and fails the test, after it has run, when a page threw (an
// uncaught exception, a wasm panic's `RuntimeError: unreachable`) or logged a console error
// (console_error_panic_hook reports panics that way). A passing assertion cannot hide a panic.
//
// A test that provokes an error on purpose (a refused login answers 401, which Chromium logs)
// lists it with `allowConsoleErrors(page, /pattern/)` (for the rest of that test); nothing else
// is allowed.
import { test as base, expect, type BrowserContext, type Page } from "@playwright/test";

type Problem = { page: string; kind: "pageerror" | "console"; text: string };

type Watch = {
  problems: Problem[];
  allowed: RegExp[];
};

const watches = new WeakMap<object, Watch>();

function watchPage(page: Page, watch: Watch) {
  page.on("pageerror", (err) => {
    watch.problems.push({ page: page.url(), kind: "pageerror", text: `${err.name}: ${err.message}` });
  });
  page.on("console", (msg) => {
    if (msg.type() !== "error") return;
    const text = msg.text();
    if (watch.allowed.some((re) => re.test(text))) return;
    watch.problems.push({ page: page.url(), kind: "console", text });
  });
}

function watchContext(ctx: BrowserContext, watch: Watch) {
  for (const page of ctx.pages()) watchPage(page, watch);
  ctx.on("page", (page) => watchPage(page, watch));
}

/** Lets console errors matching `pattern` through for the rest of this test. */
export function allowConsoleErrors(page: Page, pattern: RegExp) {
  const watch = watches.get(page.context().browser() ?? page.context());
  if (!watch) throw new Error("allowConsoleErrors: this page is not watched by the fixture");
  watch.allowed.push(pattern);
}

export const test = base.extend<{ watch: Watch }>({
  // The built-in context (for tests that take `page`) is watched as well.
  context: async ({ context, watch }, use) => {
    watchContext(context, watch);
    await use(context);
  },
  watch: [
    async ({ browser }, use, testInfo) => {
      const watch: Watch = { problems: [], allowed: [] };
      watches.set(browser, watch);
      const newContext = browser.newContext.bind(browser);
      browser.newContext = async (...args: Parameters<typeof browser.newContext>) => {
        const ctx = await newContext(...args);
        watches.set(ctx, watch);
        watchContext(ctx, watch);
        return ctx;
      };
      for (const ctx of browser.contexts()) watchContext(ctx, watch);
      await use(watch);
      browser.newContext = newContext;
      watches.delete(browser);
      if (watch.problems.length > 0 && testInfo.status === testInfo.expectedStatus) {
        const lines = watch.problems.map((p) => `  [${p.kind}] ${p.page}: ${p.text}`);
        throw new Error(`the page reported errors:\n${lines.join("\n")}`);
      }
    },
    { auto: true },
  ],
});

export { expect };
