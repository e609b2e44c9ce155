// Gradient clipping, as torch.nn.utils.clip_grad_norm_ and clip_grad_value_.
import type { Tensors } from "./tensors.ts";

/** The L2 norm of all gradients together. */
export function globalNorm(grads: Tensors): number {
  let sum = 0;
  for (const g of Object.values(grads)) for (let k = 0; k < g.length; k++) sum += g[k]! * g[k]!;
  return Math.sqrt(sum);
}

/**
 * Scales every gradient in place by maxNorm / (norm + 1e-6) when that is below 1
 * (PyTorch's epsilon); returns the norm before clipping, as PyTorch does.
 */
export function clipByGlobalNorm(grads: Tensors, maxNorm: number): number {
  const norm = globalNorm(grads);
  const scale = maxNorm / (norm + 1e-6);
  if (scale < 1) for (const g of Object.values(grads)) for (let k = 0; k < g.length; k++) g[k] = g[k]! * scale;
  return norm;
}

/** Clamps every gradient element into [-limit, limit] in place. */
export function clipByValue(grads: Tensors, limit: number): void {
  for (const g of Object.values(grads)) for (let k = 0; k < g.length; k++) g[k] = Math.min(limit, Math.max(-limit, g[k]!));
}
