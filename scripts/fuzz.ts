// `npx tsx scripts/fuzz.ts --count N --seed S`: the fuzz campaign of issue 10.
// Hostile and careless inputs, in process, against three surfaces:
//   frontend  mutated and deeply nested .lstm and .json specs through parse and
//             check; a spec that checks is run by the interpreter on random data
//   data      mutated `lstmc run --data` JSON through the run contract's reader
//             and the interpreter
//   module    the generated TypeScript modules' API (forward, backward, step,
//             createState) called with hostile arguments
// The oracle for every input: no throw of a non-Error, no stack overflow, no
// internal error (an exception `lstmc` would report as exit 70), no slow
// input, and a result that is either a clear error or finite numbers. For the
// module API: the call throws an Error naming the argument, or returns exactly
// the numbers of the same call with clean arguments.
// Prints counts, rates and every failing class with its smallest example;
// exits 1 when any class fails. Options: --parts frontend,data,module
// --specs rnn,lstm (library specs for data and module) --precisions f64,f32.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { hasErrors, type Diagnostic } from "../src/diagnostics/diagnostic.ts";
import { forwardBackward } from "../src/interp/interpret.ts";
import { bindSizes, type SizeBinding } from "../src/ir/bind.ts";
import { CodedError } from "../src/diagnostics/diagnostic.ts";
import { evaluateDim } from "../src/ir/dims.ts";
import { buildCell } from "../src/ir/build.ts";
import type { CellIR } from "../src/ir/types.ts";
import type { SpecAst } from "../src/parse/ast.ts";
import { parseDsl, type ParseResult } from "../src/parse/dsl.ts";
import { parseJsonSpec } from "../src/parse/json.ts";
import { printJson } from "../src/parse/print-json.ts";
import { readRunRequest } from "../src/run/contract.ts";
import { randomRequest } from "../src/run/random-data.ts";
import { loadGeneratedModule } from "../src/run/ts-engine.ts";
import { _makeRandom } from "../src/runtime/init.ts";
import { isModelFile } from "../src/parse/load-model.ts";

export type Part = "frontend" | "data" | "module";
export const PARTS: readonly Part[] = ["frontend", "data", "module"];

export interface CampaignOptions {
  /** Inputs in total, shared between the parts (frontend 1/2, data 1/4, module 1/4). */
  readonly count: number;
  readonly seed: number;
  readonly parts?: readonly Part[];
  /** Library specs (names in specs/) that the data and module parts use. */
  readonly specs?: readonly string[];
  readonly precisions?: readonly ("f32" | "f64")[];
  /** Milliseconds past which an input counts as a failure (default SLOW_MS). */
  readonly slowMs?: number;
}

export interface FailureClass {
  readonly name: string;
  count: number;
  /** The smallest input seen in this class, described. */
  example: string;
  exampleSize: number;
}

export interface PartReport {
  readonly part: Part;
  readonly slowMs: number;
  inputs: number;
  seconds: number;
  readonly failures: Map<string, FailureClass>;
}

/**
 * An input slower than this is reported: the campaign runs in process and
 * cannot stop a hang, only notice one. Tests pass Infinity, so that their
 * result never depends on the machine's speed.
 */
const SLOW_MS = 5000;

type Random = () => number;
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const integer = (random: Random, below: number): number => Math.floor(random() * below);

function noteIfSlow(report: PartReport, startedMs: number, example: string): void {
  if (performance.now() - startedMs > report.slowMs) record(report, `slow input (over ${report.slowMs / 1000} s)`, example);
}

function record(report: PartReport, name: string, example: string, size: number = example.length): void {
  const known = report.failures.get(name);
  if (!known) report.failures.set(name, { name, count: 1, example, exampleSize: size });
  else {
    known.count++;
    if (size < known.exampleSize) Object.assign(known, { example, exampleSize: size });
  }
}

