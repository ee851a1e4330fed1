import { expect, type Browser, type BrowserContext, type Page } from "@playwright/test";
import { test } from "./fixtures";

export const PASSWORD = "correct horse battery staple";

/** A username unique to this run, so the suite can rerun against the same database. */
export function uniqueName(prefix: string): string {
  return `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
}

/** Waits until the wasm bundle has hydrated the server-rendered page. */
export async function hydrated(page: Page) {
  await expect(page.locator("body[data-hydrated=true]")).toBeAttached();
}

export async function signUp(page: Page, name: string) {
  await page.goto("/signup");
  await hydrated(page);
  await page.getByLabel("Username").fill(name);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page).toHaveURL(/\/$/);
  await hydrated(page);
}

/** Signs up a new person (`prefix` + a unique suffix) who creates `project` and lands in it;
 * returns the project's path (`/p/3`). */
export async function newProject(page: Page, prefix: string, project: string): Promise<string> {
  await signUp(page, uniqueName(prefix));
  await page.getByLabel("Project name").fill(project);
  await page.getByRole("button", { name: "Create project" }).click();
  await expect(page).toHaveURL(/\/p\/\d+$/);
  await hydrated(page);
  return new URL(page.url()).pathname;
}

export async function logIn(page: Page, name: string, next = "") {
  await page.goto(next ? `/login?next=${encodeURIComponent(next)}` : "/login");
  await hydrated(page);
  await page.getByLabel("Username").fill(name);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
}

export type Person = { ctx: BrowserContext; page: Page; name: string };

/** Two signed-up users in their own browser contexts; the first creates `project` and adds
 * the second as an editor; both then open it. Returns them and the project's URL. `bases`
 * puts each person on a server of their own (two nodes of one deployment). */
export async function twoEditors(
  browser: Browser,
  prefixes: [string, string],
  project: string,
  bases?: [string, string],
): Promise<[Person, Person, string]> {
  const people: Person[] = [];
  for (const [i, prefix] of prefixes.entries()) {
    const ctx = await browser.newContext(bases ? { baseURL: bases[i] } : {});
    const page = await ctx.newPage();
    const name = uniqueName(prefix);
    await signUp(page, name);
    people.push({ ctx, page, name });
  }
  const [a, b] = people;
  await a.page.getByLabel("Project name").fill(project);
  await a.page.getByRole("button", { name: "Create project" }).click();
  await expect(a.page).toHaveURL(/\/p\/\d+$/);
  const url = a.page.url();
  const id = url.split("/").pop()!;
  const res = await a.page.request.post("/api/projects/invite", {
    form: { project: id, username: b.name, role: "editor" },
  });
  expect(res.ok()).toBeTruthy();
  for (const p of people) {
    await p.page.goto(new URL(url).pathname);
    await hydrated(p.page);
    await expect(p.page.getByTestId("link-status")).toHaveText("Connected");
  }
  return [a, b, url];
}

/** A row of the file tree by its name. */
/** A project's name on the dashboard's card (its name also links from feed entries). */
export const projectLink = (page: Page, name: string) =>
  page.locator(`[data-test=project-card][data-name="${name}"] a.project-name`);

export const row = (page: Page, name: string) => page.locator(`[data-test=tree-row][data-name="${name}"]`);

/** Creates a file or folder through the tree's buttons (next to the selection). */
export async function create(page: Page, kind: "file" | "folder", name: string) {
  await page.getByTestId(kind === "file" ? "new-file" : "new-folder").click();
  await page.getByTestId("create-name").fill(name);
  await page.getByTestId("create-name").press("Enter");
  await expect(row(page, name)).toBeVisible();
}

/** The text in the page's Monaco model. */
export function editorText(page: Page): Promise<string> {
  return page.evaluate(() => (window as any).monaco.editor.getModels()[0].getValue());
}

/** Puts the caret at the end of the editor's text. */
export async function focusEnd(page: Page) {
  await page.locator(".monaco-host .view-lines").click();
  await page.keyboard.press("Control+End");
}

/** Waits until both pages hold the same text; returns it. */
export async function converged(a: Page, b: Page): Promise<string> {
  await expect.poll(async () => (await editorText(a)) === (await editorText(b)), { timeout: 10_000 }).toBe(true);
  return editorText(a);
}

/** Both people type at once at the end of the file; the text converges and holds both. */
export async function typeTogether(a: Person, b: Person, aText: string, bText: string): Promise<string> {
  await focusEnd(a.page);
  await focusEnd(b.page);
  await Promise.all([a.page.keyboard.type(aText, { delay: 15 }), b.page.keyboard.type(bText, { delay: 15 })]);
  const final = await converged(a.page, b.page);
  expect(final).toContain(aText);
  expect(final).toContain(bText);
  return final;
}

/** Each page shows the other person's named cursor and both people in the file's avatars. */
export async function seeEachOther(a: Person, b: Person) {
  await expect(a.page.locator(".tandem-cursor-label", { hasText: b.name })).toBeVisible();
  await expect(b.page.locator(".tandem-cursor-label", { hasText: a.name })).toBeVisible();
  for (const p of [a, b]) {
    for (const who of [a, b]) {
      await expect(p.page.locator(`[data-test=doc-people] [data-name="${who.name}"]`)).toBeAttached();
    }
  }
}

/** Replaces the text of the Python file open in the editor and waits until the server has it. */
export async function writePython(page: Page, text: string) {
  await expect(page.locator("[data-test=editor][data-ready=true][data-mode-id=python]")).toBeAttached();
  await page.evaluate((t) => {
    const ed = (window as any).monaco.editor
      .getEditors()
      .find((e: any) => e.getModel()?.getLanguageId() === "python");
    ed.executeEdits("test", [{ range: ed.getModel().getFullModelRange(), text: t }]);
  }, text);
  await expect(page.getByTestId("save-status")).toHaveText("Saved");
}

/** Skips a test that needs runs when the server says its sandbox is unavailable; under CI
 * that fails instead (the xtask installs bubblewrap there). */
export async function sandboxOrSkip(page: Page) {
  const health = await (await page.request.get("/healthz")).json();
  if (!health.runs?.enabled) {
    if (process.env.CI) throw new Error(`runs are disabled under CI: ${JSON.stringify(health.runs)}`);
    test.skip(true, `runs are disabled on this server: ${JSON.stringify(health.runs)}`);
  }
}
