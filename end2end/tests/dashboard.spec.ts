// Issue 19's team dashboard in real Chromium: A works in a project (edits a file, runs it,
// mentions B in the chat) while B watches the dashboard, which updates live without a reload:
// A shows up in the project with the file open, the edit and the run's outcome arrive in the
// feed, the run is listed while it runs, and the mention raises the unread count (which B then
// marks read, and which stays read after a reload). The feed filters by kind; the page fits a
// phone.
import { expect, test } from "./fixtures";
import { create, hydrated, row, sandboxOrSkip, twoEditors, writePython } from "./helpers";

const SLOW = "import time\nprint('start', flush=True)\ntime.sleep(2.5)\nprint('done')\n";

test("the team dashboard follows a teammate's edits, runs and mentions live", async ({ browser }) => {
  const [a, b, ide] = await twoEditors(browser, ["dee", "eli"], "Team board");
  await sandboxOrSkip(a.page);
  await b.page.goto("/");
  await hydrated(b.page);
  await expect(b.page.locator("main.dashboard[data-live=on]")).toBeAttached();
  const card = b.page.locator('[data-test=project-card][data-name="Team board"]');
  await expect(card).toBeVisible();
  const feed = b.page.getByTestId("feed");
  // Both joined (A created it, B was invited).
  await expect(feed.locator("[data-test=feed-entry][data-kind=join]")).toHaveCount(2);

  // A opens a file and edits it: presence and the feed follow.
  await row(a.page, "README.md").click();
  await create(a.page, "file", "slow.py");
  await writePython(a.page, SLOW);
  // A has both files open; B, here, is in none of them.
  await expect(card.getByTestId("online-person")).toHaveText([new RegExp(`${a.name} in README\\.md, slow\\.py$`)]);
  const edit = feed.locator("[data-test=feed-entry][data-kind=edit]");
  await expect(edit).toContainText(`${a.name} edited slow.py`, { timeout: 15_000 });

  // A runs it: listed while it runs, then its outcome in the feed.
  await a.page.getByTestId("run-button").click();
  await expect(b.page.getByTestId("running-run")).toContainText("slow.py");
  const run = feed.locator("[data-test=feed-entry][data-kind=run]");
  await expect(run).toContainText(`${a.name} ran slow.py`);
  await expect(run).toContainText("exit 0", { timeout: 15_000 });
  await expect(b.page.getByTestId("running-now")).toHaveCount(0);

  // A mentions B: the unread count rises live, and B marks it read.
  const input = a.page.getByTestId("chat-input");
  await input.fill(`@${b.name} the run is green`);
  await input.press("Enter");
  await expect(input).toHaveValue("");
  const mentions = b.page.getByTestId("mentions");
  await expect(mentions.getByTestId("mentions-unread")).toHaveText("1");
  await expect(mentions.getByTestId("mention")).toContainText(`${a.name} in Team board`);
  await expect(mentions.getByTestId("mention")).toContainText("the run is green");
  await expect(feed.locator("[data-test=feed-entry][data-kind=chat]")).toContainText("the run is green");
  await mentions.getByTestId("mentions-read").click();
  await expect(mentions.getByTestId("mentions-unread")).toHaveCount(0);
  await b.page.reload();
  await hydrated(b.page);
  await expect(mentions.getByTestId("mention")).toBeVisible();
  await expect(mentions.getByTestId("mentions-unread")).toHaveCount(0);

  // The kind filter; the sparkline counts today.
  await feed.locator("[data-test=feed-kind][data-kind=run]").click();
  await expect(feed.locator("[data-test=feed-entry]")).toHaveCount(1);
  await expect(feed.locator("[data-test=feed-entry][data-kind=run]")).toHaveCount(1);
  await feed.locator("[data-test=feed-kind][data-kind=run]").click();
  await expect(feed.locator("[data-test=feed-entry][data-kind=chat]")).toHaveCount(1);
  const total = Number(await card.getByTestId("spark").getAttribute("data-total"));
  expect(total).toBeGreaterThanOrEqual(5);

  // On a phone: one column, nothing wider than the screen.
  await b.page.setViewportSize({ width: 390, height: 844 });
  await expect(card).toBeVisible();
  expect(await b.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await card.locator("[data-test=spark] rect").last().click();
  await expect(card.getByTestId("spark-label")).toContainText(/activit/);

  // A leaves the project's page: B sees nobody there.
  await a.page.goto("/");
  await expect(card.getByTestId("project-online")).toHaveText("Nobody here now");

  // The project's own dashboard (still on a phone): the run with its outcome, duration and
  // who started it, and slow.py as the file changed most this week, by A.
  await card.getByTestId("project-dashboard-link").click();
  await expect(b.page).toHaveURL(/\/p\/\d+\/dashboard$/);
  await hydrated(b.page);
  const overviewRun = b.page.locator("[data-test=overview-run][data-name='slow.py']");
  await expect(overviewRun).toContainText("exit 0");
  await expect(overviewRun).toContainText(a.name);
  const hot = b.page.locator("[data-test=hot-file]").first();
  await expect(hot).toHaveAttribute("data-name", "slow.py");
  await expect(hot.getByTestId("hot-people")).toContainText(a.name);
  expect(await b.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  expect(ide).toContain("/p/");
  for (const p of [a, b]) await p.ctx.close();
});
