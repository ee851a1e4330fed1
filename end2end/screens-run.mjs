// Screenshots of the Run panel for a stop's review (not part of the test suite): a finished
// Python run and a shared terminal, at desktop size and on a phone (390x844).
// Usage: BASE_URL=http://127.0.0.1:PORT OUT=/tmp/shots node end2end/screens-run.mjs
import { chromium, selectors } from "@playwright/test";

const base = process.env.BASE_URL;
const out = process.env.OUT ?? "/tmp/shots";
const PASSWORD = "correct horse battery staple";
selectors.setTestIdAttribute("data-test");

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium" });
for (const [label, viewport] of [["desktop", { width: 1280, height: 800 }], ["phone", { width: 390, height: 844 }]]) {
  const name = `shot${label}${Date.now().toString(36)}`.slice(0, 24);
  const ctx = await browser.newContext({ viewport, baseURL: base });
  const page = await ctx.newPage();
  await page.goto("/signup");
  await page.locator("body[data-hydrated=true]").waitFor({ state: "attached" });
  await page.getByLabel("Username").fill(name);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign up" }).click();
  await page.waitForURL(/\/$/);
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
  await ctx.close();
}
await browser.close();
