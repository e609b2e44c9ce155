// `--watch`: run a command, then again each time one of its spec files
// changes, until Ctrl-C. A failing run (a spec error) is reported like any
// run and the watch goes on.
import { watch as watchPath, type FSWatcher } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { report } from "./load-cell.ts";

/** Editors write a file in several steps (truncate, write, rename); changes this close together are one. */
const DEBOUNCE_MS = 50;

/** The line after every run: what a user waits on, and what a test counts. */
export const WAITING = "lstmc: watching for changes (Ctrl-C to stop)";

/** The exit code of a mistake in the command line, which no edit of a spec can mend. */
const USAGE_EXIT = 2;

/**
 * Runs `run`, then reruns it after each change to `files`, one run at a time,
 * until SIGINT; resolves 0 then. The folders are watched, not the files, so a
 * file an editor replaces by renaming a new one over it is still seen. A
 * usage error on the first run ends the watch with its exit code.
 */
export async function watchFiles(files: readonly string[], run: () => Promise<number>): Promise<number> {
  const first = await run();
  if (first === USAGE_EXIT) return first;
  const wanted = new Set(files.map((f) => resolve(f)));
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const rerun = () => {
    timer = undefined;
    running = running.then(() => runAndWait(run));
  };
  const watchers: FSWatcher[] = [...new Set([...wanted].map((f) => dirname(f)))].map((folder) =>
    watchPath(folder, (_event, name) => {
      if (name === null || !wanted.has(resolve(folder, basename(name)))) return;
      clearTimeout(timer);
      timer = setTimeout(rerun, DEBOUNCE_MS);
    }),
  );
  // Only now, with the folders watched: a test (or a user) that edits on seeing this line is seen.
  report(WAITING);
  await new Promise<void>((done) => process.once("SIGINT", () => done()));
  clearTimeout(timer);
  for (const w of watchers) w.close();
  await running;
  return 0;
}

async function runAndWait(run: () => Promise<number>): Promise<void> {
  await run();
  report(WAITING);
}
