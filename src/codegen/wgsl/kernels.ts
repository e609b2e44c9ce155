// The WGSL schedule and renderer: the shared module plan (../lower.ts) -> two
// WGSL modules (forward, backward) and the dispatch program the host runs.
//
// How a plan's step becomes kernels:
//  - The plan's GEMM kernels are not dispatched: every read of a GEMM output
//    becomes a dot product computed by the thread that needs that element
//    (gate matmuls fused with the pointwise math that reads them).
//  - What remains of a step is a list of phases (pointwise or copy kernels),
//    each parallel over (batch row, element).
//  - "sequence" path: one workgroup per batch row loops over all time steps in
//    ONE dispatch, phases separated by barriers; the operand vector of the
//    fused products (h, or the step's gate gradients) is staged in workgroup
//    memory. Used when every phase fits in one workgroup (WGSL cannot
//    synchronise workgroups, so a phase that needs more threads than one
//    workgroup has must be its own dispatch).
//  - "step" path: one dispatch per phase per step, all in one compute pass
//    (LSTM-like cells have one phase per forward step).
//  - Inputs' products for every step are one matrix product before the loop.
//  - Backward: parameter gradients are NOT accumulated inside the reverse
//    loop. Matrices: the loop stores each step's product gradients (the plan's
//    gradient buffers, [T·B, rows]); after the loop one kernel per parameter
//    gives every element to one thread, which sums gradᵀ·vector over all T·B
//    rows. Elementwise parameters (biases, peepholes): each (step, row) writes
//    its own partial, and the same after-loop kernel sums the partials. Each
//    sum has one owner thread, so no float atomics are needed and the result
//    does not depend on scheduling (deterministic).
import { arrays } from "../lower.ts";
import { CodegenError, commentText, generatedLocal, specIdentifier } from "../names.ts";
import { timedLoc, type DerivedMatrixPlan, type Expr, type GemmKernel, type GroupPlan, type Loc, type ModulePlan, type PackedProduct, type Schedule, type StepPlan } from "../plan.ts";
import { renderExpression } from "../expression.ts";
import { kernelLength, operandIndex, renderStep, stepsRead, type KernelScope, type Target } from "../target.ts";
import { u32, WGSL_PRELUDE, WGSL_SYNTAX } from "./syntax.ts";

export type BufferName = "S" | "K" | "W" | "R";
/** steps: [T·B, width]; hist: [(T+1)·B, width]; row: [B, width]. */
export type ArrayRows = "steps" | "hist" | "row";

export interface ArrayLayout {
  readonly name: string;
  readonly buffer: BufferName;
  readonly width: number;
  readonly rows: ArrayRows;
}

export interface ParamLayout {
  readonly name: string;
  readonly offset: number;
  readonly length: number;
  /** Matrices are stored transposed ([cols, rows]) so that a step's threads read consecutive floats. */
  readonly rows: number;
  readonly cols: number;
  readonly matrix: boolean;
  /** A derived matrix (see ../derived.ts): the host computes it at upload. */
  readonly internal: boolean;
}

/** Workgroups: `batch` = one per batch row; else ceil(items / workgroupSize), items = (T?)·(B?)·n. */
export interface Dispatch {
  readonly entry: string;
  readonly workgroupSize: number;
  readonly batchWorkgroups: boolean;
  readonly steps: boolean;
  readonly batch: boolean;
  readonly n: number;
}

export type KernelPath = "sequence" | "step";

export interface WgslProgram {
  readonly path: KernelPath;
  readonly params: readonly ParamLayout[];
  readonly paramFloats: number;
  readonly arrays: readonly ArrayLayout[];
  readonly forwardWgsl: string;
  readonly backwardWgsl: string;
  readonly forward: { readonly before: readonly Dispatch[]; readonly loop: readonly Dispatch[] };
  readonly backward: { readonly loop: readonly Dispatch[]; readonly after: readonly Dispatch[] };
  /** Parameters whose gradient some kernel writes (the others are zero). */
  readonly names: {
    readonly inputs: readonly { readonly name: string; readonly array: string; readonly grad: string; readonly width: number }[];
    readonly states: readonly { readonly name: string; readonly hist: string; readonly grad: string; readonly width: number; readonly init: number }[];
    readonly outputs: readonly { readonly name: string; readonly array: string; readonly upstream: string; readonly width: number }[];
  };
  /** Phases per step, for reports. */
  readonly phases: { readonly forward: number; readonly backward: number };
  /** The cell reads the step index t: the host's step() (which runs as step 0) refuses it. */
  readonly readsStep: boolean;
}

export interface KernelOptions {
  /** "auto": sequence when every phase fits one workgroup (≤ maxWorkgroupSize elements). */
  readonly path?: "auto" | KernelPath;
  readonly maxWorkgroupSize?: number;
}

