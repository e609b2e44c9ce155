// lstmc/threads: a generated cell module's forward and backward over batch rows
// in worker threads (Node's worker_threads). Rows of a recurrent cell never
// meet, so each worker runs the module's own forward on a contiguous range of
// rows and keeps what backward needs; parameter gradients are summed over the
// ranges, everything else is gathered by rows. Generated modules know nothing of this.
import { Worker } from "node:worker_threads";
import type { Tensor, Tensors } from "../train/tensors.ts";
import { candidateSteps, gatherRecord, sliceRecord, sliceRows, splitRows, sumRecords, type RowRange } from "./shard.ts";
export type { RowRange } from "./shard.ts";
import { workerSource, type WorkerReply, type WorkerRequest } from "./worker.ts";

/** The part of a generated cell module's API the pool calls (on the calling thread and in each worker). */
interface CellForwardBackward {
  forward(params: Tensors, inputs: Tensors, initial?: Tensors, options?: ForwardOptions): { outputs: Tensors; final: Tensors; saved: unknown };
  backward(params: Tensors, saved: unknown, upstream?: Upstream): { params: Tensors; inputs: Tensors; initial: Tensors };
}

export interface ForwardOptions {
  readonly batch?: number;
  readonly steps?: number;
  readonly lengths?: ArrayLike<number>;
  /** As the module's forward takes it: each shard keeps only its inputs and initial states, and backward replays its steps. */
  readonly replay?: boolean;
}

export interface Upstream {
  readonly outputs?: Tensors;
  readonly final?: Tensors;
}

export interface ThreadForwardResult {
  readonly outputs: Tensors;
  readonly final: Tensors;
  /** A handle for this pool's backward: the rows' saved values stay in the workers that computed them. */
  readonly saved: ThreadSaved;
}

export interface ThreadGradients {
  readonly params: Tensors;
  readonly inputs: Tensors;
  readonly initial: Tensors;
}

/** Opaque: accepted only by the backward of the pool whose forward returned it, once. */
export interface ThreadSaved {
  readonly batch: number;
  readonly steps: number;
  /** The rows each thread ran; one range: the calling thread ran them all. */
  readonly ranges: readonly RowRange[];
}

export interface ThreadPool {
  /** Worker threads started (calls use at most one per batch row). */
  readonly threads: number;
  forward(params: Tensors, inputs: Tensors, initial?: Tensors, options?: ForwardOptions): Promise<ThreadForwardResult>;
  /** Gradients as the module's backward gives them; frees the workers' saved values, so each forward's saved is used once. */
  backward(params: Tensors, saved: ThreadSaved, upstream?: Upstream): Promise<ThreadGradients>;
  /** Terminates the workers; later calls reject. */
  close(): Promise<void>;
}

export interface ThreadPoolOptions {
  /** Worker threads (at least 1). */
  readonly threads: number;
}

/** How one forward call was split, kept for its backward. */
interface Split {
  readonly batch: number;
  readonly steps: number;
  readonly ranges: readonly RowRange[];
  readonly outputWidths: Readonly<Record<string, number>>;
  readonly stateWidths: Readonly<Record<string, number>>;
}

type SavedRecord = { readonly kind: "local"; readonly saved: unknown } | { readonly kind: "shards"; readonly id: number; readonly split: Split };

const PREFIX = "lstmc/threads";

/** A request that gets a reply, before Thread.call numbers it. */
type CallRequest = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, "id"> : never) : never;

/** One worker thread and its calls in flight. */
class Thread {
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private nextId = 0;
  private failure: Error | null = null;
  private readonly worker = new Worker(workerSource(), { eval: true });

  constructor() {
    this.worker.on("message", (reply: WorkerReply) => {
      const call = this.pending.get(reply.id)!;
      this.pending.delete(reply.id);
      if ("error" in reply) call.reject(new Error(reply.error));
      else call.resolve(reply.value);
    });
    this.worker.on("error", (error) => {
      this.failure = new Error(`${PREFIX}: a worker failed: ${error.message}`);
      this.failAll(this.failure);
    });
  }

  call(request: CallRequest, transfer: ArrayBuffer[] = []): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      // A worker that died answers nothing: its calls fail at once rather than wait forever.
      if (this.failure !== null) return reject(this.failure);
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...request, id }, transfer);
    });
  }

  release(savedId: number): void {
    this.worker.postMessage({ op: "release", savedId } satisfies WorkerRequest);
  }

  async terminate(): Promise<void> {
    this.failAll(new Error(`${PREFIX}: the pool was closed during the call`));
    await this.worker.terminate();
  }

  private failAll(error: Error): void {
    for (const call of this.pending.values()) call.reject(error);
    this.pending.clear();
  }
}

/** Tensors copied once into shared memory, so every worker reads the same copy (already shared ones are not copied). */
function shared(record: Tensors): Tensors {
  return Object.fromEntries(
    Object.entries(record).map(([name, values]) => {
      if (values.buffer instanceof SharedArrayBuffer) return [name, values];
      const ctor = values.constructor as typeof Float32Array | typeof Float64Array;
      // The DOM-style lib types type-array constructors over ArrayBuffer only; Node's accept a SharedArrayBuffer.
      const copy = new ctor(new SharedArrayBuffer(values.byteLength) as unknown as ArrayBuffer);
      copy.set(values);
      return [name, copy];
    }),
  );
}

