// Every ```sh and ```ts snippet in README.md and docs/*.md runs, so none can
// go stale. Each document's snippets run in order, in one fresh copy of the
// checkout (so a snippet may use what an earlier one wrote): sh with bash,
// ts with Node and tsx. An HTML comment on the line before a fence adjusts it:
//   <!-- snippet: skip REASON -->   not run (browser-only, installs, the whole test suite); counted as skipped
//   <!-- snippet: file PATH -->     a ts snippet is written to PATH (default: snippet-LINE.ts at the root)
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..");

interface Snippet {
  readonly line: number;
  readonly lang: "sh" | "ts";
  readonly code: string;
  readonly skip: string | null;
  readonly file: string | null;
}

const MARKER = /^<!--\s*snippet:\s*(skip|file)\b\s*(.*?)\s*-->$/;

/** The sh and ts fences of a Markdown text, with the marker on the line before each, if any. */
function extractSnippets(markdown: string): Snippet[] {
  const lines = markdown.split("\n");
  const snippets: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(sh|ts)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const close = lines.findIndex((l, j) => j > i && l.startsWith("```"));
    if (close < 0) throw new Error(`line ${i + 1}: unclosed fence`);
    const marker = MARKER.exec(lines[i - 1]?.trim() ?? "");
    snippets.push({
      line: i + 1,
      lang: open[1] as "sh" | "ts",
      code: lines.slice(i + 1, close).join("\n"),
      skip: marker?.[1] === "skip" ? marker[2] || "no reason given" : null,
      file: marker?.[1] === "file" ? marker[2]! : null,
    });
    i = close;
  }
  return snippets;
}

/** A copy of the checkout's files (tracked and new, not ignored) sharing its node_modules and .cache. */
function sandbox(): string {
  const dir = mkdtempSync(join(tmpdir(), "lstmc-snippets-"));
  const files = execFileSync("git", ["ls-files", "-co", "--exclude-standard", "-z"], { cwd: ROOT, encoding: "utf8" }).split("\0").filter(Boolean);
  for (const file of files) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    cpSync(join(ROOT, file), join(dir, file));
  }
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  symlinkSync(join(ROOT, ".cache"), join(dir, ".cache"));
  return dir;
}

/**
 * Commands a test must never run: the sandbox shares the checkout's
 * node_modules, which `npm ci` would delete, and `npm test` would run this
 * test again. A snippet with one of them has to be marked skip.
 */
const NEVER_RUN = /\bnpm\s+(?:ci|install|i|test)\b/;

function runSnippet(dir: string, snippet: Snippet) {
  if (snippet.lang === "sh") return spawnSync("bash", ["-e", "-o", "pipefail", "-c", snippet.code], { cwd: dir, encoding: "utf8" });
  const file = snippet.file ?? `snippet-${snippet.line}.ts`;
  mkdirSync(dirname(join(dir, file)), { recursive: true });
  writeFileSync(join(dir, file), snippet.code);
  return spawnSync(process.execPath, ["--import", "tsx", file], { cwd: dir, encoding: "utf8" });
}

describe("extractSnippets", () => {
  it("reads sh and ts fences with their markers and ignores other languages", () => {
    const text = ["```sh", "echo a", "```", "<!-- snippet: skip needs a browser -->", "```ts", "f()", "```", "```json", "{}", "```", "<!-- snippet: file src/x.ts -->", "```ts", "g()", "h()", "```"].join("\n");
    expect(extractSnippets(text)).toEqual([
      { line: 1, lang: "sh", code: "echo a", skip: null, file: null },
      { line: 5, lang: "ts", code: "f()", skip: "needs a browser", file: null },
      { line: 12, lang: "ts", code: "g()\nh()", skip: null, file: "src/x.ts" },
    ]);
  });
});

const DOCUMENTS = ["README.md", ...readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => join("docs", f))];

for (const document of DOCUMENTS) {
  const snippets = extractSnippets(readFileSync(join(ROOT, document), "utf8"));
  if (snippets.length === 0) continue;
  describe(`the snippets of ${document}`, () => {
    let dir: string | undefined;
    afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));
    for (const snippet of snippets) {
      const name = `${document}:${snippet.line} (${snippet.lang})`;
      if (snippet.skip !== null) {
        it.skip(`${name}, skipped: ${snippet.skip}`, () => {});
        continue;
      }
      it(`${name} runs`, () => {
        expect(snippet.code, "mark this snippet <!-- snippet: skip REASON -->").not.toMatch(NEVER_RUN);
        dir ??= sandbox();
        const result = runSnippet(dir, snippet);
        expect({ status: result.status, stderr: result.status === 0 ? "" : result.stderr }).toEqual({ status: 0, stderr: "" });
      });
    }
  });
}
