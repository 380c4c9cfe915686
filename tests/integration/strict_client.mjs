// A strict HTTP client for the emulator's tests: Node's own http module (llhttp), which refuses
// answers that curl, httpx and Python's http.client accept, e.g. a doubled Content-Length
// (HPE_UNEXPECTED_CONTENT_LENGTH).
//
// usage: node strict_client.mjs <base url> <requests.json>
// requests.json: [{"method", "path", "headers": {...}, "body": "text"} | {..., "fill": "x", "size": N}]
// prints one JSON line per request: {"status", "rawHeaders": [name, value, ...], "body"} or {"error"}.
import http from "node:http";
import { readFileSync } from "node:fs";

const [base, file] = process.argv.slice(2);
const target = new URL(base);
const requests = JSON.parse(readFileSync(file, "utf8"));

function send(spec) {
  return new Promise((resolve) => {
    const body = spec.fill !== undefined ? Buffer.alloc(spec.size, spec.fill) : Buffer.from(spec.body ?? "");
    const headers = { ...(spec.headers ?? {}) };
    if (body.length > 0) headers["content-length"] = String(body.length);
    const req = http.request(
      { host: target.hostname, port: target.port, method: spec.method, path: spec.path, headers, agent: false },
      (res) => {
        const chunks = [];
        res.on("data", (chunk) => chunks.push(chunk));
        res.on("end", () =>
          resolve({
            status: res.statusCode,
            rawHeaders: res.rawHeaders,
            body: Buffer.concat(chunks).toString("utf8").slice(0, 2000),
          }),
        );
        res.on("error", (err) => resolve({ error: `${err.code ?? ""} ${err.message}` }));
      },
    );
    req.setTimeout(60000, () => req.destroy(new Error("timed out after 60 s")));
    req.on("error", (err) => resolve({ error: `${err.code ?? ""} ${err.message}` }));
    req.end(body);
  });
}

for (const spec of requests) {
  process.stdout.write(JSON.stringify(await send(spec)) + "\n");
}
