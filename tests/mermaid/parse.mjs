// Parses Mermaid sources with the real Mermaid parser, for the tests.
// Reads one JSON string (a Mermaid source) per line on stdin; writes one JSON line per source:
// {"ok": true} or {"ok": false, "error": "..."}.  Mermaid wants a DOM (for DOMPurify): jsdom gives it one.
import { createInterface } from "node:readline";
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import("mermaid");

// A directive in the source would change this configuration: report it.
mermaid.initialize({ startOnLoad: false, theme: "default" });

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  const source = JSON.parse(line);
  let out;
  try {
    await mermaid.parse(source);
    const directive = /%%\s*\{/.test(source);
    out = directive ? { ok: false, error: "directive in source" } : { ok: true };
  } catch (e) {
    out = { ok: false, error: String((e && e.message) || e).split("\n").slice(0, 4).join(" | ") };
  }
  process.stdout.write(JSON.stringify(out) + "\n");
}
