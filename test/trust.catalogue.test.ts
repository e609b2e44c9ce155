// The diagnostics catalogue is the one place that holds lstmc's words: every
// code has a message, every message is reported somewhere, and the language
// reference lists every code.
import { readFileSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { codes, formatMessage, messages, type MessageId } from "../src/diagnostics/catalogue.ts";

const ROOT = join(import.meta.dirname, "..");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(path) : path.endsWith(".ts") ? [path] : [];
  });
}

const CATALOGUE = join(ROOT, "src", "diagnostics", "catalogue.ts");
const sources = sourceFiles(join(ROOT, "src"))
  .filter((f) => f !== CATALOGUE)
  .map((f) => ({ file: relative(ROOT, f), text: readFileSync(f, "utf8") }));
const ids = Object.keys(messages) as MessageId[];

describe("the diagnostics catalogue", () => {
  it("gives every code at least one message", () => {
    const withMessages = new Set(ids.map((id) => messages[id].code));
    expect(Object.keys(codes).filter((code) => !withMessages.has(code as keyof typeof codes))).toEqual([]);
  });

  it("has no message that the source never reports", () => {
    // Messages are named at call sites as string literals: diagnostic("unknownName", …), new CodedError("dataLength", …), or in tables.
    const unused = ids.filter((id) => !sources.some((s) => s.text.includes(`"${id}"`)));
    expect(unused).toEqual([]);
  });

  it("keeps prose out of call sites: no code is written as a literal outside the catalogue", () => {
    const literalCodes = sources.flatMap((s) => [...s.text.matchAll(/["'`]([EW]\d{3})["'`]/g)].map((m) => `${s.file}: ${m[1]}`));
    expect(literalCodes).toEqual([]);
  });

  it("numbers each template's holes from {0} without gaps", () => {
    for (const id of ids) {
      const holes = [...new Set([...messages[id].template.matchAll(/\{(\d+)\}/g)].map((m) => Number(m[1])))].sort((a, b) => a - b);
      expect(holes, id).toEqual(holes.map((_, i) => i));
    }
  });

  it("fills holes with arguments and refuses a missing one", () => {
    expect(formatMessage("unknownName", ["x"])).toBe("unknown name 'x'");
    expect(formatMessage("nextStateShape", ["c", "[H]", "[I]"])).toBe("c' is [H] but state 'c' is [I]");
    expect(() => formatMessage("unknownName", [])).toThrow(/needs argument \{0\}/);
  });

  it("is listed code by code in docs/language.md", () => {
    const docs = readFileSync(join(ROOT, "docs", "language.md"), "utf8");
    const listed = new Set([...docs.matchAll(/^\| ([EW]\d{3}) \|/gm)].map((m) => m[1]));
    expect(Object.keys(codes).filter((code) => !listed.has(code))).toEqual([]);
  });
});