/** The GPU's schedule: the threads that read a product's element compute it (no product kernels). */
export const WGSL_SCHEDULE: Schedule = { target: "wgsl", hoistInputProjections: true, deferInputGradients: true, rowProductsBelowBatch: 0, fuseProductsIntoReaders: true };

const STEP_WORKGROUP = 64;
/** The WGSL variable of each buffer. Kernel-owned names never start with "_"; every name from the plan does, so they cannot collide. */
const BUFFER_VARS: Record<BufferName, string> = { S: "seq", K: "tape", W: "work", R: "gbuf" };
const DEFAULT_MAX_WORKGROUP = 256;
/** Floats of workgroup memory (WebGPU's default limit is 16 KiB). */
const WORKGROUP_FLOATS = 4096;

type Gemm = { kernel: GemmKernel; group: GroupPlan; transposed: boolean };

class Layout {
  readonly arrays = new Map<string, ArrayLayout>();
  readonly params: ParamLayout[] = [];
  readonly paramByArray = new Map<string, ParamLayout>();
  readonly paramByName = new Map<string, ParamLayout>();
  /** carry / carryPrev (per-row in the plan) live in one [(T+1), B, n] array: the step reads slot t+1, writes slot t. */
  readonly carry = new Map<string, { array: string; shift: number }>();
  /**
   * Each store into a parameter's gradient (keyed by partialKey) -> its own
   * partials array. A scalar parameter may receive several such stores per
   * step (one per term of its gradient), and each must be summed, not overwritten.
   */
  readonly partials = new Map<string, { param: string; array: string; width: number; scalar: boolean }>();

  constructor(plan: ModulePlan) {
    let offset = 0;
    for (const p of plan.cell.params) {
      const dims = p.shape;
      const [rows, cols] = dims.length === 2 ? [dims[0]!, dims[1]!] : [dims.length === 0 ? 1 : dims[0]!, 1];
      const layout: ParamLayout = { name: p.name, offset, length: rows * cols, rows, cols, matrix: dims.length === 2, internal: p.internal };
      offset += layout.length;
      this.params.push(layout);
      this.paramByArray.set(arrays.param(p.name), layout);
      this.paramByName.set(p.name, layout);
    }
  }

  add(name: string, buffer: BufferName, width: number, rows: ArrayRows): void {
    const known = this.arrays.get(name);
    if (known && (known.width !== width || known.rows !== rows)) throw new CodegenError(`internal: array ${name} declared twice`);
    if (!known) this.arrays.set(name, { name, buffer, width, rows });
  }

  get paramFloats(): number {
    return this.params.reduce((n, p) => n + p.length, 0);
  }
}

/** Where a Loc's element lives, as `_X[index]` text. */
function element(layout: Layout, loc: Loc, j: string | null, extra = 0, t = "t", b = "b"): string {
  const param = layout.paramByArray.get(loc.array);
  if (param) {
    if (param.matrix) throw new CodegenError(`internal: matrix ${param.name} read elementwise`);
    const base = param.offset + loc.offset + extra;
    return loc.scalar || j === null ? `params[${u32(base)}]` : `params[${u32(base)} + ${j}]`;
  }
  let timed = loc.timed;
  let shift = loc.shift;
  let name = loc.array;
  const carry = layout.carry.get(loc.array);
  if (carry) [name, timed, shift] = [carry.array, true, carry.shift];
  const a = layout.arrays.get(name);
  if (!a) {
    if (loc.timed || !loc.perRow) throw new CodegenError(`internal: unknown array ${loc.array}`);
    // A per-step scratch row of the plan.
    layout.add(name, "W", loc.width, "row");
    return element(layout, loc, j, extra, t, b);
  }
  if (!loc.perRow) throw new CodegenError(`internal: shared array ${loc.array} outside the parameters`);
  const row = timed ? `((${shift ? `${t} + ${u32(shift)}` : t}) * B + ${b})` : b;
  const offset = loc.offset + extra;
  return `${BUFFER_VARS[a.buffer]}[sizes.o${name} + ${row} * ${u32(loc.width)}${offset ? ` + ${u32(offset)}` : ""}${j === null ? "" : ` + ${j}`}]`;
}

/** Element k of row `tb` (= t·B + b) of a timed Loc. */
function rowElement(layout: Layout, loc: Loc, tb: string, k: string): string {
  if (!loc.timed) throw new CodegenError(`internal: ${loc.array} is not kept for every step`);
  const a = layout.arrays.get(loc.array)!;
  const row = loc.shift ? `(${tb} + ${u32(loc.shift)} * B)` : tb;
  return `${BUFFER_VARS[a.buffer]}[sizes.o${loc.array} + ${row} * ${u32(loc.width)}${loc.offset ? ` + ${u32(loc.offset)}` : ""} + ${k}]`;
}

/** P(r, c) of a matrix parameter, stored transposed. */
function matrixElement(p: ParamLayout, r: string, c: string): string {
  return `params[${u32(p.offset)} + (${c}) * ${u32(p.rows)} + ${r}]`;
}

