// A worker thread's entry: plain JavaScript, so it starts under any parent
// (the tsx CLI, vitest); it registers tsx and loads the TypeScript worker.
import { register } from "tsx/esm/api";

register();
await import("./worker.ts");
