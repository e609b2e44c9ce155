// Every command's options and usage in one table: parseArgs reads the options,
// `lstmc COMMAND --help` prints the usage, and an unknown option is answered
// with the nearest known one.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { closest } from "../diagnostics/suggest.ts";
import { UsageError } from "./load-cell.ts";

type Options = NonNullable<ParseArgsConfig["options"]>;

const WATCH = { watch: { type: "boolean" } } as const;

export const OPTIONS = {
  check: { target: { type: "string" }, format: { type: "string", default: "text" }, ...WATCH },
  run: {
    data: { type: "string" },
    example: { type: "boolean" },
    grad: { type: "boolean" },
    engine: { type: "string", default: "interp" },
    dims: { type: "string" },
    steps: { type: "string" },
    batch: { type: "string" },
    seed: { type: "string" },
  },
  gradcheck: { dims: { type: "string" }, steps: { type: "string" }, batch: { type: "string" }, seed: { type: "string" }, tolerance: { type: "string" } },
  convert: { to: { type: "string" }, out: { type: "string" } },
  compile: {
    target: { type: "string", default: "ts" },
    dims: { type: "string" },
    precision: { type: "string", default: "f32" },
    out: { type: "string" },
    emit: { type: "string", default: "module" },
    "wgsl-path": { type: "string", default: "auto" },
    ...WATCH,
  },
  diagram: { out: { type: "string" }, style: { type: "string", default: "essay" }, ...WATCH },
  lsp: { stdio: { type: "boolean" } },
  import: { out: { type: "string" }, like: { type: "string" }, dims: { type: "string" } },
} as const satisfies Record<string, Options>;

export type CommandName = keyof typeof OPTIONS;

/** Each command's usage lines: the synopsis, then what it does, as `lstmc --help` lists them. */
export const SYNOPSES: Record<CommandName, readonly (readonly [string, string])[]> = {
  check: [
    ["lstmc check SPEC... [--target ts|js|wgsl] [--format text|json] [--watch]", "report diagnostics (exit 1 on errors); with --target,"],
    ["", "also what that target cannot compile; --format json"],
    ["", "prints them on stdout as a JSON array"],
  ],
  run: [
    ["lstmc run SPEC --data FILE.json [--grad]", "run a sequence through the cell (JSON on stdout)"],
    ["lstmc run SPEC --example [--grad]", "run on random parameters and inputs"],
    ["lstmc run MODEL.onnx --data FEEDS.json [--engine interp|ts]", ""],
    ["", "run an ONNX graph's LSTM/GRU/RNN nodes: feeds and"],
    ["", "outputs ({dims, data}) keyed by the graph's names"],
  ],
  gradcheck: [
    ["lstmc gradcheck SPEC [--dims I=3,H=5] [--steps T] [--batch B] [--seed S]", ""],
    ["", "compare backward with finite differences"],
  ],
  compile: [
    ["lstmc compile SPEC... --target ts|js|wgsl [--dims I=128,H=256] [--precision f32|f64] [--out DIR|-] [--watch]", ""],
    ["", "generate a specialised module per spec (default out: generated/)"],
  ],
  convert: [["lstmc convert SPEC --to json|lstm [--out FILE|-]", ""], ["", "print the spec in the other syntax"]],
  diagram: [
    ["lstmc diagram SPEC [--style essay|graph] [--out FILE.svg|-] [--watch]", ""],
    ["", "draw the cell's step as an SVG picture: layers, pointwise"],
    ["", "operations and state conveyors (essay), or one box per"],
    ["", "equation (graph)"],
  ],
  lsp: [["lstmc lsp [--stdio]", "a language server on stdin and stdout"]],
  import: [
    ["lstmc import MODEL.onnx --out DIR", "a spec, weights (.safetensors) and a README"],
    ["", "for each LSTM/GRU/RNN node and direction"],
    ["lstmc import WEIGHTS.safetensors --like SPEC --out FILE.safetensors|FILE.json|- [--dims I=3,H=5]", ""],
    ["", "rename weights (exact or PyTorch names) onto SPEC's parameters"],
  ],
};

/** One usage entry: the synopsis, and beside it (or under it, when the synopsis is long) what it does. */
function synopsis(command: CommandName): string {
  const indent = " ".repeat(46);
  return SYNOPSES[command]
    .map(([left, right]) => (right === "" ? `  ${left}` : left === "" ? `${indent}${right}` : left.length > 42 ? `  ${left}\n${indent}${right}` : `  ${left.padEnd(42)}  ${right}`))
    .join("\n");
}

const COMMON = `SPEC is a .lstm file (the cell language) or a .json file (the same cell as JSON);
'-' reads it from standard input (JSON when it starts with '{').
--watch runs the command again whenever a spec changes, until Ctrl-C.
`;

export const USAGE = `lstmc — a compiler for recurrent neural-network cells

Usage:
${(Object.keys(SYNOPSES) as CommandName[]).filter((c) => c !== "lsp").map(synopsis).join("\n")}

Options:
  --engine NAME    engine for 'run': interp (default), ts (compiled TypeScript, f64)
  --dims LIST      size bindings, e.g. I=3,H=5
  -h, --help       show this help (lstmc COMMAND --help: that command's)
  -v, --version    show the version

${COMMON}`;

/** `lstmc COMMAND --help`: the command's synopsis and its options. */
export function commandUsage(command: CommandName): string {
  const options = Object.entries(OPTIONS[command] as Options).map(([name, o]) => `  --${name}${o.type === "string" ? " VALUE" : ""}${"default" in o ? ` (default: ${String(o.default)})` : ""}`);
  return `Usage:\n${synopsis(command)}\n\nOptions:\n${options.join("\n")}\n  -h, --help\n\n${COMMON}`;
}

export function isCommand(name: string): name is CommandName {
  return Object.hasOwn(OPTIONS, name);
}

/** What parseArgs gives for a command's table (named, so the declaration build can write it). */
export type ParsedCommandArgs<C extends CommandName> = ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; options: (typeof OPTIONS)[C] }>>;

/** parseArgs with the command's table; an unknown option becomes a usage error that names the nearest known one. */
export function parseCommandArgs<C extends CommandName>(command: C, args: string[]): ParsedCommandArgs<C> {
  try {
    return parseArgs({ args, allowPositionals: true, options: OPTIONS[command] });
  } catch (e) {
    if ((e as { code?: string }).code !== "ERR_PARSE_ARGS_UNKNOWN_OPTION") throw e;
    const given = /'(-[^']*)'/.exec((e as Error).message)?.[1] ?? "";
    throw new UsageError(`unknown option '${given}'${didYouMean(given.replace(/^-+/, "").replace(/=.*$/, ""), Object.keys(OPTIONS[command]), "--")}`);
  }
}

/** "; did you mean 'X'?" when a known word is near `word`, else nothing. */
export function didYouMean(word: string, known: Iterable<string>, prefix = ""): string {
  const near = closest(word, known);
  return near === undefined ? "" : `; did you mean '${prefix}${near}'?`;
}

export const TARGETS = ["ts", "js", "wgsl"] as const;
export type TargetName = (typeof TARGETS)[number];

/** A --target value, or a usage error naming the nearest target. */
export function targetOption(value: string): TargetName {
  if ((TARGETS as readonly string[]).includes(value)) return value as TargetName;
  throw new UsageError(`unknown target '${value}'${didYouMean(value, TARGETS)} (available: ${TARGETS.join(", ")})`);
}