function productOfRow(group: GroupPlan, row: number): PackedProduct {
  const p = group.products.find((x) => row >= x.rowOffset && row < x.rowOffset + x.rows);
  if (!p) throw new CodegenError(`internal: row ${row} of ${group.packed}`);
  return p;
}

interface Staging {
  readonly enabled: boolean;
  /** Per phase: operand key -> slot. */
  slots: Map<string, { slot: number; loc: Loc; width: number }>;
  readonly widths: number[];
}

/**
 * The WGSL target (see ../target.ts). A product's element is a dot product
 * computed by the thread that reads it, so products render as nothing and
 * their reads as `dot` locals. In the sequence path a kernel is a strided loop
 * of the workgroup's threads over the row's elements, after staging the
 * products' operand vectors in workgroup memory, and a barrier follows it; in
 * the step path a kernel is the body of its own dispatch, whose end is the barrier.
 */
function wgslTarget(layout: Layout, gemms: ReadonlyMap<string, Gemm>, staging: Staging, path: KernelPath, workgroupSize: number): Target {
  const scope = (): KernelScope => {
    const dots: string[] = [];
    const memo = new Map<string, string>();
    staging.slots = new Map();
    const operand = (loc: Loc, width: number, k: string): string => {
      if (!staging.enabled) return element(layout, loc, k);
      const key = JSON.stringify(loc);
      if (!staging.slots.has(key)) {
        const slot = staging.slots.size;
        staging.slots.set(key, { slot, loc, width });
        staging.widths[slot] = Math.max(staging.widths[slot] ?? 0, width);
      }
      return `stage${staging.slots.get(key)!.slot}[${k}]`;
    };
    const dot = (gemm: Gemm, start: number): string => {
      const key = `${gemm.kernel.out.array}:${start}`;
      if (memo.has(key)) return memo.get(key)!;
      const name = `dot${memo.size}`;
      memo.set(key, name);
      const { group, kernel } = gemm;
      dots.push(`var ${name} = 0f;`);
      if (!gemm.transposed) {
        const p = productOfRow(group, start);
        const param = layout.paramByName.get(p.param)!;
        const r = `${u32(start - p.rowOffset)} + j`;
        dots.push(`for (var k = 0u; k < ${u32(p.cols)}; k++) { ${name} += ${matrixElement(param, r, `${u32(p.colOffset)} + k`)} * ${operand(kernel.a, group.depth, "k")}; }`);
      } else {
        for (const p of group.products) {
          const param = layout.paramByName.get(p.param)!;
          const c = `${u32(p.colOffset + start)} + j`;
          dots.push(`for (var k = 0u; k < ${u32(p.rows)}; k++) { ${name} += ${operand(kernel.a, group.rows, `${u32(p.rowOffset)} + k`)} * ${matrixElement(param, "k", c)}; }`);
        }
      }
      return name;
    };
    return {
      declare: (local, value) => `let ${local} = ${value};`,
      /** A read: a GEMM output becomes this thread's dot product (products fused into their readers). */
      read: (r) => {
        const gemm = gemms.get(r.loc.array);
        if (gemm && r.period !== undefined) throw new CodegenError(`internal: a product ${r.loc.array} read broadcast`);
        if (gemm) return dot(gemm, r.loc.offset + r.extra);
        return element(layout, r.loc, r.loc.scalar ? null : r.period === undefined ? "j" : `(j % ${u32(r.period)})`, r.extra);
      },
      readAt: (loc, index) => {
        // A matrix parameter is stored transposed: element r·cols + c of the row-major matrix is at c·rows + r.
        const param = layout.paramByArray.get(loc.array);
        return param?.matrix ? matrixElement(param, `(${index}) / ${u32(param.cols)}`, `(${index}) % ${u32(param.cols)}`) : element(layout, loc, index);
      },
      store: (s, local) => {
        if (!s.loc.perRow) {
          // A parameter's elementwise gradient: this (step, row)'s own partial, summed after the loop.
          const partial = layout.partials.get(partialKey(local, s.loc.array));
          if (!partial || s.mode !== "add") throw new CodegenError(`internal: unexpected shared store to ${s.loc.array}`);
          return `${element(layout, timedLoc(partial.array, partial.width), "j")} = ${local};`;
        }
        // A row that is not per step (a static input's gradient) sums every step's: each element has one owner thread, and the steps run in order.
        if (s.mode !== "set" && s.loc.timed) throw new CodegenError(`internal: accumulation into ${s.loc.array} inside a step`);
        const at = element(layout, s.loc, s.loc.scalar ? null : "j");
        return s.mode === "set" ? `${at} = ${local};` : `${at} = ${at} + ${local};`;
      },
      loop: (length, body) => {
        const inner = [...dots, ...body];
        if (path === "step") return inner;
        return [...stagingLines(layout, staging, workgroupSize), `for (var j = lid; j < ${u32(length)}; j += ${u32(workgroupSize)}) {`, ...inner.map((l) => `  ${l}`), "}"];
      },
      // In the sequence path the workgroup is one batch row: its first thread does the row's work; in the step path a
      // kernel of one element per row already runs one thread per row.
      perRow: (body) => {
        if (dots.length > 0) throw new CodegenError("internal: a product read by a per-row kernel");
        return path === "step" ? [...body] : ["if (lid == 0u) {", ...body.map((l) => `  ${l}`), "}"];
      },
      barrier: () => (path === "step" ? [] : staging.slots.size > 0 ? ["storageBarrier();", "workgroupBarrier();"] : ["storageBarrier();"]),
    };
  };
  return {
    syntax: WGSL_SYNTAX,
    scope,
    gemm: () => [],
    copy: (kernel, s) => {
      const lines = kernel.comment ? [`// ${commentText(kernel.comment)}`] : [];
      let offset = 0;
      kernel.parts.forEach((part, i) => {
        const test = i === kernel.parts.length - 1 ? "" : `if (j < ${u32(offset + part.length)}) `;
        const j = offset ? `(j - ${u32(offset)})` : "j";
        lines.push(`${i ? "else " : ""}${test}{ ${element(layout, kernel.out, "j")} = ${element(layout, part.loc, j)}; }`);
        offset += part.length;
      });
      return s.loop(kernelLength(kernel), lines);
    },
    contract: (kernel, s) => {
      // One thread per result element, summing in k order: deterministic, and the interpreter's order.
      const coordinates = [
        ...(kernel.a.outerStride !== 0 ? [`let m = ${kernel.cols === 1 ? "j" : `j / ${u32(kernel.cols)}`};`] : []),
        ...(kernel.b !== null && kernel.b.outerStride !== 0 ? [`let n = ${kernel.rows === 1 ? "j" : `j % ${u32(kernel.cols)}`};`] : []),
      ];
      const a = s.readAt(kernel.a.loc, operandIndex(kernel.a, "m", "k", u32));
      const term = kernel.b === null ? a : `${a} * ${s.readAt(kernel.b.loc, operandIndex(kernel.b, "n", "k", u32))}`;
      const body = [...coordinates, "var acc = 0f;", `for (var k = 0u; k < ${u32(kernel.depth)}; k++) { acc += ${term}; }`, s.store({ loc: kernel.out, mode: "set", param: null }, "acc")];
      return [...(kernel.comment ? [`// ${commentText(kernel.comment)}`] : []), ...s.loop(kernelLength(kernel), body)];
    },
    reduce: (kernel, s, value) => {
      // One thread per row, element by element in order: deterministic, and the interpreter's order. The first
      // element starts max, so no sentinel can meet an input of ±1e30 (or ±inf).
      const fold = kernel.fn === "sum" ? ["acc = acc + x;"] : [`if (j == 0u || x > acc) { acc = x;${kernel.argmax ? " arg = j;" : ""} }`];
      const stores = [s.store({ loc: kernel.out, mode: "set", param: null }, "acc"), ...(kernel.argmax ? [s.store({ loc: kernel.argmax, mode: "set", param: null }, "f32(arg)")] : [])];
      const body = ["var acc = 0f;", ...(kernel.argmax ? ["var arg = 0u;"] : []), `for (var j = 0u; j < ${u32(kernel.length)}; j++) {`, `  let x = ${value};`, ...fold.map((l) => `  ${l}`), "}", ...stores];
      return [...(kernel.comment ? [`// ${commentText(kernel.comment)}`] : []), ...s.perRow(body)];
    },
  };
}

