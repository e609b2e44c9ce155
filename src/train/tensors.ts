// Named flat tensors: what generated modules take and return, and what the
// optimisers, clipping and checkpoints work on.

export type Tensor = Float32Array | Float64Array;

/** Named tensors, flat and row-major. */
export type Tensors = Record<string, Tensor>;

/**
 * Any record whose every field is a tensor: a generated module's `Params`
 * interface fits this without a cast (interfaces have no index signature, so
 * they do not fit `Tensors` itself).
 */
export type TensorsOf<T> = { [K in keyof T]: Tensor };

/** A generated module's named tensors seen as a plain map; the same arrays, no copy. */
export function asTensors<T extends TensorsOf<T>>(named: T): Tensors {
  return named as unknown as Tensors;
}

/** Zeros with the same names, lengths and element type. */
export function zerosLike<T extends TensorsOf<T>>(named: T): T {
  return mapTensors(named, (t) => new (t.constructor as TensorConstructor)(t.length)) as T;
}

/** Copies with the same names and element type. */
export function cloneTensors<T extends TensorsOf<T>>(named: T): T {
  return mapTensors(named, (t) => t.slice()) as T;
}

type TensorConstructor = new (length: number) => Tensor;

function mapTensors<T extends TensorsOf<T>>(named: T, f: (t: Tensor) => Tensor): Tensors {
  return Object.fromEntries(Object.entries(asTensors(named)).map(([name, t]) => [name, f(t)]));
}

/** Several groups (a cell's parameters, a readout's) as one map with `group.name` keys, sharing the arrays. */
export function joinGroups(groups: Readonly<Record<string, Tensors>>): Tensors {
  const joined: Tensors = {};
  for (const [group, named] of Object.entries(groups)) for (const [name, t] of Object.entries(named)) joined[`${group}.${name}`] = t;
  return joined;
}

/** The tensors of one group of a joined map, under their own names; the same arrays. */
export function groupOf(joined: Tensors, group: string): Tensors {
  const prefix = `${group}.`;
  return Object.fromEntries(Object.entries(joined).filter(([name]) => name.startsWith(prefix)).map(([name, t]) => [name.slice(prefix.length), t]));
}

/** Throws unless `b` has exactly `a`'s names with the same lengths: an optimiser given mismatched gradients is a bug. */
export function checkSameLayout(a: Tensors, b: Tensors, what: string): void {
  const names = Object.keys(a);
  for (const name of names) {
    if (b[name] === undefined) throw new Error(`${what}: '${name}' is missing`);
    if (b[name].length !== a[name]!.length) throw new Error(`${what}: '${name}' has ${b[name].length} numbers, expected ${a[name]!.length}`);
  }
  for (const name of Object.keys(b)) if (a[name] === undefined) throw new Error(`${what}: unexpected tensor '${name}'`);
}
