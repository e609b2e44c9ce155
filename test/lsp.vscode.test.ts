// The VS Code extension's manifest wires the grammar and the server together:
// the grammar it names exists and has the scope it claims, and its language
// client speaks the same protocol version as the server library lstmc ships.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const EXTENSION = join(import.meta.dirname, "..", "editors", "vscode");
const read = (file: string) => JSON.parse(readFileSync(file, "utf8"));

describe("the VS Code extension", () => {
  const manifest = read(join(EXTENSION, "package.json"));

  it("contributes the .lstm language with the TextMate grammar", () => {
    expect(manifest.contributes.languages).toMatchObject([{ id: "lstm", extensions: [".lstm"] }]);
    const [grammar] = manifest.contributes.grammars;
    expect(grammar.language).toBe("lstm");
    expect(read(join(EXTENSION, grammar.path)).scopeName).toBe(grammar.scopeName);
    expect(read(join(EXTENSION, manifest.contributes.languages[0].configuration)).comments.lineComment).toBe("#");
  });

  it("uses a language client of the server library's major version", () => {
    const lstmc = read(join(import.meta.dirname, "..", "package.json"));
    const major = (range: string) => range.replace(/^\D+/, "").split(".")[0];
    expect(major(manifest.dependencies["vscode-languageclient"])).toBe(major(lstmc.dependencies["vscode-languageserver"]));
  });
});
