// The few WebAssembly encodings lstmc's generated kernels need, shared by the
// GEMM kernel (../ts/wasm.ts) and the fused forward step (step.ts). Written as
// an encoder rather than WAT so that compiling a spec stays synchronous and
// needs no assembler. Code is a plain byte list; instructions are constants or
// small functions returning their bytes.

export type Code = number[];

export const uleb = (value: number): Code => {
  const out: Code = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
};

export const sleb = (value: number): Code => {
  const out: Code = [];
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    if ((value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0)) return [...out, byte];
    out.push(byte | 0x80);
  }
};

/** A module's bytes as base64, the form generated modules carry them in. */
export const base64 = (bytes: Uint8Array): string => btoa(String.fromCharCode(...bytes));

export const section = (id: number, body: Code): Code => [id, ...uleb(body.length), ...body];
export const vector = (items: Code[]): Code => [...uleb(items.length), ...items.flat()];
export const name = (text: string): Code => [...uleb(text.length), ...[...text].map((c) => c.charCodeAt(0))];
export const MAGIC: Code = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;

/** A function type: params -> results. */
export const funcType = (params: number[], results: number[]): Code => [0x60, ...vector(params.map((t) => [t])), ...vector(results.map((t) => [t]))];
/** A function body: its locals as [count, type] runs, its code, `end`. */
export const funcBody = (locals: [number, number][], code: Code): Code => {
  const body = [...vector(locals.map(([count, type]) => [...uleb(count), type])), ...code, 0x0b];
  return [...uleb(body.length), ...body];
};

// Instructions.
export const get = (local: number): Code => [0x20, ...uleb(local)];
export const set = (local: number): Code => [0x21, ...uleb(local)];
export const tee = (local: number): Code => [0x22, ...uleb(local)];
export const call = (index: number): Code => [0x10, ...uleb(index)];
export const i32 = (value: number): Code => [0x41, ...sleb(value)];
export const add = [0x6a];
export const mul = [0x6c];
export const ltS = [0x48];
export const leS = [0x4c];
export const geS = [0x4e];
export const andI32 = [0x71];
export const select = [0x1b];
export const nop = 0x01;
export const drop = 0x1a;
export const f32Add = [0x92];
export const f32Mul = [0x94];
/** f32.load / f32.store with 4-byte alignment at a constant byte offset from the address on the stack. */
export const f32Load = (offset = 0): Code => [0x2a, 2, ...uleb(offset)];
export const f32Store = (offset = 0): Code => [0x38, 2, ...uleb(offset)];
/** i32.load with 4-byte alignment at a constant byte offset from the address on the stack. */
export const i32Load = (offset = 0): Code => [0x28, 2, ...uleb(offset)];
/** memory.copy of [dst, src, bytes] within the one memory (bulk memory: every engine with SIMD has it). */
export const memoryCopy: Code = [0xfc, ...uleb(10), 0, 0];
/** memory.fill of [dst, byte value, bytes]. */
export const memoryFill: Code = [0xfc, ...uleb(11), 0];
export const f32Zero = [0x43, 0, 0, 0, 0];
const simd = (op: number): Code => [0xfd, ...uleb(op)];
/** v128.load / v128.store at a constant byte offset; no alignment promised (a row of floats may start anywhere). */
export const v128Load = (offset = 0): Code => [...simd(0x00), 0, ...uleb(offset)];
export const v128Store = (offset = 0): Code => [...simd(0x0b), 0, ...uleb(offset)];
/** v128.const with the four lanes `value` rounded to float32. */
export const f32x4Const = (value: number): Code => [...simd(0x0c), ...[0, 1, 2, 3].flatMap(() => [...new Uint8Array(Float32Array.of(value).buffer)])];
export const i32x4Const = (value: number): Code => [...simd(0x0c), ...[0, 1, 2, 3].flatMap(() => [...new Uint8Array(Int32Array.of(value).buffer)])];
export const f32x4Splat = simd(0x13);
export const lane = (index: number): Code => [...simd(0x1f), index];
export const f32x4Floor = simd(0x68);
export const f32x4Abs = simd(0xe0);
export const f32x4Neg = simd(0xe1);
export const f32x4Sqrt = simd(0xe3);
export const f32x4Add = simd(0xe4);
export const f32x4Sub = simd(0xe5);
export const f32x4Mul = simd(0xe6);
export const f32x4Div = simd(0xe7);
export const f32x4Min = simd(0xe8);
export const f32x4Max = simd(0xe9);
export const f32x4RelaxedMadd = simd(0x105);
export const i32x4Shl = simd(0xab);
export const i32x4Add = simd(0xae);
export const i32x4TruncSatF32x4S = simd(0xf8);
export const i32Min = (x: Code, y: Code): Code => [...x, ...y, ...x, ...y, ...ltS, ...select];

/** `if (cond) body`, with no result. */
export const ifThen = (cond: Code, body: Code): Code => [...cond, 0x04, 0x40, ...body, 0x0b];
/** `while (cond) body`, as block { loop { br_if exit (!cond); body; br loop } }. */
export const whileLoop = (cond: Code, body: Code): Code => [0x02, 0x40, 0x03, 0x40, ...cond, 0x45, 0x0d, 1, ...body, 0x0c, 0, 0x0b, 0x0b];
