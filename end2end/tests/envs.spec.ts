// Issue 19's environments in real Chromium: the owner makes an environment with a variable
// and a secret on the settings page (the secret never shown again, "set by"), an editor sees
// the variable but not the secret and cannot set secrets, then a run started in the
// environment uses the secret and both see it as •••• in the output, with the run marked
// "in staging".
import { type Page } from "@playwright/test";
import { expect, test } from "./fixtures";
import { create, hydrated, row, sandboxOrSkip, twoEditors, writePython } from "./helpers";

const SECRET = "tk-5c0ffee5ecre7";

async function setVar(page: Page, env: string, name: string, value: string, secret: boolean) {
  const card = page.locator(`[data-test=env][data-env="${env}"]`);
  await card.getByTestId("env-var-name").fill(name);
  if (secret) await card.getByTestId("env-var-secret").check();
  await card.getByTestId("env-var-input").fill(value);
  await card.getByTestId("env-var-save").click();
  await expect(card.locator(`[data-test=env-var][data-name="${name}"]`)).toBeVisible();
}

test("a secret set by the owner is used by a run and shows as •••• in its output", async ({ browser }) => {
  const [a, b, ide] = await twoEditors(browser, ["ola", "ben"], "Envs");
  await sandboxOrSkip(a.page);

  // The owner: an environment, a variable and a secret.
  await a.page.goto(new URL(ide).pathname + "/settings");
  await hydrated(a.page);
  const section = a.page.getByTestId("envs-section");
  await expect(section.getByTestId("envs-empty")).toBeVisible();
  await section.getByTestId("env-new-name").fill("staging");
  await section.getByTestId("env-create").click();
  const staging = a.page.locator('[data-test=env][data-env="staging"]');
  await expect(staging).toBeVisible();
  await setVar(a.page, "staging", "MODE", "fast", false);
  await setVar(a.page, "staging", "API_TOKEN", SECRET, true);
  const secretRow = staging.locator('[data-test=env-var][data-name="API_TOKEN"]');
  await expect(secretRow.getByTestId("env-secret-value")).toContainText("••••");
  await expect(secretRow.getByTestId("env-var-set")).toContainText(`set by ${a.name}`);
  // Gone from the page once saved, and after a reload too.
  await expect(staging.getByTestId("env-var-input")).toHaveValue("");
  expect(await a.page.content()).not.toContain(SECRET);
  await a.page.reload();
  await hydrated(a.page);
  await expect(staging.locator('[data-test=env-var][data-name="MODE"]').getByTestId("env-var-value")).toHaveText("fast");
  expect(await a.page.content()).not.toContain(SECRET);

  // The editor sees the variable, not the secret, and cannot make secrets.
  await b.page.goto(new URL(ide).pathname + "/settings");
  await hydrated(b.page);
  const bStaging = b.page.locator('[data-test=env][data-env="staging"]');
  await expect(bStaging.locator('[data-test=env-var][data-name="MODE"]').getByTestId("env-var-value")).toHaveText("fast");
  await expect(bStaging.locator('[data-test=env-var][data-name="API_TOKEN"]').getByTestId("env-secret-value")).toBeVisible();
  await expect(bStaging.getByTestId("env-var-secret")).toBeDisabled();
  await expect(bStaging.getByTestId("env-delete")).toHaveCount(0);
  expect(await b.page.content()).not.toContain(SECRET);

  // A run in staging: the program has the secret, everyone sees ••••.
  for (const p of [a.page, b.page]) {
    await p.goto(new URL(ide).pathname);
    await hydrated(p);
    await expect(p.getByTestId("link-status")).toHaveText("Connected");
  }
  await row(a.page, "README.md").click();
  await create(a.page, "file", "show.py");
  await writePython(a.page, "import os\nprint('token is', os.environ['API_TOKEN'], os.environ['MODE'])\n");
  await a.page.getByTestId("env-picker").selectOption("staging");
  await a.page.getByTestId("run-button").click();
  for (const p of [a.page, b.page]) {
    await expect(p.getByTestId("run-output")).toContainText("token is •••• fast");
    await expect(p.getByTestId("run-status")).toContainText("in staging");
    expect(await p.getByTestId("run-output").innerText()).not.toContain(SECRET);
  }
  // The choice is remembered in this browser.
  await a.page.reload();
  await hydrated(a.page);
  await expect(a.page.getByTestId("env-picker")).toHaveValue("staging");
  await a.ctx.close();
  await b.ctx.close();
});
