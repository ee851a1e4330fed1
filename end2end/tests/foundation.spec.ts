// Issue 2's user story in a real browser: sign up, create a project, see the hydrated IDE
// shell, invite a teammate who logs in from a second browser context, log out.
import { allowConsoleErrors, expect, test } from "./fixtures";
import { hydrated, logIn, PASSWORD, projectLink, signUp, uniqueName } from "./helpers";

test("sign up, create, share, open the shell, log out", async ({ browser }) => {
  const owner = uniqueName("ana");
  const mate = uniqueName("ben");

  const ownerCtx = await browser.newContext();
  const page = await ownerCtx.newPage();
  await signUp(page, owner);
  await expect(page.getByText("No projects yet.")).toBeVisible();

  await page.getByLabel("Project name").fill("Moon base");
  await page.getByRole("button", { name: "Create project" }).click();
  await expect(page).toHaveURL(/\/p\/\d+$/);
  const projectUrl = page.url();

  // The shell: tree, editor, chat, status bar with real data and honest empty states. A new
  // project opens its first file, README.md, for its owner.
  await expect(page.getByTestId("project-title")).toHaveText("Moon base");
  await expect(page.locator("[data-test=tree-row][data-name='README.md']")).toBeVisible();
  await expect(page.getByTestId("file-tab")).toHaveAttribute("data-name", "README.md");
  await expect(page.getByTestId("chat-empty")).toContainText("No messages yet");
  await expect(page.getByTestId("statusbar")).toContainText(`Signed in as ${owner}`);
  await expect(page.getByTestId("statusbar")).toContainText("Role: Owner");

  // Hydrated: a click changes state on the client.
  await page.reload();
  await hydrated(page);
  const toggle = page.getByTestId("toggle-files");
  await expect(toggle).toHaveAttribute("aria-expanded", "true");
  await toggle.click();
  await expect(toggle).toHaveAttribute("aria-expanded", "false");
  await expect(page.getByRole("complementary", { name: "Files" })).toBeHidden();
  await toggle.click();
  await expect(page.getByRole("complementary", { name: "Files" })).toBeVisible();

  // The teammate signs up in a second browser context.
  const mateCtx = await browser.newContext();
  const matePage = await mateCtx.newPage();
  await signUp(matePage, mate);

  // The owner invites them by name as an editor.
  await page.getByTestId("settings-link").click();
  await expect(page.getByRole("heading", { name: "Settings · Moon base" })).toBeVisible();
  await hydrated(page);
  const invite = page.getByTestId("invite-member");
  await invite.getByPlaceholder("Username").fill(mate);
  await invite.getByRole("combobox", { name: "Role" }).selectOption("editor");
  await invite.getByRole("button", { name: "Add member" }).click();
  await expect(page.getByText(`${mate} joined as Editor.`)).toBeVisible();

  // The teammate logs in again (fresh session) and sees the project.
  await matePage.getByTestId("logout").click();
  await expect(matePage).toHaveURL(/\/login/);
  await logIn(matePage, mate);
  await expect(matePage).toHaveURL(/\/$/);
  await expect(projectLink(matePage, "Moon base")).toBeVisible();
  await projectLink(matePage, "Moon base").click();
  await expect(matePage.getByTestId("my-role")).toHaveText("Editor");
  await expect(matePage.getByTestId("member-list")).toContainText(owner);

  // Log out: back to the login page, and the project is no longer reachable.
  await page.goto(projectUrl);
  await hydrated(page);
  await page.getByTestId("logout").click();
  await expect(page).toHaveURL(/\/login/);
  await page.goto(projectUrl);
  await expect(page).toHaveURL(/\/login\?next=/);

  await ownerCtx.close();
  await mateCtx.close();
});

