// The structural shape of a generated cell module (`lstmc compile --target ts`),
// as the training runtime uses it. Generated modules know nothing of this file.
import type { Tensor, Tensors } from "./tensors.ts";

export interface CellModule {
  readonly sizes: Readonly<Record<string, number>>;
  initParams(seed: number): object;
  forward(params: object, inputs: object, initial?: object, options?: { batch?: number }): { outputs: object; final: object; saved: unknown };
  backward(params: object, saved: never, upstream?: { outputs?: object; final?: object }): { params: object; inputs: object; initial: object };
  createState(batch?: number): object;
  step(params: object, inputs: object, state: object): object;
}

export interface CellResult {
  readonly outputs: Tensors;
  readonly final: Tensors;
  readonly saved: unknown;
}

/** forward through the structural interface, with the module's records seen as maps of tensors. */
export function cellForward(cell: CellModule, params: Tensors, inputs: Tensors, batch: number, initial: Tensors = {}): CellResult {
  return cell.forward(params, inputs, initial, { batch }) as CellResult;
}

export function cellBackward(cell: CellModule, params: Tensors, saved: unknown, upstream: { outputs?: Tensors; final?: Tensors }): { params: Tensors; inputs: Tensors; initial: Tensors } {
  return cell.backward(params, saved as never, upstream) as { params: Tensors; inputs: Tensors; initial: Tensors };
}

export function cellParams(cell: CellModule, seed: number): Tensors {
  return cell.initParams(seed) as Tensors;
}

/** The one tensor of a record that has exactly one (a cell's single input or output), or the named one. */
export function pick(record: Tensors, name: string | undefined, what: string): Tensor {
  const names = Object.keys(record);
  const chosen = name ?? (names.length === 1 ? names[0] : undefined);
  if (chosen === undefined) throw new Error(`${what}: the cell has ${names.length} (${names.join(", ")}); name one`);
  const t = record[chosen];
  if (t === undefined) throw new Error(`${what}: the cell has no '${chosen}' (it has ${names.join(", ")})`);
  return t;
}

/** A fresh streaming state and one step of it (the state is updated in place), through the structural interface. */
export function cellState(cell: CellModule, batch: number): Tensors {
  return cell.createState(batch) as Tensors;
}

export function cellStep(cell: CellModule, params: Tensors, inputs: Tensors, state: Tensors): Tensors {
  return cell.step(params, inputs, state) as Tensors;
}