/** A stable name for what was thrown: its kind and its message with numbers and quoted parts blanked. */
export function describeThrown(e: unknown): string {
  if (!(e instanceof Error)) return `a non-Error (${typeof e})`;
  if (e instanceof RangeError && /call stack/i.test(e.message)) return "stack overflow";
  const message = e.message.replace(/(["'`]).*?\1/g, "…").replace(/\d+(\.\d+)?(e[+-]?\d+)?/gi, "N").split("\n")[0]!.slice(0, 90);
  return `${e.constructor.name}: ${message}`;
}

function allFinite(groups: readonly (Readonly<Record<string, ArrayLike<number>>> | null | undefined)[]): boolean {
  return groups.every((g) => !g || Object.values(g).every((a) => Array.prototype.every.call(a, Number.isFinite)));
}

// ---------------------------------------------------------------------------
// frontend: mutated and deeply nested specs through parse and check

interface SpecText {
  readonly name: string;
  readonly text: string;
  readonly format: "lstm" | "json";
}

function librarySpecs(): SpecText[] {
  // Cells only: the campaign mutates and compiles cells; models have their own parser and are not compiled yet.
  const lstm = readdirSync("specs").filter((f) => f.endsWith(".lstm") && !isModelFile(join("specs", f))).sort();
  return lstm.flatMap((file) => {
    const text = readFileSync(join("specs", file), "utf8");
    const json = printJson(parseDsl(text, file).value!);
    return [
      { name: file, text, format: "lstm" as const },
      { name: file.replace(/\.lstm$/, ".json"), text: json, format: "json" as const },
    ];
  });
}

/** Fragments that mean something to one syntax or the other, so mutations reach past the lexer. */
const TOKENS = [
  "=", "'", "@", "(", ")", "[", "]", "{", "}", ",", ":", "*", "+", "-", "/", "~", "σ", "⊙", "·", "#", "\n", "\r", "\r\n", "\u2028", " ",
  "cell", "size", "input", "state", "param", "output", "H", "I", "x", "h", "h'", "c'", "tanh(", "sigmoid(", "exp(", "log(", "toString", "valueOf", "__proto__",
  "0", "1", "-1", "2.5", "1e400", "1e309", "-1e400", "/ 0", "0 / 0", "1e9", "99999999999999999999", "null", "true", '"', "\\", "\\u", '"h"', '"shape"', '"init"', '"glorot"', "[]", "{}", "\uFEFF",
];

type TextMutation = { readonly at: number; readonly remove: number; readonly insert: string };

function randomTextMutation(random: Random, length: number): TextMutation {
  const at = integer(random, length + 1);
  const insert = random() < 0.8 ? pick(random, TOKENS) : String.fromCharCode(integer(random, 0x3000));
  const remove = random() < 0.4 ? 0 : 1 + integer(random, 6);
  return { at, remove, insert: random() < 0.2 ? "" : insert };
}

function applyMutations(text: string, mutations: readonly TextMutation[]): string {
  return mutations.reduce((t, m) => t.slice(0, m.at) + m.insert + t.slice(m.at + m.remove), text);
}

/** The line a mutation lands on, for an example a reader can take in. */
function lineAt(text: string, at: number): string {
  const start = text.lastIndexOf("\n", at - 1) + 1;
  const end = text.indexOf("\n", at);
  return text.slice(start, end < 0 ? undefined : end).slice(0, 160);
}

/** Deep expressions that replace the RNN's equation (issue 10, item 3). */
const DEEP: readonly [string, (depth: number) => string][] = [
  ["nested tanh", (d) => `${"tanh(".repeat(d)}h${")".repeat(d)}`],
  ["nested parentheses", (d) => `${"(".repeat(d)}h${")".repeat(d)}`],
  ["unary minuses", (d) => `${"-".repeat(d)}h`],
  ["long sum", (d) => `${"h + ".repeat(d)}h`],
  ["long product", (d) => `${"h * ".repeat(d)}h`],
  ["nested products", (d) => `${"U @ (".repeat(d)}h${")".repeat(d)}`],
];
const DEPTHS = [10, 100, 1000, 3000, 10000];
const RNN_EQUATION = "tanh(W @ x + U @ h + b)";

const FRONT_ENDS: Readonly<Record<"lstm" | "json", (text: string, file: string) => ParseResult<SpecAst>>> = { lstm: parseDsl, json: parseJsonSpec };

function isLocated(d: Diagnostic): boolean {
  const { line, column, endLine, endColumn } = d.span;
  return [line, column, endLine, endColumn].every((n) => Number.isInteger(n) && n >= 1);
}

/** Sizes small enough to run the interpreter on, or null. */
function smallSizes(ir: CellIR): SizeBinding | null {
  try {
    const sizes = bindSizes(ir);
    return Object.values(sizes).every((v) => v <= 64) ? sizes : null;
  } catch (e) {
    if (e instanceof CodedError) return null;
    throw e;
  }
}

/** Parse, check and (if it checks, at small sizes) run one spec text; records what goes wrong. */
function checkSpecText(report: PartReport, spec: SpecText, text: string, example: string, size: number): void {
  const stage = { name: "parse" };
  try {
    const parsed = FRONT_ENDS[spec.format](text, `fuzz.${spec.format}`);
    stage.name = "check";
    const built = parsed.value ? buildCell(parsed.value) : null;
    const diagnostics = [...parsed.diagnostics, ...(built?.diagnostics ?? [])];
    if (diagnostics.some((d) => !isLocated(d))) record(report, `bad diagnostics: ${spec.format} a diagnostic without a location`, example, size);
    if (built?.ir && hasErrors(diagnostics)) record(report, `bad diagnostics: ${spec.format} an IR despite errors`, example, size);
    if (!built?.ir && !hasErrors(diagnostics)) record(report, `bad diagnostics: ${spec.format} no IR and no error`, example, size);
    if (!built?.ir || hasErrors(diagnostics)) return;
    stage.name = "size binding";
    const sizes = smallSizes(built.ir);
    if (!sizes) return;
    stage.name = "run";
    const request = randomRequest(built.ir, { sizes, batch: 2, steps: 2, seed: 1 });
    const result = forwardBackward(built.ir, sizes, request.sequence, request.upstream);
    if (!allFinite([result.outputs, result.final, result.grads.params, result.grads.inputs, result.grads.initial])) {
      record(report, `non-finite output without an error: ${spec.format} checks, run gives non-finite numbers (printed as null)`, example, size);
    }
  } catch (e) {
    record(report, `internal error (exit 70 class): ${spec.format} ${stage.name} throws ${describeThrown(e)}`, example, size);
  }
}

function fuzzFrontEnd(report: PartReport, count: number, random: Random): void {
  const specs = librarySpecs();
  const rnn = specs.filter((s) => s.name.startsWith("rnn."));
  for (let n = 0; n < count; n++) {
    const started = performance.now();
    let example: string;
    if (random() < 0.05) {
      const spec = pick(random, rnn);
      const [kind, expression] = pick(random, DEEP);
      const depth = pick(random, DEPTHS);
      example = `${spec.name} with the equation replaced by ${kind}, depth ${depth}`;
      checkSpecText(report, spec, spec.text.replace(RNN_EQUATION, expression(depth)), example, depth);
    } else {
      const spec = pick(random, specs);
      const mutations: TextMutation[] = [];
      let text = spec.text;
      for (let m = 1 + integer(random, 4); m > 0; m--) {
        const mutation = randomTextMutation(random, text.length);
        mutations.push(mutation);
        text = applyMutations(text, [mutation]);
      }
      const last = mutations[mutations.length - 1]!;
      example = `${spec.name} with ${mutations.map((m) => `at ${m.at} -${m.remove} +${JSON.stringify(m.insert)}`).join(", ")}; line: ${JSON.stringify(lineAt(text, last.at))}`;
      checkSpecText(report, spec, text, example, mutations.length * 1000 + example.length);
    }
    noteIfSlow(report, started, example);
    report.inputs++;
  }
}

// ---------------------------------------------------------------------------
// data: mutated `lstmc run --data` JSON through the contract reader and the interpreter

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function checkedLibrarySpec(name: string): CellIR {
  const built = buildCell(parseDsl(readFileSync(join("specs", `${name}.lstm`), "utf8"), `${name}.lstm`).value!);
  if (!built.ir) throw new Error(`specs/${name}.lstm does not check`);
  return built.ir;
}

/** A valid data file for the cell: what `lstmc run --data` reads. */
function cleanData(ir: CellIR, seed: number): Json {
  const sizes = bindSizes(ir, { I: 3, H: 4 });
  const request = randomRequest(ir, { sizes, batch: 2, steps: 3, seed, uniformParams: true });
  const plain = (group: Readonly<Record<string, Float64Array>>) => Object.fromEntries(Object.entries(group).map(([k, v]) => [k, Array.from(v)]));
  const { params, inputs, initial, batch, steps } = request.sequence;
  return { dims: { ...sizes }, batch, steps, params: plain(params), inputs: plain(inputs), initial: plain(initial ?? {}), upstream: { outputs: plain(request.upstream.outputs ?? {}) } };
}

const HOSTILE_VALUES: readonly Json[] = [null, true, false, "", "1", "__proto__", 0, -1, 1.5, -0, 1e9, 2 ** 31, 2 ** 53, 1e308, -1e308, 5e-324, [], [1], {}, { x: 1 }, { toString: 1 }];

type Slot = [container: Json[] | { [key: string]: Json }, key: string | number, path: string];

/** Every place in a JSON tree where a value sits, with its path. */
function slots(value: Json, path = "", into: Slot[] = []): Slot[] {
  if (Array.isArray(value)) value.forEach((item, i) => (into.push([value, i, `${path}[${i}]`]), slots(item, `${path}[${i}]`, into)));
  else if (value !== null && typeof value === "object") for (const [k, item] of Object.entries(value)) (into.push([value, k, `${path}.${k}`]), slots(item, `${path}.${k}`, into));
  return into;
}

/** Mutates a data file in place, or as text; returns the text `lstmc run --data` would read and a description. */
function mutateData(data: Json, random: Random): [string, string] {
  const choice = random();
  if (choice < 0.15) {
    const text = JSON.stringify(data);
    const mutation = { at: integer(random, text.length + 1), remove: integer(random, 4), insert: pick(random, ["1e309", "-1e400", "NaN", "Infinity", "\uFEFF", ",", "]", "}", "null", '"', "0", "1e9", "-"]) };
    const mutated = applyMutations(text, [mutation]);
    return [mutated, `text edit at ${mutation.at} -${mutation.remove} +${JSON.stringify(mutation.insert)}: …${mutated.slice(Math.max(0, mutation.at - 40), mutation.at + 40)}…`];
  }
  const [container, key, path] = pick(random, slots(data));
  let description: string;
  if (choice < 0.3 && !Array.isArray(container)) {
    delete container[key as string];
    description = `deleted ${path}`;
  } else if (choice < 0.4 && Array.isArray(container)) {
    container.splice(Number(key), 1);
    description = `removed element ${path}`;
  } else if (choice < 0.5 && !Array.isArray(container)) {
    const name = pick(random, ["extra", "toString", "__proto__", "constructor", "h", "x", "W"]);
    container[name] = pick(random, HOSTILE_VALUES);
    description = `added ${path.replace(/[.[][^.[]*$/, "")}.${name} = ${JSON.stringify(container[name])}`;
  } else if (choice < 0.6) {
    (container as Record<string | number, Json>)[key] = "1e309 placeholder";
    return [JSON.stringify(data).replace('"1e309 placeholder"', pick(random, ["1e309", "-1e309", "1e-400"])), `set ${path} to an out-of-range number literal`];
  } else {
    const value = pick(random, HOSTILE_VALUES);
    (container as Record<string | number, Json>)[key] = value;
    description = `set ${path} = ${JSON.stringify(value)}`;
  }
  return [JSON.stringify(data), description];
}

function fuzzData(report: PartReport, count: number, random: Random, specs: readonly string[]): void {
  const cells = specs.map((name) => ({ name, ir: checkedLibrarySpec(name) }));
  for (let n = 0; n < count; n++) {
    const started = performance.now();
    const { name, ir } = pick(random, cells);
    const [text, description] = mutateData(cleanData(ir, n), random);
    const example = `${name}: ${description}`;
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      report.inputs++;
      continue; // `lstmc run` reports unreadable JSON as a data error (exit 1)
    }
    const stage = { name: "contract" };
    try {
      const request = readRunRequest(ir, data);
      stage.name = "run";
      const result = forwardBackward(ir, request.sizes, request.sequence, request.upstream);
      if (!allFinite([result.outputs, result.final, result.grads.params, result.grads.inputs, result.grads.initial])) {
        record(report, "non-finite output without an error: data accepted, run gives non-finite numbers (printed as null)", example);
      }
    } catch (e) {
      if (!(e instanceof CodedError && e.message.length > 0)) record(report, `internal error (exit 70 class): ${stage.name} throws ${describeThrown(e)}`, example);
    }
    noteIfSlow(report, started, example);
    report.inputs++;
  }
}

// ---------------------------------------------------------------------------
// module: the generated modules' API with hostile arguments

type FloatArray = Float32Array | Float64Array;
type Tensors = Record<string, FloatArray>;
interface Saved {
  batch: number;
  steps: number;
  inputs: Tensors;
  hist: Tensors;
  outputs: Tensors;
  tape: FloatArray[];
}
interface ModuleApi {
  forward(params: Tensors, inputs: Tensors, initial?: Tensors, options?: { batch?: number }): { outputs: Tensors; final: Tensors; saved: Saved };
  backward(params: Tensors, saved: Saved, upstream?: { outputs?: Tensors; final?: Tensors }): { params: Tensors; inputs: Tensors; initial: Tensors };
  step(params: Tensors, inputs: Tensors, state: Tensors): Tensors;
  createState(batch?: number): Tensors;
  initParams(seed: number): Tensors;
}

/** One cell compiled at two sizes, with clean arguments and the clean calls' results. */
interface ModuleCase {
  readonly label: string;
  readonly module: ModuleApi;
  /** The same spec compiled for bigger sizes: its params and saved objects must be refused. */
  readonly bigger: ModuleApi;
  readonly biggerSaved: Saved;
  readonly batch: number;
  readonly steps: number;
  readonly params: Tensors;
  /** Other values, used by the call before each hostile one, so stale weights show. */
  readonly otherParams: Tensors;
  readonly inputs: Tensors;
  readonly initial: Tensors;
  readonly upstream: { outputs: Tensors };
  readonly stepInputs: Tensors;
  /** Each entry point's result for the clean arguments, computed once. */
  readonly cleanResults: Map<string, unknown>;
}

const copy = (t: Tensors): Tensors => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, v.slice()]));

