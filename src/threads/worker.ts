// The code each worker thread runs. It is shipped as the text of one function
// (`threadMain.toString()`) and evaluated in the worker, so the package needs no
// second entry file and tests need no TypeScript loader in the worker: the
// function must therefore use nothing from its surrounding module, only its arguments.
import type { MessagePort } from "node:worker_threads";

/** What the pool asks of a worker. Each request with an `id` gets exactly one reply carrying it. */
export type WorkerRequest =
  | { readonly op: "load"; readonly id: number; readonly url: string }
  | { readonly op: "forward"; readonly id: number; readonly savedId: number; readonly args: readonly unknown[] }
  | { readonly op: "backward"; readonly id: number; readonly savedId: number; readonly params: unknown; readonly upstream: unknown }
  | { readonly op: "release"; readonly savedId: number };

export type WorkerReply = { readonly id: number; readonly value: unknown } | { readonly id: number; readonly error: string };

interface ShardModule {
  forward(...args: readonly unknown[]): { outputs: unknown; final: unknown; saved: unknown };
  backward(params: unknown, saved: unknown, upstream: unknown): unknown;
}

/** The worker's loop: a shard's forward keeps its `saved` here, under the pool's id, until backward or release. */
export function threadMain(port: MessagePort, load: (url: string) => Promise<unknown>): void {
  let module: ShardModule | undefined;
  const saves = new Map<number, unknown>();
  const answer = async (request: WorkerRequest): Promise<unknown> => {
    switch (request.op) {
      case "load":
        module = (await load(request.url)) as ShardModule;
        return null;
      case "forward": {
        const { outputs, final, saved } = module!.forward(...request.args);
        saves.set(request.savedId, saved);
        return { outputs, final };
      }
      case "backward": {
        // Kept when backward throws (bad parameters, say), so the caller can try again, as with the module itself.
        const gradients = module!.backward(request.params, saves.get(request.savedId), request.upstream);
        saves.delete(request.savedId);
        return gradients;
      }
      case "release":
        saves.delete(request.savedId);
        return null;
    }
  };
  port.on("message", (request: WorkerRequest) => {
    answer(request).then(
      (value) => {
        if (request.op !== "release") port.postMessage({ id: request.id, value } satisfies WorkerReply);
      },
      (error: unknown) => {
        if (request.op !== "release") port.postMessage({ id: request.id, error: error instanceof Error ? error.message : String(error) } satisfies WorkerReply);
      },
    );
  });
}

/**
 * The source a worker evaluates (CommonJS): threadMain, called with its port and an importer of ES modules.
 * Transpilers that keep function names (esbuild's keepNames, which tsx turns on) wrap functions in calls to a
 * `__name` helper of the enclosing file; the worker gets one that does nothing.
 */
export function workerSource(): string {
  return `var __name = (target) => target;\n(${threadMain.toString()})(require("node:worker_threads").parentPort, (url) => import(url));`;
}
