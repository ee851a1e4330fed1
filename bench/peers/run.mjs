// The peer comparison: Tandem against the sync servers teams use today, side by side in one run
// on one machine, each started fresh for every measurement, the order rotated per repetition so
// drift on a shared machine falls on every server alike. `cargo xtask bench peers` installs the
// peers and calls this; the medians and ratios it prints go to BENCHMARKS.md.
//
//   node run.mjs --tandem BIN [--y-sweet BIN] [--tandem-base BIN] [--reps 3] [--servers a,b]
//                [--secs S] [--window W] [--out FILE] SCENARIO...
//
// `--tandem-base` adds an older Tandem build as one more server ("tandem-base"), for before and
// after in the same run.
//
// Scenarios (clients.mjs does the measuring; see there):
//   latency     100 clients on one document, 5 writers x 20 updates/s, 10 s
//   idle1000    1,000 idle clients with a cursor each on 100 documents
//   idle5000    5,000 on 500 documents
//   burst       one writer sends the rustcode trace (36,981 updates) at once; one reader
//   sustained   60 clients, 5 writers x 10/s, 4 minutes
//   soak        the same for an hour, with CPU, latency, RSS and disk per 5-minute window
//   rust500     500 clients, 5 writers x 20/s, 10 s, driven by the Rust load generator
//   rust1000    1,000 clients, the same (one Node process of Yjs clients is itself the
//               bottleneck above ~150 clients; `tandem-bench peer` is not)
//   rustsoak    the soak's load (60 clients, 5 writers x 10/s, an hour) from the Rust load
//               generator, one run per 5-minute window on the same server: the server's drift
//               without a client that itself slows down as the document grows
import { spawn, execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";
import { folderKb, rssKb } from "./proc.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const traces = process.env.TANDEM_TRACES ?? path.resolve(here, "../../../shared/traces");

const SCENARIOS = {
  latency: { mode: "latency", args: { clients: 100, writers: 5, rate: 20, secs: 10 }, docs: 1 },
  idle1000: { mode: "idle", args: { clients: 1000, docs: 100 }, docs: 100 },
  idle5000: { mode: "idle", args: { clients: 5000, docs: 500 }, docs: 500 },
  burst: { mode: "burst", args: { trace: path.join(traces, "rustcode.json.gz") }, docs: 1 },
  sustained: { mode: "latency", args: { clients: 60, writers: 5, rate: 10, secs: 240 }, docs: 1 },
  // The sustained load for an hour, reported per 5 minutes (clients.mjs `--window`).
  soak: { mode: "latency", args: { clients: 60, writers: 5, rate: 10, secs: 3600, window: 300 }, docs: 1 },
  rust500: { mode: "rust", args: { clients: 500, writers: 5, rate: 20, secs: 10 }, docs: 1 },
  rust1000: { mode: "rust", args: { clients: 1000, writers: 5, rate: 20, secs: 10 }, docs: 1 },
  rustsoak: { mode: "rust", args: { clients: 60, writers: 5, rate: 10, secs: 300 }, windows: 12, docs: 1 },
};
// What each scenario's table shows: [field, label, lower is better].
const COLUMNS = {
  latency: [
    ["cpu_us_per_delivery", "server CPU per delivered update (µs)"],
    ["p50_ms", "delivery p50 (ms)"],
    ["p99_ms", "delivery p99 (ms)"],
    ["delivered", "delivered / expected"],
    ["disconnects", "disconnects"],
  ],
  idle: [
    ["kb_per_connection", "RSS per idle connection (kB)"],
    ["connect_s", "connect all (s)"],
  ],
  rust: [
    ["cpu_us_per_delivery", "server CPU per delivered update (µs)"],
    ["p50_ms", "delivery p50 (ms)"],
    ["p99_ms", "delivery p99 (ms)"],
    ["delivered", "delivered / expected"],
    ["disconnects", "disconnects"],
  ],
  burst: [
    ["converge_s", "reader converged after (s)"],
    ["server_cpu_s", "server CPU (s)"],
    ["disconnects", "disconnects"],
  ],
};

function parseArgs(argv) {
  const o = { reps: 3, servers: "tandem,y-websocket,hocuspocus,y-sweet", scenarios: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith("--")) o[a.slice(2)] = argv[++i];
    else o.scenarios.push(a);
  }
  o.reps = Number(o.reps);
  o.servers = o.servers.split(",");
  if (!o["y-sweet"]) o.servers = o.servers.filter((s) => s !== "y-sweet");
  if (o["tandem-base"] && !o.servers.includes("tandem-base")) o.servers.splice(1, 0, "tandem-base");
  if (o.scenarios.length === 0) o.scenarios = ["latency", "idle1000", "idle5000", "burst"];
  for (const s of o.scenarios) if (!SCENARIOS[s]) throw new Error(`unknown scenario ${s}`);
  if (o.servers.includes("tandem") && !o.tandem) throw new Error("--tandem BIN is needed");
  if (o.scenarios.some((s) => SCENARIOS[s].mode === "rust") && !o["tandem-bench"]) {
    throw new Error("--tandem-bench BIN is needed for the rust scenarios");
  }
  return o;
}

