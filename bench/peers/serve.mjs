// Starts one of the peer sync servers the comparison runs against, in memory, on 127.0.0.1 and
// the given port (0: any free one), and prints `listening on http://127.0.0.1:PORT` once bound,
// the same line Tandem prints, so the harness reads the port instead of picking one.
//
//   node serve.mjs y-websocket 0    the reference server, @y/websocket-server's setupWSConnection
//   node serve.mjs hocuspocus 0     @hocuspocus/server with no extensions
import http from "node:http";

const [kind, portArg = "0"] = process.argv.slice(2);
const port = Number(portArg);
const announce = (p) => console.log(`listening on http://127.0.0.1:${p}`);

if (kind === "y-websocket") {
  // What `npx y-websocket` runs (server.js), bound to loopback and to the port asked for.
  const { WebSocketServer } = await import("ws");
  const { setupWSConnection } = await import("@y/websocket-server/utils");
  const wss = new WebSocketServer({ noServer: true });
  wss.on("connection", setupWSConnection);
  const server = http.createServer((_req, res) => res.end("okay"));
  server.on("upgrade", (req, socket, head) =>
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req)),
  );
  server.listen(port, "127.0.0.1", () => announce(server.address().port));
} else if (kind === "hocuspocus") {
  const { Server } = await import("@hocuspocus/server");
  const server = new Server({ port, address: "127.0.0.1", quiet: true });
  await server.listen();
  announce(server.address.port);
} else {
  console.error(`unknown server ${kind}: y-websocket or hocuspocus`);
  process.exit(2);
}