/** Clean inputs and initial states for a module at these sizes. */
function cleanArguments(ir: CellIR, module: ModuleApi, sizes: SizeBinding, batch: number, steps: number, random: Random, precision: "f32" | "f64") {
  const vector = (length: number): FloatArray => {
    const values = precision === "f32" ? new Float32Array(length) : new Float64Array(length);
    for (let i = 0; i < length; i++) values[i] = 2 * random() - 1;
    return values;
  };
  const inputs: Tensors = Object.fromEntries(ir.inputs.map((i) => [i.name, vector(steps * batch * evaluateDim(i.shape[0]!, sizes))]));
  const initial: Tensors = Object.fromEntries(Object.entries(module.createState(batch)).map(([k, v]) => [k, vector(v.length)]));
  return { inputs, initial, vector };
}

async function moduleCases(specs: readonly string[], precisions: readonly ("f32" | "f64")[], random: Random): Promise<ModuleCase[]> {
  const cases: ModuleCase[] = [];
  for (const name of specs) {
    const ir = checkedLibrarySpec(name);
    for (const precision of precisions) {
      const sizes = bindSizes(ir, { I: 3, H: 4 });
      const module = (await loadGeneratedModule(ir, sizes, precision)) as unknown as ModuleApi;
      const biggerSizes = bindSizes(ir, { I: 4, H: 6 });
      const bigger = (await loadGeneratedModule(ir, biggerSizes, precision)) as unknown as ModuleApi;
      const [batch, steps] = [2, 3];
      const big = cleanArguments(ir, bigger, biggerSizes, batch, steps, random, precision);
      const biggerSaved = bigger.forward(bigger.initParams(1), big.inputs, big.initial, { batch }).saved;
      const { inputs, initial, vector } = cleanArguments(ir, module, sizes, batch, steps, random, precision);
      const outputs = module.forward(module.initParams(1), inputs, initial, { batch }).outputs;
      const upstream = { outputs: Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, vector(v.length)])) };
      const stepInputs = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, v.slice(0, v.length / steps)]));
      cases.push({ label: `${name} (${precision})`, module, bigger, biggerSaved, batch, steps, params: module.initParams(1), otherParams: module.initParams(2), inputs, initial, upstream, stepInputs, cleanResults: new Map() });
    }
  }
  return cases;
}

