// Real Yjs clients (npm `yjs` with y-websocket's WebsocketProvider, or Hocuspocus's own
// provider for Hocuspocus) in one Node process, against one server already running. Prints one
// JSON line with the result; run.mjs starts the servers and reads it.
//
//   node clients.mjs '<target json>' latency --clients 100 --writers 5 --rate 20 --secs 10 [--window 300]
//   node clients.mjs '<target json>' idle --clients 1000 --docs 100
//   node clients.mjs '<target json>' burst --trace rustcode.json.gz
//
// The target is {kind, base, pid, tokens?}: kind is tandem | y-websocket | hocuspocus | y-sweet,
// base the server's ws:// origin, pid its process (CPU and RSS are read from /proc/<pid>), data
// its data folder (sizes on disk, for long runs) and tokens Tandem's document tokens by name.
//
// The process also reports its own CPU and event-loop delay: a client process that is itself
// busy delays reading, and that delay would otherwise be read as the server's latency.
import fs from "node:fs";
import zlib from "node:zlib";
import { monitorEventLoopDelay } from "node:perf_hooks";
import * as Y from "yjs";
import WebSocket from "ws";
import { WebsocketProvider } from "y-websocket";
import { HocuspocusProvider } from "@hocuspocus/provider";
import { folderKb, procStat, rssKb } from "./proc.mjs";

const [targetJson, mode, ...rest] = process.argv.slice(2);
const target = JSON.parse(targetJson);
const opts = {};
for (let i = 0; i < rest.length; i += 2) opts[rest[i].replace(/^--/, "")] = rest[i + 1];
const num = (name, fallback) => (opts[name] === undefined ? fallback : Number(opts[name]));

const TEXT = "content";
// Every provider registers an exit handler; thousands of them are expected here.
process.setMaxListeners(0);
const now = () => performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** One client: a Y.Doc joined to `name` on the target through the provider its users use. */
class Client {
  constructor(name) {
    this.doc = new Y.Doc();
    this.text = this.doc.getText(TEXT);
    this.closes = 0;
    this.synced = false;
    const common = { WebSocketPolyfill: WebSocket, disableBc: true };
    if (target.kind === "hocuspocus") {
      this.provider = new HocuspocusProvider({ url: target.base, name, document: this.doc, ...common });
      this.awareness = this.provider.awareness;
      this.whenSynced = new Promise((resolve) => this.provider.on("synced", () => resolve()));
      this.provider.on("close", () => this.synced && this.closes++);
    } else {
      const [server, params] = {
        tandem: [`${target.base}/yjs`, { project: "1", token: target.tokens?.[name] ?? "" }],
        "y-sweet": [`${target.base}/doc/ws`, {}],
        "y-websocket": [target.base, {}],
      }[target.kind];
      this.provider = new WebsocketProvider(server, name, this.doc, { ...common, params });
      this.awareness = this.provider.awareness;
      this.whenSynced = new Promise((resolve) =>
        this.provider.on("sync", (s) => s && resolve()),
      );
      this.provider.on("connection-close", () => this.synced && this.closes++);
    }
    this.whenSynced.then(() => (this.synced = true));
  }
  announce(i) {
    // What an editor tab publishes: its user and its cursor.
    this.awareness.setLocalState({
      user: { name: `bench-${i}`, color: "#3b82f6" },
      cursor: { anchor: i % 97, head: i % 97 },
    });
  }
  destroy() {
    this.provider.destroy();
  }
}

/** Connects `n` clients with at most `inFlight` handshakes at a time; resolves when all synced. */
async function connectAll(n, nameOf, inFlight = 50, setup = () => {}) {
  const clients = new Array(n);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const c = new Client(nameOf(i));
      setup(c, i);
      clients[i] = c;
      await withTimeout(c.whenSynced, 60_000, `client ${i} did not sync`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, n) }, worker));
  return clients;
}

function withTimeout(promise, ms, why) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(why)), ms))),
  ]);
}

