// Optimisers with PyTorch's defaults and update rules (torch.optim, the
// single-tensor "foreach=False" path), step for step: a model trained here and
// in PyTorch from the same weights and gradients follows the same path up to
// float rounding. The state is plain data (tensors and a step count), so a
// checkpoint can hold it.
import { checkSameLayout, type Tensors } from "./tensors.ts";

export interface SgdConfig {
  readonly kind: "sgd";
  /** torch.optim.SGD's default since 2.2. */
  readonly lr?: number;
  readonly momentum?: number;
  readonly dampening?: number;
  readonly weightDecay?: number;
  readonly nesterov?: boolean;
}

export interface AdamConfig {
  /** "adam" adds weight decay to the gradient (L2); "adamw" shrinks the weights directly (decoupled). */
  readonly kind: "adam" | "adamw";
  readonly lr?: number;
  readonly betas?: readonly [number, number];
  readonly eps?: number;
  readonly weightDecay?: number;
}

export interface RmspropConfig {
  readonly kind: "rmsprop";
  readonly lr?: number;
  readonly alpha?: number;
  readonly eps?: number;
  readonly weightDecay?: number;
  readonly momentum?: number;
  readonly centered?: boolean;
}

export type OptimizerConfig = SgdConfig | AdamConfig | RmspropConfig;

/** PyTorch's defaults, filled in: every field present. */
export type ResolvedConfig = Required<SgdConfig> | Required<AdamConfig> | Required<RmspropConfig>;

export function resolveConfig(config: OptimizerConfig): ResolvedConfig {
  switch (config.kind) {
    case "sgd": {
      const resolved = { lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, ...config };
      if (resolved.nesterov && (resolved.momentum <= 0 || resolved.dampening !== 0)) throw new Error("sgd: Nesterov momentum requires a momentum and zero dampening");
      return resolved;
    }
    case "adam":
    case "adamw":
      return { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: config.kind === "adamw" ? 1e-2 : 0, ...config };
    case "rmsprop":
      return { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, ...config };
  }
}

/** Steps taken and the per-parameter buffers, named as PyTorch names them (exp_avg, momentum_buffer, …). */
export interface OptimizerState {
  step: number;
  readonly slots: Record<string, Tensors>;
}

/** The optimiser's per-parameter buffers, as PyTorch names them (the CPU state's slots and the GPU optimiser's buffers). */
export function slotNames(config: ResolvedConfig): string[] {
  switch (config.kind) {
    case "sgd":
      return config.momentum > 0 ? ["momentum_buffer"] : [];
    case "adam":
    case "adamw":
      return ["exp_avg", "exp_avg_sq"];
    case "rmsprop":
      return ["square_avg", ...(config.centered ? ["grad_avg"] : []), ...(config.momentum > 0 ? ["momentum_buffer"] : [])];
  }
}

/** Zeroed buffers in the parameters' element type (as PyTorch keeps them in the parameter's dtype). */
export function initOptimizerState(config: OptimizerConfig, params: Tensors): OptimizerState {
  const zeros = () => Object.fromEntries(Object.entries(params).map(([name, p]) => [name, new (p.constructor as new (n: number) => typeof p)(p.length)]));
  return { step: 0, slots: Object.fromEntries(slotNames(resolveConfig(config)).map((slot) => [slot, zeros()])) };
}

/**
 * One update of every parameter in place, with learning rate `lr` (a
 * schedule's value; the config's by default). Gradients are read, never written.
 */
export function optimizerStep(config: OptimizerConfig, state: OptimizerState, params: Tensors, grads: Tensors, lr?: number): void {
  const resolved = resolveConfig(config);
  checkSameLayout(params, grads, "gradients");
  state.step += 1;
  const rate = lr ?? resolved.lr;
  for (const name of Object.keys(params)) {
    const slot = (s: string) => state.slots[s]![name]!;
    updateOne(resolved, state.step, rate, params[name]!, grads[name]!, slot);
  }
}

function updateOne(config: ResolvedConfig, step: number, lr: number, p: Float32Array | Float64Array, g: Float32Array | Float64Array, slot: (name: string) => Float32Array | Float64Array): void {
  switch (config.kind) {
    case "sgd":
      return sgdUpdate(config, step, lr, p, g, config.momentum > 0 ? slot("momentum_buffer") : null);
    case "adam":
    case "adamw":
      return adamUpdate(config, step, lr, p, g, slot("exp_avg"), slot("exp_avg_sq"));
    case "rmsprop":
      return rmspropUpdate(config, lr, p, g, slot("square_avg"), config.centered ? slot("grad_avg") : null, config.momentum > 0 ? slot("momentum_buffer") : null);
  }
}

type Buffer = Float32Array | Float64Array;

// torch.optim.sgd._single_tensor_sgd: the first step copies the gradient into the buffer (no dampening).
function sgdUpdate(c: Required<SgdConfig>, step: number, lr: number, p: Buffer, g: Buffer, buf: Buffer | null): void {
  for (let k = 0; k < p.length; k++) {
    let d = c.weightDecay !== 0 ? g[k]! + c.weightDecay * p[k]! : g[k]!;
    if (buf !== null) {
      buf[k] = step === 1 ? d : c.momentum * buf[k]! + (1 - c.dampening) * d;
      d = c.nesterov ? d + c.momentum * buf[k]! : buf[k]!;
    }
    p[k] = p[k]! - lr * d;
  }
}

// torch.optim.adam._single_tensor_adam (and adamw: decay the weights first, never the gradient).
function adamUpdate(c: Required<AdamConfig>, step: number, lr: number, p: Buffer, g: Buffer, m: Buffer, v: Buffer): void {
  const [beta1, beta2] = c.betas;
  const stepSize = lr / (1 - beta1 ** step);
  const correction2Sqrt = Math.sqrt(1 - beta2 ** step);
  const decoupled = c.kind === "adamw";
  for (let k = 0; k < p.length; k++) {
    if (decoupled) p[k] = p[k]! * (1 - lr * c.weightDecay);
    const d = !decoupled && c.weightDecay !== 0 ? g[k]! + c.weightDecay * p[k]! : g[k]!;
    m[k] = m[k]! + (1 - beta1) * (d - m[k]!); // exp_avg.lerp_(grad, 1 - beta1)
    v[k] = v[k]! * beta2 + (1 - beta2) * d * d;
    p[k] = p[k]! - (stepSize * m[k]!) / (Math.sqrt(v[k]!) / correction2Sqrt + c.eps);
  }
}

// torch.optim.rmsprop._single_tensor_rmsprop.
function rmspropUpdate(c: Required<RmspropConfig>, lr: number, p: Buffer, g: Buffer, square: Buffer, gradAvg: Buffer | null, buf: Buffer | null): void {
  for (let k = 0; k < p.length; k++) {
    const d = c.weightDecay !== 0 ? g[k]! + c.weightDecay * p[k]! : g[k]!;
    square[k] = square[k]! * c.alpha + (1 - c.alpha) * d * d;
    let variance = square[k]!;
    if (gradAvg !== null) {
      gradAvg[k] = gradAvg[k]! + (1 - c.alpha) * (d - gradAvg[k]!);
      variance -= gradAvg[k]! * gradAvg[k]!;
    }
    const avg = Math.sqrt(variance) + c.eps;
    if (buf !== null) {
      buf[k] = buf[k]! * c.momentum + d / avg;
      p[k] = p[k]! - lr * buf[k]!;
    } else p[k] = p[k]! - (lr * d) / avg;
  }
}