/**
 * A hostile call: what it does, the arguments its error may name (the one
 * mutated, or another that the mutation makes inconsistent with it), and the
 * clean call it must otherwise equal (null: it must throw).
 */
interface HostileCall {
  readonly description: string;
  readonly argument: string;
  readonly orNamed?: readonly string[];
  readonly call: () => unknown;
  readonly clean: (() => unknown) | null;
}

function paramMutations(c: ModuleCase, random: Random): [string, string, Tensors][] {
  const names = Object.keys(c.params);
  const name = pick(random, names);
  const value = c.params[name]!;
  const without = copy(c.params);
  delete without[name];
  return [
    [`params.${name} empty`, `params.${name}`, { ...copy(c.params), [name]: value.subarray(0, 0) }],
    [`params.${name} one number short`, `params.${name}`, { ...copy(c.params), [name]: value.slice(0, -1) }],
    [`params.${name} one number long`, `params.${name}`, { ...copy(c.params), [name]: Float64Array.from([...value, 0.5]) as FloatArray }],
    [`params.${name} missing`, `params.${name}`, without],
    [`params.${name} = null`, `params.${name}`, { ...copy(c.params), [name]: null as unknown as FloatArray }],
    ["params from a bigger build", "params", c.bigger.initParams(1)],
  ];
}

