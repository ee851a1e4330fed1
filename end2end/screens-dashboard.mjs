// Screenshots of the team dashboard and the environments section for a stop's review (not part
// of the test suite): a teammate works in a project (a file open and edited, a run, a chat
// message mentioning the other) while the other person's dashboard shows it, at desktop size
// and on a phone (390x844); then the project's settings with an environment holding a variable
// and a secret. Prints any console error or page error (wasm panics included).
// Usage: BASE_URL=http://127.0.0.1:PORT OUT=/tmp/shots node end2end/screens-dashboard.mjs
import { chromium } from "@playwright/test";
import { out, person } from "./screens-common.mjs";

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium" });
const stamp = Date.now().toString(36);
const errors = [];
const watch = (page) => {
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push(String(e)));
};
const a = await person(browser, `ada${stamp}`, { width: 1280, height: 800 });
const b = await person(browser, `bo${stamp}`, { width: 1280, height: 900 });
watch(a.page);
watch(b.page);
await a.page.getByLabel("Project name").fill("Payments service");
await a.page.getByRole("button", { name: "Create project" }).click();
await a.page.waitForURL(/\/p\/\d+$/);
const project = new URL(a.page.url()).pathname;
const id = project.split("/").pop();
await a.page.request.post("/api/projects/invite", { form: { project: id, username: `bo${stamp}`, role: "editor" } });
await b.page.getByLabel("Project name").fill("Docs site");
await b.page.getByRole("button", { name: "Create project" }).click();
await b.page.waitForURL(/\/p\/\d+$/);
await b.page.goto("/");
await b.page.locator("main.dashboard[data-live=on]").waitFor({ state: "attached" });

await a.page.locator("body[data-hydrated=true]").waitFor({ state: "attached" });
await a.page.locator("[data-test=tree-row][data-name='README.md']").click();
await a.page.locator("[data-test=editor][data-ready=true]").waitFor({ state: "attached" });
await a.page.locator(".monaco-host:visible .view-lines").click();
await a.page.keyboard.type("# Payments\n\nCharges and refunds.\n");
await a.page.getByTestId("save-status").filter({ hasText: "Saved" }).waitFor();
const input = a.page.getByTestId("chat-input");
await input.fill(`@bo${stamp} can you review the refund flow?`);
await input.press("Enter");
await b.page.getByTestId("mentions-unread").waitFor();
await b.page.locator("[data-test=feed-entry][data-kind=edit]").waitFor({ timeout: 15000 });
await b.page.screenshot({ path: `${out}/dashboard-desktop.png`, fullPage: true });
await b.page.setViewportSize({ width: 390, height: 844 });
await b.page.screenshot({ path: `${out}/dashboard-phone.png`, fullPage: true });
const width = await b.page.evaluate(() => document.documentElement.scrollWidth);
console.log(`phone page width: ${width}`);

// The environments section of the settings page, desktop and phone.
await a.page.goto(`${project}/settings`);
await a.page.locator("body[data-hydrated=true]").waitFor({ state: "attached" });
await a.page.getByTestId("env-new-name").fill("staging");
await a.page.getByTestId("env-create").click();
const card = a.page.locator('[data-test=env][data-env="staging"]');
for (const [name, value, secret] of [["MODE", "fast", false], ["API_TOKEN", "tk-demo-secret", true]]) {
  await card.getByTestId("env-var-name").fill(name);
  if (secret) await card.getByTestId("env-var-secret").check();
  await card.getByTestId("env-var-input").fill(value);
  await card.getByTestId("env-var-save").click();
  await card.locator(`[data-test=env-var][data-name="${name}"]`).waitFor();
}
await a.page.getByTestId("envs-section").screenshot({ path: `${out}/envs-desktop.png` });
await a.page.setViewportSize({ width: 390, height: 844 });
await a.page.getByTestId("envs-section").screenshot({ path: `${out}/envs-phone.png` });
await a.page.goto(project);
await a.page.locator("body[data-hydrated=true]").waitFor({ state: "attached" });
await a.page.getByRole("tab", { name: "Run" }).click();
await a.page.screenshot({ path: `${out}/runbar-phone.png` });
console.log(`${errors.length} console/page errors`, errors);
await browser.close();