function stagingLines(layout: Layout, staging: Staging, workgroupSize: number): string[] {
  if (!staging.enabled || staging.slots.size === 0) return [];
  const lines: string[] = [];
  for (const { slot, loc, width } of staging.slots.values()) {
    lines.push(`for (var k = lid; k < ${u32(width)}; k += ${u32(workgroupSize)}) { stage${slot}[k] = ${element(layout, loc, "k")}; }`);
  }
  lines.push("workgroupBarrier();");
  return lines;
}

/** A step's products, by the array they write: their readers compute them. */
function productsOf(step: StepPlan, groups: readonly GroupPlan[]): Map<string, Gemm> {
  const gemms = new Map<string, Gemm>();
  for (const k of step.kernels) if (k.kind === "gemm") gemms.set(k.out.array, { kernel: k, group: groups[k.group]!, transposed: k.transposed });
  return gemms;
}

function flatIndexPrologue(workgroupSize: number, count: string): string[] {
  return [
    `  let B = sizes.B;`,
    `  let T = sizes.T;`,
    `  let idx = (wid.y * nwg.x + wid.x) * ${u32(workgroupSize)} + lid;`,
    `  if (idx >= ${count}) { return; }`,
  ];
}

const FLAT_PARAMS = "@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32";

const indented = (lines: readonly string[], indent: string): string[] => lines.map((l) => indent + l);