function forwardCalls(c: ModuleCase, random: Random): HostileCall[] {
  const { module: m, batch, inputs, initial } = c;
  const clean = () => m.forward(copy(c.params), copy(inputs), copy(initial), { batch });
  const strip = (r: ReturnType<ModuleApi["forward"]>) => ({ outputs: r.outputs, final: r.final });
  const calls: HostileCall[] = paramMutations(c, random).map(([description, argument, params]) => ({ description: `forward with ${description}`, argument, call: () => strip(m.forward(params, copy(inputs), copy(initial), { batch })), clean: () => strip(clean()) }));
  const input = pick(random, Object.keys(inputs));
  const state = pick(random, Object.keys(initial));
  const badInputs: [string, Tensors][] = [
    [`inputs.${input} empty`, { ...copy(inputs), [input]: inputs[input]!.subarray(0, 0) }],
    [`inputs.${input} one number short`, { ...copy(inputs), [input]: inputs[input]!.slice(0, -1) }],
    [`inputs.${input} missing`, Object.fromEntries(Object.entries(copy(inputs)).filter(([k]) => k !== input))],
  ];
  for (const [description, bad] of badInputs) calls.push({ description: `forward with ${description}`, argument: `inputs.${input}`, call: () => strip(m.forward(copy(c.params), bad, copy(initial), { batch })), clean: () => strip(clean()) });
  for (const [description, bad] of [[`initial.${state} one row short`, initial[state]!.slice(0, initial[state]!.length / batch)], [`initial.${state} one number long`, Float64Array.from([...initial[state]!, 0])]] as const) {
    calls.push({ description: `forward with ${description}`, argument: `initial.${state}`, call: () => strip(m.forward(copy(c.params), copy(inputs), { ...copy(initial), [state]: bad as FloatArray }, { batch })), clean: () => strip(clean()) });
  }
  for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "2", null, batch + 1]) {
    calls.push({ description: `forward with batch = ${String(bad)}`, argument: "batch", orNamed: ["inputs.", "initial."], call: () => strip(m.forward(copy(c.params), copy(inputs), copy(initial), { batch: bad as number })), clean: null });
  }
  return calls;
}

