// Batch rows of a recurrent cell are independent: a call over B rows is the same
// arithmetic as calls over contiguous row ranges, gathered. These are the pure
// pieces of that split: which rows go where, and copying rows out and back in.
import type { Tensor, Tensors } from "../train/tensors.ts";

/** Rows [start, end) of the batch. */
export interface RowRange {
  readonly start: number;
  readonly end: number;
}

/**
 * The fewest rows a range gets. Generated CPU modules run products of fewer rows than this one row at a time
 * (CPU_SCHEDULE.rowProductsBelowBatch), whose sums are not added in the same order as a many-row product's: a
 * range that small would give other numbers (in the last bits) than the whole batch does.
 */
export const MIN_ROWS_PER_RANGE = 4;

/**
 * `batch` rows in at most `threads` contiguous, even ranges (the first `batch % count` one row longer), each of at
 * least MIN_ROWS_PER_RANGE rows: a batch under twice that is one range.
 */
export function splitRows(batch: number, threads: number): RowRange[] {
  const count = Math.max(1, Math.min(threads, Math.floor(batch / MIN_ROWS_PER_RANGE)));
  const base = Math.floor(batch / count);
  const longer = batch % count;
  const ranges: RowRange[] = [];
  let start = 0;
  for (let s = 0; s < count; s++) {
    const end = start + base + (s < longer ? 1 : 0);
    ranges.push({ start, end });
    start = end;
  }
  return ranges;
}

type TensorConstructor = new (length: number) => Tensor;

/** Rows `range` of values laid out [steps, batch, width] (a state is one step), as a new array of the same type. */
export function sliceRows(values: Tensor, batch: number, width: number, range: RowRange): Tensor {
  const steps = values.length / (batch * width);
  const rows = range.end - range.start;
  const out = new (values.constructor as TensorConstructor)(steps * rows * width);
  for (let t = 0; t < steps; t++) out.set(values.subarray((t * batch + range.start) * width, (t * batch + range.end) * width), t * rows * width);
  return out;
}

/** The inverse of sliceRows over a whole split: each range's [steps, rows, width] part back into one [steps, batch, width]. */
export function gatherRows(parts: readonly Tensor[], ranges: readonly RowRange[], batch: number, steps: number): Tensor {
  const width = parts[0]!.length / (steps * (ranges[0]!.end - ranges[0]!.start));
  const out = new (parts[0]!.constructor as TensorConstructor)(steps * batch * width);
  parts.forEach((part, s) => {
    const { start, end } = ranges[s]!;
    const rows = end - start;
    for (let t = 0; t < steps; t++) out.set(part.subarray(t * rows * width, (t + 1) * rows * width), (t * batch + start) * width);
  });
  return out;
}

/** A record's tensors each sliced to `range`, given each one's width. */
export function sliceRecord(record: Tensors, batch: number, widths: Readonly<Record<string, number>>, range: RowRange): Tensors {
  return Object.fromEntries(Object.entries(record).map(([name, values]) => [name, sliceRows(values, batch, widths[name]!, range)]));
}

/** Each shard's record gathered by name (every shard returns the same names). */
export function gatherRecord(parts: readonly Tensors[], ranges: readonly RowRange[], batch: number, steps: number): Tensors {
  return Object.fromEntries(Object.keys(parts[0]!).map((name) => [name, gatherRows(parts.map((p) => p[name]!), ranges, batch, steps)]));
}

/** Parameter gradients summed over shards, in shard order (so a thread count gives the same numbers every run). */
export function sumRecords(parts: readonly Tensors[]): Tensors {
  return Object.fromEntries(
    Object.keys(parts[0]!).map((name) => {
      const sum = parts[0]![name]!.slice();
      for (const part of parts.slice(1)) {
        const values = part[name]!;
        for (let i = 0; i < sum.length; i++) sum[i]! += values[i]!;
      }
      return [name, sum];
    }),
  );
}

/** The divisors of a positive whole number, ascending. */
export function divisors(n: number): number[] {
  const low: number[] = [];
  const high: number[] = [];
  for (let d = 1; d * d <= n; d++) {
    if (n % d !== 0) continue;
    low.push(d);
    if (d * d !== n) high.unshift(n / d);
  }
  return [...low, ...high];
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * The step counts that could split these per-step inputs ([steps, batch, n] each, all with the same steps)
 * into whole widths: the divisors of the greatest common divisor of their numbers per row.
 */
export function candidateSteps(inputs: Tensors, batch: number): number[] {
  const perRow = Object.values(inputs).map((values) => values.length / batch);
  return divisors(perRow.reduce(gcd));
}
