// A real Yjs peer (npm `yjs` + `y-websocket`'s WebsocketProvider) for the interoperability test:
// joins a Tandem document through /yjs/{doc}, appends its text, waits until the document also
// contains the text the other (Rust) peer wrote, then prints the final text as JSON.
//
// node yjs-peer.mjs <ws://host:port/yjs> <doc> <token> <text-to-append> <text-to-wait-for>
import * as Y from "yjs";
import { WebsocketProvider } from "y-websocket";
import WebSocket from "ws";

const [serverUrl, doc, token, mine, theirs] = process.argv.slice(2);
const ydoc = new Y.Doc();
const text = ydoc.getText("content");
const provider = new WebsocketProvider(serverUrl, doc, ydoc, {
  WebSocketPolyfill: WebSocket,
  params: { token },
  disableBc: true,
});

const fail = (why) => {
  console.error(why);
  process.exit(1);
};
setTimeout(() => fail(`timed out; text is ${JSON.stringify(text.toString())}`), 15_000);
provider.on("connection-close", (event) => {
  if (event && event.code && event.code !== 1000) console.error(`closed ${event.code} ${event.reason}`);
});

await new Promise((resolve) => provider.once("sync", resolve));
text.insert(text.length, mine);
while (!text.toString().includes(theirs)) {
  await new Promise((resolve) => ydoc.once("update", resolve));
}
// Let our own last update reach the server before leaving.
await new Promise((resolve) => setTimeout(resolve, 300));
process.stdout.write(JSON.stringify(text.toString()));
provider.destroy();
process.exit(0);