function backwardCalls(c: ModuleCase, random: Random): HostileCall[] {
  const { module: m, batch, inputs, initial, upstream } = c;
  const saved = () => m.forward(copy(c.params), copy(inputs), copy(initial), { batch }).saved;
  const clean = () => m.backward(copy(c.params), saved(), { outputs: copy(upstream.outputs) });
  const calls: HostileCall[] = paramMutations(c, random).map(([description, argument, params]) => ({ description: `backward with ${description}`, argument, call: () => m.backward(params, saved(), { outputs: copy(upstream.outputs) }), clean }));
  const savedMutations: [string, (s: Saved) => Saved][] = [
    ["saved.steps + 1", (s) => ({ ...s, steps: s.steps + 1 })],
    ["saved.steps − 1", (s) => ({ ...s, steps: s.steps - 1 })],
    ["saved.steps = 1.5", (s) => ({ ...s, steps: 1.5 })],
    ["saved.steps = NaN", (s) => ({ ...s, steps: Number.NaN })],
    ["saved.batch + 1", (s) => ({ ...s, batch: s.batch + 1 })],
    ["saved.batch = 1.5", (s) => ({ ...s, batch: 1.5 })],
    ["saved.tape emptied", (s) => ({ ...s, tape: [] })],
    ["saved.tape[0] one number short", (s) => ({ ...s, tape: s.tape.map((t, i) => (i === 0 ? t.slice(0, -1) : t)) })],
    ["saved.hist one state short", (s) => ({ ...s, hist: Object.fromEntries(Object.entries(s.hist).map(([k, v]) => [k, v.slice(0, -1)])) })],
    ["saved.inputs one number short", (s) => ({ ...s, inputs: Object.fromEntries(Object.entries(s.inputs).map(([k, v]) => [k, v.slice(0, -1)])) })],
    ["saved = {}", () => ({}) as Saved],
    ["saved = null", () => null as unknown as Saved],
    ["saved from a bigger build", () => c.biggerSaved],
  ];
  for (const [description, mutate] of savedMutations) calls.push({ description: `backward with ${description}`, argument: "saved", call: () => m.backward(copy(c.params), mutate(saved()), { outputs: copy(upstream.outputs) }), clean });
  const output = pick(random, Object.keys(upstream.outputs));
  for (const [description, bad] of [[`upstream.outputs.${output} one number short`, upstream.outputs[output]!.slice(0, -1)], [`upstream.outputs.${output} one number long`, Float64Array.from([...upstream.outputs[output]!, 1])]] as const) {
    calls.push({ description: `backward with ${description}`, argument: `upstream.outputs.${output}`, call: () => m.backward(copy(c.params), saved(), { outputs: { ...copy(upstream.outputs), [output]: bad as FloatArray } }), clean });
  }
  return calls;
}

