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
