// Screenshots for a stop's review (not part of the test suite): the account page and a
// removed member's IDE, at desktop size and on a phone (390x844).
// Usage: BASE_URL=http://127.0.0.1:PORT OUT=/tmp/shots node end2end/screens.mjs
import { chromium } from "@playwright/test";
import { base, out, PASSWORD, person } from "./screens-common.mjs";

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium" });
for (const [label, viewport] of [["desktop", { width: 1280, height: 800 }], ["phone", { width: 390, height: 844 }]]) {
  const tag = `${label}${Date.now().toString(36)}`;
  const a = await person(browser, `own${tag}`.slice(0, 24), viewport);
  const b = await person(browser, `rem${tag}`.slice(0, 24), viewport);
  await a.page.getByLabel("Project name").fill("Revocation demo");
  await a.page.getByRole("button", { name: "Create project" }).click();
  await a.page.waitForURL(/\/p\/\d+$/);
  const project = a.page.url().split("/").pop();
  const bName = `rem${tag}`.slice(0, 24);
  await a.page.request.post("/api/projects/invite", { form: { project, username: bName, role: "editor" } });
  // A second browser of A's, so the sessions list has two rows.
  const other = await browser.newContext({ viewport, baseURL: base, userAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0" });
  const op = await other.newPage();
  await op.request.post("/api/login", { form: { name: `own${tag}`.slice(0, 24), password: PASSWORD } });
  await a.page.goto("/account");
  await a.page.getByTestId("sessions").waitFor();
  await a.page.screenshot({ path: `${out}/account-${label}.png`, fullPage: true });
  await b.page.goto(`/p/${project}`);
  await b.page.locator("[data-test=editor][data-ready=true]").waitFor({ state: "attached" });
  const me = await (await b.page.request.post("/api/me")).json();
  await a.page.request.post("/api/projects/remove-member", { form: { project, user: String(me.id) } });
  await b.page.getByText("You no longer have access").first().waitFor();
  await b.page.screenshot({ path: `${out}/removed-${label}.png` });
  await a.ctx.close();
  await b.ctx.close();
  await other.close();
}
await browser.close();