function isTensor(value: unknown): value is Tensor {
  return value instanceof Float32Array || value instanceof Float64Array;
}

function isRecordOfTensors(value: unknown): value is Tensors {
  return typeof value === "object" && value !== null && Object.values(value).every(isTensor);
}

/** Whole rows of `batch` in every tensor: the least a call must satisfy before its rows can be split. */
function wholeRows(record: unknown, batch: number): record is Tensors {
  return isRecordOfTensors(record) && Object.values(record).every((t) => t.length % batch === 0);
}

/**
 * The width of each per-step input. Generated modules do not export their inputs' widths, so the pool asks the
 * module: a one-row, one-step forward succeeds only when every input holds exactly its width (`steps: 1` pins the
 * step count the first input implies, and the module checks every other input against it). The candidates are the
 * step counts that divide every input into whole rows; null when none fits (the call is invalid: the module says why).
 */
function probeInputWidths(module: CellForwardBackward, params: Tensors, inputs: Tensors, batch: number): Record<string, number> | null {
  for (const steps of candidateSteps(inputs, batch)) {
    const widths = Object.fromEntries(Object.entries(inputs).map(([name, values]) => [name, values.length / (batch * steps)]));
    const oneStep = Object.fromEntries(Object.entries(inputs).map(([name, values]) => [name, new (values.constructor as new (n: number) => Tensor)(widths[name]!)]));
    try {
      module.forward(params, oneStep, {}, { batch: 1, steps: 1 });
      return widths;
    } catch {
      // Not this step count.
    }
  }
  return null;
}

function widthsOf(record: Tensors, perRow: number): Record<string, number> {
  return Object.fromEntries(Object.entries(record).map(([name, values]) => [name, values.length / perRow]));
}

