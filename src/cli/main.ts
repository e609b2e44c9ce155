// `lstmc`: argument handling only. Every command calls the library, and every
// failure ends as a located message and a non-zero exit, never a stack trace.
import { createRequire } from "node:module";
import { CodedError, escapeForTerminal, hasErrors, type Diagnostic } from "../diagnostics/diagnostic.ts";
import { readTextFile } from "../parse/load.ts";
import { buildCell } from "../ir/build.ts";
import { bindSizes, parseSizeList } from "../ir/bind.ts";
import { readRunRequest, writeRunResponse } from "../run/contract.ts";
import { ENGINES, runModelRequest } from "../run/engines.ts";
import { randomModelRequest, randomRequest } from "../run/random-data.ts";
import { gradcheck, type TensorCheck } from "../run/gradcheck.ts";
import { bindModelSizes, readModelRunRequest } from "../run/model-contract.ts";
import { gradcheckModel } from "../run/model-gradcheck.ts";
import type { CellIR } from "../ir/types.ts";
import { CodegenError } from "../codegen/names.ts";
import { checkModel, isModelSpec, loadCell, loadCheckedModel, loadCheckedSpec, loadSpec, printDiagnostics, refuseModel, report, ReportedFailure, STDIN, STDIN_NAME, UsageError } from "./load-cell.ts";
import { commandUsage, didYouMean, isCommand, parseCommandArgs, targetOption, USAGE, type CommandName } from "./options.ts";
import { watchFiles } from "./watch.ts";

function version(): string {
  const require = createRequire(import.meta.url);
  return (require("../../package.json") as { version: string }).version;
}

function positional(args: string[], what: string): string {
  const [first, ...rest] = args;
  if (!first) throw new UsageError(`missing ${what}`);
  if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}'`);
  return first;
}

function integerOption(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`--${name} must be a positive whole number, not '${value}'`);
  return Number(value);
}

async function commandCheck(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("check", args);
  if (positionals.length === 0) throw new UsageError("missing SPEC");
  if (values.format !== "text" && values.format !== "json") throw new UsageError(`--format must be text or json, not '${values.format}'`);
  const target = values.target === undefined ? undefined : targetOption(values.target);
  // The code generators (ts-morph, prettier) load only when a target is named.
  const targetCheck = target === undefined ? null : (await import("../codegen/check.ts")).targetDiagnostics;
  const all: Diagnostic[] = [];
  for (const file of positionals) {
    const { diagnostics, text, name } = isModelSpec(file) ? checkModelFile(file) : checkCell(file, target && targetCheck ? (ir) => targetCheck(ir, target) : null);
    all.push(...diagnostics);
    if (values.format === "json") continue;
    printDiagnostics(diagnostics, text);
    if (!hasErrors(diagnostics)) report(`${name}: ok${diagnostics.length > 0 ? ` (${diagnostics.length} warning${diagnostics.length === 1 ? "" : "s"})` : ""}`);
  }
  if (values.format === "json") process.stdout.write(`${JSON.stringify(all.map(diagnosticJson), null, 2)}\n`);
  return hasErrors(all) ? 1 : 0;
}

function checkCell(file: string, targetCheck: ((ir: CellIR) => readonly Diagnostic[]) | null) {
  const loaded = loadSpec(file);
  const built = loaded.value ? buildCell(loaded.value) : null;
  const diagnostics = [...loaded.diagnostics, ...(built?.diagnostics ?? []), ...(built?.ir && targetCheck ? targetCheck(built.ir) : [])];
  return { diagnostics, text: loaded.text, name: loaded.file };
}

/** A model's diagnostics: every target compiles models. */
function checkModelFile(file: string) {
  const checked = checkModel(file);
  return { diagnostics: checked.diagnostics, text: checked.text, name: file === STDIN ? STDIN_NAME : file };
}

/** `check --format json`'s record: the diagnostic flattened, its span's fields beside its code. */
function diagnosticJson(d: Diagnostic) {
  const { file, line, column, endLine, endColumn } = d.span;
  return { code: d.code, severity: d.severity, message: d.message, file, line, column, endLine, endColumn };
}