/** Spawns a server and resolves with its port once it printed where it listens. */
function listen(cmd, args, env, pattern) {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${cmd} did not report its port in 30 s`)), 30_000);
    const lines = readline.createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      // y-sweet colours its connection string.
      const m = line.replace(/\x1b\[[0-9;]*m/g, "").match(pattern);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]) });
      }
    });
    child.on("exit", (code) => reject(new Error(`${cmd} exited (${code}) before listening`)));
  });
}

const LISTENING = /listening on http:\/\/127\.0\.0\.1:(\d+)/;

/** Starts one server fresh, with its own empty data folder where it has one. */
async function start(label, o, docs) {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), `peers-${label}-`));
  let started;
  const kind = label === "tandem-base" ? "tandem" : label;
  const bin = label === "tandem-base" ? o["tandem-base"] : o.tandem;
  const target = { kind, label, data };
  if (kind === "tandem") {
    const env = {
      TANDEM_DATA_DIR: data,
      TANDEM_LOG: "warn",
      // One load generator is one IP and one account holding thousands of sockets.
      TANDEM_WS_MAX_MESSAGES_PER_SEC: "1000000",
      TANDEM_MAX_SOCKETS_PER_USER: "1000000",
      TANDEM_MAX_NAMED_DOCS_PER_PROJECT: "1000000",
    };
    const admin = (args, input) =>
      execFileSync(bin, args, { env: { ...process.env, ...env }, input, encoding: "utf8" }).trim();
    admin(["user", "add", "bench"], "load generator passphrase\n");
    admin(["project", "add", "Bench", "--owner", "bench"]);
    // A token names one document.
    target.tokens = {};
    for (let i = 0; i < docs; i++) {
      const name = i === 0 ? "bench" : `bench-${i}`;
      target.tokens[name] = admin(["token", "--user", "bench", "--project", "1", "--doc", name, "--ttl", "1d"]);
    }
    started = await listen(bin, [], { ...env, TANDEM_BIND: "127.0.0.1:0" }, LISTENING);
  } else if (kind === "y-sweet") {
    // Persisting to a local folder (it writes a checkpoint every 10 s, not per update).
    started = await listen(o["y-sweet"], ["serve", data, "--host", "127.0.0.1", "--port", "0"], { RUST_LOG: "warn" }, /ys:\/\/127\.0\.0\.1:(\d+)/);
  } else {
    started = await listen(process.execPath, [path.join(here, "serve.mjs"), kind, "0"], {}, LISTENING);
  }
  target.base = `ws://127.0.0.1:${started.port}`;
  target.pid = started.child.pid;
  return {
    target,
    stop: async () => {
      const exited = new Promise((r) => started.child.once("exit", r));
      started.child.kill("SIGKILL");
      await exited;
      fs.rmSync(data, { recursive: true, force: true });
    },
  };
}

/** Runs a child to completion and returns its standard output. */
function output(cmd, args) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("exit", () => resolve(out.trim()));
  });
}

