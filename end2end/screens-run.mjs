// Screenshots of the Run panel for a stop's review (not part of the test suite): a shared
// terminal, then the same project after leaving it and coming back, at desktop size and on a
// phone (390x844). Prints any console error or page error (wasm panics included).
// Usage: BASE_URL=http://127.0.0.1:PORT OUT=/tmp/shots node end2end/screens-run.mjs
import { chromium } from "@playwright/test";
import { out, person } from "./screens-common.mjs";

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium" });
for (const [label, viewport] of [["desktop", { width: 1280, height: 800 }], ["phone", { width: 390, height: 844 }]]) {
  const name = `shot${label}${Date.now().toString(36)}`.slice(0, 24);
  const { ctx, page } = await person(browser, name, viewport);
  const errors = [];
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.getByLabel("Project name").fill("Run demo");
  await page.getByRole("button", { name: "Create project" }).click();
  await page.waitForURL(/\/p\/\d+$/);
  await page.locator("body[data-hydrated=true]").waitFor({ state: "attached" });
  if (label === "phone") await page.getByRole("tab", { name: "Run" }).click();
  await page.getByTestId("terminal-new").click();
  await page.locator("[data-test=terminal-screen] .xterm-rows").getByText("/project $").first().waitFor();
  await page.locator("[data-test=terminal-screen] .xterm").click();
  await page.keyboard.type("printf '\\033[32mgreen\\033[0m and plain\\n'; ls -la");
  await page.keyboard.press("Enter");
  await page.locator("[data-test=terminal-screen] .xterm-rows").getByText("README.md").waitFor();
  await page.screenshot({ path: `${out}/terminal-${label}.png` });
  // Away and back: the terminal is still there with its scrollback.
  const project = page.url();
  await page.getByRole("link", { name: "Tandem" }).click();
  await page.waitForURL(/\/$/);
  await page.goto(project);
  await page.locator("body[data-hydrated=true]").waitFor({ state: "attached" });
  if (label === "phone") await page.getByRole("tab", { name: "Run" }).click();
  await page.getByTestId("terminal-tab").click();
  await page.locator("[data-test=terminal-screen] .xterm-rows").getByText("README.md").waitFor();
  await page.screenshot({ path: `${out}/terminal-back-${label}.png` });
  console.log(`${label}: ${errors.length} console/page errors`, errors);
  await ctx.close();
}
await browser.close();