async function commandRun(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("run", args);
  const file = positional(positionals, "SPEC");
  const engine = Object.hasOwn(ENGINES, values.engine!) ? ENGINES[values.engine!] : undefined;
  if (!engine) throw new UsageError(`unknown engine '${values.engine}'${didYouMean(values.engine!, Object.keys(ENGINES))} (available: ${Object.keys(ENGINES).join(", ")})`);
  if (values.data === undefined && !values.example) throw new UsageError("give --data FILE.json or --example");
  if (values.data !== undefined && values.example) throw new UsageError("give either --data or --example, not both");
  if (file.endsWith(".onnx")) {
    if (values.data === undefined || values.grad) throw new UsageError("an .onnx model runs forward on --data FEEDS.json only");
    const outputs = await (await import("./onnx.ts")).runOnnxFile(file, readDataFile(values.data), engine);
    process.stdout.write(`${JSON.stringify(outputs)}\n`);
    return 0;
  }
  if (isModelSpec(file)) return runModel(file, engine.name, values);
  const { ir, text } = loadCheckedSpec(file);
  // A compiling engine refuses what its target does not compile, located, as `compile` does.
  if (engine.name !== "interp") {
    const refused = (await import("../codegen/check.ts")).targetDiagnostics(ir, engine.name === "wgsl" ? "wgsl" : "ts");
    if (refused.length > 0) {
      printDiagnostics(refused, text);
      throw new ReportedFailure();
    }
  }
  let request;
  if (values.example) {
    const sizes = bindSizes(ir, parseSizeList(values.dims ?? ""));
    request = randomRequest(ir, {
      sizes,
      batch: integerOption(values.batch, "batch", 1),
      steps: integerOption(values.steps, "steps", 4),
      seed: integerOption(values.seed, "seed", 1),
    });
  } else {
    request = readRunRequest(ir, readDataFile(values.data!));
  }
  const result = await engine.run(ir, request, values.grad ?? false);
  process.stdout.write(`${JSON.stringify(writeRunResponse(result, result.grads))}\n`);
  return 0;
}

/** `lstmc run` on a model: the interpreter, or the model compiled to one TypeScript or WebGPU module. */
async function runModel(file: string, engine: string, values: { data?: string; example?: boolean; grad?: boolean; dims?: string; batch?: string; steps?: string; seed?: string }): Promise<number> {
  const { ir } = loadCheckedModel(file);
  const request = values.example
    ? randomModelRequest(ir, {
        sizes: bindModelSizes(ir, parseSizeList(values.dims ?? "")),
        batch: integerOption(values.batch, "batch", 1),
        steps: integerOption(values.steps, "steps", 4),
        seed: integerOption(values.seed, "seed", 1),
      })
    : readModelRunRequest(ir, readDataFile(values.data!));
  process.stdout.write(`${JSON.stringify(await runModelRequest(engine, ir, request, values.grad ?? false))}\n`);
  return 0;
}

/** The largest --data file: a JSON text this long is already about the most a JavaScript string can hold. */
const MAX_DATA_BYTES = 256 * 1024 * 1024;