test("invite link joins a second user; wrong password and strangers are refused", async ({ browser }) => {
  const owner = uniqueName("cy");
  const guest = uniqueName("dee");
  const stranger = uniqueName("eve");

  const ownerPage = await (await browser.newContext()).newPage();
  await signUp(ownerPage, owner);
  await ownerPage.getByLabel("Project name").fill("Link project");
  await ownerPage.getByRole("button", { name: "Create project" }).click();
  await expect(ownerPage).toHaveURL(/\/p\/\d+$/);
  const projectPath = new URL(ownerPage.url()).pathname;
  await ownerPage.goto(`${projectPath}/settings`);
  await hydrated(ownerPage);
  const form = ownerPage.getByTestId("create-link");
  await form.getByRole("combobox", { name: "Role" }).selectOption("viewer");
  await form.getByRole("button", { name: "Create link" }).click();
  const link = await ownerPage.getByLabel("Invite link").first().inputValue();
  expect(link).toMatch(/\/invite\/[A-Za-z0-9_-]{40,}$/);

  // The guest opens the link signed out, is sent to sign up / log in, then accepts.
  const guestPage = await (await browser.newContext()).newPage();
  await guestPage.goto(link);
  await expect(guestPage).toHaveURL(/\/login\?next=\/invite\//);
  await hydrated(guestPage);
  await guestPage.getByRole("link", { name: "Sign up" }).click();
  await expect(guestPage).toHaveURL(/\/signup\?next=/);
  await hydrated(guestPage);
  await guestPage.getByLabel("Username").fill(guest);
  await guestPage.getByLabel("Password").fill(PASSWORD);
  await guestPage.getByRole("button", { name: "Sign up" }).click();
  await expect(guestPage.getByRole("heading", { name: "Join Link project" })).toBeVisible();
  await hydrated(guestPage);
  await guestPage.getByRole("button", { name: "Accept invite" }).click();
  await expect(guestPage).toHaveURL(new RegExp(`${projectPath}$`));
  await expect(guestPage.getByTestId("my-role")).toHaveText("Viewer");

  // Wrong password shows a clear error; a stranger sees the 403 page.
  const strangerPage = await (await browser.newContext()).newPage();
  // Chromium logs the refused login (422) and the refused page (403) it is asked to make.
  allowConsoleErrors(strangerPage, /status of 422 \(Unprocessable Entity\)/);
  allowConsoleErrors(strangerPage, /status of 403 \(Forbidden\)/);
  await signUp(strangerPage, stranger);
  await strangerPage.getByTestId("logout").click();
  await expect(strangerPage).toHaveURL(/\/login/);
  await hydrated(strangerPage);
  await strangerPage.getByLabel("Username").fill(stranger);
  await strangerPage.getByLabel("Password").fill("not my password");
  await strangerPage.getByRole("button", { name: "Log in" }).click();
  await expect(strangerPage.getByTestId("password-error")).toHaveText("Wrong username or password.");
  await strangerPage.getByLabel("Password").fill(PASSWORD);
  await strangerPage.getByRole("button", { name: "Log in" }).click();
  await expect(strangerPage).toHaveURL(/\/$/);
  const res = await strangerPage.goto(projectPath);
  expect(res?.status()).toBe(403);
  await expect(strangerPage.getByRole("heading", { name: "403 · No access" })).toBeVisible();
});

test("mobile layout switches panels with tabs", async ({ browser }) => {
  const ctx = await browser.newContext({ viewport: { width: 390, height: 800 } });
  const page = await ctx.newPage();
  await signUp(page, uniqueName("fay"));
  await page.getByLabel("Project name").fill("Pocket");
  await page.getByRole("button", { name: "Create project" }).click();
  await expect(page).toHaveURL(/\/p\/\d+$/);
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId("file-tab")).toBeVisible();
  await expect(page.getByTestId("file-tree")).toBeHidden();
  await page.getByRole("tab", { name: "Files", exact: true }).click();
  await expect(page.getByTestId("file-tree")).toBeVisible();
  await expect(page.getByTestId("file-tab")).toBeHidden();
  await page.getByRole("tab", { name: "Chat", exact: true }).click();
  await expect(page.getByTestId("chat-empty")).toBeVisible();
  await ctx.close();
});