/** Renders a step's kernels (the shared renderer, ../target.ts) either as one sequence kernel or one kernel per phase. */
function renderLoop(
  layout: Layout,
  plan: ModulePlan,
  step: StepPlan,
  direction: "forward" | "backward",
  path: KernelPath,
  workgroupSize: number,
  stagingEnabled: boolean,
): { text: string; dispatches: Dispatch[]; stagingWidths: number[] } {
  const staging: Staging = { enabled: stagingEnabled && path === "sequence", slots: new Map(), widths: [] };
  const phases = renderStep(step, wgslTarget(layout, productsOf(step, plan.groups), staging, path, workgroupSize));
  if (path === "sequence") {
    const body = phases.flatMap((phase, i) => indented([`// phase ${i}`, ...phase.lines, ...phase.barrier], "    "));
    const entry = `${direction}_sequence`;
    const loopHead =
      direction === "forward" ? ["  for (var t = 0u; t < T; t++) {"] : ["  for (var s = 0u; s < T; s++) {", "    let t = T - 1u - s;"];
    const text = [
      `// The whole sequence in one dispatch: workgroup b runs batch row b through every step.`,
      `@compute @workgroup_size(${workgroupSize})`,
      `fn ${entry}(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {`,
      `  let B = sizes.B;`,
      `  let T = sizes.T;`,
      `  let b = wid.x;`,
      ...loopHead,
      ...body,
      "  }",
      "}",
    ].join("\n");
    return { text, dispatches: [{ entry, workgroupSize, batchWorkgroups: true, steps: false, batch: false, n: 0 }], stagingWidths: staging.widths };
  }
  const texts = phases.map((phase, i) =>
    [
      `// Phase ${i} of one step, for every (batch row, element); the step index comes from the dynamic uniform.`,
      `@compute @workgroup_size(${STEP_WORKGROUP})`,
      `fn ${direction}_phase${i}(${FLAT_PARAMS}) {`,
      ...flatIndexPrologue(STEP_WORKGROUP, `B * ${u32(phase.length)}`),
      `  let t = step.t;`,
      `  let b = idx / ${u32(phase.length)};`,
      `  let j = idx % ${u32(phase.length)};`,
      ...indented(phase.lines, "  "),
      "}",
    ].join("\n"),
  );
  const dispatches = phases.map((phase, i): Dispatch => ({ entry: `${direction}_phase${i}`, workgroupSize: STEP_WORKGROUP, batchWorkgroups: false, steps: false, batch: true, n: phase.length }));
  return { text: texts.join("\n\n"), dispatches, stagingWidths: [] };
}

function projectionKernel(layout: Layout, g: GroupPlan): { text: string; dispatch: Dispatch } {
  const entry = `project${g.index}`;
  const lines = [
    `// ${commentText(`${g.products.map((p) => p.param).join(", ")} @ ${g.vectorLabel}`)}, for every step at once: [T·B, ${g.depth}] -> [T·B, ${g.rows}]`,
    `@compute @workgroup_size(${STEP_WORKGROUP})`,
    `fn ${entry}(${FLAT_PARAMS}) {`,
    ...flatIndexPrologue(STEP_WORKGROUP, `T * B * ${u32(g.rows)}`),
    `  let tb = idx / ${u32(g.rows)};`,
    `  let r = idx % ${u32(g.rows)};`,
    `  var s = 0f;`,
  ];
  g.products.forEach((p, i) => {
    const param = layout.paramByName.get(p.param)!;
    const test = i === g.products.length - 1 ? "" : `if (r < ${u32(p.rowOffset + p.rows)}) `;
    const r = p.rowOffset ? `r - ${u32(p.rowOffset)}` : "r";
    lines.push(
      `  ${i ? "else " : ""}${test}{ for (var k = 0u; k < ${u32(p.cols)}; k++) { s += ${matrixElement(param, r, `${u32(p.colOffset)} + k`)} * ${rowElement(layout, g.operand, "tb", "k")}; } }`,
    );
  });
  lines.push(`  work[sizes.o${g.out} + idx] = s;`, "}");
  return { text: lines.join("\n"), dispatch: { entry, workgroupSize: STEP_WORKGROUP, batchWorkgroups: false, steps: true, batch: true, n: g.rows } };
}

/** Identifies one store site into a parameter's gradient: the pointwise item's local and the gradient array. */
function partialKey(itemLocal: string, gradientArray: string): string {
  return `${itemLocal}|${gradientArray}`;
}

