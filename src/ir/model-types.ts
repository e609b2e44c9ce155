// The typed IR of a model: cells (each a CellIR) instanced as layers and
// wired to each other at the same step. Every width is a Dim in the MODEL's
// sizes; each layer says how its cell's sizes follow from them. Plain data.
import type { Span } from "../diagnostics/diagnostic.ts";
import type { LossKind } from "../parse/model-ast.ts";
import type { CellIR, Dim, InputDecl, SizeDecl } from "./types.ts";

export type { LossKind };

/** A value read at each step: a model input, or one output of an earlier layer. */
export type Wire = { readonly kind: "input"; readonly name: string } | { readonly kind: "layer"; readonly layer: string; readonly output: string };

/** Several wires joined end to end, `width` long in total. */
export interface Wiring {
  readonly parts: readonly Wire[];
  readonly width: Dim;
}

export interface LayerIR {
  readonly name: string;
  /** A reverse layer reads each row from its last valid step back to step 0; its outputs are stored at the step they belong to. */
  readonly direction: "forward" | "reverse";
  readonly cell: CellIR;
  /** Each of the cell's sizes, in the model's sizes. */
  readonly sizes: Readonly<Record<string, Dim>>;
  /** What feeds each of the cell's inputs. */
  readonly inputs: Readonly<Record<string, Wiring>>;
  /** Each of the cell's outputs' width, in the model's sizes. */
  readonly outputWidths: Readonly<Record<string, Dim>>;
  readonly span: Span;
}

/** A linear readout `W @ z + b`, W [size, width], at every valid step or at each row's last valid step. */
export interface HeadIR {
  readonly name: string;
  readonly input: Wiring;
  readonly size: Dim;
  readonly at: "step" | "last";
}

export interface ModelIR {
  readonly name: string;
  readonly file: string;
  readonly doc: readonly string[];
  readonly sizes: readonly SizeDecl[];
  readonly inputs: readonly InputDecl[];
  /** In an order where every layer comes after the layers it reads. */
  readonly layers: readonly LayerIR[];
  readonly outputs: readonly ({ readonly name: string } & Wiring)[];
  readonly head: HeadIR | null;
  /** Reads the head's output; its targets come with the run's data. */
  readonly loss: { readonly kind: LossKind } | null;
}
