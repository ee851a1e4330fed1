// A stand-in for an OpenAI-compatible provider, for the end-to-end tests: `POST
// /v1/chat/completions` answers with a server-sent-events stream. A question containing "slow"
// gets a long answer a token every 200 ms (so it can be stopped); anything else a short
// Markdown answer with a code block; a question with project lookups cites the first
// function it was shown (`path:line`); a code action ("Replace lines …") gets its lines back
// with a comment above them. Inline completions (a chat request with `stream: false`,
// or `POST /v1/completions`) get ` a + b;` after text ending in `return`, else nothing.
// Usage: node fake-ai.mjs PORT (0 picks a free one; the address is printed as
// `listening on http://…`)
import http from "node:http";

const port = Number(process.argv[2] ?? 0);

function chunk(text) {
  return `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: text } }] })}\n\n`;
}

/** An inline completion for the text before the cursor. */
function fill(before) {
  return /return\s*$/.test(before) ? " a + b;" : "";
}

/** The lines a code action asks to change: the fenced block after "Replace lines". */
function linesToChange(prompt) {
  const at = prompt.indexOf("Replace lines");
  if (at < 0) return null;
  const lines = prompt.slice(at).split("\n").slice(1);
  const fence = (lines[0].match(/^`+/) || ["```"])[0];
  const end = lines.indexOf(fence, 1);
  return lines.slice(1, end < 0 ? undefined : end).join("\n");
}

/** A code action's answer: documentation above the lines (or, for anything else, the lines
 * with a note), in one fenced block. */
function changed(prompt, code) {
  const indent = code.match(/^\s*/)[0];
  if (prompt.startsWith("Add documentation")) return `${indent}/** Adds two numbers. */\n${code}`;
  return `${indent}// Checked by the assistant.\n${code}`;
}

/** For a question with project lookups in its context: a sentence citing the first line
 * with `function` in the first file shown, as `path:line`. */
function cited(messages) {
  const context = messages.map((m) => String(m.content)).find((c) => c.includes("Looked up in the project"));
  if (!context) return null;
  const after = context.slice(context.indexOf("Looked up in the project"));
  const m = after.match(/`([^`]+)` lines? (\d+)(?:-\d+)?:\n`+\w*\n([\s\S]*?)\n`{3,}/);
  if (!m) return null;
  const at = m[3].split("\n").findIndex((l) => l.includes("function"));
  return `It is defined in \`${m[1]}:${Number(m[2]) + Math.max(at, 0)}\`.`;
}

/** Inline completion requests answered so far (`GET /stats`, for the benchmarks). */
let fills = 0;

const server = http.createServer((req, res) => {
  if (req.method === "GET" && req.url === "/stats") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ fills }));
    return;
  }
  const paths = ["/v1/chat/completions", "/v1/completions"];
  if (req.method !== "POST" || !paths.includes(req.url)) {
    res.writeHead(404).end();
    return;
  }
  let body = "";
  req.on("data", (d) => (body += d));
  req.on("end", () => {
    const request = JSON.parse(body);
    if (request.stream === false) {
      fills += 1;
      // The chat form marks the cursor; the fill-in-the-middle form sends what is before it.
      const prompt = request.prompt ?? String(request.messages?.at(-1)?.content ?? "");
      const text = fill(prompt.split("<CURSOR>")[0]);
      const choice = request.prompt !== undefined ? { text } : { message: { content: text } };
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ choices: [choice], usage: { prompt_tokens: 30, completion_tokens: 3 } }));
      return;
    }
    const messages = request.messages ?? [];
    const question = String(messages.at(-1)?.content ?? "");
    const slow = question.includes("slow");
    const code = linesToChange(question);
    const cite = cited(messages);
    const tokens = code !== null
      ? ["Here it is:\n```\n", changed(question, code), "\n```\n"]
      : cite !== null
      ? [cite]
      : slow
      ? Array.from({ length: 150 }, (_, i) => `word${i} `)
      : ["Here is ", "a greeting:\n\n", "```js\n", "console.log(\"hi\");\n", "```\n"];
    res.writeHead(200, { "content-type": "text/event-stream" });
    let i = 0;
    const timer = setInterval(
      () => {
        if (i < tokens.length) {
          res.write(chunk(tokens[i++]));
        } else {
          clearInterval(timer);
          res.end("data: [DONE]\n\n");
        }
      },
      slow ? 200 : 40,
    );
    // Stopping an answer closes the request: stop writing.
    res.on("close", () => clearInterval(timer));
  });
});

server.listen(port, "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