/** The one document's URL for the Rust load generator, and its extra arguments. */
function rustTarget(target) {
  const doc = "bench";
  switch (target.kind) {
    case "tandem":
      return [`${target.base}/yjs/${doc}?project=1&token=${target.tokens[doc]}`];
    case "y-sweet":
      return [`${target.base}/doc/ws/${doc}`];
    case "hocuspocus":
      return [target.base, "--hocuspocus", doc];
    default:
      return [`${target.base}/${doc}`];
  }
}

/** Reads `tandem-bench peer`'s report into the fields clients.mjs reports. */
function parseRust(text) {
  const num = (re) => {
    const m = text.match(re);
    return m ? Number(m[1]) : null;
  };
  return {
    updates: num(/updates=(\d+)/),
    deliveries: num(/deliveries=(\d+)/),
    expected: num(/\(expected (\d+)\)/),
    disconnects: num(/disconnected=(\d+)/),
    // From the delivery line only: the load generator's own line has a p99 and a max too.
    p50_ms: num(/delivery latency ms: p50 ([\d.]+)/),
    p99_ms: num(/delivery latency ms: .*p99 ([\d.]+)/),
    max_ms: num(/delivery latency ms: .*max ([\d.]+)/),
    cpu_us_per_delivery: num(/([\d.]+) us CPU per delivered update/),
    client_cpu_share: (num(/load generator: CPU [\d.]+ s \((\d+)% of one core/) ?? 0) / 100,
    client_bound: text.includes("CLIENT-BOUND"),
  };
}

/** Measures one scenario against `target`; returns what clients.mjs reports as JSON. */
async function measure(target, scenario) {
  const s = SCENARIOS[scenario];
  if (s.mode === "rust") {
    const [url, ...extra] = rustTarget(target);
    const args = ["peer", "--url", url, "--pid", String(target.pid), ...extra];
    const given = o.secs === undefined ? {} : { secs: o.secs };
    for (const [k, v] of Object.entries({ ...s.args, ...given })) args.push(`--${k}`, String(v));
    const once = async () => {
      const text = await output(o["tandem-bench"], args);
      const r = parseRust(text);
      return r.deliveries === null ? { error: `no result: ${text.split("\n").pop()}` } : r;
    };
    if (!s.windows) {
      const r = await once();
      return { server: target.label, mode: s.mode, ...s.args, ...r };
    }
    // One load-generator run per window against the same server and document, which keeps
    // growing: what drifts with time is the server's.
    const windows = [];
    const t0 = Date.now();
    for (let i = 0; i < Number(o.windows ?? s.windows); i++) {
      const r = await once();
      if (r.error) return { server: target.label, mode: s.mode, ...s.args, windows, error: r.error };
      const w = { ...r, end_s: Math.round((Date.now() - t0) / 1000), server_rss_kb: rssKb(target.pid), data_kb: folderKb(target.data) };
      console.error(JSON.stringify(w));
      windows.push(w);
    }
    const sum = (f) => windows.reduce((a, w) => a + (w[f] ?? 0), 0);
    // The whole run's CPU per delivery, weighted by each window's deliveries.
    const cpu = windows.reduce((a, w) => a + w.cpu_us_per_delivery * w.deliveries, 0) / Math.max(1, sum("deliveries"));
    return {
      server: target.label, mode: s.mode, ...s.args, windows,
      deliveries: sum("deliveries"), expected: sum("expected"), disconnects: sum("disconnects"),
      cpu_us_per_delivery: cpu,
      // Medians of the windows; the window table shows each.
      p50_ms: median(windows.map((w) => w.p50_ms)), p99_ms: median(windows.map((w) => w.p99_ms)),
      client_bound: windows.some((w) => w.client_bound),
    };
  }
  const args = [path.join(here, "clients.mjs"), JSON.stringify(target), s.mode];
  // `--secs` and `--window` on the command line shorten or split a scenario's run.
  const given = {};
  for (const k of ["secs", "window", "hold"]) if (o[k] !== undefined) given[k] = o[k];
  for (const [k, v] of Object.entries({ ...s.args, ...given })) args.push(`--${k}`, String(v));
  const line = (await output(process.execPath, args)).split("\n").pop() ?? "";
  try {
    return { ...JSON.parse(line), server: target.label };
  } catch {
    return { server: target.label, mode: s.mode, error: `no result: ${line}` };
  }
}

const median = (xs) => {
  const v = xs.filter((x) => typeof x === "number" && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const fmt = (x) => (x === null ? "–" : Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2));

function table(scenario, results, servers) {
  const s = SCENARIOS[scenario];
  const rows = [];
  const head = `| ${scenario} (${Object.entries(s.args).map(([k, v]) => `${k} ${String(v).split("/").pop()}`).join(", ")}), medians | ${servers.join(" | ")} | Tandem ÷ best peer |`;
  rows.push(head, `|---|${servers.map(() => "---|").join("")}---|`);
  for (const [field, label] of COLUMNS[s.mode]) {
    const cells = servers.map((srv) => {
      const rs = results.filter((r) => r.server === srv && !r.error);
      if (field === "delivered") {
        const d = median(rs.map((r) => r.deliveries / Math.max(1, r.expected)));
        return d;
      }
      return median(rs.map((r) => r[field]));
    });
    const peers = cells.filter((_, i) => !servers[i].startsWith("tandem") && cells[i] !== null);
    const mine = cells[servers.indexOf("tandem")];
    const ratio = field !== "delivered" && field !== "disconnects" && peers.length && mine !== null && mine !== undefined
      ? fmt(mine / Math.min(...peers))
      : "";
    rows.push(`| ${label} | ${cells.map(fmt).join(" | ")} | ${ratio} |`);
  }
  const bound = results.filter((r) => r.client_bound).map((r) => r.server);
  if (bound.length) rows.push(`\nclient-bound runs (the load generator, not the server, limited them): ${bound.join(", ")}`);
  const errors = results.filter((r) => r.error).map((r) => `${r.server}: ${r.error}`);
  if (errors.length) rows.push(`\nfailed runs: ${errors.join("; ")}`);
  return rows.join("\n");
}

/** A long run's windows, one row each: whether anything drifts with time. */
function windowTable(r) {
  const rows = [
    `| ${r.server}, repetition ${r.rep + 1}: minute | deliveries | CPU per delivery (µs) | p50 (ms) | p99 (ms) | max (ms) | disconnects | RSS (MB) | data on disk (MB) |`,
    "|---|---|---|---|---|---|---|---|---|",
  ];
  for (const w of r.windows) {
    const mb = (kb) => (kb === null ? null : kb / 1024);
    const cells = [w.deliveries, w.cpu_us_per_delivery, w.p50_ms, w.p99_ms, w.max_ms, w.disconnects, mb(w.server_rss_kb), mb(w.data_kb)];
    rows.push(`| ${fmt(w.end_s / 60)} | ${cells.map(fmt).join(" | ")} |`);
  }
  return rows.join("\n");
}

const o = parseArgs(process.argv.slice(2));
const out = o.out ? fs.createWriteStream(o.out, { flags: "a" }) : null;
const all = {};
for (const scenario of o.scenarios) {
  all[scenario] = [];
  for (let rep = 0; rep < o.reps; rep++) {
    // Rotate the order each repetition: interleaved, so no server always runs first or last.
    const order = o.servers.map((_, i) => o.servers[(i + rep) % o.servers.length]);
    for (const kind of order) {
      const server = await start(kind, o, SCENARIOS[scenario].docs);
      const r = await measure(server.target, scenario);
      await server.stop();
      r.scenario = scenario;
      r.rep = rep;
      console.log(JSON.stringify(r));
      out?.write(`${JSON.stringify(r)}\n`);
      all[scenario].push(r);
    }
  }
  console.log(`\n${table(scenario, all[scenario], o.servers)}\n`);
  for (const r of all[scenario].filter((r) => r.windows)) console.log(`${windowTable(r)}\n`);
}
out?.end();