/** dP for one parameter (element i of it): one thread per element sums over all T·B rows. */
function parameterGradientBlock(layout: Layout, plan: ModulePlan, param: ParamLayout): string[] | null {
  const uses = plan.groups.flatMap((g) => g.products.filter((p) => p.param === param.name).map((p) => ({ g, p })));
  const partials = [...layout.partials.values()].filter((x) => x.param === param.name);
  if (uses.length === 0 && partials.length === 0) return null;
  const lines = [`// d${commentText(param.name)}`, `var s = 0f;`];
  if (param.matrix) {
    lines.push(`let c = i / ${u32(param.rows)};`, `let r = i % ${u32(param.rows)};`);
    for (const { g, p } of uses) {
      const gb = layout.arrays.get(g.gradBuffer)!;
      const low = p.colOffset ? `c >= ${u32(p.colOffset)} && ` : "";
      const c = p.colOffset ? `c - ${u32(p.colOffset)}` : "c";
      lines.push(
        `if (${low}c < ${u32(p.colOffset + p.cols)}) { for (var tb = 0u; tb < T * B; tb++) { s += gbuf[sizes.o${gb.name} + tb * ${u32(gb.width)} + ${u32(p.rowOffset)} + r] * ${rowElement(layout, g.operand, "tb", c)}; } }`,
      );
    }
  }
  for (const partial of partials) {
    // A matrix's partials are row-major, as the plan computes them; the parameter itself is stored transposed.
    const element = param.matrix ? `r * ${u32(param.cols)} + c` : "i";
    const inner = partial.scalar ? `for (var q = 0u; q < ${u32(partial.width)}; q++) { s += gbuf[sizes.o${partial.array} + tb * ${u32(partial.width)} + q]; }` : `s += gbuf[sizes.o${partial.array} + tb * ${u32(partial.width)} + ${element}];`;
    lines.push(`for (var tb = 0u; tb < T * B; tb++) { ${inner} }`);
  }
  lines.push(`grads[${u32(param.offset)} + i] = s;`);
  return lines;
}

/** Every parameter's gradient in one dispatch, one thread per parameter element. */
function parameterGradientKernel(layout: Layout, plan: ModulePlan): { text: string; dispatch: Dispatch } | null {
  const blocks = layout.params.map((p) => ({ p, lines: parameterGradientBlock(layout, plan, p) })).filter((b) => b.lines !== null);
  if (blocks.length === 0) return null;
  const lines = [
    `// Parameter gradients: Σ over steps and batch rows, one owner thread per element (no atomics).`,
    `@compute @workgroup_size(${STEP_WORKGROUP})`,
    `fn grad_params(${FLAT_PARAMS}) {`,
    ...flatIndexPrologue(STEP_WORKGROUP, u32(layout.paramFloats)),
  ];
  blocks.forEach(({ p, lines: body }, k) => {
    const test = `idx >= ${u32(p.offset)} && idx < ${u32(p.offset + p.length)}`.replace(/^idx >= 0u && /, "");
    lines.push(`  ${k ? "else " : ""}if (${test}) {`, `    let i = idx - ${u32(p.offset)};`, ...body!.map((l) => `    ${l}`), "  }");
  });
  lines.push("}");
  return { text: lines.join("\n"), dispatch: { entry: "grad_params", workgroupSize: STEP_WORKGROUP, batchWorkgroups: false, steps: false, batch: false, n: layout.paramFloats } };
}

/** dL/d(input) when it is one group's transposed product alone: all steps at once, after the loop. */
function deferredInputKernel(layout: Layout, g: GroupPlan, input: string): { text: string; dispatch: Dispatch } {
  const entry = `grad_input${g.index}`;
  const gb = layout.arrays.get(g.gradBuffer)!;
  const lines = [
    `// d${commentText(input)} = Σ Wᵀ · grad, for every step at once`,
    `@compute @workgroup_size(${STEP_WORKGROUP})`,
    `fn ${entry}(${FLAT_PARAMS}) {`,
    ...flatIndexPrologue(STEP_WORKGROUP, `T * B * ${u32(g.depth)}`),
    `  let tb = idx / ${u32(g.depth)};`,
    `  let c = idx % ${u32(g.depth)};`,
    `  var s = 0f;`,
  ];
  for (const p of g.products) {
    const param = layout.paramByName.get(p.param)!;
    lines.push(`  for (var k = 0u; k < ${u32(p.rows)}; k++) { s += gbuf[sizes.o${gb.name} + tb * ${u32(gb.width)} + ${u32(p.rowOffset)} + k] * ${matrixElement(param, "k", `${u32(p.colOffset)} + c`)}; }`);
  }
  lines.push(`  seq[sizes.o${arrays.gradInput(input)} + idx] = s;`, "}");
  return { text: lines.join("\n"), dispatch: { entry, workgroupSize: STEP_WORKGROUP, batchWorkgroups: false, steps: true, batch: true, n: g.depth } };
}

/**
 * Backward, after the parameter gradients: a derived matrix's gradient (see
 * ../derived.ts) sent on to the parameters inside it, one thread per element.
 * Every matrix in the expression has the derived matrix's shape, so element k
 * of each is at the same transposed index. A scalar's share is the sum over
 * every element: thread 0 sums it alone (one owner, no atomics). One dispatch
 * per derived matrix, so two of them never add into one gradient at once.
 */
