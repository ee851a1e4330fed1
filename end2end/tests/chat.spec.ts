// Issue 5's user story in real Chromium: two people chat live beside the editor (markdown,
// mentions, typing, unread counts, edits), insert a code block from the chat into the file,
// use the slash commands, and hostile messages and file names stay inert text.
import { type Page } from "@playwright/test";
import { expect, test } from "./fixtures";
import { create, hydrated, row, twoEditors } from "./helpers";

function text(page: Page): Promise<string> {
  return page.evaluate(() => (window as any).monaco.editor.getModels()[0].getValue());
}

async function say(page: Page, message: string) {
  const input = page.getByTestId("chat-input");
  await input.fill(message);
  await input.press("Enter");
  await expect(input).toHaveValue("");
}

test("two people chat live and insert a code block into the editor", async ({ browser }) => {
  const [a, b] = await twoEditors(browser, ["cat", "dan"], "Chat room");
  for (const p of [a, b]) {
    await expect(p.page.locator("[data-test=editor][data-ready=true]")).toBeAttached();
    await expect(p.page.getByTestId("chat-empty")).toBeVisible();
  }

  // Typing shows on the other side, then the message arrives rendered.
  const input = a.page.getByTestId("chat-input");
  await input.click();
  await input.pressSequentially("hello **team**", { delay: 25 });
  await expect(b.page.getByTestId("chat-typing")).toContainText(`${a.name} is typing`);
  await input.press("Enter");
  const hello = b.page.getByTestId("chat-message").filter({ hasText: "hello team" });
  await expect(hello.locator("strong")).toHaveText("team");
  await expect(b.page.getByTestId("chat-typing")).toHaveText("");

  // A mention of you is highlighted.
  await say(b.page, `hi @${a.name}, ready?`);
  const mention = a.page.getByTestId("chat-message").filter({ hasText: "ready?" });
  await expect(mention).toHaveClass(/mentions-me/);
  await expect(mention.locator(".mention")).toHaveText(`@${a.name}`);

  // With the chat hidden, new messages are counted; showing it clears the count.
  await b.page.getByTestId("toggle-chat").click();
  await say(a.page, "while you were away");
  await expect(b.page.getByTestId("chat-unread")).toHaveText("1");
  await b.page.getByTestId("toggle-chat").click();
  await expect(b.page.getByTestId("chat-unread")).toHaveCount(0);

  // Edit your own message: everyone sees the new text, marked as edited.
  const away = a.page.getByTestId("chat-message").filter({ hasText: "while you were away" });
  await away.hover();
  await away.getByTestId("chat-edit").click();
  await expect(input).toHaveValue("while you were away");
  await input.fill("while you were out");
  await input.press("Enter");
  await expect(
    b.page.getByTestId("chat-message").filter({ hasText: "while you were out" }),
  ).toContainText("(edited)");

  // A code block: highlighted by Monaco, inserted into the other person's editor at the
  // cursor, and from there synced to everyone's editor.
  await say(a.page, "```js\nconst answer = 42;\n```");
  const block = b.page.getByTestId("chat-message").filter({ hasText: "const answer = 42;" });
  await expect(block.locator("pre code.colorized")).toBeAttached();
  await b.page.locator(".monaco-host .view-lines").click();
  await b.page.keyboard.press("Control+Home");
  await block.hover();
  await block.getByRole("button", { name: "Insert into editor" }).click();
  await expect.poll(() => text(b.page)).toMatch(/^const answer = 42;\n/);
  await expect.poll(() => text(a.page)).toMatch(/^const answer = 42;\n/);

  // History survives a reload, in order.
  await a.page.reload();
  await hydrated(a.page);
  const bodies = a.page.getByTestId("chat-message");
  await expect(bodies).toHaveCount(4);
  await expect(bodies.first()).toContainText("hello team");
  await expect(bodies.last()).toContainText("const answer = 42;");

  // Slash commands: /help answers only you; /clear hides the history in this browser only.
  await say(a.page, "/help");
  await expect(a.page.getByTestId("chat-notice").last()).toContainText("/explain");
  await say(a.page, "/clear");
  await expect(a.page.getByTestId("chat-message")).toHaveCount(0);
  await expect(b.page.getByTestId("chat-message")).toHaveCount(4);
  await a.page.getByRole("button", { name: "Show the cleared messages" }).click();
  await expect(a.page.getByTestId("chat-message")).toHaveCount(4);
  for (const p of [a, b]) await p.ctx.close();
});

