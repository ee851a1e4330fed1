// A watching member's frame time while a run floods its output (`yes | head -c 100M`, the
// server's default output rate): requestAnimationFrame intervals in B's tab for SECS seconds
// with the Run panel showing the flood, against the same tab idle just before. Printed as
// `BENCH` lines (p50, p99, max, frames over 50 ms). `cargo xtask bench ui`.
import { type Page } from "@playwright/test";
import { expect, test } from "../tests/fixtures";
import { create, row, twoEditors } from "../tests/helpers";

const SECS = Number(process.env.SECS ?? 8);

async function frames(page: Page, secs: number): Promise<number[]> {
  return page.evaluate(
    (ms) =>
      new Promise<number[]>((resolve) => {
        const gaps: number[] = [];
        let last = performance.now();
        const end = last + ms;
        const tick = (t: number) => {
          gaps.push(t - last);
          last = t;
          if (t < end) requestAnimationFrame(tick);
          else resolve(gaps);
        };
        requestAnimationFrame(tick);
      }),
    secs * 1000,
  );
}

function summary(label: string, gaps: number[]) {
  const s = [...gaps].sort((x, y) => x - y);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  const long = s.filter((g) => g > 50).length;
  console.log(
    `BENCH ${label}: frames ${s.length}, p50 ${q(0.5).toFixed(1)} ms, p99 ${q(0.99).toFixed(1)} ms, ` +
      `max ${s[s.length - 1].toFixed(1)} ms, over 50 ms: ${long}`,
  );
}

test("frame time of a member watching a flood of output", async ({ browser }) => {
  const [a, b] = await twoEditors(browser, ["fla", "flb"], "Flood");
  await row(a.page, "README.md").click();
  await create(a.page, "file", "flood.sh");
  await expect(a.page.locator("[data-test=editor][data-ready=true][data-mode-id=shell]")).toBeAttached();
  await a.page.evaluate(() => {
    const ed = (window as any).monaco.editor
      .getEditors()
      .find((e: any) => e.getModel()?.getLanguageId() === "shell");
    ed.executeEdits("bench", [{ range: ed.getModel().getFullModelRange(), text: "yes | head -c 100000000\n" }]);
  });
  await expect(a.page.getByTestId("save-status")).toHaveText("Saved");
  // Open B's panel first so the idle baseline has the same layout.
  await b.page.getByTestId("run-toggle").click();
  summary("idle tab, Run panel open", await frames(b.page, SECS));
  await a.page.getByTestId("run-button").click();
  await expect(b.page.getByTestId("run-output")).toContainText("y\ny\n");
  summary("same tab while `yes | head -c 100M` streams", await frames(b.page, SECS));
  await a.page.getByTestId("run-stop").click();
  await expect(b.page.getByTestId("run-status")).toContainText("stopped by", { timeout: 60_000 });
  await a.ctx.close();
  await b.ctx.close();
});