function readDataFile(file: string): unknown {
  const text = readTextFile(file, MAX_DATA_BYTES);
  try {
    return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (e) {
    throw new CodedError("dataNotJson", file, (e as Error).message);
  }
}

function commandGradcheck(args: string[]): number {
  const { values, positionals } = parseCommandArgs("gradcheck", args);
  const file = positional(positionals, "SPEC");
  const steps = integerOption(values.steps, "steps", 3);
  const batch = integerOption(values.batch, "batch", 2);
  const seed = integerOption(values.seed, "seed", 1);
  const tolerance = values.tolerance === undefined ? 1e-6 : Number(values.tolerance);
  if (!(tolerance > 0)) throw new UsageError(`--tolerance must be a positive number, not '${values.tolerance}'`);
  const given = parseSizeList(values.dims ?? "");
  const options = { batch, steps, seed, uniformParams: true };
  const { sizes, names, check } = isModelSpec(file) ? modelGradcheck(file, given, options) : cellGradcheck(file, given, options);
  const dims = Object.entries(sizes).map(([k, v]) => `${k}=${v}`).join(",");
  console.log(escapeForTerminal(`gradcheck ${file} (${dims}, steps=${steps}, batch=${batch}, seed=${seed}): central differences, step 1e-6, tolerance ${tolerance}`));
  const width = Math.max(...names.map((name) => name.length + 8), 6);
  console.log(`${"tensor".padEnd(width)}  worst rel. error  worst abs. error`);
  // Rows appear as each tensor finishes: a large cell takes a while.
  const checks = check((c) => {
    const flag = c.worstRelativeError > tolerance ? "  FAIL" : "";
    console.log(`${c.tensor.padEnd(width)}  ${c.worstRelativeError.toExponential(2).padStart(16)}  ${c.worstAbsoluteError.toExponential(2).padStart(16)}${flag}`);
  });
  const failed = checks.filter((c) => c.worstRelativeError > tolerance);
  console.log(failed.length === 0 ? "ok" : `${failed.length} tensor(s) above tolerance`);
  return failed.length === 0 ? 0 : 1;
}

interface GradcheckSubject {
  readonly sizes: Readonly<Record<string, number>>;
  /** The tensors' names, for the table's width. */
  readonly names: readonly string[];
  readonly check: (onTensor: (c: TensorCheck) => void) => TensorCheck[];
}

type RandomRunOptions = { readonly batch: number; readonly steps: number; readonly seed: number; readonly uniformParams: boolean };

function cellGradcheck(file: string, given: Record<string, number>, options: RandomRunOptions): GradcheckSubject {
  const ir = loadCell(file);
  const sizes = bindSizes(ir, given);
  const request = randomRequest(ir, { sizes, ...options });
  return { sizes, names: [...ir.params, ...ir.inputs, ...ir.states].map((d) => d.name), check: (onTensor) => gradcheck(ir, request, onTensor) };
}

function modelGradcheck(file: string, given: Record<string, number>, options: RandomRunOptions): GradcheckSubject {
  const { ir } = loadCheckedModel(file);
  const sizes = bindModelSizes(ir, given);
  const request = randomModelRequest(ir, { sizes, ...options });
  const { params, inputs, initial } = request.sequence;
  return { sizes, names: [...Object.keys(params), ...Object.keys(inputs), ...Object.keys(initial)], check: (onTensor) => gradcheckModel(ir, request, onTensor) };
}

export type CommandHandler = (args: string[]) => number | Promise<number>;

/** Every command; each has its options and usage in options.ts, which the type holds this table to. */
export const COMMANDS: Record<CommandName, CommandHandler> = {
  check: commandCheck,
  run: commandRun,
  gradcheck: commandGradcheck,
  // Loaded on use, so a command starts without the others' modules; the code
  // generators pull in ts-morph and prettier.
  convert: async (args) => (await import("./convert.ts")).commandConvert(args),
  diagram: async (args) => (await import("./diagram.ts")).commandDiagram(args),
  lsp: async (args) => (await import("../lsp/server.ts")).commandLsp(args),
  compile: async (args) => (await import("./compile.ts")).commandCompile(args),
  import: async (args) => (await import("./onnx.ts")).commandImport(args),
};

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "-h" || command === "--help" || command === "help") {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === "-v" || command === "--version") {
    console.log(version());
    return 0;
  }
  if (!isCommand(command)) {
    console.error(`${escapeForTerminal(`lstmc: unknown command '${command}'${didYouMean(command, Object.keys(COMMANDS))}`)}\n\n${USAGE}`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(commandUsage(command));
    return 0;
  }
  const handler = COMMANDS[command];
  const run = async () => {
    try {
      return await handler(rest);
    } catch (e) {
      return reportFailure(command, e);
    }
  };
  const files = await watchedFiles(command, rest).catch((e: unknown) => reportFailure(command, e));
  if (typeof files === "number") return files;
  return files === null ? run() : watchFiles(files, run);
}

/** The spec files of a `--watch` run, or null without --watch; a usage error if there are none or one is standard input. */
async function watchedFiles(command: CommandName, args: string[]): Promise<string[] | null> {
  if (!args.includes("--watch")) return null;
  const { values, positionals } = parseCommandArgs(command, args);
  if (!("watch" in values) || values.watch !== true) return null;
  if (positionals.length === 0) throw new UsageError("missing SPEC");
  if (positionals.includes(STDIN)) throw new UsageError("--watch cannot watch standard input ('-')");
  return positionals;
}

/** The exit code for a failed command, after saying why: 1 for the user's errors, 2 for usage, 70 for lstmc's own bugs. */
function reportFailure(command: string, e: unknown): number {
  if (e instanceof ReportedFailure) return 1;
  if (e instanceof CodedError) {
    report(`lstmc ${command}: error ${e.code}: ${e.message}`);
    return 1;
  }
  if (e instanceof CodegenError) {
    report(`lstmc ${command}: error: ${e.message}`);
    return 1;
  }
  if (e instanceof UsageError || (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
    console.error(`${escapeForTerminal(`lstmc ${command}: ${(e as Error).message}`)}\nRun 'lstmc ${command} --help' for usage.`);
    return 2;
  }
  if (isOutOfMemory(e)) {
    report(`lstmc ${command}: error: not enough memory for this run (${(e as Error).message}); try smaller sizes, steps or batch`);
    return 1;
  }
  report(`lstmc ${command}: internal error: ${(e as Error).message}`);
  console.error("This is a bug in lstmc; please report it with the spec that caused it.");
  return 70;
}

/**
 * Sizes past E206's limit are refused before anything is allocated; below it,
 * a machine can still run out of memory, which is a limit of the machine and
 * not a bug.
 */
function isOutOfMemory(e: unknown): boolean {
  return e instanceof RangeError && /Array buffer allocation failed|Invalid typed array length|Invalid array length/.test(e.message);
}
