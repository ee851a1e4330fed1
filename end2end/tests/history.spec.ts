import { expect, test } from "@playwright/test";

import { converged, focusEnd, hydrated, signUp, twoEditors, uniqueName } from "./helpers";

// Who wrote what: two editors type, a viewer turns on the authors view and sees each line
// tinted and named on hover.
test("a viewer sees who wrote each line", async ({ browser }) => {
  const [a, b, url] = await twoEditors(browser, ["ann", "bob"], "Blame");
  const ctx = await browser.newContext();
  const c = { ctx, page: await ctx.newPage(), name: uniqueName("cid") };
  await signUp(c.page, c.name);
  const project = url.split("/").pop()!;
  const res = await a.page.request.post("/api/projects/invite", {
    form: { project, username: c.name, role: "viewer" },
  });
  expect(res.ok()).toBeTruthy();

  await focusEnd(a.page);
  await a.page.keyboard.type("alpha written by A\n", { delay: 10 });
  await converged(a.page, b.page);
  await focusEnd(b.page);
  await b.page.keyboard.type("beta written by B", { delay: 10 });
  await converged(a.page, b.page);

  await c.page.goto(new URL(url).pathname);
  await hydrated(c.page);
  await expect(c.page.locator(".view-line", { hasText: "beta written by B" })).toBeVisible();
  await c.page.getByTestId("blame-toggle").click();
  const legend = c.page.getByTestId("blame-legend");
  await expect(legend).toContainText(a.name);
  await expect(legend).toContainText(b.name);

  // Each line's text is tinted, and the hover names its author.
  for (const [text, who] of [
    ["alpha written by A", a.name],
    ["beta written by B", b.name],
  ]) {
    const line = c.page.locator(".view-line", { hasText: text });
    await expect(line.locator(".tandem-blame").first()).toBeVisible();
    await line.locator(".tandem-blame").first().hover();
    await expect(c.page.locator(".monaco-hover:visible")).toContainText(`${who}, just now`);
    await c.page.mouse.move(0, 0);
  }

  // New typing shows up in the view once it settles; turning it off clears the tint.
  await focusEnd(a.page);
  await a.page.keyboard.type(" and more from A", { delay: 10 });
  const more = c.page.locator(".view-line", { hasText: "and more from A" });
  await expect(more.locator(".tandem-blame")).not.toHaveCount(0);
  await c.page.getByTestId("blame-toggle").click();
  await expect(c.page.locator(".tandem-blame")).toHaveCount(0);
  await expect(c.page.getByTestId("blame-legend")).toHaveCount(0);
  for (const ctx of [a.ctx, b.ctx, c.ctx]) await ctx.close();
});

// File history: A names a version, A and B rewrite the file, C (an editor) opens the history,
// compares the named version with now and restores it; A and B see it at once.
test("an editor restores a named version and everyone sees it", async ({ browser }) => {
  const [a, b, url] = await twoEditors(browser, ["ann", "bob"], "Versions");
  const ctx = await browser.newContext();
  const c = { ctx, page: await ctx.newPage(), name: uniqueName("cid") };
  await signUp(c.page, c.name);
  const project = url.split("/").pop()!;
  const res = await a.page.request.post("/api/projects/invite", {
    form: { project, username: c.name, role: "editor" },
  });
  expect(res.ok()).toBeTruthy();

  await focusEnd(a.page);
  await a.page.keyboard.type("first draft line\n", { delay: 10 });
  await converged(a.page, b.page);
  await expect(a.page.getByTestId("save-status")).toHaveAttribute("data-state", "Saved");
  await a.page.getByTestId("history-toggle").click();
  await a.page.getByTestId("history-name").fill("First draft");
  await a.page.getByTestId("history-name-save").click();
  await expect(a.page.getByTestId("history-notice")).toContainText("First draft");
  await expect(a.page.getByTestId("history-label")).toHaveText("First draft");
  await a.page.getByTestId("history-close").click();
  await expect(a.page.getByTestId("history-panel")).toHaveCount(0);

  // The rewrite.
  await focusEnd(a.page);
  await a.page.keyboard.type("second line by A\n", { delay: 10 });
  await converged(a.page, b.page);
  await focusEnd(b.page);
  await b.page.keyboard.type("third line by B", { delay: 10 });
  const rewritten = await converged(a.page, b.page);
  expect(rewritten).toContain("third line by B");

  await c.page.goto(new URL(url).pathname);
  await hydrated(c.page);
  await expect(c.page.locator(".view-line", { hasText: "third line by B" })).toBeVisible();
  await c.page.getByTestId("history-toggle").click();
  const named = c.page.getByTestId("history-entry").filter({ hasText: "First draft" });
  await expect(named).toContainText(a.name);
  await named.locator("button").click();
  // The diff shows the version against now: B's line is only on the right.
  const diff = c.page.getByTestId("history-diff");
  await expect(diff).not.toHaveAttribute("data-shown", "");
  await expect(diff.locator(".editor.original .view-line", { hasText: "first draft line" })).toBeVisible();
  await expect(diff.locator(".editor.modified .view-line", { hasText: "third line by B" })).toBeVisible();
  c.page.once("dialog", (d) => d.accept());
  await c.page.getByTestId("history-restore").click();
  await expect(c.page.getByTestId("history-notice")).toContainText("Restored");

  // Everyone has the restored text at once, and the restore is in the timeline as C's.
  for (const p of [a.page, b.page, c.page]) {
    await expect(p.locator(".monaco-host .view-line", { hasText: "third line by B" })).toHaveCount(0);
    await expect(p.locator(".monaco-host .view-line", { hasText: "first draft line" })).toBeVisible();
  }
  await converged(a.page, b.page);
  const restore = c.page.getByTestId("history-entry").filter({ hasText: "restored version" });
  await expect(restore.first()).toContainText(c.name);
  for (const ctx of [a.ctx, b.ctx, c.ctx]) await ctx.close();
});