function derivedGradientKernel(layout: Layout, d: DerivedMatrixPlan, index: number): { text: string; dispatch: Dispatch } {
  const entry = `grad_derived${index}`;
  const elementAt = (array: string, at: string, gradient: boolean): string => {
    const name = gradient ? [...layout.paramByName.values()].find((p) => arrays.gradParam(p.name) === array) : layout.paramByArray.get(array);
    if (!name) throw new CodegenError(`internal: ${array} is not a parameter or its gradient`);
    const buffer = gradient ? "grads" : "params";
    return name.length === 1 && !name.matrix ? `${buffer}[${u32(name.offset)}]` : `${buffer}[${u32(name.offset)} + ${at}]`;
  };
  const render = (e: Expr, at: string) => renderExpression(e, WGSL_SYNTAX, (r) => elementAt(r.loc.array, at, r.loc.array === d.gradient));
  const lines = [
    `// d${commentText(d.label)} -> ${commentText(d.partials.map((p) => p.param).join(", "))}, element by element`,
    `@compute @workgroup_size(${STEP_WORKGROUP})`,
    `fn ${entry}(${FLAT_PARAMS}) {`,
    ...flatIndexPrologue(STEP_WORKGROUP, u32(d.length)),
  ];
  for (const p of d.partials) {
    const target = layout.paramByName.get(p.param)!;
    if (p.scalar) {
      lines.push(`  if (idx == 0u) {`, `    var s = 0f;`, `    for (var q = 0u; q < ${u32(d.length)}; q++) { s += ${render(p.expr, "q")}; }`, `    grads[${u32(target.offset)}] += s;`, `  }`);
    } else {
      lines.push(`  grads[${u32(target.offset)} + idx] += ${render(p.expr, "idx")};`);
    }
  }
  lines.push("}");
  return { text: lines.join("\n"), dispatch: { entry, workgroupSize: STEP_WORKGROUP, batchWorkgroups: false, steps: false, batch: false, n: d.length } };
}

function declarations(layout: Layout, stagingWidths: readonly number[], readsStep: boolean): string {
  const fields = [
    "  B: u32,",
    "  T: u32,",
    ...[...layout.arrays.keys()].map((name) => `  o${name}: u32,`),
    // The index of the call's first step: a cell that reads t is at step t0 + t (step() streams from any step).
    ...(readsStep ? ["  t0: u32,"] : []),
  ];
  return [
    "// Sizes of this call and where each array starts in its buffer (floats).",
    "struct Layout {",
    ...fields,
    "}",
    "",
    "struct StepIndex {",
    "  t: u32,",
    "}",
    "",
    "// Parameters (matrices transposed, [cols, rows]) and their gradients, in the same layout.",
    "@group(0) @binding(0) var<storage, read> params: array<f32>;",
    "@group(0) @binding(1) var<storage, read_write> grads: array<f32>;",
    "// Sequence data (inputs, state history, outputs, upstream and input gradients), saved values, scratch, gradient buffers.",
    "@group(0) @binding(2) var<storage, read_write> seq: array<f32>;",
    "@group(0) @binding(3) var<storage, read_write> tape: array<f32>;",
    "@group(0) @binding(4) var<storage, read_write> work: array<f32>;",
    "@group(0) @binding(5) var<storage, read_write> gbuf: array<f32>;",
    "@group(0) @binding(6) var<uniform> sizes: Layout;",
    "@group(0) @binding(7) var<uniform> step: StepIndex;",
    ...stagingWidths.map((w, i) => `var<workgroup> stage${i}: array<f32, ${w}>;`),
  ].join("\n");
}

export function chooseWorkgroupSize(maxLength: number, limit: number): number {
  let size = 32;
  while (size < maxLength && size < limit) size *= 2;
  return Math.min(size, limit);
}