/** The client process's own load over a window: CPU share of one core and event-loop delay. */
function selfMonitor() {
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const cpu0 = process.cpuUsage();
  const t0 = now();
  return () => {
    lag.disable();
    const cpu = process.cpuUsage(cpu0);
    const wall = (now() - t0) / 1000;
    const busy = (cpu.user + cpu.system) / 1e6 / wall;
    const lagP99 = lag.percentile(99) / 1e6 - 10;
    return {
      client_cpu_share: busy,
      client_lag_p99_ms: Math.max(0, lagP99),
      client_lag_max_ms: Math.max(0, lag.max / 1e6 - 10),
      // One Node process is one core: past ~80% of it, or with a lagging event loop, the
      // latencies are the client's.
      client_bound: busy > 0.8 || lagP99 > 5,
    };
  };
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.round((sorted.length - 1) * p)];
}

/** N clients on one document, W of them appending one character R times a second. */
async function latency() {
  const n = num("clients", 100);
  const writers = num("writers", 5);
  const rate = num("rate", 20);
  const secs = num("secs", 10);
  const sent = new Map();
  const latencies = [];
  const clients = await connectAll(n, () => "bench");
  for (const c of clients) {
    // A remote transaction's new items are the clock ranges between its before and after
    // states: each one a writer recorded the send time of is one delivery.
    c.doc.on("afterTransaction", (tr) => {
      if (tr.local) return;
      const t = now();
      for (const [client, after] of tr.afterState) {
        const before = tr.beforeState.get(client) ?? 0;
        for (let clock = before; clock < after; clock++) {
          const at = sent.get(client * 2 ** 20 + clock);
          if (at !== undefined) latencies.push(t - at);
        }
      }
    });
  }
  await sleep(500);
  const cpu0 = procStat(target.pid);
  const t0 = now();
  const done = selfMonitor();
  const timers = clients.slice(0, writers).map((c) =>
    setInterval(() => {
      const clock = Y.getState(c.doc.store, c.doc.clientID);
      sent.set(c.doc.clientID * 2 ** 20 + clock, now());
      c.text.insert(c.text.length, "x");
    }, 1000 / rate),
  );
  // A long run reports every `window` seconds what that stretch alone cost and how it went, so
  // anything that grows with time (backlogs, the update log, allocator retention) shows as a
  // trend rather than hiding in one median.
  const window = num("window", 0);
  const windows = [];
  if (window > 0) {
    let from = { at: now(), cpu: cpu0, delivered: 0, closes: 0 };
    for (let left = secs; left > 0; left -= window) {
      await sleep(Math.min(window, left) * 1000);
      const to = {
        at: now(),
        cpu: procStat(target.pid),
        delivered: latencies.length,
        closes: clients.reduce((s, c) => s + c.closes, 0),
      };
      const slice = latencies.slice(from.delivered).sort((a, b) => a - b);
      const w = {
        end_s: Math.round((to.at - t0) / 1000),
        deliveries: slice.length,
        p50_ms: percentile(slice, 0.5),
        p99_ms: percentile(slice, 0.99),
        max_ms: percentile(slice, 1),
        cpu_us_per_delivery: (1e6 * (to.cpu - from.cpu)) / Math.max(1, slice.length),
        disconnects: to.closes - from.closes,
        server_rss_kb: rssKb(target.pid),
        data_kb: target.data ? folderKb(target.data) : null,
      };
      windows.push(w);
      console.error(`window ${JSON.stringify(w)}`);
      from = to;
    }
  } else {
    await sleep(secs * 1000);
  }
  timers.forEach(clearInterval);
  const cpu = procStat(target.pid) - cpu0;
  const wall = (now() - t0) / 1000;
  const self = done();
  // Updates still in flight at the stop are counted, as the Rust load generator does.
  await sleep(500);
  latencies.sort((a, b) => a - b);
  const result = {
    mode: "latency",
    clients: n,
    writers,
    rate,
    secs,
    updates: sent.size,
    deliveries: latencies.length,
    expected: sent.size * (n - 1),
    disconnects: clients.reduce((s, c) => s + c.closes, 0),
    p50_ms: percentile(latencies, 0.5),
    p99_ms: percentile(latencies, 0.99),
    max_ms: percentile(latencies, 1),
    server_cpu_s: cpu,
    server_cpu_share: cpu / wall,
    cpu_us_per_delivery: (1e6 * cpu) / Math.max(1, latencies.length),
    server_rss_kb: rssKb(target.pid),
    ...(windows.length ? { windows } : {}),
    ...self,
  };
  clients.forEach((c) => c.destroy());
  return result;
}

