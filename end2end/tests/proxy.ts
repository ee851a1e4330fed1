// A stand-in for the network between one browser and the server: an HTTP and websocket
// forwarder on its own port that a test can cut (every connection dropped, new ones refused,
// as in a tunnel) and restore, and that can hand out a changed service worker (a new build of
// the app). The browser's own offline switch does not reach service workers, so this is how
// the suite takes the server away from a page and its worker together.
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import net from "node:net";
import type { AddressInfo } from "node:net";

export type Link = {
  /** The base URL to use instead of the server's. */
  url: string;
  /** Drops every connection and refuses new ones. */
  cut(): Promise<void>;
  /** Accepts connections again, on the same port. */
  restore(): Promise<void>;
  /** Serves `/sw.js` with `suffix` appended (a new version of the worker). */
  newWorker(suffix: string): void;
  close(): Promise<void>;
};

/** A slow network: each answer waits `latencyMs` before it starts and the bytes of all answers
 * share `downKbps` (Chromium's "Slow 4G" is 150 ms and 1,600 kbit/s). Unlike the browser's own
 * emulation this slows the service worker's fetches too. */
export type Throttle = { latencyMs: number; downKbps: number };

/** Paths a static host forwards to Tandem (README, "A static client"). */
const FORWARDED = ["/api/", "/ws", "/yjs/", "/manifest.webmanifest"];

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".wasm": "application/wasm",
  ".css": "text/css",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".json": "application/json",
};

/** Serves `dir` as a static host would (unknown paths get `index.html`), forwarding only
 * Tandem's own paths: the Trunk bundle's deployment. */
function serveStatic(dir: string, url: string, res: http.ServerResponse, server?: string) {
  const clean = path.normalize(decodeURIComponent(url.split("?")[0])).replace(/^(\.\.[/\\])+/, "");
  let file = path.join(dir, clean);
  if (!file.startsWith(dir) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
    file = path.join(dir, "index.html");
  }
  res.writeHead(200, { "content-type": TYPES[path.extname(file)] ?? "application/octet-stream" });
  if (server !== undefined && path.basename(file) === "index.html") {
    // What the operator does by hand: name the server in the bundle's `tandem-server` tag.
    const html = fs.readFileSync(file, "utf8");
    const named = html.replace(/(<meta name="tandem-server" content=")[^"]*(")/, `$1${server}$2`);
    if (named === html) throw new Error("index.html has no tandem-server tag");
    res.end(named);
    return;
  }
  fs.createReadStream(file).pipe(res);
}

/** A static host and nothing else: the Trunk bundle served apart from Tandem, naming the server
 * (set `server` before the first page load) in its `tandem-server` tag. Tandem's own paths are
 * not forwarded: they answer 404 here, so a request that went to the wrong origin fails. */
export async function staticHost(dir: string): Promise<{ url: string; server: string; close(): Promise<void> }> {
  const host = {
    url: "",
    server: "",
    close: () =>
      new Promise<void>((resolve) => {
        srv.closeAllConnections();
        srv.close(() => resolve());
      }),
  };
  const srv = http.createServer((req, res) => {
    if (FORWARDED.some((p) => req.url?.startsWith(p))) {
      res.writeHead(404).end();
      return;
    }
    serveStatic(dir, req.url ?? "/", res, host.server);
  });
  srv.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", () => resolve()));
  host.url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  return host;
}

export async function link(target: string, throttle?: Throttle, staticDir?: string): Promise<Link> {
  const upstream = new URL(target);
  const sockets = new Set<net.Socket>();
  let workerSuffix = "";
  let nextFree = 0;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  /** Waits until `n` more bytes fit the shared bandwidth. */
  const pace = async (n: number) => {
    if (!throttle) return;
    const bytesPerMs = (throttle.downKbps * 1000) / 8 / 1000;
    const now = Date.now();
    nextFree = Math.max(now, nextFree) + n / bytesPerMs;
    await sleep(nextFree - now);
  };
  const server = http.createServer((req, res) => {
    if (staticDir && !FORWARDED.some((p) => req.url?.startsWith(p))) {
      serveStatic(staticDir, req.url ?? "/", res);
      return;
    }
    const headers = { ...req.headers, host: req.headers.host ?? upstream.host };
    // The changed worker is edited as text: ask for it uncompressed.
    if (workerSuffix && req.url?.split("?")[0] === "/sw.js") delete headers["accept-encoding"];
    const out = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
      (up) => {
        if (workerSuffix && req.url?.split("?")[0] === "/sw.js" && up.statusCode === 200) {
          const chunks: Buffer[] = [];
          up.on("data", (c) => chunks.push(c));
          up.on("end", () => {
            const body = Buffer.concat([Buffer.concat(chunks), Buffer.from(`\n${workerSuffix}\n`)]);
            const h = { ...up.headers };
            delete h["content-length"];
            delete h["etag"];
            res.writeHead(200, h);
            res.end(body);
          });
          return;
        }
        if (!throttle) {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          return;
        }
        up.pause();
        (async () => {
          await sleep(throttle.latencyMs);
          res.writeHead(up.statusCode ?? 502, up.headers);
          for await (const chunk of up) {
            await pace(chunk.length);
            res.write(chunk);
          }
          res.end();
        })().catch(() => res.destroy());
      },
    );
    out.on("error", () => res.destroy());
    req.pipe(out);
  });
  server.on("upgrade", (req, socket, head) => {
    const up = net.connect(Number(upstream.port), upstream.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      up.write(lines.join("\r\n") + "\r\n\r\n");
      if (head.length) up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    sockets.add(up);
    up.on("close", () => sockets.delete(up));
    up.on("error", () => socket.destroy());
    socket.on("error", () => up.destroy());
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.keepAliveTimeout = 1000;
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
  await listen(0);
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    async cut() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
    async restore() {
      await listen(port);
    },
    newWorker(suffix: string) {
      workerSuffix = suffix;
    },
    async close() {
      for (const s of sockets) s.destroy();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