/** Starts `threads` workers, each importing the generated module at `moduleUrl` (a URL Node's import() accepts). */
export async function createThreadPool(moduleUrl: string | URL, options: ThreadPoolOptions): Promise<ThreadPool> {
  const threads = options.threads;
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`${PREFIX}: threads must be a whole number ≥ 1, not ${String(threads)}`);
  const url = String(moduleUrl);
  const module = (await import(url)) as CellForwardBackward;
  const workers = Array.from({ length: threads }, () => new Thread());
  try {
    await Promise.all(workers.map((w) => w.call({ op: "load", url })));
  } catch (error) {
    await Promise.all(workers.map((w) => w.terminate()));
    throw new Error(`${PREFIX}: a worker could not import ${url}: ${(error as Error).message}`);
  }
  let closed = false;
  let nextSavedId = 0;
  let inputWidths: Record<string, number> | null = null;
  const records = new WeakMap<ThreadSaved, SavedRecord>();
  // A forward whose saved is dropped without backward: its rows' saved values go when the handle is collected.
  const unreleased = new FinalizationRegistry<number>((id) => {
    if (!closed) for (const w of workers) w.release(id);
  });

  const refuseIfClosed = () => {
    if (closed) throw new Error(`${PREFIX}: the pool is closed`);
  };

  /** The module's own error for an invalid call: it validates before it computes, so this returns quickly. */
  const moduleError = (args: Parameters<CellForwardBackward["forward"]>, fallback: string): Error => {
    try {
      module.forward(...args);
    } catch (error) {
      return error as Error;
    }
    return new Error(fallback);
  };

  const splitOf = (params: Tensors, inputs: Tensors, initial: Tensors, options: ForwardOptions): { batch: number; steps: number; ranges: RowRange[] } | null => {
    const batch = options.batch ?? 1;
    if (!Number.isInteger(batch) || batch < 1 || !wholeRows(inputs, batch) || !wholeRows(initial, batch) || !isRecordOfTensors(params)) return null;
    if (options.lengths !== undefined && options.lengths.length !== batch) return null;
    const names = Object.keys(inputs);
    if (names.length === 0) return options.steps === undefined ? null : { batch, steps: options.steps, ranges: splitRows(batch, threads) };
    inputWidths ??= probeInputWidths(module, params, inputs, batch);
    if (inputWidths === null || names.some((n) => inputWidths![n] === undefined)) return null;
    const first = names[0]!;
    return { batch, steps: inputs[first]!.length / (batch * inputWidths[first]!), ranges: splitRows(batch, threads) };
  };

  const shardForward = async (params: Tensors, inputs: Tensors, initial: Tensors, options: ForwardOptions, split: { batch: number; steps: number; ranges: RowRange[] }): Promise<ThreadForwardResult> => {
    const { batch, steps, ranges } = split;
    const sharedParams = shared(params);
    const stateWidths = widthsOf(initial, batch);
    const id = nextSavedId++;
    const calls = ranges.map((range, s) => {
      const shardInputs = sliceRecord(inputs, batch, inputWidths ?? {}, range);
      const shardInitial = sliceRecord(initial, batch, stateWidths, range);
      const lengths = options.lengths === undefined ? undefined : Array.from(options.lengths).slice(range.start, range.end);
      const shardOptions = { ...options, batch: range.end - range.start, ...(lengths === undefined ? {} : { lengths }) };
      const transfer = [...Object.values(shardInputs), ...Object.values(shardInitial)].map((t) => t.buffer as ArrayBuffer);
      return workers[s]!.call({ op: "forward", savedId: id, args: [sharedParams, shardInputs, shardInitial, shardOptions] }, transfer);
    });
    const settled = await Promise.allSettled(calls);
    const failed = settled.find((r) => r.status === "rejected");
    if (failed !== undefined) {
      ranges.forEach((_, s) => workers[s]!.release(id));
      throw moduleError([params, inputs, initial, options], `${PREFIX}: ${(failed as PromiseRejectedResult).reason.message}`);
    }
    const parts = settled.map((r) => (r as PromiseFulfilledResult<unknown>).value as { outputs: Tensors; final: Tensors });
    const outputs = gatherRecord(parts.map((p) => p.outputs), ranges, batch, steps);
    const final = gatherRecord(parts.map((p) => p.final), ranges, batch, 1);
    const saved: ThreadSaved = Object.freeze({ batch, steps, ranges });
    records.set(saved, { kind: "shards", id, split: { batch, steps, ranges, outputWidths: widthsOf(outputs, steps * batch), stateWidths: widthsOf(final, batch) } });
    unreleased.register(saved, id, saved);
    return { outputs, final, saved };
  };

  const shardBackward = async (params: Tensors, id: number, split: Split, upstream: Upstream): Promise<ThreadGradients> => {
    const { batch, steps, ranges } = split;
    const sharedParams = shared(params);
    const calls = ranges.map((range, s) => {
      const shardUpstream = {
        ...(upstream.outputs === undefined ? {} : { outputs: sliceRecord(upstream.outputs, batch, split.outputWidths, range) }),
        ...(upstream.final === undefined ? {} : { final: sliceRecord(upstream.final, batch, split.stateWidths, range) }),
      };
      return workers[s]!.call({ op: "backward", savedId: id, params: sharedParams, upstream: shardUpstream });
    });
    const settled = await Promise.allSettled(calls);
    const failed = settled.find((r) => r.status === "rejected");
    if (failed !== undefined) throw new Error((failed as PromiseRejectedResult).reason.message);
    const parts = settled.map((r) => (r as PromiseFulfilledResult<unknown>).value as ThreadGradients);
    return {
      params: sumRecords(parts.map((p) => p.params)),
      inputs: gatherRecord(parts.map((p) => p.inputs), ranges, batch, steps),
      initial: gatherRecord(parts.map((p) => p.initial), ranges, batch, 1),
    };
  };

  return {
    threads,
    async forward(params, inputs, initial = {}, options = {}) {
      refuseIfClosed();
      const split = splitOf(params, inputs, initial, options);
      if (split === null) throw moduleError([params, inputs, initial, options], `${PREFIX}: the call's rows could not be split (a bug: the module accepts it)`);
      if (split.ranges.length > 1) return shardForward(params, inputs, initial, options, split);
      // One range (one thread, or a batch under two ranges' worth of rows): a worker would only add the cost of sending the data.
      const { outputs, final, saved: moduleSaved } = module.forward(params, inputs, initial, options);
      const saved: ThreadSaved = Object.freeze({ batch: split.batch, steps: split.steps, ranges: split.ranges });
      records.set(saved, { kind: "local", saved: moduleSaved });
      return { outputs, final, saved };
    },
    async backward(params, saved, upstream = {}) {
      refuseIfClosed();
      const record = records.get(saved);
      if (record === undefined) throw new Error(`${PREFIX}: saved must be the saved object this pool's forward() returned, not yet given to backward()`);
      if (record.kind === "shards") checkUpstream(upstream, record.split);
      const gradients = record.kind === "local" ? module.backward(params, record.saved, upstream) : await shardBackward(params, record.id, record.split, upstream);
      // Taken only once backward succeeded: after an error (bad parameters, say) the caller can try again.
      records.delete(saved);
      unreleased.unregister(saved);
      return gradients;
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

/** Upstream gradients the rows can be split from; worded as the module words its own checks. */
function checkUpstream(upstream: Upstream, split: Split): void {
  const { batch, steps } = split;
  const check = (record: unknown, widths: Readonly<Record<string, number>>, perWidth: number, what: string) => {
    if (record === undefined) return;
    if (!isRecordOfTensors(record)) throw new Error(`${what} must be an object of Float32Array or Float64Array`);
    for (const [name, values] of Object.entries(record)) {
      const width = widths[name];
      if (width === undefined) throw new Error(`${what}.${name} is not one of this cell's names here (${Object.keys(widths).join(", ")})`);
      if (values.length !== width * perWidth) throw new Error(`${what}.${name} has ${values.length} numbers, expected ${width * perWidth}`);
    }
  };
  check(upstream.outputs, split.outputWidths, steps * batch, "upstream.outputs");
  check(upstream.final, split.stateWidths, batch, "upstream.final");
}
