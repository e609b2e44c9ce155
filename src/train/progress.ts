// What fit prints: on a terminal, one line redrawn in place (a bar, steps/s,
// the loss, the time left); elsewhere (logs, CI) one line per epoch.

export interface ProgressSink {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

export interface StepProgress {
  readonly epoch: number;
  readonly epochs: number;
  /** Steps done in this epoch, and in it all together. */
  readonly step: number;
  readonly stepsPerEpoch: number;
  readonly stepsPerSecond: number;
  /** The running mean of this epoch's losses. */
  readonly loss: number;
}

export interface EpochSummary {
  readonly epoch: number;
  readonly epochs: number;
  readonly loss: number;
  readonly metrics: Readonly<Record<string, number>>;
  readonly steps: number;
  readonly seconds: number;
}

const BAR_WIDTH = 24;

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}

/** The redrawn terminal line, without the carriage return. */
export function formatStepLine(p: StepProgress): string {
  const filled = Math.round((BAR_WIDTH * p.step) / p.stepsPerEpoch);
  const stepsLeft = p.stepsPerEpoch - p.step + (p.epochs - p.epoch - 1) * p.stepsPerEpoch;
  const eta = p.stepsPerSecond > 0 ? formatDuration(stepsLeft / p.stepsPerSecond) : "?";
  return `epoch ${p.epoch + 1}/${p.epochs} [${"=".repeat(filled)}${" ".repeat(BAR_WIDTH - filled)}] ${p.step}/${p.stepsPerEpoch}  ${p.stepsPerSecond.toFixed(1)} steps/s  loss ${p.loss.toFixed(4)}  ETA ${eta}`;
}

export function formatEpochLine(e: EpochSummary): string {
  const metrics = Object.entries(e.metrics).map(([name, value]) => `  ${name} ${value.toFixed(4)}`);
  const rate = e.seconds > 0 ? (e.steps / e.seconds).toFixed(1) : "?";
  return `epoch ${e.epoch + 1}/${e.epochs}  loss ${e.loss.toFixed(4)}${metrics.join("")}  ${rate} steps/s  ${e.seconds.toFixed(1)} s`;
}
