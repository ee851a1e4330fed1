// Tree render time for 10,000 entries in Chromium: a project imported from a zip of N files,
// then (each repeated, medians printed as `BENCH` lines):
// - load: navigation start -> every entry in the tree model and the first rows painted;
// - scroll: one scroll step of ~30 rows -> the next painted frame with the new rows;
// - filter: a keystroke in "Filter files" -> the filtered rows painted.
import { expect, test } from "../tests/fixtures";
import { hydrated, signUp, uniqueName } from "../tests/helpers";

const N = Number(process.env.TREE_ENTRIES ?? 10_000);
const RUNS = Number(process.env.RUNS ?? 5);

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(b: Buffer): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC_TABLE[(c ^ x) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A "stored" (uncompressed) zip: enough for an import, no dependency. */
function zip(files: [string, string][]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, text] of files) {
    const data = Buffer.from(text);
    const n = Buffer.from(name);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(n.length, 26);
    parts.push(local, n, data);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(20, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt32LE(crc, 16);
    c.writeUInt32LE(data.length, 20);
    c.writeUInt32LE(data.length, 24);
    c.writeUInt16LE(n.length, 28);
    c.writeUInt32LE(offset, 42);
    central.push(c, n);
    offset += 30 + n.length + data.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cd, end]);
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

test(`tree of ${N} entries: load, scroll, filter`, async ({ page }) => {
  await signUp(page, uniqueName("bench"));
  const files: [string, string][] = [];
  for (let i = 0; i < N; i++) files.push([`file_${String(i).padStart(5, "0")}.rs`, `// ${i}\n`]);
  const res = await page.request.post("/api/projects/import", {
    multipart: {
      name: "Big tree",
      file: { name: "big.zip", mimeType: "application/zip", buffer: zip(files) },
    },
    maxRedirects: 0,
  });
  expect(res.status()).toBe(303);
  const url = res.headers()["location"];

  const loads: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    await page.goto(url);
    await hydrated(page);
    await expect(page.getByTestId("file-tree")).toHaveAttribute("data-count", String(N));
    await expect(page.locator("[data-test=tree-row]").first()).toBeVisible();
    loads.push(await page.evaluate(() => performance.now()));
  }

  // Scroll: ~30 rows per step, time to the frame after the new rows are in the DOM.
  const steps: number[] = await page.evaluate(async () => {
    const list = document.querySelector("[data-test=file-tree]") as HTMLElement;
    const out: number[] = [];
    for (let i = 1; i <= 60; i++) {
      const t0 = performance.now();
      list.scrollTop = i * 30 * 24;
      list.dispatchEvent(new Event("scroll"));
      const want = `file_${String(i * 30).padStart(5, "0")}.rs`;
      await new Promise<void>((done) => {
        const check = () =>
          document.querySelector(`[data-name="${want}"]`) ? done() : requestAnimationFrame(check);
        requestAnimationFrame(check);
      });
      await new Promise((r) => requestAnimationFrame(r));
      out.push(performance.now() - t0);
    }
    return out;
  });
  const rendered = await page.locator("[data-test=tree-row]").count();

  // Filter: a keystroke to the filtered rows.
  const filters: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    await page.getByTestId("tree-filter").fill("");
    await expect(page.getByTestId("file-tree")).toHaveAttribute("data-count", String(N));
    const t = await page.evaluate(async () => {
      const input = document.querySelector("[data-test=tree-filter]") as HTMLInputElement;
      const t0 = performance.now();
      input.value = "file_0999";
      input.dispatchEvent(new Event("input", { bubbles: true }));
      await new Promise<void>((done) => {
        const check = () =>
          document.querySelector("[data-test=file-tree]")?.getAttribute("data-count") === "10"
            ? done()
            : requestAnimationFrame(check);
        requestAnimationFrame(check);
      });
      return performance.now() - t0;
    });
    filters.push(t);
  }
  console.log(
    `BENCH tree entries=${N} load_ms=${median(loads).toFixed(0)} (runs ${loads.map((x) => x.toFixed(0)).join(",")}) ` +
      `scroll_step_ms median=${median(steps).toFixed(1)} max=${Math.max(...steps).toFixed(1)} rows_in_dom=${rendered} ` +
      `filter_ms median=${median(filters).toFixed(1)} (runs ${filters.map((x) => x.toFixed(1)).join(",")})`,
  );
});