function stepCalls(c: ModuleCase, random: Random): HostileCall[] {
  const { module: m, batch, stepInputs } = c;
  const run = (params: Tensors, inputs: Tensors, state: Tensors) => ({ outputs: m.step(params, inputs, state), state });
  const clean = () => run(copy(c.params), copy(stepInputs), m.createState(batch));
  const calls: HostileCall[] = paramMutations(c, random).map(([description, argument, params]) => ({ description: `step with ${description}`, argument, call: () => run(params, copy(stepInputs), m.createState(batch)), clean }));
  const state = m.createState(batch);
  const name = pick(random, Object.keys(state));
  const rows = state[name]!.length / batch;
  const withState = (value: FloatArray) => ({ ...m.createState(batch), [name]: value });
  calls.push({ description: `step with state.${name} holding 1.5 rows`, argument: `state.${name}`, orNamed: ["state."], call: () => run(copy(c.params), copy(stepInputs), withState(new Float64Array(rows * 1.5))), clean: null });
  calls.push({ description: `step with state.${name} empty`, argument: `state.${name}`, orNamed: ["state."], call: () => run(copy(c.params), copy(stepInputs), withState(new Float64Array(0))), clean: null });
  const input = pick(random, Object.keys(stepInputs));
  calls.push({ description: `step with inputs.${input} one row long`, argument: `inputs.${input}`, call: () => run(copy(c.params), { ...copy(stepInputs), [input]: Float64Array.from({ length: (stepInputs[input]!.length / batch) * (batch + 1) }) }, m.createState(batch)), clean });
  return calls;
}

function createStateCalls(c: ModuleCase): HostileCall[] {
  return [1.5, 0, -1, Number.NaN, Number.POSITIVE_INFINITY, "2", 2 ** 32].map((bad) => ({ description: `createState(${typeof bad === "string" ? JSON.stringify(bad) : String(bad)})`, argument: "batch", call: () => c.module.createState(bad as number), clean: null }));
}

/** Flattens a result to [path, number[]] pairs, so two results compare bit for bit. */
function flatten(value: unknown, path = "", into: [string, number[]][] = []): [string, number[]][] {
  if (ArrayBuffer.isView(value)) into.push([path, Array.from(value as FloatArray)]);
  else if (value !== null && typeof value === "object") for (const [k, v] of Object.entries(value)) flatten(v, `${path}.${k}`, into);
  else into.push([path, [Number.NaN]]);
  return into;
}

function sameNumbers(a: unknown, b: unknown): boolean {
  const [fa, fb] = [flatten(a), flatten(b)];
  return fa.length === fb.length && fa.every(([p, v], i) => p === fb[i]![0] && v.length === fb[i]![1].length && v.every((x, j) => Object.is(x, fb[i]![1][j])));
}

function cleanResult(c: ModuleCase, entry: string, clean: () => unknown): unknown {
  if (!c.cleanResults.has(entry)) c.cleanResults.set(entry, clean());
  return c.cleanResults.get(entry);
}

