// lstmc/esbuild: an app imports specs with a query, esbuild bundles it, and
// the bundle runs in Node; a broken spec fails the build with esbuild
// messages that carry the spec's file, line and column.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build, type BuildFailure } from "esbuild";
import { describe, expect, it } from "vitest";
import lstmc from "../src/plugins/esbuild.ts";

const ROOT = join(import.meta.dirname, "..");

function app(main: string): string {
  const dir = mkdtempSync(join(tmpdir(), "lstmc-esbuild-"));
  copyFileSync(join(ROOT, "specs", "gru.lstm"), join(dir, "gru.lstm"));
  writeFileSync(join(dir, "main.ts"), main);
  return dir;
}

function bundle(dir: string) {
  return build({ entryPoints: [join(dir, "main.ts")], bundle: true, format: "esm", platform: "node", outfile: join(dir, "out.mjs"), plugins: [lstmc()], logLevel: "silent" });
}

async function buildFailure(dir: string): Promise<BuildFailure> {
  return bundle(dir).then(
    () => expect.unreachable("the build should fail"),
    (e: BuildFailure) => e,
  );
}

describe("lstmc/esbuild", () => {
  it("bundles a spec imported with sizes, once per distinct query, into a module that runs", async () => {
    const dir = app(`
      import * as cell from "./gru.lstm?dims=I=4,H=3&target=ts";
      import * as small from "./gru.lstm?dims=I=2,H=2";
      const { outputs } = cell.forward(cell.initParams(1), { x: new Float32Array(cell.I) });
      console.log(JSON.stringify({ H: cell.H, outputLength: outputs.h.length, smallH: small.H }));
    `);
    await bundle(dir);
    expect(JSON.parse(execFileSync(process.execPath, [join(dir, "out.mjs")], { encoding: "utf8" }))).toEqual({ H: 3, outputLength: 3, smallH: 2 });
  });

  it("fails with the spec's file, line, column and line text for an unknown name", async () => {
    const dir = app(`import * as cell from "./gru.lstm?dims=I=4,H=3"; console.log(cell.H);`);
    const spec = join(dir, "gru.lstm");
    writeFileSync(spec, readFileSync(spec, "utf8").replace("U_z @ h + b_z", "U_z @ hh + b_z"));
    const failure = await buildFailure(dir);
    expect(failure.errors).toHaveLength(1);
    expect(failure.errors[0]!.text).toMatch(/^E101: .*hh/);
    // esbuild shows paths relative to the working directory; column is 0-based there.
    expect(join(process.cwd(), failure.errors[0]!.location!.file)).toBe(spec);
    expect(failure.errors[0]!.location).toMatchObject({ line: 23, column: 24, lineText: "  z = σ(W_z @ x + U_z @ hh + b_z)" });
  });

  it("fails on a size binding the query cannot give", async () => {
    const failure = await buildFailure(app(`import * as cell from "./gru.lstm?dims=I=four"; console.log(cell.H);`));
    expect(failure.errors[0]!.text).toMatch(/gru\.lstm\?dims=I=four: .*I=four/);
  });
});