export function buildProgram(plan: ModulePlan, options: KernelOptions = {}): WgslProgram {
  const { cell } = plan;
  const layout = new Layout(plan);
  const inputs = cell.inputs.map((i) => ({ name: i.name, array: arrays.input(i.name), grad: arrays.gradInput(i.name), width: i.width }));
  const states = cell.states.map((s) => ({ name: s.name, hist: arrays.hist(s.name), grad: generatedLocal("dhist", specIdentifier(s.name)), width: s.width, init: s.init }));
  const outputs = cell.outputs.map((o) => ({ name: o.name, array: arrays.output(o.name), upstream: arrays.upstream(o.name), width: o.width }));
  // A static input is one row per batch row; its gradient too (summed over the steps).
  const inputRows = (name: string): ArrayRows => (cell.inputs.find((i) => i.name === name)!.static ? "row" : "steps");
  for (const i of inputs) layout.add(i.array, "S", i.width, inputRows(i.name));
  for (const s of states) layout.add(s.hist, "S", s.width, "hist");
  for (const o of outputs) layout.add(o.array, "S", o.width, "steps");
  for (const o of outputs) layout.add(o.upstream, "S", o.width, "steps");
  for (const i of inputs) layout.add(i.grad, "S", i.width, inputRows(i.name));
  for (const s of states) {
    layout.add(s.grad, "S", s.width, "hist");
    layout.carry.set(arrays.carry(s.name), { array: s.grad, shift: 1 });
    layout.carry.set(arrays.carryPrev(s.name), { array: s.grad, shift: 0 });
  }
  for (const t of plan.tapes) layout.add(t.array, "K", t.width, "steps");
  for (const g of plan.groups) if (g.precomputed) layout.add(g.out, "W", g.rows, "steps");
  for (const g of plan.gradBuffers) layout.add(g.array, "R", g.width, "steps");
  // Partials for elementwise parameter gradients: found among the backward stores.
  for (const k of plan.backward.step.kernels) {
    if (k.kind !== "pointwise") continue;
    for (const item of k.items) {
      for (const s of item.stores) {
        if (s.loc.perRow) continue;
        const param = cell.params.find((p) => p.name === s.param);
        if (!param) throw new CodegenError(`internal: shared store to ${s.loc.array} that is no parameter's gradient`);
        const sites = [...layout.partials.values()].filter((x) => x.param === param.name).length;
        const array = sites === 0 ? generatedLocal("part", specIdentifier(param.name)) : generatedLocal("part", specIdentifier(param.name), sites);
        layout.partials.set(partialKey(item.local, s.loc.array), { param: param.name, array, width: k.length, scalar: s.loc.scalar });
        layout.add(array, "R", k.length, "steps");
      }
    }
  }

  const maxWorkgroup = options.maxWorkgroupSize ?? DEFAULT_MAX_WORKGROUP;
  const phaseKernels = [...plan.forward.step.kernels, ...plan.backward.step.kernels].filter((k) => k.kind !== "gemm");
  const longest = Math.max(1, ...phaseKernels.map(kernelLength));
  const path: KernelPath = options.path && options.path !== "auto" ? options.path : longest <= maxWorkgroup ? "sequence" : "step";
  const sequenceWorkgroup = chooseWorkgroupSize(longest, maxWorkgroup);

  const renderBoth = (staging: boolean) => ({
    forward: renderLoop(layout, plan, plan.forward.step, "forward", path, sequenceWorkgroup, staging),
    backward: renderLoop(layout, plan, plan.backward.step, "backward", path, sequenceWorkgroup, staging),
  });
  let loops = renderBoth(true);
  const fits = (r: { stagingWidths: number[] }) => r.stagingWidths.reduce((n, w) => n + w, 0) <= WORKGROUP_FLOATS;
  if (!fits(loops.forward) || !fits(loops.backward)) {
    const plain = renderBoth(false);
    loops = { forward: fits(loops.forward) ? loops.forward : plain.forward, backward: fits(loops.backward) ? loops.backward : plain.backward };
  }
  const projections = plan.forward.before.map((k) => projectionKernel(layout, plan.groups[k.group]!));
  // The weight gradients are one dispatch for every parameter element (with the elementwise parameters' partials).
  const after = [
    ...[parameterGradientKernel(layout, plan)].filter((k): k is NonNullable<typeof k> => k !== null),
    ...plan.backward.after.flatMap((k) => (k.kind === "deferredInputGradient" ? [deferredInputKernel(layout, plan.groups[k.group]!, k.input)] : [])),
    ...plan.backward.after.flatMap((k) => (k.kind === "derivedGradient" ? [derivedGradientKernel(layout, plan.derived[k.derived]!, k.derived)] : [])),
  ];
  const header = (direction: string, widths: readonly number[]) =>
    [`// lstmc: ${direction} kernels of cell '${commentText(cell.name)}' (${path} path)`, "", declarations(layout, widths, stepsRead(plan.forward.step)), "", WGSL_PRELUDE].join("\n");
  const forwardWgsl = [header("forward", loops.forward.stagingWidths), ...projections.map((k) => k.text), loops.forward.text].join("\n\n") + "\n";
  const backwardWgsl = [header("backward", loops.backward.stagingWidths), loops.backward.text, ...after.map((k) => k.text)].join("\n\n") + "\n";
  return {
    path,
    params: layout.params,
    paramFloats: layout.paramFloats,
    arrays: [...layout.arrays.values()],
    forwardWgsl,
    backwardWgsl,
    forward: { before: projections.map((k) => k.dispatch), loop: loops.forward.dispatches },
    backward: { loop: loops.backward.dispatches, after: after.map((k) => k.dispatch) },
    names: { inputs, states, outputs },
    phases: { forward: plan.forward.step.kernels.filter((k) => k.kind !== "gemm").length, backward: plan.backward.step.kernels.filter((k) => k.kind !== "gemm").length },
    readsStep: stepsRead(plan.forward.step),
  };
}
