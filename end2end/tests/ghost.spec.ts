// Inline completions (issue 18): after a pause in typing, the assistant's suggestion shows as
// ghost text after the cursor; Tab takes it into the shared document, and the status bar's AI
// item turns the feature off for this browser. The stand-in provider (`end2end/fake-ai.mjs`)
// completes text ending in `return` with ` a + b;`.
import { test, expect } from "./fixtures";
import { editorText, focusEnd, newProject } from "./helpers";

const ghost = ".monaco-host .ghost-text-decoration, .monaco-host .ghost-text";

test("ghost text appears after a pause and Tab takes it", async ({ page }) => {
  await newProject(page, "ghost", "Ghost");
  await expect(page.locator("[data-test=editor][data-ready=true]")).toBeAttached();
  await expect(page.getByTestId("ai-status")).toHaveText("AI");
  await focusEnd(page);
  await page.keyboard.type("\nfunction add(a, b) {\n  return");
  await expect(page.locator(ghost).first()).toContainText("a + b;");
  await page.keyboard.press("Tab");
  await expect.poll(() => editorText(page)).toContain("  return a + b;");
  await expect(page.getByTestId("save-status")).toHaveText("Saved");
  await expect(page.getByTestId("ai-status")).toHaveText("AI");

  // Escape hides a suggestion without taking it.
  await page.keyboard.type("\n}\nfunction sum(a, b) {\n  return");
  await expect(page.locator(ghost).first()).toContainText("a + b;");
  await page.keyboard.press("Escape");
  await expect(page.locator(ghost)).toHaveCount(0);
  expect(await editorText(page)).not.toMatch(/sum\(a, b\) \{\s*return a \+ b;/);

  // Off in this browser (kept across a reload): typing asks for nothing.
  await page.getByTestId("ai-status").click();
  await expect(page.getByTestId("ai-status")).toHaveText("AI off");
  const asked: string[] = [];
  page.on("websocket", (ws) => ws.on("framesent", (f) => asked.push(String(f.payload))));
  await page.reload();
  await expect(page.locator("[data-test=editor][data-ready=true]")).toBeAttached();
  await expect(page.getByTestId("ai-status")).toHaveText("AI off");
  await focusEnd(page);
  await page.keyboard.type("\nfunction three() {\n  return");
  // What is tested is that nothing happens: give a request the time it would take.
  await page.waitForTimeout(1_000);
  await expect(page.locator(ghost)).toHaveCount(0);
  expect(asked.filter((p) => p.includes('"complete"'))).toEqual([]);
});

test("owners see the project's AI use and turn completions off for everyone in it", async ({ page }) => {
  await newProject(page, "owner", "Switch");
  await expect(page.locator("[data-test=editor][data-ready=true]")).toBeAttached();
  await focusEnd(page);
  await page.keyboard.type("\nfunction add(a, b) {\n  return");
  await expect(page.locator(ghost).first()).toContainText("a + b;");
  const ide = new URL(page.url()).pathname;

  // The settings page: the completion just made is counted for the project.
  await page.goto(ide + "/settings");
  const completions = page.locator("[data-test=ai-usage-total][data-kind=completion]");
  await expect(completions.getByTestId("ai-usage-requests")).not.toHaveText("0");
  await expect(page.getByTestId("ai-completions-switch")).toBeChecked();
  await page.getByTestId("ai-completions-switch").uncheck();
  await expect(page.getByTestId("ai-completions-switch")).not.toBeChecked();
  await page.reload();
  await expect(page.getByTestId("ai-completions-switch")).not.toBeChecked();
  await expect(page.getByTestId("ai-assistant-switch")).toBeChecked();

  // Back in the editor: the first pause is answered "off", with why, and no more are asked.
  await page.goto(ide);
  await expect(page.locator("[data-test=editor][data-ready=true]")).toBeAttached();
  await focusEnd(page);
  await page.keyboard.type("\nfunction sub(a, b) {\n  return");
  await expect(page.getByTestId("ai-status")).toHaveText("AI off");
  await expect(page.getByTestId("ai-status")).toHaveAttribute("title", /owners turned inline completions off/);
  await expect(page.locator(ghost)).toHaveCount(0);
});