/** What a server's data folder holds on disk (database, WAL, checkpoints), in kB. */
/** N clients with a cursor each, spread over D documents, then idle. */
async function idle() {
  const n = num("clients", 1000);
  const docs = num("docs", 100);
  const rss0 = rssKb(target.pid);
  const t0 = now();
  const clients = await connectAll(
    n,
    (i) => (i % docs === 0 ? "bench" : `bench-${i % docs}`),
    50,
    (c, i) => c.announce(i),
  );
  const connectS = (now() - t0) / 1000;
  // Let the join storm's awareness traffic drain before reading memory (`--hold S` waits
  // longer, to look at the server from outside meanwhile).
  await sleep(num("hold", 3) * 1000);
  const rss1 = rssKb(target.pid);
  const result = {
    mode: "idle",
    clients: n,
    docs,
    connect_s: connectS,
    server_rss_before_kb: rss0,
    server_rss_kb: rss1,
    kb_per_connection: (rss1 - rss0) / n,
    disconnects: clients.reduce((s, c) => s + c.closes, 0),
  };
  clients.forEach((c) => c.destroy());
  return result;
}

/** One writer replays a whole editing trace as fast as it can; a second client reads it. */
async function burst() {
  const file = opts.trace;
  const trace = JSON.parse(zlib.gunzipSync(fs.readFileSync(file)).toString("utf8"));
  // The traces count positions in code points; Yjs counts UTF-16 units. They agree unless a
  // character lies outside the BMP, which no trace here has.
  if ([...trace.endContent].length !== trace.endContent.length) {
    throw new Error("trace has characters outside the BMP");
  }
  const [writer, reader] = await connectAll(2, () => "bench");
  if (trace.startContent) writer.text.insert(0, trace.startContent);
  const timeout = num("timeout", 120) * 1000;
  const converged = new Promise((resolve) => {
    const check = () => {
      if (reader.text.length === trace.endContent.length && reader.text.toString() === trace.endContent) {
        resolve(now());
      }
    };
    reader.doc.on("afterTransaction", check);
  });
  const cpu0 = procStat(target.pid);
  const done = selfMonitor();
  const t0 = now();
  let sent = 0;
  for (const txn of trace.txns) {
    writer.doc.transact(() => {
      for (const [pos, del, ins] of txn.patches) {
        if (del > 0) writer.text.delete(pos, del);
        if (ins) writer.text.insert(pos, ins);
      }
    });
    sent++;
  }
  const sentS = (now() - t0) / 1000;
  let at = null;
  try {
    at = await withTimeout(converged, timeout, "reader did not converge");
  } catch {}
  const cpu = procStat(target.pid) - cpu0;
  const result = {
    mode: "burst",
    trace: file.split("/").pop(),
    updates: sent,
    writer_sent_s: sentS,
    converged: at !== null,
    converge_s: at === null ? null : (at - t0) / 1000,
    reader_length: reader.text.length,
    expected_length: trace.endContent.length,
    disconnects: writer.closes + reader.closes,
    server_cpu_s: cpu,
    server_rss_kb: rssKb(target.pid),
    ...done(),
  };
  writer.destroy();
  reader.destroy();
  return result;
}

const modes = { latency, idle, burst };
if (!modes[mode]) {
  console.error(`unknown mode ${mode}: latency, idle or burst`);
  process.exit(2);
}
try {
  const result = await modes[mode]();
  console.log(JSON.stringify({ server: target.kind, ...result }));
  process.exit(0);
} catch (e) {
  console.log(JSON.stringify({ server: target.kind, mode, error: String(e?.message ?? e) }));
  process.exit(1);
}