// `cargo xtask test` points the server at a stand-in provider (end2end/fake-ai.mjs).
test("the assistant's answer streams to everyone, renders, and can be stopped", async ({
  browser,
}) => {
  const [a, b] = await twoEditors(browser, ["gus", "hal"], "Assisted");
  for (const p of [a, b]) {
    await expect(p.page.locator("[data-test=editor][data-ready=true]")).toBeAttached();
  }
  const answers = (p: typeof a) =>
    p.page.getByTestId("chat-message").filter({ hasText: `asked by` });

  // A finished answer is rendered Markdown with a highlighted, insertable code block.
  await say(a.page, "/ai write a greeting");
  for (const p of [a, b]) {
    // The question, then the answer (which quotes it).
    await expect(p.page.getByTestId("chat-message").first()).toContainText("/ai write a greeting");
    const answer = answers(p).last();
    await expect(answer.getByTestId("chat-author")).toHaveText("Assistant");
    await expect(answer.locator("pre code")).toContainText('console.log("hi");');
    await expect(answer.getByRole("button", { name: "Insert into editor" })).toBeAttached();
    await expect(answer.getByTestId("chat-stream")).toHaveCount(0);
  }

  // A long answer streams into the other member's chat token by token; the asker stops it.
  await say(b.page, "/ai a slow answer please");
  await expect(a.page.getByTestId("chat-stream")).toContainText("word3");
  const streaming = answers(b).last();
  await streaming.hover();
  await streaming.getByTestId("chat-stop").click();
  for (const p of [a, b]) {
    const stopped = answers(p).filter({ hasText: "Stopped." });
    await expect(stopped).toContainText("word3");
    await expect(p.page.getByTestId("chat-stream")).toHaveCount(0);
  }
  const before = await answers(a).filter({ hasText: "Stopped." }).innerText();
  await a.page.waitForTimeout(800);
  expect(await answers(a).filter({ hasText: "Stopped." }).innerText()).toBe(before);

  // Regenerate asks again and replaces the answer.
  const first = answers(a).first();
  await first.hover();
  await first.getByTestId("chat-regenerate").click();
  await expect(answers(b).first().locator("pre code")).toContainText('console.log("hi");');
  await expect(answers(b)).toHaveCount(2);
  for (const p of [a, b]) await p.ctx.close();
});

test("hostile messages and file names render as inert text", async ({ browser }) => {
  const [a, b, url] = await twoEditors(browser, ["eve", "fay"], "Hostile");
  let dialogs = 0;
  for (const p of [a, b]) {
    p.page.on("dialog", (d) => {
      dialogs++;
      void d.dismiss();
    });
  }
  const project = Number(url.split("/").pop());
  const evilName = '<img src=x onerror="window.__pwned=1">.js';
  const created = await a.page.request.post("/api/files/create", {
    data: { project, parent: null, name: evilName, kind: "file" },
  });
  expect(created.ok()).toBeTruthy();
  const attacks = [
    "<script>window.__pwned=2</script>",
    '<img src=x onerror="window.__pwned=3">',
    "[click me](javascript:window.__pwned=4)",
    '<a href="javascript:window.__pwned=5">raw link</a>',
    `see ${evilName}`,
    '<svg onload="window.__pwned=6"></svg><iframe src="javascript:window.__pwned=7"></iframe>',
  ];
  for (const m of attacks) await say(a.page, m);
  for (const p of [a, b]) {
    const log = p.page.getByTestId("chat-log");
    await expect(p.page.getByTestId("chat-message")).toHaveCount(attacks.length);
    await expect(p.page.locator("[data-test=tree-row]").filter({ hasText: "onerror" })).toBeVisible();
    await expect(log.locator("img, script, svg, iframe")).toHaveCount(0);
    await expect(p.page.locator("img[src=x], [onerror], [onload]")).toHaveCount(0);
    await expect(p.page.locator('a[href^="javascript"], iframe')).toHaveCount(0);
    // The text is shown as written.
    await expect(log).toContainText("<script>window.__pwned=2</script>");
    await expect(log).toContainText(evilName);
    await log.getByText("click me").click();
    await log.getByText("raw link").click();
    expect(await p.page.evaluate(() => (window as any).__pwned)).toBeUndefined();
  }
  expect(dialogs).toBe(0);
  for (const p of [a, b]) await p.ctx.close();
});

