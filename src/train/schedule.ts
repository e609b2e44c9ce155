// Learning-rate schedules as functions of the optimiser step (0 for the first
// update), so they are pure and a resumed run picks up where it left off.

export type Schedule = (step: number) => number;

export const constant = (lr: number): Schedule => () => lr;

/** lr · gamma^⌊step / stepSize⌋ (torch.optim.lr_scheduler.StepLR). */
export const stepDecay = (lr: number, stepSize: number, gamma = 0.1): Schedule => (step) => lr * gamma ** Math.floor(step / stepSize);

/** Half a cosine from lr down to minLr over totalSteps, then minLr (CosineAnnealingLR without restarts). */
export const cosine =
  (lr: number, totalSteps: number, minLr = 0): Schedule =>
  (step) =>
    step >= totalSteps ? minLr : minLr + ((lr - minLr) * (1 + Math.cos((Math.PI * step) / totalSteps))) / 2;

/**
 * A linear ramp from 0 over the first warmupSteps (step 0 already gets
 * 1/warmupSteps of the rate), then `after` shifted to start at its own step 0.
 */
export const warmup =
  (warmupSteps: number, after: Schedule): Schedule =>
  (step) =>
    step < warmupSteps ? (after(0) * (step + 1)) / warmupSteps : after(step - warmupSteps);