function judgeHostileCall(report: PartReport, c: ModuleCase, hostile: HostileCall): void {
  const example = `${c.label}: ${hostile.description}`;
  // One class per entry point and kind of mutation, whichever parameter or state it hit.
  const kind = hostile.description.replace(/\.[A-Za-z_]\w*/g, ".…").replace(/\(.*\)/, "(…)");
  const entry = hostile.description.split(/[ (]/)[0]!;
  // The call before leaves other parameters in every workspace, so a call that
  // computes with stale weights gives numbers that differ from the clean call's.
  c.module.forward(copy(c.otherParams), copy(c.inputs), copy(c.initial), { batch: c.batch });
  c.module.step(copy(c.otherParams), copy(c.stepInputs), c.module.createState(c.batch));
  let result: unknown;
  try {
    result = hostile.call();
  } catch (e) {
    if (e instanceof Error && [hostile.argument, ...(hostile.orNamed ?? [])].some((name) => e.message.includes(name))) return;
    record(report, `error not naming the argument: ${kind} throws ${describeThrown(e)}`, example);
    return;
  }
  if (hostile.clean === null) record(report, `accepted invalid argument: ${kind}`, example);
  else if (!sameNumbers(result, cleanResult(c, entry, hostile.clean))) record(report, `silent wrong answer: ${kind} returns numbers that differ from the clean call`, example);
}

async function fuzzModules(report: PartReport, count: number, random: Random, specs: readonly string[], precisions: readonly ("f32" | "f64")[]): Promise<void> {
  const cases = await moduleCases(specs, precisions, random);
  for (let n = 0; n < count; n++) {
    const c = pick(random, cases);
    const calls = pick(random, [forwardCalls, backwardCalls, stepCalls, createStateCalls])(c, random);
    const t0 = performance.now();
    const hostile = pick(random, calls);
    judgeHostileCall(report, c, hostile);
    noteIfSlow(report, t0, `${c.label}: ${hostile.description}`);
    report.inputs++;
  }
}

// ---------------------------------------------------------------------------

export async function runCampaign(options: CampaignOptions): Promise<PartReport[]> {
  const parts = options.parts ?? PARTS;
  const specs = options.specs ?? readdirSync("specs").filter((f) => f.endsWith(".lstm") && !isModelFile(join("specs", f))).map((f) => f.replace(/\.lstm$/, "")).sort();
  const precisions = options.precisions ?? ["f64", "f32"];
  const share: Record<Part, number> = { frontend: 2, data: 1, module: 1 };
  const total = parts.reduce((s, p) => s + share[p], 0);
  const reports: PartReport[] = [];
  for (const part of parts) {
    const report: PartReport = { part, slowMs: options.slowMs ?? SLOW_MS, inputs: 0, seconds: 0, failures: new Map() };
    const count = Math.round((options.count * share[part]) / total);
    const random = _makeRandom(options.seed ^ (PARTS.indexOf(part) + 1) * 0x9e3779b1);
    const started = performance.now();
    if (part === "frontend") fuzzFrontEnd(report, count, random);
    else if (part === "data") fuzzData(report, count, random, specs);
    else await fuzzModules(report, count, random, specs, precisions);
    report.seconds = (performance.now() - started) / 1000;
    reports.push(report);
  }
  return reports;
}

export function formatReport(reports: readonly PartReport[]): string {
  const lines = ["| part | inputs | seconds | inputs/s | failing classes |", "|---|---:|---:|---:|---:|"];
  for (const r of reports) lines.push(`| ${r.part} | ${r.inputs} | ${r.seconds.toFixed(1)} | ${(r.inputs / r.seconds).toFixed(0)} | ${r.failures.size} |`);
  const inputs = reports.reduce((s, r) => s + r.inputs, 0);
  const seconds = reports.reduce((s, r) => s + r.seconds, 0);
  lines.push(`| all | ${inputs} | ${seconds.toFixed(1)} | ${(inputs / seconds).toFixed(0)} | ${reports.reduce((s, r) => s + r.failures.size, 0)} |`, "");
  for (const r of reports) {
    for (const f of [...r.failures.values()].sort((a, b) => b.count - a.count)) lines.push(`FAIL [${r.part}] ${f.name}  (${f.count}×)`, `     e.g. ${f.example}`);
  }
  return lines.join("\n");
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      count: { type: "string", default: "100000" },
      seed: { type: "string", default: "1" },
      parts: { type: "string" },
      specs: { type: "string" },
      precisions: { type: "string" },
    },
  });
  const list = (text: string | undefined) => text?.split(",").filter((s) => s.length > 0);
  const parts = list(values.parts);
  for (const p of parts ?? []) if (!PARTS.includes(p as Part)) throw new Error(`unknown part '${p}' (parts: ${PARTS.join(", ")})`);
  const reports = await runCampaign({
    count: Number.parseInt(values.count, 10),
    seed: Number.parseInt(values.seed, 10),
    ...(parts ? { parts: parts as Part[] } : {}),
    ...(values.specs ? { specs: list(values.specs)! } : {}),
    ...(values.precisions ? { precisions: list(values.precisions) as ("f32" | "f64")[] } : {}),
  });
  console.log(formatReport(reports));
  return reports.some((r) => r.failures.size > 0) ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = await main();