/** Replaces the text of the editor that has focus (typing would get brackets auto-closed). */
async function setFocusedText(page: Page, text: string) {
  await page.evaluate((t) => {
    const e = (window as any).monaco.editor.getEditors().find((x: any) => x.hasTextFocus());
    e.executeEdits("test", [{ range: e.getModel().getFullModelRange(), text: t }]);
  }, text);
}

/** The focused editor's file text and cursor line. */
function focused(page: Page): Promise<[string, number] | null> {
  return page.evaluate(() => {
    const e = (window as any).monaco.editor.getEditors().find((x: any) => x.hasTextFocus());
    return e ? [e.getModel().getValue(), e.getPosition().lineNumber] : null;
  });
}

test("the assistant looks things up in the project and cites files that open", async ({ browser }) => {
  const [a, b] = await twoEditors(browser, ["ida", "jon"], "Looked up");
  for (const p of [a, b]) {
    await expect(p.page.locator("[data-test=editor][data-ready=true]")).toBeAttached();
  }
  // util.js defines parseConfig; app.js (open when asking) only uses it.
  for (const [name, text] of [
    ["util.js", "// helpers\nfunction parseConfig(text) {\n  return JSON.parse(text);\n}\n"],
    ["app.js", "const c = parseConfig(input);\n"],
  ]) {
    await create(a.page, "file", name);
    await row(a.page, name).click();
    const tab = a.page.locator(`[data-test=file-tab][data-name="${name}"]`);
    await expect(tab).toHaveAttribute("aria-selected", "true");
    await a.page.locator(".monaco-host:visible .view-lines").click();
    await setFocusedText(a.page, text);
    await expect(a.page.getByTestId("save-status")).toHaveText("Saved");
  }

  await say(a.page, "/ai where is `parseConfig` defined?");
  for (const p of [a, b]) {
    const answer = p.page.getByTestId("chat-message").filter({ hasText: "asked by" }).last();
    // What it was shown, as links: the asker's file and the definition it found.
    const sources = answer.getByTestId("chat-source");
    await expect(sources.filter({ hasText: /^app\.js:1/ })).toHaveCount(1);
    await expect(sources.filter({ hasText: /^util\.js:1–5$/ })).toHaveCount(1);
    // The answer's `util.js:2` is a link too.
    await expect(answer.getByTestId("chat-cite")).toHaveText("util.js:2");
  }

  // B follows the citation: util.js opens with the cursor on the definition.
  const answer = b.page.getByTestId("chat-message").filter({ hasText: "asked by" }).last();
  await answer.getByTestId("chat-cite").click();
  await expect(b.page.locator('[data-test=file-tab][data-name="util.js"]')).toHaveAttribute("aria-selected", "true");
  await expect.poll(() => focused(b.page)).toEqual([expect.stringContaining("function parseConfig"), 2]);
  // A source button opens its file the same way.
  await answer.getByTestId("chat-source").filter({ hasText: /^app\.js:1/ }).click();
  await expect(b.page.locator('[data-test=file-tab][data-name="app.js"]')).toHaveAttribute("aria-selected", "true");
  await expect.poll(() => focused(b.page)).toEqual(["const c = parseConfig(input);\n", 1]);
  // On a phone, a citation tapped in the Chat tab brings the editor forward with the file.
  await b.page.setViewportSize({ width: 390, height: 844 });
  const panels = b.page.getByRole("tablist", { name: "Panels" });
  await panels.getByRole("tab", { name: "Chat" }).click();
  await answer.getByTestId("chat-cite").click();
  await expect(panels.getByRole("tab", { name: "Editor" })).toHaveAttribute("aria-selected", "true");
  await expect(b.page.locator('[data-test=file-tab][data-name="util.js"]')).toHaveAttribute("aria-selected", "true");
  for (const p of [a, b]) await p.ctx.close();
});
